"""What the fault tests share: a built RAC workload, capture settings for it, and polling
a service's status and health with a deadline (never sleep-and-hope)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from drapply.settings import ApplySettings, load_apply_settings
from drcapture.settings import CaptureSettings
from drcapture.synth.workload_result import BuiltWorkload
from drcommon.config import KafkaSettings, load_settings
from drcontrol.service import ControlService
from drcontrol.settings import ControlSettings

from tests.integration.apply.running import TOKEN as APPLY_TOKEN
from tests.integration.control.receivers import WebhookReceiver

T = TypeVar("T")
TOKEN = "fault-suite-token-0123456789"


def capture_settings(
    kafka: KafkaSettings,
    built_dir: Path,
    archive_dirs: list[Path],
    tmp: Path,
    threads: int,
    **sections: dict[str, Any],
) -> CaptureSettings:
    """Archive-mode capture of a built workload (``SIPROD``, schemas SI and HIS)."""
    base: dict[str, dict[str, Any]] = {
        "source": {
            "mode": "archive",
            "archive_dirs": [str(d) for d in archive_dirs],
            "archive_pattern": "*.arc",
            "poll_interval": 0.05,
            "idle_thread_grace": 0.3,
            "archive_idle_timeout": 600.0,
            "threads": [{"thread": t} for t in range(1, threads + 1)],
        },
        "dictionary": {"kind": "snapshot", "path": str(built_dir / "dictionary.json")},
        "filter": {"include": ["SI.*", "HIS.*"]},
        "publish": {"max_batch_transactions": 20, "max_batch_seconds": 0.05,
                    "watermark_interval": 0.2, "stall_seconds": 3.0},
        "spill": {"directory": str(tmp / "spill")},
        "restart": {"retry_max_seconds": 2.0},
        "kafka": kafka.model_dump(),
        "http": {"port": 0, "service_token": TOKEN},
        "logging": {"format": "text", "level": "WARNING"},
    }
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    return load_settings(CaptureSettings, None, database="SIPROD", capture_id="faults",
                         state_dir=str(tmp / "state"), **base)


async def until(
    probe: Callable[[], Awaitable[T] | T],
    accept: Callable[[T], bool],
    seconds: float,
    what: str,
    every: float = 0.1,
) -> T:
    """Poll ``probe`` until ``accept`` says yes; fail naming ``what`` and the last value."""
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        value = probe()
        last = await value if isinstance(value, Awaitable) else value
        if accept(last):
            return last  # type: ignore[no-any-return]
        await asyncio.sleep(every)
    raise AssertionError(f"{what}: not within {seconds} s; last seen: {last!r}")


def committed_xids(built: BuiltWorkload) -> list[str]:
    """The workload's committed transactions in commit order."""
    return [tx.xid for tx in built.expected]


def apply_settings(
    kafka: KafkaSettings, dsn: str, unique: str, **sections: dict[str, Any]
) -> ApplySettings:
    """Apply of schemas SI and HIS into PostgreSQL, under names of this test only."""
    base: dict[str, Any] = {
        "kafka": kafka.model_dump(),
        "source": {"database": "SIPROD", "schemas": ["SI", "HIS"]},
        "target": {"kind": "postgresql", "dsn": dsn, "control_schema": f"drapply_{unique}"},
        "renames": {"schemas": renames(unique)},
        "apply": {"group_id": f"faults-{unique}", "fetch_timeout_ms": 100,
                  "topic_refresh_seconds": 1.0, "retry_backoff_seconds": 0.5},
        "logging": {"level": "INFO", "format": "text"},
    }
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    return load_apply_settings(None, **base)


def renames(unique: str) -> dict[str, str]:
    return {"SI": f"si_{unique}", "HIS": f"his_{unique}"}


def control_settings(
    tmp: Path, kafka: str, capture_url: str | None, apply_url: str | None, webhook: str
) -> ControlSettings:
    """Control watching the real capture and apply (None: not deployed) every half
    second, its notifications to a webhook."""
    return load_settings(
        ControlSettings, None, env_prefix="DRCONTROL_FAULTS_UNUSED",
        http={"host": "127.0.0.1", "port": 0},
        logging={"level": "WARNING", "format": "text"},
        kafka={"bootstrap_servers": kafka, "request_timeout_ms": 5000},
        storage={"backend": "sqlite", "sqlite_path": str(tmp / "control.sqlite3")},
        peers={"capture": {"url": capture_url, "token": TOKEN},
               "apply": {"url": apply_url, "token": APPLY_TOKEN},
               "appha": {"url": None}},
        watch={"interval_seconds": 0.5, "lag_alert_seconds": 30.0},
        notify={"webhooks": [{"url": webhook, "backoff_seconds": 0.05}]},
    )  # fmt: skip


def alert_states(received: list[dict[str, Any]], kind: str) -> list[str]:
    """The states (firing, resolved) control notified for ``kind``, in order."""
    return [r.get("data", {}).get("state") for r in received if r.get("kind") == kind]


@asynccontextmanager
async def control_watching(
    tmp: Path, kafka: str, *, capture: str | None = None, apply: str | None = None
) -> AsyncIterator[WebhookReceiver]:
    """A running control service watching these peers; yields what it notified."""
    hook = WebhookReceiver()
    url = await hook.start()
    control = ControlService(control_settings(tmp, kafka, capture, apply, url))
    await control.start()
    try:
        yield hook
    finally:
        await control.stop()
        await hook.stop()


async def alerted(hook: WebhookReceiver, kind: str, states: list[str]) -> None:
    """Wait until control notified exactly ``states`` (firing, resolved …) for ``kind``."""
    await until(lambda: hook.received, lambda got: alert_states(got, kind) == states, 20,
                f"control's {kind} {states}")  # fmt: skip
