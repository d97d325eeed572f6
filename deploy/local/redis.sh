#!/usr/bin/env bash
# Redis from Debian's packages, run from .run/redis on its default port (6379), as the
# `redis` user when started by root. Usage: redis.sh start|stop|status
#
# No one gets in without a password: the default user is off, and every service has an
# ACL user of its own, allowed only its keys and commands (pulse_shared.permissions,
# written to .run/redis/users.acl with the generated passwords as SHA-256). The scripts
# use the `admin` user. A Redis started before these users existed (reachable without a
# password) is restarted with them: it holds only a cache and schedules that rebuild.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

D="$RUN/redis"
ACL_FILE="$D/users.acl"
# The table as the running server last read it: ACL LOAD only when the file differs,
# because Redis 7.0 (Debian's) drops every client's connection at ACL LOAD (7.2 keeps
# those whose user is unchanged), and `make test` or `make e2e` beside a running stack
# would cut all its services off Redis at once.
LOADED_FILE="$D/users.acl.loaded"
load_credentials

admin_cli() { REDISCLI_AUTH="$PULSE_REDIS_ADMIN_PASSWORD" redis-cli --user admin -p "$REDIS_PORT" "$@"; }
answering() { admin_cli ping 2>/dev/null | grep -q PONG; }
open_to_anyone() { redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

write_acl() {
  mkdir -p "$D"
  python3 "$ROOT/deploy/local/credentials.py" redis-acl "$CREDENTIALS" "$ACL_FILE" \
    || die "could not write $ACL_FILE"
  [[ $(id -u) -eq 0 ]] && chown -R redis:redis "$D"
  return 0
}

start() {
  write_acl
  if open_to_anyone; then
    log "Redis on :$REDIS_PORT takes commands without a password: restarting it with its ACL users"
    redis-cli -p "$REDIS_PORT" shutdown nosave > /dev/null 2>&1 || true
    for _ in $(seq 1 50); do port_open "$REDIS_PORT" || break; sleep 0.1; done
  elif answering; then
    # The table may have changed since it started: ACL LOAD applies the file as it is now.
    if ! cmp -s "$ACL_FILE" "$LOADED_FILE"; then
      admin_cli acl load > /dev/null || die "Redis refused its ACL file $ACL_FILE"
      cp "$ACL_FILE" "$LOADED_FILE"
      log "Redis on 127.0.0.1:$REDIS_PORT: its ACL users reloaded"
    fi
    log "Redis already running on 127.0.0.1:$REDIS_PORT"
    return
  elif port_open "$REDIS_PORT"; then
    die "something on port $REDIS_PORT refuses the admin password of $CREDENTIALS"
  fi
  log "starting Redis on 127.0.0.1:$REDIS_PORT"
  # A cache and a poll schedule that rebuild themselves: no persistence needed.
  $(run_as redis) redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$D" --daemonize yes \
    --pidfile "$D/redis.pid" --logfile "$D/redis.log" --save '' --appendonly no \
    --aclfile "$ACL_FILE" --maxmemory 512mb --maxmemory-policy noeviction
  for _ in $(seq 1 50); do
    if answering; then cp "$ACL_FILE" "$LOADED_FILE"; return; fi
    sleep 0.1
  done
  tail -20 "$D/redis.log" >&2; die "Redis did not start"
}

stop() {
  if answering; then log "stopping Redis"; admin_cli shutdown nosave > /dev/null || true
  elif open_to_anyone; then log "stopping Redis"; redis-cli -p "$REDIS_PORT" shutdown nosave > /dev/null || true
  fi
}

status() { answering && echo "redis: up on $REDIS_PORT" || echo "redis: down"; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: redis.sh start|stop|status" ;;
esac
