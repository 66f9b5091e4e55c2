#!/bin/bash
# Oracle Database Free, SOURCE of the evaluation stack (docker-compose.yml, profile
# "oracle"); the image runs this once, as oracle, right after creating the database.
# Archived logs go to /opt/dr/archive, a volume capture mounts read-only; then the
# source prerequisites (force logging, supplemental logging) apply.
set -euo pipefail
sqlplus -s / as sysdba <<'SQL'
WHENEVER SQLERROR EXIT SQL.SQLCODE
ALTER SYSTEM SET log_archive_dest_1 = 'LOCATION=/opt/dr/archive' SCOPE = SPFILE;
ALTER SYSTEM SET log_archive_format = 'arch_%t_%s_%r.arc' SCOPE = SPFILE;
SHUTDOWN IMMEDIATE
STARTUP MOUNT
ALTER DATABASE ARCHIVELOG;
ALTER DATABASE OPEN;
ALTER PLUGGABLE DATABASE ALL OPEN;
ALTER PLUGGABLE DATABASE ALL SAVE STATE;
@/opt/dr/sql/source_prerequisites.sql
SQL
