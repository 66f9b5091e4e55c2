"""Wire format: one JSON document per Kafka record, version-checked on the way in.

JSON keeps the topics readable with any Kafka tool at 3 a.m.; orjson keeps it fast.
A record whose ``v`` this build does not know is refused with its topic/offset named,
never half-read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from drcommon.errors import ParseError, UnsupportedFormat
from drcommon.model import (
    SCHEMA_VERSION,
    CaptureCheckpoint,
    DeadLetter,
    DictionaryChange,
    Heartbeat,
    Message,
    PoisonLetter,
    TransactionInfo,
    TransactionMessage,
    ValueChunk,
    Watermark,
    check_version,
)

_BY_KIND: dict[str, type[BaseModel]] = {
    "tx": TransactionMessage,
    "value_chunk": ValueChunk,
    "watermark": Watermark,
    "heartbeat": Heartbeat,
    "checkpoint": CaptureCheckpoint,
    "dead_letter": DeadLetter,
    "poison": PoisonLetter,
    "dictionary_change": DictionaryChange,
}

CONTENT_TYPE = b"application/json"


def encode(message: Message) -> bytes:
    """Serialize a message; absent optional fields are left out, NULL column values kept."""
    return orjson.dumps(message.model_dump(mode="json", by_alias=True, exclude_none=True))


def headers_for(message: Message, *, start: bool | None = None) -> list[tuple[str, bytes]]:
    """Kafka record headers that let tools filter without parsing the body.

    ``start`` (data records capture writes) says whether the record is the first of its
    transaction's records on the topic (header ``start``: ``1``/``0``): where a reader
    that positions by SCN or time may begin. Records without the header (written before
    large values were chunked) start a transaction when they are a ``tx`` record.
    """
    if isinstance(message, TransactionMessage):
        return transaction_headers(message.tx, start=start, version=message.v)
    headers = [("v", str(message.v).encode()), ("kind", message.kind.encode())]
    if isinstance(message, ValueChunk):
        headers.append(("commit_scn", str(message.commit_scn).encode()))
        headers.append(("xid", message.xid.encode()))
    elif isinstance(message, Watermark):
        headers.append(("scn", str(message.scn).encode()))
    if start is not None:
        headers.append(("start", b"1" if start else b"0"))
    return headers


def transaction_headers(
    tx: TransactionInfo, *, start: bool | None = None, version: int = SCHEMA_VERSION
) -> list[tuple[str, bytes]]:
    """The headers of a ``tx`` record (see :func:`headers_for`)."""
    headers = [
        ("v", str(version).encode()), ("kind", b"tx"),
        ("commit_scn", str(tx.commit_scn).encode()), ("xid", tx.xid.encode()),
        ("commit_ts", tx.commit_ts.isoformat().encode()),
    ]  # fmt: skip
    if start is not None:
        headers.append(("start", b"1" if start else b"0"))
    return headers


def starts_transaction(headers: Iterable[tuple[str, bytes]] | None) -> bool:
    """Whether a data record, judged by its headers alone, is the first record of a
    transaction on its topic (see :func:`headers_for`)."""
    kind = start = None
    for key, value in headers or ():
        if key == "kind":
            kind = bytes(value)
        elif key == "start":
            start = bytes(value)
    if start is not None:
        return start == b"1" and kind in (b"tx", b"value_chunk")
    return kind == b"tx"


def decode(data: bytes, *, where: str = "message") -> Message:
    """Parse and validate one record body; errors name ``where`` (topic/partition/offset)."""
    try:
        raw: Any = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"not JSON: {exc}", where=where) from None
    if not isinstance(raw, dict):
        raise ParseError("message is not a JSON object", where=where)
    check_version(raw.get("v"), where=where)
    kind = raw.get("kind")
    model = _BY_KIND.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise UnsupportedFormat(f"unknown message kind {kind!r}", where=where)
    try:
        message = model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ParseError(
            f"malformed {kind} message: {field}: {first['msg']}", where=where
        ) from None
    assert isinstance(
        message,
        TransactionMessage | ValueChunk | Watermark | Heartbeat | CaptureCheckpoint | DeadLetter
        | PoisonLetter | DictionaryChange,
    )
    return message
