"""The HTTP server of appha and of its witness, built from the ``[http]`` section."""

from __future__ import annotations

from drcommon.config import HttpSettings
from drcommon.http import HttpServer
from fastapi import FastAPI


def http_server(app: FastAPI, http: HttpSettings) -> HttpServer:
    """uvicorn in this loop on ``http.host:http.port``, with TLS when both files are set."""
    return HttpServer(
        app,
        http.host,
        http.port,
        str(http.tls_cert_file) if http.tls_cert_file else None,
        str(http.tls_key_file) if http.tls_key_file else None,
    )
