"""The typed face of drcapture's compiled core (``drcapture_core``, services/capture/core).

The core reads redo the way :mod:`drcapture.redo` does, byte for byte: files and blocks
with their checks, the record walk with its resume state, record headers and the
change-vector scan; and it decodes column values as :mod:`drcapture.values` does. This
module is all Python sees of it: calls take and return the reader's own types
(:class:`~drcapture.redo.records.ReadState`, :class:`~drcapture.redo.records.RedoRecord`,
:class:`~drcapture.redo.blocks.RedoHeader` …), and the core's errors come back as the
project's ``DRError`` subclasses with the Python reader's messages and location facts.

It also serialises committed transactions into the Kafka records
:func:`drcapture.publish.transaction_records` writes, byte for byte
(:class:`WireBuilder`, :func:`transaction_records`): the tests and the benchmark build the
core's transaction from the Python event model here; the service will fill it in the core.

There is no fallback: without the compiled module installed, importing this module
fails and says how to build it (``bash scripts/setup.sh``).
"""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Final, NoReturn
from zoneinfo import TZPATH

from drcommon.errors import CorruptRedo, DRError, ParseError, SinkError, UnsupportedFormat
from drcommon.model import InvalidText, RowChange, TransactionInfo

from drcapture.errors import UndecodableChange
from drcapture.publish_records import OutRecord, RecordLimits
from drcapture.redo.binary import Endian, endian_for, redo_time
from drcapture.redo.blocks import BlockCheck, BlockStatus, FileHeader, RedoHeader
from drcapture.redo.layout import ByteOrder
from drcapture.redo.records import (
    RawRecord,
    Rba,
    ReadState,
    RecordHeader,
    RecordLayout,
    RedoRecord,
)
from drcapture.redo.vectors import VectorHeader, VectorSlot
from drcapture.values.errors import MalformedValue, UnknownCharset

if TYPE_CHECKING:
    from drcapture.publish import CommittedTransaction

try:
    from drcapture_core import _core
except ImportError as exc:  # pragma: no cover - the tests run with the core installed
    raise ImportError(
        "drcapture's compiled core (the drcapture-core package, services/capture/core) is "
        "not installed in this environment: run `bash scripts/setup.sh`, which builds and "
        "installs it (it needs cargo; see docs/CAPTURE.md, 'Native core')"
    ) from exc

__all__ = [
    "NativeRedoFile",
    "WalkTotals",
    "WireBuilder",
    "WireTransaction",
    "check_block",
    "decode_binary_double",
    "decode_binary_float",
    "decode_boolean",
    "decode_date",
    "decode_interval_ds",
    "decode_interval_ym",
    "decode_number",
    "decode_raw",
    "decode_rowid",
    "decode_text",
    "decode_timestamp",
    "decode_timestamp_tz",
    "fold",
    "parse_file_header",
    "parse_record",
    "parse_redo_header",
    "parse_vector_header",
    "read_record_scn",
    "read_scn",
    "read_uba",
    "redo_time_of",
    "scan_vectors",
    "serialise_all",
    "time_zones",
    "transaction_records",
    "wire_json_string",
    "wire_rowid",
]

_ERRORS: Final[dict[str, type[DRError]]] = {
    "ParseError": ParseError,
    "CorruptRedo": CorruptRedo,
    "UnsupportedFormat": UnsupportedFormat,
    "MalformedValue": MalformedValue,
    "UndecodableChange": UndecodableChange,
    "SinkError": SinkError,
}
_CHARSETS: Final = frozenset(_core.charset_names())
_STATUS: Final = {status.value: status for status in BlockStatus}


def _error(exc: _core.CoreError) -> DRError:
    """The ``DRError`` a core error stands for (an ``rba`` given as a tuple is an
    :class:`Rba`, as the Python reader puts it)."""
    kind, message, facts = exc.args
    where = {key: Rba(*value) if key == "rba" and isinstance(value, tuple) else value
             for key, value in facts}
    return _ERRORS[kind](message, **where)


def _raise(exc: _core.CoreError) -> NoReturn:
    raise _error(exc) from None


def _order(endian: Endian) -> str:
    return endian.order.value


