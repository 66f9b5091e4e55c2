"""appha's configuration: one TOML file plus ``DRAPPHA__…`` overrides.

Per application: the primary (government cloud) and standby (local servers) sites with
their checks and actions, the detection threshold, anti-flapping, switching and traffic
verification. ``auto`` mode is refused at start unless a witness at a third location,
the control service and fencing on both sites are configured.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from drcommon.config import (
    HttpSettings,
    LoggingSettings,
    Section,
    ServiceSettings,
    read_secret,
)
from pydantic import Field, SecretStr, field_validator, model_validator

from drappha.specs import Check, FenceAction, StartAction, TrafficAction, check_name

DEFAULT_PORT = 8703
WITNESS_DEFAULT_PORT = 8704


class AppHAHttpSettings(HttpSettings):
    """appha's HTTP endpoint; listens on 8703 unless told otherwise."""

    port: int = Field(DEFAULT_PORT, ge=0, le=65535, description="0 picks a free port.")


class WitnessHttpSettings(HttpSettings):
    """The witness's HTTP endpoint; listens on 8704 unless told otherwise."""

    port: int = Field(WITNESS_DEFAULT_PORT, ge=0, le=65535, description="0 picks a free port.")


class SiteSettings(Section):
    """One side of an application: the cloud primary or the local standby servers."""

    servers: list[str] = Field(
        default_factory=list,
        description="host:port endpoints serving the app at this site (traffic actions use them).",
    )
    marker: str = Field(
        ...,
        min_length=1,
        description="Text the verification URL answers with when this site serves.",
    )
    checks: list[Check] = Field(..., min_length=1, description="Health checks of this site.")
    start: StartAction | None = Field(
        None, description="Starts (or verifies) the app here before traffic moves to this site."
    )
    fence: FenceAction | None = Field(
        None, description="Stops this site serving before traffic moves away from it."
    )

    @model_validator(mode="after")
    def _unique_check_names(self) -> SiteSettings:
        names = [check_name(i, c) for i, c in enumerate(self.checks)]
        if len(set(names)) != len(names):
            raise ValueError(f"checks: names must be unique within a site, got {names}")
        return self


class DetectionSettings(Section):
    """When a failing active site counts as down: both a count and a duration."""

    switch_after_failures: int = Field(
        3,
        ge=1,
        description="Consecutive failed results of one check before a switch is considered.",
    )
    switch_after_seconds: float = Field(
        15.0, ge=0, description="And the failure has lasted at least this long (first failure on)."
    )
    grace_seconds: float = Field(
        30.0, ge=0, description="After appha starts, failures are shown but never switch."
    )


class AntiFlapSettings(Section):
    """Brakes against switch storms."""

    hold_down_seconds: float = Field(
        30.0, ge=0, description="A recovered site must stay up this long before it counts healthy."
    )
    min_switch_interval_seconds: float = Field(
        600.0, ge=0, description="Least time between the starts of two switches of one app."
    )


class SwitchSettings(Section):
    """How a switch runs and what it needs."""

    target_ready_timeout_seconds: float = Field(
        120.0, gt=0, description="How long the target site may take to pass all its checks."
    )
    lease_seconds: float = Field(
        30.0,
        gt=0,
        description=(
            "The old site's lease: once no vantage point has seen it serving for this long, "
            "a site-side watchdog with the same lease has stopped it."
        ),
    )
    min_attestation_signals: int = Field(
        2,
        ge=1,
        le=3,
        description="Fencing attestation: how many of (fence ok, down from 2 vantage points, "
        "lease expired) are needed; fence ok is always one of them. Auto mode requires it.",
    )


class VerifySettings(Section):
    """Confirm from outside that traffic reaches the new site."""

    url: str = Field(..., description="Public URL answering with the serving site's marker.")
    interval_seconds: float = Field(1.0, gt=0)
    timeout_seconds: float = Field(60.0, gt=0, description="Unverified after this long: failed.")
    required_successes: int = Field(
        2, ge=1, description="Consecutive answers with the new marker needed (DNS/LB caches)."
    )
    request_timeout_seconds: float = Field(2.0, gt=0)
    verify_tls: bool = True
    ca_file: Path | None = None

    @model_validator(mode="after")
    def _consistent(self) -> VerifySettings:
        if self.interval_seconds >= self.timeout_seconds:
            raise ValueError("verify.interval_seconds must be less than verify.timeout_seconds")
        return self


