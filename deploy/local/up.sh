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
export PULSE_DASHBOARD_URL="$DASHBOARD_URL"
# The demo's businesses belong to the demo user: its subject in the realm, as it signs in.
PULSE_DEMO_USER_ID=$(PULSE_KEYCLOAK_ADMIN_PASSWORD="$PULSE_KEYCLOAK_ADMIN_PASSWORD" \
  python3 "$here/keycloak_admin.py" user-id demo@pulse.local --url "http://127.0.0.1:$KEYCLOAK_PORT") \
  || die "could not read the demo user from Keycloak"
export PULSE_DEMO_USER_ID
export PULSE_WORKSPACE_URL="http://127.0.0.1:${PULSE_WORKSPACE_PORT:-8400}"
export PULSE_WORKSPACE_OPERATOR_TOKEN
export PULSE_REPORTER_URL="http://127.0.0.1:${PULSE_REPORTER_PORT:-8500}"
post_id=$(cd "$ROOT" && PULSE_DATABASE_URL="$(app_database_url)" uv run --frozen --quiet python deploy/local/demo.py \
  --sim "http://127.0.0.1:${PULSE_PLATFORM_SIM_PORT:-8200}" --report-to demo@pulse.local) \
  || die "demo data did not come through the pipeline (see $LOGS/ingest-*.log, $LOGS/aggregator.log)"
q=${PULSE_QUERY_API_PORT:-8000}
cat <<TXT

  Pulse is up ($((SECONDS - started)) s).

  dashboard        $DASHBOARD_URL   (sign in as the demo user below; it owns the demo's businesses)
                   demo@pulse.local  password $PULSE_KEYCLOAK_DEMO_PASSWORD
                   (also colleague@pulse.local, a member of nothing yet: invite them from Team; PULSE_KEYCLOAK_COLLEAGUE_PASSWORD)
  mail             http://127.0.0.1:$MAILPIT_PORT   (Mailpit: invites arrive here; user pulse: PULSE_MAILPIT_UI_PASSWORD)
  query-api        http://127.0.0.1:$q/docs   (OpenAPI)
                   from a script: create a personal API token in the dashboard's Team view, then
                   TOKEN=\$(curl -s -X POST $DASHBOARD_URL/workspace/token -H 'content-type: application/json' \\
                     -d '{"api_token": "pulse_pat_..."}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
                   curl -H "Authorization: Bearer \$TOKEN" "http://127.0.0.1:$q/api/v1/analytics/overview?business_id=1"
                   (a demo post: /api/v1/analytics/posts/$post_id)
  aggregator       http://127.0.0.1:${PULSE_AGGREGATOR_PORT:-8100}/metrics
  ingest           http://127.0.0.1:${PULSE_INGEST_LINKEDIN_PORT:-8101}/readyz (linkedin)  :${PULSE_INGEST_TWITTER_PORT:-8102} (twitter)  :${PULSE_INGEST_META_PORT:-8103} (meta)
  platform sim     http://127.0.0.1:${PULSE_PLATFORM_SIM_PORT:-8200}/_sim/population  (the APIs the ingest services poll)
  sign-in          $KEYCLOAK_ISSUER/account   (Keycloak, realm pulse; admin console: http://127.0.0.1:$KEYCLOAK_PORT/admin)
  workspace        http://127.0.0.1:${PULSE_WORKSPACE_PORT:-8400}/.well-known/jwks.json   (members, invites, tokens; SMTP 127.0.0.1:$SMTP_PORT)
  reporter         http://127.0.0.1:${PULSE_REPORTER_PORT:-8500}/readyz   (scheduled reports and alerts: they arrive in the mail above)
  Kafka            127.0.0.1:$KAFKA_PORT    PostgreSQL 127.0.0.1:$PG_PORT (db $PG_DATABASE)    Redis 127.0.0.1:$REDIS_PORT
  logs             $LOGS/
  credentials      $CREDENTIALS   (generated; each service and server has its own; the names above are in it)

  make down        stops it all

TXT
