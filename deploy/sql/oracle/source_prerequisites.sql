-- Source database prerequisites for capture (run once, as SYSDBA, in the CDB root or the
-- non-CDB). Capture reads redo bytes, so the redo must hold what apply needs:
--   * ARCHIVELOG mode, so no redo is overwritten before capture has read it (switching a
--     RAC database into ARCHIVELOG needs a restart: see docs/OPERATIONS.md, "Source");
--   * FORCE LOGGING, so NOLOGGING loads cannot bypass the redo (and the DR copy);
--   * minimal and primary-key supplemental logging, so every UPDATE/DELETE carries the
--     key apply uses to find the row.
-- Usage:  sqlplus / as sysdba @deploy/sql/oracle/source_prerequisites.sql
WHENEVER SQLERROR EXIT SQL.SQLCODE
SET ECHO ON

ALTER DATABASE FORCE LOGGING;
ALTER DATABASE ADD SUPPLEMENTAL LOG DATA;
ALTER DATABASE ADD SUPPLEMENTAL LOG DATA (PRIMARY KEY) COLUMNS;
-- A new log file starts with the logging settings in force.
ALTER SYSTEM ARCHIVE LOG CURRENT;

-- Expect: ARCHIVELOG, YES, YES, YES.
SELECT log_mode, force_logging, supplemental_log_data_min, supplemental_log_data_pk
  FROM v$database;
-- Where archived logs go (capture's source.archive_dirs must see the same files).
SELECT dest_id, destination, status FROM v$archive_dest WHERE status <> 'INACTIVE';
EXIT
