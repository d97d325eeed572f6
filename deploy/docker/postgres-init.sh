#!/usr/bin/env bash
# Pulse's roles and database for the postgres image, mounted into
# /docker-entrypoint-initdb.d (see docker-compose.yml). The image runs it once, when it
# initialises an empty data directory, as its own superuser (postgres). The same roles
# as deploy/local/postgres.sh makes on this machine:
#   pulse         the application role (aggregator, migrations): LOGIN, CREATEDB (the test
#                 suite creates its own databases), not a superuser; owns database pulse
#   pulse_reader  the SELECT-only role query-api connects as; LOGIN and nothing else here:
#                 its SELECT grants are made by the migrations (alembic upgrade head), which
#                 also show it analytics rows only of the business its transaction sets
#   pulse_ingest  the ingest services' role: connected_accounts only (granted by the
#                 migrations), nothing of the analytics
#   pulse_workspace  the workspace's role: the teams' tables (members, users, invites, API
#                 tokens, the audit log; granted by the migrations), nothing of the analytics
#   pulse_reporter  the reporter's role: its schedules, deliveries and alerts, and businesses
#                 read (granted by the migrations), nothing of the analytics
# Passwords come from the container's environment, with no default (docker-compose.yml:
# the generated ones of deploy/local/credentials.py).
set -eo pipefail

psql -v ON_ERROR_STOP=1 -X -q \
  --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  --set=app_password="${PULSE_PG_APP_PASSWORD:?}" \
  --set=reader_password="${PULSE_PG_READER_PASSWORD:?}" \
  --set=ingest_password="${PULSE_PG_INGEST_PASSWORD:?}" \
  --set=workspace_password="${PULSE_PG_WORKSPACE_PASSWORD:?}" \
  --set=reporter_password="${PULSE_PG_REPORTER_PASSWORD:?}" <<'SQL'
CREATE ROLE pulse WITH LOGIN NOSUPERUSER CREATEDB NOCREATEROLE PASSWORD :'app_password';
CREATE ROLE pulse_reader WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'reader_password';
CREATE ROLE pulse_ingest WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'ingest_password';
CREATE ROLE pulse_workspace WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'workspace_password';
CREATE ROLE pulse_reporter WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'reporter_password';
-- Its locale: DATABASE_LOCALE in pulse_shared/db.py (text compared byte by byte).
CREATE DATABASE pulse OWNER pulse TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8';
SQL
