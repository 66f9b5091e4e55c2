"""Real local receivers for notifications (test doubles for what cannot run here):

* :class:`WebhookReceiver` — a real HTTP server that records JSON POSTs and can answer
  503 to the first N to exercise retries;
* :class:`MiniSmtpServer` — a minimal SMTP server written for these tests on stdlib
  asyncio (EHLO/HELO, STARTTLS, MAIL, RCPT, DATA, RSET, NOOP, QUIT), standing in for the
  bureau's SMTP relay. It is not a general mail server.
"""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

from drcommon.http import HttpServer
from fastapi import FastAPI, Request, Response


@dataclass
class WebhookReceiver:
    """Records every POST body; answers ``fail_status`` to the first ``fail_first`` calls."""

    fail_first: int = 0
    fail_status: int = 503
    received: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    server: HttpServer | None = None

    async def start(self) -> str:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            self.attempts += 1
            if self.attempts <= self.fail_first:
                return Response(status_code=self.fail_status)
            self.received.append(await request.json())
            return Response(status_code=204)

        self.server = HttpServer(app, "127.0.0.1", 0)
        await self.server.start()
        return f"{self.server.url}/hook"

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.1 made with the openssl command."""
    cert, key = directory / "smtp.crt", directory / "smtp.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True)
    return cert, key


@dataclass
class MiniSmtpServer:
    """Accepts mail on loopback and keeps it in ``messages``."""

    tls: ssl.SSLContext | None = None
    messages: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str], bool]] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)  # (AUTH line, over TLS)
    port: int = 0
    _server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                       ) -> None:
        secure = False
        sender, rcpts = "", list[str]()

        async def say(text: str) -> None:
            writer.write(text.encode() + b"\r\n")
            await writer.drain()

        await say("220 127.0.0.1 test SMTP")
        try:
            while line := await reader.readline():
                verb = line.decode().strip().split(" ", 1)[0].upper()
                argument = line.decode().strip()[len(verb):].strip()
                if verb == "EHLO":
                    await say("250-127.0.0.1")
                    if self.tls is not None and not secure:
                        await say("250-STARTTLS")
                    await say("250-AUTH PLAIN")
                    await say("250 8BITMIME")
                elif verb == "AUTH":
                    self.logins.append((argument, secure))
                    await say("235 accepted")
                elif verb == "HELO" or verb in ("RSET", "NOOP"):
                    await say("250 ok")
                elif verb == "STARTTLS" and self.tls is not None:
                    await say("220 go ahead")
                    await writer.start_tls(self.tls)
                    secure = True
                elif verb == "MAIL":
                    sender, rcpts = argument.split(":", 1)[1].strip(" <>"), list[str]()
                    await say("250 ok")
                elif verb == "RCPT":
                    rcpts.append(argument.split(":", 1)[1].strip(" <>"))
                    await say("250 ok")
                elif verb == "DATA":
                    await say("354 end with <CRLF>.<CRLF>")
                    data = await reader.readuntil(b"\r\n.\r\n")
                    self.messages.append(message_from_bytes(data[:-5], policy=policy.default))
                    self.envelopes.append((sender, rcpts, secure))
                    await say("250 queued")
                elif verb == "QUIT":
                    await say("221 bye")
                    break
                else:
                    await say("502 not implemented")
        finally:
            writer.close()
