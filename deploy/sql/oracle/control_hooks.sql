-- Control's promotion hooks user on an Oracle DR database ([dr_database] kind =
-- "oracle", user = "DRHOOKS"). At promotion, switchback or reversal control runs the
-- configured hook statements and moves sequences past the highest replicated key:
--   SELECT NVL(MAX(<column>), 0) + :gap FROM <owner.table>
--   ALTER SEQUENCE <owner.sequence> RESTART START WITH <n>      (Oracle 18c and later)
-- and records each hook once per operation in its own table DR_CONTROL_HOOKS.
--
-- Run as a DBA in the DR database (the PDB holding the replicated schemas):
--   SQL> ACCEPT dr_password CHAR PROMPT 'Password for DRHOOKS: ' HIDE
--   SQL> DEFINE dr_schemas = "'HR','SALES'"
--   SQL> @deploy/sql/oracle/control_hooks.sql
WHENEVER SQLERROR EXIT SQL.SQLCODE
SET VERIFY OFF

CREATE USER drhooks IDENTIFIED BY "&&dr_password"
  DEFAULT TABLESPACE users QUOTA 10M ON users ACCOUNT UNLOCK;
GRANT CREATE SESSION TO drhooks;
-- Its marker table DR_CONTROL_HOOKS (created by control on first use).
GRANT CREATE TABLE TO drhooks;

CREATE ROLE dr_promotion_hooks;
GRANT dr_promotion_hooks TO drhooks;
ALTER USER drhooks DEFAULT ROLE ALL;

-- SELECT on the tables (for MAX of the key) and ALTER on the sequences of the
-- replicated schemas, generated from the dictionary and run.
SET HEADING OFF FEEDBACK OFF PAGESIZE 0 LINESIZE 400 TRIMSPOOL ON
SPOOL dr_control_hooks_grants.sql
SELECT 'GRANT SELECT ON "' || owner || '"."' || table_name || '" TO dr_promotion_hooks;'
  FROM dba_tables
 WHERE owner IN (&&dr_schemas)
   AND nested = 'NO'
   AND secondary = 'N'
 ORDER BY owner, table_name;
SELECT 'GRANT ALTER, SELECT ON "' || sequence_owner || '"."' || sequence_name
       || '" TO dr_promotion_hooks;'
  FROM dba_sequences
 WHERE sequence_owner IN (&&dr_schemas)
 ORDER BY sequence_owner, sequence_name;
SPOOL OFF
SET HEADING ON FEEDBACK ON PAGESIZE 100
@dr_control_hooks_grants.sql

-- Hook statements that enable the application's triggers or jobs on the promoted DR
-- database (ALTER TRIGGER hr.emp_audit ENABLE) need this; grant it only if the
-- [[hooks.promotion]] statements do that:
--   GRANT ALTER ANY TRIGGER TO drhooks;

UNDEFINE dr_password
