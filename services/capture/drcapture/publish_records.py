"""The Kafka records of one committed transaction, each under the record limit.

Pure: a transaction in, encoded records out (schema, body, headers), in the order they
must be written. Per schema, the transaction's changes go in ``tx`` records of at most
``max_changes`` changes (``chunk`` 0.., ``last``). A column value longer than
``max_value_bytes`` (UTF-8 bytes of its wire text) leaves its change: a
:class:`~drcommon.model.ValueRef` takes its place and its text travels in
``value_chunk`` records written right before the ``tx`` record that refers to it. A
``tx`` record that would still exceed ``max_record_bytes`` (many medium values) is split
further, and a single change that does not fit alone has its longest values moved out
too. The first record of each schema's share carries the header ``start=1`` (where a
reader positioning by SCN or time may begin); the others ``start=0``.

The common case costs one encoding per record: values are only looked at in records
whose encoding is longer than ``max_value_bytes`` (no value can exceed it otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import orjson
from drcommon import serde
from drcommon.chunking import Cutter, externalize, text_sizes, value_refs
from drcommon.errors import SinkError
from drcommon.model import RowChange, TransactionInfo, TransactionMessage, ValueChunk

SMALLEST_MOVED = 256  # a reference costs ~150 bytes: shorter values stay in the change
_MAX_CHUNK_NO = 10**9  # upper bound for sizing envelopes (chunk and seq numbers)


@dataclass(frozen=True, slots=True)
class RecordLimits:
    """How large a record may be (see the module docstring)."""

    max_value_bytes: int = 256 * 1024
    max_record_bytes: int = 1_000_000


@dataclass(frozen=True, slots=True)
class OutRecord:
    """One record to write on a schema's topic."""

    schema: str
    value: bytes
    headers: list[tuple[str, bytes]]
    kind: str  # "tx" or "value_chunk"


def schema_records(
    info: TransactionInfo,
    schema: str,
    changes: Sequence[RowChange],
    max_changes: int,
    limits: RecordLimits,
) -> Iterator[OutRecord]:
    """The records of one schema's share of a transaction, in writing order."""
    parts = [list(changes[i : i + max_changes]) for i in range(0, len(changes), max_changes)]
    parts = parts or [[]]
    first = [_encode(info, schema, len(changes), part, i, i == len(parts) - 1)
             for i, part in enumerate(parts)]  # fmt: skip
    if all(len(body) <= limits.max_value_bytes for body in first):
        for index, body in enumerate(first):
            yield _tx_record(info, schema, body, start=index == 0)
        return
    yield from _with_values(info, schema, changes, parts, first, limits)


def _with_values(
    info: TransactionInfo,
    schema: str,
    changes: Sequence[RowChange],
    parts: list[list[RowChange]],
    first: list[bytes],
    limits: RecordLimits,
) -> Iterator[OutRecord]:
    """The slow path: move long values out, split what is still too long, renumber.

    A record of the first pass is reused when its changes, chunk number and ``last``
    flag stay the same."""
    cutter = Cutter(limits.max_value_bytes, _json_budget(info, schema, limits))
    final: list[tuple[list[RowChange], bytes | None]] = []
    for index, (part, body) in enumerate(zip(parts, first, strict=True)):
        same_place = len(final) == index
        if len(body) <= limits.max_value_bytes:
            final.append((part, body if same_place else None))
            continue
        moved = [externalize(c, limits.max_value_bytes, cutter) for c in part]
        if all(m is c for m, c in zip(moved, part, strict=True)) and (
            len(body) <= limits.max_record_bytes
        ):
            final.append((part, body if same_place else None))
            continue
        final.extend((p, None) for p in _fit(info, schema, moved, cutter, limits))
    total, count = len(changes), len(final)
    started = False
    for index, (part, kept) in enumerate(final):
        # A kept body kept its place, so its chunk number and last flag still hold.
        body = kept or _encode(info, schema, total, part, index, index == count - 1)
        # A kept body's changes hold no reference; others may, if any value was moved.
        for change in part if kept is None and cutter.values else ():
            for ref in value_refs(change):
                for chunk in cutter.chunks(ref, schema=schema, xid=info.xid,
                                           commit_scn=info.commit_scn):  # fmt: skip
                    yield _chunk_record(chunk, limits, start=not started)
                    started = True
        if len(body) > limits.max_record_bytes:  # _fit made sure; a last guard
            raise SinkError(
                f"a record of {len(body)} bytes exceeds publish.max_record_bytes",
                xid=info.xid, schema=schema, chunk=index,
            )  # fmt: skip
        yield _tx_record(info, schema, body, start=not started)
        started = True


