#!/usr/bin/env bash
# README "Deploying", run on this machine: the production setup, tested end
# to end. As root it
#   - installs sealpost as the README says (binary, service user, /etc/sealpost
#     with the root key and the configuration, the client bundle) and checks
#     the systemd unit with `systemd-analyze verify`;
#   - starts it as the unit would (its user, its environment, the root key as
#     a credential file), serving the portal over HTTPS;
#   - runs `sealpost check`;
#   - puts a Postfix instance of its own in front of and behind sealpost with
#     exactly deploy/postfix/main.cf and master.cf, on loopback ports;
#   - sends with Postfix's sendmail a [secure] message to an outside and an
#     inside address, and checks that the outside address gets a notification
#     whose link opens over HTTPS (HTTP/2, HSTS), that the inside address gets
#     the protected copy, each exactly once (no loop), and that Postfix's queue
#     is empty afterwards;
#   - sends a message just under Postfix's size limit: its protected copy,
#     larger, still comes back through the return path;
#   - installs and renews the HTTPS certificate with deploy/certbot's deploy
#     hook, which reloads sealpost (SIGHUP): the new certificate is served
#     without a restart; SIGTERM ends it cleanly;
#   - starts it again on loopback behind nginx with exactly
#     deploy/nginx/sealpost.conf, and opens the link through the proxy;
#   - runs two nodes on one PostgreSQL database behind that nginx (the
#     file's second server line): a passcode sign-in across both, a
#     revocation both answer at once, one node killed while the other serves.
# It refuses to touch an /etc/sealpost it did not make.
#
# Usage: deploy/test.sh BINARY SITE_DIR   (make test passes the debug build)
set -euo pipefail
# Debian's `su` without `-` leaves the sbin directories off PATH.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
cd "$(dirname "$0")/.."
REPO=$PWD
BIN=${1:?usage: deploy/test.sh BINARY SITE_DIR}
SITE=${2:?usage: deploy/test.sh BINARY SITE_DIR}
BIN=$(realpath "$BIN"); SITE=$(realpath "$SITE")

step() { printf '==> deploy: %s\n' "$*"; }
fail() { printf 'deploy test FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "it runs as root: it installs a service user, /etc/sealpost and a Postfix instance"
for tool in postfix postqueue smtp-sink sendmail systemd-analyze openssl curl runuser setpriv useradd python3 base64 nginx psql ss; do
  command -v $tool >/dev/null || fail "$tool is missing (scripts/install-test-deps.sh installs it)"
done
# What it installs, it removes afterwards; what it did not make, it leaves.
INSTALLED=(/etc/sealpost /var/lib/sealpost /usr/local/share/sealpost /usr/local/bin/sealpost /etc/systemd/system/sealpost.service)
if [ ! -e /etc/sealpost/.deploy-test ]; then
  for path in "${INSTALLED[@]}"; do
    [ -e "$path" ] && fail "$path exists and was not made by this test: refusing to touch it"
  done
fi

# Loopback ports of the test's own.
HTTPS_PORT=18443 PROXY_PORT=18444 PROXY_HTTP_PORT=18080 BACKEND_PORT=13000 BACKEND2_PORT=13001 SMTP_PORT=12525 SMTP2_PORT=12526 RETURN_PORT=10025 INTERNET_PORT=12601 MAILBOX_PORT=12602
WORK=$(mktemp -d /tmp/sealpost-deploy.XXXXXX)
chmod 755 "$WORK"
PF="$WORK/postfix"
SEALPOST_PID=""
cleanup() {
  [ -n "$SEALPOST_PID" ] && kill $SEALPOST_PID 2>/dev/null || true
  postfix -c "$PF/etc" stop >/dev/null 2>&1 || true
  [ -f "$WORK/nginx/nginx.pid" ] && kill "$(cat "$WORK/nginx/nginx.pid")" 2>/dev/null || true
  [ -n "${SINKS:-}" ] && kill $SINKS 2>/dev/null || true
  [ -n "${DB:-}" ] && psql -h 127.0.0.1 -U postgres -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  if [ "${KEEP:-}" != 1 ]; then rm -rf "$WORK" "${INSTALLED[@]}"; else echo "kept $WORK and the installation"; fi
}
trap cleanup EXIT

step "install (README: Deploying, step 1)"
rm -rf /etc/sealpost /var/lib/sealpost /usr/local/share/sealpost
install -m 0755 "$BIN" /usr/local/bin/sealpost
id sealpost >/dev/null 2>&1 || useradd --system --home-dir /var/lib/sealpost --shell /usr/sbin/nologin sealpost
install -d -m 0755 /usr/local/share/sealpost
rm -rf /usr/local/share/sealpost/site && cp -r "$SITE" /usr/local/share/sealpost/site
install -d -m 0750 -g sealpost /etc/sealpost
touch /etc/sealpost/.deploy-test
(umask 077 && head -c 32 /dev/urandom | base64 > /etc/sealpost/master.key)
install -m 0640 -g sealpost deploy/sealpost.toml /etc/sealpost/sealpost.toml

step "HTTPS certificate through the certbot deploy hook (README: Deploying, step 2)"
# A self-signed certificate stands in for the one certbot would issue, in a
# directory laid out as certbot's live/<name>/. No systemd runs here: a
# stand-in answers the hook's systemctl as systemd would.
mkdir -p "$WORK/live" "$WORK/bin"
cat > "$WORK/bin/systemctl" <<EOF
#!/bin/sh
# What the hook asks: is-active (sealpost: while the test runs it; nginx:
# never in this part) and reload sealpost, which is the unit's ExecReload.
case "\$*" in
  "is-active --quiet sealpost") [ -s "$WORK/sealpost.pid" ] && kill -0 "\$(cat "$WORK/sealpost.pid")" 2>/dev/null ;;
  "is-active --quiet nginx") exit 3 ;;
  "reload sealpost") kill -HUP "\$(cat "$WORK/sealpost.pid")" ;;
  *) echo "systemctl \$*: not in this test" >&2; exit 1 ;;
