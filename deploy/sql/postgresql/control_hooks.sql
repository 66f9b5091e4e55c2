-- Control's promotion hooks user on a PostgreSQL DR database ([dr_database] kind =
-- "postgresql"). At promotion, switchback or reversal control runs the configured hook
-- statements and moves sequences past the highest replicated key:
--   SELECT COALESCE(MAX(<column>), 0) + <gap> FROM <schema.table>
--   SELECT setval('<schema.sequence>'::regclass, <n>)
-- and records each hook once per operation in its own table dr_control_hooks.
--
-- The replicated schemas and tables are created (and owned) by drapply, so the read and
-- sequence rights come as default privileges of drapply: run this BEFORE apply starts.
-- Sequences a DBA creates later need the explicit grant shown at the end.
--
-- Run with psql as a superuser, connected to the DR database, after apply_writer.sql:
--   psql -v drhooks_password="$(cat /run/secrets/drhooks_db_password)" \
--        -d dr -f deploy/sql/postgresql/control_hooks.sql
\set ON_ERROR_STOP on

CREATE ROLE drhooks LOGIN PASSWORD :'drhooks_password';
GRANT CONNECT ON DATABASE :"DBNAME" TO drhooks;
-- Its marker table lives in its own schema, first on its search path.
CREATE SCHEMA IF NOT EXISTS drhooks AUTHORIZATION drhooks;
ALTER ROLE drhooks SET search_path = drhooks;

-- Whatever drapply creates from now on: schemas usable, tables readable, sequences
-- settable by the hooks.
ALTER DEFAULT PRIVILEGES FOR ROLE drapply GRANT USAGE ON SCHEMAS TO drhooks;
ALTER DEFAULT PRIVILEGES FOR ROLE drapply GRANT SELECT ON TABLES TO drhooks;
ALTER DEFAULT PRIVILEGES FOR ROLE drapply GRANT SELECT, UPDATE ON SEQUENCES TO drhooks;

-- For a sequence created by someone else, e.g. hr.employees_seq:
--   GRANT USAGE ON SCHEMA hr TO drhooks;
--   GRANT SELECT, UPDATE ON SEQUENCE hr.employees_seq TO drhooks;
