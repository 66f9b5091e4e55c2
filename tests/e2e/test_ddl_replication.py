"""Schema changes replicate by themselves: a 2-thread RAC workload with DDL in the middle,
written as real Oracle-format redo by our writer (each DDL a transaction of its own with
its changes to OBJ$, TAB$, COL$ … and its 24.1 record), runs through the real programs:
drcapture (dictionary kept current from the redo) -> Kafka -> drapply -> SQLite and
PostgreSQL, with no manual step. The DR tables must equal the source's final state,
column for column.

The DDL: add a column and insert rows using it (on the other thread), rename a column,
drop a column, add a partition, create a table on one thread and fill it from the other,
truncate, create-fill-drop a table. A second test stops capture right after a DDL and
restarts it on the rest of the redo: both sides decode with their own dictionary version.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from drcapture.checkpoints import load_restart
from drcapture.synth.workload import (
    Commit,
    Insert,
    RenameTable,
    Step,
    Workload,
    row,
)
from drcapture.synth.workload_build import BuiltWorkload, build_workload
from drcommon.config import KafkaSettings
from drcommon.model import Operation
from drcommon.sqlcommand import SqlCommand
from drcommon.topics import TopicNames

from tests.support.ddl_workload import (
    DDL_COUNT,
    ORDERS,
    PERSON,
    SALES,
    SCRATCH,
    STAGE,
    VISIT,
    built_ddl_workload,
)
from tests.support.published import capture_config, read_topic

pytestmark = [pytest.mark.kafka]

BIN = Path(sys.executable).parent


def _capture(tmp: Path, built: BuiltWorkload, files: list[Path], bootstrap: str,
             prefix: str, include: tuple[str, ...] = ("SI.*", "HIS.*"),
             on_ddl: str = "track") -> str:
    config = capture_config(
        tmp, "ddlcap",
        {
            "source": {"mode": "files", "files": [str(f) for f in files]},
            "dictionary": {"kind": "snapshot", "path": str(tmp / "redo" / "dictionary.json"),
                           "on_ddl": on_ddl},
            "filter": {"include": list(include)},
            "publish": {"max_batch_transactions": 3, "max_batch_seconds": 0.02},
            "kafka": {"bootstrap_servers": bootstrap, "topic_prefix": prefix},
            "spill": {"directory": str(tmp / "spill")},
            "http": {"port": 0},
            "logging": {"format": "text", "level": "INFO"},
        },
        threads=2, database=built.dictionary.db_name, state_dir=str(tmp / "state"),
    )
    done = subprocess.run([str(BIN / "drcapture"), "run", "--config", str(config)],
                          capture_output=True, text=True, timeout=180, check=False,
                          env=dict(os.environ))
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def _apply(tmp: Path, database: str, bootstrap: str, prefix: str, target: dict[str, Any],
           renames: dict[str, str] | None = None) -> str:
    lines = [f'[source]\ndatabase = "{database}"\nschemas = ["SI", "HIS"]', "[target]"]
    lines += [f'{k} = "{v}"' for k, v in target.items()]
    lines += [f'[apply]\ngroup_id = "{prefix}-{target["kind"]}"',
              f'[kafka]\nbootstrap_servers = "{bootstrap}"\ntopic_prefix = "{prefix}"',
              "[http]\nport = 0", '[logging]\nformat = "text"\nlevel = "WARNING"']
    if renames:
        lines.append("[renames.schemas]")
        lines += [f'{k} = "{v}"' for k, v in renames.items()]
    config = tmp / f"apply-{target['kind']}.toml"
    config.write_text("\n".join(lines) + "\n")
    done = subprocess.run([str(BIN / "drapply"), "once", "--config", str(config)],
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _order(rows: Any) -> list[tuple[Any, ...]]:
    return sorted(rows, key=lambda r: tuple("" if v is None else str(v) for v in r))


def _same(value: Any, numeric: bool) -> Any:
    if value is None:
        return None
    return Decimal(str(value)).normalize() if numeric else str(value)


def _expected(built: BuiltWorkload) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """OWNER.TABLE -> (columns, rows) of the source at the end, numbers as Decimals."""
    tables = {f"{t.owner}.{t.name}": t for t in (PERSON, VISIT, SALES, ORDERS, SCRATCH)}
    out = {}
    for name, rows in built.final.items():
        columns = list(rows[0]) if rows else [c.name for c in tables[name].columns]
        numeric = {c: c in NUMERIC for c in columns}
        out[name] = (sorted(columns), _order(
            tuple(_same(r.get(c), numeric[c]) for c in sorted(columns)) for r in rows))
    return out


NUMERIC = {"ID", "PERSON_ID", "FEE", "OID", "BALANCE"}


def _sqlite_state(tmp: Path, owner: str, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    path = tmp / f"dr.{owner}.sqlite"
    if not path.exists():
        return [], []
    db = sqlite3.connect(path)
    try:
        names = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]
        if not names:
            return [], []
        columns = sorted(names)
        quoted = ", ".join(f'"{c}"' for c in columns)
        rows = db.execute(f'SELECT {quoted} FROM "{table}"').fetchall()
    finally:
        db.close()
    return columns, _order(tuple(_same(v, c in NUMERIC) for v, c in zip(r, columns, strict=True))
                           for r in rows)


def _postgres_state(dsn: str, schema: str, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    with psycopg.connect(dsn) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND "
            "table_name = %s", (schema, table.lower()))]
        if not names:
            return [], []
        columns = sorted(names)
        quoted = ", ".join(f'"{c}"' for c in columns)
        rows = conn.execute(f'SELECT {quoted} FROM "{schema}"."{table.lower()}"').fetchall()
    return [c.upper() for c in columns], _order(
        tuple(_same(v, c.upper() in NUMERIC) for v, c in zip(r, columns, strict=True))
        for r in rows)


def _check(expected: dict[str, tuple[list[str], list[tuple[Any, ...]]]],
           state: Any) -> None:
    for name, (columns, rows) in expected.items():
        owner, table = name.split(".")
        found_columns, found_rows = state(owner, table)
        if not rows and not found_columns:
            continue  # never filled on the source (SALES): nothing to create on the DR side
        assert found_columns == columns, name
        assert found_rows == rows, name
    for gone in ("SI.SCRATCH",):
        owner, table = gone.split(".")
        assert state(owner, table) == ([], []), f"{gone} was dropped at the source"


def test_ddl_in_a_rac_workload_reaches_sqlite_and_postgresql(
    tmp_path: Path, kafka_bootstrap: str, postgres_dsn: str, unique: str
) -> None:
    built = built_ddl_workload()
    files = built.write(tmp_path / "redo")
    prefix = f"ddl{unique}"
    log = _capture(tmp_path, built, files, kafka_bootstrap, prefix)
    assert log.count("the dictionary changed") == len(built.ddl) == DDL_COUNT
    expected = _expected(built)
    assert expected["SI.PERSON"][0] == ["ADDR", "ID", "MOBILE", "NAME"]
    assert [r[1] for r in expected["HIS.ORDERS"][1]] == [Decimal(1), Decimal(2)]
    assert len(expected["HIS.VISIT"][1]) == 1  # truncated, then one row
    # Each DDL is published with its kind, the command number its 24.1 record carries.
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap, topic_prefix=prefix)
    names = TopicNames(prefix, built.dictionary.db_name)
    published = asyncio.run(read_topic(settings, names.schema("SI")))
    assert [(c.table, c.ddl_command) for m in published for c in m.changes
            if c.op is Operation.DDL] == [
        ("PERSON", SqlCommand.ALTER_TABLE), ("PERSON", SqlCommand.ALTER_TABLE),
        ("PERSON", SqlCommand.ALTER_TABLE), ("SALES", SqlCommand.ALTER_TABLE),
        ("SCRATCH", SqlCommand.CREATE_TABLE), ("SCRATCH", SqlCommand.DROP_TABLE)]

    _apply(tmp_path, built.dictionary.db_name, kafka_bootstrap, prefix,
           {"kind": "sqlite", "path": str(tmp_path / "dr.sqlite")})
    _check(expected, lambda owner, table: _sqlite_state(tmp_path, owner, table))

    schemas = {"SI": f"si_{unique}", "HIS": f"his_{unique}"}
    _apply(tmp_path, built.dictionary.db_name, kafka_bootstrap, prefix,
           {"kind": "postgresql", "dsn": postgres_dsn}, renames=schemas)
    _check(expected, lambda owner, table: _postgres_state(postgres_dsn, schemas[owner], table))


def test_a_capture_stopped_after_a_ddl_decodes_both_sides_after_its_restart(
    tmp_path: Path, kafka_bootstrap: str, unique: str
) -> None:
    built = built_ddl_workload(switch_after_first_ddl=True)
    files = built.write(tmp_path / "redo")
    first = [f for f in files if f.name.endswith("seq_000001.arc")]
    assert len(first) == 2 and len(files) == 4
    prefix = f"ddlr{unique}"
    log = _capture(tmp_path, built, first, kafka_bootstrap, prefix)
    assert log.count("the dictionary changed") == 1  # ADD COLUMN, the last thing in seq 1
    again = _capture(tmp_path, built, files, kafka_bootstrap, prefix)
    assert "dictionary rebuilt from the DDL published before" in again
    assert again.count("the dictionary changed") == len(built.ddl) - 1
    _apply(tmp_path, built.dictionary.db_name, kafka_bootstrap, prefix,
           {"kind": "sqlite", "path": str(tmp_path / "dr.sqlite")})
    _check(_expected(built), lambda owner, table: _sqlite_state(tmp_path, owner, table))


def _renamed(*after: Step) -> BuiltWorkload:
    return build_workload(Workload(tables=(STAGE,), steps=(
        Step(1, "a", Insert("STAGE", row(ID="1", V="before"))),
        Step(1, "a", Commit()),
        Step(1, "d", RenameTable("STAGE", "PEOPLE")),
        *after,
    )))


def _published(kafka: KafkaSettings, prefix: str, database: str) -> list[Any]:
    names = TopicNames(prefix, database)
    settings = kafka.model_copy(update={"topic_prefix": prefix})
    messages = asyncio.run(read_topic(settings, names.schema("SI")))
    return [(c.op.value, c.table, c.after) for m in messages for c in m.changes]


def _stopped_by_rename(tmp_path: Path, kafka: KafkaSettings, prefix: str, thread: int
                       ) -> tuple[BuiltWorkload, str, Callable[[], str]]:
    """STAGE renamed to PEOPLE on thread 1, a row of PEOPLE after it on ``thread``:
    capture of SI.PEOPLE stops naming it. The workload, the stop's message, and a
    second capture run (its log)."""
    built = _renamed(Step(thread, "b", Insert("PEOPLE", row(ID="2", V="after"))),
                     Step(thread, "b", Commit()))
    files = built.write(tmp_path / "redo")

    def run() -> str:
        return _capture(tmp_path, built, files, kafka.bootstrap_servers, prefix,
                        include=("SI.PEOPLE",))

    with pytest.raises(AssertionError, match=r"tables=SI\.PEOPLE, scn=\d+") as stopped:
        run()
    return built, str(stopped.value), run


def test_a_table_renamed_into_the_filter_is_captured_from_the_rename_on(
    tmp_path: Path, kafka_settings: KafkaSettings, unique: str
) -> None:
    """Its rows from before the RENAME were never captured: capture publishes through
    the RENAME (under the name that brought the table in) and stops once, naming the
    table to re-synchronise; its next start publishes the rows after it."""
    prefix = f"ddln{unique}"
    built, stopped, rerun = _stopped_by_rename(tmp_path, kafka_settings, prefix, thread=1)
    assert "rows from before it were never captured" in stopped
    assert "another RAC thread" not in stopped
    assert _published(kafka_settings, prefix, built.dictionary.db_name) == [
        ("ddl", "PEOPLE", None)]
    rerun()
    assert _published(kafka_settings, prefix, built.dictionary.db_name) == [
        ("ddl", "PEOPLE", None), ("insert", "PEOPLE", {"ID": "2", "V": "after"})]


def test_a_rename_into_the_filter_another_thread_read_past_stops_and_says_so(
    tmp_path: Path, kafka_settings: KafkaSettings, unique: str
) -> None:
    """Thread 2 read on past the RENAME before the merge released it, keeping nothing of
    the table then not wanted: capture publishes through the RENAME and stops, naming the
    table; its next start follows the table (and says nothing more)."""
    _, stopped, rerun = _stopped_by_rename(tmp_path, kafka_settings, f"ddlx{unique}",
                                           thread=2)
    assert "re-synchronise them" in stopped
    assert "another RAC thread having read past the DDL" in stopped
    again = rerun()
    assert "dictionary rebuilt from the DDL published before" in again


async def test_a_capture_killed_between_a_ddl_and_the_changes_after_it(
    tmp_path: Path, kafka_settings: KafkaSettings, unique: str
) -> None:
    """Following the archive: the logs up to the ADD COLUMN are archived, capture
    publishes through the DDL (its dictionary change in the same Kafka transaction) and
    is killed with SIGKILL; the rest is archived and capture starts again. The rows after
    the DDL decode with the version it made, rebuilt from Kafka."""
    built = built_ddl_workload(switch_after_first_ddl=True)
    staging, archive = tmp_path / "staging", tmp_path / "archive"
    archive.mkdir()
    files = built.write(staging)
    first = [f for f in files if f.name.endswith("seq_000001.arc")]
    prefix = f"ddlk{unique}"
    config = capture_config(
        tmp_path, "ddlkill",
        {
            "source": {"mode": "archive", "archive_dirs": [str(archive)],
                       "archive_pattern": "*.arc", "poll_interval": 0.05,
                       "idle_thread_grace": 0.3, "archive_idle_timeout": 600.0},
            "dictionary": {"kind": "snapshot", "path": str(staging / "dictionary.json")},
            "filter": {"include": ["SI.*", "HIS.*"]},
            "publish": {"max_batch_transactions": 3, "max_batch_seconds": 0.02},
            "kafka": {"bootstrap_servers": kafka_settings.bootstrap_servers,
                      "topic_prefix": prefix},
            "spill": {"directory": str(tmp_path / "spill")},
            "http": {"port": 0},
            "logging": {"format": "text", "level": "INFO"},
        },
        threads=2, database=built.dictionary.db_name, state_dir=str(tmp_path / "state"),
    )
    names = TopicNames(prefix, built.dictionary.db_name)
    settings = kafka_settings.model_copy(update={"topic_prefix": prefix})
    log_path = tmp_path / "capture.log"

    def start() -> subprocess.Popen[bytes]:
        with log_path.open("ab") as out:
            return subprocess.Popen([str(BIN / "drcapture"), "run", "--config", str(config)],
                                    stdout=out, stderr=subprocess.STDOUT)

    async def wait_for(done: Any, what: str) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if done(*await load_restart(settings, names.checkpoints, "ddlkill")):
                return
            await asyncio.sleep(0.2)
        pytest.fail(f"capture did not {what}: " + log_path.read_text()[-3000:])

    for path in first:
        shutil.copy(path, archive)
    process = start()
    try:
        await wait_for(lambda _, changes: len(changes) == 1, "publish the ADD COLUMN")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        for path in files:
            if path not in first:
                shutil.copy(path, archive)
        process = start()
        last = max(t.commit_scn for t in built.expected)
        await wait_for(lambda checkpoint, changes: checkpoint is not None
                       and checkpoint.last_published is not None
                       and checkpoint.last_published[0] >= last and len(changes) >= 2,
                       "catch up after the restart")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert "dictionary rebuilt from the DDL published before" in log_path.read_text()
    _, changes = await load_restart(settings, names.checkpoints, "ddlkill")
    assert len({c.scn for c in changes}) == len(changes)  # each version once
    await asyncio.to_thread(_apply, tmp_path, built.dictionary.db_name,
                            kafka_settings.bootstrap_servers, prefix,
                            {"kind": "sqlite", "path": str(tmp_path / "dr.sqlite")})
    _check(_expected(built), lambda owner, table: _sqlite_state(tmp_path, owner, table))


def test_with_on_ddl_stop_capture_publishes_through_the_first_layout_ddl_and_stops(
    tmp_path: Path, kafka_settings: KafkaSettings, unique: str
) -> None:
    built = built_ddl_workload()
    files = built.write(tmp_path / "redo")
    prefix = f"ddls{unique}"
    with pytest.raises(AssertionError, match="a DDL changed the layout of a captured table"):
        _capture(tmp_path, built, files, kafka_settings.bootstrap_servers, prefix,
                 on_ddl="stop")
    changes = _published(kafka_settings, prefix, built.dictionary.db_name)
    assert [op for op, _, _ in changes] == ["insert", "insert", "insert", "ddl"]
