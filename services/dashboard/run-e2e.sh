#!/usr/bin/env bash
# The dashboard's end-to-end tests against the running stack (`make up`, demo data):
# installs npm deps (skipped when node_modules matches package-lock.json), builds the page
# into dist/ (which the stack's dashboard server serves), drives headless Chromium against
# that server, and leaves the stack as it was (a business made for the run stays).
# Exit code: 0 when every check passed; 2 when the stack is not there to test.
#
# People sign in on Keycloak's login page for real: the stack's dashboard is the one
# address the realm sends a sign-in back to (and the ingest services a consent), so the
# tests run against it rather than a server of their own.
#
# Environment: PULSE_E2E_DASHBOARD_URL (default http://127.0.0.1:$PULSE_DASHBOARD_PORT/,
# 8080), PULSE_QUERY_API_URL (default http://127.0.0.1:8000), PULSE_E2E_BUSINESS_ID
# (default 1: a business demo@pulse.local owns), PULSE_E2E_SIM_URL (default
# http://127.0.0.1:$PULSE_PLATFORM_SIM_PORT, 8200: the simulator's control API, which adds
# the business the e2e creates and is read to know its people and posts),
# PULSE_WORKSPACE_URL (default http://127.0.0.1:$PULSE_WORKSPACE_PORT, 8400), Mailpit at
# http://127.0.0.1:$PULSE_MAILPIT_PORT (8025), CHROMIUM (default /usr/bin/chromium).
# The passwords of demo@pulse.local and colleague@pulse.local and of Mailpit's inbox come
# from the environment or else from .run/credentials.env; they are never printed.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$HERE"

DASHBOARD="${PULSE_E2E_DASHBOARD_URL:-http://127.0.0.1:${PULSE_DASHBOARD_PORT:-8080}/}"
QUERY_API="${PULSE_QUERY_API_URL:-http://127.0.0.1:8000}"
SIM_URL="${PULSE_E2E_SIM_URL:-http://127.0.0.1:${PULSE_PLATFORM_SIM_PORT:-8200}}"
WORKSPACE="${PULSE_WORKSPACE_URL:-http://127.0.0.1:${PULSE_WORKSPACE_PORT:-8400}}"
MAILPIT="http://127.0.0.1:${PULSE_MAILPIT_PORT:-8025}"
BUSINESS="${PULSE_E2E_BUSINESS_ID:-1}"
CREDENTIALS="$ROOT/.run/credentials.env"
export PATH="$HOME/.local/bin:$PATH"

# A secret from the environment, or else from the stack's credentials file (never echoed).
secret() {
  local name="$1" value="${!1:-}"
  if [[ -z "$value" && -r "$CREDENTIALS" ]]; then
    value="$(sed -n "s/^${name}=//p" "$CREDENTIALS" | tail -n 1)"
  fi
  [[ -n "$value" ]] || { echo "$name is not set and not in $CREDENTIALS (run make up)" >&2; exit 2; }
  export "$name=$value"
}
secret PULSE_KEYCLOAK_DEMO_PASSWORD
secret PULSE_KEYCLOAK_COLLEAGUE_PASSWORD
secret PULSE_MAILPIT_UI_PASSWORD

# 1. npm deps: `npm ci` only when the lock changed since the last install.
STAMP=node_modules/.package-lock.sha256
LOCK_SUM="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$LOCK_SUM" ]]; then
  npm ci --no-audit --no-fund
  echo "$LOCK_SUM" > "$STAMP"
fi

# 2. build (type checks first): the stack's dashboard serves dist/ from here.
npm run --silent typecheck
npx vite build --logLevel warn
npx tsc -p e2e/tsconfig.json

# 3. the stack is there, and its dashboard signs people in.
curl -fsS "$QUERY_API/healthz" > /dev/null || { echo "query-api is not answering at $QUERY_API (run make up)" >&2; exit 2; }
STATUS="$(curl -sS -o /dev/null -w '%{http_code}' "${DASHBOARD%/}/auth/session" || true)"
[[ "$STATUS" == 401 ]] || { echo "the dashboard at $DASHBOARD does not answer /auth/session with 401 (got $STATUS): is make up's dashboard the one with sign-in?" >&2; exit 2; }
# The dashboard server lists dist/ when it starts: a build with other files than the one
# it started with is not served until it is restarted (make up).
for asset in $(grep -o 'assets/[^"]*' dist/index.html); do
  curl -fsS -o /dev/null "${DASHBOARD%/}/$asset" \
    || { echo "the dashboard at $DASHBOARD does not serve $asset of the page just built: restart it (make up), then run again" >&2; exit 2; }
done
curl -fsS -o /dev/null "$SIM_URL/_sim/users" || { echo "the simulator is not answering at $SIM_URL (make up runs it)" >&2; exit 2; }

# 4. the tests
set +e
DASHBOARD_URL="$DASHBOARD" QUERY_API_URL="$QUERY_API" BUSINESS_ID="$BUSINESS" SIM_URL="$SIM_URL" \
  WORKSPACE_URL="$WORKSPACE" MAILPIT_URL="$MAILPIT" \
  SCREENSHOTS="$HERE/screenshots" node e2e/dist/dashboard.e2e.js
STATUS=$?
set -e
exit $STATUS
