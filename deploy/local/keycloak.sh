#!/usr/bin/env bash
# Keycloak, the local OpenID provider of the dashboard's sign-in: the server distribution
# install.sh unpacked from Maven Central and built into .run/keycloak/dist, run in production
# mode over HTTP on 127.0.0.1 with its H2 file database in .run/keycloak/data, on the newest
# JDK >= 21 (jdk_home), as the unprivileged user pulse-keycloak when started by root.
#   keycloak.sh start    start it unless it runs, wait until realm pulse answers, apply
#   keycloak.sh launch   start it without waiting (infra.sh starts the other servers meanwhile)
#   keycloak.sh stop | status
#   keycloak.sh reset    stop it, delete its database and start it: the realm imported afresh
#
# The realm `pulse` (keycloak/pulse-realm.json: the client pulse-dashboard, the users
# demo@pulse.local and colleague@pulse.local) is imported at the first start. At every start
# keycloak_admin.py applies the file and this machine's secrets of credentials.env through the
# admin API, as the bootstrap admin: the client's secret, the users' passwords, the SMTP
# password of Mailpit. None of them is in the realm file, on a command line or in a log.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
load_credentials

K="$RUN/keycloak"
DIST="$K/dist"
DATA="$K/data"
PIDFILE="$K/keycloak.pid"
STARTED_WITH="$K/keycloak.started-with"   # what it was started with: its version and port
LOG="$LOGS/keycloak.log"
KEYCLOAK_USER=pulse-keycloak
REALM_FILE="$DATA/import/pulse-realm.json"
DISCOVERY="$KEYCLOAK_ISSUER/.well-known/openid-configuration"

ready() { curl -fsS --max-time 5 "$DISCOVERY" > /dev/null 2>&1; }

# The realm file Keycloak imports, with this machine's dashboard URL and SMTP port; its
# database and files are its own user's, and no one else's.
write_data() {
  mkdir -p "$DATA/import"
  chmod 0700 "$DATA"
  python3 "$ROOT/deploy/local/keycloak_admin.py" render "$ROOT/deploy/local/keycloak/pulse-realm.json" \
    "$REALM_FILE" --dashboard-url "$DASHBOARD_URL" --smtp-port "$SMTP_PORT" \
    || die "could not write $REALM_FILE"
  [[ $(id -u) -eq 0 ]] || return 0
  chown "root:$KEYCLOAK_USER" "$K"
  chmod 0750 "$K"
  chown -R "$KEYCLOAK_USER:$KEYCLOAK_USER" "$DATA"
}

started_with() { echo "$(cat "$DIST/.stamp") port=$KEYCLOAK_PORT"; }

# Ours, running, and started as it would be now (the distribution installed, the port).
running() { pid_alive "$PIDFILE" && [[ "$(cat "$STARTED_WITH" 2>/dev/null)" == "$(started_with)" ]]; }

launch() {
  [[ -s "$DIST/.stamp" ]] || die "Keycloak is not installed: run deploy/local/install.sh"
  if pid_alive "$PIDFILE" && ! running; then
    log "restarting Keycloak: it was started with $(cat "$STARTED_WITH" 2>/dev/null || echo '?'), now $(started_with)"
    stop
  fi
  running && return 0
  port_open "$KEYCLOAK_PORT" && die "port $KEYCLOAK_PORT is taken by another process; set PULSE_KEYCLOAK_PORT"
  write_data
  local java_home
  java_home="$(jdk_home 21)"
  log "starting Keycloak on 127.0.0.1:$KEYCLOAK_PORT (JDK $java_home)"
  # setsid: it outlives the make (or test) process that started it. The bootstrap admin is
  # created at the first start only; its password goes through the environment.
  (
    export JAVA_HOME="$java_home" KC_BOOTSTRAP_ADMIN_USERNAME=admin \
      KC_BOOTSTRAP_ADMIN_PASSWORD="$PULSE_KEYCLOAK_ADMIN_PASSWORD"
    # On Java 24+ its worker threads die at their first reset without java.lang opened (the
    # JBoss threads library says so in the log). Narayana's recovery listener would take a
    # loopback port of its own that nothing here uses.
    export JAVA_OPTS_APPEND="--add-opens=java.base/java.lang=ALL-UNNAMED \
-DRecoveryEnvironmentBean.recoveryListener=false"
    # shellcheck disable=SC2046
    exec setsid nohup $(run_as "$KEYCLOAK_USER") "$DIST/bin/kc.sh" start --optimized \
      --http-enabled=true --http-host=127.0.0.1 --http-port="$KEYCLOAK_PORT" \
      --hostname="http://127.0.0.1:$KEYCLOAK_PORT" --cache=local --import-realm \
      --db-url="jdbc:h2:file:$DATA/h2/keycloakdb;NON_KEYWORDS=VALUE"
  ) >> "$LOG" 2>&1 < /dev/null &
  echo $! > "$PIDFILE"
  started_with > "$STARTED_WITH"
}

wait_ready() {
  local deadline=$((SECONDS + ${PULSE_KEYCLOAK_START_TIMEOUT:-240}))
  until ready; do
    pid_alive "$PIDFILE" || { tail -30 "$LOG" >&2; die "Keycloak exited during start-up (log tail above)"; }
    (( SECONDS < deadline )) || { tail -30 "$LOG" >&2; die "Keycloak did not answer $DISCOVERY in time"; }
    sleep 0.5
  done
}

# The realm file and this machine's secrets, applied through the admin API.
apply() {
  # shellcheck disable=SC2046
  (export $(compgen -v PULSE_KEYCLOAK_) PULSE_MAILPIT_SMTP_PASSWORD \
    && python3 "$ROOT/deploy/local/keycloak_admin.py" apply --url "http://127.0.0.1:$KEYCLOAK_PORT" \
      "$REALM_FILE") \
    || die "could not apply $REALM_FILE to Keycloak (above). A database made with another admin \
password than $CREDENTIALS has: 'bash deploy/local/keycloak.sh reset' (deletes the realm's other users)"
}

start() {
  local began=$SECONDS
  if running && ready; then
    log "Keycloak already running on 127.0.0.1:$KEYCLOAK_PORT"
    write_data
  else
    launch
    wait_ready
    log "Keycloak ready in $((SECONDS - began)) s: $KEYCLOAK_ISSUER"
  fi
  apply
}

stop() {
  if pid_alive "$PIDFILE"; then
    local pid
    pid=$(cat "$PIDFILE")
    log "stopping Keycloak (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    # kc.sh passes TERM on to its JVM; should that hang, its whole session goes.
    kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid"
  fi
  rm -f "$PIDFILE" "$STARTED_WITH"
}

status() { ready && echo "keycloak: up on $KEYCLOAK_PORT ($KEYCLOAK_ISSUER)" || echo "keycloak: down"; }

case "${1:-}" in
  start) start ;;
  launch) launch ;;
  stop) stop ;;
  status) status ;;
  reset) stop; log "deleting Keycloak's database ($DATA)"; rm -rf "$DATA"; start ;;
  *) die "usage: keycloak.sh start|launch|stop|status|reset" ;;
esac
