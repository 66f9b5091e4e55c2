"""Fixtures for load and compare: a workload built once (redo plus the committed
transactions), a PostgreSQL history source fed from it, capture publishing its redo, and
readers of the DR copy in the workload's canonical form (tests/support/state.py)."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from drapply.adapters.sqlite import schema_file
from drapply.settings import ApplySettings, TargetKind, load_apply_settings
from drapply.wiring import naming_for
from drcapture.dictionary.model import OracleType
from drcapture.synth.workload import Col, Commit, Insert, Step, Table, Update, Workload, row
from drcapture.synth.workload_build import build_workload
from drcapture.synth.workload_result import BuiltWorkload
from drcommon.config import KafkaSettings

from tests.support.history import HistorySource
from tests.support.state import COLUMNS, TableState, canonical
from tests.support.workloads import TABLES, random_workload

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
SettingsFactory = Callable[..., ApplySettings]


@pytest.fixture(params=["sqlite", "postgresql"])
def target_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


T = OracleType
DOCS = Table("HIS", "DOCS", 91003,
             (Col("ID", T.NUMBER, precision=12, scale=0, nullable=False), Col("TXT", T.CLOB),
              Col("BIN", T.BLOB), Col("CODE", T.CHAR, length=6), Col("NOTE", T.VARCHAR2, 40)),
             pk=("ID",))  # fmt: skip
TEXT = "千岛湖 Qiandao Lake · "


def _hex(n_bytes: int, seed: int) -> str:
    out, block = bytearray(), hashlib.sha256(bytes([seed])).digest()
    while len(out) < n_bytes:
        out += block
        block = hashlib.sha256(block).digest()
    return bytes(out[:n_bytes]).hex().upper()


def with_documents(base: Workload) -> Workload:
    """``base`` plus a table with CLOB, BLOB and CHAR columns: 24 documents of 0 bytes to
    about 200 KB (some NULL), then a few replaced."""
    steps = list(base.steps)
    for i in range(24):
        values = {"ID": str(i + 1), "NOTE": f"doc {i}", "CODE": f"C{i:<5}"}
        if i % 6 != 5:
            values["TXT"] = TEXT * (i * i * 20)
            values["BIN"] = _hex(i * 4000, i)
        steps.append(Step(1 + i % 3, f"doc{i}", Insert("DOCS", row(values))))
        steps.append(Step(1 + i % 3, f"doc{i}", Commit()))
    for i in (3, 9, 17):
        steps.append(Step(2, f"upd{i}", Update("DOCS", row(ID=str(i)),
                                               row(TXT=TEXT * 7, NOTE="replaced"))))  # fmt: skip
        steps.append(Step(2, f"upd{i}", Commit()))
    return Workload(tables=(*base.tables, DOCS), steps=tuple(steps), db_name=base.db_name)


@pytest.fixture(scope="module")
def documents() -> BuiltWorkload:
    """The usual workload with the documents table (no redo written: no capture)."""
    return build_workload(with_documents(random_workload(99, transactions=150, threads=3)))


@pytest.fixture(scope="module")
def workload(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuiltWorkload, Path]:
    """About 270 committed transactions on 4 threads, as redo and as expected results."""
    built = build_workload(random_workload(4242, transactions=300, threads=4, switch_every=25))
    directory = tmp_path_factory.mktemp("redo")
    built.write(directory)
    return built, directory


def run_capture(redo: Path, bootstrap: str, prefix: str, tmp: Path) -> None:
    """drcapture over the workload's logs, publishing SI and HIS under ``prefix``."""
    logs = sorted(str(p) for p in redo.glob("*.arc"))
    env = dict(os.environ, **{
        "DRCAPTURE__KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "DRCAPTURE__KAFKA__TOPIC_PREFIX": prefix,
        "DRCAPTURE__DATABASE": "SIPROD",
        "DRCAPTURE__DICTIONARY__KIND": "snapshot",
        "DRCAPTURE__DICTIONARY__PATH": str(redo / "dictionary.json"),
        "DRCAPTURE__SOURCE__FILES": json.dumps(logs),
        "DRCAPTURE__FILTER__INCLUDE": json.dumps(["SI.*", "HIS.*"]),
        "DRCAPTURE__SPILL__DIRECTORY": str(tmp / "spill"),
        "DRCAPTURE__STATE_DIR": str(tmp / "state"),
    })  # fmt: skip
    config = ROOT / "deploy/examples/demo-capture.toml"
    done = subprocess.run(
        [str(BIN / "drcapture"), "run", "--config", str(config)],
        env=env, cwd=tmp, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def history(postgres_dsn: str, unique: str) -> Iterator[HistorySource]:
    source = HistorySource(postgres_dsn, f"src_{unique}", (*TABLES, DOCS), 1_000_000)
    source.create()
    yield source
    source.close()


@pytest.fixture
def make_settings(tmp_path: Path, kafka_settings: KafkaSettings, unique: str,
                  request: pytest.FixtureRequest) -> SettingsFactory:  # fmt: skip
    """Apply settings for a target kind, with the history source and small chunks."""

    def build(kind: str, **overrides: Any) -> ApplySettings:
        dsn = request.getfixturevalue("postgres_dsn")
        target: dict[str, Any] = {"kind": kind}
        renames: dict[str, Any] = {}
        if kind == "sqlite":
            target["path"] = tmp_path / "dr.sqlite"
        else:
            target.update(dsn=dsn, control_schema=f"drapply_{unique}")
            renames = {"schemas": {"SI": f"si_{unique}", "HIS": f"his_{unique}"}}
        base: dict[str, Any] = {
            "kafka": kafka_settings.model_dump(),
            "source": {"database": "SIPROD", "schemas": ["SI", "HIS"]},
            "target": target,
            "renames": renames,
            "source_db": {"kind": "postgresql", "dsn": dsn, "history_schema": f"src_{unique}",
                          "array_size": 16},
            "load": {"rows_per_chunk": 25, "parallel": 2, "batch_rows": 10},
            "compare": {"rows_per_chunk": 20},
            "apply": {"group_id": f"g-{unique}", "fetch_timeout_ms": 100},
            "http": {"port": 0},
            "logging": {"level": "INFO", "format": "text"},
        }  # fmt: skip
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                base[key] = {**base[key], **value}
            else:
                base[key] = value
        return load_apply_settings(None, **base)

    return build


def target_state(settings: ApplySettings) -> TableState:
    """The DR copy's SI.PERSON and HIS.VISIT, keyed and written like source_state."""
    naming = naming_for(settings, settings.target)
    out: TableState = {}
    for (owner, table), columns in COLUMNS.items():
        ref = naming.table(owner, table)
        cols = ", ".join(f'"{naming.column(owner, table, c)}"' for c in columns)
        sql = f'SELECT {cols} FROM "{ref.schema}"."{ref.table}"'
        if settings.target.kind is TargetKind.SQLITE:
            db = sqlite3.connect(":memory:")
            try:
                db.execute(f'ATTACH DATABASE ? AS "{ref.schema}"',
                           (str(schema_file(settings.target.path, ref.schema)),))  # fmt: skip
                rows = db.execute(sql).fetchall()
            finally:
                db.close()
        else:
            import psycopg

            assert settings.target.dsn
            with psycopg.connect(settings.target.dsn) as conn:
                rows = conn.execute(sql).fetchall()
        keyed = {canonical(r[0]): tuple(canonical(v) for v in r) for r in rows}
        assert len(keyed) == len(rows), f"duplicate keys in {owner}.{table}"
        out[(owner, table)] = keyed
    return out


def new_prefix() -> str:
    return f"ld{uuid.uuid4().hex[:10]}"
