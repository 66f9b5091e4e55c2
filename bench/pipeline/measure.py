"""What the pipeline bench measures, each from where it happens.

* **DR commit moment**: a bench-only trigger on apply's checkpoint table. Apply updates
  its checkpoint row in the same database transaction as the rows it applies
  (docs/APPLY.md, "Exactly once"); a ``DEFERRABLE INITIALLY DEFERRED`` constraint trigger
  runs at that transaction's COMMIT and notes the checkpoint's commit SCN with
  ``clock_timestamp()``. Apply applies one schema in commit order, so a source commit is
  durable at DR at the first noted moment whose commit SCN reaches its own.
* **Source commit moment**: the bench's LGWR notes when each commit's write returned
  (bench/pipeline/lgwr.py); both clocks are this machine's wall clock.
* **WAN bytes**: the run's topics' log segment files on the broker: the record batches
  as capture's producer sent them (zstd, ``kafka.compression``), plus the broker's
  transaction markers (a few dozen bytes per Kafka transaction, counted: an upper bound).
* **CPU**: each process's user + system seconds from ``/proc`` (PostgreSQL: the
  postmaster and its backends).
"""

from __future__ import annotations

import bisect
import math
import os
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

TICKS = os.sysconf("SC_CLK_TCK")


def install_trigger(dsn: str, checkpoint_table: str, schema: str) -> None:
    """Note every commit of apply's transactions (checkpoint updates) with its time, in
    ``schema``.noted."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {schema}.noted (topic text, "
                     "commit_scn bigint, at timestamptz)")
        conn.execute(f"""
            CREATE OR REPLACE FUNCTION {schema}.note() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO {schema}.noted VALUES
                    (NEW.topic, NEW.commit_scn, clock_timestamp());
                RETURN NULL;
            END $$""")
        conn.execute(f"DROP TRIGGER IF EXISTS bench_note ON {checkpoint_table}")
        conn.execute(f"CREATE CONSTRAINT TRIGGER bench_note AFTER UPDATE ON {checkpoint_table} "
                     "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                     f"EXECUTE FUNCTION {schema}.note()")
        conn.execute(f"TRUNCATE {schema}.noted")


def drop_trigger(dsn: str, schema: str) -> None:
    """The notes and the trigger function (the trigger goes with it)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def dr_commits(dsn: str, schema: str, topic: str) -> tuple[list[int], list[float]]:
    """(commit SCNs, epoch seconds) of apply's commits on ``topic``, in SCN order."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            f"SELECT commit_scn, extract(epoch FROM at)::float8 FROM {schema}.noted "
            "WHERE topic = %s AND commit_scn IS NOT NULL ORDER BY commit_scn, at",
            (topic,)).fetchall()
    return [int(r[0]) for r in rows], [float(r[1]) for r in rows]


def dr_times(commits: Iterable[int], noted: tuple[list[int], list[float]]
             ) -> list[float | None]:
    """Each commit's DR commit moment: the first noted commit reaching its SCN."""
    scns, ats = noted
    out: list[float | None] = []
    for scn in commits:
        k = bisect.bisect_left(scns, scn)
        out.append(ats[k] if k < len(scns) else None)
    return out


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of sorted ``values``."""
    if not values:
        return float("nan")
    rank = max(1, min(len(values), math.ceil(p / 100 * len(values))))
    return values[rank - 1]


@dataclass(frozen=True, slots=True)
class Latency:
    """Source commit (LGWR write) to DR commit, seconds."""

    count: int
    p50: float
    p90: float
    p99: float
    max: float
    mean: float
    first_third_p50: float
    last_third_p50: float
    growth_per_second: float  # change of the p50 from the first third to the last

    @classmethod
    def of(cls, flushed: Sequence[float], latencies: Sequence[float]) -> Latency:
        ordered = sorted(latencies)
        third = max(1, len(latencies) // 3)
        first, last = sorted(latencies[:third]), sorted(latencies[-third:])
        span = (flushed[-third] + flushed[-1]) / 2 - (flushed[0] + flushed[third - 1]) / 2
        head, tail = percentile(first, 50), percentile(last, 50)
        return cls(len(ordered), percentile(ordered, 50), percentile(ordered, 90),
                   percentile(ordered, 99), ordered[-1], statistics.fmean(ordered), head, tail,
                   (tail - head) / span if span > 0 else 0.0)


def topic_bytes(log_dir: Path, prefix: str) -> dict[str, int]:
    """Bytes of each of the run's topics' log segments (``<topic>-<partition>/*.log``)."""
    sizes: dict[str, int] = {}
    for part in log_dir.glob(f"{prefix}.*"):
        topic = part.name.rsplit("-", 1)[0]
        sizes[topic] = sizes.get(topic, 0) + sum(f.stat().st_size for f in part.glob("*.log"))
    return sizes


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, own + reaped children's CPU seconds) of a live process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), sum(int(v) for v in fields[11:15]) / TICKS


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """CPU seconds of ``pid`` (and its live direct children, e.g. PostgreSQL backends)."""
    own = _stat(pid)
    total = own[1] if own else 0.0
    if children:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) != pid:
                stat = _stat(int(entry.name))
                if stat is not None and stat[0] == pid:
                    total += stat[1]
    return total


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine (every session's work)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in fields]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / TICKS


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


def summary(latency: Latency | None) -> dict[str, Any] | None:
    """JSON-friendly latency figures (milliseconds)."""
    if latency is None:
        return None
    ms = {k: round(getattr(latency, k) * 1000, 1)
          for k in ("p50", "p90", "p99", "max", "mean", "first_third_p50", "last_third_p50")}
    return {"count": latency.count, **ms,
            "growth_ms_per_s": round(latency.growth_per_second * 1000, 2)}
