#!/usr/bin/env bash
# Installs what Pulse needs on this machine, skipping whatever is already there:
# PostgreSQL and Redis (Debian packages), Java + Maven, the Kafka jars (Maven Central),
# uv and the Python workspace. A second run finishes in a few seconds.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

UV_VERSION=0.13.9

apt_packages=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_packages+=(postgresql)
command -v redis-server >/dev/null || apt_packages+=(redis-server)
command -v java >/dev/null || apt_packages+=(openjdk-17-jre-headless)
command -v curl >/dev/null || apt_packages+=(curl)
command -v mvn >/dev/null || apt_packages+=(maven)
if (( ${#apt_packages[@]} )); then
  log "apt-get install ${apt_packages[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${apt_packages[@]}" >/dev/null
fi

# Kafka: resolve the broker's jars into .run/kafka/libs once per pom.xml version.
libs="$RUN/kafka/libs"
stamp="$(sha256sum "$ROOT/deploy/local/kafka/pom.xml" | cut -c1-16)"
if [[ "$(cat "$libs/.stamp" 2>/dev/null)" != "$stamp" ]]; then
  log "resolving Kafka jars with Maven"
  rm -rf "$libs" && mkdir -p "$libs"
  mvn -q -B -Dstyle.color=never -f "$ROOT/deploy/local/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs" \
    || die "Maven could not resolve the Kafka jars (see output above)"
  echo "$stamp" > "$libs/.stamp"
fi

if ! command -v uv >/dev/null || [[ "$(uv --version | cut -d' ' -f2)" != "$UV_VERSION" ]]; then
  log "installing uv $UV_VERSION"
  python3 -m pip install --quiet --user "uv==$UV_VERSION"
fi

(cd "$ROOT" && uv sync --frozen --quiet)
log "installed: PostgreSQL $(basename "$(dirname "$(pg_bin)")"), Redis $(redis-server --version | sed -n "s/.*v=\([^ ]*\).*/\1/p"), Kafka $(ls "$libs" | sed -n "s/^kafka_2.13-\(.*\)\.jar$/\1/p"), $(uv --version | cut -d" " -f1-2)"
