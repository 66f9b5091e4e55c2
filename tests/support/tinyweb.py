"""Tiny real HTTP servers for end-to-end tests, each run as its own process:

* ``app``: one site's application; every path answers ``OK <marker>`` (``/health`` too);
* ``front``: the public entry point, like nginx after ``nginx -s reload``: it proxies to
  the first ``server`` of the upstream file the reload script last copied into place;
* ``recorder``: a transparent proxy in front of a service's admin API that appends every
  non-GET call (method, path, ``X-DR-Operation-Id``) to a JSON-lines file, so a test can
  count the mutating calls a peer received per operation id.

``python -m tests.support.tinyweb app --port 8080 --marker site=cloud``. Standard library
only (quick to start); a thread per request.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

OPERATION_HEADER = "X-DR-Operation-Id"
HOP_HEADERS = frozenset({"host", "connection", "content-length", "transfer-encoding"})


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def answer(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the caller gave up (it stops, or timed out)


def app_handler(marker: str) -> type[BaseHTTPRequestHandler]:
    """An application answering ``OK <marker>`` on every path, until ``/__fence`` fences it
    (then 503 everywhere: what a real fence action does to a site)."""
    fenced = threading.Event()

    class App(_Quiet):
        def do_GET(self) -> None:
            if self.path == "/__fence":
                fenced.set()
                self.answer(200, b"fenced")
            elif fenced.is_set():
                self.answer(503, b"fenced")
            else:
                self.answer(200, f"OK {marker}".encode())

    return App


def front_handler(loaded: Path) -> type[BaseHTTPRequestHandler]:
    """Proxies GETs to the first server of the loaded upstream file."""

    class Front(_Quiet):
        def do_GET(self) -> None:
            text = loaded.read_text(encoding="utf-8") if loaded.exists() else ""
            servers = re.findall(r"^\s*server\s+([^\s;]+)", text, re.MULTILINE)
            if not servers:
                self.answer(502, b"no upstream")
                return
            try:
                with urllib.request.urlopen(f"http://{servers[0]}{self.path}", timeout=2) as up:
                    self.answer(up.status, up.read())
            except urllib.error.HTTPError as exc:
                self.answer(exc.code, exc.read())
            except OSError as exc:
                self.answer(502, f"bad gateway: {exc}".encode())

    return Front


def recorder_handler(upstream: str, log: Path) -> type[BaseHTTPRequestHandler]:
    """Forwards every call to ``upstream``; records the non-GET ones in ``log``."""
    lock = threading.Lock()

    class Recorder(_Quiet):
        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            if self.command != "GET":
                entry = {"method": self.command, "path": self.path,
                         "operation_id": self.headers.get(OPERATION_HEADER)}
                with lock, log.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(entry) + "\n")
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            request = urllib.request.Request(upstream + self.path, data=body, headers=headers,
                                             method=self.command)
            try:
                with urllib.request.urlopen(request, timeout=30) as up:
                    status, payload, kind = up.status, up.read(), up.headers.get_content_type()
            except urllib.error.HTTPError as exc:
                status, payload, kind = exc.code, exc.read(), exc.headers.get_content_type()
            except OSError as exc:
                self.answer(502, json.dumps({"detail": f"recorder: {exc}"}).encode(),
                            "application/json")
                return
            self.answer(status, payload, kind)

        do_GET = do_POST = do_PUT = do_DELETE = _forward

    return Recorder


def recorded_calls(log: Path) -> list[dict[str, Any]]:
    """What a recorder wrote: one dict per mutating call, in arrival order."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]


def main() -> None:
    parser = argparse.ArgumentParser(prog="tinyweb")
    parser.add_argument("kind", choices=("app", "front", "recorder"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--marker")
    parser.add_argument("--loaded", type=Path)
    parser.add_argument("--upstream")
    parser.add_argument("--log", type=Path)
    args = parser.parse_args()
    if args.kind == "app":
        handler = app_handler(args.marker)
    elif args.kind == "front":
        handler = front_handler(args.loaded)
    else:
        handler = recorder_handler(args.upstream.rstrip("/"), args.log)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
