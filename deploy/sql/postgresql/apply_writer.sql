-- Apply's DR writer on a PostgreSQL DR database ([target] kind = "postgresql",
-- user = "drapply"). With target.create_tables = true apply creates one schema per
-- Oracle owner and the tables in it, so it needs CREATE on the database and owns what it
-- creates; its own tables go to schema "drapply" (target.control_schema).
--
-- Run with psql as a superuser (or the database owner), connected to the DR database:
--   psql -v drapply_password="$(cat /run/secrets/drapply_db_password)" \
--        -d dr -f deploy/sql/postgresql/apply_writer.sql
\set ON_ERROR_STOP on

CREATE ROLE drapply LOGIN PASSWORD :'drapply_password';
-- CREATE on the database lets apply run CREATE SCHEMA IF NOT EXISTS for each owner.
GRANT CONNECT, CREATE, TEMPORARY ON DATABASE :"DBNAME" TO drapply;
CREATE SCHEMA IF NOT EXISTS drapply AUTHORIZATION drapply;
-- Apply sets its own time zone per session; statement_timeout stays off for big groups.
ALTER ROLE drapply SET statement_timeout = 0;
