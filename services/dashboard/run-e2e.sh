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
# consent round trip).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$HERE"

QUERY_API="${PULSE_QUERY_API_URL:-http://127.0.0.1:8000}"
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

curl -fsS "$QUERY_API/healthz" > /dev/null || { echo "query-api is not answering at $QUERY_API (run make up)" >&2; exit 2; }

# 4. the dashboard server on a free port
PORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
LOG="$(mktemp -t dashboard-e2e.XXXXXX.log)"
PULSE_QUERY_API_URL="$QUERY_API" "$PYTHON" -m uvicorn server.app:app --host 127.0.0.1 --port "$PORT" --no-proxy-headers > "$LOG" 2>&1 &
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
  STACK_DASHBOARD_URL="${PULSE_E2E_STACK_DASHBOARD_URL-http://127.0.0.1:${PULSE_DASHBOARD_PORT:-8080}/}" \
  SCREENSHOTS="$HERE/screenshots" node e2e/dist/dashboard.e2e.js
STATUS=$?
set -e
[[ $STATUS -eq 0 ]] || { echo "--- dashboard server log ($LOG)"; tail -n 40 "$LOG"; }
exit $STATUS
