"""A whole DR deployment on loopback for end-to-end tests, every part a real process:

* ``drcapture run`` (archive mode) over redo our writer built from a workload;
* ``drapply run`` into PostgreSQL (one schema per source schema, renamed per test);
* two application servers (cloud = primary, local = standby), a front that routes to the
  upstream file appha's "reload" copied into place, and ``drappha run`` watching them;
* ``drcontrol run`` (SQLite store) with an operator, an approver and appha's account, a
  promotion hook against the DR PostgreSQL, and its peers reached through recorders
  (:mod:`tests.support.tinyweb`) that log every mutating call with its operation id.

Configuration is TOML written here; secrets (service tokens, the DR database DSN) are
passed through the environment, as in production. Nothing is mocked.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg
from drcapture.synth.workload_result import BuiltWorkload

from tests.support.tinyweb import recorded_calls

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
DATABASE = "SIPROD"
APP = "his"
T = TypeVar("T")


def free_port() -> int:
    """A port nobody listens on right now (the process started next takes it)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def until(check: Callable[[], T | None], what: str, timeout: float = 60.0,
          pause: float = 0.1, on_timeout: Callable[[], str] | None = None) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = on_timeout() if on_timeout else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{extra}")
        time.sleep(pause)


# -- TOML -------------------------------------------------------------------------------------

def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {value!r}")


def _is_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def toml_text(data: dict[str, Any], prefix: str = "") -> str:
    """``data`` as TOML: scalars, then sub-tables, then arrays of tables (lists of dicts)."""
    lines = [f"{_key(k)} = {_value(v)}" for k, v in data.items()
             if not isinstance(v, dict) and not _is_tables(v)]
    for k, v in data.items():
        name = f"{prefix}{_key(k)}"
        if isinstance(v, dict):
            lines += ["", f"[{name}]", toml_text(v, name + ".")]
        elif _is_tables(v):
            for item in v:
                lines += ["", f"[[{name}]]", toml_text(item, name + ".")]
    return "\n".join(lines)


def write_toml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(toml_text(data) + "\n", encoding="utf-8")
    return path


# -- processes --------------------------------------------------------------------------------

def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any DR service's settings, plus ``extra``."""
    prefixes = ("DRCAPTURE", "DRAPPLY", "DRAPPHA", "DRCONTROL", "DRCTL")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(prefixes)}, **extra}


