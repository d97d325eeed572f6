#!/usr/bin/env bash
# PostgreSQL from Debian's packages, run from .run/pg on its default port (5432), plus
# Pulse's roles and database. Usage: postgres.sh start|stop|status|createdb NAME
#   - the application role ($PG_APP_USER) owns the database and its schema; not a superuser
#   - the reader role ($PG_READER_USER) is granted SELECT only (by the migrations), and sees
#     analytics rows only of the business its transaction sets (row-level security, 0008)
#   - the superuser (postgres) and every role get generated passwords (load_credentials);
#     a data directory initialised when the superuser's password was "postgres" is moved
#     to the generated one
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

D="$RUN/pg"
PGBIN="$(pg_bin)"
load_credentials

as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

psql_admin() {
  PGPASSWORD="$PG_SUPERUSER_PASSWORD" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"
}

# The superuser's password is the generated one; a server set up before passwords were
# generated has "postgres": move it to the generated one (once; idempotent).
ensure_superuser_password() {
  psql_admin -d postgres -c 'SELECT 1' > /dev/null 2>&1 && return
  if PGPASSWORD=postgres "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
      -c 'SELECT 1' > /dev/null 2>&1; then
    log "PostgreSQL: replacing the superuser's password 'postgres' with the generated one"
    PGPASSWORD=postgres "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" \
      -U postgres -d postgres <<< "ALTER ROLE postgres PASSWORD '$PG_SUPERUSER_VERIFIER';" \
      || die "could not set the superuser's password"
    return
  fi
  die "PostgreSQL on :$PG_PORT refuses the superuser's password from $CREDENTIALS"
}

answering() { "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }

start() {
  if answering; then
    log "PostgreSQL already running on 127.0.0.1:$PG_PORT"
  else
    mkdir -p "$D/data"
    [[ $(id -u) -eq 0 ]] && chown -R postgres:postgres "$D"
    chmod 700 "$D/data"
    if [[ ! -s "$D/data/PG_VERSION" ]]; then
      log "initialising PostgreSQL in $D/data"
      local pwfile="$D/.pw"
      (umask 077 && printf '%s\n' "$PG_SUPERUSER_PASSWORD" > "$pwfile")
      [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$pwfile"
      as_postgres "$PGBIN/initdb" -D "$D/data" -U postgres --pwfile="$pwfile" \
        --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
        > "$D/initdb.log" 2>&1 || { cat "$D/initdb.log" >&2; die "initdb failed"; }
      rm -f "$pwfile"
    fi
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    # TCP only (no Unix socket: its path would depend on where the repository lies).
    # Durability trade-offs are for a disposable local database; production sets its own.
    # Room for the aggregator's writes (as in docker-compose.yml): WAL buffers and a WAL
    # size that let checkpoints come on their timer rather than every gigabyte (each one
    # makes the next write of every page carry the whole page), and buffers that hold the
    # posts, their analytics and the day rows.
    as_postgres "$PGBIN/pg_ctl" -D "$D/data" -l "$D/server.log" -w -t 60 -o \
      "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='' \
       -c synchronous_commit=off -c max_connections=200 -c shared_buffers=1GB \
       -c wal_buffers=64MB -c max_wal_size=8GB" start \
      > /dev/null || { tail -20 "$D/server.log" >&2; die "PostgreSQL did not start"; }
  fi
  setup_roles
}

# Roles get SCRAM verifiers, never a password: neither the server's log nor an error
# message can show one.
setup_roles() {
  local verifiers
  verifiers="$(python3 "$ROOT/deploy/local/credentials.py" pg-verifiers "$CREDENTIALS")" \
    || die "could not derive the roles' password verifiers"
  eval "$verifiers"
  ensure_superuser_password
  psql_admin -d postgres <<SQL
SELECT format('CREATE ROLE %I LOGIN', '$PG_APP_USER')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_APP_USER') \gexec
SELECT format('CREATE ROLE %I LOGIN', '$PG_READER_USER')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_READER_USER') \gexec
SELECT format('CREATE ROLE %I LOGIN', '$PG_INGEST_USER')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_INGEST_USER') \gexec
SELECT format('CREATE ROLE %I LOGIN', '$PG_WORKSPACE_USER')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_WORKSPACE_USER') \gexec
SELECT format('CREATE ROLE %I LOGIN', '$PG_REPORTER_USER')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_REPORTER_USER') \gexec
-- The test suite creates and drops its own databases, so the app role may create them.
ALTER ROLE "$PG_APP_USER" WITH LOGIN NOSUPERUSER CREATEDB NOCREATEROLE PASSWORD '$PG_APP_VERIFIER';
ALTER ROLE "$PG_READER_USER" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$PG_READER_VERIFIER';
-- query-api's bounds: no statement runs away, no transaction idles, temp files are capped
-- (temp_file_limit only a superuser may set; the export raises the first two for itself).
ALTER ROLE "$PG_READER_USER" SET statement_timeout = '$PG_READER_STATEMENT_TIMEOUT';
ALTER ROLE "$PG_READER_USER" SET idle_in_transaction_session_timeout = '30s';
ALTER ROLE "$PG_READER_USER" SET temp_file_limit = '$PG_READER_TEMP_FILE_LIMIT';
-- The ingest services: connected accounts only (granted by the migrations).
ALTER ROLE "$PG_INGEST_USER" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$PG_INGEST_VERIFIER';
-- The workspace service: the teams' tables only (granted by the migrations).
ALTER ROLE "$PG_WORKSPACE_USER" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$PG_WORKSPACE_VERIFIER';
ALTER ROLE "$PG_WORKSPACE_USER" SET statement_timeout = '5s';
ALTER ROLE "$PG_WORKSPACE_USER" SET idle_in_transaction_session_timeout = '30s';
-- The reporter: its schedules, deliveries and alerts, and businesses read (granted by the
-- migrations); it holds no transaction open while it mails or renders.
ALTER ROLE "$PG_REPORTER_USER" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$PG_REPORTER_VERIFIER';
ALTER ROLE "$PG_REPORTER_USER" SET statement_timeout = '5s';
ALTER ROLE "$PG_REPORTER_USER" SET idle_in_transaction_session_timeout = '30s';
-- Its locale: DATABASE_LOCALE in pulse_shared/db.py (text compared byte by byte).
SELECT format('CREATE DATABASE %I OWNER %I TEMPLATE template0 ENCODING %L LC_COLLATE %L LC_CTYPE %L',
              '$PG_DATABASE', '$PG_APP_USER', 'UTF8', 'C', 'C.UTF-8')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DATABASE') \gexec
SQL
}

stop() {
  if [[ -s "$D/data/postmaster.pid" ]]; then
    log "stopping PostgreSQL"
    as_postgres "$PGBIN/pg_ctl" -D "$D/data" -m fast -w stop > /dev/null || true
  fi
}

status() { answering && echo "postgres: up on $PG_PORT" || echo "postgres: down"; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: postgres.sh start|stop|status" ;;
esac
