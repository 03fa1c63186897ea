#!/usr/bin/env bash
# Intake benchmark (not a test): N messages of 50 KB over 10 concurrent SMTP
# connections into sealpost on SQLite, with encryption and durable commit,
# notifications relayed to a discarding sink. When Postfix is installed, the
# same load (smtp-source -s 10 -l 51200) runs against a local Postfix that
# discards mail, in the same run, and the table shows our rate as a ratio.
#
#   bench/intake.sh [N]        (default 2000)
#
# Needs: Debian postfix (for smtp-source, smtp-sink and the peer), python3.
# It reconfigures the machine's Postfix as a loopback-only discard peer on
# 127.0.0.1:2526: run it on a development or CI machine, not a mail server.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
SIZE=51200
TARGET_DIR=$(realpath "${CARGO_TARGET_DIR:-target}" 2>/dev/null || echo "$PWD/target")
command -v smtp-source >/dev/null || { echo "smtp-source is missing: apt-get install postfix (main_mailer_type 'Local only')" >&2; exit 2; }

cargo build --release -p server --quiet
WORK=$(mktemp -d)
cleanup() { kill "$SEALPOST" "$SINK" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

smtp-sink -u postfix 127.0.0.1:2599 256 >/dev/null 2>&1 & SINK=$!
start_sealpost() {
  rm -rf "$WORK/data"
  SEALPOST_DATA_DIR="$WORK/data" SEALPOST_RELAY_URL=smtp://127.0.0.1:2599 SEALPOST_INTERNAL_DOMAINS=corp.example \
  SEALPOST_HTTP_ADDR=127.0.0.1:3990 SEALPOST_SMTP_ADDR=127.0.0.1:3991 RUST_LOG=error \
    "$TARGET_DIR/release/sealpost" serve >"$WORK/out.log" 2>"$WORK/err.log" & SEALPOST=$!
  for _ in $(seq 1 100); do curl -sf http://127.0.0.1:3990/healthz >/dev/null && return; sleep 0.1; done
  echo "sealpost did not start: $(cat "$WORK/err.log")" >&2; exit 1
}
stop_sealpost() { kill "$SEALPOST"; wait "$SEALPOST" 2>/dev/null || true; }

rate() { # host:port -> messages per second for N messages from smtp-source
  local t0 t1
  t0=$(date +%s.%N)
  smtp-source -s 10 -l $SIZE -m "$N" -f alice@corp.example -t bob@gmail.example -S "[secure] bench" "$1"
  t1=$(date +%s.%N)
  python3 -c "print(f'{$N / ($t1 - $t0):.0f}')"
}

# 1. Throughput with the standard load generator.
start_sealpost
OURS=$(rate 127.0.0.1:3991)
# 2. Notification latency: from 250 (received) to handed to the relay.
for _ in $(seq 1 600); do
  SENT=$(python3 -c "import sqlite3; print(sqlite3.connect('$WORK/data/sealpost.db').execute(\"select count(*) from events where kind='notification sent'\").fetchone()[0])")
  [ "$SENT" -ge "$N" ] && break; sleep 0.5
done
read -r NOTIFY_P50 NOTIFY_P99 < <(python3 - "$WORK/data/sealpost.db" <<'PY'
import sqlite3, statistics, sys
c = sqlite3.connect(sys.argv[1])
rows = c.execute("""select s.at - r.at from events s join events r on r.message_id = s.message_id and r.kind = 'received'
                    where s.kind = 'notification sent' order by 1""").fetchall()
d = [r[0] for r in rows] or [0]
print(f"{statistics.median(d):.0f} {d[min(len(d)-1, int(len(d)*0.99))]:.0f}")
PY
)
stop_sealpost
# 3. Time to 250, per message, with our own client (same load shape).
start_sealpost
read -r _ _ P50 P99 < <(python3 bench/smtp_latency.py 127.0.0.1 3991 "$N" 10 $SIZE)
stop_sealpost

PEER="-"
RATIO="-"
if command -v postfix >/dev/null; then
  # Debian's package installed without a configuration (as
  # scripts/install-test-deps.sh does) has no main.cf: Debian's default.
  [ -f /etc/postfix/main.cf ] || { cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf && postconf -e 'myhostname = bench.localdomain'; }
  postconf -e 'inet_interfaces = loopback-only' 'mynetworks = 127.0.0.0/8' 'default_transport = discard' \
    'local_transport = discard' 'relay_transport = discard' 'mydestination =' \
    'smtpd_relay_restrictions = permit_mynetworks, reject' 'maillog_file = /var/log/postfix.log'
  postconf -M '2526/inet=2526 inet n - n - - smtpd'
  postfix status >/dev/null 2>&1 && postfix reload >/dev/null 2>&1 || postfix start >/dev/null 2>&1
  sleep 1
  PEER=$(rate 127.0.0.1:2526)
  RATIO=$(python3 -c "print(f'{$OURS / $PEER:.2f}x')")
fi

printf '\nIntake: %s messages of %s bytes, 10 concurrent connections, SQLite, encrypted, durable commit\n\n' "$N" "$SIZE"
printf '| %-38s | %12s |\n' "measure" "value"
printf '|%s|%s|\n' "----------------------------------------" "--------------"
printf '| %-38s | %12s |\n' "sealpost accepted messages/s" "$OURS"
printf '| %-38s | %12s |\n' "Postfix (durable queue) messages/s" "$PEER"
printf '| %-38s | %12s |\n' "sealpost / Postfix" "$RATIO"
printf '| %-38s | %9s ms |\n' "time to 250, median" "$P50"
printf '| %-38s | %9s ms |\n' "time to 250, p99" "$P99"
printf '| %-38s | %9s ms |\n' "250 to notification sent, median" "$NOTIFY_P50"
printf '| %-38s | %9s ms |\n' "250 to notification sent, p99" "$NOTIFY_P99"