def _fit(
    info: TransactionInfo,
    schema: str,
    part: list[RowChange],
    cutter: Cutter,
    limits: RecordLimits,
) -> Iterator[list[RowChange]]:
    """``part`` in pieces whose records fit ``max_record_bytes`` (changes in order)."""
    envelope = len(_encode(info, schema, _MAX_CHUNK_NO, [], _MAX_CHUNK_NO, False))
    budget = limits.max_record_bytes - envelope
    current: list[RowChange] = []
    used = 0
    for change in part:
        size = _size(change)
        if size > budget:
            change, size = _shrink(change, budget, cutter, info, schema)
        if current and used + size + 1 > budget:
            yield current
            current, used = [], 0
        current.append(change)
        used += size + 1
    if current:
        yield current


def _shrink(
    change: RowChange, budget: int, cutter: Cutter, info: TransactionInfo, schema: str
) -> tuple[RowChange, int]:
    """Move a change's longest values out until it fits ``budget`` alone."""
    for length in dict.fromkeys(text_sizes(change)):
        if length < SMALLEST_MOVED:
            break
        change = externalize(change, length - 1, cutter)
        size = _size(change)
        if size <= budget:
            return change, size
    raise SinkError(
        "a row change does not fit publish.max_record_bytes even with its long values "
        "moved to value_chunk records",
        xid=info.xid, schema=schema, table=change.table, bytes=_size(change),
    )  # fmt: skip


def _size(change: RowChange) -> int:
    return len(orjson.dumps(change.model_dump(mode="json", by_alias=True, exclude_none=True)))


def _json_budget(info: TransactionInfo, schema: str, limits: RecordLimits) -> int:
    """Room for a chunk's data (as a JSON string) in a chunk record."""
    empty = ValueChunk(schema_name=schema, xid=info.xid, commit_scn=info.commit_scn,
                       id=str(_MAX_CHUNK_NO), seq=_MAX_CHUNK_NO, last=False, data="")  # fmt: skip
    return limits.max_record_bytes - len(serde.encode(empty)) + 2  # the empty data's quotes


def _encode(
    info: TransactionInfo,
    schema: str,
    total: int,
    part: list[RowChange],
    index: int,
    last: bool,
) -> bytes:
    message = TransactionMessage(
        schema_name=schema, tx=info, changes_in_schema=total, chunk=index, last=last,
        changes=tuple(part),
    )  # fmt: skip
    return serde.encode(message)


def _tx_record(info: TransactionInfo, schema: str, body: bytes, *, start: bool) -> OutRecord:
    return OutRecord(schema, body, serde.transaction_headers(info, start=start), "tx")


def _chunk_record(chunk: ValueChunk, limits: RecordLimits, *, start: bool) -> OutRecord:
    body = serde.encode(chunk)
    if len(body) > limits.max_record_bytes:  # pieces() made sure; a last guard
        raise SinkError(
            f"a value_chunk record of {len(body)} bytes exceeds publish.max_record_bytes",
            xid=chunk.xid, value=chunk.id, seq=chunk.seq,
        )  # fmt: skip
    return OutRecord(chunk.schema_name, body, serde.headers_for(chunk, start=start), "value_chunk")
