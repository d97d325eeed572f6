#!/usr/bin/env bash
# Runs Pulse's services as local background processes (logs in .run/logs), as the
# unprivileged user pulse when started by root. Each service connects with credentials of
# its own (pulse_shared.permissions): its PostgreSQL role, its Redis and Kafka users.
# Usage: services.sh start|stop|status
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PIDS="$RUN/pids"
mkdir -p "$PIDS"
load_credentials

# name  module  port (the simulator first: the ingest services poll it)
SIM_PORT=${PULSE_PLATFORM_SIM_PORT:-8200}
WORKSPACE_PORT=${PULSE_WORKSPACE_PORT:-8400}
REPORTER_PORT=${PULSE_REPORTER_PORT:-8500}
SERVICES=(
  "platform-sim pulse_platform_sim.app:app $SIM_PORT"
  "aggregator pulse_aggregator.app:app ${PULSE_AGGREGATOR_PORT:-8100}"
  "workspace pulse_workspace.app:app $WORKSPACE_PORT"
  "query-api pulse_query_api.app:app ${PULSE_QUERY_API_PORT:-8000}"
  "reporter pulse_reporter.app:app $REPORTER_PORT"
  "dashboard server.app:app ${PULSE_DASHBOARD_PORT:-8080}"
  "ingest-linkedin pulse_ingest_linkedin.app:app ${PULSE_INGEST_LINKEDIN_PORT:-8101}"
  "ingest-twitter pulse_ingest_twitter.app:app ${PULSE_INGEST_TWITTER_PORT:-8102}"
  "ingest-meta pulse_ingest_meta.app:app ${PULSE_INGEST_META_PORT:-8103}"
)

export PULSE_DATABASE_READER_ROLE="$PG_READER_USER"
# Every service that takes a member's token checks it against the workspace's keys: the
# workspace issues Pulse's access tokens (to the dashboard's sessions, `pulse token`, and in
# exchange for personal API tokens).
export PULSE_WORKSPACE_ISSUER="pulse-workspace"
export PULSE_JWT_ISSUER="$PULSE_WORKSPACE_ISSUER"
export PULSE_JWT_JWKS_URL="http://127.0.0.1:$WORKSPACE_PORT/.well-known/jwks.json"
export PULSE_WORKSPACE_URL="http://127.0.0.1:$WORKSPACE_PORT"
# Sign-in: the local Keycloak's realm (deploy/local/keycloak.sh); the dashboard's server is
# its OpenID client, the workspace checks the ID tokens the server hands it.
export PULSE_OIDC_ISSUER="$KEYCLOAK_ISSUER"
export PULSE_OIDC_CLIENT_ID="pulse-dashboard"
export PULSE_DASHBOARD_URL="$DASHBOARD_URL"
export PULSE_DASHBOARD_PUBLIC_URL="$DASHBOARD_URL"
export PULSE_LOG_JSON="${PULSE_LOG_JSON:-true}"