def _endian(symbol: str) -> Endian:
    return endian_for(ByteOrder(symbol))


def _redo_header(fields: _core.RedoHeaderTuple) -> RedoHeader:
    (compat, db_id, db_name, control_seq, size, number), second, third, prev_scn = fields
    activation, description, nab, resetlogs_id, resetlogs_scn, thread = second
    sequence, first_scn, first_time, next_scn, next_time, prev_id = third
    return RedoHeader(
        compat_vsn=compat, db_id=db_id, db_name=db_name, control_seq=control_seq,
        file_size_blocks=size, file_number=number, activation_id=activation,
        description=description, nab=nab, resetlogs_id=resetlogs_id,
        resetlogs_scn=resetlogs_scn, thread=thread, sequence=sequence, first_scn=first_scn,
        first_time=redo_time(first_time), next_scn=next_scn, next_time=redo_time(next_time),
        prev_resetlogs_id=prev_id, prev_resetlogs_scn=prev_scn,
    )


@cache
def _moment(encoded: int) -> datetime | None:
    return redo_time(encoded)  # the core checked it names a real date


def _slots(raw: tuple[_core.SlotTuple, ...] | list[_core.SlotTuple]) -> tuple[VectorSlot, ...]:
    new = tuple.__new__
    return tuple(new(VectorSlot, (o, layer, code, cls, typ, at, tuple(lengths), end))
                 for o, layer, code, cls, typ, at, lengths, end in raw)


def _record(sequence: int, item: _core.RecordTuple, endian: Endian, wide: bool) -> RedoRecord:
    block, offset, (length, vld, scn, sub_scn, con_uid, stamp, size), data, slots = item
    new = tuple.__new__
    moment = _moment(stamp) if stamp is not None else None
    header = new(RecordHeader, (length, vld, scn, sub_scn, con_uid, moment, size))
    return RedoRecord(new(Rba, (sequence, block, offset)), header, _slots(slots), data, endian,
                      wide)


def _sync(state: ReadState, core_state: _core.StateTuple) -> None:
    state.next_block, state.resume_offset, stopped = core_state
    state.stopped = _STATUS[stopped]


@dataclass(frozen=True, slots=True)
class WalkTotals:
    """What a whole-file walk in the core counted."""

    records: int
    bytes: int
    vectors: int


class NativeRedoFile:
    """A redo log opened by the core: block 0 and block 1 checked (errors as
    :class:`~drcapture.redo.blocks.RedoFile` raises them), records walked in Rust.

    ``source`` is a path (errors name it as given, or ``name``) or the log's bytes
    (errors name it ``name``, default ``<memory>``).
    """

    __slots__ = ("_file", "file_header", "header")

    def __init__(self, source: Path | str | bytes, *, name: str | None = None,
                 online: bool = False, verify_checksum: bool = True) -> None:
        try:
            if isinstance(source, bytes):
                self._file = _core.RedoFile.from_bytes(source, name or "<memory>", online,
                                                       verify_checksum)
            else:
                self._file = _core.RedoFile.open_path(source, name or str(source), online,
                                                      verify_checksum)
        except _core.CoreError as exc:
            _raise(exc)
        endian = _endian(self._file.byte_order)
        self.file_header = FileHeader(self._file.block_size, self._file.block_count, endian)
        self.header = _redo_header(self._file.header())

    @property
    def name(self) -> str:
        """How errors name the log."""
        return self._file.name

    @property
    def core(self) -> _core.RedoFile:
        """The core's own handle of the log (for :mod:`drcapture.native_ops`)."""
        return self._file

    @property
    def online(self) -> bool:
        """True for an online log (not-yet-written blocks are a stop, not damage)."""
        return self._file.online

    @property
    def endian(self) -> Endian:
        """The log's byte order."""
        return self.file_header.endian

    @property
    def block_size(self) -> int:
        """Redo block size in bytes."""
        return self.file_header.block_size

    @property
    def last_block(self) -> int:
        """The last block that may hold redo."""
        return self._file.last_block

    def records(self, state: ReadState | None = None) -> Iterator[RedoRecord]:
        """Every record from ``state`` on, parsed (header and vector slots), in redo order.

        ``state`` moves exactly as with :func:`drcapture.redo.reader.iter_records`: the
        position after a record is taken when the next one is asked for; at the end it
        says why reading stopped.
        """
        state = state if state is not None else ReadState()
        walk = self._file.walk(state.next_block, state.resume_offset, state.stopped.value)
        sequence, endian = self.header.sequence, self.endian
        wide = self.header.wide_vectors
        while True:
            try:
                item = next(walk, None)
            except _core.CoreError as exc:
                _sync(state, walk.state)
                _raise(exc)
            _sync(state, walk.state)
            if item is None:
                return
            yield _record(sequence, item, endian, wide)

    def scan(self, state: ReadState | None = None) -> WalkTotals:
        """Walk from ``state`` to the end inside the core (the GIL released), counting
        records, their bytes and their vectors; ``state`` ends where the walk did."""
        state = state if state is not None else ReadState()
        try:
            records, size, vectors, where = self._file.scan(
                state.next_block, state.resume_offset, state.stopped.value)
        except _core.CoreError as exc:
            _raise(exc)
        _sync(state, where)
        return WalkTotals(records, size, vectors)


