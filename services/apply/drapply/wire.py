"""A fast reader for transaction records, falling back to :func:`drcommon.serde.decode`.

Measured (bench/README.md): pydantic validation of every row change, with its per-column
type objects, costs more than everything else apply does per row. This reader parses
the record with msgspec into typed structures (:class:`_Record`, :class:`_Change`: the
field names and JSON types are checked in C, unknown fields refused), validates the
envelope (transaction info) with the model, checks the rest of each row change by hand
against the same rules, and builds the model objects without validating them again
(``model_construct``). Anything it does not fully recognise returns ``None`` and the
record goes through ``serde.decode``, which then either reads it or names the exact
problem. A test checks both readers agree on generated messages.

Every change carries its table's column types (``"columns":{…}``), which is most of a
record's bytes and, once parsed, most of the work. msgspec hands each such object over
as its raw bytes; each distinct one is parsed once: changes with the same bytes share
one :class:`SharedColumns` map (hashable by identity, so the planner can key its
compiled plans on it).
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson
from drcommon.model import (
    SCHEMA_VERSION,
    ColumnInfo,
    InvalidText,
    LobWrites,
    NotLogged,
    Operation,
    RowChange,
    SourcePosition,
    TransactionMessage,
    Unsupported,
    ValueChunk,
    ValueRef,
)
from pydantic import BaseModel, ValidationError

_INFO_KEYS = frozenset(ColumnInfo.model_fields)
_OPS = {op.value: op for op in Operation}
_INFO_CACHE: dict[tuple[Any, ...], ColumnInfo] = {}
_NO_COLUMNS = msgspec.Raw(b"{}")
_COLUMNS_CACHE: dict[bytes, SharedColumns] = {}
_CACHE_LIMIT = 100_000  # bounded: one entry per distinct column-type set
_VALUE_KINDS: dict[Any, type[BaseModel]] = {
    "invalid_text": InvalidText,
    "unsupported": Unsupported,
    "not_logged": NotLogged,
    "lob_writes": LobWrites,
    "value_ref": ValueRef,
}


class SharedColumns(dict[str, ColumnInfo]):
    """A change's column types, shared by every change with the same ones; compares as
    a dict but hashes by identity (a cache key that is never rebuilt per change)."""

    __slots__ = ()
    __hash__ = object.__hash__  # type: ignore[assignment]


class _PlainChange(msgspec.Struct, forbid_unknown_fields=True):
    """One row change as JSON has it, its values all strings or NULLs (nearly every
    change): RowChange's fields, their JSON types checked by msgspec."""

    op: str
    owner: str
    table: str
    obj: int | None = None
    pk: list[str] = []
    before: dict[str, str | None] | None = None
    after: dict[str, str | None] | None = None
    columns: msgspec.Raw = _NO_COLUMNS
    ddl: str | None = None
    ddl_command: int | None = None
    position: dict[str, Any] | None = None
    row_id: str | None = None
    undecoded: str | None = None


class _Change(_PlainChange, forbid_unknown_fields=True):
    """A change whose values may be objects (``kind``: invalid text, LOB writes, a
    reference to a large value, …), checked afterwards by :func:`_image`."""

    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class _PlainRecord(msgspec.Struct, forbid_unknown_fields=True):
    """A ``tx`` record's envelope; the model validates it (less the changes)."""

    v: int
    kind: str
    schema: str
    tx: dict[str, Any]
    changes_in_schema: int
    changes: list[_PlainChange]
    chunk: int = 0
    last: bool = True


class _Record(_PlainRecord, forbid_unknown_fields=True):
    """The envelope of a record whose values may be objects."""

    changes: list[_Change]  # type: ignore[assignment]


_PLAIN_DECODER = msgspec.json.Decoder(_PlainRecord)
_DECODER = msgspec.json.Decoder(_Record)


