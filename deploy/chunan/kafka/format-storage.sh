#!/usr/bin/env bash
# Format this broker's data volume once, before its first start, with the SCRAM users
# the clients log in as (KRaft keeps them in the cluster metadata; the image's own
# first-start format adds none). Run on every broker, same passwords everywhere:
#
#   docker compose --env-file kafka-1.env run --rm --no-deps --entrypoint bash \
#       -v "$PWD/format-storage.sh:/format-storage.sh:ro" kafka /format-storage.sh
#
# A volume that is already formatted is left alone (exit 0). Reads the environment of
# the kafka service (CLUSTER_ID and the KAFKA_* settings) and the
# secrets kafka_<user>_password.
set -euo pipefail
KAFKA_BIN="${KAFKA_BIN:-/opt/kafka/bin}"
SECRETS="${SECRETS_DIR:-/run/secrets}"
CONFIG="${SERVER_PROPERTIES:-/mnt/shared/config/server.properties}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The file-input properties overridden by the KAFKA_* environment, as the image renders
# them (KAFKA_FOO_BAR -> foo.bar; __ is '_', ___ is '-').
cp "$CONFIG" "$work/server.properties"
: "${KAFKA_NODE_ID:?KAFKA_NODE_ID is not set}" "${KAFKA_CONTROLLER_QUORUM_VOTERS:?KAFKA_CONTROLLER_QUORUM_VOTERS is not set}"
for name in $(compgen -e | grep '^KAFKA_'); do
    case "$name" in KAFKA_HEAP_OPTS|KAFKA_OPTS|KAFKA_JMX_OPTS|KAFKA_LOG4J_OPTS|KAFKA_BIN) continue ;; esac
    property="$(sed -e 's/^KAFKA_//' -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g' <<<"$name" | tr '[:upper:]' '[:lower:]')"
    echo "$property=${!name}" >> "$work/server.properties"
done

scram=()
for user in admin drcapture drapply drcontrol; do
    file="$SECRETS/kafka_${user}_password"
    if [ ! -s "$file" ]; then
        echo "format-storage: secret kafka_${user}_password is missing or empty" >&2
        exit 2
    fi
    scram+=(--add-scram "SCRAM-SHA-512=[name=$user,password=$(cat "$file")]")
done

if output="$("$KAFKA_BIN/kafka-storage.sh" format --cluster-id "${CLUSTER_ID:?CLUSTER_ID is not set}" \
        --config "$work/server.properties" "${scram[@]}" 2>&1)"; then
    echo "format-storage: formatted node $KAFKA_NODE_ID with SCRAM users admin, drcapture, drapply, drcontrol"
elif grep -qi "already formatted" <<<"$output"; then
    echo "format-storage: node $KAFKA_NODE_ID is already formatted; nothing changed"
else
    # The output may echo the command line; never print the passwords.
    sed -E 's/password=[^],]*/password=***/g' <<<"$output" >&2
    exit 1
fi
