"""A synchronous client of control's API for ``drctl``; HTTP outcomes become exit codes.

Exit codes (documented in docs/CONTROL.md): 0 ok, 1 operation failed, 2 usage or
configuration, 3 refused or forbidden, 4 not found, 5 unreachable.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import httpx

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_NOT_FOUND = 4
EXIT_UNREACHABLE = 5
REFUSALS = frozenset({401, 403, 409, 410, 412, 422, 428})


class CliError(Exception):
    """Ends drctl with ``code`` after printing ``message`` to stderr."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def exit_code_for(status: int) -> int:
    """The exit code a script sees for an HTTP status."""
    if status in REFUSALS:
        return EXIT_REFUSED
    if status == 404:
        return EXIT_NOT_FOUND
    if status >= 500:
        return EXIT_UNREACHABLE
    return EXIT_USAGE


def resolve_token(token_file: Path | None) -> str:
    """``--token-file`` first, then ``DRCTL_TOKEN``; missing is a usage error."""
    if token_file is not None:
        try:
            return token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CliError(EXIT_USAGE, f"cannot read token file {token_file}: {exc.strerror}"
                           ) from exc
    token = os.environ.get("DRCTL_TOKEN")
    if not token:
        raise CliError(EXIT_USAGE, "no token: pass --token-file or set DRCTL_TOKEN")
    return token


class ControlClient:
    """Calls the API; every mutating call gets a fresh Idempotency-Key unless given."""

    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(base_url=self.url, timeout=timeout,
                                    headers={"Authorization": f"Bearer {token}",
                                             "User-Agent": "drctl"})

    def close(self) -> None:
        self._client.close()

    def call(self, method: str, path: str, *, json: Any = None, if_match: str | None = None,
             params: dict[str, Any] | None = None, key: str | None = None,
             raw: bool = False) -> Any:
        headers: dict[str, str] = {}
        if if_match is not None:
            headers["If-Match"] = if_match
        if method != "GET":
            headers["Idempotency-Key"] = key or f"drctl-{uuid.uuid4().hex}"
        try:
            response = self._client.request(method, path, json=json, headers=headers,
                                            params=params)
        except httpx.HTTPError as exc:
            raise CliError(EXIT_UNREACHABLE,
                           f"control unreachable at {self.url}: {exc}") from exc
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise CliError(exit_code_for(response.status_code),
                           f"{response.status_code}: {detail}")
        if raw:
            return response.text
        return response.json() if response.content else {}

    def etag(self) -> str:
        """The site group's current ETag (what ``If-Match`` must carry)."""
        try:
            response = self._client.get("/api/v1/sites")
        except httpx.HTTPError as exc:
            raise CliError(EXIT_UNREACHABLE, f"control unreachable at {self.url}: {exc}"
                           ) from exc
        if response.status_code >= 400:
            raise CliError(exit_code_for(response.status_code),
                           f"{response.status_code}: {response.text}")
        return response.headers["ETag"]
