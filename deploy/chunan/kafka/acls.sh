#!/usr/bin/env bash
# The ACLs of the DR users, once per cluster after the first start (idempotent: adding an
# ACL that exists changes nothing). Run in any broker container:
#
#   docker compose --env-file kafka-1.env exec -T kafka bash -s < acls.sh
#
# drcapture  creates its topics, writes them in transactions, reads its checkpoints
# drapply    reads the schema topics in group drapply, parks to _deadletter (transactions)
# drcontrol  describes the cluster and reads topic positions (lag, watermarks)
# Topic names: <prefix>.<database>.<SCHEMA>; DR_TOPIC_PREFIX covers every database.
set -euo pipefail
KAFKA_BIN="${KAFKA_BIN:-/opt/kafka/bin}"
ADMIN_CONFIG="${ADMIN_CONFIG:-/run/secrets/kafka-admin.properties}"
BOOTSTRAP="${BOOTSTRAP:-$(hostname):9093}"   # the container's hostname is KAFKA_HOST
PREFIX="${DR_TOPIC_PREFIX:-dr.}"

acl() {
    "$KAFKA_BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" \
        --add --force "$@" >/dev/null
}

# capture: producer rights on dr.* and its transactional ids drcapture-<DB>-<capture_id>;
# read for the checkpoint topic.
acl --allow-principal User:drcapture --producer --idempotent --resource-pattern-type prefixed \
    --topic "$PREFIX" --transactional-id drcapture-
acl --allow-principal User:drcapture --operation Read --operation DescribeConfigs \
    --resource-pattern-type prefixed --topic "$PREFIX"

# apply: consumer of dr.* in group drapply; its dead-letter producer (drapply-dl-…) may
# create and write dr.<DB>._deadletter.
acl --allow-principal User:drapply --consumer --resource-pattern-type prefixed \
    --topic "$PREFIX" --group drapply
acl --allow-principal User:drapply --producer --idempotent --resource-pattern-type prefixed \
    --topic "$PREFIX" --transactional-id drapply-

# control: look, never write.
acl --allow-principal User:drcontrol --operation Describe --operation Read \
    --operation DescribeConfigs --resource-pattern-type prefixed --topic "$PREFIX"
acl --allow-principal User:drcontrol --operation Describe --cluster

"$KAFKA_BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" \
    --list --resource-pattern-type prefixed --topic "$PREFIX"
