#!/usr/bin/env bash
# Secrets for the compose files, generated locally with openssl (nothing leaves the host).
#
#   make-secrets.sh eval  DIR   passwords and tokens for the evaluation stack
#                               (docker-compose.yml at the repository root; DIR is usually
#                               var/eval/secrets)
#   make-secrets.sh sites DIR   a private CA, TLS certificates and keys, Kafka SCRAM
#                               passwords, service tokens and database passwords for both
#                               sites: DIR/chunan goes to the Chun'an hosts, DIR/hangzhou
#                               to the capture host; DIR/ca holds the CA key (keep it
#                               offline)
#
# Rerunning keeps every file that exists and adds what is missing, so a rerun never
# changes a password in use. Directories are 0700. compose bind-mounts each file into the
# containers that use it, with the file's own owner and mode, so every secret belongs to
# the user of the container that reads it (dr 10001, kafka 1000, postgres 999, oracle
# 54321) and is 0400; one that two kinds of container read is 0440 with the other's group
# (table in protect() below). Only certificates and public keys are 0444. Run it as root
# (the owners are other users); run as another user it says so and leaves the owners.
# Host names come from DR_DOMAIN_HANGZHOU / DR_DOMAIN_CHUNAN.
set -euo pipefail
umask 077

DR_UID=10001 DR_GID=10001 KAFKA_UID=1000 KAFKA_GID=1000 PG_UID=999 PG_GID=999
ORACLE_UID=54321 ORACLE_GID=54321

HZ_DOMAIN="${DR_DOMAIN_HANGZHOU:-hangzhou.dr.example}"
CA_DOMAIN="${DR_DOMAIN_CHUNAN:-chunan.dr.example}"
DAYS="${DR_CERT_DAYS:-825}"

usage() {
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

random() {  # 40 characters of [A-Za-z0-9], starting "Dr1" (Oracle's password rules)
    local value=""
    while [ "${#value}" -lt 37 ]; do
        value+="$(openssl rand -base64 48 | tr -dc 'A-Za-z0-9')"
    done
    printf 'Dr1%s' "${value:0:37}"
}

put() {  # put FILE VALUE: write once (0400 until protect() gives it its owner)
    local file="$1" value="$2"
    [ -e "$file" ] && return 0
    printf '%s' "$value" > "$file"
    chmod 0400 "$file"
    echo "created $file"
}

owner_of() {  # owner_of NAME: "UID:GID MODE" of a secret file, by the containers reading it
    case "$1" in
        *.pub|dr_ca.pem|*_tls.pem) echo "0:0 0444" ;;                  # public
        kafka-*.keystore.pem|kafka-*.credentials.properties|kafka-admin.properties|\
        kafka_admin_password) echo "$KAFKA_UID:$KAFKA_GID 0400" ;;    # the broker only
        kafka_drcapture_password)   # Chun'an: the brokers' format step; Hangzhou: capture
            if [ "$2" = chunan ]; then echo "$KAFKA_UID:$KAFKA_GID 0400"; else echo "$DR_UID:$DR_GID 0400"; fi ;;
        kafka_drapply_password|kafka_drcontrol_password)
            # the service, and at Chun'an the broker's format step (SCRAM users)
            if [ "$2" = chunan ]; then echo "$DR_UID:$KAFKA_GID 0440"; else echo "$DR_UID:$DR_GID 0400"; fi ;;
        postgres_password) echo "$PG_UID:$PG_GID 0400" ;;
        drapply_db_password)     # apply, and on the evaluation stack postgres's init
            if [ "$2" = eval ]; then echo "$DR_UID:$PG_GID 0440"; else echo "$DR_UID:$DR_GID 0400"; fi ;;
        drhooks_db_password)     # control at the sites; postgres's init (eval: DSN file)
            if [ "$2" = eval ]; then echo "$PG_UID:$PG_GID 0400"; else echo "$DR_UID:$DR_GID 0400"; fi ;;
        oracle_pwd|oracle_demo_password|drapply_oracle_password|drhooks_oracle_password)
            echo "$ORACLE_UID:$ORACLE_GID 0400" ;;     # the evaluation's Oracle set-up only
        drcapture_oracle_password)  # capture's dictionary export; eval: the source's set-up
            if [ "$2" = eval ]; then echo "$DR_UID:$ORACLE_GID 0440"; else echo "$DR_UID:$DR_GID 0400"; fi ;;
        *) echo "$DR_UID:$DR_GID 0400" ;;           # tokens, keys, DSNs: the DR services
    esac
}

