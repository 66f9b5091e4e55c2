"""A source table with LOB columns for apply's LOB tests, published by capture's real
:class:`~drcapture.publish.Publisher`.

Capture's LOB decoding lands separately, so the row changes are built here the way it
will publish them: CLOB/NCLOB as text, BLOB as upper-case hex, in-place changes as
:class:`~drcommon.model.LobWrites`. The table's expected content follows every change
(LOB writes through the reference semantics, :func:`drapply.lobs.edited`), and the
target is compared with it by length and SHA-256 per value (a 50 MB difference is not
something to print).
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from drapply.adapters.sqlite import schema_file
from drapply.lobs import LobEdit, LobKind, edited
from drapply.settings import ApplySettings, TargetKind
from drapply.wiring import naming_for
from drcapture.publish import CommittedTransaction
from drcommon.model import ColumnInfo, LobWrite, LobWrites, Operation, RowChange, TransactionInfo

COLUMNS: dict[str, ColumnInfo] = {
    "ID": ColumnInfo(type="NUMBER", precision=10, scale=0, nullable=False),
    "NOTE": ColumnInfo(type="VARCHAR2", length=100),
    "TXT": ColumnInfo(type="CLOB"),
    "NTXT": ColumnInfo(type="NCLOB"),
    "BIN": ColumnInfo(type="BLOB"),
}
KINDS = {"TXT": LobKind.CLOB, "NTXT": LobKind.NCLOB, "BIN": LobKind.BLOB}
Row = dict[str, str | None]
# Every UTF-8 width, characters JSON escapes, a character outside the BMP; no NUL
# (PostgreSQL text cannot hold it).
ALPHABET = 'abc xyz é ß ж 汉字 ひらがな 😀 "q" \\ \t\n\x01'


def text_of(rng: random.Random, size: int) -> str:
    """About ``size`` bytes of UTF-8 text (large values repeat a random block)."""
    if size <= 0:
        return ""
    block = "".join(rng.choices(ALPHABET, k=min(size, 50_000)))
    per_char = max(1, len(block.encode()) // len(block))
    text = (block * (size // (len(block) * per_char) + 1))[: max(1, size // per_char)]
    return f"<{rng.randrange(10**9)}>" + text


def blob_of(rng: random.Random, size: int) -> str:
    """``size`` random bytes as upper-case hex (BLOB's wire form)."""
    return rng.randbytes(size).hex().upper()


def fingerprint(value: object) -> tuple[str, int, str] | None:
    """(kind, length, SHA-256) of a value read back or expected (hex for BLOB)."""
    if value is None:
        return None
    if isinstance(value, bytes | memoryview):
        data = bytes(value)
        return ("bytes", len(data), hashlib.sha256(data).hexdigest())
    text = str(value)
    return ("text", len(text), hashlib.sha256(text.encode()).hexdigest())


@dataclass
class LobTable:
    """One source table with LOB columns and its expected content."""

    owner: str
    table: str = "DOCS"
    seed: int = 1
    scn: int = 5000
    rows: dict[int, Row] = field(default_factory=dict)
    clock: datetime = field(
        default_factory=lambda: datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    )
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def _change(self, op: Operation, **images: Any) -> RowChange:
        return RowChange(op=op, owner=self.owner, table=self.table, pk=("ID",),
                         columns=COLUMNS, **images)  # fmt: skip

    def insert(self, ident: int, **values: str | None) -> RowChange:
        row: Row = {"ID": str(ident), "NOTE": f"row {ident}", "TXT": None, "NTXT": None,
                    "BIN": None, **values}  # fmt: skip
        self.rows[ident] = row
        return self._change(Operation.INSERT, after=dict(row))

    def update(self, ident: int, **values: str | None) -> RowChange:
        self.rows[ident].update(values)
        return self._change(Operation.UPDATE, before={"ID": str(ident)}, after=dict(values))

    def write(
        self, ident: int, column: str, writes: list[tuple[int, str]], length: int | None = None
    ) -> RowChange:
        """An in-place change of one LOB (BLOB data in hex), and a note set beside it."""
        kind = KINDS[column]
        value = LobWrites(
            oracle_type=kind.value, writes=tuple(LobWrite(offset=o, data=d) for o, d in writes),
            length=length,
        )  # fmt: skip
        self.rows[ident][column] = expected_after(self.rows[ident][column], kind, writes, length)
        note = f"written {self.rng.randrange(10**6)}"
        self.rows[ident]["NOTE"] = note
        return self._change(Operation.UPDATE, before={"ID": str(ident)},
                            after={"NOTE": note, column: value})  # fmt: skip

    def delete(self, ident: int) -> RowChange:
        del self.rows[ident]
        return self._change(Operation.DELETE, before={"ID": str(ident)})

    def commit(self, changes: list[RowChange]) -> CommittedTransaction:
        self.scn += self.rng.randint(1, 5)
        self.clock += timedelta(milliseconds=self.rng.randint(1, 50))
        info = TransactionInfo(
            xid=f"0x{self.scn:04x}.007.{self.rng.randrange(10**8):08d}", commit_scn=self.scn,
            commit_ts=self.clock, thread=1, commit_rba=f"0x{self.scn:06x}.0001.0010",
            changes_total=len(changes), schemas=(self.owner,),
        )  # fmt: skip
        return CommittedTransaction(info, changes)

    def expected(self) -> dict[int, dict[str, Any]]:
        """Fingerprints of the expected rows (BLOB hex as bytes, as targets hold it)."""
        out = {}
        for ident, row in self.rows.items():
            values: dict[str, Any] = {}
            for name, value in row.items():
                if name == "BIN" and value is not None:
                    values[name] = fingerprint(bytes.fromhex(value))
                else:
                    values[name] = fingerprint(value)
            out[ident] = values
        return out


def expected_after(
    current: str | None, kind: LobKind, writes: list[tuple[int, str]], length: int | None
) -> str:
    """The wire form of a LOB after in-place writes (the reference semantics)."""
    if kind.binary:
        edit = LobEdit("BIN", kind, tuple((o, bytes.fromhex(d)) for o, d in writes), length)
        result = edited(bytes.fromhex(current) if current is not None else None, edit)
        assert isinstance(result, bytes)
        return result.hex().upper()
    result = edited(current, LobEdit("TXT", kind, tuple(writes), length))
    assert isinstance(result, str)
    return result


def read_lobs(settings: ApplySettings, owner: str, table: str = "DOCS") -> dict[int, Any]:
    """Fingerprints of every row of the target table, keyed by ID."""
    naming = naming_for(settings, settings.target)
    ref = naming.table(owner, table)
    select = ", ".join(f'"{naming.column(owner, table, c)}"' for c in COLUMNS)
    if settings.target.kind is TargetKind.SQLITE:
        db = sqlite3.connect(schema_file(settings.target.path, ref.schema))
        try:
            rows = db.execute(f'SELECT {select} FROM "{ref.table}"').fetchall()
        finally:
            db.close()
    else:
        assert settings.target.dsn
        with psycopg.connect(settings.target.dsn) as conn:
            rows = conn.execute(f'SELECT {select} FROM "{ref.schema}"."{ref.table}"').fetchall()
    out: dict[int, Any] = {}
    for row in rows:
        values = dict(zip(COLUMNS, row, strict=True))
        ident = int(values["ID"])
        assert ident not in out, f"duplicate row {ident}"
        values["ID"] = fingerprint(str(ident))
        out[ident] = {k: v if k == "ID" else fingerprint(v) for k, v in values.items()}
    return out
