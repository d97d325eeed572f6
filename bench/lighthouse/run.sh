#!/usr/bin/env bash
# make bench's Lighthouse run: the overview of `make up`'s dashboard on Lighthouse's mobile
# profile (overview.mjs). Starts the stack when it is not up (deploy/local/up.sh is
# idempotent), installs Lighthouse here once per package-lock.json, reads the demo user's
# password from the stack's credentials (never printed), and keeps the output in
# bench/last-lighthouse-run.txt.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$HERE"

bash "$ROOT/deploy/local/up.sh" > /dev/null 2>&1 || { echo "make up failed: run it for its output" >&2; exit 2; }
LOCK_SUM="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ "$(cat node_modules/.package-lock.sha256 2>/dev/null)" != "$LOCK_SUM" ]]; then
  npm ci --no-audit --no-fund --loglevel=error > /dev/null
  echo "$LOCK_SUM" > node_modules/.package-lock.sha256
fi
if [[ -z "${PULSE_KEYCLOAK_DEMO_PASSWORD:-}" ]]; then
  PULSE_KEYCLOAK_DEMO_PASSWORD="$(sed -n 's/^PULSE_KEYCLOAK_DEMO_PASSWORD=//p' "$ROOT/.run/credentials.env" | tail -n 1)"
  export PULSE_KEYCLOAK_DEMO_PASSWORD
fi
export PULSE_DASHBOARD_URL="${PULSE_DASHBOARD_URL:-http://127.0.0.1:${PULSE_DASHBOARD_PORT:-8080}}"
node overview.mjs | tee "$ROOT/bench/last-lighthouse-run.txt"
