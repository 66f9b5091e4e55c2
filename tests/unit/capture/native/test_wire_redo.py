"""The core's serialiser against capture's Python publisher on the transactions capture
really decodes: both Oracle 23 Free archived logs with their dictionary (known tables,
and objects it does not know as ``UNKNOWN``.``OBJ# n`` with hex values), the oracdc
records without a dictionary, writer workloads with CLOB, NCLOB and BLOB values from
empty to several hundred kilobytes (inline, chunked, rows wider than a record), and
random writer workloads — each under the production limits and under small ones."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime

import pytest
from drcapture.dictionary.model import Dictionary
from drcapture.dictionary.olr import load_olr_checkpoint_file
from drcapture.publish import CommittedTransaction
from drcapture.publish_records import RecordLimits
from drcapture.redo.blocks import FileSource, RedoFile
from drcapture.redo.txn.assembler import AssemblerOptions, TransactionAssembler
from drcapture.redo.txn.assembler import CommittedTransaction as Assembled
from drcapture.synth.workload import Commit, Insert, Step, Update, Workload, row
from drcapture.synth.workload_build import build_workload
from drcapture.synth.writer_records import PLATFORMS
from hypothesis import HealthCheck, given, settings

from tests.unit.capture.native.test_wire_model import check_same
from tests.unit.capture.test_redo_helpers import FREE23, FREE23_LOGS, file_records, oracdc_index
from tests.unit.capture.test_writer_lob import DOCS
from tests.unit.capture.test_writer_property import workloads
from tests.unit.capture.test_writer_workload import read_back

# (max_changes, limits): production; small records; one change per record, tight.
LIMITS = [(1000, RecordLimits()), (3, RecordLimits(1024, 5120)), (1, RecordLimits(1100, 5200))]
COMMIT_RBA = "0x000001.00000002.0010"


def publishable(found: Iterable[Assembled]) -> list[CommittedTransaction]:
    """What the pipeline hands the publisher: the commit time in UTC (the redo's times
    are the server's, here UTC)."""
    out = []
    for txn in found:
        moment = txn.commit_ts or datetime(2024, 1, 1)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        out.append(CommittedTransaction(dataclasses.replace(txn, commit_ts=moment).info(),
                                        txn.changes))
    return out


def check_all(transactions: list[CommittedTransaction]) -> int:
    """Every transaction under every limit; the records compared."""
    records = 0
    for tx in transactions:
        for max_changes, limits in LIMITS:
            records += len(check_same(tx, max_changes, limits))
    return records


def test_the_oracle_23_logs_with_their_dictionary() -> None:
    dictionary = load_olr_checkpoint_file(FREE23 / "olr-checkpoint-2266634.json")
    header = RedoFile(FileSource(FREE23_LOGS[0])).header
    asm = TransactionAssembler(dictionary, AssemblerOptions(
        thread=header.thread, db_id=header.db_id, db_name=header.db_name,
        include_unknown=True))  # fmt: skip
    found = publishable(t for path in FREE23_LOGS for rec in file_records(path)
                        for t in asm.feed(rec))  # fmt: skip
    owners = {c.owner for tx in found for c in tx.changes}
    assert len(found) == 18 and owners == {"OLR_TEST", "SYS", "UNKNOWN"}
    assert any(c.position and c.position.con_id == 3 for tx in found for c in tx.changes)
    assert check_all(found) >= 3 * 18


def test_the_oracdc_records_without_a_dictionary() -> None:
    groups = defaultdict(list)
    for record in oracdc_index():
        groups[record.folder].append(record)
    found: list[Assembled] = []
    for records in groups.values():
        asm = TransactionAssembler(Dictionary(), AssemblerOptions(thread=1, include_unknown=True))
        for record in records:
            found.extend(asm.feed(record.parsed()))
        for txn in asm.open_transactions():
            done = asm.commit(txn.xid, scn=1, rba=COMMIT_RBA, ts=datetime(2024, 1, 1))
            if done is not None:
                found.append(done)
    transactions = publishable(found)
    assert sum(len(tx.changes) for tx in transactions) >= 40
    assert all(c.owner == "UNKNOWN" for tx in transactions for c in tx.changes)
    check_all(transactions)


BIG = "病历记录 \"quoted\" \\ é\n" * 20_000  # 420,000 characters, 880,000 UTF-8 bytes


@pytest.mark.parametrize("layout", ["getLinux19c", "getAix19c"])
def test_a_writer_workload_with_lobs(layout: str) -> None:
    steps = (
        Step(1, "a", Insert("DOCS", row(ID="1", TXT="hello", NTXT="", BIN="00FF"))),
        Step(1, "a", Insert("DOCS", row(ID="2", TXT=BIG, NTXT=BIG[:3000], BIN="AB" * 150_000))),
        Step(1, "a", Insert("DOCS", row(ID="3"))),
        Step(1, "a", Commit()),
        Step(1, "b", Update("DOCS", row(ID="1"), row(TXT="x" * 5000, NOTE="n"))),
        Step(1, "b", Update("DOCS", row(ID="3"), row(BIN="", NTXT="ñ" * 2000))),
        Step(1, "b", Commit()),
    )
    built = build_workload(Workload(tables=(DOCS,), steps=steps, platform=PLATFORMS[layout],
                                    block_size=4096))
    transactions = publishable(read_back(built))
    assert [len(tx.changes) for tx in transactions] == [3, 2]
    kinds = [r.kind for tx in transactions for r in check_same(tx, 1000, RecordLimits())]
    assert kinds.count("value_chunk") >= 4  # BIG (880 kB) and BIN (300 kB of hex) chunked
    check_all(transactions)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workloads())
def test_random_writer_workloads(workload: Workload) -> None:
    check_all(publishable(read_back(build_workload(workload))))
