"""One pipeline run: the LGWR, the real capture and apply services, the broker and
PostgreSQL, from the warm-up to the drain, and what was measured.

Phases: the LGWR writes the warm-up commits and pauses; once apply has applied them
(topics created, consumer assigned, tables made), the bench's commit trigger is
installed and the LGWR goes on with the measured part; when it is done, the run waits
until the DR copy holds the last captured commit (the drain), or the drain timeout.
"""

from __future__ import annotations

import asyncio
import json
import math
import queue
import subprocess
import sys
import threading
import time
import uuid
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from aiokafka.admin import AIOKafkaAdminClient
from drcapture.dictionary.snapshot import dump_snapshot

from bench.pipeline import measure
from bench.pipeline.pack import PackedRedo, load_or_pack
from bench.pipeline.plan import MIXES, OWNER
from bench.pipeline.segments import CommitFact, Segment, SegmentCache
from bench.pipeline.verify import differences
from tests.support.sites import Proc, clean_env, free_port, until, write_toml

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
DATABASE = "BENCH"
FLAT_OUT_LAYOUT_RATE = 5000.0  # flat out, log writes are grouped as at this load
TOKEN = "pipeline-bench-token-0123456789"


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Everything a run depends on (see ``python -m bench.pipeline.run --help``)."""

    rate: float = 1000.0  # offered commits per second; 0: flat out
    seconds: float = 60.0  # the measured part at ``rate``
    transactions: int = 20_000  # flat out: how many (rounded up to whole segments)
    mix: str = "100"
    warmup_seconds: float = 3.0
    seed: int = 20261207
    segment_size: int = 2000
    log_mb: float = 16.0
    tick_ms: float = 5.0
    groups: int = 2
    workers: int = 2
    ports: tuple[int, int] = (0, 0)  # capture, apply (0: a free port)
    root: Path = Path("/var/tmp/oracle-dr-bench/pipeline")
    drain_timeout: float = 120.0
    verify: bool = False
    keep: bool = False

    @property
    def flat_out(self) -> bool:
        return self.rate <= 0

    def planned(self) -> int:
        if self.flat_out:
            return self.transactions
        return math.ceil(self.rate * (self.seconds + self.warmup_seconds))


@dataclass(frozen=True, slots=True)
class Stack:
    """Where the broker and the DR database are; the broker's log directory (WAN bytes)."""

    bootstrap: str
    dsn: str
    kafka_log_dir: Path | None


@dataclass(slots=True)
class Lines:
    """A child's stdout lines, read by a thread, waited for by prefix."""

    proc: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    last_at: str = ""

    def start(self) -> None:
        def pump() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.lines.put(line.strip())
            self.lines.put("EOF")

        threading.Thread(target=pump, daemon=True).start()

    def wait_for(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"the LGWR did not say {prefix} in {timeout:.0f} s") from None
            if line.startswith("AT "):
                self.last_at = line
            if line.startswith(prefix):
                return line
            if line == "EOF":
                raise RuntimeError(f"the LGWR ended before {prefix} (exit {self.proc.wait()})")


