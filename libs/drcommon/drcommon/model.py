"""The event model: what capture publishes and apply consumes.

Values are exact and JSON-native:

* ``NUMBER``/``FLOAT``: a decimal string (``"-12.5"``), never a float;
* ``BINARY_FLOAT``/``BINARY_DOUBLE``: the shortest string that reads back to the same
  IEEE value (``"0.1"``, ``"NaN"``, ``"Infinity"``);
* ``DATE``/``TIMESTAMP``: ISO 8601 with the stored precision (``"2024-02-29T13:05:00.123456"``),
  with an offset or a region for ``WITH TIME ZONE`` (``"…+08:00"`` / ``"…[Asia/Shanghai]"``);
* ``INTERVAL``: ISO 8601 durations (``"P1Y2M"``, ``"-P3DT4H5M6.5S"``);
* ``RAW``: upper-case hex;
* text: ``str``; bytes that are not valid in the column's character set travel as an
  :class:`InvalidText` (hex plus the character set), never replaced;
* a type capture cannot decode yet travels as :class:`Unsupported` so the row is never
  dropped silently;
* a value the redo does not carry (a LOB's old content in a delete, for one) travels as
  :class:`NotLogged`: never a NULL, never raw bytes presented as a value;
* LOBs: CLOB/NCLOB as text, BLOB as upper-case hex, like RAW; a LOB changed in place
  (``DBMS_LOB.WRITE``, ``TRIM``), whose whole new value the redo does not carry, as
  :class:`LobWrites` that apply performs on the value the row holds;
* a value too large for one Kafka record (above capture's ``publish.max_value_bytes``)
  travels as a :class:`ValueRef`: its text is cut into :class:`ValueChunk` records that
  precede, on the same topic and in the same Kafka transaction, the record holding the
  reference (see ``docs/INTERFACES.md``, "Large values"). The reference carries the
  value's length and SHA-256 (over its UTF-8 bytes), so a reader refuses a value whose
  chunks are missing or damaged instead of storing a truncated one.

A change capture could not decode at all, published because the operator chose so
(``source.on_undecodable = "publish_marked"``), carries the reason in ``undecoded``;
apply refuses such changes.

Every message carries ``v`` (:data:`SCHEMA_VERSION`); :func:`check_version` refuses others.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from drcommon.errors import UnsupportedFormat

SCHEMA_VERSION = 1


class InvalidText(BaseModel):
    """Text bytes that do not decode in the declared character set, kept verbatim."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["invalid_text"] = "invalid_text"
    hex: str
    charset: str


class Unsupported(BaseModel):
    """A column whose type capture does not decode yet (LOB, XMLTYPE, object types)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["unsupported"] = "unsupported"
    oracle_type: str
    hex: str | None = None


class NotLogged(BaseModel):
    """A column value the redo does not carry: the change happened, but its value for
    this column cannot be known from the log (``reason`` says why)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["not_logged"] = "not_logged"
    oracle_type: str
    reason: str


class ValueRef(BaseModel):
    """A value carried by ``value_chunk`` records instead of inline: ``id`` names it
    among the chunks before the record that holds it, ``chunks`` counts them, and
    ``length``/``sha256`` describe the UTF-8 bytes of the whole value (the text for
    CLOB/NCLOB, the upper-case hex for BLOB) so the reader checks what it reassembled.
    With ``form = "json"`` the text is the JSON document of a value object (an
    :class:`InvalidText` or :class:`Unsupported` whose hex is too long to travel inline).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["value_ref"] = "value_ref"
    id: str = Field(min_length=1)
    length: int = Field(ge=0)
    chunks: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    form: Literal["json"] | None = None


class LobWrite(BaseModel):
    """One write into a LOB: ``data`` (text, or upper-case hex for a BLOB) at ``offset``
    (0-based, in characters for CLOB/NCLOB, bytes for BLOB). Large data travels as a
    :class:`ValueRef` like any large value."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    offset: int = Field(ge=0)
    data: Annotated[str | ValueRef, Field(union_mode="left_to_right")]


