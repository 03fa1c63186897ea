#!/usr/bin/env bash
# Installs and starts what the tests need, each only when missing: Debian's
# Chromium, clamav-daemon, postfix, nginx and systemd-analyze, the end2end npm packages, PyPI's oidc-provider-mock
# and schemathesis, and the machine's PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

if [ ! -x /usr/bin/chromium ]; then
  step "installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi

# The antivirus tests start their own clamd with a one-line signature of
# their own (never freshclam, which would download from the internet).
if ! command -v clamd >/dev/null && [ ! -x /usr/sbin/clamd ]; then
  step "installing Debian's clamav-daemon"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq clamav-daemon >/dev/null
fi

# The deployment test (deploy/test.sh) puts Debian's Postfix in front of and
# behind sealpost, in an instance of its own; smtp-sink stands in for the
# internet and the mailbox. systemd-analyze checks the unit file.
if ! command -v postfix >/dev/null && [ ! -x /usr/sbin/postfix ]; then
  step "installing Debian's postfix"
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq postfix >/dev/null
fi
# ... and Debian's nginx in front of sealpost, the other HTTPS set-up
# (deploy/nginx/sealpost.conf); bench/portal.sh measures against it too.
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  step "installing Debian's nginx"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nginx >/dev/null
fi
# ss (iproute2): the deployment test checks its ports are free.
if ! command -v ss >/dev/null; then
  step "installing Debian's iproute2 (for ss)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq iproute2 >/dev/null
fi
if ! command -v systemd-analyze >/dev/null; then
  step "installing Debian's systemd (for systemd-analyze)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq systemd >/dev/null
fi

# A local OpenID Connect provider stands in for Google and Yahoo.
if ! command -v oidc-provider-mock >/dev/null; then
  step "installing oidc-provider-mock from PyPI"
  python3 -m pip install --quiet oidc-provider-mock==0.3.4
fi

# The JSON API is checked against its OpenAPI document.
if ! st --version 2>/dev/null | grep -q "4.32.5"; then
  step "installing schemathesis from PyPI"
  python3 -m pip install --quiet schemathesis==4.32.5
fi

if [ ! -d end2end/node_modules/playwright-core ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  step "installing the end2end npm packages"
  (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
fi

# The tests make their own databases in the machine's PostgreSQL; only the
# default local server is started here, a custom URL is the caller's to run.
if [ -z "${SEALPOST_TEST_POSTGRES_URL:-}" ] && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  step "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -q -h 127.0.0.1 -p 5432 || die "PostgreSQL did not start on 127.0.0.1:5432"
fi