protect() {  # protect DIR KIND: every file's owner and mode from owner_of
    local dir="$1" kind="$2" file owner mode warned=0
    for file in "$dir"/*; do
        [ -f "$file" ] || continue
        read -r owner mode <<< "$(owner_of "$(basename "$file")" "$kind")"
        chmod "$mode" "$file"
        if [ "$(id -u)" = 0 ]; then
            chown "$owner" "$file"
        elif [ "$warned" = 0 ]; then
            warned=1
            echo "make-secrets.sh: not root: the files in $dir keep owner $(id -un); run it" \
                 "again as root so each belongs to the container user that reads it" >&2
        fi
    done
}

secret() {  # secret FILE: a random value, written once
    [ -e "$1" ] || put "$1" "$(random)"
}

eval_secrets() {
    local dir="$1"
    mkdir -p "$dir" && chmod 0700 "$dir"
    for name in postgres_password drapply_db_password drhooks_db_password \
        capture_token apply_token appha_token oracle_pwd drcapture_oracle_password \
        oracle_demo_password drapply_oracle_password drhooks_oracle_password; do
        secret "$dir/$name"
    done
    put "$dir/drhooks_db_dsn" \
        "postgresql://drhooks:$(cat "$dir/drhooks_db_password")@postgres:5432/dr"
    # Issued by control once it runs (docs/OPERATIONS.md, "Evaluation stack").
    put "$dir/appha_control_token" ""
    protect "$dir" eval
}

ca() {
    local dir="$1/ca"
    mkdir -p "$dir" && chmod 0700 "$dir"
    if [ ! -e "$dir/dr_ca.key" ]; then
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/dr_ca.key"
        openssl req -x509 -new -key "$dir/dr_ca.key" -sha256 -days 3650 \
            -subj "/O=Oracle DR/CN=Oracle DR private CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$dir/dr_ca.pem"
        chmod 0400 "$dir/dr_ca.key"
        chmod 0444 "$dir/dr_ca.pem"
        echo "created $dir/dr_ca.pem (CA key: $dir/dr_ca.key)"
    fi
}

certificate() {  # certificate ROOT OUT_STEM CN [DNS...]: key OUT_STEM.key, cert OUT_STEM.pem
    local root="$1" stem="$2" cn="$3"
    shift 3
    [ -e "$stem.pem" ] && return 0
    local sans="DNS:$cn" name
    for name in "$@"; do sans+=",DNS:$name"; done
    local csr
    csr="$(mktemp)"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$stem.key"
    openssl req -new -key "$stem.key" -subj "/O=Oracle DR/CN=$cn" -out "$csr"
    openssl x509 -req -in "$csr" -CA "$root/ca/dr_ca.pem" -CAkey "$root/ca/dr_ca.key" \
        -CAcreateserial -days "$DAYS" -sha256 -out "$stem.pem" \
        -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n%s\n' \
            "$sans" "keyUsage=critical,digitalSignature,keyEncipherment")
    rm -f "$csr"
    chmod 0400 "$stem.key"
    chmod 0444 "$stem.pem"
    echo "created $stem.pem ($cn)"
}

kafka_broker() {  # Kafka reads a PEM keystore only with an encrypted PKCS#8 key
    # (encrypted with PBE-SHA1-3DES: Java 17's Kafka cannot open a PBES2/AES-encrypted
    # key, "PBES2 SecretKeyFactory not available"; the file is 0400, the broker's own)
    local root="$1" node="$2" out="$1/chunan"
    local host="kafka-$node.$CA_DOMAIN"
    [ -e "$out/kafka-$node.keystore.pem" ] && return 0
    local work
    work="$(mktemp -d)"
    certificate "$root" "$work/broker" "$host" "kafka-$node"
    local password
    password="$(random)"
    printf '%s' "$password" > "$work/password"
    openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES -in "$work/broker.key" \
        -passout "file:$work/password" -out "$work/broker.enc.key"
    cat "$work/broker.enc.key" "$work/broker.pem" "$root/ca/dr_ca.pem" \
        > "$out/kafka-$node.keystore.pem"
    chmod 0400 "$out/kafka-$node.keystore.pem"
    put "$out/kafka-$node.credentials.properties" "key.password=$password"
    rm -rf "$work"
    echo "created $out/kafka-$node.keystore.pem"
}

site_secrets() {
    local root="$1"
    mkdir -p "$root" && chmod 0700 "$root"
    mkdir -p "$root/chunan" "$root/hangzhou" "$root/shared"
    chmod 0700 "$root/chunan" "$root/hangzhou" "$root/shared"
    ca "$root"
    # Values both sites hold, made once and copied.
    for name in kafka_drcapture_password capture_token; do
        secret "$root/shared/$name"
    done
    for site in chunan hangzhou; do
        [ -e "$root/$site/dr_ca.pem" ] || cp -p "$root/ca/dr_ca.pem" "$root/$site/dr_ca.pem"
        for name in kafka_drcapture_password capture_token; do
            [ -e "$root/$site/$name" ] || cp -p "$root/shared/$name" "$root/$site/$name"
        done
    done
    # Hangzhou: capture's HTTPS certificate and the dictionary reader's password.
    certificate "$root" "$root/hangzhou/capture_tls" "capture.$HZ_DOMAIN" capture localhost
    secret "$root/hangzhou/drcapture_oracle_password"
    # Chun'an: brokers, the services' HTTPS certificates, SCRAM users, tokens, databases.
    local node service
    for node in 1 2 3; do kafka_broker "$root" "$node"; done
    for service in apply appha control; do
        certificate "$root" "$root/chunan/${service}_tls" "$service.$CA_DOMAIN" "$service" localhost
    done
    for name in kafka_admin_password kafka_drapply_password kafka_drcontrol_password \
        apply_token appha_token drapply_db_password drhooks_db_password; do
        secret "$root/chunan/$name"
    done
    put "$root/chunan/kafka-admin.properties" "$(printf '%s\n' \
        "security.protocol=SASL_SSL" \
        "sasl.mechanism=SCRAM-SHA-512" \
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"$(cat "$root/chunan/kafka_admin_password")\";" \
        "ssl.truststore.type=PEM" \
        "ssl.truststore.location=/run/secrets/dr_ca.pem")"
    # Filled in later: control issues appha's token; the load balancer API token and
    # appha's SSH key for the standby servers come from the customer's administrators.
    put "$root/chunan/appha_control_token" ""
    put "$root/chunan/lb_api_token" ""
    if [ ! -e "$root/chunan/appha_ssh_key" ] && command -v ssh-keygen >/dev/null; then
        ssh-keygen -q -t ed25519 -N "" -C "drappha@$CA_DOMAIN" -f "$root/chunan/appha_ssh_key"
        chmod 0400 "$root/chunan/appha_ssh_key"
        echo "created $root/chunan/appha_ssh_key (install the .pub on the standby servers)"
    fi
    protect "$root/chunan" chunan
    protect "$root/hangzhou" hangzhou
    protect "$root/shared" shared
}

[ $# -eq 2 ] || usage
command -v openssl >/dev/null || { echo "make-secrets.sh: openssl is required" >&2; exit 2; }
case "$1" in
    eval) eval_secrets "$2" ;;
    sites) site_secrets "$2" ;;
    *) usage ;;
esac
