"""Raw HTTP/1.1 over a socket, for what httpx will not do: bodies far larger than any
client would buffer, sent as they are produced, and bodies that arrive too slowly.

Each helper returns the status line's code (or None when the server cut the
connection before answering) and the response body, so a test can assert both the
answer and, through the server's memory, that the body was never held whole.
"""

from __future__ import annotations

import select
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class RawAnswer:
    """What came back: status (None: cut without an answer), body, bytes we got out."""

    status: int | None
    body: bytes
    sent: int
    seconds: float


def _connect(url: str) -> tuple[socket.socket, str]:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=30)
    return sock, parts.path or "/"


def _head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: test", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _read_answer(sock: socket.socket, timeout: float) -> tuple[int | None, bytes]:
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data or not _complete(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, TimeoutError, OSError):
        pass
    if not data.startswith(b"HTTP/1.1 "):
        return None, b""
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def _complete(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def _answered(sock: socket.socket) -> bool:
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def stream_body(url: str, total: int, headers: dict[str, str], *,
                declare_length: bool, method: str = "POST") -> RawAnswer:
    """Send ``total`` bytes of JSON-ish filler (declared, or chunked), stopping as soon as
    the server answers or cuts the connection."""
    sock, path = _connect(url)
    started = time.monotonic()
    sent = 0
    head = dict(headers)
    head["Content-Type"] = "application/json"
    if declare_length:
        head["Content-Length"] = str(total)
    else:
        head["Transfer-Encoding"] = "chunked"
    try:
        sock.sendall(_head(method, path, head))
        filler = b"x" * CHUNK
        while sent < total and not _answered(sock):
            piece = filler[: min(CHUNK, total - sent)]
            frame = piece if declare_length else b"%x\r\n%s\r\n" % (len(piece), piece)
            sock.sendall(frame)
            sent += len(piece)
        if not declare_length and sent >= total:
            sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        status, body = _read_answer(sock, 15)
    finally:
        sock.close()
    return RawAnswer(status, body, sent, time.monotonic() - started)


def trickle_body(url: str, declared: int, headers: dict[str, str], *, every: float,
                 give_up_after: float) -> RawAnswer:
    """Declare ``declared`` bytes and send one byte every ``every`` seconds."""
    sock, path = _connect(url)
    started = time.monotonic()
    sent = 0
    head = {**headers, "Content-Type": "application/json", "Content-Length": str(declared)}
    try:
        sock.sendall(_head("POST", path, head))
        while sent < declared and time.monotonic() - started < give_up_after:
            if _answered(sock):
                break
            sock.sendall(b" ")
            sent += 1
            time.sleep(every)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        status, body = _read_answer(sock, 5)
    finally:
        sock.close()
    return RawAnswer(status, body, sent, time.monotonic() - started)


def memory_kib(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS) of a process, KiB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields["VmRSS"], fields["VmHWM"]
