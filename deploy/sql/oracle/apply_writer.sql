-- Apply's DR writer on an Oracle DR database: the user drapply connects as
-- ([target] kind = "oracle", user = "DRAPPLY"). It keeps its own tables (checkpoint,
-- parked transactions, audit) in its own schema and changes rows of the replicated
-- tables, nothing else: no DDL on them, no ANY privileges.
--
-- Run as a DBA in the DR database (the PDB holding the replicated schemas), once the
-- replicated tables exist there (initial load, docs/OPERATIONS.md "First
-- synchronisation"), and again after new tables are added:
--   SQL> ACCEPT dr_password CHAR PROMPT 'Password for DRAPPLY: ' HIDE
--   SQL> DEFINE dr_schemas = "'HR','SALES'"
--   SQL> @deploy/sql/oracle/apply_writer.sql
WHENEVER SQLERROR EXIT SQL.SQLCODE
SET VERIFY OFF

CREATE USER drapply IDENTIFIED BY "&&dr_password"
  DEFAULT TABLESPACE users QUOTA 1G ON users ACCOUNT UNLOCK;
GRANT CREATE SESSION TO drapply;
-- Apply's own tables live in its schema (target.control_schema = "DRAPPLY").
GRANT CREATE TABLE TO drapply;

-- Row changes on the replicated tables go through one role.
CREATE ROLE dr_apply_writer;
GRANT dr_apply_writer TO drapply;
ALTER USER drapply DEFAULT ROLE ALL;

-- One object grant per replicated table, generated from the dictionary and run.
SET HEADING OFF FEEDBACK OFF PAGESIZE 0 LINESIZE 400 TRIMSPOOL ON
SPOOL dr_apply_writer_grants.sql
SELECT 'GRANT SELECT, INSERT, UPDATE, DELETE ON "' || owner || '"."' || table_name
       || '" TO dr_apply_writer;'
  FROM dba_tables
 WHERE owner IN (&&dr_schemas)
   AND nested = 'NO'
   AND secondary = 'N'
 ORDER BY owner, table_name;
SPOOL OFF
SET HEADING ON FEEDBACK ON PAGESIZE 100
@dr_apply_writer_grants.sql

-- Oracle 23ai only, instead of the per-table grants (covers tables created later):
--   GRANT SELECT ANY TABLE, INSERT ANY TABLE, UPDATE ANY TABLE, DELETE ANY TABLE
--     ON SCHEMA hr TO dr_apply_writer;

UNDEFINE dr_password
