#!/bin/bash
# Oracle Database Free, DR TARGET of the evaluation stack (profile "oracle"): apply's
# writer and control's hooks user in FREEPDB1, with passwords from docker secrets. The
# per-table grants cover the schemas in DR_SCHEMAS (default the DEMO schema), once the
# initial load has created their tables; rerun the two scripts after that.
set -euo pipefail
cd /tmp  # the scripts spool their generated grants into the current directory
apply_password="$(cat /run/secrets/drapply_oracle_password)"
hooks_password="$(cat /run/secrets/drhooks_oracle_password)"
schemas="${DR_SCHEMAS:-'DEMO'}"
sqlplus -s / as sysdba <<SQL
WHENEVER SQLERROR EXIT SQL.SQLCODE
ALTER SESSION SET CONTAINER = FREEPDB1;
DEFINE dr_schemas = "${schemas}"
DEFINE dr_password = "${apply_password}"
@/opt/dr/sql/apply_writer.sql
DEFINE dr_password = "${hooks_password}"
@/opt/dr/sql/control_hooks.sql
EXIT
SQL