# --- block and record layer, one call each (the Python reader's signatures) ----------


def fold(block: bytes) -> int:
    """The 16-bit XOR fold of a block (:func:`drcapture.redo.checksum.fold`)."""
    return _core.fold(block)


def check_block(block: bytes, number: int, endian: Endian, check: BlockCheck) -> BlockStatus:
    """:func:`drcapture.redo.blocks.check_block` in the core."""
    try:
        return _STATUS[_core.check_block_status(
            block, number, _order(endian), check.file, check.block_size, check.sequence,
            check.online, check.verify_checksum)]
    except _core.CoreError as exc:
        _raise(exc)


def parse_file_header(block0: bytes, *, file: str) -> FileHeader:
    """:func:`drcapture.redo.blocks.parse_file_header` in the core."""
    try:
        size, count, order = _core.parse_file_header(block0, file)
    except _core.CoreError as exc:
        _raise(exc)
    return FileHeader(size, count, _endian(order))


def parse_redo_header(block1: bytes, endian: Endian) -> RedoHeader:
    """:func:`drcapture.redo.blocks.parse_redo_header` in the core."""
    try:
        return _redo_header(_core.parse_redo_header(block1, _order(endian)))
    except _core.CoreError as exc:
        _raise(exc)


def parse_record(raw: RawRecord, layout: RecordLayout) -> RedoRecord:
    """:func:`drcapture.redo.records.parse_record` in the core."""
    rba = raw.rba
    try:
        item = _core.parse_record(rba.sequence, rba.block, rba.offset, raw.data,
                                  _order(layout.endian), layout.wide_vectors)
    except _core.CoreError as exc:
        _raise(exc)
    return _record(rba.sequence, item, layout.endian, layout.wide_vectors)


def scan_vectors(data: bytes, start: int, end: int, endian: Endian, *,
                 wide: bool) -> tuple[VectorSlot, ...]:
    """:func:`drcapture.redo.vectors.scan_vectors` in the core."""
    try:
        return _slots(_core.scan_vectors(data, start, end, _order(endian), wide))
    except _core.CoreError as exc:
        _raise(exc)


def parse_vector_header(data: bytes, offset: int, endian: Endian, *, wide: bool) -> VectorHeader:
    """:func:`drcapture.redo.vectors.parse_vector_header` in the core."""
    try:
        return VectorHeader(*_core.parse_vector_header(data, offset, _order(endian), wide))
    except _core.CoreError as exc:
        _raise(exc)


def redo_time_of(encoded: int) -> datetime | None:
    """:func:`drcapture.redo.binary.redo_time` in the core."""
    try:
        parts = _core.redo_time(encoded)
    except _core.CoreError as exc:
        _raise(exc)
    return None if parts is None else datetime(*parts)


def read_scn(buf: bytes, offset: int, endian: Endian) -> int:
    """:meth:`drcapture.redo.binary.Endian.scn` in the core."""
    try:
        return _core.read_scn(buf, offset, _order(endian))
    except _core.CoreError as exc:
        _raise(exc)


