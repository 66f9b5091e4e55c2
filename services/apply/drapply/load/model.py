"""What a load is asked to do and what it reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drcommon.errors import DRError


class LoadRefused(DRError):
    """The load cannot start or finish safely; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class LoadRequest:
    """``scn`` None: the reader picks the current SCN. ``truncate`` empties non-empty
    target tables (a re-seed); ``restart`` abandons an unfinished load first."""

    scn: int | None = None
    truncate: bool = False
    restart: bool = False
    requested_by: str = "unknown"
    reason: str = ""


@dataclass(frozen=True, slots=True)
class LoadRow:
    """A load as the target's ``load`` table records it."""

    load_id: str
    scn: int
    start_scn: int
    state: str  # running | done | abandoned
    requested_by: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class TableReport:
    """One table's share of a load."""

    table: str
    chunks: int = 0
    chunks_done_before: int = 0
    chunks_copied: int = 0
    rows: int = 0
    seconds: float = 0.0

    def document(self) -> dict[str, Any]:
        return {"table": self.table, "chunks": self.chunks,
                "chunks_done_before": self.chunks_done_before,
                "chunks_copied": self.chunks_copied, "rows": self.rows,
                "seconds": round(self.seconds, 3)}  # fmt: skip


@dataclass(slots=True)
class LoadReport:
    """What a load did: the SCN, capture's start point, per table, the seeded streams."""

    load_id: str
    scn: int
    start_scn: int
    start_line: str
    capture_line: str
    resumed: bool
    tables: list[TableReport] = field(default_factory=list)
    seeded: dict[str, int] = field(default_factory=dict)  # topic -> next offset
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def document(self) -> dict[str, Any]:
        rate = self.rows / self.seconds if self.seconds > 0 else None
        return {
            "load_id": self.load_id, "scn": self.scn, "capture_start_scn": self.start_scn,
            "start_point": self.start_line, "capture": self.capture_line,
            "resumed": self.resumed, "rows": self.rows, "seconds": round(self.seconds, 3),
            "rows_per_second": round(rate) if rate else None,
            "tables": [t.document() for t in self.tables], "seeded": self.seeded,
        }  # fmt: skip

    def summary(self) -> str:
        lines = [
            f"loaded at SCN {self.scn}" + (" (resumed)" if self.resumed else ""),
            f"capture must start at SCN {self.start_scn}: {self.start_line}",
            f"capture: {self.capture_line}",
        ]
        for t in self.tables:
            lines.append(f"  {t.table}: {t.rows:,} rows in {t.chunks_copied} chunk(s) copied, "
                         f"{t.chunks_done_before} already done")  # fmt: skip
        for topic, offset in sorted(self.seeded.items()):
            lines.append(f"  seeded {topic} at offset {offset} (skips commits <= {self.scn})")
        rate = self.rows / self.seconds if self.seconds > 0 else 0.0
        lines.append(f"{self.rows:,} rows in {self.seconds:.1f} s ({rate:,.0f} rows/s)")
        return "\n".join(lines)
