#!/bin/sh
# PostgreSQL image init script (runs once, when the data volume is empty): creates
# apply's writer and control's hooks user with passwords from docker secrets.
set -eu
for name in drapply_db_password drhooks_db_password; do
    if [ ! -s "/run/secrets/$name" ]; then
        echo "10-dr-roles: secret $name is missing or empty" >&2
        exit 1
    fi
done
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v drapply_password="$(cat /run/secrets/drapply_db_password)" \
    -f /opt/dr/sql/apply_writer.sql
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v drhooks_password="$(cat /run/secrets/drhooks_db_password)" \
    -f /opt/dr/sql/control_hooks.sql
