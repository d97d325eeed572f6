#!/usr/bin/env bash
# Installs (if needed) and starts PostgreSQL, Redis, Kafka, Mailpit and Keycloak; or stops
# them. Keycloak, the slowest to start, starts first and is waited for last.
# Usage: infra.sh up|down|status
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
here="$(dirname "${BASH_SOURCE[0]}")"

case "${1:-}" in
  up)
    bash "$here/install.sh"
    bash "$here/keycloak.sh" launch
    bash "$here/postgres.sh" start
    bash "$here/redis.sh" start
    bash "$here/kafka.sh" start
    bash "$here/mailpit.sh" start
    bash "$here/keycloak.sh" start
    ;;
  down)
    bash "$here/keycloak.sh" stop
    bash "$here/mailpit.sh" stop
    bash "$here/kafka.sh" stop
    bash "$here/redis.sh" stop
    bash "$here/postgres.sh" stop
    ;;
  status)
    for s in postgres redis kafka mailpit keycloak; do bash "$here/$s.sh" status; done ;;
  *) die "usage: infra.sh up|down|status" ;;
esac