class LobWrites(BaseModel):
    """A LOB changed in place: the writes, in order, and its length afterwards when the
    redo says (a trim shortens it). Apply performs them on the value the row holds."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["lob_writes"] = "lob_writes"
    oracle_type: str
    writes: tuple[LobWrite, ...]
    length: int | None = Field(default=None, ge=0)


ColumnValue = Annotated[
    str | InvalidText | Unsupported | NotLogged | LobWrites | None,
    Field(union_mode="left_to_right"),
]
# What an image holds on the wire: a column value, or a reference to one that travels in
# ``value_chunk`` records (only between capture's publisher and apply's reader).
ImageValue = Annotated[
    str | InvalidText | Unsupported | NotLogged | LobWrites | ValueRef | None,
    Field(union_mode="left_to_right"),
]


class Operation(StrEnum):
    """What a row change does."""

    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    DDL = "ddl"
    UNKNOWN = "unknown"  # capture could not tell; only on changes marked ``undecoded``


class ColumnInfo(BaseModel):
    """The Oracle type of one column, as the capture dictionary knows it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    type: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    nullable: bool = True
    charset: str | None = None


class SourcePosition(BaseModel):
    """Where a change was read: enough to find it again in the redo stream."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    db_id: int
    db_name: str
    con_id: int | None = None
    thread: int
    sequence: int
    rba: str
    scn: int
    sub_scn: int = 0


class RowChange(BaseModel):
    """One row change (or one DDL statement) of a committed transaction."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    op: Operation
    owner: str
    table: str
    obj: int | None = None
    pk: tuple[str, ...] = ()
    before: dict[str, ImageValue] | None = None
    after: dict[str, ImageValue] | None = None
    columns: dict[str, ColumnInfo] = Field(default_factory=dict)
    ddl: str | None = None
    # A DDL's kind: Oracle's command number from its 24.1 record (drcommon.sqlcommand).
    ddl_command: int | None = None
    position: SourcePosition | None = None
    row_id: str | None = None
    undecoded: str | None = None  # why capture could not decode this change (see module doc)


class TransactionInfo(BaseModel):
    """The Oracle transaction a change belongs to.

    ``order`` is the total commit order across RAC threads: (commit SCN, thread, commit RBA).
    Two transactions can commit at the same SCN on different threads, so the SCN alone
    is not a key.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    xid: str
    commit_scn: int
    commit_ts: datetime
    thread: int
    commit_rba: str
    start_scn: int | None = None
    changes_total: int
    schemas: tuple[str, ...]

    @property
    def order(self) -> tuple[int, int, str]:
        return (self.commit_scn, self.thread, self.commit_rba)


class TransactionMessage(BaseModel):
    """A schema's share of one committed Oracle transaction: one Kafka record.

    Large transactions are split in chunks (``chunk`` counts from 0, ``last`` marks the
    final one); every chunk is published in the same Kafka transaction, so a
    ``read_committed`` consumer sees all of them or none, contiguously.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    v: int = SCHEMA_VERSION
    kind: Literal["tx"] = "tx"
    schema_name: str = Field(alias="schema")
    tx: TransactionInfo
    changes_in_schema: int
    chunk: int = 0
    last: bool = True
    changes: tuple[RowChange, ...]


class ValueChunk(BaseModel):
    """One piece of a large value (see :class:`ValueRef`), a record of its own.

    The chunks of a value follow each other in ``seq`` order (0, 1, … with ``last`` on
    the final one); all chunks a transaction record refers to come right before it, on
    the same topic and partition and in the same Kafka transaction. ``data`` is a piece
    of the value's text cut at a character boundary; the value is the concatenation.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    v: int = SCHEMA_VERSION
    kind: Literal["value_chunk"] = "value_chunk"
    schema_name: str = Field(alias="schema")
    xid: str
    commit_scn: int
    id: str = Field(min_length=1)
    seq: int = Field(ge=0)
    last: bool
    data: str


class Watermark(BaseModel):
    """Capture's promise on a schema topic: every transaction with commit SCN <= ``scn``
    that touches this schema is already published before this record."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    v: int = SCHEMA_VERSION
    kind: Literal["watermark"] = "watermark"
    schema_name: str = Field(alias="schema")
    scn: int
    source_ts: datetime | None = None
    emitted_at: datetime


