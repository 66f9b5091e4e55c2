"""LOBs through the whole data path: redo written the way Oracle 19c writes SecureFile LOBs
(in row, out of row; CLOB with multibyte text, NCLOB, BLOB; 0 bytes, a few bytes, 4,000+
bytes, several MB and 50 MB; inserted, replaced whole, set NULL, deleted) -> drcapture ->
Kafka -> drapply -> PostgreSQL and SQLite. The DR rows equal the source's final rows byte
for byte, and no Kafka record on the schema topic is larger than the configured maximum:
the 50 MB value travels in bounded chunk records.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiokafka import TopicPartition
from drcapture.dictionary.model import OracleType
from drcapture.synth.workload import Col, Commit, Delete, Insert, Step, Table, Update, Workload, row
from drcapture.synth.workload_build import build_workload
from drcapture.synth.workload_result import BuiltWorkload
from drcommon.config import KafkaSettings
from drcommon.kafka import committed_consumer

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
T = OracleType
DOCS = Table("HIS", "DOCS", 73000,
             (Col("ID", T.NUMBER), Col("TXT", T.CLOB), Col("NTXT", T.CLOB, charset_form=2),
              Col("BIN", T.BLOB), Col("NOTE", T.VARCHAR2, 40)), pk=("ID",))
MAX_RECORD = 1_000_000
TEXT = "病历 Ärztin report ✓ "  # multibyte in UTF-8, AL16UTF16 in the CLOB's storage
MB = 1024 * 1024


def _sized(n_bytes: int, seed: int) -> str:
    """Upper-case hex of ``n_bytes`` bytes that do not repeat in any short period."""
    out = bytearray()
    block = hashlib.sha256(bytes([seed])).digest()
    while len(out) < n_bytes:
        out += block
        block = hashlib.sha256(block).digest()
    return bytes(out[:n_bytes]).hex().upper()


def _workload() -> Workload:
    steps = (
        Step(1, "a", Insert("DOCS", row(ID="1", TXT="", NTXT="", BIN="", NOTE="empty"))),
        Step(1, "a", Insert("DOCS", row(ID="2", TXT="hi", NTXT="ñ", BIN="00FF", NOTE="small"))),
        Step(1, "a", Insert("DOCS", row(ID="3", TXT=TEXT * 300, NTXT=TEXT * 250,
                                        BIN=_sized(4100, 3), NOTE="4k+"))),
        Step(1, "a", Insert("DOCS", row(ID="4"))),  # NULL LOBs
        Step(1, "a", Insert("DOCS", row(ID="7", TXT=TEXT * 400, BIN=_sized(20_000, 7),
                                        NOTE="to delete"))),
        Step(1, "a", Commit()),
        Step(1, "b", Insert("DOCS", row(ID="5", TXT=TEXT * 150_000, BIN=_sized(3 * MB, 5),
                                        NOTE="several MB"))),
        Step(1, "b", Commit()),
        Step(1, "c", Insert("DOCS", row(ID="6", BIN=_sized(50 * MB, 6), NOTE="50 MB"))),
        Step(1, "c", Commit()),
        Step(1, "d", Update("DOCS", row(ID="2"), row(TXT=TEXT * 2000, BIN=_sized(9000, 2)))),
        Step(1, "d", Update("DOCS", row(ID="3"), row(NTXT=None, NOTE="ntxt cleared"))),
        Step(1, "d", Update("DOCS", row(ID="4"), row(TXT="now set", BIN="ABCD"))),
        Step(1, "d", Delete("DOCS", row(ID="7"))),  # out-of-row LOBs: NotLogged before
        Step(1, "d", Commit()),
    )
    return Workload(tables=(DOCS,), steps=steps, block_size=4096)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuiltWorkload, Path]:
    workload = build_workload(_workload())
    directory = tmp_path_factory.mktemp("lobredo")
    workload.write(directory)
    return workload, directory


def _expected(built: BuiltWorkload) -> dict[str, dict[str, Any]]:
    """The source rows after the workload, from its committed transactions."""
    rows: dict[str, dict[str, Any]] = {}
    for tx in built.expected:
        for change in tx.changes:
            if change.op.value == "insert":
                assert change.after is not None
                rows[str(change.after["ID"])] = dict(change.after)
            elif change.op.value == "update":
                assert change.before is not None and change.after is not None
                rows[str(change.before["ID"])].update(change.after)
            else:
                assert change.before is not None
                del rows[str(change.before["ID"])]
    return rows


def _run(args: list[str], env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=900, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def _capture_and_apply(directory: Path, bootstrap: str, prefix: str, tmp: Path,
                       target: dict[str, str]) -> None:
    logs = sorted(str(p) for p in directory.glob("*.arc"))
    env = dict(os.environ, **{
        "DRCAPTURE__KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "DRCAPTURE__KAFKA__TOPIC_PREFIX": prefix,
        "DRCAPTURE__DATABASE": "SIPROD",
        "DRCAPTURE__DICTIONARY__KIND": "snapshot",
        "DRCAPTURE__DICTIONARY__PATH": str(directory / "dictionary.json"),
        "DRCAPTURE__SOURCE__FILES": json.dumps(logs),
        "DRCAPTURE__FILTER__INCLUDE": json.dumps(["HIS.*"]),
        "DRCAPTURE__SPILL__DIRECTORY": str(tmp / "spill"),
        "DRCAPTURE__SPILL__THRESHOLD_BYTES": str(8 * MB),  # the 50 MB LOB spills
        "DRCAPTURE__STATE_DIR": str(tmp / "state"),
        "DRAPPLY__KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "DRAPPLY__KAFKA__TOPIC_PREFIX": prefix,
        "DRAPPLY__SOURCE__DATABASE": "SIPROD",
        "DRAPPLY__SOURCE__SCHEMAS": json.dumps(["HIS"]),
        "DRAPPLY__APPLY__GROUP_ID": prefix,
        **target,
    })
    _run([str(BIN / "drcapture"), "run", "--config",
          str(ROOT / "deploy/examples/demo-capture.toml")], env, tmp)
    _run([str(BIN / "drapply"), "once", "--config",
          str(ROOT / "deploy/examples/demo-apply.toml")], env, tmp)


async def _largest_record(bootstrap: str, topic: str) -> tuple[int, int]:
    """(records, largest value in bytes) on ``topic``, read committed."""
    consumer = committed_consumer(KafkaSettings(bootstrap_servers=bootstrap), group_id=None)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        count = largest = 0
        while await consumer.position(tp) < end:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    count += 1
                    largest = max(largest, len(record.value or b""))
        return count, largest
    finally:
        await consumer.stop()


def _compare(got: dict[str, dict[str, Any]], expected: dict[str, dict[str, Any]]) -> None:
    assert sorted(got) == sorted(expected)
    for key, want in expected.items():
        have = got[key]
        for column in ("TXT", "NTXT", "BIN", "NOTE"):
            assert have[column] == want.get(column), f"row {key} column {column}"


async def test_postgresql_holds_every_lob_byte_for_byte(
        built: tuple[BuiltWorkload, Path], kafka_bootstrap: str, postgres_dsn: str,
        unique: str, tmp_path: Path) -> None:
    workload, directory = built
    prefix = f"lob{unique}"
    schema = f"his_{unique}"
    _capture_and_apply(directory, kafka_bootstrap, prefix, tmp_path, {
        "DRAPPLY__TARGET__KIND": "postgresql", "DRAPPLY__TARGET__DSN": postgres_dsn,
        "DRAPPLY__RENAMES__SCHEMAS": json.dumps({"HIS": schema})})
    with psycopg.connect(postgres_dsn) as conn:
        rows = conn.execute(f'SELECT id, txt, ntxt, bin, note FROM "{schema}".docs').fetchall()
    got = {str(r[0]): {"TXT": r[1], "NTXT": r[2],
                       "BIN": None if r[3] is None else bytes(r[3]).hex().upper(),
                       "NOTE": r[4]} for r in rows}
    _compare(got, _expected(workload))
    count, largest = await _largest_record(kafka_bootstrap, f"{prefix}.SIPROD.HIS")
    assert largest <= MAX_RECORD and count > 50  # the 50 MB value came in chunk records


async def test_sqlite_holds_every_lob_byte_for_byte(
        built: tuple[BuiltWorkload, Path], kafka_bootstrap: str, unique: str,
        tmp_path: Path) -> None:
    workload, directory = built
    _capture_and_apply(directory, kafka_bootstrap, f"lobs{unique}", tmp_path,
                       {"DRAPPLY__TARGET__PATH": str(tmp_path / "dr.sqlite")})
    db = sqlite3.connect(tmp_path / "dr.HIS.sqlite")
    rows = db.execute('SELECT "ID", "TXT", "NTXT", "BIN", "NOTE" FROM "DOCS"').fetchall()
    got = {str(r[0]): {"TXT": r[1], "NTXT": r[2],
                       "BIN": None if r[3] is None else bytes(r[3]).hex().upper(),
                       "NOTE": r[4]} for r in rows}
    _compare(got, _expected(workload))
