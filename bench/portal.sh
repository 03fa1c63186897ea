#!/usr/bin/env bash
# Portal benchmark (not a test): requests per second and latency of the
# authenticated message page (a 50 KB HTML body, decrypted, sanitised and
# rendered per request) under 50 concurrent connections with wrk, on SQLite;
# and, in the same run, nginx serving that page's HTML as a static file.
# Also the message page's transfer size with its script and style, gzip.
#
#   bench/portal.sh [SECONDS]      (default 20)
#
# Needs: Debian wrk and nginx, python3. nginx runs as this user on a
# loopback port with its own configuration in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_=${1:-20}
TARGET_DIR=$(realpath "${CARGO_TARGET_DIR:-target}" 2>/dev/null || echo "$PWD/target")
SITE_DIR="$TARGET_DIR/site"
for tool in wrk nginx; do
  command -v $tool >/dev/null || [ -x /usr/sbin/$tool ] || { echo "$tool is missing: apt-get install $tool" >&2; exit 2; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -f "$SITE_DIR/pkg/app_bg.wasm" ] || { echo "the client bundle is missing: make site" >&2; exit 2; }

cargo build --release -p server --quiet
WORK=$(mktemp -d)
cleanup() {
  kill "$SEALPOST" 2>/dev/null || true
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

SEALPOST_DATA_DIR="$WORK/data" SEALPOST_DEV_MODE=true SEALPOST_INTERNAL_DOMAINS=corp.example \
SEALPOST_HTTP_ADDR=127.0.0.1:3980 SEALPOST_SMTP_ADDR=127.0.0.1:3981 SEALPOST_PUBLIC_URL=http://127.0.0.1:3980 \
SEALPOST_SITE_DIR="$SITE_DIR" RUST_LOG=error \
  "$TARGET_DIR/release/sealpost" serve >"$WORK/out.log" 2>"$WORK/err.log" & SEALPOST=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:3980/healthz >/dev/null && break; sleep 0.1; done
curl -sf http://127.0.0.1:3980/healthz >/dev/null || { echo "sealpost did not start: $(cat "$WORK/err.log")" >&2; exit 1; }

read -r URL COOKIE < <(python3 bench/portal_session.py http://127.0.0.1:3980 127.0.0.1 3981 "$WORK/page.html")

mkdir -p "$WORK/www" "$WORK/nginx"
cp "$WORK/page.html" "$WORK/www/message.html"
# nginx's workers drop to an unprivileged user when started as root.
chmod 755 "$WORK" "$WORK/www"; chmod 644 "$WORK/www/message.html"
cat >"$WORK/nginx.conf" <<CONF
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  default_type text/html;
  server { listen 127.0.0.1:3982; root $WORK/www; }
}
CONF
"$NGINX" -c "$WORK/nginx.conf" -e "$WORK/nginx/error.log" 2>/dev/null || "$NGINX" -c "$WORK/nginx.conf"

# wrk's --latency table gives the percentiles; the Lua-free output is parsed.
measure() { # URL [header] -> "requests/s p50_ms p99_ms"
  local out
  if [ -n "${2:-}" ]; then out=$(wrk -t2 -c50 -d"${SECONDS_}s" --latency -H "$2" "$1"); else out=$(wrk -t2 -c50 -d"${SECONDS_}s" --latency "$1"); fi
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
def ms(label):
    v, unit = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
    return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
if errors:
    sys.exit(f"{errors.group(1)} responses were errors:\n{out}")
print(f"{rps:.0f} {ms('50%'):.2f} {ms('99%'):.2f}")
PY
}

# The page must be the message itself, not the sign-in page, for every request.
PAGE=$(curl -sf -H "Cookie: $COOKIE" "$URL")
[[ "$PAGE" == *"Quarterly report"* ]] || { echo "the session does not open the message" >&2; exit 1; }
read -r OURS_RPS OURS_P50 OURS_P99 < <(measure "$URL" "Cookie: $COOKIE")
read -r PEER_RPS PEER_P50 PEER_P99 < <(measure http://127.0.0.1:3982/message.html)
RATIO=$(python3 -c "print(f'{$OURS_RPS / $PEER_RPS:.2f}x')")

gz() { gzip -9c "$1" | wc -c; }
HTML_GZ=$(curl -sf -H "Cookie: $COOKIE" "$URL" | gzip -9c | wc -c)
JS_GZ=$(gz "$SITE_DIR/pkg/app.js"); WASM_GZ=$(gz "$SITE_DIR/pkg/app_bg.wasm"); CSS_GZ=$(gz "$SITE_DIR/main.css")
SCRIPTS=$(grep -c 'app_bg.wasm\|pkg/app.js' "$WORK/page.html" || true)
if [ "$SCRIPTS" -gt 0 ]; then TOTAL=$((HTML_GZ + JS_GZ + WASM_GZ + CSS_GZ)); else TOTAL=$((HTML_GZ + CSS_GZ)); fi

printf '\nPortal: authenticated message page, 50 KB HTML body, wrk -t2 -c50 -d%ss, SQLite\n\n' "$SECONDS_"
printf '| %-44s | %12s |\n' "measure" "value"
printf '|%s|%s|\n' "----------------------------------------------" "--------------"
printf '| %-44s | %12s |\n' "sealpost message page requests/s" "$OURS_RPS"
printf '| %-44s | %9s ms |\n' "sealpost p50" "$OURS_P50"
printf '| %-44s | %9s ms |\n' "sealpost p99" "$OURS_P99"
printf '| %-44s | %12s |\n' "nginx, same HTML as a static file, requests/s" "$PEER_RPS"
printf '| %-44s | %9s ms |\n' "nginx p50" "$PEER_P50"
printf '| %-44s | %9s ms |\n' "nginx p99" "$PEER_P99"
printf '| %-44s | %12s |\n' "sealpost / nginx" "$RATIO"
printf '| %-44s | %9s KB |\n' "page HTML" "$(( ${#PAGE} / 1024 ))"
printf '| %-44s | %9s KB |\n' "page HTML, gzip" "$((HTML_GZ / 1024))"
printf '| %-44s | %9s KB |\n' "script (app.js + app_bg.wasm), gzip" "$(((JS_GZ + WASM_GZ) / 1024))"
printf '| %-44s | %9s KB |\n' "style (main.css), gzip" "$((CSS_GZ / 1024))"
printf '| %-44s | %9s KB |\n' "message page with what it loads, gzip" "$((TOTAL / 1024))"
