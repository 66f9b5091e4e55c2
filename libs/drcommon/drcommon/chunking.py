"""Large values in bounded records: cutting a value into ``value_chunk`` pieces, the
:class:`~drcommon.model.ValueRef` that stands for it in the change, and checked
reassembly.

A value is cut at character boundaries into pieces of at most ``max_bytes`` UTF-8 bytes
whose JSON string form also fits ``json_budget`` (a piece of control characters grows
up to six-fold when escaped), so every chunk record stays under the record limit
whatever the text. The reference carries the number of pieces and the length and
SHA-256 of the value's UTF-8 bytes; :class:`ValueBuilder` checks all three, and the
order of the pieces, while it reassembles, so a missing, repeated, reordered or
damaged chunk is an error naming the value and the piece, never a shorter value.

A text value (CLOB/NCLOB text, BLOB hex, any long string) is carried as itself. A value
object too large to travel inline (an :class:`~drcommon.model.InvalidText` or
:class:`~drcommon.model.Unsupported` holding a long hex) is carried as its JSON
document (``form = "json"``).

Everything here is pure apart from the binary sink a builder writes to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from io import BytesIO
from typing import IO

import orjson
from pydantic import TypeAdapter, ValidationError

from drcommon.errors import ParseError
from drcommon.model import (
    ColumnValue,
    ImageValue,
    InvalidText,
    LobWrite,
    LobWrites,
    RowChange,
    Unsupported,
    ValueChunk,
    ValueRef,
)

MIN_PIECE_BYTES = 4  # one UTF-8 character at most: a cut always makes progress
_CONTINUATION_MASK = 0xC0  # 10xxxxxx: a byte inside a multi-byte UTF-8 sequence
_CONTINUATION = 0x80
_COLUMN_VALUE: TypeAdapter[ColumnValue] = TypeAdapter(ColumnValue)


class ChunkError(ParseError):
    """Chunks that do not rebuild the value their reference describes."""


def utf8_cut(data: bytes, max_bytes: int) -> list[bytes]:
    """``data`` (valid UTF-8) in pieces of at most ``max_bytes``, each ending on a
    character boundary; empty data gives one empty piece."""
    if max_bytes < MIN_PIECE_BYTES:
        raise ValueError(f"pieces need at least {MIN_PIECE_BYTES} bytes")
    if len(data) <= max_bytes:
        return [data]
    out = []
    pos, end_all = 0, len(data)
    while pos < end_all:
        end = min(pos + max_bytes, end_all)
        while end < end_all and data[end] & _CONTINUATION_MASK == _CONTINUATION:
            end -= 1
        out.append(data[pos:end])
        pos = end
    return out


def pieces(text: str, max_bytes: int, json_budget: int) -> tuple[list[str], int, str]:
    """Cut ``text`` for ``value_chunk`` records: (pieces, UTF-8 length, SHA-256 hex).

    Each piece has at most ``max_bytes`` UTF-8 bytes and a JSON string form (quotes
    included) of at most ``json_budget`` bytes.
    """
    data = text.encode("utf-8")
    out: list[str] = []
    for raw in utf8_cut(data, max_bytes):
        out.extend(_fit_json(raw.decode("utf-8"), json_budget))
    return out, len(data), hashlib.sha256(data).hexdigest()


def _fit_json(piece: str, json_budget: int) -> list[str]:
    """``piece`` halved (by characters) until each part's JSON form fits the budget
    (only text full of escaped characters ever needs it)."""
    if len(orjson.dumps(piece)) <= json_budget:
        return [piece]
    if len(piece) <= 1:
        raise ValueError(f"json_budget {json_budget} cannot hold one escaped character")
    half = len(piece) // 2
    return _fit_json(piece[:half], json_budget) + _fit_json(piece[half:], json_budget)


@dataclass(slots=True)
class Cutter:
    """Cuts the large values of one transaction's share of a schema into pieces and
    keeps them by reference id (ids count from 0 within the share)."""

    max_bytes: int
    json_budget: int
    values: dict[str, list[str]] = field(default_factory=dict)

    def cut(self, text: str, *, form: str | None = None) -> ValueRef:
        """The reference for ``text``; its pieces are kept under the reference's id."""
        found, length, digest = pieces(text, self.max_bytes, self.json_budget)
        ref = ValueRef(
            id=str(len(self.values)), length=length, chunks=len(found), sha256=digest,
            form="json" if form == "json" else None,
        )  # fmt: skip
        self.values[ref.id] = found
        return ref

    def chunks(self, ref: ValueRef, *, schema: str, xid: str, commit_scn: int) -> list[ValueChunk]:
        """The ``value_chunk`` records of a reference this cutter made."""
        found = self.values[ref.id]
        last = len(found) - 1
        return [
            ValueChunk(schema_name=schema, xid=xid, commit_scn=commit_scn, id=ref.id, seq=i,
                       last=i == last, data=data)
            for i, data in enumerate(found)
        ]  # fmt: skip