@dataclass
class Proc:
    """One background process; its output goes to ``log``; ``health`` says it is up."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    health: str | None = None
    proc: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        """Start the process; :meth:`wait_ready` waits for it to answer."""
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.log.parent,
                                     stdout=handle, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        handle.close()

    def wait_ready(self, timeout: float = 30.0) -> None:
        if self.health is None:
            return
        url = self.health

        def answers() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited {self.proc.returncode}:\n"
                                     f"{self.tail()}")
            try:
                return httpx.get(url, timeout=1).status_code < 600
            except httpx.HTTPError:
                return False

        until(answers, f"{self.name} to answer at {url}", timeout, 0.05, self.tail)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after a bounded wait."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def tail(self, chars: int = 3000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} ({self.log}) ---\n{text[-chars:]}"


# -- the deployment ---------------------------------------------------------------------------

@dataclass
class Tokens:
    """Service tokens (the peers') and user tokens (control's users)."""

    capture: str = "capture-e2e-token-0123456789"
    apply: str = "apply-e2e-token-0123456789"
    appha: str = "appha-e2e-token-0123456789"
    users: dict[str, str] = field(default_factory=dict)


@dataclass
class DrSite:
    """Every process of one DR deployment; ``start()`` brings it up in dependency order."""

    tmp: Path
    kafka: str
    postgres_dsn: str
    unique: str
    built: BuiltWorkload
    redo_dir: Path
    tokens: Tokens = field(default_factory=Tokens)
    procs: dict[str, Proc] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("capture", "apply", "appha", "control", "cloud", "local", "front",
                     "rec_capture", "rec_apply", "rec_appha"):
            self.ports[name] = free_port()
        self.prefix = f"e2e{self.unique}"
        self.schemas = {"SI": f"si_{self.unique}", "HIS": f"his_{self.unique}"}
        self.apply_schema = f"drapply_{self.unique}"
        self.promotion_table = f'"{self.schemas["SI"]}".promotion_log'
        self.upstream = self.tmp / "upstream.conf"
        self.loaded = self.tmp / "loaded.conf"
        self.actions = self.tmp / "actions.log"

    def url(self, name: str) -> str:
        return f"http://{HOST}:{self.ports[name]}"

    # -- configs ----------------------------------------------------------------------------

    def capture_config(self) -> Path:
        return write_toml(self.tmp / "capture.toml", {
            "capture_id": f"e2e-{self.unique}",
            "database": DATABASE,
            "state_dir": str(self.tmp / "capture-state"),
            "source": {"mode": "archive", "archive_dirs": [str(self.redo_dir)],
                       "archive_pattern": "*.arc", "poll_interval": 0.05,
                       "idle_thread_grace": 0.3, "archive_idle_timeout": 600.0},
            "dictionary": {"kind": "snapshot", "path": str(self.redo_dir / "dictionary.json")},
            "filter": {"include": ["SI.*", "HIS.*"]},
            "publish": {"max_batch_transactions": 20, "max_batch_seconds": 0.02,
                        "watermark_interval": 0.2},
            "spill": {"directory": str(self.tmp / "spill")},
            "kafka": {"bootstrap_servers": self.kafka, "topic_prefix": self.prefix},
            "http": {"host": HOST, "port": self.ports["capture"]},
            "logging": {"format": "text", "level": "INFO"},
        })

    def apply_config(self) -> Path:
        return write_toml(self.tmp / "apply.toml", {
            "source": {"database": DATABASE, "schemas": ["SI", "HIS"]},
            "target": {"kind": "postgresql", "dsn": self.postgres_dsn,
                       "control_schema": self.apply_schema},
            "renames": {"schemas": self.schemas},
            "apply": {"group_id": f"e2e-{self.unique}", "fetch_timeout_ms": 100,
                      "idle_checkpoint_seconds": 0.2, "topic_refresh_seconds": 1.0,
                      "session_timeout_ms": 6000, "heartbeat_interval_ms": 1000},
            "kafka": {"bootstrap_servers": self.kafka, "topic_prefix": self.prefix},
            "http": {"host": HOST, "port": self.ports["apply"]},
            "logging": {"format": "text", "level": "INFO"},
        })

    def _script(self, name: str, body: str) -> str:
        path = self.tmp / name
        path.write_text("#!/bin/sh\nset -e\n" + body)
        path.chmod(0o755)
        return str(path)

    def appha_config(self) -> Path:
        log = self.actions
        check = {"interval_seconds": 1.0, "timeout_seconds": 0.9, "rise": 1, "fall": 2}

        def site(name: str, marker: str) -> dict[str, Any]:
            return {
                "servers": [f"{HOST}:{self.ports[name]}"],
                "marker": marker,
                "checks": [{"kind": "http", "name": "health", "body_pattern": "^OK",
                            "url": f"{self.url(name)}/health", **check}],
                "start": {"kind": "command", "timeout_seconds": 5, "argv": [
                    self._script(f"start-{name}.sh", f'echo "start $1 $2" >> "{log}"\n'),
                    "{site}", "{operation_id}"]},
                # the fence really stops the site serving (a fence that does not would
                # now stop the switch: issue 14, finding 6); a site already gone is fine
                "fence": {"kind": "command", "timeout_seconds": 5, "argv": [
                    self._script(f"fence-{name}.sh", f'echo "fence $1 $2" >> "{log}"\n'
                                 f'"{sys.executable}" -c "import sys, urllib.request as u; '
                                 "u.urlopen('http://' + sys.argv[1] + '/__fence', "
                                 "timeout=2)\" \"$3\" || true\n"),
                    "{site}", "{operation_id}", "{servers}"]},
            }

        reload = self._script(
            "reload.sh",
            f'cp "{self.upstream}" "{self.loaded}"\n'
            f'echo "reload $DRAPPHA_SITE $DRAPPHA_OPERATION_ID" >> "{log}"\n')
        return write_toml(self.tmp / "appha.toml", {
            "tick_seconds": 0.2,
            "http": {"host": HOST, "port": self.ports["appha"]},
            "logging": {"format": "text", "level": "INFO"},
            "history": {"path": str(self.tmp / "appha.sqlite")},
            "control": {"url": self.url("control"), "timeout_seconds": 5,
                        "poll_interval_seconds": 0.5},
            "apps": {APP: {
                "mode": "manual",
                "primary": site("cloud", "site=cloud"),
                "standby": site("local", "site=local"),
                "detection": {"switch_after_failures": 3, "switch_after_seconds": 2.0,
                              "grace_seconds": 0.0},
                "anti_flap": {"hold_down_seconds": 2.0, "min_switch_interval_seconds": 1.0},
                # no witness here: the fence and nobody seeing the site serving must do
                "switch": {"target_ready_timeout_seconds": 5.0, "lease_seconds": 1.0,
                           "min_attestation_signals": 1},
                "traffic": {"kind": "nginx", "file": str(self.upstream), "upstream": "his_up",
                            "reload_argv": [reload], "timeout_seconds": 5},
                "verify": {"url": f"{self.url('front')}/__site", "interval_seconds": 0.1,
                           "timeout_seconds": 10.0, "required_successes": 2,
                           "request_timeout_seconds": 1.0},
            }},
        })

    def control_config(self) -> Path:
        table = f"{self.schemas['SI']}.person"
        return write_toml(self.tmp / "control.toml", {
            "http": {"host": HOST, "port": self.ports["control"]},
            "logging": {"format": "text", "level": "INFO"},
            "kafka": {"bootstrap_servers": self.kafka, "topic_prefix": self.prefix,
                      "request_timeout_ms": 5000},
            "storage": {"backend": "sqlite", "sqlite_path": str(self.tmp / "control.sqlite3")},
            "peers": {"capture": {"url": self.url("rec_capture")},
                      "apply": {"url": self.url("rec_apply")},
                      "appha": {"url": self.url("rec_appha")}},
            "dr_database": {"kind": "postgresql", "timeout_seconds": 10},
            "hooks": {"promotion": [{
                "name": "open-for-business",
                "statements": [f"INSERT INTO {self.promotion_table} (note) "
                               "VALUES ('DR database promoted')"],
                "sequences": [{"sequence": f"{table}_seq", "table": table, "column": "id",
                               "gap": 1000}],
            }]},
            "engine": {"poll_interval_seconds": 0.2, "lease_seconds": 3.0,
                       "step_poll_interval_seconds": 0.1, "retry_delay_seconds": 0.3},
            "watch": {"interval_seconds": 1.0, "lag_alert_seconds": 30.0},
        })

    # -- start and stop ---------------------------------------------------------------------

    def _log(self, name: str) -> Path:
        return self.tmp / f"{name}.log"

    def _proc(self, name: str, argv: list[str], env: dict[str, str],
              health: str | None) -> Proc:
        proc = Proc(name, argv, env, self._log(name), health)
        self.procs[name] = proc
        return proc

    def _tinyweb(self, name: str, *args: str) -> Proc:
        argv = [sys.executable, "-m", "tests.support.tinyweb", *args,
                "--port", str(self.ports[name])]
        env = clean_env(PYTHONPATH=str(ROOT))
        return self._proc(name, argv, env, f"{self.url(name)}/")

    def _recorder(self, peer: str) -> Proc:
        name = f"rec_{peer}"
        return self._tinyweb(name, "recorder", "--upstream", self.url(peer),
                             "--log", str(self.tmp / f"{name}.jsonl"))

    def prepare_database(self) -> None:
        """The promotion hook's table and sequence (an application's own objects)."""
        table = f"{self.schemas['SI']}.person"
        with psycopg.connect(self.postgres_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schemas["SI"]}"')
            conn.execute(f"CREATE TABLE {self.promotion_table} (id serial PRIMARY KEY, "
                         "note text NOT NULL, at timestamptz NOT NULL DEFAULT now())")
            conn.execute(f"CREATE SEQUENCE {table}_seq")

    def add_users(self) -> None:
        """An operator, an approver and appha's service account, through the real CLI
        (concurrently: the storage serialises them)."""
        env = clean_env(DRCONTROL_CONFIG=str(self.tmp / "control.toml"))

        def add(name: str, role: str) -> str:
            done = subprocess.run([str(BIN / "drcontrol"), "user", "add", name, "--role", role],
                                  env=env, capture_output=True, text=True, timeout=60,
                                  check=False)
            assert done.returncode == 0, done.stdout + done.stderr
            return done.stdout.strip().splitlines()[-1]

        users = {"olga.operator": "operator", "li.approver": "approver", "appha": "appha"}
        with ThreadPoolExecutor(len(users)) as pool:
            tokens = {name: pool.submit(add, name, role) for name, role in users.items()}
            self.tokens.users.update({name: f.result() for name, f in tokens.items()})

    def start(self) -> None:
        """Everything, as parallel as the dependencies allow; returns when every process
        answers."""
        self.prepare_database()
        cloud = f"{HOST}:{self.ports['cloud']}"
        self.loaded.write_text(f"upstream his_up {{\n    server {cloud};\n}}\n")
        self.control_config()
        first = [
            self._tinyweb("cloud", "app", "--marker", "site=cloud"),
            self._tinyweb("local", "app", "--marker", "site=local"),
            self._tinyweb("front", "front", "--loaded", str(self.loaded)),
            self._proc("capture", [str(BIN / "drcapture"), "run", "--config",
                                   str(self.capture_config())],
                       clean_env(DRCAPTURE__HTTP__SERVICE_TOKEN=self.tokens.capture),
                       f"{self.url('capture')}/health"),
            self._proc("apply", [str(BIN / "drapply"), "run", "--config",
                                 str(self.apply_config())],
                       clean_env(DRAPPLY__HTTP__SERVICE_TOKEN=self.tokens.apply),
                       f"{self.url('apply')}/health"),
            *(self._recorder(peer) for peer in ("capture", "apply", "appha")),
        ]
        for proc in first:
            proc.launch()
        self.add_users()
        second = [
            self._proc("appha", [str(BIN / "drappha"), "run", "--config",
                                 str(self.appha_config())],
                       clean_env(DRAPPHA__HTTP__SERVICE_TOKEN=self.tokens.appha,
                                 DRAPPHA__CONTROL__TOKEN=self.tokens.users["appha"]),
                       f"{self.url('appha')}/health"),
            self._proc("control", [str(BIN / "drcontrol"), "run"], clean_env(
                DRCONTROL_CONFIG=str(self.tmp / "control.toml"),
                DRCONTROL__PEERS__CAPTURE__TOKEN=self.tokens.capture,
                DRCONTROL__PEERS__APPLY__TOKEN=self.tokens.apply,
                DRCONTROL__PEERS__APPHA__TOKEN=self.tokens.appha,
                DRCONTROL__DR_DATABASE__DSN=self.postgres_dsn,
            ), f"{self.url('control')}/health"),
        ]
        for proc in second:
            proc.launch()
        for proc in (*first, *second):
            proc.wait_ready()

    def stop(self) -> dict[str, int | None]:
        """SIGTERM every process, newest first; their exit codes."""
        return {name: proc.stop() for name, proc in reversed(list(self.procs.items()))}

    def tails(self, *names: str) -> str:
        chosen = names or tuple(self.procs)
        return "\n".join(self.procs[n].tail() for n in chosen if n in self.procs)

    # -- reading ----------------------------------------------------------------------------

    def peer(self, name: str) -> httpx.Client:
        """A client of a service's admin API with its service token."""
        token = getattr(self.tokens, name)
        return httpx.Client(base_url=self.url(name), timeout=10,
                            headers={"Authorization": f"Bearer {token}"})

    def user(self, name: str) -> httpx.Client:
        """A client of control's API as one of its users."""
        return httpx.Client(base_url=self.url("control"), timeout=15,
                            headers={"Authorization": f"Bearer {self.tokens.users[name]}"})

    def mutating_calls(self, operation_id: str | None) -> Counter[str]:
        """``"<peer> <METHOD> <path>"`` -> how often the peer received it for this id
        (None: calls that carried no operation id)."""
        counts: Counter[str] = Counter()
        for peer in ("capture", "apply", "appha"):
            for call in recorded_calls(self.tmp / f"rec_{peer}.jsonl"):
                if call["operation_id"] == operation_id:
                    counts[f"{peer} {call['method']} {call['path']}"] += 1
        return counts

    def front_says(self) -> str:
        """What the public URL answers right now."""
        return httpx.get(f"{self.url('front')}/__site", timeout=5).text

    def drctl(self, user: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = clean_env(DRCTL_URL=self.url("control"), DRCTL_TOKEN=self.tokens.users[user])
        return subprocess.run([str(BIN / "drctl"), *args], env=env, capture_output=True,
                              text=True, timeout=120, check=False)

    def drcontrol(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = clean_env(DRCONTROL_CONFIG=str(self.tmp / "control.toml"))
        return subprocess.run([str(BIN / "drcontrol"), *args], env=env, capture_output=True,
                              text=True, timeout=120, check=False)
