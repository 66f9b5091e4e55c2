"""Issue 17, finding 10: every answer of every service carries the security headers (the
console cannot be framed, sniffed or made to load scripts from elsewhere), and the
OpenAPI schema and /metrics are off or need a login as the settings say; the
production profiles say so."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from drcommon.config import HttpSettings
from drcommon.http import HttpServer, add_health_and_metrics, api_app, require_token
from drcommon.metrics import Metrics

from tests.integration.control.conftest import Team
from tests.integration.deploy.compose import ROOT
from tests.integration.deploy.conftest import BY_NAME
from tests.integration.deploy.settings_view import load_service_settings

TOKEN = "metrics-reader-token-0123456789"


async def test_console_and_api_answers_carry_the_headers(team: Team) -> None:
    async with httpx.AsyncClient(base_url=team.url) as anonymous:
        for path in ("/console/", "/console/app.js", "/api/v1/sites", "/health"):
            answer = await anonymous.get(path)
            headers = answer.headers
            assert "frame-ancestors 'none'" in headers["content-security-policy"], path
            assert "default-src 'self'" in headers["content-security-policy"], path
            assert headers["x-frame-options"] == "DENY", path
            assert headers["x-content-type-options"] == "nosniff", path
            assert headers["referrer-policy"] == "no-referrer", path
        assert (await anonymous.get("/api/v1/docs")).status_code in (401, 404)
        assert (await anonymous.get("/metrics")).status_code == 200  # default: public
    assert (await team.viewer.client.get("/api/v1/openapi.json")).status_code == 200


@pytest.mark.parametrize(("openapi", "metrics", "anonymous", "with_token"), [
    ("off", "authenticated", (404, 401), (404, 200)),
    ("authenticated", "public", (401, 200), (200, 200)),
    ("public", "public", (200, 200), (200, 200)),
])
async def test_schema_and_metrics_follow_the_settings(
        openapi: str, metrics: str, anonymous: tuple[int, int],
        with_token: tuple[int, int]) -> None:
    http = HttpSettings(openapi=openapi, metrics=metrics)  # type: ignore[arg-type]
    app = api_app("probe")
    add_health_and_metrics(app, lambda: None, Metrics("probe"),  # type: ignore[arg-type,return-value]
                           http, require_token(TOKEN))
    server = HttpServer(app, "127.0.0.1", 0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as client:
            codes = tuple([(await client.get(p)).status_code
                           for p in ("/api/v1/openapi.json", "/metrics")])
            assert codes == anonymous
            auth = {"Authorization": f"Bearer {TOKEN}"}
            codes = tuple([(await client.get(p, headers=auth)).status_code
                           for p in ("/api/v1/openapi.json", "/metrics")])
            assert codes == with_token
            refused = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
            assert refused.headers["x-frame-options"] == "DENY"  # refusals too
    finally:
        await server.stop()


@pytest.mark.parametrize(("site", "service", "program"), [
    ("chunan", "control", "drcontrol"), ("chunan", "apply", "drapply"),
    ("chunan", "appha", "drappha"), ("hangzhou", "capture", "drcapture")])
def test_production_profiles_publish_no_schema_and_guard_metrics(
        site: str, service: str, program: str, tmp_path: Path) -> None:
    from tests.integration.deploy.conftest import make_secrets

    secrets = tmp_path / "secrets"
    assert make_secrets("sites", secrets).returncode == 0
    compose = BY_NAME[site].load(secrets)
    settings = load_service_settings(compose, service, program)
    http: HttpSettings = settings.http  # type: ignore[attr-defined]
    assert (http.openapi, http.metrics) == ("off", "authenticated"), ROOT