esac
EOF
chmod 755 "$WORK/bin/systemctl"
make_cert() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" \
    -addext "subjectAltName=DNS:localhost" \
    -keyout "$WORK/live/privkey.pem" -out "$WORK/live/fullchain.pem" 2>/dev/null
  RENEWED_LINEAGE="$WORK/live" PATH="${HOOK_BIN:-$WORK/bin}:$PATH" deploy/certbot/sealpost-deploy-hook
}
make_cert "sealpost first"
[ "$(stat -c '%a %G' /etc/sealpost/portal.key)" = "640 sealpost" ] || fail "the hook left the key $(stat -c '%a %G' /etc/sealpost/portal.key), not 640 sealpost"

step "configuration (README: Deploying, step 2)"
# What both set-ups below share: the intake, the relay, the organization.
MAIL_SETTINGS="smtp_addr = \"127.0.0.1:$SMTP_PORT\"
relay_url = \"smtp://127.0.0.1:$RETURN_PORT\"
internal_domains = \"corp.example\"
admin_email = \"admin@corp.example\""
# The file's last block is the set-up at hand; the next one replaces it.
deployment() { # title, the set-up's own settings
  sed -i '/^# --- this deployment/,$d' /etc/sealpost/sealpost.toml
  printf '# --- this deployment: %s ---\n%s\n%s\n' "$1" "$2" "$MAIL_SETTINGS" >> /etc/sealpost/sealpost.toml
}
deployment "HTTPS by sealpost" "public_url = \"https://localhost:$HTTPS_PORT\"
http_addr = \"127.0.0.1:$HTTPS_PORT\"
http_tls_cert = \"/etc/sealpost/portal.crt\"
http_tls_key = \"/etc/sealpost/portal.key\""

step "systemd unit: systemd-analyze verify"
systemd-analyze verify deploy/systemd/sealpost.service
install -m 0644 deploy/systemd/sealpost.service /etc/systemd/system/sealpost.service

