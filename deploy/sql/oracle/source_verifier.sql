-- The source reader of `drapply load`, `drapply compare` / `repair` and apply's
-- continuous verification, on the SOURCE database ([source_db] kind = "oracle",
-- user = "DRVERIFY"). Read-only: it reads the replicated tables AS OF an SCN (SELECT and
-- FLASHBACK on each), the current SCN, the open transactions (for capture's start point)
-- and the tables' extents (ROWID-range chunks without scanning a table).
--
-- Run as SYSDBA in the container that holds the captured schemas (the PDB on a CDB),
-- once the replicated tables exist, and again after new tables are added:
--   SQL> ACCEPT dr_password CHAR PROMPT 'Password for DRVERIFY: ' HIDE
--   SQL> DEFINE dr_schemas = "'HR','SALES'"
--   SQL> @deploy/sql/oracle/source_verifier.sql
-- Undo must cover the longest load or comparison chunk (UNDO_RETENTION), else the read
-- fails with ORA-01555 and says so.
WHENEVER SQLERROR EXIT SQL.SQLCODE
SET VERIFY OFF

CREATE USER drverify IDENTIFIED BY "&&dr_password" ACCOUNT UNLOCK;
GRANT CREATE SESSION TO drverify;

-- The current SCN, the open transactions (start point), the extents (ROWID chunks).
GRANT SELECT ON sys.v_$database TO drverify;
GRANT SELECT ON sys.gv_$transaction TO drverify;
GRANT SELECT ON sys.dba_extents TO drverify;
GRANT SELECT ON sys.dba_objects TO drverify;

-- Reading the replicated tables as of an SCN goes through one role.
CREATE ROLE dr_source_reader;
GRANT dr_source_reader TO drverify;
ALTER USER drverify DEFAULT ROLE ALL;

-- One object grant per replicated table, generated from the dictionary and run.
SET HEADING OFF FEEDBACK OFF PAGESIZE 0 LINESIZE 400 TRIMSPOOL ON
SPOOL dr_source_reader_grants.sql
SELECT 'GRANT SELECT, FLASHBACK ON "' || owner || '"."' || table_name
       || '" TO dr_source_reader;'
  FROM dba_tables
 WHERE owner IN (&&dr_schemas)
   AND nested = 'NO'
   AND secondary = 'N'
 ORDER BY owner, table_name;
SPOOL OFF
SET HEADING ON FEEDBACK ON PAGESIZE 100
@dr_source_reader_grants.sql

UNDEFINE dr_password
