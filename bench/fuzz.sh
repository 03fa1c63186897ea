#!/usr/bin/env bash
# Fuzzing, long form (not a test): the property tests over untrusted input
# (server/src/fuzz.rs: every walk over MIME parts, the protected-envelope
# parser, the sensitive-number detectors) and the SMTP session over the wire
# (server/tests/it/fuzz.rs), with many more cases than CI runs.
#
#   bench/fuzz.sh [CASES]     (default 20000 per property; the SMTP session gets a tenth)
#
# A failure prints the smallest input that fails: keep it as a regression
# test next to the property.
set -euo pipefail
cd "$(dirname "$0")/.."
CASES=${1:-20000}
run() { # name cases cargo-args...
  local name=$1 cases=$2; shift 2
  local t0 t1 status=ok
  t0=$(date +%s)
  PROPTEST_CASES=$cases cargo test --release -p server "$@" -- --test-threads 2 >"/tmp/fuzz-$name.log" 2>&1 || status="FAILED (see /tmp/fuzz-$name.log)"
  t1=$(date +%s)
  printf '| %s | %s | %s s | %s |\n' "$name" "$cases" "$((t1 - t0))" "$status"
  [ "$status" = ok ]
}
echo "| target | cases per property | time | result |"
echo "|---|---|---|---|"
ok=0
run parsers "$CASES" --lib fuzz:: || ok=1
run smtp-session "$((CASES / 10))" --test it fuzz:: || ok=1
exit $ok
