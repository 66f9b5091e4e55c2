"""The PostgreSQL source reader against a history fed from a real workload: every read
"as of SCN X" equals the workload's committed transactions replayed up to X, chunks
cover each row exactly once, and the start point names the oldest open transaction."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from drapply.settings import SourceDbKind, SourceDbSettings
from drapply.snapshot.model import KeyRange
from drapply.snapshot.postgres import PostgresHistoryReader
from drapply.snapshot.registry import open_reader
from drcapture.synth.workload_build import build_workload
from drcapture.synth.workload_result import BuiltWorkload

from tests.support.history import HistorySource
from tests.support.state import COLUMNS, source_state
from tests.support.workloads import TABLES, random_workload

pytestmark = [pytest.mark.postgres]


@pytest.fixture(scope="module")
def built() -> BuiltWorkload:
    return build_workload(random_workload(77, transactions=120, threads=3, switch_every=30))


@pytest.fixture
def reader(postgres_dsn: str, unique: str, built: BuiltWorkload) -> Iterator[
        tuple[PostgresHistoryReader, HistorySource]]:  # fmt: skip
    source = HistorySource(postgres_dsn, f"src_{unique}", TABLES, 1_000_000)
    source.create()
    source.feed(built)
    settings = SourceDbSettings(kind=SourceDbKind.POSTGRESQL, dsn=postgres_dsn,
                                history_schema=f"src_{unique}", array_size=37)  # fmt: skip
    opened = open_reader(settings)
    assert isinstance(opened, PostgresHistoryReader)
    yield opened, source
    opened.close()
    source.close()


def _rows(reader: PostgresHistoryReader, scn: int, per_chunk: int) -> dict[tuple[str, str], dict[
        str, tuple[str | None, ...]]]:  # fmt: skip
    out: dict[tuple[str, str], dict[str, tuple[str | None, ...]]] = {}
    for table in reader.tables(["SI", "HIS"]):
        assert table.column_names == COLUMNS[(table.owner, table.name)]
        rows: dict[str, tuple[str | None, ...]] = {}
        for chunk in reader.split(table, scn, per_chunk):
            for batch in reader.read(table, scn, chunk):
                for row in batch:
                    assert row[0] is not None and row[0] not in rows, "a row in two chunks"
                    rows[row[0]] = row
        out[(table.owner, table.name)] = rows
    return out


def test_as_of_reads_equal_the_workload_replayed(
    reader: tuple[PostgresHistoryReader, HistorySource], built: BuiltWorkload
) -> None:
    source, _feeder = reader
    commits = [tx.commit_scn for tx in built.expected]
    for scn in (commits[0] - 1, commits[len(commits) // 3], commits[-1]):
        assert _rows(source, scn, per_chunk=25) == source_state(built, upto_scn=scn), scn
    assert source.current_scn() == commits[-1]


def test_start_point_and_key_reads(
    reader: tuple[PostgresHistoryReader, HistorySource], built: BuiltWorkload
) -> None:
    source, _feeder = reader
    for tx in built.expected[10:60:7]:
        scn = tx.commit_scn
        open_at = [t for t in built.expected
                   if t.start_scn is not None and t.start_scn <= scn < t.commit_scn]  # fmt: skip
        point = source.start_point(scn)
        assert point.open_transactions == len(open_at)
        assert point.start_scn == min([scn] + [t.start_scn or scn for t in open_at])
    person = next(t for t in source.tables(["SI"]) if t.name == "PERSON")
    scn = built.expected[-1].commit_scn
    expected = source_state(built)[("SI", "PERSON")]
    keys = sorted(expected, key=int)[:5]
    got = source.read_keys(person, scn, [(k,) for k in keys] + [("999999",)])
    assert {r[0]: r for r in got} == {k: expected[k] for k in keys}
    ranged = [r for b in source.read_range(person, scn, KeyRange((keys[0],), (keys[2],)))
              for r in b]  # fmt: skip
    assert [r[0] for r in ranged] == keys[1:3]
