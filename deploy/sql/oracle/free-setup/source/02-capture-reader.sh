#!/bin/bash
# Capture's dictionary reader and a small DEMO schema in FREEPDB1 of the evaluation
# source. Passwords come from docker secrets; they never appear on a command line.
set -euo pipefail
reader_password="$(cat /run/secrets/drcapture_oracle_password)"
demo_password="$(cat /run/secrets/oracle_demo_password)"
sqlplus -s / as sysdba <<SQL
WHENEVER SQLERROR EXIT SQL.SQLCODE
ALTER SESSION SET CONTAINER = FREEPDB1;
DEFINE dr_password = "${reader_password}"
@/opt/dr/sql/capture_reader.sql
CREATE USER demo IDENTIFIED BY "${demo_password}" QUOTA 100M ON users;
GRANT CREATE SESSION, CREATE TABLE, CREATE SEQUENCE TO demo;
CREATE TABLE demo.orders (
  id NUMBER(12) PRIMARY KEY,
  customer VARCHAR2(100) NOT NULL,
  amount NUMBER(12, 2),
  created_at TIMESTAMP DEFAULT SYSTIMESTAMP
);
CREATE SEQUENCE demo.orders_seq;
EXIT
SQL
