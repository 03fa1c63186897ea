#!/usr/bin/env bash
# Installs what building sealpost needs, each only when missing: the wasm
# target, trunk, wasm-bindgen-cli at the version Cargo.lock names, and
# binaryen's wasm-opt from npm. Everything comes from crates.io and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)

step() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

[ -n "$WASM_BINDGEN_VERSION" ] || die "Cargo.lock names no wasm-bindgen version"
grep -q "wasm_bindgen = \"$WASM_BINDGEN_VERSION\"" Trunk.toml ||
  die "Trunk.toml [tools] wasm_bindgen must be \"$WASM_BINDGEN_VERSION\", the version in Cargo.lock"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown ||
    die "the wasm32-unknown-unknown target is missing and 'rustup target add wasm32-unknown-unknown' failed; the client bundle cannot be built without it"
fi

if ! trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION"; then
  step "installing trunk $TRUNK_VERSION from crates.io (6 to 16 minutes, once per machine)"
  cargo install "trunk@$TRUNK_VERSION" --locked --no-default-features
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
  # Without --locked: its own lock file names a crate version that is not served.
  step "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION from crates.io (about 4 minutes, once per machine)"
  cargo install "wasm-bindgen-cli@$WASM_BINDGEN_VERSION" --force
fi

if [ ! -x tools/node_modules/.bin/wasm-opt ]; then
  step "installing binaryen (wasm-opt) from npm"
  (cd tools && npm ci --no-audit --no-fund --loglevel=error)
fi
