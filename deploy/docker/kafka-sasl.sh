#!/bin/sh
# Compose's Kafka (apache/kafka image). At every start: the broker's configuration from the
# KAFKA_* variables, named as the image names them (KAFKA_LOG_DIRS is log.dirs: "_" is ".",
# "__" is "_", "___" is "-"), then deploy/kafka/security.properties with its passwords from
# the environment; on the first start the storage is formatted with the admin's SCRAM
# credential. The migrate job then sets every other user's credential and the ACLs
# (deploy/local/kafka_admin.py access).
set -eu
umask 077
config=/tmp/server.properties
env | grep '^KAFKA_' | while IFS='=' read -r name value; do
  key=$(echo "${name#KAFKA_}" | tr 'A-Z' 'a-z' | sed -e 's/___/-/g' -e 's/__/%/g' -e 's/_/./g' -e 's/%/_/g')
  echo "$key=$value"
done > "$config"
sed -e "s/@ADMIN_PASSWORD@/$PULSE_KAFKA_ADMIN_PASSWORD/g" \
  -e "s/@CONTROLLER_PASSWORD@/$PULSE_KAFKA_CONTROLLER_PASSWORD/g" \
  /etc/pulse/kafka-security.properties >> "$config"
# The healthcheck's login (kafka-broker-api-versions.sh --command-config).
cat > /tmp/admin.properties <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$PULSE_KAFKA_ADMIN_PASSWORD";
PROPS
/opt/kafka/bin/kafka-storage.sh format --cluster-id "$CLUSTER_ID" -c "$config" \
  --ignore-formatted \
  --add-scram "SCRAM-SHA-512=[name=admin,password=$PULSE_KAFKA_ADMIN_PASSWORD]"
exec /opt/kafka/bin/kafka-server-start.sh "$config"
