"""HTTP: the health check (status, body pattern, latency) and the HTTP action."""

from __future__ import annotations

import re
import ssl
import time
from pathlib import Path
from typing import Any

import httpx
from drcommon.config import read_secret

from drappha.adapters import ActionContext, Outcome
from drappha.specs import HttpAction, HttpCheck

# Checks open a fresh connection each time: a reused keep-alive connection would hide a
# listener that no longer accepts new clients.
_NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)


def tls_verify(verify: bool, ca_file: Path | None) -> ssl.SSLContext | bool:
    """httpx's ``verify`` argument from the two config keys."""
    if not verify:
        return False
    if ca_file is not None:
        return ssl.create_default_context(cafile=str(ca_file))
    return True


class HttpProbe:
    """GET/HEAD a URL; pass on an expected status, a matching body and a latency limit."""

    def __init__(self, spec: HttpCheck) -> None:
        self._spec = spec
        self._pattern = re.compile(spec.body_pattern) if spec.body_pattern else None
        self._client = httpx.AsyncClient(
            verify=tls_verify(spec.verify_tls, spec.ca_file),
            limits=_NO_KEEPALIVE,
            timeout=spec.timeout_seconds,
            follow_redirects=False,
        )

    async def run(self) -> Outcome:
        spec = self._spec
        started = time.monotonic()
        try:
            response = await self._client.request(spec.method, spec.url)
        except httpx.HTTPError as exc:
            return Outcome(False, f"{type(exc).__name__}: {exc}".rstrip(": "))
        elapsed_ms = (time.monotonic() - started) * 1000
        if response.status_code not in spec.expect_status:
            return Outcome(False, f"status {response.status_code}")
        if self._pattern is not None and not self._pattern.search(response.text):
            return Outcome(False, f"status {response.status_code}, body does not match pattern")
        if spec.max_latency_ms is not None and elapsed_ms > spec.max_latency_ms:
            return Outcome(False, f"slow: {elapsed_ms:.0f} ms > {spec.max_latency_ms:g} ms")
        return Outcome(True, f"status {response.status_code} in {elapsed_ms:.0f} ms")

    async def close(self) -> None:
        await self._client.aclose()


def _fill(value: Any, fields: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format_map(fields)
    if isinstance(value, dict):
        return {k: _fill(v, fields) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, fields) for v in value]
    return value


class HttpActionRunner:
    """Call an API (load balancer, DNS, fencing device) and expect a success status."""

    def __init__(self, spec: HttpAction) -> None:
        self._spec = spec

    async def run(self, ctx: ActionContext) -> Outcome:
        spec = self._spec
        fields = ctx.fields()
        headers = {}
        token = read_secret(spec.token, spec.token_file, key="action.token")
        if token is not None:
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        async with httpx.AsyncClient(
            verify=tls_verify(spec.verify_tls, spec.ca_file), timeout=spec.timeout_seconds
        ) as client:
            try:
                response = await client.request(
                    spec.method,
                    spec.url.format_map(fields),
                    json=_fill(spec.json_body, fields) if spec.json_body is not None else None,
                    headers=headers,
                )
            except httpx.HTTPError as exc:
                return Outcome(False, f"{spec.method} {spec.url}: {type(exc).__name__}: {exc}")
        ok = response.status_code in spec.expect_status
        return Outcome(ok, f"{spec.method} answered {response.status_code}: {response.text[:200]}")
