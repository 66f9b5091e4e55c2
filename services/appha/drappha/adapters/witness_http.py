"""A witness (``drappha witness``) over HTTP."""

from __future__ import annotations

import httpx

from drappha.adapters.http import tls_verify
from drappha.model import Status
from drappha.peers import VantageReport
from drappha.settings import WitnessPeer


class HttpWitness:
    """Asks a witness to probe a site now; unreachable or unsure becomes UNKNOWN."""

    def __init__(self, peer: WitnessPeer) -> None:
        self.name = peer.name
        token = peer.bearer(key=f"witnesses.{peer.name}.token")
        self._client = httpx.AsyncClient(
            base_url=peer.url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"} if token else {},
            timeout=peer.timeout_seconds,
            verify=tls_verify(peer.verify_tls, peer.ca_file),
        )

    async def probe(self, app: str, site: str) -> VantageReport:
        try:
            response = await self._client.post("/api/v1/probe", json={"app": app, "site": site})
        except httpx.HTTPError as exc:
            return VantageReport(self.name, Status.UNKNOWN, f"witness unreachable: {exc!r}")
        if response.status_code != 200:
            return VantageReport(
                self.name, Status.UNKNOWN, f"witness answered {response.status_code}"
            )
        body = response.json()
        status = Status.UP if body.get("serving") else Status.DOWN
        failing = [r["detail"] for r in body.get("results", []) if not r.get("ok")]
        detail = "serving" if status is Status.UP else "; ".join(failing) or "not serving"
        return VantageReport(self.name, status, detail)

    async def close(self) -> None:
        await self._client.aclose()
