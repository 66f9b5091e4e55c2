-- Capture's dictionary reader on the SOURCE database: the user that
-- `drcapture dictionary export` connects as to read table definitions AS OF an SCN.
-- Capture itself never connects to Oracle while running: it reads redo files and this
-- dictionary snapshot. Read-only: SELECT and FLASHBACK (for AS OF SCN) on the SYS
-- dictionary tables the export reads (owner names through a view that leaves out
-- USER$'s password hashes), plus V$DATABASE for the database id and SCN.
--
-- Run as SYSDBA (grants on SYS-owned tables can only be given by SYS), in the container
-- that holds the captured schemas (the PDB on a CDB, e.g. ALTER SESSION SET
-- CONTAINER = ORCLPDB1), choosing the password at the prompt:
--   SQL> ACCEPT dr_password CHAR PROMPT 'Password for DRCAPTURE: ' HIDE
--   SQL> @deploy/sql/oracle/capture_reader.sql
WHENEVER SQLERROR EXIT SQL.SQLCODE
SET VERIFY OFF

CREATE USER drcapture IDENTIFIED BY "&&dr_password" ACCOUNT UNLOCK;
GRANT CREATE SESSION TO drcapture;

-- Owner names: a view of USER$'s id and name columns only. USER$ itself holds the
-- password hashes (PASSWORD, SPARE4); the reader never gets it. The view is SYS's so
-- that reading it AS OF SCN reads USER$ as of that SCN.
CREATE OR REPLACE VIEW sys.drcapture_users AS SELECT u.user#, u.name FROM sys.user$ u;

-- Database id, name and current SCN; character sets.
GRANT SELECT ON sys.v_$database TO drcapture;
GRANT SELECT ON sys.nls_database_parameters TO drcapture;

-- The dictionary tables, read AS OF SCN (hence FLASHBACK as well as SELECT).
GRANT SELECT, FLASHBACK ON sys.obj$ TO drcapture;
GRANT SELECT, FLASHBACK ON sys.drcapture_users TO drcapture;
GRANT SELECT, FLASHBACK ON sys.col$ TO drcapture;
GRANT SELECT, FLASHBACK ON sys.cdef$ TO drcapture;
GRANT SELECT, FLASHBACK ON sys.ccol$ TO drcapture;
GRANT SELECT, FLASHBACK ON sys.tabpart$ TO drcapture;
GRANT SELECT, FLASHBACK ON sys.tabcompart$ TO drcapture;
GRANT SELECT, FLASHBACK ON sys.tabsubpart$ TO drcapture;
-- Index-organized tables: which tables are IOTs (TAB$.PROPERTY, BOBJ#) and their primary
-- key index with its partitions, whose object numbers the redo names.
GRANT SELECT, FLASHBACK ON sys.tab$ TO drcapture;
GRANT SELECT, FLASHBACK ON sys.ind$ TO drcapture;
GRANT SELECT, FLASHBACK ON sys.indpart$ TO drcapture;
GRANT SELECT, FLASHBACK ON sys.indcompart$ TO drcapture;
GRANT SELECT, FLASHBACK ON sys.indsubpart$ TO drcapture;
-- The rows (with their ROWIDs) of the tables a DDL changes, for dictionary.on_ddl =
-- track: capture applies the redo's changes to them (docs/CAPTURE.md, "DDL and
-- dictionary versions").
GRANT SELECT, FLASHBACK ON sys.lob$ TO drcapture;
GRANT SELECT, FLASHBACK ON sys.deferred_stg$ TO drcapture;

-- For the operator's checks in docs/OPERATIONS.md (which logs exist, where, which SCN).
GRANT SELECT ON sys.v_$log TO drcapture;
GRANT SELECT ON sys.v_$logfile TO drcapture;
GRANT SELECT ON sys.v_$archived_log TO drcapture;
GRANT SELECT ON sys.v_$archive_dest TO drcapture;

UNDEFINE dr_password
