#!/usr/bin/env bash
# Redis from Debian's packages, run from .run/redis on its default port (6379).
# Usage: redis.sh start|stop|status
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

D="$RUN/redis"

answering() { redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

start() {
  if answering; then log "Redis already running on 127.0.0.1:$REDIS_PORT"; return; fi
  mkdir -p "$D"
  log "starting Redis on 127.0.0.1:$REDIS_PORT"
  # A cache and a poll schedule that rebuild themselves: no persistence needed.
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$D" --daemonize yes \
    --pidfile "$D/redis.pid" --logfile "$D/redis.log" --save '' --appendonly no \
    --maxmemory 512mb --maxmemory-policy noeviction
  for _ in $(seq 1 50); do answering && return; sleep 0.1; done
  tail -20 "$D/redis.log" >&2; die "Redis did not start"
}

stop() {
  if answering; then log "stopping Redis"; redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null || true; fi
}

status() { answering && echo "redis: up on $REDIS_PORT" || echo "redis: down"; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: redis.sh start|stop|status" ;;
esac
