"""Control's configuration: one settings class, built once at start and passed down.

Secrets (peer tokens, the PostgreSQL DSN, SMTP password, TOTP secrets) come from the
environment (``DRCONTROL__PEERS__APPLY__TOKEN``) or from ``*_file`` keys, never from
the TOML file itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from drcommon.config import (
    HttpSettings,
    KafkaSettings,
    LoggingSettings,
    Section,
    ServiceSettings,
    TlsSettings,
    read_secret,
)
from pydantic import Field, SecretStr, model_validator

from drcontrol.model import OpType, Role


class StorageSettings(Section):
    """Where control keeps operations, steps, users, tokens and the audit chain."""

    backend: Literal["sqlite", "postgresql"] = Field(
        "sqlite", description="sqlite (one file, default) or postgresql."
    )
    sqlite_path: Path = Field(Path("drcontrol.sqlite3"), description="SQLite database file.")
    postgres_dsn: SecretStr | None = Field(None, description="PostgreSQL DSN; env or file only.")
    postgres_dsn_file: Path | None = Field(None, description="File holding the PostgreSQL DSN.")
    postgres_schema: str = Field(
        "drcontrol", pattern=r"^[a-z_][a-z0-9_]*$", description="Schema for control's tables."
    )
    postgres_tls: TlsSettings = Field(
        TlsSettings(), description="backend=postgresql: verify-full TLS to the server."
    )

    def dsn(self) -> str | None:
        secret = read_secret(self.postgres_dsn, self.postgres_dsn_file, key="storage.postgres_dsn")
        return secret.get_secret_value() if secret else None


class PeerSettings(Section):
    """One peer admin API (capture, apply, appha); ``url = None`` means not deployed."""

    url: str | None = Field(None, description="Base URL, e.g. http://10.0.0.5:8702.")
    token: SecretStr | None = Field(None, description="Peer's service token; env or file only.")
    token_file: Path | None = Field(None, description="File holding the peer's service token.")
    timeout_seconds: float = Field(5.0, gt=0, description="Timeout of every call to this peer.")
    tls: TlsSettings = TlsSettings()

    @model_validator(mode="after")
    def _tls_means_https(self) -> PeerSettings:
        if self.tls.enabled and (self.url or "").startswith("http://"):
            raise ValueError(f"tls.enabled with the plain URL {self.url}: the calls would not "
                             "be encrypted; use https://")
        return self

    def bearer(self, *, key: str) -> str | None:
        secret = read_secret(self.token, self.token_file, key=key)
        return secret.get_secret_value() if secret else None


class PeersSettings(Section):
    """The services control orchestrates (docs/INTERFACES.md)."""

    capture: PeerSettings = PeerSettings(url="http://127.0.0.1:8701")
    apply: PeerSettings = PeerSettings(url="http://127.0.0.1:8702")
    appha: PeerSettings = PeerSettings(url="http://127.0.0.1:8703")
    reverse_capture: PeerSettings = Field(
        PeerSettings(), description="Capture at the DR site after the direction is reversed."
    )
    reverse_apply: PeerSettings = Field(
        PeerSettings(), description="Apply at the home site after the direction is reversed."
    )


class SiteSettings(Section):
    """Display name of one site (the ids are fixed: ``primary`` = home, ``standby`` = DR)."""

    display_name: str = Field(..., description="Shown in the console and reports.")


class SitesSettings(Section):
    """The two sites of the group and which one control runs at."""

    primary: SiteSettings = SiteSettings(display_name="Home site / 主中心")
    standby: SiteSettings = SiteSettings(display_name="DR site / 灾备中心")
    local_site: Literal["primary", "standby"] = Field(
        "standby", description="The site this control service runs at."
    )


class ApprovalPolicy(Section):
    """Who must confirm one operation type, and how long they have."""

    required_approvals: int = Field(1, ge=0, le=5, description="Distinct approvers needed.")
    roles: list[Role] = Field([Role.APPROVER], description="Roles whose approval counts.")
    window_seconds: float = Field(1800.0, gt=0, description="Silence for this long rejects.")
    evidence_max_age_seconds: float = Field(
        300.0, gt=0, description="Older evidence must be refreshed before approving."
    )


class ApprovalsSettings(Section):
    """One policy per operation type."""

    switchover: ApprovalPolicy = ApprovalPolicy()
    failover: ApprovalPolicy = ApprovalPolicy()
    switchback: ApprovalPolicy = ApprovalPolicy()
    drill: ApprovalPolicy = ApprovalPolicy()
    app_failover: ApprovalPolicy = ApprovalPolicy()

    def policy(self, op_type: OpType) -> ApprovalPolicy:
        policy: ApprovalPolicy = getattr(self, op_type.value)
        return policy

    @model_validator(mode="after")
    def _confirmation_required(self) -> ApprovalsSettings:
        # The customer's rule: nothing switches the database without a confirmation;
        # only appha's per-application automatic failover may be configured to 0.
        for op_type in (OpType.SWITCHOVER, OpType.FAILOVER, OpType.SWITCHBACK, OpType.DRILL):
            if self.policy(op_type).required_approvals < 1:
                raise ValueError(f"{op_type.value}.required_approvals must be at least 1")
        return self


class RunbookSettings(Section):
    """Runbook files and which applications a database switch moves."""

    directory: Path | None = Field(
        None, description="Directory whose <name>.toml files replace the shipped runbooks."
    )
    apps: list[str] | None = Field(
        None, description="Applications to switch; unset = every application appha lists."
    )


class SequenceSync(Section):
    """Move a sequence past the highest key replicated into its table."""

    sequence: str
    table: str
    column: str
    gap: int = Field(1000, ge=0, description="Head room added above the current maximum.")


class SqlHook(Section):
    """Named SQL run against the DR database inside one transaction."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$")
    statements: list[str] = Field([], description="Statements run in order.")
    sequences: list[SequenceSync] = Field([], description="Sequences to resynchronise.")


