"""A fast reader for transaction records, falling back to :func:`drcommon.serde.decode`.

Measured (bench/README.md): pydantic validation of every row change, with its per-column
type objects, costs more than everything else apply does per row. This reader parses
with orjson, validates the envelope (transaction info) with the model, checks each row
change by hand against the same rules, and builds the model objects without validating
them again (``model_construct``). Anything it does not fully recognise returns ``None``
and the record goes through ``serde.decode``, which then either reads it or names the
exact problem. A test checks both readers agree on generated messages.

Every change carries its table's column types (``"columns":{…}``), which is most of a
record's bytes and, once parsed, most of the work. The reader cuts each such object out
of the document before parsing and parses each distinct one once: changes with the same
bytes share one :class:`SharedColumns` map (hashable by identity, so the planner can key
its compiled plans on it). Cutting is checked by parsing: a cut that is not exactly one
JSON object of column types, or a document that does not parse after it, sends the record
to the plain path.
"""

from __future__ import annotations

from typing import Any

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

_CHANGE_KEYS = frozenset(RowChange.model_fields)
_INFO_KEYS = frozenset(ColumnInfo.model_fields)
_OPS = {op.value: op for op in Operation}
_INFO_CACHE: dict[tuple[Any, ...], ColumnInfo] = {}
_PLAIN = frozenset({str, type(None)})
_OPTIONAL = ("obj", "ddl", "row_id", "position", "undecoded")
_MISSING: Any = object()
_COLUMNS_KEY = b'"columns":{'
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


def decode_transaction(value: bytes) -> TransactionMessage | None:
    """The record as a :class:`TransactionMessage`, or None to use the full decoder."""
    cut = _cut_columns(value)
    try:
        doc = orjson.loads(cut[0] if cut is not None else value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict) or doc.get("v") != SCHEMA_VERSION or doc.get("kind") != "tx":
        return None
    changes = doc.get("changes")
    if not isinstance(changes, list):
        return None
    segments = cut[1] if cut is not None else []
    rows = []
    for raw in changes:
        change = _change(raw, segments)
        if change is None:
            return None
        rows.append(change)
    try:
        envelope = TransactionMessage.model_validate({**doc, "changes": ()})
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


def _cut_columns(value: bytes) -> tuple[bytes, list[SharedColumns | None]] | None:
    """The document with each ``"columns":{…}`` replaced by ``"columns":N`` (N indexes the
    returned list of parsed maps; None where a cut did not parse), or None if it has none.

    A column-type object holds flat objects only, so it ends at the first ``}}`` (or is
    ``{}``); a ``}}`` inside a string makes the cut unparsable, never a wrong map.
    """
    start = value.find(_COLUMNS_KEY)
    if start < 0:
        return None
    parts = []
    segments: list[SharedColumns | None] = []
    pos = 0
    while start >= 0:
        body = start + len(_COLUMNS_KEY) - 1
        end = body + 2 if value[body + 1 : body + 2] == b"}" else value.find(b"}}", body) + 2
        if end < 2:
            return None
        parts.append(value[pos:start])
        parts.append(b'"columns":%d' % len(segments))
        segments.append(_shared_columns(value[body:end]))
        pos = end
        start = value.find(_COLUMNS_KEY, pos)
    parts.append(value[pos:])
    return b"".join(parts), segments


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


def _change(raw: Any, segments: list[SharedColumns | None]) -> RowChange | None:
    if type(raw) is not dict or not raw.keys() <= _CHANGE_KEYS:
        return None
    op = _OPS.get(raw.get("op"))  # type: ignore[arg-type]
    owner, table = raw.get("owner"), raw.get("table")
    if op is None or type(owner) is not str or type(table) is not str:
        return None
    pk = raw.get("pk", _MISSING)
    if pk is _MISSING:
        pk = ()
    elif type(pk) is not list or not all(type(k) is str for k in pk):
        return None
    before, after = _image(raw.get("before")), _image(raw.get("after"))
    columns = _columns_of(raw.get("columns", _MISSING), segments)
    if before is False or after is False or columns is None:
        return None
    fields: dict[str, Any] = {
        "op": op, "owner": owner, "table": table, "obj": None, "pk": tuple(pk),
        "before": before, "after": after, "columns": columns, "ddl": None, "position": None,
        "row_id": None, "undecoded": None,
    }  # fmt: skip
    for key in _OPTIONAL:
        if key in raw and not _optional(fields, key, raw[key]):
            return None
    return _construct(fields)


def _columns_of(raw: Any, segments: list[SharedColumns | None]) -> dict[str, ColumnInfo] | None:
    if raw is _MISSING:
        return {}
    if type(raw) is int:  # cut out by _cut_columns (a change never has a number here)
        return segments[raw] if 0 <= raw < len(segments) else None
    return _columns(raw)


def _optional(fields: dict[str, Any], key: str, value: Any) -> bool:
    """Check and store one of the rarely present fields; False when it does not fit."""
    if key == "position":
        try:
            value = SourcePosition.model_validate(value)
        except ValidationError:
            return False
    elif value is not None and not isinstance(value, int if key == "obj" else str):
        return False
    fields[key] = value
    return True


def _construct(fields: dict[str, Any]) -> RowChange:
    """What ``RowChange.model_construct`` does, for a complete, already checked field set
    (model_construct's per-field default handling was the largest cost left)."""
    change = object.__new__(RowChange)
    object.__setattr__(change, "__dict__", fields)
    object.__setattr__(change, "__pydantic_fields_set__", set(fields))
    object.__setattr__(change, "__pydantic_extra__", None)
    object.__setattr__(change, "__pydantic_private__", None)
    return change


def _image(raw: Any) -> dict[str, Any] | bool | None:
    """An image with exact values; False when something does not fit the model."""
    if raw is None:
        return None
    if type(raw) is not dict:
        return False
    if set(map(type, raw.values())) <= _PLAIN:  # the usual case: strings and NULLs only
        return raw
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
