"""The explicit ``(layer, code) -> parser`` table.

Anything not in the table becomes an :class:`UnknownOp` and is counted; index changes
(layer 10) are skipped by design and counted as such. Nothing is guessed at.

Layer 10 has a second table, :data:`IOT_PARSERS`: the leaf row operations of
index-organized tables. Record decoding never uses it (an index change stays a counted
``SkippedOp``); :func:`~drcapture.redo.txn.pieces.pieces_of` applies it to the vectors of
objects the dictionary says are captured IOTs, so ordinary index maintenance costs no
more than before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from drcommon.errors import ParseError

from drcapture.errors import UndecodableChange
from drcapture.redo.layout import CV_TYPE_ENCRYPTED
from drcapture.redo.ops.ddl import Ddl, parse_24_1
from drcapture.redo.ops.direct import DirectLoad, parse_19_1
from drcapture.redo.ops.iot import LeafCode, LeafOp, parse_leaf_op
from drcapture.redo.ops.kdli import LobBlockChange, LobPage, parse_26_2, parse_26_6
from drcapture.redo.ops.kdo import RowOp, parse_ktb, parse_row_op
from drcapture.redo.ops.lob import LobOp, parse_11_17
from drcapture.redo.ops.undo import (
    PartialRollback,
    TxBegin,
    TxEnd,
    UndoRecord,
    parse_5_1,
    parse_5_2,
    parse_5_4,
    parse_partial_rollback,
)
from drcapture.redo.records import RedoRecord
from drcapture.redo.vectors import ChangeVector, VectorSlot


@dataclass(frozen=True, slots=True)
class UnknownOp:
    """A vector whose operation this build does not decode."""

    layer: int
    code: int


@dataclass(frozen=True, slots=True)
class UndecodableOp:
    """A vector whose operation has a parser that refused this variant of it (a layout
    not established); ``reason`` says what. Whether that stops capture depends on whose
    change it is: the assembler decides (see :mod:`drcapture.redo.txn.pieces`)."""

    layer: int
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class SkippedOp:
    """A vector decoded on purpose as nothing (index maintenance, encrypted data)."""

    layer: int
    code: int
    reason: str


Op = (
    UndoRecord | TxBegin | TxEnd | PartialRollback | RowOp | LobOp | DirectLoad | Ddl
    | LobPage | LobBlockChange | UnknownOp | SkippedOp | UndecodableOp
)
Parser = Callable[[ChangeVector], Op]


def _row(cv: ChangeVector) -> RowOp:
    return parse_row_op(cv, 1, parse_ktb(cv, 0))


ROW_CODES = (2, 3, 4, 5, 6, 8, 10, 11, 12, 16, 22)

PARSERS: dict[tuple[int, int], Parser] = {
    (5, 1): parse_5_1,  # undo record
    (5, 2): parse_5_2,  # transaction begin
    (5, 4): parse_5_4,  # commit / rollback
    (5, 6): parse_partial_rollback,  # user undo done on one undo record
    (5, 11): parse_partial_rollback,  # rollback DBA in the transaction slot
    (11, 17): parse_11_17,  # LogMiner LOB support
    (19, 1): parse_19_1,  # direct loader block
    (24, 1): parse_24_1,  # DDL
    (26, 2): parse_26_2,  # LOB block redo (fill, zero …): named, refused when captured
    (26, 6): parse_26_6,  # LOB block image (SecureFile data pages)
    **{(11, code): _row for code in ROW_CODES},
}
SKIPPED_LAYERS = {10: "index change"}

IOT_PARSERS: dict[tuple[int, int], Callable[[ChangeVector], LeafOp]] = {
    (10, LeafCode.INSERT): parse_leaf_op,  # kdxlin: insert leaf row
    (10, LeafCode.DELETE): parse_leaf_op,  # kdxlde: delete leaf row
    (10, LeafCode.NONKEY): parse_leaf_op,  # kdxlnu: whole non-key update
    (10, LeafCode.COLUMNS): parse_leaf_op,  # kdxlcnu: column-vector non-key update
}


class ParsedVector(NamedTuple):
    """A change vector with its decoded operation."""

    vector: ChangeVector
    op: Op


class ParsedRecord:
    """A record with every vector decoded.

    Records from :func:`~drcapture.redo.reader.iter_records` decode their vectors on first
    use of :attr:`ops`: a capture looks at most records' opcodes and objects only (see
    :mod:`drcapture.redo.txn.triage`). Decoding errors surface there, with the record's
    RBA as always. Treat as immutable (``record`` is a plain slot: one is read per record).
    """

    __slots__ = ("_ops", "record")

    def __init__(self, record: RedoRecord, ops: tuple[ParsedVector, ...] | None = None) -> None:
        self.record = record  # the record (header, vectors, bytes)
        self._ops = ops

    @property
    def ops(self) -> tuple[ParsedVector, ...]:
        """Every vector with its decoded operation, in record order."""
        ops = self._ops
        if ops is None:
            ops = self._ops = _decode_ops(self.record, None)
        return ops

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParsedRecord):
            return NotImplemented
        return self.record == other.record and self.ops == other.ops

    def __hash__(self) -> int:
        return hash(self.record)

    def __repr__(self) -> str:
        return f"ParsedRecord(record={self.record!r}, ops={self.ops!r})"


@dataclass(slots=True)
class OpCounters:
    """What the dispatcher saw: decoded, skipped and unknown opcodes (for metrics/logs)."""

    decoded: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    unknown: Counter[str] = field(default_factory=Counter)


def decode_vector(cv: ChangeVector, counters: OpCounters | None = None) -> Op:
    """Decode one vector through the table; unknown opcodes are counted, never guessed."""
    header = cv.header
    key = (header.layer, header.code)
    if header.typ & CV_TYPE_ENCRYPTED:
        op: Op = SkippedOp(key[0], key[1], "encrypted")
        if counters is not None:
            counters.skipped[_name(key)] += 1
        return op
    parser = PARSERS.get(key)
    if parser is None:
        reason = SKIPPED_LAYERS.get(key[0])
        if counters is not None:
            (counters.skipped if reason else counters.unknown)[_name(key)] += 1
        return SkippedOp(key[0], key[1], reason) if reason else UnknownOp(key[0], key[1])
    try:
        op = parser(cv)
    except UndecodableChange as exc:  # the message with its facts (field, offset …)
        op = UndecodableOp(key[0], key[1], str(exc))
    except ParseError as exc:
        where = {"opcode": _name(key), "vector": cv.index, **dict(exc.where)}
        raise type(exc)(exc.message, **where) from exc
    if counters is not None:
        counters.decoded[_name(key)] += 1
    return op


def _name(key: tuple[int, int]) -> str:
    """``"5.1"``: how counters and errors name an opcode."""
    return f"{key[0]}.{key[1]}"


def decode_record(record: RedoRecord, counters: OpCounters | None = None) -> ParsedRecord:
    """Decode every vector of a record; errors carry the record's RBA."""
    return ParsedRecord(record, _decode_ops(record, counters))


