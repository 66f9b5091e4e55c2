"""A fast reader for transaction records, falling back to :func:`drcommon.serde.decode`.

Measured (bench/README.md): pydantic validation of every row change, with its per-column
type objects, costs more than everything else apply does per row. This reader parses
with orjson, validates the envelope (transaction info) with the model, checks each row
change by hand against the same rules, and builds the model objects without validating
them again (``model_construct``); column-type objects are shared between rows. Anything
it does not fully recognise returns ``None`` and the record goes through
``serde.decode``, which then either reads it or names the exact problem. A test checks
both readers agree on generated messages.
"""

from __future__ import annotations

from typing import Any

import orjson
from drcommon.model import (
    SCHEMA_VERSION,
    ColumnInfo,
    InvalidText,
    Operation,
    RowChange,
    SourcePosition,
    TransactionMessage,
    Unsupported,
)
from pydantic import ValidationError

_CHANGE_KEYS = frozenset(RowChange.model_fields)
_INFO_KEYS = frozenset(ColumnInfo.model_fields)
_OPS = {op.value: op for op in Operation}
_INFO_CACHE: dict[tuple[Any, ...], ColumnInfo] = {}
_INT_FIELDS = ("length", "precision", "scale")
_STR_FIELDS = ("charset",)


def decode_transaction(value: bytes) -> TransactionMessage | None:
    """The record as a :class:`TransactionMessage`, or None to use the full decoder."""
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict) or doc.get("v") != SCHEMA_VERSION or doc.get("kind") != "tx":
        return None
    changes = doc.get("changes")
    if not isinstance(changes, list):
        return None
    rows = []
    for raw in changes:
        change = _change(raw)
        if change is None:
            return None
        rows.append(change)
    try:
        envelope = TransactionMessage.model_validate({**doc, "changes": ()})
    except ValidationError:
        return None
    return envelope.model_copy(update={"changes": tuple(rows)})


def _change(raw: Any) -> RowChange | None:
    if not isinstance(raw, dict) or not raw.keys() <= _CHANGE_KEYS:
        return None
    op = _OPS.get(raw.get("op"))  # type: ignore[arg-type]
    owner, table = raw.get("owner"), raw.get("table")
    if op is None or not isinstance(owner, str) or not isinstance(table, str):
        return None
    pk = raw.get("pk", [])
    if not isinstance(pk, list) or not all(isinstance(k, str) for k in pk):
        return None
    before, after = _image(raw.get("before")), _image(raw.get("after"))
    columns = _columns(raw.get("columns", {}))
    if before is False or after is False or columns is None:
        return None
    fields: dict[str, Any] = {
        "op": op, "owner": owner, "table": table, "obj": None, "pk": tuple(pk),
        "before": before, "after": after, "columns": columns, "ddl": None, "position": None,
        "row_id": None,
    }  # fmt: skip
    for key in ("obj", "ddl", "row_id", "position"):
        if key in raw:
            value = raw[key]
            if key == "position":
                try:
                    value = SourcePosition.model_validate(value)
                except ValidationError:
                    return None
            elif value is not None and not isinstance(value, int if key == "obj" else str):
                return None
            fields[key] = value
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


def _image(raw: Any) -> dict[str, Any] | bool | None:
    """An image with exact values; False when something does not fit the model."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        return False
    for name, value in raw.items():
        if value is None or isinstance(value, str):
            continue
        if not isinstance(value, dict) or not isinstance(name, str):
            return False
        try:
            kind = value.get("kind")
            if kind == "invalid_text":
                raw[name] = InvalidText.model_validate(value)
            elif kind == "unsupported":
                raw[name] = Unsupported.model_validate(value)
            else:
                return False
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
    if len(_INFO_CACHE) < 100_000:  # bounded: one entry per distinct column type
        _INFO_CACHE[key] = found
    return found
