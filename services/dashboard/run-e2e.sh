#!/usr/bin/env bash
# The dashboard's end-to-end tests against the running stack (`make up`, demo data):
# installs npm deps (skipped when node_modules matches package-lock.json), builds the page,
# starts the dashboard server on a free port, drives headless Chromium, stops everything.
# Exit code: 0 when every check passed.
#
# Environment: PULSE_QUERY_API_URL (default http://127.0.0.1:8000), PULSE_E2E_BUSINESS_ID
# (default 1), PULSE_TOKEN (default: one made with `deploy/local/pulse.sh token`), CHROMIUM
# (default /usr/bin/chromium), PYTHON (default the workspace venv's),
# PULSE_E2E_STACK_DASHBOARD_URL (default http://127.0.0.1:$PULSE_DASHBOARD_PORT/, 8080: the stack's own dashboard,
# serving the dist/ built here, where a platform's consent may come back to; "" skips the
# consent round trips), PULSE_E2E_FRESH_BUSINESS_ID (default: one made for this run, from
# the clock in ms; the simulator is asked to simulate it too, and a LinkedIn account is
# connected to it and disconnected again), PULSE_E2E_SIM_URL (default
# http://127.0.0.1:$PULSE_PLATFORM_SIM_PORT, 8200: the simulator's control API, which adds
# that business and is read to know its people and posts).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$HERE"

QUERY_API="${PULSE_QUERY_API_URL:-http://127.0.0.1:8000}"
SIM_URL="${PULSE_E2E_SIM_URL:-http://127.0.0.1:${PULSE_PLATFORM_SIM_PORT:-8200}}"
BUSINESS="${PULSE_E2E_BUSINESS_ID:-1}"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
export PATH="$HOME/.local/bin:$PATH"

# 1. npm deps: `npm ci` only when the lock changed since the last install.
STAMP=node_modules/.package-lock.sha256
LOCK_SUM="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$LOCK_SUM" ]]; then
  npm ci --no-audit --no-fund
  echo "$LOCK_SUM" > "$STAMP"
fi

# 2. build (type checks first)
npm run --silent typecheck
npx vite build --logLevel warn
npx tsc -p e2e/tsconfig.json

# 3. a token for the demo business
if [[ -z "${PULSE_TOKEN:-}" ]]; then
  PULSE_TOKEN="$(bash "$ROOT/deploy/local/pulse.sh" token --business-id "$BUSINESS" --user e2e@pulse.local 2>/dev/null | tail -1)"
fi
export PULSE_TOKEN

# 3b. a business that exists only for this run, far above the demo's (1, 2, 3 ...): the
# e2e connects an account to it, which must change no one else's numbers. `token` creates
# it and makes the e2e user its member.
FRESH_BUSINESS="${PULSE_E2E_FRESH_BUSINESS_ID:-$(date +%s%3N)}"
FRESH_TOKEN="$(bash "$ROOT/deploy/local/pulse.sh" token --business-id "$FRESH_BUSINESS" --user e2e@pulse.local 2>/dev/null | tail -1)" \
  || { echo "could not make business $FRESH_BUSINESS and its member's token (deploy/local/pulse.sh token)" >&2; exit 2; }
export FRESH_TOKEN
# The simulator simulates it too: its LinkedIn organization (and X, Facebook, Instagram
# accounts) with past posts never announced to Pulse, and the person who administers them.
curl -fsS -X POST "$SIM_URL/_sim/businesses" -H 'content-type: application/json' \
  -d "{\"business_id\": $FRESH_BUSINESS}" > /dev/null \
  || { echo "the simulator at $SIM_URL could not add business $FRESH_BUSINESS (POST /_sim/businesses; make up runs it)" >&2; exit 2; }

curl -fsS "$QUERY_API/healthz" > /dev/null || { echo "query-api is not answering at $QUERY_API (run make up)" >&2; exit 2; }

# 4. the dashboard server on a free port, in front of the stack's query-api and ingest
# services; its address is not one they may send a consent back to (a real refusal).
PORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
LOG="$(mktemp -t dashboard-e2e.XXXXXX.log)"
PULSE_QUERY_API_URL="$QUERY_API" \
  PULSE_INGEST_LINKEDIN_URL="http://127.0.0.1:${PULSE_INGEST_LINKEDIN_PORT:-8101}" \
  PULSE_INGEST_TWITTER_URL="http://127.0.0.1:${PULSE_INGEST_TWITTER_PORT:-8102}" \
  PULSE_INGEST_META_URL="http://127.0.0.1:${PULSE_INGEST_META_PORT:-8103}" \
  "$PYTHON" -m uvicorn server.app:app --host 127.0.0.1 --port "$PORT" --no-proxy-headers > "$LOG" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" > /dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$LOG" >&2; exit 2; }
  sleep 0.2
done

# 5. the tests
set +e
DASHBOARD_URL="http://127.0.0.1:$PORT/" QUERY_API_URL="$QUERY_API" BUSINESS_ID="$BUSINESS" \
  FRESH_BUSINESS_ID="$FRESH_BUSINESS" SIM_URL="$SIM_URL" \
  STACK_DASHBOARD_URL="${PULSE_E2E_STACK_DASHBOARD_URL-http://127.0.0.1:${PULSE_DASHBOARD_PORT:-8080}/}" \
  SCREENSHOTS="$HERE/screenshots" node e2e/dist/dashboard.e2e.js
STATUS=$?
set -e
[[ $STATUS -eq 0 ]] || { echo "--- dashboard server log ($LOG)"; tail -n 40 "$LOG"; }
exit $STATUS