# The platform APIs are the simulator's; its apps' secrets are fixed dev values that the
# ingest services verify its webhooks with (real APIs: PULSE_API_BASE_URL and real secrets).
export PULSE_API_BASE_URL="${PULSE_API_BASE_URL:-http://127.0.0.1:$SIM_PORT}"
export PULSE_SIM_TWITTER_CONSUMER_SECRET="${PULSE_SIM_TWITTER_CONSUMER_SECRET:-dev-x-consumer-secret}"
export PULSE_SIM_LINKEDIN_CLIENT_SECRET="${PULSE_SIM_LINKEDIN_CLIENT_SECRET:-dev-linkedin-client-secret}"
export PULSE_SIM_META_APP_SECRET="${PULSE_SIM_META_APP_SECRET:-dev-meta-app-secret}"
export PULSE_SIM_META_VERIFY_TOKEN="${PULSE_SIM_META_VERIFY_TOKEN:-dev-meta-verify-token}"
export PULSE_SIM_WEBHOOK_TARGETS_TWITTER="[\"http://127.0.0.1:${PULSE_INGEST_TWITTER_PORT:-8102}/webhooks\"]"
export PULSE_SIM_WEBHOOK_TARGETS_LINKEDIN="[\"http://127.0.0.1:${PULSE_INGEST_LINKEDIN_PORT:-8101}/webhooks\"]"
export PULSE_SIM_WEBHOOK_TARGETS_META="[\"http://127.0.0.1:${PULSE_INGEST_META_PORT:-8103}/webhooks\"]"
# Connecting accounts: each ingest service is registered with the simulator as its
# platform's OAuth app (fixed dev credentials, like the webhook secrets above), its
# /connect/callback the redirect URI registered there; the browser returns to the
# dashboard's Connections page.
LINKEDIN_CALLBACK="http://127.0.0.1:${PULSE_INGEST_LINKEDIN_PORT:-8101}/connect/callback"
TWITTER_CALLBACK="http://127.0.0.1:${PULSE_INGEST_TWITTER_PORT:-8102}/connect/callback"
META_CALLBACK="http://127.0.0.1:${PULSE_INGEST_META_PORT:-8103}/connect/callback"
export PULSE_SIM_LINKEDIN_CLIENT_ID="${PULSE_SIM_LINKEDIN_CLIENT_ID:-dev-linkedin-client}"
export PULSE_SIM_TWITTER_CLIENT_ID="${PULSE_SIM_TWITTER_CLIENT_ID:-dev-x-client}"
export PULSE_SIM_TWITTER_CLIENT_SECRET="${PULSE_SIM_TWITTER_CLIENT_SECRET:-dev-x-client-secret}"
export PULSE_SIM_META_APP_ID="${PULSE_SIM_META_APP_ID:-dev-meta-app}"
export PULSE_SIM_LINKEDIN_REDIRECT_URIS="[\"$LINKEDIN_CALLBACK\"]"
export PULSE_SIM_TWITTER_REDIRECT_URIS="[\"$TWITTER_CALLBACK\"]"
export PULSE_SIM_META_REDIRECT_URIS="[\"$META_CALLBACK\"]"
export PULSE_OAUTH_WEB_BASE_URL="${PULSE_OAUTH_WEB_BASE_URL:-http://127.0.0.1:$SIM_PORT}"
export PULSE_OAUTH_TOKEN_BASE_URL="${PULSE_OAUTH_TOKEN_BASE_URL:-http://127.0.0.1:$SIM_PORT}"
export PULSE_OAUTH_RETURN_URLS="[\"http://127.0.0.1:${PULSE_DASHBOARD_PORT:-8080}/connections\"]"
# One signed delivery a minute per platform, so webhooks are part of the demo.
export PULSE_SIM_WEBHOOK_INTERVAL_S="${PULSE_SIM_WEBHOOK_INTERVAL_S:-60}"

# The dashboard's server proxies /api/ to query-api and serves the built page; its
# X-Forwarded-For names the browser's address, which query-api's rate limits then count.
export PULSE_TRUSTED_PROXIES='["127.0.0.1"]'
export PULSE_QUERY_API_URL="http://127.0.0.1:${PULSE_QUERY_API_PORT:-8000}"
# ... and its /connect/{service}/ proxy to the ingest services.
export PULSE_INGEST_LINKEDIN_URL="http://127.0.0.1:${PULSE_INGEST_LINKEDIN_PORT:-8101}"
export PULSE_INGEST_TWITTER_URL="http://127.0.0.1:${PULSE_INGEST_TWITTER_PORT:-8102}"
export PULSE_INGEST_META_URL="http://127.0.0.1:${PULSE_INGEST_META_PORT:-8103}"
# ... and its /reporter/ relay to the reporter.
export PULSE_REPORTER_URL="http://127.0.0.1:$REPORTER_PORT"

app_dir_for() {
  # The dashboard's server is a module of its folder, not a workspace package.
  if [[ "$1" == dashboard ]]; then echo "--app-dir $ROOT/services/dashboard"; fi
}

webhook_env_for() {
  case "$1" in
    ingest-twitter) echo "PULSE_WEBHOOK_SECRET=$PULSE_SIM_TWITTER_CONSUMER_SECRET" ;;
    ingest-linkedin) echo "PULSE_WEBHOOK_SECRET=$PULSE_SIM_LINKEDIN_CLIENT_SECRET" ;;
    ingest-meta) echo "PULSE_WEBHOOK_SECRET=$PULSE_SIM_META_APP_SECRET PULSE_WEBHOOK_VERIFY_TOKEN=$PULSE_SIM_META_VERIFY_TOKEN" ;;
  esac
}

