"""Random transaction mixes through the applier into real PostgreSQL and SQLite, against
the in-memory source: no committed transaction lost, none applied twice, none out of
order, whatever the fetch boundaries, group limits, flush sizes and COPY threshold, and
through the in-order re-application a surprise causes.

The applier is driven the way the worker drives it (feed what a fetch returned; on
``rewind`` feed again from the offset it names), with records encoded and decoded like
capture's and Kafka's. Surprises are real: DR-side drift (rows deleted that later
changes need, rows present that later inserts write) under the ``overwrite`` policy
makes a batch miss its rows, the group is re-applied one by one and the policy repairs
the drift, so the target must end equal to the source.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from drapply import applier as applier_module
from drapply.adapters.registry import open_target
from drapply.adapters.sqlite import schema_file
from drapply.applier import Applier, Outcome, Record
from drapply.observer import ApplyObserver
from drapply.settings import ApplySettings, TargetKind, load_apply_settings
from drapply.source import decode_record
from drapply.wiring import applier_factory, naming_for, stream_for
from drcommon import serde
from drcommon.model import Operation, Watermark
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.apply.conftest import assert_same, read_table
from tests.integration.apply.synth import SourceTx, SyntheticSource

TABLES = ("ACCOUNTS", "LEDGER")


class Isolations(ApplyObserver):
    def __init__(self) -> None:
        self.count = 0

    def isolating(self, stream: Any, *, from_offset: int, until_offset: int, why: str) -> None:
        self.count += 1


def _records(source: SyntheticSource, txs: list[SourceTx], chunk: int, start: int) -> list[Record]:
    out: list[Record] = []
    for tx in txs:
        for message in tx.messages(chunk):
            out.append(decode_record("t", 0, start + len(out), 0, serde.encode(message)))
    owner = source.schemas[0]
    mark = Watermark(schema_name=owner, scn=source.scn, emitted_at=source.clock)
    out.append(decode_record("t", 0, start + len(out), 0, serde.encode(mark)))
    return out


def _feed_all(applier: Applier, records: list[Record], splits: Iterator[int]) -> None:
    """What the worker does: feed a fetch's worth; on rewind, fetch again from there."""
    position = applier.position
    end = records[-1].offset + 1 if records else position
    first = records[0].offset if records else position
    steps = 0
    while position < end:
        batch = records[position - first : position - first + next(splits)]
        result = applier.feed(batch)
        if result.outcome is Outcome.REWIND:
            assert result.rewind_to is not None
            position = result.rewind_to
        else:
            assert result.outcome is Outcome.OK, result
            position = batch[-1].offset + 1
        steps += 1
        assert steps < 10_000, "no progress"
    applier.flush()


def _drift(
    settings: ApplySettings, owner: str, created: set[str], later: list[SourceTx], rng: Any
) -> None:
    """Delete rows the later transactions update or delete; insert rows they insert (in
    the tables that exist already)."""
    naming = naming_for(settings, settings.target)
    statements: list[tuple[str, str, tuple[Any, ...]]] = []
    for change in (c for tx in later for c in tx.changes):
        if rng.random() > 0.3 or change.table not in created:
            continue
        table = change.table
        if change.op is Operation.INSERT:
            after = change.after or {}
            statements.append((table, "INSERT INTO {T} ({ID}, {NAME}) VALUES (?, ?)",
                               (int(str(after["ID"])), "drift")))  # fmt: skip
        else:
            before = change.before or {}
            statements.append((table, "DELETE FROM {T} WHERE {ID} = ?", (int(str(before["ID"])),)))
    for table, statement, params in statements:
        ref = naming.table(owner, table)
        text = statement.replace("{ID}", f'"{naming.column(owner, table, "ID")}"').replace(
            "{NAME}", f'"{naming.column(owner, table, "NAME")}"'
        )
        if settings.target.kind is TargetKind.SQLITE:
            db = sqlite3.connect(schema_file(settings.target.path, ref.schema))
            try:
                db.execute(text.replace("{T}", f'"{ref.table}"'), params)
                db.commit()
            finally:
                db.close()
        else:
            assert settings.target.dsn
            with psycopg.connect(settings.target.dsn) as conn:
                conn.execute(
                    text.replace("{T}", f'"{ref.schema}"."{ref.table}"').replace("?", "%s"), params
                )


