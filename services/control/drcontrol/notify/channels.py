"""Delivery channels: a webhook (HTTP POST JSON) and e-mail (SMTP, optional STARTTLS).

Each retries with exponential backoff; a 4xx answer from a webhook is not retried (the
receiver refused the content, sending it again will not help).
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import smtplib
import ssl
from email.message import EmailMessage
from typing import Any, Protocol

import httpx
from drcommon.config import read_secret

from drcontrol.canonical import canonical_json
from drcontrol.settings import EmailSettings, WebhookSettings

log = logging.getLogger(__name__)


class Channel(Protocol):
    """Somewhere notifications go."""

    name: str

    def wants(self, kind: str) -> bool: ...

    async def send(self, message: dict[str, Any]) -> bool:
        """True when delivered (after retries), False when given up."""
        ...


def _wants(patterns: list[str], kind: str) -> bool:
    return any(fnmatch.fnmatchcase(kind, pattern) for pattern in patterns)


class WebhookChannel:
    """POST the notification as JSON."""

    def __init__(self, settings: WebhookSettings) -> None:
        self._settings = settings
        self.name = f"webhook:{settings.url}"
        headers = {"Content-Type": "application/json", "User-Agent": "drcontrol"}
        secret = read_secret(settings.token, settings.token_file, key="notify.webhooks.token")
        if secret is not None:
            headers["Authorization"] = f"Bearer {secret.get_secret_value()}"
        self._client = httpx.AsyncClient(headers=headers,
                                         timeout=httpx.Timeout(settings.timeout_seconds))

    def wants(self, kind: str) -> bool:
        return _wants(self._settings.events, kind)

    async def send(self, message: dict[str, Any]) -> bool:
        delay = self._settings.backoff_seconds
        body = canonical_json(message).encode("utf-8")
        for attempt in range(1, self._settings.max_attempts + 1):
            try:
                response = await self._client.post(self._settings.url, content=body)
            except httpx.HTTPError as exc:
                problem = f"unreachable: {str(exc) or type(exc).__name__}"
            else:
                if response.status_code < 300:
                    return True
                problem = f"answered {response.status_code}"
                if 400 <= response.status_code < 500 and response.status_code != 429:
                    log.error("webhook refused notification: %s", problem,
                              extra={"channel": self.name})
                    return False
            log.warning("webhook attempt %d failed: %s", attempt, problem,
                        extra={"channel": self.name})
            if attempt < self._settings.max_attempts:
                await asyncio.sleep(delay)
                delay *= 2
        return False

    async def close(self) -> None:
        await self._client.aclose()


class EmailChannel:
    """Send a plain-text mail per notification (smtplib in a worker thread)."""

    def __init__(self, settings: EmailSettings) -> None:
        self._settings = settings
        self.name = f"email:{settings.host}:{settings.port}"

    def wants(self, kind: str) -> bool:
        return _wants(self._settings.events, kind)

    def _deliver(self, mail: EmailMessage) -> None:
        s = self._settings
        with smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds) as smtp:
            if s.starttls:
                ca = str(s.ca_file) if s.ca_file else None
                smtp.starttls(context=ssl.create_default_context(cafile=ca))
            password = s.secret_password()
            if s.username and password:
                if not (s.starttls or s.allow_plaintext_login):  # settings refuse this too
                    raise smtplib.SMTPException("refusing to log in without STARTTLS")
                smtp.login(s.username, password)
            smtp.send_message(mail)

    def compose(self, message: dict[str, Any]) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = str(message.get("title", message.get("kind")))
        mail["From"] = self._settings.sender
        mail["To"] = ", ".join(self._settings.recipients)
        lines = [str(message.get("title", "")), ""]
        lines += [f"{key}: {value}" for key, value in sorted(message.get("data", {}).items())]
        lines += ["", f"kind: {message.get('kind')}", f"at: {message.get('at')}"]
        mail.set_content("\n".join(lines))
        return mail

    async def send(self, message: dict[str, Any]) -> bool:
        delay = self._settings.backoff_seconds
        mail = self.compose(message)
        for attempt in range(1, self._settings.max_attempts + 1):
            try:
                await asyncio.to_thread(self._deliver, mail)
                return True
            except (OSError, smtplib.SMTPException) as exc:
                log.warning("mail attempt %d failed: %s", attempt, exc,
                            extra={"channel": self.name})
            if attempt < self._settings.max_attempts:
                await asyncio.sleep(delay)
                delay *= 2
        return False

    async def close(self) -> None:
        return None
