"""Small process helpers for the local stack: pid files, free ports, waiting for a port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import time
from pathlib import Path

from drcommon.errors import EnvironmentProblem


def require_tool(name: str, hint: str) -> str:
    """The full path of a program on PATH, or a clear error saying how to get it."""
    path = shutil.which(name)
    if path is None:
        raise EnvironmentProblem(f"'{name}' was not found on PATH; {hint}")
    return path


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_port_free(host: str, port: int, what: str) -> None:
    """Refuse to start when another process already listens on the port."""
    if port_open(host, port):
        raise EnvironmentProblem(
            f"port {port} on {host} is already in use, so {what} cannot start there; "
            "stop whatever uses it or choose another port",
            port=port,
        )


def wait_for_port(host: str, port: int, *, timeout: float, pid: int | None, log: Path) -> None:
    """Wait until the port accepts connections; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        if pid is not None and not pid_alive(pid):
            raise EnvironmentProblem(f"the process exited during start-up; see {log}", log=log)
        time.sleep(0.2)
    raise EnvironmentProblem(f"port {port} did not open within {timeout:.0f}s; see {log}", log=log)


def read_pid(pid_file: Path) -> int | None:
    """The pid in a pid file if that process is still alive."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def pid_alive(pid: int) -> bool:
    """True when the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def terminate(pid: int, *, grace: float = 30.0) -> bool:
    """SIGTERM, wait up to ``grace`` seconds, then SIGKILL. True if it stopped cleanly."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    return False
