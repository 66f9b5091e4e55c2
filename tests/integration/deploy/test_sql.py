"""The grant scripts in deploy/sql: they parse, they grant what the services use, no more.

Oracle scripts are SQL*Plus scripts: the SQL*Plus commands (WHENEVER, SET, DEFINE,
ACCEPT, SPOOL, @) are taken out and the substitution variables filled in, then every
statement is parsed with sqlglot's Oracle dialect. sqlglot parses object GRANTs and
queries fully and keeps CREATE USER, system-privilege GRANTs and the like as opaque
commands; those are checked against the statement forms and privilege names here.
The PostgreSQL scripts are also run with psql against the real test server and the
resulting rights are tried out as the users they create.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlglot
from psycopg import sql
from sqlglot import exp

from tests.integration.deploy.compose import ROOT

ORACLE = ROOT / "deploy" / "sql" / "oracle"
POSTGRES = ROOT / "deploy" / "sql" / "postgresql"
SQLPLUS_COMMANDS = ("WHENEVER", "SET", "DEFINE", "UNDEFINE", "ACCEPT", "PROMPT", "SPOOL",
                    "EXIT", "REM", "COLUMN")
SUBSTITUTIONS = {"dr_password": "Dr1ExamplePassword", "dr_schemas": "'HR','SALES'"}
SYSTEM_PRIVILEGES = {"CREATE SESSION", "CREATE TABLE", "CREATE SEQUENCE", "ALTER ANY TRIGGER"}
OPAQUE_FORMS = [
    re.compile(r'CREATE USER \w+ IDENTIFIED BY "[^"]+"( DEFAULT TABLESPACE \w+)?'
               r"( QUOTA \w+ ON \w+)?( ACCOUNT UNLOCK)?", re.I),
    re.compile(r"CREATE ROLE \w+", re.I),
    re.compile(r"ALTER USER \w+ DEFAULT ROLE ALL", re.I),
    re.compile(r"GRANT (?P<privileges>[A-Z ,_]+) TO \w+", re.I),
    re.compile(r"ALTER DATABASE (FORCE LOGGING|ADD SUPPLEMENTAL LOG DATA( \(PRIMARY KEY\) "
               r"COLUMNS)?)", re.I),
    re.compile(r"ALTER SYSTEM ARCHIVE LOG CURRENT", re.I),
]


def _statements(text: str) -> Iterator[str]:
    """SQL statements of a script, split at a ';' ending a line (none in quotes here)."""
    buffer: list[str] = []
    for line in text.splitlines():
        buffer.append(line)
        if line.rstrip().endswith(";"):
            yield "\n".join(buffer).strip().rstrip(";")
            buffer = []
    assert not "\n".join(buffer).strip(), f"unterminated statement: {buffer}"


def sqlplus_to_sql(text: str) -> tuple[str, list[str]]:
    """(the SQL of a SQL*Plus script, its SQL*Plus commands)."""
    kept, commands = [], []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("--"):
            continue
        first = stripped.split()[0].upper()
        if first in SQLPLUS_COMMANDS or stripped.startswith("@"):
            commands.append(stripped)
            continue
        kept.append(line)
    used = set(re.findall(r"&&?(\w+)", "\n".join(kept)))
    assert used <= set(SUBSTITUTIONS), f"undocumented substitution variables: {used}"
    body = re.sub(r"&&?(\w+)", lambda m: SUBSTITUTIONS[m[1]], "\n".join(kept))
    return body, commands


def parse_oracle(path: Path) -> tuple[list[Any], list[str]]:
    return parse_oracle_text(path.read_text(encoding="utf-8"), path)


def parse_oracle_text(text: str, path: Path) -> tuple[list[Any], list[str]]:
    """Every statement parsed; opaque ones matched against the allowed forms."""
    body, commands = sqlplus_to_sql(text)
    parsed = []
    for statement in _statements(body):
        tree = sqlglot.parse_one(statement, read="oracle")
        if isinstance(tree, exp.Command):
            flat = " ".join(statement.split())
            match = next((f for f in OPAQUE_FORMS if f.fullmatch(flat)), None)
            assert match is not None, f"{path.name}: unexpected statement {flat!r}"
            privileges = match.fullmatch(flat)
            if privileges and privileges.groupdict().get("privileges"):
                for privilege in privileges["privileges"].split(","):
                    name = " ".join(privilege.split()).upper()
                    assert name in SYSTEM_PRIVILEGES or name.startswith("DR_"), (
                        f"{path.name}: unknown or unexpected privilege {name}"
                    )
        parsed.append(tree)
    return parsed, commands


ORACLE_SCRIPTS = sorted(ORACLE.glob("*.sql"))


@pytest.mark.parametrize("path", ORACLE_SCRIPTS, ids=[p.name for p in ORACLE_SCRIPTS])
def test_oracle_script_parses_and_stops_on_error(path: Path) -> None:
    parsed, commands = parse_oracle(path)
    assert parsed
    assert commands[0] == "WHENEVER SQLERROR EXIT SQL.SQLCODE", "a failed grant must stop it"
    text = path.read_text(encoding="utf-8")
    assert "IDENTIFIED BY" not in text or '"&&dr_password"' in text, "no literal passwords"


def test_the_parser_is_strict() -> None:
    with pytest.raises(sqlglot.errors.ParseError):
        sqlglot.parse_one("GRANT SELECT ON sys.obj$ TO", read="oracle")
    script = ORACLE / "capture_reader.sql"
    text = script.read_text(encoding="utf-8")
    for bad in ("GRANT DBA TO drcapture WITH ADMIN OPTION;",
                "GRANT SELECT ANY TABLE TO drcapture;"):
        with pytest.raises(AssertionError, match=r"unexpected|unknown"):
            parse_oracle_text(text.replace("GRANT CREATE SESSION TO drcapture;", bad), script)


def _object_grants(trees: list[Any]) -> dict[str, set[str]]:
    """object (lower case) → privileges, from the fully parsed GRANTs."""
    grants: dict[str, set[str]] = {}
    for tree in trees:
        if isinstance(tree, exp.Grant):
            target = tree.args["securable"].sql(dialect="oracle").lower()
            privileges = {p.sql(dialect="oracle").upper() for p in tree.args["privileges"]}
            grants.setdefault(target, set()).update(privileges)
    return grants


def test_capture_reader_reads_exactly_what_the_dictionary_export_queries() -> None:
    trees, _ = parse_oracle(ORACLE / "capture_reader.sql")
    grants = _object_grants(trees)
    live = (ROOT / "services/capture/drcapture/dictionary/live.py").read_text(encoding="utf-8")
    queried = {f"sys.{name.lower()}"
               for name in re.findall(r"sys\.(\w+\$|drcapture_\w+)", live, re.I)}
    assert queried, "the live loader's queries moved"
    # Issue 17, finding 4: owner names from a view of USER$'s id and name, never USER$
    # (its other columns are password hashes).
    assert "sys.user$" not in grants and "sys.user$" not in queried
    assert "sys.drcapture_users" in queried
    views = [t for t in trees if isinstance(t, exp.Create) and t.kind == "VIEW"]
    assert [v.this.sql(dialect="oracle").lower() for v in views] == ["sys.drcapture_users"]
    columns = [c.sql(dialect="oracle").lower() for c in views[0].expression.expressions]
    assert columns == ["u.user#", "u.name"], columns
    for table in queried:
        assert grants.get(table) == {"SELECT", "FLASHBACK"}, f"{table}: AS OF SCN needs both"
    assert "v$database" in live.lower() and "SELECT" in grants["sys.v_$database"]
    assert "nls_database_parameters" in live.lower()
    everything = set().union(*grants.values())
    assert everything == {"SELECT", "FLASHBACK"}, "the dictionary reader only reads"
    text = (ORACLE / "capture_reader.sql").read_text(encoding="utf-8").upper()
    assert " ANY " not in text.replace("-- ", "")


def test_apply_writer_and_hooks_get_what_their_code_runs() -> None:
    apply_trees, _ = parse_oracle(ORACLE / "apply_writer.sql")
    generated = [t for t in apply_trees if isinstance(t, exp.Select)]
    assert len(generated) == 1
    template = generated[0].sql(dialect="oracle")
    assert "GRANT SELECT, INSERT, UPDATE, DELETE ON" in template
    assert "dba_tables" in template.lower() and "'HR', 'SALES'" in template
    hooks_trees, commands = parse_oracle(ORACLE / "control_hooks.sql")
    templates = " ".join(t.sql(dialect="oracle") for t in hooks_trees if isinstance(t, exp.Select))
    assert "GRANT SELECT ON" in templates and "GRANT ALTER, SELECT ON" in templates
    assert "dba_sequences" in templates.lower()
    assert "@dr_control_hooks_grants.sql" in commands
    hooks_code = (ROOT / "services/control/drcontrol/adapters/oracle_db.py").read_text()
    assert "ALTER SEQUENCE" in hooks_code and "CREATE TABLE dr_control_hooks" in hooks_code
    flat = " ".join((ORACLE / "control_hooks.sql").read_text().split())
    assert "GRANT CREATE TABLE TO drhooks;" in flat


# ---- PostgreSQL -----------------------------------------------------------------------


def psql_to_sql(text: str) -> str:
    """The SQL of a psql script: meta-commands out, :'var' and :"var" filled in."""
    lines = [x for x in text.splitlines() if not x.lstrip().startswith(("\\", "--"))]
    body = "\n".join(lines)
    body = re.sub(r":'(\w+)'", "'x'", body)
    return re.sub(r':"(\w+)"', r'"\1"', body)


POSTGRES_SCRIPTS = sorted(POSTGRES.glob("*.sql"))


@pytest.mark.parametrize("path", POSTGRES_SCRIPTS, ids=[p.name for p in POSTGRES_SCRIPTS])
def test_postgres_script_parses(path: Path) -> None:
    statements = list(_statements(psql_to_sql(path.read_text(encoding="utf-8"))))
    assert statements
    for statement in statements:
        sqlglot.parse_one(statement, read="postgres")
    assert "\\set ON_ERROR_STOP on" in path.read_text(encoding="utf-8")


def _psql() -> str:
    from drcommon.devstack.postgres import find_bindir

    return str(find_bindir() / "psql")


def _run_script(path: Path, dsn: str, variables: dict[str, str], renames: dict[str, str]) -> None:
    text = path.read_text(encoding="utf-8")
    for old, new in renames.items():
        text = re.sub(rf"\b{old}\b", new, text)
    args = [_psql(), "-X", "-q", "-d", dsn, "-f", "-"]
    for key, value in variables.items():
        args[1:1] = ["-v", f"{key}={value}"]
    result = subprocess.run(args, input=text, capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr


def test_postgres_grants_work_on_a_real_server(postgres_dsn: str) -> None:
    """Run both scripts (role names made unique for this test), then act as the users:
    apply creates a schema, table and sequence; the hooks user reads the table, moves
    the sequence and keeps its marker table, but cannot change replicated rows."""
    suffix = uuid.uuid4().hex[:8]
    database, writer, hooks = f"dr_{suffix}", f"drapply_{suffix}", f"drhooks_{suffix}"
    admin = psycopg.connect(postgres_dsn, autocommit=True)
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    dsn = psycopg.conninfo.make_conninfo(postgres_dsn, dbname=database)
    try:
        renames = {"drapply": writer, "drhooks": hooks}
        _run_script(POSTGRES / "apply_writer.sql", dsn, {"drapply_password": "w-" + suffix},
                    renames)
        _run_script(POSTGRES / "control_hooks.sql", dsn, {"drhooks_password": "h-" + suffix},
                    renames)
        as_writer = psycopg.conninfo.make_conninfo(dsn, user=writer, password="w-" + suffix)
        with psycopg.connect(as_writer, autocommit=True) as conn:
            conn.execute("CREATE SCHEMA IF NOT EXISTS hr")
            conn.execute("CREATE TABLE hr.emp (id integer PRIMARY KEY, name text)")
            conn.execute("CREATE SEQUENCE hr.emp_seq")
            conn.execute("INSERT INTO hr.emp VALUES (41, 'a'), (42, 'b')")
            conn.execute(sql.SQL("CREATE TABLE {}.checkpoint (x int)").format(
                sql.Identifier(writer)))
        as_hooks = psycopg.conninfo.make_conninfo(dsn, user=hooks, password="h-" + suffix)
        with psycopg.connect(as_hooks, autocommit=True) as conn:
            top = conn.execute("SELECT COALESCE(MAX(id), 0) + 1000 FROM hr.emp").fetchone()
            assert top == (1042,)
            conn.execute("SELECT setval(%s::regclass, %s)", ("hr.emp_seq", 1042))
            conn.execute("CREATE TABLE IF NOT EXISTS dr_control_hooks (operation_id text)")
            where = conn.execute(
                "SELECT schemaname FROM pg_tables WHERE tablename = 'dr_control_hooks'"
            ).fetchone()
            assert where == (hooks,)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("DELETE FROM hr.emp")
        with psycopg.connect(as_writer, autocommit=True) as conn:
            assert conn.execute("SELECT last_value FROM hr.emp_seq").fetchone() == (1042,)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier("x" + suffix)))
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(database)))
        for role in (hooks, writer):
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        admin.close()