# No systemd runs the service here: it is started as the unit says, with
# the unit's user, environment and credential. The unit's lines are read
# from the file itself, so the two cannot drift.
unit_env() {
  sed -n 's/^Environment=//p' deploy/systemd/sealpost.service
}
CREDENTIALS="$WORK/credentials"
install -d -m 0700 -o sealpost "$CREDENTIALS"
install -m 0400 -o sealpost /etc/sealpost/master.key "$CREDENTIALS/master.key"
install -d -m 0700 -o sealpost -g sealpost /var/lib/sealpost
ENV_ARGS=()
while IFS= read -r line; do ENV_ARGS+=("${line//%d/$CREDENTIALS}"); done < <(unit_env)
EXEC=$(sed -n 's/^ExecStart=//p' deploy/systemd/sealpost.service)
# setpriv execs (no process in between), so $! is sealpost itself and gets
# the signals systemd would send.
AS_SERVICE=(setpriv --reuid=sealpost --regid=sealpost --init-groups -- env -i PATH=/usr/bin:/bin "${ENV_ARGS[@]}")

# README "Deploying", step 5: the management commands, as the service's user.
sealpost_admin() { SEALPOST_DATA_DIR=/var/lib/sealpost SEALPOST_MASTER_KEY="$(cat /etc/sealpost/master.key)" runuser -u sealpost -- /usr/local/bin/sealpost --config /etc/sealpost/sealpost.toml "$@"; }


step "Postfix in front of and behind sealpost (deploy/postfix)"
smtp-sink -u postfix -d "$WORK/internet/%M." 127.0.0.1:$INTERNET_PORT 64 >/dev/null 2>&1 & SINKS="$!"
smtp-sink -u postfix -d "$WORK/mailbox/%M." 127.0.0.1:$MAILBOX_PORT 64 >/dev/null 2>&1 & SINKS="$SINKS $!"
mkdir -p "$WORK/internet" "$WORK/mailbox" "$PF/etc" "$PF/spool" "$PF/lib"
chown postfix "$WORK/internet" "$WORK/mailbox" "$PF/lib"
# The instance's own paths and a loopback world: mail for corp.example goes
# to the mailbox sink, everything else to the internet sink.
cat > "$PF/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/spool
data_directory = $PF/lib
mail_owner = postfix
setgid_group = postdrop
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = mail.corp.example
mydestination =
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$INTERNET_PORT
transport_maps = inline:{corp.example=smtp:[127.0.0.1]:$MAILBOX_PORT}
smtp_tls_security_level = none
# Small, so that a protected copy (a third larger) outgrows what Postfix
# takes in: the return path must take it all the same (master.cf).
message_size_limit = 300000
EOF
# The deployment's own lines, exactly as shipped; only the intake's port is
# this test's.
sed "s/\[127.0.0.1\]:2525/[127.0.0.1]:$SMTP_PORT/" deploy/postfix/main.cf >> "$PF/etc/main.cf"
# Debian's services, with port 25 moved to a free one; then the shipped ones.
# Not chrooted: a chroot would need copies of /etc inside the test's spool.
sed 's/^smtp      inet/127.0.0.1:12625 inet/' /etc/postfix/master.cf |
  awk '/^[a-z0-9.:]+[ \t]+(inet|unix|fifo|pass|unix-dgram)[ \t]/ && NF >= 8 { $5 = "n" } { print }' > "$PF/etc/master.cf"
cat deploy/postfix/master.cf >> "$PF/etc/master.cf"
postfix -c "$PF/etc" check
postfix -c "$PF/etc" start >/dev/null 2>&1 || { cat "$PF/maillog" || true; fail "Postfix did not start"; }

step "sealpost check before the first start"
sealpost_admin check > "$WORK/check-1.txt" || { cat "$WORK/check-1.txt"; fail "sealpost check failed before the first start"; }
cat "$WORK/check-1.txt"
grep -q "^ok    database .*not created yet" "$WORK/check-1.txt" || fail "check did not see that the database is still to be made"