class HooksSettings(Section):
    """Hook groups a runbook step of kind ``hook`` refers to by name."""

    promotion: list[SqlHook] = Field(default_factory=list)
    reverse: list[SqlHook] = Field(default_factory=list)
    switchback: list[SqlHook] = Field(default_factory=list)

    def group(self, name: str) -> list[SqlHook]:
        hooks: list[SqlHook] = getattr(self, name, [])
        return hooks


class DrDatabaseSettings(Section):
    """The DR database that promotion hooks run against."""

    kind: Literal["oracle", "postgresql"] | None = Field(None, description="None: no hooks.")
    dsn: SecretStr | None = Field(None, description="Connect string or DSN; env or file only.")
    dsn_file: Path | None = None
    user: str | None = Field(None, description="Oracle user name.")
    password: SecretStr | None = Field(None, description="Oracle password; env or file only.")
    password_file: Path | None = None
    timeout_seconds: float = Field(30.0, gt=0)
    tls: TlsSettings = Field(
        TlsSettings(), description="Oracle: tcps (ca_file or wallet_dir); PostgreSQL: verify-full."
    )

    def connect_string(self) -> str | None:
        secret = read_secret(self.dsn, self.dsn_file, key="dr_database.dsn")
        return secret.get_secret_value() if secret else None

    def secret_password(self) -> str | None:
        secret = read_secret(self.password, self.password_file, key="dr_database.password")
        return secret.get_secret_value() if secret else None


class EngineSettings(Section):
    """The runbook engine's pace and leases."""

    poll_interval_seconds: float = Field(1.0, gt=0, description="How often to look for work.")
    lease_seconds: float = Field(
        15.0, gt=0, description="A claim not renewed for this long may be taken over."
    )
    step_poll_interval_seconds: float = Field(
        1.0, gt=0, description="How often a waiting step polls its peer."
    )
    retry_delay_seconds: float = Field(2.0, ge=0, description="Pause between step attempts.")