# Each ingest service's OAuth app at the simulator (values without spaces: split by words).
oauth_env_for() {
  case "$1" in
    ingest-twitter) echo "PULSE_OAUTH_CLIENT_ID=$PULSE_SIM_TWITTER_CLIENT_ID PULSE_OAUTH_CLIENT_SECRET=$PULSE_SIM_TWITTER_CLIENT_SECRET PULSE_OAUTH_REDIRECT_URI=$TWITTER_CALLBACK" ;;
    ingest-linkedin) echo "PULSE_OAUTH_CLIENT_ID=$PULSE_SIM_LINKEDIN_CLIENT_ID PULSE_OAUTH_CLIENT_SECRET=$PULSE_SIM_LINKEDIN_CLIENT_SECRET PULSE_OAUTH_REDIRECT_URI=$LINKEDIN_CALLBACK" ;;
    ingest-meta) echo "PULSE_OAUTH_CLIENT_ID=$PULSE_SIM_META_APP_ID PULSE_OAUTH_CLIENT_SECRET=$PULSE_SIM_META_APP_SECRET PULSE_OAUTH_REDIRECT_URI=$META_CALLBACK" ;;
  esac
}

# On this one machine every browser, the demo and the e2e come from 127.0.0.1: one address.
# The per-address limits of production (one person's browser) would make them all one
# person, so the workspace's, the reporter's and the dashboard's are a hundred people's here.
local_limits_for() {
  case "$1" in
    workspace|reporter|dashboard) echo "PULSE_RATE_LIMIT_ADDRESS=60000/60 PULSE_RATE_LIMIT_AUTH_FAILURES=3000/60 PULSE_RATE_LIMIT_SIGN_IN=3000/60" ;;
  esac
}

# The secrets a service needs beyond its principals' (values without spaces).
secrets_env_for() {
  case "$1" in
    workspace) echo "PULSE_WORKSPACE_SIGNING_KEYS=$PULSE_WORKSPACE_SIGNING_KEYS PULSE_WORKSPACE_OPERATOR_TOKEN=$PULSE_WORKSPACE_OPERATOR_TOKEN PULSE_REPORTER_SERVICE_TOKEN=$PULSE_REPORTER_SERVICE_TOKEN PULSE_SMTP_HOST=127.0.0.1 PULSE_SMTP_PORT=$SMTP_PORT PULSE_SMTP_USERNAME=pulse PULSE_SMTP_PASSWORD=$PULSE_MAILPIT_SMTP_PASSWORD PULSE_SMTP_TLS=none PULSE_MAIL_FROM=pulse@pulse.local" ;;
    # Its bearer to the workspace's service route, its unsubscribe links' key; reports and
    # alerts to Mailpit, as the workspace's invites.
    reporter) echo "PULSE_REPORTER_SERVICE_TOKEN=$PULSE_REPORTER_SERVICE_TOKEN PULSE_REPORTER_LINK_KEYS=$PULSE_REPORTER_LINK_KEYS PULSE_SMTP_HOST=127.0.0.1 PULSE_SMTP_PORT=$SMTP_PORT PULSE_SMTP_USERNAME=pulse PULSE_SMTP_PASSWORD=$PULSE_MAILPIT_SMTP_PASSWORD PULSE_SMTP_TLS=none PULSE_MAIL_FROM=pulse@pulse.local" ;;
    dashboard) echo "PULSE_OIDC_CLIENT_SECRET=$PULSE_KEYCLOAK_DASHBOARD_CLIENT_SECRET PULSE_DASHBOARD_SESSION_KEYS=$PULSE_DASHBOARD_SESSION_KEYS" ;;
  esac
}

database_url_for() {
  # query-api reads with the SELECT-only role, the ingest services reach only the connected
  # accounts with theirs, the workspace only the teams' tables, the reporter only its
  # schedules, deliveries and alerts; the aggregator (the one writer of analytics) uses the
  # application role; the dashboard none.
  case "$1" in
    query-api) reader_database_url ;;
    ingest-*) ingest_database_url ;;
    workspace) workspace_database_url ;;
    reporter) reporter_database_url ;;
    dashboard) ;;
    *) app_database_url ;;
  esac
}

# Redis: each service that uses it as its own ACL user; the others not at all.
redis_url_of() {
  case "$1" in
    aggregator|query-api|ingest-*|workspace|reporter|dashboard) redis_url_for "$1" ;;
  esac
}

