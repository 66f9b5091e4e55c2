"""LOBs changed in place (:class:`~drcommon.model.LobWrites`): what a target performs.

Semantics, as Oracle's ``DBMS_LOB.WRITE`` and ``TRIM``, which :func:`edited` states
exactly and every target reproduces (a property test compares them):

* the writes apply in order, each at its 0-based offset (characters for CLOB/NCLOB,
  bytes for BLOB), replacing what is there and extending the value where it runs past
  the end;
* a write that starts beyond the end first pads the value up to its offset: spaces for
  CLOB/NCLOB, zero bytes for BLOB;
* then, when given, the final length: longer values are cut, shorter ones padded;
* a NULL value is taken as empty (the ``EMPTY_CLOB()`` a LOB is written into).

Characters are Unicode code points (Python ``str``, PostgreSQL and SQLite text). Oracle
counts a character outside the Basic Multilingual Plane as two; offsets past such
characters differ on an Oracle target.

Re-applying the same :class:`LobEdit` to its own result changes nothing (every written
position ends with its last writer's data, the length is the same), which is why a
replay of already applied offsets may perform it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from drcommon.model import ColumnInfo, LobWrites

from drapply.errors import ValueNotStorable
from drapply.typemap import Family, classify

T = TypeVar("T", str, bytes)


class LobKind(StrEnum):
    """How the LOB's content is held and padded."""

    CLOB = "CLOB"
    NCLOB = "NCLOB"
    BLOB = "BLOB"

    @property
    def binary(self) -> bool:
        return self is LobKind.BLOB


@dataclass(frozen=True, slots=True)
class LobEdit:
    """In-place writes to one LOB column of one row, in target terms (BLOB data as
    bytes)."""

    column: str  # target column name
    kind: LobKind
    writes: tuple[tuple[int, str | bytes], ...]
    length: int | None


def lob_kind(info: ColumnInfo | None, oracle_type: str) -> LobKind:
    """The kind of a LOB column (its column type, else the type the value names)."""
    family = classify(info).family if info is not None else Family.OTHER
    if family is Family.OTHER:
        family = classify(ColumnInfo(type=oracle_type)).family
    if family is Family.BLOB:
        return LobKind.BLOB
    if family is Family.NCLOB:
        return LobKind.NCLOB
    if family is Family.CLOB:
        return LobKind.CLOB
    raise ValueNotStorable(
        f"in-place LOB writes on a {oracle_type} column", oracle_type=oracle_type
    )


def lob_edit(column: str, kind: LobKind, value: LobWrites) -> LobEdit:
    """A :class:`LobWrites` (references already resolved) as a :class:`LobEdit`."""
    writes: list[tuple[int, str | bytes]] = []
    for write in value.writes:
        data = write.data
        if not isinstance(data, str):
            raise ValueNotStorable("a LOB write whose data did not come with it", column=column)
        if kind.binary:
            try:
                writes.append((write.offset, bytes.fromhex(data)))
            except ValueError:
                raise ValueNotStorable("BLOB write data is not hex", column=column) from None
        else:
            writes.append((write.offset, data))
    return LobEdit(column, kind, tuple(writes), value.length)


def edited(value: str | bytes | None, edit: LobEdit) -> str | bytes:
    """The value after ``edit`` (the reference semantics, see the module docstring)."""
    if edit.kind.binary:
        if not isinstance(value, bytes | None):
            raise ValueNotStorable("the BLOB column holds text", column=edit.column)
        return _perform(value or b"", _pairs(edit, bytes), edit.length, b"\x00")
    if not isinstance(value, str | None):
        raise ValueNotStorable("the CLOB column holds bytes", column=edit.column)
    return _perform(value or "", _pairs(edit, str), edit.length, " ")


def _pairs(edit: LobEdit, kind: type[T]) -> list[tuple[int, T]]:
    out: list[tuple[int, T]] = []
    for offset, data in edit.writes:
        if not isinstance(data, kind):
            raise ValueNotStorable("LOB write data of the wrong kind", column=edit.column)
        out.append((offset, data))
    return out


def _perform(value: T, writes: Sequence[tuple[int, T]], length: int | None, pad: T) -> T:
    for offset, data in writes:
        if len(value) < offset:
            value = value + pad * (offset - len(value))
        value = value[:offset] + data + value[offset + len(data) :]
    if length is not None:
        value = value[:length] if len(value) >= length else value + pad * (length - len(value))
    return value
