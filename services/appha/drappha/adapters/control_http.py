"""The control service over HTTP (its ``/api/v1`` with appha's service token)."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from drappha.adapters.http import tls_verify
from drappha.errors import PeerUnavailable, RequestRefused
from drappha.settings import ControlPeer

log = logging.getLogger(__name__)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail if detail is not None else body)[:300]


class HttpControlClient:
    """Calls control's operations, freeze and events endpoints."""

    def __init__(self, peer: ControlPeer) -> None:
        token = peer.bearer(key="control.token")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(
            base_url=peer.url.rstrip("/"),
            headers=headers,
            timeout=peer.timeout_seconds,
            verify=tls_verify(peer.verify_tls, peer.ca_file),
        )

    async def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        try:
            response = await self._client.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise PeerUnavailable(f"control unreachable: {exc}", path=path) from exc
        if response.status_code in (409, 412):
            raise RequestRefused(f"control refused: {_detail(response)}", path=path)
        if response.status_code >= 400:
            raise PeerUnavailable(
                f"control answered {response.status_code}: {response.text[:200]}", path=path
            )
        return response.json() if response.content else {}

    async def open_request(
        self, app: str, reason: str, evidence: dict[str, Any], request_key: str
    ) -> str:
        body = {"type": "app_failover", "app": app, "reason": reason, "evidence": evidence}
        # A retry after a lost answer gets the operation opened the first time (control's
        # Idempotency-Key), not a 409 for a second request: appha keeps its id to watch it.
        answer = await self._call(
            "POST", "/api/v1/operations", body, headers={"Idempotency-Key": request_key}
        )
        ident = answer.get("id") or answer.get("operation_id")
        if not ident:
            raise PeerUnavailable(
                "control did not return an operation id", path="/api/v1/operations"
            )
        return str(ident)

    async def request_state(self, request_id: str) -> str:
        answer = await self._call("GET", f"/api/v1/operations/{request_id}")
        return str(answer.get("state", "unknown"))

    async def withdraw_request(self, request_id: str, comment: str) -> None:
        await self._call("POST", f"/api/v1/operations/{request_id}/cancel", {"comment": comment})

    async def frozen(self, app: str) -> bool:
        """Ask control's automation permit (freeze and anti-flapping blocks); a control
        without that endpoint is asked for its global freeze only."""
        path = "/api/v1/automation/permit"
        try:
            response = await self._client.get(path, params={"app": app})
        except httpx.HTTPError as exc:
            raise PeerUnavailable(f"control unreachable: {exc}", path=path) from exc
        if response.status_code == 200:
            return not bool(response.json().get("allowed", False))
        if response.status_code == 409:  # control refuses: freeze or an anti-flapping block
            log.warning(
                "control refuses automation", extra={"app": app, "reason": response.text[:200]}
            )
            return True
        if response.status_code != 404:
            raise PeerUnavailable(f"control answered {response.status_code}", path=path)
        answer = await self._call("GET", "/api/v1/freeze")
        return bool(answer["frozen"])

    async def report(self, app: str, kind: str, detail: dict[str, Any]) -> None:
        body = {"source": "appha", "app": app, "kind": kind, "detail": detail, "at": time.time()}
        await self._call("POST", "/api/v1/events", body)

    async def close(self) -> None:
        await self._client.aclose()
