"""Configuration of health checks and actions: one frozen model per kind, chosen by ``kind``.

Checks (``http``, ``tcp``, ``command``, ``ssh``) say how to ask a site "are you serving?";
actions (``command``, ``ssh``, ``http``, and for traffic also ``nginx``) say how to start
an application, fence a site or move traffic. Inconsistent values fail at start with the
key named (``apps.his.primary.checks.0.http.timeout_seconds: …``).
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Annotated, Any, Literal

from drcommon.config import Section
from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

#: Placeholders an action's arguments, URL or body may use; filled in per operation.
ACTION_FIELDS = frozenset({"app", "site", "operation_id", "servers"})


def template_fields(text: str) -> set[str]:
    """The ``{placeholder}`` names used in ``text``."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def check_templates(values: list[str] | dict[str, Any] | str) -> None:
    """Refuse placeholders an action cannot fill (a typo would otherwise fail mid-switch)."""
    texts: list[str] = []
    if isinstance(values, str):
        texts = [values]
    elif isinstance(values, list):
        texts = [v for v in values if isinstance(v, str)]
    else:
        texts = [v for v in values.values() if isinstance(v, str)]
    for text in texts:
        unknown = template_fields(text) - ACTION_FIELDS
        if unknown:
            raise ValueError(
                f"unknown placeholder {{{sorted(unknown)[0]}}} in {text!r}; "
                f"allowed: {', '.join(sorted(ACTION_FIELDS))}"
            )


class CheckBase(Section):
    """Timing shared by every check: interval, timeout, rise and fall."""

    name: str | None = Field(None, description="Shown in the API and metrics; default kind+index.")
    interval_seconds: float = Field(5.0, gt=0, description="Seconds between check starts.")
    timeout_seconds: float = Field(
        2.0, gt=0, description="A check taking longer fails; must be less than the interval."
    )
    rise: int = Field(2, ge=1, description="Consecutive successes that mark the check up.")
    fall: int = Field(3, ge=1, description="Consecutive failures that mark the check down.")

    @field_validator("timeout_seconds")
    @classmethod
    def _timeout_below_interval(cls, value: float, info: ValidationInfo) -> float:
        interval = info.data.get("interval_seconds")
        if interval is not None and value >= interval:
            raise ValueError(
                f"timeout_seconds ({value}) must be less than interval_seconds ({interval}); "
                "otherwise checks overlap and detection time is unbounded"
            )
        return value


