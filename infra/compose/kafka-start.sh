#!/bin/bash
# Starts the official apache/kafka image secured as the local platform is (infra/kafka/
# server.properties): SASL SCRAM-SHA-512 for every client, ACLs, no access unless granted.
# The admin is created when the storage is first formatted; its password comes from the
# environment (KAFKA_ADMIN_PASSWORD). The provisioner service creates every other principal.
set -euo pipefail
: "${KAFKA_ADMIN_PASSWORD:?set KAFKA_ADMIN_PASSWORD}"
config=/tmp/server.properties
sed -e "s|\${CONTROLLER_PORT}|9093|; s|\${KAFKA_PORT}|9092|; s|\${LOG_DIRS}|/var/lib/kafka/data|" \
    -e "s|\${ADMIN_PASSWORD}|${KAFKA_ADMIN_PASSWORD}|g" \
    -e "s|\${EXTRA_LISTENERS}||; s|\${EXTRA_ADVERTISED}||; s|\${EXTRA_SUPER_USERS}||; s|\${LISTENER_CONFIG}||" \
    -e "s|127.0.0.1:9092|0.0.0.0:9092|; s|advertised.listeners=SASL_PLAINTEXT://127.0.0.1:9092|advertised.listeners=SASL_PLAINTEXT://kafka:9092|" \
    -e "s|CONTROLLER://127.0.0.1:9093|CONTROLLER://0.0.0.0:9093|; s|1@127.0.0.1:9093|1@localhost:9093|" \
    /etc/dfdg/server.properties > "$config"
if [ ! -f /var/lib/kafka/data/meta.properties ]; then
  /opt/kafka/bin/kafka-storage.sh format -t "$(/opt/kafka/bin/kafka-storage.sh random-uuid)" \
    -c "$config" --add-scram "SCRAM-SHA-512=[name=admin,password=${KAFKA_ADMIN_PASSWORD}]"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$config"