# Run by root, the services run as pulse, if pulse can run this workspace's Python (a venv
# made from a Python under /root, say pyenv's, it cannot: then they run as root, said so).
service_user() {
  [[ $(id -u) -eq 0 ]] || return 0
  local probe="import uvicorn, pulse_shared, pulse_aggregator, pulse_query_api, pulse_platform_sim, pulse_workspace, pulse_reporter, authlib"
  if (cd / && $(run_as pulse) "$ROOT/.venv/bin/python" -c "$probe" \
      && $(run_as pulse) test -r "$ROOT/services/dashboard/dist/index.html") > /dev/null 2>&1; then
    # Its own bytecode cache: the sources' folders are not its to write.
    mkdir -p "$RUN/pycache-pulse" && chown pulse:pulse "$RUN/pycache-pulse"
    echo pulse
  else
    log "the services run as root: user pulse cannot run $ROOT/.venv/bin/python"
  fi
}

migrate() {
  log "migrating the database"
  (cd "$ROOT" && PULSE_DATABASE_URL="$(app_database_url)" \
    uv run --frozen --quiet alembic -c shared/alembic.ini upgrade head > "$LOGS/migrate.log" 2>&1) \
    || { cat "$LOGS/migrate.log" >&2; die "migrations failed (output above)"; }
}

start_one() {
  local name=$1 module=$2 port=$3 pidfile="$PIDS/$1.pid"
  if pid_alive "$pidfile" && port_open "$port"; then
    if [[ "$pidfile" -nt "$CREDENTIALS" ]]; then
      log "$name already running on :$port"
      return
    fi
    log "restarting $name: it started before the credentials in $CREDENTIALS"
    stop_one "$name"
  fi
  local var="PULSE_${name//-/_}_PORT"
  port_open "$port" && die "port $port is taken by another process; set ${var^^}"
  log "starting $name on :$port${SERVICE_USER:+ as $SERVICE_USER}"
  # Secrets go through the environment (never a command line, which anyone may read).
  (
    cd "$ROOT"
    database_url="$(database_url_for "$name")"
    if [[ -n "$database_url" ]]; then export PULSE_DATABASE_URL="$database_url"; else unset PULSE_DATABASE_URL; fi
    redis_url="$(redis_url_of "$name")"
    if [[ -n "$redis_url" ]]; then export PULSE_REDIS_URL="$redis_url"; else unset PULSE_REDIS_URL; fi
    for pair in $(webhook_env_for "$name") $(oauth_env_for "$name") $(secrets_env_for "$name") \
      $(local_limits_for "$name"); do
      export "${pair?}"
    done
    # Kafka: each service that uses it as its own SCRAM user (the dashboard, the workspace
    # and the reporter do not).
    [[ "$name" == dashboard || "$name" == workspace || "$name" == reporter ]] \
      || export_kafka_user "$name"
    [[ -z "$SERVICE_USER" ]] || export PYTHONPYCACHEPREFIX="$RUN/pycache-$SERVICE_USER"
    # shellcheck disable=SC2046
    exec setsid nohup ${SERVICE_USER:+$(run_as "$SERVICE_USER")} "$ROOT/.venv/bin/uvicorn" "$module" \
      $(app_dir_for "$name") --host 127.0.0.1 --port "$port" --no-access-log --no-proxy-headers
  ) >> "$LOGS/$name.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
}

stop_one() {
  local pidfile="$PIDS/$1.pid"
  if pid_alive "$pidfile"; then
    log "stopping $1"
    kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
    for _ in $(seq 1 50); do pid_alive "$pidfile" || break; sleep 0.2; done
    pid_alive "$pidfile" && kill -KILL "$(cat "$pidfile")"
  fi
  rm -f "$pidfile"
}

wait_healthy() {
  local name=$1 port=$3 deadline=$((SECONDS + 60))
  until curl -fsS "http://127.0.0.1:$port/healthz" > /dev/null 2>&1; do
    pid_alive "$PIDS/$name.pid" || { tail -30 "$LOGS/$name.log" >&2; die "$name exited (log above)"; }
    (( SECONDS < deadline )) || { tail -30 "$LOGS/$name.log" >&2; die "$name not healthy in 60 s"; }
    sleep 0.2
  done
}

start() {
  migrate
  SERVICE_USER="$(service_user)"
  for s in "${SERVICES[@]}"; do start_one $s; done
  for s in "${SERVICES[@]}"; do wait_healthy $s; done
}

stop() {
  for s in "${SERVICES[@]}"; do
    set -- $s
    stop_one "$1"
  done
}

status() {
  for s in "${SERVICES[@]}"; do
    set -- $s
    if curl -fsS "http://127.0.0.1:$3/healthz" > /dev/null 2>&1; then
      echo "$1: up on $3"
    else
      echo "$1: down"
    fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: services.sh start|stop|status" ;;
esac
