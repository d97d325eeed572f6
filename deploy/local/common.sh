# Sourced by every deploy/local script: paths, ports and small helpers.
# Every port can be overridden from the environment; passwords are generated (see
# load_credentials below).
set -euo pipefail
# Files the scripts create (logs, the credentials, data) are not for other users: logs 0640.
umask 027

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN="${PULSE_RUN_DIR:-$ROOT/.run}"
LOGS="$RUN/logs"

KAFKA_PORT="${PULSE_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${PULSE_KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP="${PULSE_KAFKA_HEAP:-512m}"
PG_PORT="${PULSE_PG_PORT:-5432}"
PG_APP_USER="${PULSE_PG_APP_USER:-pulse}"
PG_READER_USER="${PULSE_PG_READER_USER:-pulse_reader}"
# query-api's role: the longest a statement may run, the most temp files a session may write.
PG_READER_STATEMENT_TIMEOUT="${PULSE_PG_READER_STATEMENT_TIMEOUT:-10s}"
PG_READER_TEMP_FILE_LIMIT="${PULSE_PG_READER_TEMP_FILE_LIMIT:-512MB}"
PG_INGEST_USER="${PULSE_PG_INGEST_USER:-pulse_ingest}"
PG_WORKSPACE_USER="${PULSE_PG_WORKSPACE_USER:-pulse_workspace}"
PG_REPORTER_USER="${PULSE_PG_REPORTER_USER:-pulse_reporter}"
PG_DATABASE="${PULSE_PG_DATABASE:-pulse}"
REDIS_PORT="${PULSE_REDIS_PORT:-6379}"
# Keycloak, the local OpenID provider (realm pulse); Mailpit, the local SMTP server and its
# web inbox (web page and REST API on one port).
KEYCLOAK_PORT="${PULSE_KEYCLOAK_PORT:-8300}"
KEYCLOAK_ISSUER="http://127.0.0.1:$KEYCLOAK_PORT/realms/pulse"
SMTP_PORT="${PULSE_SMTP_PORT:-1025}"
MAILPIT_PORT="${PULSE_MAILPIT_PORT:-8025}"
DASHBOARD_URL="http://127.0.0.1:${PULSE_DASHBOARD_PORT:-8080}"

# The local stack is the development environment, said explicitly: unset means production,
# which refuses the development secrets published in this repository.
export PULSE_ENVIRONMENT="${PULSE_ENVIRONMENT:-dev}"
export UV_PYTHON_DOWNLOADS=never
export PATH="$HOME/.local/bin:$PATH"

# The servers run as their own users (postgres, redis, pulse-kafka) and must reach their
# folders under .run: others may pass through it, not list it.
mkdir -p "$RUN" "$LOGS"
# Python run by these scripts keeps its bytecode here, not beside the sources, where (under
# the umask above) the services' own user could not read it.
export PYTHONPYCACHEPREFIX="$RUN/pycache"
[[ -O "$RUN" ]] && chmod 0711 "$RUN"
# Logs written before the umask above was set become private too.
find "$LOGS" "$RUN/pg" "$RUN/redis" "$RUN/kafka/logs" -maxdepth 1 -perm /o=rwx \
  \( -type d -o -name '*.log*' \) -exec chmod o-rwx,g-w {} + 2> /dev/null || true

