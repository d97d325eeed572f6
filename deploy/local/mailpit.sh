#!/usr/bin/env bash
# Mailpit, the local SMTP server with a web inbox (built by install.sh from the Go module
# proxy into .run/mailpit/bin): SMTP on 127.0.0.1:$PULSE_SMTP_PORT (1025), the inbox's web
# page and REST API (/api/v1/...) on 127.0.0.1:$PULSE_MAILPIT_PORT (8025), messages kept in
# .run/mailpit/data, run as the unprivileged user pulse-mailpit when started by root.
# Usage: mailpit.sh start|stop|status
#
# No one sends or reads without a password: the user `pulse` with PULSE_MAILPIT_SMTP_PASSWORD
# sends (SMTP AUTH PLAIN, allowed without TLS on loopback), the user `pulse` with
# PULSE_MAILPIT_UI_PASSWORD reads (HTTP basic auth); Mailpit gets them as salted hashes
# (credentials.py mailpit-auth). It asks nothing of the internet (no version check, no
# reverse DNS).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
load_credentials

M="$RUN/mailpit"
BIN="$M/bin/mailpit"
PIDFILE="$M/mailpit.pid"
STARTED_WITH="$M/mailpit.started-with"   # the ports it was started with
LOG="$LOGS/mailpit.log"
MAILPIT_USER=pulse-mailpit

# The inbox's API answers its reader (the password goes to curl on stdin, not its command line).
answering() {
  printf 'user = "pulse:%s"\n' "$PULSE_MAILPIT_UI_PASSWORD" \
    | curl -fsS --max-time 2 -K - "http://127.0.0.1:$MAILPIT_PORT/api/v1/info" > /dev/null 2>&1
}

ports() { echo "smtp=$SMTP_PORT inbox=$MAILPIT_PORT"; }

write_files() {
  mkdir -p "$M/data" "$M/auth"
  python3 "$ROOT/deploy/local/credentials.py" mailpit-auth "$CREDENTIALS" "$M/auth" \
    || die "could not write Mailpit's password files"
  [[ $(id -u) -eq 0 ]] || return 0
  chown "root:$MAILPIT_USER" "$M" "$M/auth" "$M/auth/"*.passwd
  chmod 0750 "$M" "$M/auth"
  chmod 0640 "$M/auth/"*.passwd
  chown -R "$MAILPIT_USER:$MAILPIT_USER" "$M/data"
  chmod 0700 "$M/data"
}

start() {
  [[ -x "$BIN" ]] || die "Mailpit is not installed: run deploy/local/install.sh"
  if pid_alive "$PIDFILE"; then
    if [[ "$PIDFILE" -nt "$CREDENTIALS" && "$PIDFILE" -nt "$BIN" \
          && "$(cat "$STARTED_WITH" 2>/dev/null)" == "$(ports)" ]] && answering; then
      log "Mailpit already running on 127.0.0.1:$SMTP_PORT (SMTP), :$MAILPIT_PORT (inbox)"
      return
    fi
    log "restarting Mailpit: its binary, $CREDENTIALS or its ports changed since it started"
    stop
  fi
  port_open "$SMTP_PORT" && die "port $SMTP_PORT is taken by another process; set PULSE_SMTP_PORT"
  port_open "$MAILPIT_PORT" && die "port $MAILPIT_PORT is taken by another process; set PULSE_MAILPIT_PORT"
  write_files
  log "starting Mailpit: SMTP on 127.0.0.1:$SMTP_PORT, inbox on http://127.0.0.1:$MAILPIT_PORT"
  # shellcheck disable=SC2046
  setsid nohup $(run_as "$MAILPIT_USER") "$BIN" --smtp "127.0.0.1:$SMTP_PORT" \
    --listen "127.0.0.1:$MAILPIT_PORT" --database "$M/data/mailpit.db" \
    --smtp-auth-file "$M/auth/smtp.passwd" --smtp-auth-allow-insecure \
    --ui-auth-file "$M/auth/ui.passwd" --disable-version-check --smtp-disable-rdns \
    >> "$LOG" 2>&1 < /dev/null &
  echo $! > "$PIDFILE"
  ports > "$STARTED_WITH"
  for _ in $(seq 1 100); do
    answering && return
    pid_alive "$PIDFILE" || break
    sleep 0.1
  done
  tail -20 "$LOG" >&2
  die "Mailpit did not start (log above)"
}

stop() {
  if pid_alive "$PIDFILE"; then
    local pid
    pid=$(cat "$PIDFILE")
    log "stopping Mailpit (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$PIDFILE" "$STARTED_WITH"
}

status() {
  answering && echo "mailpit: up on $SMTP_PORT (SMTP) and $MAILPIT_PORT (inbox)" || echo "mailpit: down"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: mailpit.sh start|stop|status" ;;
esac
