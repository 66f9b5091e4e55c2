"""HTTP clients of the peers' admin APIs (httpx, timeouts, service token, TLS)."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from drcontrol.errors import PeerError
from drcontrol.settings import PeerSettings

OPERATION_HEADER = "X-DR-Operation-Id"


def _verify(settings: PeerSettings) -> ssl.SSLContext | bool:
    tls = settings.tls
    if not (tls.enabled or (settings.url or "").startswith("https")):
        return True
    context = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
    context.check_hostname = tls.check_hostname
    if tls.cert_file:
        context.load_cert_chain(str(tls.cert_file), str(tls.key_file) if tls.key_file else None)
    return context


class HttpPeer:
    """One peer's base URL, token and timeout; every failure becomes PeerError."""

    def __init__(self, name: str, settings: PeerSettings) -> None:
        if settings.url is None:
            raise PeerError(f"{name} has no url configured", peer=name)
        self.name = name
        self.where = f"{name}@{settings.url}"
        headers = {"User-Agent": "drcontrol"}
        token = settings.bearer(key=f"peers.{name}.token")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.AsyncClient(
            base_url=settings.url,
            headers=headers,
            timeout=httpx.Timeout(settings.timeout_seconds),
            verify=_verify(settings),
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        operation_id: str | None = None,
        allow_404: bool = False,
    ) -> Any:
        headers = {OPERATION_HEADER: operation_id} if operation_id else {}
        try:
            response = await self._client.request(method, path, json=json, headers=headers)
        except httpx.HTTPError as exc:
            raise PeerError(f"{self.name} unreachable: {str(exc) or type(exc).__name__}",
                            peer=self.where, path=path) from exc
        if allow_404 and response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise PeerError(
                f"{self.name} answered {response.status_code}: {_detail(response)}",
                peer=self.where, path=path)
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError as exc:
            raise PeerError(f"{self.name} answered non-JSON", peer=self.where, path=path) from exc


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)[:200]


class HttpCapture(HttpPeer):
    """capture's admin API over HTTP."""

    async def status(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("GET", "/api/v1/status")
        return result

    async def fence(self, operation_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("POST", "/api/v1/fence",
                                                 operation_id=operation_id)
        return result

    async def stop(self, operation_id: str) -> None:
        await self.call("POST", "/api/v1/stop", operation_id=operation_id)


class HttpApply(HttpPeer):
    """apply's admin API over HTTP."""

    async def status(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("GET", "/api/v1/status")
        return result

    async def hold(self, scn: int, operation_id: str) -> None:
        await self.call("POST", "/api/v1/hold", json={"scn": scn}, operation_id=operation_id)

    async def resume(self, operation_id: str) -> None:
        await self.call("POST", "/api/v1/resume", operation_id=operation_id)

    async def stop(self, operation_id: str) -> None:
        await self.call("POST", "/api/v1/stop", operation_id=operation_id)

    async def replay(self, body: dict[str, Any], operation_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("POST", "/api/v1/replay", json=body,
                                                 operation_id=operation_id)
        return result


class HttpAppha(HttpPeer):
    """appha's admin API over HTTP."""

    async def apps(self) -> list[dict[str, Any]]:
        result = await self.call("GET", "/api/v1/apps")
        if not isinstance(result, list):
            raise PeerError("appha /apps did not answer a list", peer=self.where)
        return result

    async def switch(self, app: str, operation_id: str, requested_by: str, *, back: bool,
                     accept_split_brain: str | None = None,
                     compensates: str | None = None) -> None:
        verb = "switchback" if back else "switch"
        body: dict[str, Any] = {"operation_id": operation_id, "requested_by": requested_by}
        if accept_split_brain:
            body["accept_split_brain"] = accept_split_brain
        if compensates:
            body["compensates"] = compensates
        await self.call("POST", f"/api/v1/apps/{app}/{verb}", json=body,
                        operation_id=operation_id)

    async def acknowledge(self, app: str, requested_by: str, comment: str) -> None:
        await self.call("POST", f"/api/v1/apps/{app}/acknowledge",
                        json={"requested_by": requested_by, "comment": comment})

    async def switch_status(self, app: str, operation_id: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = await self.call(
            "GET", f"/api/v1/apps/{app}/switches/{operation_id}", allow_404=True
        )
        return result
