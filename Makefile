# The two commands of the README:
#   make run    build everything and start sealpost on its embedded default
#   make test   every check and test: fmt, clippy, Rust tests on SQLite and
#               PostgreSQL, end-to-end tests in Chromium, and README
#               "Deploying" run on this machine (deploy/test.sh, as root)
SHELL := /bin/bash
TARGET_DIR := $(abspath $(if $(CARGO_TARGET_DIR),$(CARGO_TARGET_DIR),target))
SITE_DIR := $(TARGET_DIR)/site

.PHONY: run test tools test-deps site lint rust-tests e2e deploy-test

run: tools site
	cargo build --release -p server
	SEALPOST_DEV_MODE=true SEALPOST_SITE_DIR=$(SITE_DIR) $(TARGET_DIR)/release/sealpost serve

test: tools test-deps site lint rust-tests e2e deploy-test

tools:
	scripts/install-build-tools.sh

test-deps:
	scripts/install-test-deps.sh

# The client bundle (hydration): pkg/app.js, pkg/app_bg.wasm, main.css.
# Trunk runs cargo offline (nothing may download behind our back), so the
# crates of every target, the wasm one included, are fetched first.
site: tools
	cargo fetch --locked
	trunk build --release --dist $(SITE_DIR)
	@echo "hydrate bundle (pkg/app_bg.wasm + pkg/app.js), gzip -9: $$(( ($$(gzip -9 -c $(SITE_DIR)/pkg/app_bg.wasm | wc -c) + $$(gzip -9 -c $(SITE_DIR)/pkg/app.js | wc -c)) / 1024 )) KB"

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy -p app --target wasm32-unknown-unknown --features hydrate -- -D warnings

rust-tests:
	cargo test --workspace

e2e: site
	cargo build -p server
	cd end2end && SEALPOST_TEST_SITE_DIR=$(SITE_DIR) npm test

# README "Deploying" on this machine: install, systemd-analyze verify,
# sealpost check, Postfix in front and behind, HTTPS, SIGHUP, SIGTERM.
deploy-test: site
	cargo build -p server
	deploy/test.sh $(TARGET_DIR)/debug/sealpost $(SITE_DIR)