log() { printf '\033[1;36m[pulse]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[pulse] %s\033[0m\n' "$*" >&2; exit 1; }

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# True when the pid in file $1 is a live process.
pid_alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# A JDK of major version >= $1: PULSE_JAVA_HOME when set, else the newest of JAVA_HOME and the
# JDKs under /usr/lib/jvm (Debian 12 packages only Java 17; Keycloak 26 needs 21 or newer,
# which the machine's Temurin JDK is).
jdk_home() {
  local need=$1 best="" best_major=0 d major candidates=("${PULSE_JAVA_HOME:-}")
  [[ -n "${PULSE_JAVA_HOME:-}" ]] || candidates=("${JAVA_HOME:-}" /usr/lib/jvm/*)
  for d in "${candidates[@]}"; do
    [[ -n "$d" && -x "$d/bin/java" ]] || continue
    major=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$d/release" 2>/dev/null || true)
    [[ -n "$major" ]] || major=$("$d/bin/java" -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p' || true)
    if (( ${major:-0} > best_major )); then best=$d best_major=$major; fi
  done
  if (( best_major < need )); then
    local found="no JDK was found"
    [[ -z "$best" ]] || found="the newest JDK here, $best, is Java $best_major"
    die "Java $need or newer is needed and $found: install a JDK $need+ (e.g. Temurin) under /usr/lib/jvm, or set PULSE_JAVA_HOME to one"
  fi
  echo "$best"
}

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [[ -n "$d" ]] || die "PostgreSQL server binaries not found: run deploy/local/install.sh"
  echo "$d"
}

# The generated passwords: .run/credentials.env (0600), made by credentials.py on first
# use with one random password per principal of pulse_shared.permissions, and reused
# after. Each can be overridden by the environment variable of the same name. Read into
# shell variables (PULSE_PG_APP_PASSWORD, PULSE_REDIS_QUERY_API_PASSWORD, ...), never
# exported: each process gets only its own.
CREDENTIALS="$RUN/credentials.env"
load_credentials() {
  python3 "$ROOT/deploy/local/credentials.py" ensure "$CREDENTIALS" \
    || die "could not write $CREDENTIALS"
  local line name
  # Split at the first '=' by hand: `IFS='=' read` would drop a value's trailing '='
  # (base64 padding of the generated keys).
  while IFS= read -r line; do
    name="${line%%=*}"
    [[ "$name" =~ ^PULSE_[A-Z0-9_]+$ && -z "${!name:-}" ]] && printf -v "$name" '%s' "${line#*=}"
  done < "$CREDENTIALS"
  PG_SUPERUSER_PASSWORD="$PULSE_PG_SUPERUSER_PASSWORD"
  PG_APP_PASSWORD="$PULSE_PG_APP_PASSWORD"
  PG_READER_PASSWORD="$PULSE_PG_READER_PASSWORD"
  PG_INGEST_PASSWORD="$PULSE_PG_INGEST_PASSWORD"
  PG_WORKSPACE_PASSWORD="$PULSE_PG_WORKSPACE_PASSWORD"
  PG_REPORTER_PASSWORD="$PULSE_PG_REPORTER_PASSWORD"
}

# A service's Redis URL, as its own ACL user (pulse_shared.permissions.REDIS_USERS).
redis_url_for() {
  local var="PULSE_REDIS_${1^^}_PASSWORD"
  var="${var//-/_}"
  echo "redis://$1:${!var}@127.0.0.1:$REDIS_PORT/${2:-0}"
}

# Kafka as the user $1 (pulse_shared.permissions' Kafka principals): its settings, exported.
export_kafka_user() {
  local var="PULSE_KAFKA_${1^^}_PASSWORD"
  var="${var//-/_}"
  export PULSE_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT" \
    PULSE_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT PULSE_KAFKA_USERNAME="$1" \
    PULSE_KAFKA_PASSWORD="${!var}"
}

# The words that run a command as the unprivileged user $1 when this script runs as root
# (none otherwise), in that user's home: `$(run_as redis) redis-server ...`. setpriv and
# env execute the command in place, so a pid taken with $! is the command's own.
run_as() {
  [[ $(id -u) -ne 0 ]] && return 0
  echo "setpriv --reuid=$1 --regid=$1 --init-groups -- env HOME=$(getent passwd "$1" | cut -d: -f6)"
}

app_database_url() {
  echo "postgresql+asyncpg://$PG_APP_USER:$PG_APP_PASSWORD@127.0.0.1:$PG_PORT/${1:-$PG_DATABASE}"
}
ingest_database_url() {
  echo "postgresql+asyncpg://$PG_INGEST_USER:$PG_INGEST_PASSWORD@127.0.0.1:$PG_PORT/${1:-$PG_DATABASE}"
}
workspace_database_url() {
  echo "postgresql+asyncpg://$PG_WORKSPACE_USER:$PG_WORKSPACE_PASSWORD@127.0.0.1:$PG_PORT/${1:-$PG_DATABASE}"
}
reporter_database_url() {
  echo "postgresql+asyncpg://$PG_REPORTER_USER:$PG_REPORTER_PASSWORD@127.0.0.1:$PG_PORT/${1:-$PG_DATABASE}"
}
reader_database_url() {
  echo "postgresql+asyncpg://$PG_READER_USER:$PG_READER_PASSWORD@127.0.0.1:$PG_PORT/${1:-$PG_DATABASE}"
}
