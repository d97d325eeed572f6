#!/usr/bin/env bash
# Apache Kafka in KRaft combined mode (one broker+controller node), run natively from
# the Maven Central jars resolved by install.sh, as the unprivileged user pulse-kafka when
# started by root (install.sh creates it). Usage: kafka.sh start|stop|status
#
# Nobody gets in unauthenticated, nobody does what no ACL grants (deploy/kafka/
# security.properties): the ACLs are pulse_shared.permissions' Kafka rows, applied with each
# user's SCRAM credential by `kafka_admin.py access` at every start, as admin, the one user
# the storage format creates. Plaintext on 127.0.0.1; TLS is the deployment's.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
load_credentials

K="$RUN/kafka"
PIDFILE="$K/kafka.pid"
LIBS="$K/libs"
KAFKA_USER=pulse-kafka

# What the broker writes is its own: its data and logs (also those of a broker that ran as
# root before), and its configuration, which it reads (it holds two passwords: 0640).
own_files() {
  chmod 0640 "$K/server.properties"
  [[ $(id -u) -eq 0 ]] || return 0
  chown "root:$KAFKA_USER" "$K" "$K/server.properties"
  chmod 0750 "$K"
  chown -R "$KAFKA_USER:$KAFKA_USER" "$K/data" "$K/logs"
}

write_config() {
  mkdir -p "$K/data" "$K/logs"
  ( umask 077; : > "$K/server.properties" )
  cat > "$K/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=CLIENT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=CLIENT://127.0.0.1:$KAFKA_PORT
inter.broker.listener.name=CLIENT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,CLIENT:SASL_PLAINTEXT
log.dirs=$K/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.hours=168
log.segment.bytes=67108864
PROPS
  sed -e "s/@ADMIN_PASSWORD@/$PULSE_KAFKA_ADMIN_PASSWORD/g" \
    -e "s/@CONTROLLER_PASSWORD@/$PULSE_KAFKA_CONTROLLER_PASSWORD/g" \
    "$ROOT/deploy/kafka/security.properties" >> "$K/server.properties"
}

java_opts() {
  JAVA_OPTS=(-Xms"$KAFKA_HEAP" -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -XX:InitiatingHeapOccupancyPercent=35 -Djava.awt.headless=true
    -Dkafka.logs.dir="$K/logs"
    -Dlog4j2.configurationFile="$ROOT/deploy/local/kafka/log4j2.properties"
    -cp "$LIBS/*")
}

# A broker of ours started as root (before it had a user of its own).
runs_as_root() {
  [[ $(id -u) -eq 0 ]] && pid_alive "$PIDFILE" \
    && [[ "$(stat -c %u "/proc/$(cat "$PIDFILE")")" -eq 0 ]]
}

# The admin's chores (kafka_admin.py), its password through the environment.
kafka_admin() { (cd "$ROOT" && export PULSE_KAFKA_ADMIN_PASSWORD \
  && uv run --frozen --quiet python deploy/local/kafka_admin.py "$@" --bootstrap "127.0.0.1:$KAFKA_PORT"); }

ready() { kafka_admin ready --timeout "${1:-5}"; }

start() {
  [[ -s "$LIBS/.stamp" ]] || die "Kafka jars missing: run deploy/local/install.sh"
  if port_open "$KAFKA_PORT" && runs_as_root; then
    log "Kafka runs as root: restarting it as $KAFKA_USER"
    stop
  fi
  if port_open "$KAFKA_PORT"; then
    ready 20 || die "something answers on port $KAFKA_PORT but not as a Kafka broker"
    log "Kafka already running on 127.0.0.1:$KAFKA_PORT"
    return
  fi
  write_config
  if [[ -s "$K/data/meta.properties" && ! -e "$K/data/.scram" ]]; then
    # Formatted before the broker authenticated anyone: no admin user to log in as.
    log "Kafka storage predates its SCRAM users: formatting it anew (local topics are emptied)"
    rm -rf "$K/data"
    mkdir -p "$K/data"
  fi
  if [[ ! -s "$K/data/meta.properties" ]]; then
    # A 22-character base64url UUID; like Kafka's own Uuid.randomUuid, never one starting
    # with "-", which the storage tool would read as an option.
    if [[ ! -s "$K/cluster.id" || "$(cat "$K/cluster.id")" == -* ]]; then
      python3 -c 'import base64, uuid
while (i := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")).startswith("-"): pass
print(i)' > "$K/cluster.id"
    fi
    log "formatting Kafka storage (cluster $(cat "$K/cluster.id"))"
    own_files
    java_opts
    $(run_as "$KAFKA_USER") java "${JAVA_OPTS[@]}" kafka.tools.StorageTool format --cluster-id="$(cat "$K/cluster.id")" \
      -c "$K/server.properties" --standalone --ignore-formatted \
      --add-scram "SCRAM-SHA-512=[name=admin,password=$PULSE_KAFKA_ADMIN_PASSWORD]" \
      > "$K/logs/format.log" 2>&1 \
      || { tail -20 "$K/logs/format.log" >&2; die "Kafka storage format failed"; }
    $(run_as "$KAFKA_USER") touch "$K/data/.scram"
  fi
  log "starting Kafka on 127.0.0.1:$KAFKA_PORT"
  own_files
  java_opts
  # setsid: the broker outlives the make (or test) process that started it.
  setsid nohup $(run_as "$KAFKA_USER") java "${JAVA_OPTS[@]}" kafka.Kafka "$K/server.properties" \
    > "$K/logs/stdout.log" 2>&1 < /dev/null &
  echo $! > "$PIDFILE"
  local deadline=$((SECONDS + 90))
  until port_open "$KAFKA_PORT"; do
    if ! pid_alive "$PIDFILE"; then
      tail -30 "$K/logs/stdout.log" "$K/logs/server.log" 2>/dev/null >&2
      die "Kafka exited during start-up (log tail above)"
    fi
    (( SECONDS < deadline )) || { tail -30 "$K/logs/server.log" >&2; die "Kafka did not open its port in 90 s"; }
    sleep 0.3
  done
  ready 60 || { tail -30 "$K/logs/server.log" >&2; die "Kafka opened its port but answers no metadata request"; }
  log "Kafka ready"
}

stop() {
  if pid_alive "$PIDFILE"; then
    local pid; pid=$(cat "$PIDFILE")
    log "stopping Kafka (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$PIDFILE"
}

status() { port_open "$KAFKA_PORT" && echo "kafka: up on $KAFKA_PORT" || echo "kafka: down"; }

# The design's topics, every user's SCRAM credential and every ACL of the permissions table.
topics() { kafka_admin topics --prefix "${PULSE_TOPIC_PREFIX:-}"; }
access() { kafka_admin access --prefix "${PULSE_TOPIC_PREFIX:-}"; }

case "${1:-}" in
  start) start; topics; access ;;
  access) access ;;
  stop) stop ;;
  status) status ;;
  topics) topics ;;
  *) die "usage: kafka.sh start|stop|status|topics|access" ;;
esac