@pytest.fixture
def target_dir(tmp_path: Path) -> Path:
    return tmp_path


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_mixes_end_equal_to_the_source(
    data: st.DataObject, target_kind: str, target_dir: Path, request: pytest.FixtureRequest
) -> None:
    draw = data.draw
    key = uuid.uuid4().hex[:8]
    owner = f"M{key.upper()}"
    target: dict[str, Any] = {"kind": target_kind}
    if target_kind == "postgresql":
        target.update(
            dsn=request.getfixturevalue("postgres_dsn"),
            control_schema=f"drapply_m{key}",
            copy_threshold=draw(st.sampled_from([0, 1, 3, 200])),
        )
    else:
        target["path"] = target_dir / f"{key}.sqlite"
    drift = draw(st.booleans())
    app_settings = load_apply_settings(
        None,
        kafka={"bootstrap_servers": "127.0.0.1:1", "topic_prefix": "m"},
        target=target,
        policies=[{"tables": ["*.*"], "policy": "overwrite"}] if drift else [],
        apply={
            "max_group_transactions": draw(st.sampled_from([1, 2, 7, 500])),
            "max_group_rows": draw(st.sampled_from([1, 10, 20000])),
        },
    )
    flush_rows = draw(st.sampled_from([1, 4, 50, 5000]))
    source = SyntheticSource([owner], tables=TABLES, seed=draw(st.integers(0, 10**6)))
    chunk = draw(st.sampled_from([1, 3, 100]))

    def transactions(count: int) -> list[SourceTx]:
        txs = [source.transaction(owner, draw(st.integers(1, 10))) for _ in range(count)]
        if draw(st.booleans()):
            txs.insert(
                draw(st.integers(0, count)), source.insert_only(owner, draw(st.integers(1, 400)))
            )
        return txs

    first = transactions(draw(st.integers(1, 25)))
    records = _records(source, first, chunk, 0)
    later = transactions(draw(st.integers(1, 40)))
    records_later = _records(source, later, chunk, len(records))
    splits = iter(draw(st.lists(st.integers(1, 40), min_size=200, max_size=200)) * 1000)

    observer = Isolations()
    stream = stream_for(naming_for(app_settings, app_settings.target), f"m.{owner}", owner)
    session = open_target(app_settings.target).connect()
    saved_flush = applier_module.FLUSH_ROWS
    applier_module.FLUSH_ROWS = flush_rows
    try:
        applier = applier_factory(app_settings, app_settings.target, observer)(session, stream)
        applier.open(0)
        _feed_all(applier, records, splits)
        if drift:
            created = {c.table for tx in first for c in tx.changes}
            _drift(app_settings, owner, created, later, source.rng)
        _feed_all(applier, records_later, splits)
        checkpoint = session.load_checkpoint(stream, 0)
    finally:
        applier_module.FLUSH_ROWS = saved_flush
        session.close()
    assert checkpoint.next_offset == len(records) + len(records_later)
    assert drift or observer.count == 0, "a clean mix fell back to one-by-one"
    assert checkpoint.commit_scn == later[-1].info.commit_scn
    touched = {c.table for tx in first + later for c in tx.changes}
    for table in TABLES:
        actual = read_table(app_settings, owner, table) if table in touched else {}
        assert_same(source.state[(owner, table)], actual, table)
    if target_kind == "postgresql":
        with psycopg.connect(str(target["dsn"]), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{stream.schema}" CASCADE')
            conn.execute(f'DROP SCHEMA "{target["control_schema"]}" CASCADE')