class WatchSettings(Section):
    """Polling the peers' status and the thresholds that notify."""

    interval_seconds: float = Field(10.0, gt=0, description="Status poll interval.")
    lag_alert_seconds: float = Field(60.0, gt=0, description="Apply lag that notifies.")
    history_points: int = Field(360, gt=0, description="Lag samples kept for the console.")


class DetectionSettings(Section):
    """How fast an outage is noticed (mirror appha's check settings here)."""

    interval_seconds: float = Field(5.0, gt=0, description="Application check interval.")
    failure_threshold: int = Field(3, gt=0, description="Failed checks before 'down'.")
    check_timeout_seconds: float = Field(2.0, gt=0, description="Timeout of one check.")


class TargetsSettings(Section):
    """What the customer was promised; start fails when the settings cannot meet it."""

    rto_seconds: float = Field(900.0, gt=0, description="Confirmation to service restored.")
    rpo_seconds: float = Field(60.0, ge=0, description="Data loss accepted at most.")
    detection_seconds: float | None = Field(None, gt=0, description="Worst-case detection.")


class AutomationSettings(Section):
    """Anti-flapping for automatic (appha) switches."""

    flap_window_seconds: float = Field(3600.0, gt=0)
    flap_max_switches: int = Field(2, gt=0, description="Automatic switches per window.")


class BreakGlassSettings(Section):
    """Second factor for admins acting without the customer's confirmer."""

    totp_secrets: dict[str, SecretStr] = Field({}, description="user → base32; env only.")
    totp_secret_files: dict[str, Path] = Field({}, description="user → file with base32.")
    period_seconds: int = Field(30, gt=0)
    digits: int = Field(6, ge=6, le=8)
    skew_steps: int = Field(1, ge=0, le=2, description="Accepted clock drift in periods.")

    def secret_for(self, user: str) -> str | None:
        file = self.totp_secret_files.get(user)
        secret = read_secret(self.totp_secrets.get(user), file, key=f"break_glass.{user}")
        return secret.get_secret_value() if secret else None


class AuthSettings(Section):
    """Failed authentication is slowed down (docs/OPERATIONS.md, security)."""

    max_failures: int = Field(
        10, ge=1, description="Failed token checks per client address and per token id "
        "within the window before a lockout.")
    failure_window_seconds: float = Field(300.0, gt=0, description="Window of the count.")
    lockout_seconds: float = Field(
        300.0, gt=0, description="A locked client or token id gets 429 for this long.")
    totp_max_failures: int = Field(
        5, ge=1, description="Wrong break-glass codes per user within the window.")
    totp_lockout_seconds: float = Field(
        900.0, gt=0, description="A user's break-glass path is locked for this long.")
    token_max_age_days: float = Field(
        90.0, gt=0, description="A person's API token stops working this long after it "
        "was issued (drcontrol user token rotate issues the next one).")
    service_token_max_age_days: float = Field(
        365.0, gt=0, description="The same for service accounts (role appha).")
    rotation_grace_hours: float = Field(
        24.0, ge=0, description="After a rotation the old token still works this long, "
        "so a service can be given the new one without an outage.")

    def max_age_seconds(self, role: Role) -> float:
        """How long a token of a user with ``role`` is valid."""
        days = self.service_token_max_age_days if role is Role.APPHA else self.token_max_age_days
        return days * 86400.0


class WebhookSettings(Section):
    """POST each notification as JSON to ``url``."""

    url: str
    token: SecretStr | None = Field(None, description="Bearer token; env or file only.")
    token_file: Path | None = None
    timeout_seconds: float = Field(5.0, gt=0)
    max_attempts: int = Field(5, gt=0)
    backoff_seconds: float = Field(1.0, ge=0, description="First retry delay; doubles.")
    events: list[str] = Field(["*"], description="Event kinds to send; * = all.")


