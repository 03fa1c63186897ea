#!/usr/bin/env bash
# The fault suite, long form (not a test; minutes per case): a release build
# of sealpost under SMTP load while the process is killed -9, PostgreSQL
# stops, the disk fills, the relay goes away, or one of two nodes dies.
# Prints a table: fault x acknowledged / delivered / duplicated / lost.
#
#   bench/faults.sh [kill9|postgres|disk|relay|nodes ...]   (default: all)
#   RELAY_AWAY=300 (seconds the relay stays away)
#
# Needs root (it mounts a tmpfs and stops the machine's PostgreSQL cluster
# for ten seconds): run it on a development or CI machine, not a server.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR=$(realpath "${CARGO_TARGET_DIR:-target}" 2>/dev/null || echo "$PWD/target")
cargo build --release -p server --quiet
exec python3 bench/faults.py "$TARGET_DIR/release/sealpost" "$@"
