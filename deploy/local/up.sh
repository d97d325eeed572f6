#!/usr/bin/env bash
# `make up`: infrastructure, migrations, every service and demo data, then where to look.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
here="$(dirname "${BASH_SOURCE[0]}")"
started=$SECONDS

bash "$here/infra.sh" up
bash "$here/services.sh" start
load_credentials

log "demo data: the simulator's businesses connected, its posts published and polled"
# The demo connects the accounts through each ingest service's OAuth flow, coming back to
# the dashboard's Connections page (ports as services.sh gave them).
export PULSE_INGEST_LINKEDIN_URL="http://127.0.0.1:${PULSE_INGEST_LINKEDIN_PORT:-8101}"
export PULSE_INGEST_TWITTER_URL="http://127.0.0.1:${PULSE_INGEST_TWITTER_PORT:-8102}"
export PULSE_INGEST_META_URL="http://127.0.0.1:${PULSE_INGEST_META_PORT:-8103}"
export PULSE_DASHBOARD_URL="http://127.0.0.1:${PULSE_DASHBOARD_PORT:-8080}"
post_id=$(cd "$ROOT" && PULSE_DATABASE_URL="$(app_database_url)" uv run --frozen --quiet python deploy/local/demo.py \
  --sim "http://127.0.0.1:${PULSE_PLATFORM_SIM_PORT:-8200}") \
  || die "demo data did not come through the pipeline (see $LOGS/ingest-*.log, $LOGS/aggregator.log)"

token=$(cd "$ROOT" && PULSE_DATABASE_URL="$(app_database_url)" uv run --frozen --quiet pulse token \
  --business-id 1 --user demo@pulse.local 2>/dev/null | tail -1) || die "could not mint a demo token"
q=${PULSE_QUERY_API_PORT:-8000}
cat <<TXT

  Pulse is up ($((SECONDS - started)) s).

  dashboard        http://127.0.0.1:${PULSE_DASHBOARD_PORT:-8080}   (sign in with the token below; business 1)
  query-api        http://127.0.0.1:$q/docs   (OpenAPI)
  overview         curl -H "Authorization: Bearer \$TOKEN" "http://127.0.0.1:$q/api/v1/analytics/overview?business_id=1"
  a demo post      curl -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:$q/api/v1/analytics/posts/$post_id
  export TOKEN=$token
                   (demo@pulse.local, member of business 1; more: bash deploy/local/pulse.sh token --business-id N)
  aggregator       http://127.0.0.1:${PULSE_AGGREGATOR_PORT:-8100}/metrics
  ingest           http://127.0.0.1:${PULSE_INGEST_LINKEDIN_PORT:-8101}/readyz (linkedin)  :${PULSE_INGEST_TWITTER_PORT:-8102} (twitter)  :${PULSE_INGEST_META_PORT:-8103} (meta)
  platform sim     http://127.0.0.1:${PULSE_PLATFORM_SIM_PORT:-8200}/_sim/population  (the APIs the ingest services poll)
  sign-in          $KEYCLOAK_ISSUER/account   (Keycloak, realm pulse; admin console: http://127.0.0.1:$KEYCLOAK_PORT/admin)
                   demo@pulse.local  password $PULSE_KEYCLOAK_DEMO_PASSWORD   (also colleague@pulse.local: PULSE_KEYCLOAK_COLLEAGUE_PASSWORD)
  mail             http://127.0.0.1:$MAILPIT_PORT   (Mailpit's inbox, user pulse: PULSE_MAILPIT_UI_PASSWORD)   SMTP 127.0.0.1:$SMTP_PORT (user pulse: PULSE_MAILPIT_SMTP_PASSWORD)
  Kafka            127.0.0.1:$KAFKA_PORT    PostgreSQL 127.0.0.1:$PG_PORT (db $PG_DATABASE)    Redis 127.0.0.1:$REDIS_PORT
  logs             $LOGS/
  credentials      $CREDENTIALS   (generated; each service and server has its own; the names above are in it)

  make down        stops it all

TXT