class AppSettings(Section):
    """One application (HIS, medical-insurance transactions …)."""

    mode: Literal["manual", "auto"] = Field(
        "manual", description="manual: a person confirms in control; auto: appha switches itself."
    )
    primary: SiteSettings
    standby: SiteSettings
    detection: DetectionSettings = DetectionSettings()
    anti_flap: AntiFlapSettings = AntiFlapSettings()
    switch: SwitchSettings = SwitchSettings()
    traffic: TrafficAction = Field(..., description="How traffic is moved to a site.")
    verify: VerifySettings

    @model_validator(mode="after")
    def _consistent(self) -> AppSettings:
        if self.primary.marker == self.standby.marker:
            raise ValueError("primary.marker and standby.marker must differ")
        longest = max(c.interval_seconds for c in [*self.primary.checks, *self.standby.checks])
        if self.anti_flap.hold_down_seconds < longest:
            raise ValueError(
                f"anti_flap.hold_down_seconds ({self.anti_flap.hold_down_seconds}) must be at "
                f"least the longest check interval ({longest})"
            )
        return self


class PeerSettings(Section):
    """An HTTP peer appha calls with a bearer token (control, a witness)."""

    url: str = Field(..., description="Base URL, e.g. https://control.dr.example:8700")
    token: SecretStr | None = Field(None, description="Bearer token; only from env or a file.")
    token_file: Path | None = None
    timeout_seconds: float = Field(5.0, gt=0)
    verify_tls: bool = True
    ca_file: Path | None = None

    def bearer(self, *, key: str) -> str | None:
        """The token, read from the environment or its file."""
        secret = read_secret(self.token, self.token_file, key=key)
        return secret.get_secret_value() if secret else None


class WitnessPeer(PeerSettings):
    """A witness at a third location (``drappha witness``) asked for its view."""

    name: str = Field(..., description="Shown in attestations and metrics.")
    timeout_seconds: float = Field(2.0, gt=0)


class ControlPeer(PeerSettings):
    """The control service: failover requests, freeze, reports."""

    poll_interval_seconds: float = Field(2.0, gt=0, description="Polling of an open request.")


class HistorySettings(Section):
    """The small SQLite file with events, switches, state and the audit log."""

    path: Path = Field(Path("appha.sqlite"), description="SQLite file (created if missing).")
    recent_results: int = Field(20, ge=1, description="Check results kept per check for the API.")
    availability_window_seconds: float = Field(
        86400.0, gt=0, description="Window of the availability figures."
    )


class AppHASettings(ServiceSettings):
    """Everything appha needs; built once at start."""

    env_prefix_name: ClassVar[str] = "DRAPPHA"

    http: AppHAHttpSettings = AppHAHttpSettings()
    logging: LoggingSettings = LoggingSettings()
    control: ControlPeer | None = Field(None, description="Needed for manual requests and auto.")
    witnesses: list[WitnessPeer] = Field(
        default_factory=list, description="Second vantage points at a third location."
    )
    history: HistorySettings = HistorySettings()
    tick_seconds: float = Field(
        0.5, gt=0, description="Decision loop wakes at least this often (checks also wake it)."
    )
    apps: dict[str, AppSettings] = Field(..., min_length=1)

    @field_validator("apps")
    @classmethod
    def _names(cls, value: dict[str, AppSettings]) -> dict[str, AppSettings]:
        for name in value:
            if not name.replace("-", "").replace("_", "").isalnum() or not name[:1].isalnum():
                raise ValueError(f"app name {name!r}: letters, digits, - and _ only, "
                                 "starting with a letter or digit")
        return value

    @model_validator(mode="after")
    def _auto_prerequisites(self) -> AppHASettings:
        for name, app in self.apps.items():
            if app.mode == "auto":
                missing = auto_missing(self, app)
                if missing:
                    raise ValueError(f"apps.{name}.mode = 'auto' refused: {missing}")
        return self


def auto_missing(settings: AppHASettings, app: AppSettings) -> str | None:
    """Why ``auto`` cannot be allowed for ``app``, or None when it can."""
    if not settings.witnesses:
        return "no witness at a third location is configured ([[witnesses]])"
    if settings.control is None:
        return "the control service is not configured ([control])"
    if app.primary.fence is None or app.standby.fence is None:
        return "both sites need a fence action (primary.fence, standby.fence)"
    return None


class WitnessTarget(Section):
    """What the witness probes when asked about one application's site."""

    app: str
    site: Literal["primary", "standby"]
    checks: list[Check] = Field(..., min_length=1)


class WitnessSettings(ServiceSettings):
    """``drappha witness``: answers probe requests from a third location."""

    env_prefix_name: ClassVar[str] = "DRAPPHA"

    http: WitnessHttpSettings = WitnessHttpSettings()
    logging: LoggingSettings = LoggingSettings()
    targets: list[WitnessTarget] = Field(..., min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> WitnessSettings:
        keys = [(t.app, t.site) for t in self.targets]
        if len(set(keys)) != len(keys):
            raise ValueError("targets: each (app, site) may appear once")
        return self