class HttpCheck(CheckBase):
    """GET (or HEAD) a URL; pass on an expected status, body pattern and latency."""

    kind: Literal["http"] = "http"
    url: str = Field(..., description="http:// or https:// URL to request.")
    method: Literal["GET", "HEAD"] = "GET"
    expect_status: list[int] = Field(
        default_factory=lambda: [200], description="Statuses that count as a pass."
    )
    body_pattern: str | None = Field(None, description="Regular expression the body must match.")
    max_latency_ms: float | None = Field(
        None, gt=0, description="A slower answer fails, even with the right status."
    )
    verify_tls: bool = Field(True, description="Verify the server certificate.")
    ca_file: Path | None = Field(None, description="CA bundle for a private CA.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return value

    @field_validator("body_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"body_pattern is not a valid regular expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _latency_within_timeout(self) -> HttpCheck:
        if self.max_latency_ms is not None and self.max_latency_ms / 1000 >= self.timeout_seconds:
            raise ValueError(
                f"max_latency_ms ({self.max_latency_ms}) must be below timeout_seconds "
                f"({self.timeout_seconds}) in milliseconds"
            )
        return self


class TcpCheck(CheckBase):
    """Open a TCP connection; pass when it is accepted within the timeout."""

    kind: Literal["tcp"] = "tcp"
    host: str
    port: int = Field(..., ge=1, le=65535)


class CommandCheck(CheckBase):
    """Run a local command; pass on exit status 0 (and an output pattern, if given)."""

    kind: Literal["command"] = "command"
    argv: list[str] = Field(..., min_length=1, description="Program and arguments (no shell).")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment.")
    expect_output: str | None = Field(None, description="Regular expression stdout must match.")


class SshTarget(Section):
    """Where and as whom to run a command over SSH (keys only; host keys always verified)."""

    host: str
    port: int = Field(22, ge=1, le=65535)
    username: str
    client_key_file: Path = Field(..., description="Private key file for public-key login.")
    known_hosts_file: Path = Field(..., description="known_hosts file holding the host key.")


class SshCheck(CheckBase, SshTarget):
    """Run a command on a server over SSH; pass on exit status 0 (and output pattern)."""

    kind: Literal["ssh"] = "ssh"
    command: str = Field(..., description="Remote command line.")
    expect_output: str | None = None


Check = Annotated[HttpCheck | TcpCheck | CommandCheck | SshCheck, Field(discriminator="kind")]


class ActionBase(Section):
    """Timing shared by every action."""

    timeout_seconds: float = Field(30.0, gt=0, description="The action fails after this long.")


class CommandAction(ActionBase):
    """Run a local program; success is exit status 0. Arguments may use placeholders
    ``{app}``, ``{site}``, ``{operation_id}``, ``{servers}``; the same values are also in
    the environment as ``DRAPPHA_APP``, ``DRAPPHA_SITE``, ``DRAPPHA_OPERATION_ID``,
    ``DRAPPHA_SERVERS``."""

    kind: Literal["command"] = "command"
    argv: list[str] = Field(..., min_length=1)
    env: dict[str, str] = Field(default_factory=dict)

    @field_validator("argv")
    @classmethod
    def _placeholders(cls, value: list[str]) -> list[str]:
        check_templates(value)
        return value


class SshAction(ActionBase, SshTarget):
    """Run a command over SSH; success is exit status 0. Placeholders as for ``command``."""

    kind: Literal["ssh"] = "ssh"
    command: str

    @field_validator("command")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        check_templates(value)
        return value


class HttpAction(ActionBase):
    """Call an HTTP API (load balancer, DNS, power switch); success is an expected status.
    URL and string values of ``json`` may use placeholders."""

    kind: Literal["http"] = "http"
    method: Literal["POST", "PUT", "PATCH", "DELETE", "GET"] = "POST"
    url: str
    json_body: dict[str, Any] | None = Field(None, description="JSON body; strings templated.")
    expect_status: list[int] = Field(default_factory=lambda: [200, 201, 202, 204])
    token: SecretStr | None = Field(None, description="Bearer token; only from env or a file.")
    token_file: Path | None = None
    verify_tls: bool = True
    ca_file: Path | None = None

    @model_validator(mode="after")
    def _placeholders(self) -> HttpAction:
        check_templates(self.url)
        if self.json_body:
            check_templates(self.json_body)
        return self


class NginxUpstreamAction(ActionBase):
    """Rewrite an nginx ``upstream`` block file atomically to the target site's servers,
    optionally test the configuration, then run the reload command."""

    kind: Literal["nginx"] = "nginx"
    file: Path = Field(..., description="The file holding only the upstream block.")
    upstream: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$", description="Upstream name.")
    server_options: str = Field("", description="Appended to each server line (max_fails=…).")
    test_argv: list[str] | None = Field(None, description="e.g. ['nginx', '-t']; restore on fail.")
    reload_argv: list[str] = Field(..., min_length=1, description="e.g. ['nginx','-s','reload'].")


StartAction = Annotated[CommandAction | SshAction | HttpAction, Field(discriminator="kind")]
FenceAction = StartAction
TrafficAction = Annotated[
    CommandAction | SshAction | HttpAction | NginxUpstreamAction, Field(discriminator="kind")
]

AnyCheck = HttpCheck | TcpCheck | CommandCheck | SshCheck
AnyAction = CommandAction | SshAction | HttpAction | NginxUpstreamAction


def check_name(index: int, check: AnyCheck) -> str:
    """A check's display name: its ``name`` or ``<kind><index>``."""
    return check.name or f"{check.kind}{index}"