# -- references inside a change ---------------------------------------------------------------
def value_refs(change: RowChange) -> Iterator[ValueRef]:
    """The references a change holds, in a fixed order (before, after, column order,
    LOB writes in order)."""
    for image in (change.before, change.after):
        if not image:
            continue
        for value in image.values():
            if isinstance(value, ValueRef):
                yield value
            elif isinstance(value, LobWrites):
                for write in value.writes:
                    if isinstance(write.data, ValueRef):
                        yield write.data


def _plain(image: dict[str, ImageValue]) -> bool:
    return all(type(v) is str or v is None for v in image.values())


def resolve(change: RowChange, lookup: Callable[[ValueRef], str]) -> RowChange:
    """The change with every reference replaced by its value (``lookup`` gives a
    reference's text); the same object when it holds none."""
    update: dict[str, dict[str, ImageValue]] = {}
    for name in ("before", "after"):
        image: dict[str, ImageValue] | None = getattr(change, name)
        if not image or _plain(image):
            continue
        if any(_holds_ref(v) for v in image.values()):
            update[name] = {k: _resolve_value(v, lookup) for k, v in image.items()}
    return change.model_copy(update=update) if update else change


def _holds_ref(value: ImageValue) -> bool:
    return isinstance(value, ValueRef) or (
        isinstance(value, LobWrites) and any(isinstance(w.data, ValueRef) for w in value.writes)
    )


def _resolve_value(value: ImageValue, lookup: Callable[[ValueRef], str]) -> ImageValue:
    if isinstance(value, ValueRef):
        text = lookup(value)
        if value.form != "json":
            return text
        try:
            return _COLUMN_VALUE.validate_json(text)
        except ValidationError as exc:
            raise ChunkError(f"value {value.id} is not a column value: {exc}") from None
    if isinstance(value, LobWrites) and any(isinstance(w.data, ValueRef) for w in value.writes):
        writes = tuple(
            LobWrite(offset=w.offset, data=lookup(w.data) if isinstance(w.data, ValueRef)
                     else w.data)
            for w in value.writes
        )  # fmt: skip
        return value.model_copy(update={"writes": writes})
    return value


def externalize(change: RowChange, over: int, cutter: Cutter) -> RowChange:
    """The change with every value whose text is longer than ``over`` UTF-8 bytes moved
    into ``cutter`` (a :class:`ValueRef` in its place); the same object when none is."""
    update: dict[str, dict[str, ImageValue]] = {}
    for name in ("before", "after"):
        image: dict[str, ImageValue] | None = getattr(change, name)
        if not image or not _may_hold_long(image, over):
            continue
        new = {k: _externalize_value(v, over, cutter) for k, v in image.items()}
        if any(new[k] is not v for k, v in image.items()):
            update[name] = new
    return change.model_copy(update=update) if update else change


def _may_hold_long(image: dict[str, ImageValue], over: int) -> bool:
    """A quick look: no string longer than ``over`` / 4 characters and no value object
    means nothing to move (the common image costs one pass over its values)."""
    quarter = over // 4
    for value in image.values():
        if type(value) is str:
            if len(value) > quarter:
                return True
        elif value is not None:
            return True
    return False


def _long(text: str, over: int) -> bool:
    # UTF-8 takes 1 to 4 bytes per character: most strings are decided by their length.
    if len(text) > over:
        return True
    return len(text) * 4 > over and len(text.encode("utf-8")) > over