class PipelineRun:
    """A run's processes and measurements; :meth:`execute` does it all."""

    def __init__(self, options: RunOptions, stack: Stack) -> None:
        self.o = options
        self.stack = stack
        self.run_id = uuid.uuid4().hex[:8]
        self.work = options.root / "runs" / self.run_id
        self.prefix = f"pb{self.run_id}"
        self.topic = f"{self.prefix}.{DATABASE}.{OWNER}"
        self.control_schema = f"bench_ctl_{self.run_id}"
        self.target_schema = f"bench_{self.run_id}"
        self.notes_schema = f"bench_notes_{self.run_id}"
        self.tables = MIXES[options.mix]
        self.procs: dict[str, Proc] = {}
        self.lgwr: subprocess.Popen[str] | None = None
        self.segments: list[Segment] = []
        self.packed: PackedRedo | None = None
        self.ports = tuple(p or free_port() for p in options.ports)

    # -- preparing ------------------------------------------------------------------------
    def prepare(self) -> PackedRedo:
        o = self.o
        count = math.ceil(o.planned() / o.segment_size)
        cache = SegmentCache(o.root, o.seed, o.segment_size)
        self.segments = cache.load(count, o.workers)
        layout_rate = FLAT_OUT_LAYOUT_RATE if o.flat_out else o.rate
        capacity = int(o.log_mb * 2**20) // 512
        self.packed = load_or_pack(self.segments, o.root, cache.key, rate=layout_rate,
                                   tick=o.tick_ms / 1000, capacity_blocks=capacity)
        return self.packed

    def captured(self) -> list[CommitFact]:
        assert self.packed is not None
        return [c for c in self.packed.commits if c.table in self.tables]

    # -- services -------------------------------------------------------------------------
    def _capture_config(self, online: dict[int, list[Path]]) -> Path:
        dictionary = self.work / "dictionary.json"
        dictionary.write_text(json.dumps(dump_snapshot(self.segments[0].dictionary)))
        return write_toml(self.work / "capture.toml", {
            "capture_id": f"bench-{self.run_id}", "database": DATABASE,
            "state_dir": str(self.work / "capture-state"),
            "source": {"mode": "archive", "archive_dirs": [str(self.work / "arch")],
                       "archive_pattern": "*.arc",
                       "threads": [{"thread": t, "online_logs": [str(p) for p in paths]}
                                   for t, paths in sorted(online.items())]},
            "dictionary": {"kind": "snapshot", "path": str(dictionary)},
            "filter": {"include": [f"{OWNER}.{t}" for t in self.tables]},
            "spill": {"directory": str(self.work / "spill")},
            "kafka": {"bootstrap_servers": self.stack.bootstrap, "topic_prefix": self.prefix},
            "http": {"host": "127.0.0.1", "port": self.ports[0]},
            "logging": {"format": "text", "level": "INFO"},
        })

    def _apply_config(self) -> Path:
        return write_toml(self.work / "apply.toml", {
            "source": {"database": DATABASE, "schemas": [OWNER]},
            "target": {"kind": "postgresql", "dsn": self.stack.dsn,
                       "control_schema": self.control_schema},
            "renames": {"schemas": {OWNER: self.target_schema}},
            # topics appear when capture first publishes: look for them often (start-up
            # only; the measured part runs on an assigned partition)
            "apply": {"group_id": f"bench-{self.run_id}", "topic_refresh_seconds": 1.0},
            "kafka": {"bootstrap_servers": self.stack.bootstrap, "topic_prefix": self.prefix},
            "http": {"host": "127.0.0.1", "port": self.ports[1]},
            "logging": {"format": "text", "level": "INFO"},
        })

    def _service(self, name: str, argv: list[str], env: dict[str, str], port: int) -> Proc:
        proc = Proc(name, argv, env, self.work / f"{name}.log",
                    f"http://127.0.0.1:{port}/health")
        self.procs[name] = proc
        proc.launch()
        return proc

    def start(self) -> Lines:
        """LGWR (online logs ready), then apply and capture; the LGWR's output."""
        assert self.packed is not None
        self.work.mkdir(parents=True)
        argv = [sys.executable, "-m", "bench.pipeline.lgwr", "--pack", str(self.packed.directory),
                "--online", str(self.work / "online"), "--archive", str(self.work / "arch"),
                "--groups", str(self.o.groups), "--flush-log", str(self.work / "flushes.pickle"),
                "--warmup-commits", str(self.warmup_commits())]
        if self.o.flat_out:
            argv.append("--flat-out")
        self.lgwr = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True,
                                     stderr=(self.work / "lgwr.log").open("w"))
        lines = Lines(self.lgwr)
        lines.start()
        lines.wait_for("READY", 60)
        online = {t: [self.work / "online" / f"redo_t{t}_g{g + 1}.log"
                      for g in range(self.o.groups)]
                  for t in sorted({t for t, _ in self.packed.logs})}
        apply = self._service("apply", [str(BIN / "drapply"), "run", "--config",
                                        str(self._apply_config())],
                              clean_env(DRAPPLY__HTTP__SERVICE_TOKEN=TOKEN), self.ports[1])
        capture = self._service("capture", [str(BIN / "drcapture"), "run", "--config",
                                            str(self._capture_config(online))],
                                clean_env(DRCAPTURE__HTTP__SERVICE_TOKEN=TOKEN), self.ports[0])
        apply.wait_ready()
        capture.wait_ready()
        return lines

    def warmup_commits(self) -> int:
        if self.o.flat_out:
            return min(200, self.o.segment_size // 4)
        return max(1, round(self.o.rate * self.o.warmup_seconds))

    # -- positions ------------------------------------------------------------------------
    @property
    def checkpoint_table(self) -> str:
        return f'"{self.control_schema}"."checkpoint"'

    def applied_scn(self) -> int | None:
        """The DR copy's commit SCN (None until apply made its checkpoint)."""
        try:
            with psycopg.connect(self.stack.dsn, connect_timeout=5) as conn:
                row = conn.execute(f"SELECT commit_scn FROM {self.checkpoint_table} "
                                   "WHERE topic = %s", (self.topic,)).fetchone()
        except psycopg.errors.UndefinedTable:
            return None
        return int(row[0]) if row and row[0] is not None else None

    def _wait_applied(self, scn: int, timeout: float, what: str) -> float:
        """Wait until the DR copy holds commit SCN ``scn``; when it did (epoch s)."""
        def reached() -> bool:
            applied = self.applied_scn()
            return applied is not None and applied >= scn

        until(reached, what, timeout, 0.05,
              on_timeout=lambda: "\n".join(p.tail() for p in self.procs.values()))
        return time.time()

    # -- the run ----------------------------------------------------------------------------
    def execute(self) -> dict[str, Any]:
        """Prepare, run, measure, stop; the result (JSON-ready)."""
        packed = self.prepare()
        captured = self.captured()
        if not captured:
            raise SystemExit("the plan holds no transaction of the captured tables")
        load_before = measure.load_average()
        lines = self.start()
        try:
            warm_scn = int(lines.wait_for("WARM", 300).split()[1])
            warm_captured = [c.commit_scn for c in captured if c.commit_scn <= warm_scn]
            if warm_captured:
                self._wait_applied(warm_captured[-1], 180, "apply to apply the warm-up")
            measure.install_trigger(self.stack.dsn, self.checkpoint_table, self.notes_schema)
            cpu_before = self._cpu()
            go = time.time()
            assert self.lgwr is not None and self.lgwr.stdin is not None
            self.lgwr.stdin.write("GO\n")
            self.lgwr.stdin.flush()
            self._follow(lines, captured)
            done = time.time()
            self._wait_applied(captured[-1].commit_scn, self.o.drain_timeout,
                               "the DR copy to hold the last captured commit")
            drained = time.time()
            cpu_after = self._cpu()
            result = self._results(packed, captured, go, done, drained)
            result["cpu_seconds"] = {k: round(cpu_after[k] - cpu_before[k], 2)
                                     for k in cpu_before}
            result["load_average"] = {"before": load_before, "after": measure.load_average()}
            if self.o.verify:
                result["verify"] = self.verify()
            return result
        finally:
            self.stop()

    def _follow(self, lines: Lines, captured: list[CommitFact]) -> None:
        """Until the LGWR is done: a progress line every few seconds."""
        scns = [c.commit_scn for c in captured]
        while True:
            try:
                lines.wait_for("DONE", 5)
                return
            except TimeoutError:
                applied = self.applied_scn() or 0
                done = sum(1 for s in scns if s <= applied)
                written = lines.last_at.split()[1] if lines.last_at else "?"
                print(f"  written {written} commits; DR holds {done}/{len(scns)} captured",
                      flush=True)

    def _cpu(self) -> dict[str, float]:
        out = {name: measure.cpu_seconds(proc.proc.pid) for name, proc in self.procs.items()
               if proc.proc is not None}
        if self.lgwr is not None:
            out["lgwr"] = measure.cpu_seconds(self.lgwr.pid)
        for name, pid_file in self._server_pids().items():
            try:
                pid = int(pid_file.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            out[name] = measure.cpu_seconds(pid, children=name == "postgresql")
        out["machine"] = measure.machine_cpu_seconds()
        return out

    def _server_pids(self) -> dict[str, Path]:
        from drcommon.devstack.cli import kafka_broker, postgres_server

        return {"kafka": kafka_broker().pid_file,
                "postgresql": postgres_server().data / "postmaster.pid"}

    def _results(self, packed: PackedRedo, captured: list[CommitFact], go: float,
                 done: float, drained: float) -> dict[str, Any]:
        import pickle

        scns, ats = pickle.loads((self.work / "flushes.pickle").read_bytes())
        flushed = dict(zip(scns, ats, strict=True))
        noted = measure.dr_commits(self.stack.dsn, self.notes_schema, self.topic)
        window = [c for c in captured if flushed.get(c.commit_scn, 0) > go]
        flush_times = [flushed[c.commit_scn] for c in window]
        dr = measure.dr_times((c.commit_scn for c in window), noted)
        missing = sum(1 for t in dr if t is None)
        latencies = [d - f for d, f in zip(dr, flush_times, strict=True) if d is not None]
        latency = measure.Latency.of(flush_times, latencies) if latencies else None
        first, last_flush = min(flush_times), max(flush_times)
        last_dr = max((t for t in dr if t is not None), default=first)
        offered_all = [t for t in ats if t > go]
        return {
            "run_id": self.run_id,
            "options": {k: (str(v) if isinstance(v, Path) else v)
                        for k, v in asdict(self.o).items()},
            "commits": {"planned": len(packed.commits), "captured": len(captured),
                        "measured": len(window), "not_at_dr": missing},
            "changes_captured": sum(c.changes for c in captured),
            "latency_ms": measure.summary(latency),
            "rates": {
                "offered_commits_per_s": _rate(len(offered_all), min(offered_all, default=go),
                                               max(offered_all, default=go)),
                "captured_commits_per_s_at_source": _rate(len(window), first, last_flush),
                "captured_commits_per_s_at_dr": _rate(len(window), first, last_dr),
                "changes_per_s_at_dr": _rate(sum(c.changes for c in window), first, last_dr),
            },
            "drain_seconds": round(drained - done, 2),
            "bytes": self._bytes(packed, captured),
            "capture_faults_logged": self.procs["capture"].tail(10**9).count("stands still"),
        }

    def _bytes(self, packed: PackedRedo, captured: list[CommitFact]) -> dict[str, Any]:
        redo = packed.redo_bytes
        compressed = sum(_zlib_size(packed.log_bytes(info)) for info in packed.logs.values())
        out: dict[str, Any] = {"redo": redo, "redo_zlib_1mib_chunks": compressed,
                               "records": packed.records}
        if self.stack.kafka_log_dir is None:
            return out
        topics = measure.topic_bytes(self.stack.kafka_log_dir, self.prefix)
        kafka = sum(topics.values())
        changes = sum(c.changes for c in captured)
        out.update({
            "kafka_topics": topics, "kafka_total": kafka,
            "kafka_per_captured_change": round(kafka / changes, 1),
            "kafka_per_mb_redo": round(kafka / (redo / 1e6)),
            "redo_per_kafka": round(redo / kafka, 2) if kafka else None,
        })
        return out

    def verify(self) -> dict[str, Any]:
        """The DR copy equals the source's tables; apply and capture counted each
        captured transaction once."""
        captured = self.captured()
        diff = differences(self.stack.dsn, self.target_schema, self.tables, self.segments)
        capture_status = self._get(self.ports[0], "/api/v1/status")
        metrics = httpx.get(f"http://127.0.0.1:{self.ports[1]}/metrics", timeout=10).text
        applied = _metric(metrics, "dr_apply_transactions_total", OWNER)
        return {"differences": diff, "captured": len(captured),
                "published": capture_status.get("transactions_published"),
                "applied": applied}

    def _get(self, port: int, path: str) -> dict[str, Any]:
        answer = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=10,
                           headers={"Authorization": f"Bearer {TOKEN}"})
        data: dict[str, Any] = answer.json()
        return data

    def stop(self) -> None:
        if self.lgwr is not None and self.lgwr.poll() is None:
            self.lgwr.kill()
            self.lgwr.wait(10)
        for proc in reversed(list(self.procs.values())):
            proc.stop()
        if self.o.keep:
            print(f"kept: {self.work}, topics {self.prefix}.*, schemas {self.target_schema}, "
                  f"{self.control_schema}")
            return
        with psycopg.connect(self.stack.dsn, autocommit=True) as conn:
            for schema in (self.target_schema, self.control_schema):
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        measure.drop_trigger(self.stack.dsn, self.notes_schema)
        asyncio.run(_delete_topics(self.stack.bootstrap, self.prefix))
        import shutil

        shutil.rmtree(self.work, ignore_errors=True)


def _rate(count: int, start: float, end: float) -> float | None:
    return round(count / (end - start), 1) if end > start else None


def _zlib_size(data: bytes, chunk: int = 2**20) -> int:
    """Data Guard's redo transport compression (zlib) is per message: per 1 MiB here."""
    return sum(len(zlib.compress(data[k : k + chunk], 1)) for k in range(0, len(data), chunk))


def _metric(text: str, name: str, schema: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + "{") and f'schema="{schema}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return None


async def _delete_topics(bootstrap: str, prefix: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(prefix + ".")]
        if topics:
            await admin.delete_topics(topics)
    finally:
        await admin.close()