def _decode_ops(record: RedoRecord, counters: OpCounters | None) -> tuple[ParsedVector, ...]:
    new = tuple.__new__
    try:
        return tuple([new(ParsedVector, (cv, decode_vector(cv, counters)))
                      for cv in record.vectors])
    except ParseError as exc:
        if "rba" in exc.where:
            raise
        raise type(exc)(exc.message, rba=str(record.rba), scn=record.header.scn,
                        **dict(exc.where)) from exc


class VectorTally:
    """Counts vectors into :class:`OpCounters` by opcode alone, the way
    :func:`decode_vector` would count them (for records whose decoding is deferred)."""

    __slots__ = ("_counters", "_how")

    def __init__(self, counters: OpCounters) -> None:
        self._counters = counters
        self._how: dict[int, tuple[Counter[str], str]] = {}

    def add(self, slots: tuple[VectorSlot, ...]) -> None:
        """Count the vectors of one record."""
        how = self._how
        for slot in slots:
            # One int per (layer, code, encrypted): cheaper to build and hash than a tuple.
            key = (slot.layer << 16) | (slot.code << 8) | (slot.typ & CV_TYPE_ENCRYPTED)
            found = how.get(key)
            if found is None:
                found = how[key] = self._classify(slot.layer, slot.code,
                                                  slot.typ & CV_TYPE_ENCRYPTED)
            found[0][found[1]] += 1

    def _classify(self, layer: int, code: int, encrypted: int) -> tuple[Counter[str], str]:
        c = self._counters
        name = f"{layer}.{code}"
        if encrypted or (layer, code) not in PARSERS:
            return (c.skipped if encrypted or layer in SKIPPED_LAYERS else c.unknown), name
        return c.decoded, name