step "start sealpost as the unit does"
"${AS_SERVICE[@]}" $EXEC > "$WORK/sealpost.out" 2> "$WORK/sealpost.log" &
SEALPOST_PID=$!
echo $SEALPOST_PID > "$WORK/sealpost.pid"
STARTED=""
for _ in $(seq 1 150); do
  curl -ksf "https://localhost:$HTTPS_PORT/healthz" >/dev/null 2>&1 && { STARTED=1; break; }
  kill -0 $SEALPOST_PID 2>/dev/null || { cat "$WORK/sealpost.log"; fail "sealpost did not start"; }
  sleep 0.2
done
[ -n "$STARTED" ] || { cat "$WORK/sealpost.log"; fail "sealpost did not answer on https://localhost:$HTTPS_PORT within 30 s"; }
grep -q "Sign in at https://localhost:$HTTPS_PORT/login" "$WORK/sealpost.out" || fail "the first start did not print how to sign in"

step "sealpost check with everything running"
sealpost_admin check > "$WORK/check-2.txt" || { cat "$WORK/check-2.txt"; fail "sealpost check found a problem"; }
cat "$WORK/check-2.txt"
grep -q "^ok    relay           smtp://127.0.0.1:$RETURN_PORT: EHLO answered" "$WORK/check-2.txt" || fail "check did not reach the relay"
# The node made the keys with the credential's copy; the file opens them.
grep -q "^ok    root key        SEALPOST_MASTER_KEY opens the organization's 1 key" "$WORK/check-2.txt" || fail "the root key file does not open the keys the node made"
grep -q "^ok    https .*(1 day left), for localhost$" "$WORK/check-2.txt" || fail "check did not tell until when and for whom the HTTPS certificate is"

step "a [secure] message to an outside and an inside address, with Postfix's sendmail"
sendmail -C "$PF/etc" -f alice@corp.example bob@gmail.example carol@corp.example <<EOF
From: Alice <alice@corp.example>
To: bob@gmail.example, carol@corp.example
Subject: [secure] Quarterly numbers
Message-ID: <deploy-test-$$@corp.example>

The numbers are in.
EOF