def read_record_scn(buf: bytes, offset: int, endian: Endian) -> int:
    """:meth:`drcapture.redo.binary.Endian.record_scn` in the core."""
    try:
        return _core.read_record_scn(buf, offset, _order(endian))
    except _core.CoreError as exc:
        _raise(exc)


def read_uba(buf: bytes, offset: int, endian: Endian) -> tuple[int, int, int]:
    """:meth:`drcapture.redo.binary.Endian.uba` in the core."""
    try:
        return _core.read_uba(buf, offset, _order(endian))
    except _core.CoreError as exc:
        _raise(exc)


# --- values (drcapture.values' decoders, same text, same errors) ---------------------


def decode_number(raw: bytes) -> str:
    """:func:`drcapture.values.number.decode_number` in the core."""
    try:
        return _core.decode_number(raw)
    except _core.CoreError as exc:
        _raise(exc)


def decode_binary_float(raw: bytes) -> str:
    """:func:`drcapture.values.ieee.decode_binary_float` in the core."""
    try:
        return _core.decode_binary_float(raw)
    except _core.CoreError as exc:
        _raise(exc)


def decode_binary_double(raw: bytes) -> str:
    """:func:`drcapture.values.ieee.decode_binary_double` in the core."""
    try:
        return _core.decode_binary_double(raw)
    except _core.CoreError as exc:
        _raise(exc)


def decode_date(raw: bytes) -> str:
    """:func:`drcapture.values.datetimes.decode_date` in the core."""
    try:
        return _core.decode_date(raw)
    except _core.CoreError as exc:
        _raise(exc)


def decode_timestamp(raw: bytes, scale: int | None) -> str:
    """:func:`drcapture.values.datetimes.decode_timestamp` in the core."""
    try:
        return _core.decode_timestamp(raw, scale)
    except _core.CoreError as exc:
        _raise(exc)


def decode_timestamp_tz(raw: bytes, scale: int | None) -> str:
    """:func:`drcapture.values.datetimes.decode_timestamp_tz` in the core (region rules
    from the TZif files ``zoneinfo`` reads, see :func:`time_zones`)."""
    try:
        return _core.decode_timestamp_tz(raw, scale, time_zones())
    except _core.CoreError as exc:
        _raise(exc)


def decode_interval_ym(raw: bytes) -> str:
    """:func:`drcapture.values.intervals.decode_interval_ym` in the core."""
    try:
        return _core.decode_interval_ym(raw)
    except _core.CoreError as exc:
        _raise(exc)


def decode_interval_ds(raw: bytes, scale: int | None) -> str:
    """:func:`drcapture.values.intervals.decode_interval_ds` in the core."""
    try:
        return _core.decode_interval_ds(raw, scale)
    except _core.CoreError as exc:
        _raise(exc)


def decode_raw(raw: bytes) -> str:
    """:func:`drcapture.values.binary.decode_raw` in the core."""
    return _core.decode_raw(raw)


def decode_boolean(raw: bytes) -> str:
    """:func:`drcapture.values.binary.decode_boolean` in the core."""
    try:
        return _core.decode_boolean(raw)
    except _core.CoreError as exc:
        _raise(exc)


def decode_rowid(raw: bytes) -> str:
    """:func:`drcapture.values.rowid.decode_rowid` in the core."""
    try:
        return _core.decode_rowid(raw)
    except _core.CoreError as exc:
        _raise(exc)


def decode_text(raw: bytes, charset: str) -> str | InvalidText:
    """:func:`drcapture.values.text.decode_text` of ``charset(name)`` in the core: the
    text, or the bytes as :class:`InvalidText` when they are not valid in the set;
    :class:`UnknownCharset` for a set without codec (the name matched as ``charset()``
    matches it)."""
    name = charset.upper()
    if name not in _CHARSETS:
        raise UnknownCharset(
            f"character set {charset!r} is not supported (known: {', '.join(sorted(_CHARSETS))})",
            charset=charset,
        )
    text = _core.decode_text(raw, name)
    return InvalidText(hex=raw.hex().upper(), charset=name) if text is None else text


