#!/usr/bin/env bash
# End-to-end benchmark (not a test): N messages of 50 KB with [secure] over
# 10 concurrent SMTP sessions (Postfix's smtp-source) into sealpost, which
# protects each one and hands its notification to Postfix's smtp-sink; in
# the same run, the same load into a local Postfix that relays every message
# to another smtp-sink. End to end is from the first message sent to the
# last one handed to the sink. sealpost runs on SQLite, then on PostgreSQL
# when one answers on 127.0.0.1:5432.
#
#   bench/end-to-end.sh [N]        (default 2000)
#
# Needs: Debian postfix (smtp-source, smtp-sink and the peer), python3; psql
# for the PostgreSQL row. It reconfigures the machine's Postfix as a
# loopback-only relay to a sink on 127.0.0.1:2598: run it on a development
# or CI machine, not a mail server.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
SIZE=51200
TARGET_DIR=$(realpath "${CARGO_TARGET_DIR:-target}" 2>/dev/null || echo "$PWD/target")
for tool in smtp-source smtp-sink postfix; do
  command -v $tool >/dev/null || { echo "$tool is missing: apt-get install postfix (main_mailer_type 'Local only')" >&2; exit 2; }
done

cargo build --release -p server --quiet
WORK=$(mktemp -d)
PGDB="sealpost_bench_$$"
cleanup() {
  kill "${SEALPOST:-}" "${SINK:-}" "${PEER_SINK:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $PGDB" postgres >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

now_ms() { python3 -c 'import time; print(int(time.time() * 1000))'; }

# One sealpost measure on the database URL $1 (empty: the embedded
# default), read back with the query function $2: "rate p50 p99" in $WORK/result.
measure_sealpost() {
  local url=$1 query=$2
  rm -rf "$WORK/data"
  smtp-sink -u postfix 127.0.0.1:2599 256 >/dev/null 2>&1 & SINK=$!
  if [ -n "$url" ]; then export SEALPOST_DATABASE_URL=$url; else unset SEALPOST_DATABASE_URL; fi
  SEALPOST_DATA_DIR="$WORK/data" SEALPOST_RELAY_URL=smtp://127.0.0.1:2599 \
  SEALPOST_INTERNAL_DOMAINS=corp.example SEALPOST_HTTP_ADDR=127.0.0.1:3990 SEALPOST_SMTP_ADDR=127.0.0.1:3991 \
  RUST_LOG=error "$TARGET_DIR/release/sealpost" serve >"$WORK/out.log" 2>"$WORK/err.log" & SEALPOST=$!
  for _ in $(seq 1 100); do curl -sf http://127.0.0.1:3990/healthz >/dev/null && break; sleep 0.1; done
  curl -sf http://127.0.0.1:3990/healthz >/dev/null || { echo "sealpost did not start: $(cat "$WORK/err.log")" >&2; exit 1; }
  local t0
  t0=$(now_ms)
  smtp-source -s 10 -l $SIZE -m "$N" -f alice@corp.example -t bob@gmail.example -S "[secure] bench" 127.0.0.1:3991
  local sent=0
  for _ in $(seq 1 1200); do
    sent=$($query "select count(*) from events where kind = 'notification sent'")
    [ "$sent" -ge "$N" ] && break
    sleep 0.25
  done
  [ "$sent" -ge "$N" ] || { echo "only $sent of $N notifications were sent in 5 minutes" >&2; exit 1; }
  local last
  last=$($query "select max(at) from events where kind = 'notification sent'")
  local lat
  lat=$($query "select s.at - r.at from events s join events r on r.message_id = s.message_id and r.kind = 'received' where s.kind = 'notification sent' order by 1")
  kill "$SEALPOST" "$SINK"; wait "$SEALPOST" "$SINK" 2>/dev/null || true
  python3 - "$N" "$t0" "$last" >"$WORK/result" <<PY
import statistics, sys
n, t0, last = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
d = sorted(int(x) for x in """$lat""".split())
print(f"{n / ((last - t0) / 1000):.0f} {statistics.median(d):.0f} {d[min(len(d) - 1, int(len(d) * 0.99))]:.0f}")
PY
}

sqlite_query() { python3 -c "import sqlite3, sys; [print(*r) for r in sqlite3.connect('$WORK/data/sealpost.db').execute(sys.argv[1])]" "$1"; }
pg_query() { psql -qtA -h 127.0.0.1 -U postgres -c "$1" "$PGDB"; }

measure_sealpost "" sqlite_query
read -r SQLITE_RATE SQLITE_P50 SQLITE_P99 <"$WORK/result"
PG_RATE="-" PG_P50="-" PG_P99="-"
if command -v psql >/dev/null && psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $PGDB" postgres >/dev/null 2>&1; then
  measure_sealpost "postgres://postgres@127.0.0.1:5432/$PGDB" pg_query
  read -r PG_RATE PG_P50 PG_P99 <"$WORK/result"
fi

# The peer: Postfix takes the same load on 2526 and relays it to a sink
# that writes each message it receives, so the last file tells when the
# last one left.
mkdir -p "$WORK/peer"
smtp-sink -u postfix -d "$WORK/peer/%M." 127.0.0.1:2598 256 >/dev/null 2>&1 & PEER_SINK=$!
chown postfix "$WORK/peer"; chmod 755 "$WORK"
# Debian's package installed without a configuration (as
# scripts/install-test-deps.sh does) has no main.cf: Debian's default.
[ -f /etc/postfix/main.cf ] || { cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf && postconf -e 'myhostname = bench.localdomain'; }
postconf -e 'inet_interfaces = loopback-only' 'mynetworks = 127.0.0.0/8' 'mydestination =' \
  'relayhost = [127.0.0.1]:2598' 'default_transport = smtp' 'relay_transport = relay' 'local_transport = local' \
  'smtp_tls_security_level = none' 'disable_dns_lookups = yes' 'smtp_host_lookup = native' \
  'smtpd_relay_restrictions = permit_mynetworks, reject' 'maillog_file = /var/log/postfix.log'
postconf -M '2526/inet=2526 inet n - n - - smtpd'
postfix status >/dev/null 2>&1 && postfix reload >/dev/null 2>&1 || postfix start >/dev/null 2>&1
postsuper -d ALL >/dev/null 2>&1 || true
sleep 1
T0=$(now_ms)
smtp-source -s 10 -l $SIZE -m "$N" -f alice@corp.example -t bob@gmail.example -S "[secure] bench" 127.0.0.1:2526
for _ in $(seq 1 1200); do
  [ "$(find "$WORK/peer" -type f | wc -l)" -ge "$N" ] && break
  sleep 0.25
done
GOT=$(find "$WORK/peer" -type f | wc -l)
[ "$GOT" -ge "$N" ] || { echo "Postfix relayed only $GOT of $N messages in 5 minutes" >&2; exit 1; }
LAST=$(find "$WORK/peer" -type f -printf '%T@\n' | sort -n | tail -1)
PEER_RATE=$(python3 -c "print(f'{$N / ($LAST - $T0 / 1000):.0f}')")

ratio() { [ "$1" = "-" ] && echo "-" || python3 -c "print(f'{$1 / $PEER_RATE:.2f}x')"; }
printf '\nEnd to end: %s messages of %s bytes with [secure], 10 concurrent SMTP sessions, to smtp-sink\n\n' "$N" "$SIZE"
printf '| %-32s | %10s | %10s | %14s | %14s |\n' "" "messages/s" "/ Postfix" "250 to sink p50" "250 to sink p99"
printf '|%s|%s|%s|%s|%s|\n' "----------------------------------" "------------" "------------" "----------------" "----------------"
printf '| %-32s | %10s | %10s | %11s ms | %11s ms |\n' "sealpost, SQLite" "$SQLITE_RATE" "$(ratio "$SQLITE_RATE")" "$SQLITE_P50" "$SQLITE_P99"
printf '| %-32s | %10s | %10s | %11s ms | %11s ms |\n' "sealpost, PostgreSQL" "$PG_RATE" "$(ratio "$PG_RATE")" "$PG_P50" "$PG_P99"
printf '| %-32s | %10s | %10s | %14s | %14s |\n' "Postfix relaying (durable queue)" "$PEER_RATE" "1.00x" "-" "-"