class EmailSettings(Section):
    """Send notifications by SMTP."""

    host: str
    port: int = Field(25, gt=0, le=65535)
    starttls: bool = Field(False, description="Upgrade to TLS (verified) before anything else.")
    ca_file: Path | None = Field(None, description="CA bundle for STARTTLS (system if unset).")
    username: str | None = Field(None, description="Log in as this user (needs starttls).")
    allow_plaintext_login: bool = Field(
        False, description="Log in without STARTTLS (the password crosses the network in "
        "clear): only for a relay on the same host.")
    password: SecretStr | None = Field(None, description="env or file only.")
    password_file: Path | None = None
    sender: str = "drcontrol@localhost"
    recipients: list[str] = Field(..., min_length=1)
    timeout_seconds: float = Field(10.0, gt=0)
    max_attempts: int = Field(3, gt=0)
    backoff_seconds: float = Field(2.0, ge=0)
    events: list[str] = Field(default_factory=lambda: ["*"])

    @model_validator(mode="after")
    def _login_protected(self) -> EmailSettings:
        if self.username and not self.starttls and not self.allow_plaintext_login:
            raise ValueError(
                "notify.email.username is set without starttls: the password would cross "
                "the network in clear; set starttls = true (or allow_plaintext_login = true "
                "for a relay on this host)"
            )
        return self

    def secret_password(self) -> str | None:
        secret = read_secret(self.password, self.password_file, key="notify.email.password")
        return secret.get_secret_value() if secret else None


class AuditSettings(Section):
    """Anchoring the audit chain outside the database (see :mod:`drcontrol.anchor`)."""

    signing_key: SecretStr | None = Field(
        None, description="Ed25519 private key (PEM) the database never sees; env or file only.")
    signing_key_file: Path | None = Field(
        None, description="File holding the signing key (drcontrol audit keygen writes one).")
    anchor_file: Path | None = Field(
        None, description="Signed chain heads are appended here (outside the database; "
        "better on another disk or a mount of the other site).")
    anchor_interval_seconds: float = Field(
        60.0, gt=0, description="Verify the chain and sign its head this often.")

    def private_pem(self) -> str | None:
        secret = read_secret(self.signing_key, self.signing_key_file, key="audit.signing_key")
        return secret.get_secret_value() if secret else None


class NotifySettings(Section):
    """Where notifications go."""

    webhooks: list[WebhookSettings] = Field(default_factory=list)
    email: EmailSettings | None = None


class ControlSettings(ServiceSettings):
    """Everything the control service needs; see docs/CONTROL.md for each key."""

    env_prefix_name: ClassVar[str] = "DRCONTROL"

    http: HttpSettings = HttpSettings(port=8700)
    logging: LoggingSettings = LoggingSettings()
    kafka: KafkaSettings = KafkaSettings()
    storage: StorageSettings = StorageSettings()
    peers: PeersSettings = PeersSettings()
    sites: SitesSettings = SitesSettings()
    approvals: ApprovalsSettings = ApprovalsSettings()
    runbooks: RunbookSettings = RunbookSettings()
    hooks: HooksSettings = HooksSettings()
    dr_database: DrDatabaseSettings = DrDatabaseSettings()
    engine: EngineSettings = EngineSettings()
    watch: WatchSettings = WatchSettings()
    detection: DetectionSettings = DetectionSettings()
    targets: TargetsSettings = TargetsSettings()
    automation: AutomationSettings = AutomationSettings()
    break_glass: BreakGlassSettings = BreakGlassSettings()
    auth: AuthSettings = AuthSettings()
    notify: NotifySettings = NotifySettings()
    audit: AuditSettings = AuditSettings()

    @model_validator(mode="after")
    def _hooks_need_database(self) -> ControlSettings:
        groups = (self.hooks.promotion, self.hooks.reverse, self.hooks.switchback)
        if any(groups) and self.dr_database.kind is None:
            raise ValueError("hooks are configured but dr_database.kind is not set")
        if self.watch.lag_alert_seconds > self.targets.rpo_seconds > 0:
            raise ValueError(
                "watch.lag_alert_seconds exceeds targets.rpo_seconds: lag beyond the RPO "
                "would go unnoticed"
            )
        return self
