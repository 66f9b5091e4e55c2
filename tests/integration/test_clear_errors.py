"""Problems an operator can fix end with one clear line and exit code 2, never a
traceback: no Java, no Maven, a port taken, a bad config key, an unreachable broker."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1].parent


def _run(args: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[int, str]:
    done = subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    return done.returncode, done.stdout + done.stderr


def _one_clear_line(output: str, *needles: str) -> None:
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if "error" in line.lower()]
    assert len(lines) == 1, output
    for needle in needles:
        assert needle in lines[0], output


def _path_with(tmp: Path, *tools: str) -> str:
    """A PATH holding only the named tools (and the shell basics)."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    for tool in (*tools, "sh", "env", "runuser"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def test_missing_java_is_named(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        PATH=_path_with(tmp_path, "mvn"),
        DR_STACK_HOME=str(tmp_path / "s"),
        DR_STACK_KAFKA_PORT="29192",
        DR_STACK_KAFKA_CONTROLLER_PORT="29193",
    )
    env.pop("JAVA_HOME", None)
    code, output = _run([str(BIN / "drstack"), "up", "--no-postgres"], env)
    assert code == 2
    _one_clear_line(output, "'java' was not found", "openjdk")


def test_missing_maven_is_named(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        PATH=_path_with(tmp_path, "java"),
        DR_STACK_HOME=str(tmp_path / "s"),
        DR_CACHE_HOME=str(tmp_path / "empty-cache"),
        DR_STACK_KAFKA_PORT="29192",
        DR_STACK_KAFKA_CONTROLLER_PORT="29193",
    )
    code, output = _run([str(BIN / "drstack"), "up", "--no-postgres"], env)
    assert code == 2
    _one_clear_line(output, "'mvn' was not found", "maven")


def test_taken_port_is_named(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = dict(
            os.environ,
            DR_STACK_HOME=str(tmp_path / "s"),
            DR_STACK_KAFKA_PORT=str(port),
            DR_STACK_KAFKA_CONTROLLER_PORT="29193",
        )
        code, output = _run([str(BIN / "drstack"), "up", "--no-postgres"], env)
    assert code == 2
    _one_clear_line(output, f"port {port}", "already in use")


def test_bad_config_key_is_named(tmp_path: Path) -> None:
    config = tmp_path / "capture.toml"
    config.write_text(
        'database = "X"\n[source]\nmode = "files"\nfiles = ["a.arc"]\n'
        '[dictionary]\npath = "d.json"\n[publish]\nmax_batch_transactons = 5\n'
    )
    code, output = _run([str(BIN / "drcapture"), "run", "--config", str(config)], dict(os.environ))
    assert code == 2
    _one_clear_line(output, "publish.max_batch_transactons", "Extra inputs are not permitted")


@pytest.mark.usefixtures("redo_fixtures")
def test_unreachable_broker_is_named(redo_fixtures: Path, tmp_path: Path) -> None:
    free23 = redo_fixtures / "free23-insert"
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    env = dict(
        os.environ,
        DRCAPTURE__KAFKA__BOOTSTRAP_SERVERS=f"127.0.0.1:{closed_port}",
        DRCAPTURE__KAFKA__REQUEST_TIMEOUT_MS="3000",
        DRCAPTURE__DICTIONARY__PATH=str(free23 / "olr-checkpoint-2266634.json"),
        DRCAPTURE__SOURCE__FILES=f'["{free23 / "arch1_15_1224959854.dbf"}"]',
        DRCAPTURE__SPILL__DIRECTORY=str(tmp_path / "spill"),
    )
    code, output = _run(
        [
            str(BIN / "drcapture"),
            "run",
            "--config",
            str(ROOT / "deploy/examples/demo-capture.toml"),
        ],
        env,
        cwd=tmp_path,
    )
    assert code == 2
    _one_clear_line(output, "Kafka is unreachable", f"127.0.0.1:{closed_port}")