def _externalize_value(value: ImageValue, over: int, cutter: Cutter) -> ImageValue:
    if isinstance(value, str):
        return cutter.cut(value) if _long(value, over) else value
    if isinstance(value, InvalidText | Unsupported):
        carried = value.hex or ""
        if _long(carried, over):
            return cutter.cut(orjson.dumps(value.model_dump(mode="json")).decode(), form="json")
        return value
    if isinstance(value, LobWrites):
        if not any(isinstance(w.data, str) and _long(w.data, over) for w in value.writes):
            return value
        writes = tuple(
            LobWrite(offset=w.offset, data=cutter.cut(w.data)) if isinstance(w.data, str)
            and _long(w.data, over) else w
            for w in value.writes
        )  # fmt: skip
        return value.model_copy(update={"writes": writes})
    return value


def text_sizes(change: RowChange) -> list[int]:
    """Lengths (characters) of the texts :func:`externalize` could move, longest first."""
    sizes = []
    for image in (change.before, change.after):
        for value in (image or {}).values():
            if isinstance(value, str):
                sizes.append(len(value))
            elif isinstance(value, InvalidText | Unsupported) and value.hex:
                sizes.append(len(value.hex))
            elif isinstance(value, LobWrites):
                sizes.extend(len(w.data) for w in value.writes if isinstance(w.data, str))
    return sorted(sizes, reverse=True)


# -- reassembly ---------------------------------------------------------------------------
class ValueBuilder:
    """Rebuilds one value from its chunks into ``sink`` (UTF-8 bytes), checking their
    order as they come and, at the end, the reference's count, length and digest."""

    __slots__ = ("_hash", "_sink", "done", "id", "length", "sizes", "xid")

    def __init__(self, first: ValueChunk, sink: IO[bytes]) -> None:
        if first.seq != 0:
            raise ChunkError(
                f"value {first.id}: chunk {first.seq} arrived without chunk 0 before it"
            )
        self.id = first.id
        self.xid = first.xid
        self.sizes: list[int] = []  # UTF-8 bytes of each piece, in order
        self.length = 0
        self.done = False
        self._sink = sink
        self._hash = hashlib.sha256()
        self.add(first)

    def add(self, chunk: ValueChunk) -> None:
        """Take the next chunk of this value."""
        if chunk.id != self.id or chunk.xid != self.xid:
            raise ChunkError(
                f"value {self.id} of {self.xid} is incomplete (chunk {len(self.sizes)} "
                f"expected) but a chunk of value {chunk.id} of {chunk.xid} came"
            )
        if self.done:
            raise ChunkError(f"value {self.id}: chunk {chunk.seq} after its last chunk")
        if chunk.seq != len(self.sizes):
            raise ChunkError(
                f"value {self.id}: chunk {chunk.seq} out of sequence "
                f"(chunk {len(self.sizes)} expected)"
            )
        data = chunk.data.encode("utf-8")
        self._hash.update(data)
        self._sink.write(data)
        self.sizes.append(len(data))
        self.length += len(data)
        self.done = chunk.last

    def check(self, ref: ValueRef) -> None:
        """Refuse a value that is not the one ``ref`` describes."""
        if not self.done:
            raise ChunkError(
                f"value {ref.id}: chunks from {len(self.sizes)} on are missing "
                f"(the reference counts {ref.chunks})"
            )
        if len(self.sizes) != ref.chunks:
            raise ChunkError(
                f"value {ref.id}: {len(self.sizes)} chunks where the reference counts "
                f"{ref.chunks}"
            )
        if self.length != ref.length:
            raise ChunkError(
                f"value {ref.id}: {self.length} bytes where the reference says {ref.length}"
            )
        if self._hash.hexdigest() != ref.sha256:
            raise ChunkError(f"value {ref.id}: SHA-256 differs from the reference (damaged)")


def join(ref: ValueRef, chunks: Sequence[ValueChunk]) -> str:
    """The value of ``ref`` from its chunks, in memory (tools and tests)."""
    if not chunks:
        raise ChunkError(f"value {ref.id}: no chunks")
    sink = BytesIO()
    builder = ValueBuilder(chunks[0], sink)
    for chunk in chunks[1:]:
        builder.add(chunk)
    builder.check(ref)
    return sink.getvalue().decode("utf-8")