def _tzif(region: str) -> bytes | None:
    """The TZif file of ``region`` where ``zoneinfo`` finds it: the first directory of
    its search path that has it, else the ``tzdata`` package."""
    for directory in TZPATH:
        path = os.path.join(directory, region)
        if os.path.isfile(path):
            return Path(path).read_bytes()
    try:
        package, _, leaf = f"tzdata.zoneinfo.{region.replace('/', '.')}".rpartition(".")
        return importlib.resources.files(package).joinpath(leaf).read_bytes()
    except (ImportError, OSError, ValueError):
        return None


@cache
def time_zones() -> _core.TimeZones:
    """The rules of every region the decoder names (loaded once, on first use)."""
    files = [(name, data) for _, name in _core.timezone_regions()
             if (data := _tzif(name)) is not None]
    return _core.TimeZones(files)


# --- the serialiser (committed transactions -> Kafka records) ------------------------


def _raise_wire(exc: _core.CoreError) -> NoReturn:
    """The serialiser's errors: a ``DRError`` (``SinkError``) as the others, or the
    ``ValueError`` the Python functions raise for limits too small to cut a value with."""
    kind, message, _ = exc.args
    if kind == "ValueError":
        raise ValueError(message) from None
    _raise(exc)


class WireTransaction:
    """A committed transaction built in the core, ready to serialise."""

    __slots__ = ("_tx",)

    def __init__(self, tx: _core.WireTransaction) -> None:
        self._tx = tx

    @property
    def key(self) -> bytes:
        """The Kafka key of each of its records (the xid)."""
        return self._tx.key

    @property
    def changes(self) -> int:
        """Row changes it holds."""
        return self._tx.changes

    def records(self, max_changes: int, limits: RecordLimits) -> list[OutRecord]:
        """:func:`drcapture.publish.transaction_records` of this transaction, in the core:
        the same records (schema, body, headers, kind) in the same order, or the same
        error (``SinkError`` with its facts, ``ValueError``)."""
        try:
            _, found = self._tx.records(max_changes, limits.max_value_bytes,
                                        limits.max_record_bytes)
        except _core.CoreError as exc:
            _raise_wire(exc)
        return [OutRecord(schema, value, headers, kind)
                for schema, value, headers, kind in found]


class WireBuilder:
    """Builds :class:`WireTransaction` s from the event model's objects, sharing what the
    row assembler will share: one table shape (owner, table, key, column names and types)
    per table and column set, one copy of each database name."""

    __slots__ = ("_builder",)

    def __init__(self) -> None:
        self._builder = _core.WireBuilder()

    def transaction(self, info: TransactionInfo, changes: Sequence[RowChange]) -> WireTransaction:
        """The core's copy of a transaction. A ``value_ref`` in a change is refused
        (``ValueError``: only the serialiser makes them), as is text Python holds but
        UTF-8 cannot (a lone surrogate: ``UnicodeEncodeError``; orjson refuses it too)."""
        return WireTransaction(self._builder.transaction(info, changes))

    @property
    def shapes(self) -> int:
        """Table shapes built so far."""
        return self._builder.shapes


def transaction_records(
    tx: CommittedTransaction, max_changes: int, limits: RecordLimits
) -> list[OutRecord]:
    """:func:`drcapture.publish.transaction_records` in the core, all records at once."""
    return WireBuilder().transaction(tx.info, tx.changes).records(max_changes, limits)


def serialise_all(
    transactions: Sequence[WireTransaction], max_changes: int, limits: RecordLimits
) -> tuple[int, int]:
    """Serialise every transaction in the core without handing records to Python (the
    GIL released): ``(records, body bytes)``."""
    try:
        return _core.wire_serialise([t._tx for t in transactions], max_changes,
                                    limits.max_value_bytes, limits.max_record_bytes)
    except _core.CoreError as exc:
        _raise_wire(exc)


def wire_json_string(text: str) -> bytes:
    """``orjson.dumps(text)`` as the serialiser writes a string."""
    return _core.wire_json_str(text)


def wire_rowid(data_obj: int, bdba: int, slot: int) -> str:
    """The ROWID text the serialiser writes for a change's row address
    (:func:`drcapture.redo.txn.changes.rowid`)."""
    return _core.wire_rowid(data_obj, bdba, slot)
