"""Issue 17, finding 8: API tokens expire, and rotation hands over without an outage.

Uses control's real SQLite storage in a temporary file and a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from drcontrol.auth.authenticator import TokenAuthenticator
from drcontrol.errors import Unauthenticated
from drcontrol.events import EventBus
from drcontrol.model import Role
from drcontrol.recorder import Recorder
from drcontrol.settings import AuthSettings
from drcontrol.storage.base import AuditQuery
from drcontrol.storage.sqlite import SqliteStorage
from drcontrol.users import Users

DAY = 86400.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture(loop_scope="function")
async def storage(tmp_path: Path) -> AsyncIterator[SqliteStorage]:
    store = SqliteStorage(tmp_path / "control.sqlite3")
    await store.open()
    yield store
    await store.close()


async def test_tokens_expire_by_role(storage: SqliteStorage) -> None:
    clock = Clock()
    users = Users(storage, Recorder(storage, EventBus(), clock), clock)
    auth = TokenAuthenticator(storage, clock, AuthSettings(token_max_age_days=90,
                                                           service_token_max_age_days=365))
    person = await users.add("test", "olga", Role.OPERATOR)
    service = await users.add("test", "appha", Role.APPHA)
    assert (await auth.authenticate(f"Bearer {person}")).user == "olga"
    clock.now += 91 * DAY
    with pytest.raises(Unauthenticated, match="token expired"):
        await auth.authenticate(f"Bearer {person}")
    assert (await auth.authenticate(f"Bearer {service}")).user == "appha"
    clock.now += 275 * DAY
    with pytest.raises(Unauthenticated, match="token expired"):
        await auth.authenticate(f"Bearer {service}")


async def test_rotation_keeps_the_old_token_for_the_grace_period_only(
        storage: SqliteStorage) -> None:
    clock = Clock()
    recorder = Recorder(storage, EventBus(), clock)
    users = Users(storage, recorder, clock)
    auth = TokenAuthenticator(storage, clock)
    old = await users.add("test", "appha", Role.APPHA)
    new = await users.rotate("cli:root", "appha", grace_seconds=3600)
    assert new != old
    assert (await auth.authenticate(f"Bearer {old}")).user == "appha"  # still in grace
    assert (await auth.authenticate(f"Bearer {new}")).user == "appha"
    clock.now += 3601
    with pytest.raises(Unauthenticated, match="revoked"):
        await auth.authenticate(f"Bearer {old}")
    assert (await auth.authenticate(f"Bearer {new}")).user == "appha"
    rows = await storage.audit_records(AuditQuery(action="token.rotated"))
    assert rows and rows[0].actor == "cli:root" and rows[0].detail["retired"] == 1


def test_drcontrol_user_token_rotate(tmp_path: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "control.toml"
    config.write_text(f'[storage]\nsqlite_path = "{tmp_path / "c.sqlite3"}"\n', encoding="utf-8")
    cli = [sys.executable, "-m", "drcontrol", "user"]

    def run(*args: str) -> str:
        done = subprocess.run([*cli, *args, "--config", str(config)], capture_output=True,
                              text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    first = run("add", "appha", "--role", "appha")
    second = run("token", "rotate", "appha", "--grace-hours", "0")
    assert second.startswith("drc_") and second != first
    listed = run("list", "--json")
    assert first.split("_")[1] not in listed and second.split("_")[1] in listed
