# Sourced by every deploy/local script: paths, ports and small helpers.
# Every port and password can be overridden from the environment.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN="${PULSE_RUN_DIR:-$ROOT/.run}"
LOGS="$RUN/logs"

KAFKA_PORT="${PULSE_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${PULSE_KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP="${PULSE_KAFKA_HEAP:-512m}"
PG_PORT="${PULSE_PG_PORT:-5432}"
PG_SUPERUSER_PASSWORD="${PULSE_PG_SUPERUSER_PASSWORD:-postgres}"
PG_APP_USER="${PULSE_PG_APP_USER:-pulse}"
PG_APP_PASSWORD="${PULSE_PG_APP_PASSWORD:-pulse}"
PG_READER_USER="${PULSE_PG_READER_USER:-pulse_reader}"
PG_READER_PASSWORD="${PULSE_PG_READER_PASSWORD:-pulse_reader}"
# query-api's role: the longest a statement may run, the most temp files a session may write.
PG_READER_STATEMENT_TIMEOUT="${PULSE_PG_READER_STATEMENT_TIMEOUT:-10s}"
PG_READER_TEMP_FILE_LIMIT="${PULSE_PG_READER_TEMP_FILE_LIMIT:-512MB}"
PG_INGEST_USER="${PULSE_PG_INGEST_USER:-pulse_ingest}"
PG_INGEST_PASSWORD="${PULSE_PG_INGEST_PASSWORD:-pulse_ingest}"
PG_DATABASE="${PULSE_PG_DATABASE:-pulse}"
REDIS_PORT="${PULSE_REDIS_PORT:-6379}"

# The local stack is the development environment, said explicitly: unset means production,
# which refuses the development secrets published in this repository.
export PULSE_ENVIRONMENT="${PULSE_ENVIRONMENT:-dev}"
export UV_PYTHON_DOWNLOADS=never
export PATH="$HOME/.local/bin:$PATH"

mkdir -p "$RUN" "$LOGS"

log() { printf '\033[1;36m[pulse]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[pulse] %s\033[0m\n' "$*" >&2; exit 1; }

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# True when the pid in file $1 is a live process.
pid_alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [[ -n "$d" ]] || die "PostgreSQL server binaries not found: run deploy/local/install.sh"
  echo "$d"
}

app_database_url() {
  echo "postgresql+asyncpg://$PG_APP_USER:$PG_APP_PASSWORD@127.0.0.1:$PG_PORT/${1:-$PG_DATABASE}"
}
ingest_database_url() {
  echo "postgresql+asyncpg://$PG_INGEST_USER:$PG_INGEST_PASSWORD@127.0.0.1:$PG_PORT/${1:-$PG_DATABASE}"
}
reader_database_url() {
  echo "postgresql+asyncpg://$PG_READER_USER:$PG_READER_PASSWORD@127.0.0.1:$PG_PORT/${1:-$PG_DATABASE}"
}
