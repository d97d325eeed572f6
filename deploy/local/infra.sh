#!/usr/bin/env bash
# Installs (if needed) and starts PostgreSQL, Redis and Kafka; or stops them.
# Usage: infra.sh up|down|status
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
here="$(dirname "${BASH_SOURCE[0]}")"

case "${1:-}" in
  up)
    bash "$here/install.sh"
    bash "$here/postgres.sh" start
    bash "$here/redis.sh" start
    bash "$here/kafka.sh" start
    ;;
  down)
    bash "$here/kafka.sh" stop
    bash "$here/redis.sh" stop
    bash "$here/postgres.sh" stop
    ;;
  status)
    bash "$here/postgres.sh" status; bash "$here/redis.sh" status; bash "$here/kafka.sh" status ;;
  *) die "usage: infra.sh up|down|status" ;;
esac