class Heartbeat(BaseModel):
    """Capture's liveness on ``_heartbeats``: how far each thread has read and the
    watermark, with the source time it stands for (lag when the source is idle)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    v: int = SCHEMA_VERSION
    kind: Literal["heartbeat"] = "heartbeat"
    capture_id: str
    watermark_scn: int
    source_ts: datetime | None = None
    threads: dict[int, int] = Field(default_factory=dict)  # thread -> SCN read
    emitted_at: datetime


class CaptureCheckpoint(BaseModel):
    """Capture's restart state, published in the same Kafka transaction as the data.

    ``threads`` maps a RAC thread to where reading must restart (log sequence and block
    of the oldest still-open transaction, or the position after the last record read);
    ``last_published`` is the commit order of the last transaction published. When
    ``open_transactions_ref`` names a saved state of the open transactions (a file in
    capture's state directory, ``name:sha256``), ``threads`` are the positions that
    state was taken at, and ``fallback_threads`` the classic positions to use if the
    file is lost.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    v: int = SCHEMA_VERSION
    kind: Literal["checkpoint"] = "checkpoint"
    capture_id: str
    threads: dict[int, ThreadRestart]
    last_published: tuple[int, int, str] | None = None
    safe_scn: int
    written_at: datetime
    open_transactions_ref: str | None = None
    fallback_threads: dict[int, ThreadRestart] | None = None


class ThreadRestart(BaseModel):
    """Restart position of one RAC thread."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    sequence: int
    block: int
    offset: int = 0
    scn: int
    resetlogs: int | None = None
    exclusive: bool = False  # the record at this RBA was already read: start after it


class DeadLetter(BaseModel):
    """A transaction apply could not apply and parked, with why (one record per chunk
    of the transaction). Values its message holds as :class:`ValueRef` travel in
    ``value_chunk`` records published right before it on the dead-letter topic, in the
    same Kafka transaction."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    v: int = SCHEMA_VERSION
    kind: Literal["dead_letter"] = "dead_letter"
    topic: str
    partition: int
    offsets: tuple[int, ...]
    schema_name: str = Field(alias="schema")
    xid: str
    commit_scn: int
    error: str
    parked_at: datetime
    message: TransactionMessage


class PoisonLetter(BaseModel):
    """A record of a schema topic that could not be read (not a message, or breaking the
    chunk protocol), parked under ``policy = "park"`` with the rest of its transaction:
    its bytes as they were (base64), its key (capture keys every record of a transaction
    with the XID) and headers, and why it could not be read."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    v: int = SCHEMA_VERSION
    kind: Literal["poison"] = "poison"
    topic: str
    partition: int
    offset: int
    schema_name: str = Field(alias="schema")
    key: str | None = None
    error: str
    parked_at: datetime
    value_b64: str | None = None
    headers: tuple[tuple[str, str], ...] = ()  # (name, value as base64)


class DictionaryRowChange(BaseModel):
    """One committed change to a row of a SYS dictionary table (``OBJ$``, ``COL$`` …)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    table: str
    op: Literal["insert", "update", "delete"]
    rowid: str
    values: dict[str, str | None] = Field(default_factory=dict)


class DictionaryChange(BaseModel):
    """A DDL transaction's changes to the dictionary tables, as capture applied them: the
    dictionary version valid from ``scn`` (its commit SCN) on. Capture publishes it to the
    checkpoint topic (key ``<capture_id>#dictionary#…``) in the same Kafka transaction as
    the DDL, and rebuilds its dictionary from these after a restart."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    v: int = SCHEMA_VERSION
    kind: Literal["dictionary_change"] = "dictionary_change"
    capture_id: str
    scn: int
    thread: int
    commit_rba: str
    xid: str
    changes: tuple[DictionaryRowChange, ...]
    written_at: datetime


Message = (
    TransactionMessage | ValueChunk | Watermark | Heartbeat | CaptureCheckpoint | DeadLetter
    | PoisonLetter | DictionaryChange
)

KNOWN_KINDS = {"tx", "value_chunk", "watermark", "heartbeat", "checkpoint", "dead_letter",
               "poison", "dictionary_change"}


def check_version(version: object, *, where: str) -> None:
    """Refuse a message whose schema version this build does not understand."""
    if version != SCHEMA_VERSION:
        raise UnsupportedFormat(
            f"message schema version {version!r} is not supported (this build reads "
            f"version {SCHEMA_VERSION})",
            where=where,
        )


CaptureCheckpoint.model_rebuild()
