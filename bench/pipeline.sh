#!/usr/bin/env bash
# Whole inspection pipeline benchmark (not a test): see bench/pipeline.py.
#
#   bench/pipeline.sh [N] [SIZE]     (default 2000 messages of 51200 bytes)
#
# Needs: python3 and Debian's clamav-daemon (`make test-deps` installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR=$(realpath "${CARGO_TARGET_DIR:-target}" 2>/dev/null || echo "$PWD/target")
cargo build --release -p server --quiet
exec python3 bench/pipeline.py "$TARGET_DIR/release/sealpost" "${1:-2000}" "${2:-51200}"
