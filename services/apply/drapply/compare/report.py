"""A comparison's result: per table the rows compared, the keys missing, extra or
different (with the columns that differ), the SCNs it was compared at; as JSON (what
``repair`` reads) and as a readable summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from drapply.snapshot.model import WireRow

KINDS = ("missing", "extra", "different")


@dataclass(frozen=True, slots=True)
class KeyDiff:
    """One row that differs: ``missing`` (on the DR side), ``extra`` (only on the DR
    side) or ``different`` (``columns`` name the differing columns); ``key`` is the
    wire-format key, ``scn`` the source SCN it was last compared at."""

    kind: str
    key: WireRow
    scn: int
    columns: tuple[str, ...] = ()

    def document(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "key": list(self.key), "scn": self.scn}
        if self.columns:
            out["columns"] = list(self.columns)
        return out

    @classmethod
    def from_document(cls, data: dict[str, Any]) -> KeyDiff:
        return cls(str(data["kind"]), tuple(data["key"]), int(data["scn"]),
                   tuple(data.get("columns") or ()))  # fmt: skip


@dataclass(slots=True)
class TableResult:
    """One table's comparison."""

    table: str  # OWNER.TABLE at the source
    target: str  # schema.table at the DR side
    key: tuple[str, ...] = ()
    state: str = "compared"  # compared | missing_table | error
    error: str | None = None
    source_rows: int = 0
    dr_rows: int = 0
    missing: int = 0
    extra: int = 0
    different: int = 0
    chunks: int = 0
    chunks_differing: int = 0
    scn_min: int | None = None
    scn_max: int | None = None
    seconds: float = 0.0
    complete: bool = True  # every differing key is listed
    whole_table: bool = True  # False: only some chunks (a sampled verification)
    notes: list[str] = field(default_factory=list)
    differences: list[KeyDiff] = field(default_factory=list)

    @property
    def owner(self) -> str:
        return self.table.split(".", 1)[0]

    @property
    def differing(self) -> int:
        return self.missing + self.extra + self.different + (1 if self.state != "compared" else 0)

    def saw(self, scn: int) -> None:
        self.scn_min = scn if self.scn_min is None else min(self.scn_min, scn)
        self.scn_max = scn if self.scn_max is None else max(self.scn_max, scn)

    def document(self) -> dict[str, Any]:
        return {
            "table": self.table, "target": self.target, "key": list(self.key),
            "state": self.state, "error": self.error, "source_rows": self.source_rows,
            "dr_rows": self.dr_rows, "missing": self.missing, "extra": self.extra,
            "different": self.different, "chunks": self.chunks,
            "chunks_differing": self.chunks_differing, "scn_min": self.scn_min,
            "scn_max": self.scn_max, "seconds": round(self.seconds, 3),
            "complete": self.complete, "whole_table": self.whole_table, "notes": self.notes,
            "differences": [d.document() for d in self.differences],
        }  # fmt: skip

    @classmethod
    def from_document(cls, data: dict[str, Any]) -> TableResult:
        plain = {k: v for k, v in data.items() if k not in ("differences", "key", "notes")}
        result = cls(**plain)
        result.key = tuple(data.get("key") or ())
        result.notes = list(data.get("notes") or [])
        result.differences = [KeyDiff.from_document(d) for d in data.get("differences") or []]
        return result

    def line(self) -> str:
        head = f"{self.table} -> {self.target}: "
        if self.state == "missing_table":
            return head + f"the DR table does not exist ({self.source_rows:,} source rows)"
        if self.state == "error":
            return head + f"not compared: {self.error}"
        scn = (f"SCN {self.scn_min}" if self.scn_min == self.scn_max
               else f"SCN {self.scn_min}..{self.scn_max}")  # fmt: skip
        verdict = ("equal" if not self.differing else
                   f"{self.missing} missing, {self.extra} extra, {self.different} different")
        part = "" if self.whole_table else f" ({self.chunks} chunk(s) of it)"
        return (f"{head}{verdict}; {self.source_rows:,} source / {self.dr_rows:,} DR rows "
                f"at {scn}{part} in {self.seconds:.1f} s")  # fmt: skip


@dataclass(slots=True)
class CompareReport:
    """A whole comparison run."""

    run_id: str
    kind: str  # compare | verify
    requested_by: str
    started_at: datetime
    finished_at: datetime | None = None
    tables: list[TableResult] = field(default_factory=list)

    @property
    def differences(self) -> int:
        return sum(t.differing for t in self.tables)

    @property
    def rows(self) -> int:
        return sum(t.source_rows + t.dr_rows for t in self.tables)

    def document(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "kind": self.kind, "requested_by": self.requested_by,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "differences": self.differences, "tables": [t.document() for t in self.tables],
        }  # fmt: skip

    @classmethod
    def from_document(cls, data: dict[str, Any]) -> CompareReport:
        finished = data.get("finished_at")
        return cls(
            run_id=str(data["run_id"]), kind=str(data.get("kind") or "compare"),
            requested_by=str(data.get("requested_by") or ""),
            started_at=datetime.fromisoformat(data["started_at"]),
            finished_at=datetime.fromisoformat(finished) if finished else None,
            tables=[TableResult.from_document(t) for t in data.get("tables") or []],
        )  # fmt: skip

    def summary(self) -> str:
        lines = [t.line() for t in self.tables]
        for t in self.tables:
            shown = t.differences[:10]
            for d in shown:
                cols = f" ({', '.join(d.columns)})" if d.columns else ""
                lines.append(f"  {t.table} {d.kind} key={','.join(map(str, d.key))}{cols}")
            if len(t.differences) > len(shown):
                lines.append(f"  … {len(t.differences) - len(shown)} more in the JSON report")
            if not t.complete:
                lines.append(f"  {t.table}: more differences than listed; compare again after "
                             "a repair")  # fmt: skip
        total = self.differences
        lines.append(f"run {self.run_id}: " + ("no differences" if not total else
                                                f"{total} difference(s)"))  # fmt: skip
        return "\n".join(lines)