wait_for_files() { # dir count
  for _ in $(seq 1 150); do
    [ "$(ls "$1" | wc -l)" -ge "$2" ] && return 0
    sleep 0.2
  done
  return 1
}
wait_for_files "$WORK/internet" 1 || { tail -n 20 "$PF/maillog" "$WORK/sealpost.log" || true; fail "no notification reached the internet"; }
wait_for_files "$WORK/mailbox" 1 || { tail -n 20 "$PF/maillog" || true; fail "no protected copy reached the mailbox"; }
# Anything going round again would arrive a second time meanwhile.
sleep 3
[ "$(ls "$WORK/internet" | wc -l)" = 1 ] || fail "the internet got $(ls "$WORK/internet" | wc -l) mails, not 1"
[ "$(ls "$WORK/mailbox" | wc -l)" = 1 ] || fail "the mailbox got $(ls "$WORK/mailbox" | wc -l) mails, not 1"
# The mails as their readers see them: headers, and the text parts decoded
# (quoted-printable would break a long link across lines).
decoded() {
  python3 -c 'import email, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
print("".join(f"{k}: {v}\n" for k, v in m.items()))
for part in m.walk():
    if part.get_content_maintype() == "text":
        print(part.get_content())' "$1"
}
NOTIFICATION=$(decoded "$WORK"/internet/*)
COPY=$(cat "$WORK"/mailbox/*)
grep -q "bob@gmail.example" <<<"$NOTIFICATION" || fail "the notification is not for bob"
grep -q "alice@corp.example" <<<"$NOTIFICATION" || fail "the notification does not name the sender"
if grep -q "The numbers are in" <<<"$NOTIFICATION"; then fail "the notification carries the message's text"; fi
grep -q "^X-Sealpost-Protected: v1" <<<"$COPY" || fail "carol's copy is not protected"
if grep -q "The numbers are in" <<<"$COPY"; then fail "carol's copy carries the text in the clear"; fi
postqueue -c "$PF/etc" -p | grep -q "Mail queue is empty" || { postqueue -c "$PF/etc" -p; fail "mail is left in Postfix's queue"; }

step "a [secure] message just under Postfix's size limit: its protected copy, larger, still comes back"
{
  printf 'From: Alice <alice@corp.example>\nTo: carol@corp.example\nSubject: [secure] Big numbers\n\n'
  head -c 200000 /dev/urandom | base64 -w 76
} | sendmail -C "$PF/etc" -f alice@corp.example carol@corp.example
wait_for_files "$WORK/mailbox" 2 || { tail -n 20 "$PF/maillog" || true; fail "the large message's protected copy did not reach the mailbox (the return path refused it?)"; }
BIGGEST=$(stat -c %s "$WORK"/mailbox/* | sort -n | tail -n 1)
[ "$BIGGEST" -gt 300000 ] || fail "the protected copy ($BIGGEST bytes) did not outgrow Postfix's limit: the step proves nothing"

step "the notification's link opens over HTTPS"
LINK=$(grep -o "https://localhost:$HTTPS_PORT/r/[A-Za-z0-9_-]\{43\}" <<<"$NOTIFICATION" | head -n 1 || true)
[ -n "$LINK" ] || fail "no https link in the notification"
curl -ksf --http2 -D "$WORK/headers" -o "$WORK/page.html" "$LINK" || fail "the link did not open over HTTPS"
grep -q "^HTTP/2 200" "$WORK/headers" || fail "the link did not answer 200 over HTTP/2: $(head -n 1 "$WORK/headers")"
grep -qi "^strict-transport-security: max-age=31536000" "$WORK/headers" || fail "no HSTS header"
grep -qi "^set-cookie: .*; Secure" "$WORK/headers" || fail "cookies are not Secure"
grep -q "Quarterly numbers\|alice@corp.example" "$WORK/page.html" || fail "the landing page does not name the message's sender"

step "certificate renewed: the deploy hook reloads sealpost (SIGHUP), served without a restart"
served() { openssl s_client -connect "127.0.0.1:$1" -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -subject; }
# A reload is asynchronous (nginx's new workers start while the old ones
# finish what they hold): up to 30 s on a busy machine.
serves() { # port, subject
  for _ in $(seq 1 300); do served "$1" | grep -q "$2" && return 0; sleep 0.1; done
  return 1
}
served $HTTPS_PORT | grep -q "sealpost first" || fail "the first certificate is not the one served"
make_cert "sealpost renewed"
serves $HTTPS_PORT "sealpost renewed" || fail "the renewed certificate is not served after SIGHUP"
kill -0 $SEALPOST_PID 2>/dev/null || fail "sealpost stopped on SIGHUP"

step "SIGTERM (systemctl stop): a clean exit"
kill -TERM $SEALPOST_PID
# The unit gives it 45 s (TimeoutStopSec) before SIGKILL.
for _ in $(seq 1 450); do kill -0 $SEALPOST_PID 2>/dev/null || break; sleep 0.1; done
kill -0 $SEALPOST_PID 2>/dev/null && fail "sealpost did not stop within 45 s of SIGTERM"
STATUS=0; wait $SEALPOST_PID || STATUS=$?
SEALPOST_PID=""; rm -f "$WORK/sealpost.pid"
[ "$STATUS" = 0 ] || { tail -5 "$WORK/sealpost.log"; fail "sealpost exited with $STATUS on SIGTERM"; }
grep -q "TLS certificate reloaded" "$WORK/sealpost.log" || fail "the reload was not logged"
if grep -qF "$(cat /etc/sealpost/master.key)" "$WORK/sealpost.log" "$WORK/sealpost.out"; then
  fail "the root key reached the output"
fi

step "behind nginx instead (deploy/nginx/sealpost.conf): TLS at the proxy, sealpost on loopback"
# The configuration as the file's comment says: no http_tls_*, loopback,
# the proxy trusted.
deployment "behind nginx" "public_url = \"https://localhost:$PROXY_PORT\"
http_addr = \"127.0.0.1:$BACKEND_PORT\"
trusted_proxies = \"127.0.0.1/32\""
"${AS_SERVICE[@]}" $EXEC > "$WORK/sealpost-2.out" 2> "$WORK/sealpost-2.log" &
SEALPOST_PID=$!
echo $SEALPOST_PID > "$WORK/sealpost.pid"
for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$BACKEND_PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$BACKEND_PORT/healthz" >/dev/null || { cat "$WORK/sealpost-2.log"; fail "sealpost did not start on loopback"; }
# The shipped file on this test's ports and paths (the test machine may have
# no IPv6, so its [::] lines go), in an nginx of its own.
# A listener left from an earlier run would answer in this nginx's place.
for port in $PROXY_PORT $PROXY_HTTP_PORT; do
  if ss -Hltn "sport = :$port" | grep -q .; then fail "something already listens on 127.0.0.1:$port: $(ss -Hltnp "sport = :$port")"; fi
done
mkdir -p "$WORK/nginx" "$WORK/acme/.well-known/acme-challenge"
sed -e "s/listen 443 /listen 127.0.0.1:$PROXY_PORT /" -e "s/listen 80;/listen 127.0.0.1:$PROXY_HTTP_PORT;/" \
  -e '/listen \[::\]:/d' -e "s|/var/www/letsencrypt|$WORK/acme|" \
  -e "s/127.0.0.1:3000/127.0.0.1:$BACKEND_PORT/" deploy/nginx/sealpost.conf > "$WORK/nginx/sealpost.conf"
cat > "$WORK/nginx/nginx.conf" <<EOF
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events {}
http {
    access_log off;
    include $WORK/nginx/sealpost.conf;
}
EOF
nginx -q -t -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" || fail "nginx refuses deploy/nginx/sealpost.conf"
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" || { cat "$WORK/nginx/error.log" || true; fail "nginx did not start"; }
# Port 80: certbot's webroot challenge is answered, the rest goes to https.
echo "challenge-$$" > "$WORK/acme/.well-known/acme-challenge/probe"
chmod -R a+rX "$WORK/acme"
[ "$(curl -sf "http://127.0.0.1:$PROXY_HTTP_PORT/.well-known/acme-challenge/probe")" = "challenge-$$" ] \
  || fail "nginx does not serve certbot's challenge on port 80"
curl -s -o /dev/null -D "$WORK/headers-80" "http://127.0.0.1:$PROXY_HTTP_PORT/r/x"
grep -q "^HTTP/1.1 301" "$WORK/headers-80" || fail "port 80 does not redirect to https: $(head -n 1 "$WORK/headers-80")"
PROXIED=${LINK/:$HTTPS_PORT/:$PROXY_PORT}
curl -ksf --http2 -D "$WORK/headers-2" -o "$WORK/page-2.html" "$PROXIED" || fail "the link did not open through nginx"
grep -q "^HTTP/2 200" "$WORK/headers-2" || fail "the link did not answer 200 over HTTP/2 through nginx: $(head -n 1 "$WORK/headers-2")"
grep -qi "^strict-transport-security: max-age=31536000" "$WORK/headers-2" || fail "no HSTS header through nginx"
grep -qi "^set-cookie: .*; Secure" "$WORK/headers-2" || fail "cookies are not Secure behind nginx"
grep -q "alice@corp.example" "$WORK/page-2.html" || fail "the landing page through nginx does not name the sender"

step "certificate renewed behind nginx: the deploy hook reloads nginx, which serves it"
mkdir -p "$WORK/bin-nginx"
cat > "$WORK/bin-nginx/systemctl" <<EOF
#!/bin/sh
case "\$*" in
  "is-active --quiet nginx"|"is-active --quiet sealpost") exit 0 ;;
  "reload nginx") nginx -q -s reload -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" 2>>"$WORK/nginx/reload.log" ;;
  "reload sealpost") kill -HUP "\$(cat "$WORK/sealpost.pid")" ;;
  *) echo "systemctl \$*: not in this test" >&2; exit 1 ;;
esac
EOF
chmod 755 "$WORK/bin-nginx/systemctl"
HOOK_BIN="$WORK/bin-nginx" make_cert "sealpost behind nginx"
if ! serves $PROXY_PORT "sealpost behind nginx"; then
  echo "served: $(served $PROXY_PORT)" >&2
  cat "$WORK/nginx/reload.log" "$WORK/nginx/error.log" >&2 2>/dev/null || true
  fail "nginx does not serve the renewed certificate after the hook"
fi
kill -TERM $SEALPOST_PID
STATUS=0; wait $SEALPOST_PID || STATUS=$?
SEALPOST_PID=""; rm -f "$WORK/sealpost.pid"
[ "$STATUS" = 0 ] || { tail -5 "$WORK/sealpost-2.log"; fail "sealpost behind nginx exited with $STATUS on SIGTERM"; }
kill "$(cat "$WORK/nginx/nginx.pid")"
for _ in $(seq 1 50); do [ -f "$WORK/nginx/nginx.pid" ] || break; sleep 0.1; done

step "two nodes behind one load balancer (README: Deploying, two or more nodes): one PostgreSQL database"
# The machine's PostgreSQL (trust on loopback) holds a database of this
# test's; both nodes run the same binary, configuration and root key, each
# on its own ports, and nginx balances the portal between them.
DB="sealpost_deploy_$$"
PSQL=(psql -h 127.0.0.1 -U postgres -X -qAt -v ON_ERROR_STOP=1 -d postgres)
"${PSQL[@]}" -c "CREATE DATABASE $DB" || fail "no PostgreSQL on 127.0.0.1:5432 for the two nodes"
deployment "two nodes behind nginx" "public_url = \"https://localhost:$PROXY_PORT\"
http_addr = \"127.0.0.1:$BACKEND_PORT\"
trusted_proxies = \"127.0.0.1/32\"
database_url = \"postgres://postgres@127.0.0.1/$DB?sslmode=disable\""
# The first node's first start makes the organization's keys: the second
# starts once it answers. Each node's own addresses come from its
# environment here (on two machines, each has its own file).
start_node() { # name, extra environment...
  local name=$1; shift
  "${AS_SERVICE[@]}" "$@" $EXEC > "$WORK/$name.out" 2> "$WORK/$name.log" &
  NODE=$!
}
healthy() { curl -sf "http://127.0.0.1:$1/healthz" >/dev/null 2>&1; }
start_node node1; NODE1=$NODE; SEALPOST_PID=$NODE1
for _ in $(seq 1 150); do healthy $BACKEND_PORT && break; sleep 0.2; done
healthy $BACKEND_PORT || { cat "$WORK/node1.log"; fail "the first node did not start on PostgreSQL"; }
start_node node2 SEALPOST_HTTP_ADDR=127.0.0.1:$BACKEND2_PORT SEALPOST_SMTP_ADDR=127.0.0.1:$SMTP2_PORT; NODE2=$NODE
SEALPOST_PID="$NODE1 $NODE2"
for _ in $(seq 1 150); do healthy $BACKEND2_PORT && break; sleep 0.2; done
healthy $BACKEND2_PORT || { cat "$WORK/node2.log"; fail "the second node did not start on PostgreSQL"; }
# The shipped file with its second server line, and a log of which node
# answered each request.
sed -i "s/# server 10.0.0.12:3000 /server 127.0.0.1:$BACKEND2_PORT /" "$WORK/nginx/sealpost.conf"
grep -q "server 127.0.0.1:$BACKEND2_PORT " "$WORK/nginx/sealpost.conf" || fail "deploy/nginx/sealpost.conf has no second server line to uncomment"
sed -i "s|access_log off;|log_format node '\$upstream_addr \$status \$request_method'; access_log $WORK/nginx/access.log node;|" "$WORK/nginx/nginx.conf"
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" || { cat "$WORK/nginx/error.log" || true; fail "nginx did not start in front of two nodes"; }

rm -f "$WORK"/internet/*
sendmail -C "$PF/etc" -f alice@corp.example bob@gmail.example <<EOF
From: Alice <alice@corp.example>
To: bob@gmail.example
Subject: [secure] Numbers for two nodes
Message-ID: <deploy-two-$$@corp.example>

The numbers, again.
EOF
wait_for_files "$WORK/internet" 1 || { tail -n 20 "$PF/maillog" "$WORK/node1.log" || true; fail "no notification from the two nodes"; }
LINK=$(decoded "$WORK"/internet/* | grep -o "https://localhost:$PROXY_PORT/r/[A-Za-z0-9_-]\{43\}" | head -n 1 || true)
[ -n "$LINK" ] || fail "no link through the load balancer in the notification"
# Bob signs in with a passcode through the load balancer: his requests
# land on either node, and the session, the code and the throttles are
# the database's.
JAR="$WORK/bob.cookies"
bob() { curl -ks -b "$JAR" -c "$JAR" "$@"; }
csrf() { grep -o 'name="csrf" value="[^"]*"' "$1" | head -n 1 | sed 's/.*value="//; s/"$//'; }
bob -o "$WORK/landing.html" "$LINK"
grep -q "alice@corp.example" "$WORK/landing.html" || fail "the landing page through the load balancer does not name the sender"
bob -o "$WORK/code-sent.html" -d "csrf=$(csrf "$WORK/landing.html")&step=passcode" "$LINK"
grep -q 'id="code-sent"' "$WORK/code-sent.html" || fail "no passcode was sent through the load balancer"
wait_for_files "$WORK/internet" 2 || fail "the passcode did not reach the internet"
CODE=$(for f in "$WORK"/internet/*; do decoded "$f"; done | grep -o "Your one-time passcode is [0-9]\{8\}" | grep -o "[0-9]\{8\}" | head -n 1 || true)
[ -n "$CODE" ] || fail "no passcode in the mail"
STATUS=$(bob -o /dev/null -w '%{http_code}' -d "csrf=$(csrf "$WORK/code-sent.html")&step=verify&code=$CODE" "$LINK")
[ "$STATUS" = 303 ] || fail "the passcode did not sign Bob in through the load balancer ($STATUS)"
for i in 1 2 3 4; do
  STATUS=$(bob -o "$WORK/message-$i.html" -w '%{http_code}' "$LINK")
  { [ "$STATUS" = 200 ] && grep -q "The numbers, again." "$WORK/message-$i.html"; } || fail "view $i through the load balancer answered $STATUS without the message"
done
for port in $BACKEND_PORT $BACKEND2_PORT; do
  grep -q "^127.0.0.1:$port 200 GET" "$WORK/nginx/access.log" || fail "the node on $port served no page: $(cat "$WORK/nginx/access.log")"
done
# Revoked from the command line: the next request, on either node, says so.
sealpost_admin message revoke --message-id "deploy-two-$$@corp.example" | grep -q "successfully revoked" || fail "message revoke failed"
: > "$WORK/nginx/access.log"
for i in 1 2; do
  STATUS=$(bob -o /dev/null -w '%{http_code}' "$LINK")
  [ "$STATUS" = 410 ] || fail "request $i after the revocation answered $STATUS, not 410"
done
for port in $BACKEND_PORT $BACKEND2_PORT; do
  grep -q "^127.0.0.1:$port 410 GET" "$WORK/nginx/access.log" || fail "the node on $port did not answer 410 after the revocation: $(cat "$WORK/nginx/access.log")"
done
# One node dies: the other answers every request.
kill -9 $NODE1
wait $NODE1 2>/dev/null || true
SEALPOST_PID=$NODE2
for i in 1 2 3; do
  STATUS=$(bob -o /dev/null -w '%{http_code}' "$LINK")
  [ "$STATUS" = 410 ] || fail "with one node down, request $i answered $STATUS"
done
kill -TERM $NODE2
STATUS=0; wait $NODE2 || STATUS=$?
SEALPOST_PID=""
[ "$STATUS" = 0 ] || { tail -5 "$WORK/node2.log"; fail "the second node exited with $STATUS on SIGTERM"; }
kill "$(cat "$WORK/nginx/nginx.pid")"

echo "deploy test passed: install, systemd-analyze verify, sealpost check, Postfix round trip, HTTPS, SIGHUP, SIGTERM, behind nginx, two nodes on PostgreSQL"