def decode_transaction(value: bytes) -> TransactionMessage | None:
    """The record as a :class:`TransactionMessage`, or None to use the full decoder."""
    doc: _PlainRecord
    plain = True
    try:
        doc = _PLAIN_DECODER.decode(value)
    except msgspec.ValidationError:
        plain = False
    except msgspec.DecodeError:
        return None
    if not plain:  # values that are objects, or not a tx record at all
        try:
            doc = _DECODER.decode(value)
        except msgspec.DecodeError:  # ValidationError too: serde reads or names it
            return None
    if doc.v != SCHEMA_VERSION or doc.kind != "tx":
        return None
    rows = []
    for raw in doc.changes:
        change = _change(raw, plain)
        if change is None:
            return None
        rows.append(change)
    try:
        envelope = TransactionMessage.model_validate(
            {"v": doc.v, "kind": doc.kind, "schema": doc.schema, "tx": doc.tx,
             "changes_in_schema": doc.changes_in_schema, "chunk": doc.chunk,
             "last": doc.last, "changes": ()}
        )  # fmt: skip
    except ValidationError:
        return None
    return envelope.model_copy(update={"changes": tuple(rows)})


def decode_chunk(value: bytes) -> ValueChunk | None:
    """A ``value_chunk`` record, or None to use the full decoder (which names the
    problem)."""
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict) or doc.get("v") != SCHEMA_VERSION:
        return None
    try:
        return ValueChunk.model_validate(doc)
    except ValidationError:
        return None


def _shared_columns(segment: bytes) -> SharedColumns | None:
    found = _COLUMNS_CACHE.get(segment)
    if found is not None:
        return found
    try:
        parsed = _columns(orjson.loads(segment))
    except orjson.JSONDecodeError:
        return None
    if parsed is None:
        return None
    shared = SharedColumns(parsed)
    if len(_COLUMNS_CACHE) < _CACHE_LIMIT:
        _COLUMNS_CACHE[segment] = shared
    return shared


def _change(raw: _PlainChange, plain: bool) -> RowChange | None:
    op = _OPS.get(raw.op)
    if op is None:
        return None
    before: Any = raw.before
    after: Any = raw.after
    if not plain:
        before, after = _image(before), _image(after)
    columns = _shared_columns(bytes(raw.columns))
    if before is False or after is False or columns is None:
        return None
    position = None
    if raw.position is not None:
        try:
            position = SourcePosition.model_validate(raw.position)
        except ValidationError:
            return None
    fields: dict[str, Any] = {
        "op": op, "owner": raw.owner, "table": raw.table, "obj": raw.obj, "pk": tuple(raw.pk),
        "before": before, "after": after, "columns": columns, "ddl": raw.ddl,
        "ddl_command": raw.ddl_command,
        "position": position, "row_id": raw.row_id, "undecoded": raw.undecoded,
    }  # fmt: skip
    return _construct(fields)


def _construct(fields: dict[str, Any]) -> RowChange:
    """What ``RowChange.model_construct`` does, for a complete, already checked field set
    (model_construct's per-field default handling was the largest cost left)."""
    change = object.__new__(RowChange)
    object.__setattr__(change, "__dict__", fields)
    object.__setattr__(change, "__pydantic_fields_set__", set(fields))
    object.__setattr__(change, "__pydantic_extra__", None)
    object.__setattr__(change, "__pydantic_private__", None)
    return change


def _image(raw: dict[str, Any] | None) -> dict[str, Any] | bool | None:
    """An image with exact values; False when something does not fit the model."""
    if raw is None:
        return None
    for name, value in raw.items():
        if value is None or isinstance(value, str):
            continue
        model = _VALUE_KINDS.get(value.get("kind")) if isinstance(value, dict) else None
        if model is None:
            return False
        try:
            raw[name] = model.model_validate(value)
        except ValidationError:
            return False
    return raw


def _columns(raw: Any) -> dict[str, ColumnInfo] | None:
    if not isinstance(raw, dict):
        return None
    out: dict[str, ColumnInfo] = {}
    for name, spec in raw.items():
        info = _info(spec)
        if info is None:
            return None
        out[name] = info
    return out


def _info(spec: Any) -> ColumnInfo | None:
    if not isinstance(spec, dict) or not spec.keys() <= _INFO_KEYS:
        return None
    key = tuple(spec.items())  # encoders keep field order; another order is just a new entry
    found = _INFO_CACHE.get(key)
    if found is not None:
        return found
    if not isinstance(spec.get("type"), str):
        return None
    try:
        found = ColumnInfo.model_validate(spec)
    except ValidationError:
        return None
    if len(_INFO_CACHE) < _CACHE_LIMIT:
        _INFO_CACHE[key] = found
    return found
