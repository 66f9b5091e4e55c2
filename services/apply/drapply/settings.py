"""Apply's configuration: one TOML file per site plus ``DRAPPLY__…`` overrides.

Built once at start by :func:`load_apply_settings` and passed down; nothing else reads the
environment. Passwords come only from the environment or a ``*_file``; a TOML file that
holds one is refused.
"""

from __future__ import annotations

import re
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Literal

from drcommon.config import (
    HttpSettings,
    KafkaSettings,
    LoggingSettings,
    Section,
    ServiceSettings,
    TlsSettings,
    load_settings,
    read_secret,
)
from drcommon.dbtls import check_oracle_dsn
from drcommon.errors import ConfigError
from pydantic import Field, SecretStr, field_validator, model_validator

ENV_PREFIX = "DRAPPLY"
_WINDOW = re.compile(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d")
PRIMARY = "primary"


class TargetKind(StrEnum):
    """Which database apply writes to; keys the adapter registry."""

    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"
    ORACLE = "oracle"


class IdentifierCase(StrEnum):
    """How Oracle names become target names (renames are taken verbatim).

    ``auto``: ``lower`` for PostgreSQL (so unquoted SQL finds the tables), ``preserve``
    for SQLite and Oracle. ``lower``/``upper`` fold only names Oracle itself folded (all
    upper case); a quoted mixed-case Oracle name keeps its spelling.
    """

    AUTO = "auto"
    PRESERVE = "preserve"
    LOWER = "lower"
    UPPER = "upper"


class TargetSettings(Section):
    """One DR database."""

    kind: TargetKind = Field(TargetKind.SQLITE, description="sqlite, postgresql or oracle.")
    path: Path = Field(
        Path("var/apply/dr.sqlite"),
        description=(
            "SQLite: the main database file; each schema lives in '<stem>.<SCHEMA>.sqlite' "
            "beside it, attached under the schema's name."
        ),
    )
    dsn: str | None = Field(
        None, description="PostgreSQL conninfo/URL or Oracle connect string, without password."
    )
    user: str | None = Field(None, description="Database user (if not in the DSN).")
    password: SecretStr | None = Field(None, description="Only from the environment.")
    password_file: Path | None = Field(None, description="File holding the password.")
    tls: TlsSettings = TlsSettings()
    identifier_case: IdentifierCase = IdentifierCase.AUTO
    create_tables: bool = Field(
        True,
        description=(
            "Create missing schemas/tables and add missing columns from the column types "
            "in the messages (SQLite and PostgreSQL)."
        ),
    )
    control_schema: str = Field(
        "drapply",
        description="PostgreSQL/Oracle schema of apply's own tables (checkpoint, parked, audit).",
    )
    tz_timestamps: Literal["text", "native"] = Field(
        "text",
        description=(
            "PostgreSQL: TIMESTAMP WITH TIME ZONE as exact ISO text keeping the offset or "
            "region (text), or as timestamptz keeping only the instant (native)."
        ),
    )
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        "FULL", description="SQLite PRAGMA synchronous; FULL survives power loss."
    )
    busy_timeout_seconds: float = Field(30.0, gt=0, description="Wait for database locks.")
    copy_threshold: int = Field(
        200, ge=0, description="PostgreSQL: insert runs at least this long use COPY (0: never)."
    )

    def secret(self, *, key: str) -> str | None:
        """The password, read from the environment value or the file."""
        value = read_secret(self.password, self.password_file, key=key)
        return value.get_secret_value() if value else None


class SourceSettings(Section):
    """What to read: topic names come from ``kafka.topic_prefix`` and ``database``."""

    database: str = Field("ORCL", description="Source database name used in topic names.")
    schemas: list[str] = Field(
        default_factory=lambda: ["*"],
        description="Schemas to apply: names or shell patterns (matched against topics).",
    )
    tables: list[str] = Field(
        default_factory=lambda: ["*.*"],
        description="OWNER.TABLE patterns apply is configured for; others are an error.",
    )
    skip_tables: list[str] = Field(
        default_factory=list,
        description="OWNER.TABLE patterns whose changes are skipped (counted and logged).",
    )


class ConflictPolicy(StrEnum):
    """What a table does when a change does not fit the target row."""

    STOP = "stop"
    OVERWRITE = "overwrite"
    PARK = "park"


class PolicyRule(Section):
    """A policy for the tables matching ``tables`` (first matching rule wins)."""

    tables: list[str] = Field(..., description="OWNER.TABLE shell patterns.")
    policy: ConflictPolicy = ConflictPolicy.STOP
    after_park: Literal["continue", "stop"] = Field(
        "continue", description="After parking a transaction: go on with the next, or stop."
    )


class RenameSettings(Section):
    """Target names that differ from the Oracle names (used verbatim, no case folding)."""

    schemas: dict[str, str] = Field(default_factory=dict, description="OWNER -> schema.")
    tables: dict[str, str] = Field(default_factory=dict, description="OWNER.TABLE -> table.")
    columns: dict[str, str] = Field(
        default_factory=dict, description="OWNER.TABLE.COLUMN -> column."
    )


class ApplyOptions(Section):
    """How records are consumed and grouped."""

    group_id: str = Field("drapply", description="Kafka consumer group (assignment only).")
    group_instance_id: str | None = Field(
        None,
        description=(
            "Static member id in the group (KIP-345): a restarted instance takes its "
            "partitions back at once instead of after the session timeout. Unset: "
            "drapply-<host name>-<http.port>, stable across restarts and distinct per "
            "instance on a host (none with http.port = 0); \"\" turns static membership "
            "off. Two running instances must never share one."
        ),
    )
    max_group_transactions: int = Field(
        500, ge=1, description="Oracle transactions grouped into one DB transaction at most."
    )
    max_group_rows: int = Field(20000, ge=1, description="Rows in one grouped DB transaction.")
    fetch_max_records: int = Field(2000, ge=1, description="Records fetched per poll.")
    fetch_timeout_ms: int = Field(200, ge=1, description="Longest wait of one poll.")
    ddl: Literal["execute", "skip", "stop"] = Field(
        "execute",
        description="DDL records: execute them at their place in the stream (translated "
        "for PostgreSQL/SQLite; see docs/APPLY.md), skip them (counted, logged) or stop "
        "the schema before them.",
    )
    ddl_grants: bool = Field(
        False, description="Run GRANT/REVOKE on an Oracle target (else: no effect, logged)."
    )
    ddl_oracle_other: bool = Field(
        False,
        description="Run statements outside the DDL allowlist (views, sequences, code) on an "
        "Oracle target; else they stop the schema for a person to decide.",
    )
    session_timeout_ms: int = Field(10000, ge=6000, description="Consumer group session.")
    heartbeat_interval_ms: int = Field(3000, ge=100, description="Consumer heartbeats.")
    topic_refresh_seconds: float = Field(
        30.0, gt=0, description="How often schema patterns are matched against new topics."
    )
    idle_checkpoint_seconds: float = Field(
        1.0, gt=0, description="Write the position after watermark-only traffic this often."
    )
    retry_backoff_seconds: float = Field(
        1.0, gt=0, description="First wait after a retriable error (doubles up to 30 s)."
    )
    value_spill_bytes: int = Field(
        1024 * 1024,
        ge=0,
        description=(
            "A large value reassembled from value_chunk records is kept in memory up to "
            "this size, in an anonymous temporary file beyond."
        ),
    )
    value_spill_dir: Path | None = Field(
        None, description="Directory of those files (the system temporary directory if unset)."
    )
    max_buffered_value_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1,
        description=(
            "Buffered row changes are written out once the large values they hold reach "
            "this many bytes (bounds memory for transactions full of LOBs)."
        ),
    )


class SourceDbKind(StrEnum):
    """Which source database load and compare read as of an SCN; keys the reader registry."""

    ORACLE = "oracle"
    POSTGRESQL = "postgresql"


class SourceDbSettings(Section):
    """The source database itself, read as of an SCN by ``drapply load``, ``compare``,
    ``repair`` and the continuous verification (not needed for applying)."""

    kind: SourceDbKind | None = Field(
        None, description="oracle or postgresql (the history layout); unset: not configured."
    )
    dsn: str | None = Field(
        None, description="Oracle connect string or PostgreSQL conninfo/URL, without password."
    )
    user: str | None = Field(None, description="Database user (if not in the DSN).")
    password: SecretStr | None = Field(None, description="Only from the environment.")
    password_file: Path | None = Field(None, description="File holding the password.")
    tls: TlsSettings = TlsSettings()
    history_schema: str = Field(
        "drsource",
        description="PostgreSQL: the schema of the history layout (row versions with SCN ranges).",
    )
    array_size: int = Field(5000, ge=1, description="Rows fetched per round trip.")
    statement_timeout_seconds: float = Field(
        0.0, ge=0, description="Longest source statement (0: no limit)."
    )

    def secret(self, *, key: str) -> str | None:
        """The password, read from the environment value or the file."""
        value = read_secret(self.password, self.password_file, key=key)
        return value.get_secret_value() if value else None


class LoadOptions(Section):
    """``drapply load``: copying the source at an SCN into the target."""

    rows_per_chunk: int = Field(50_000, ge=1, description="Rows per chunk (the unit of resume).")
    parallel: int = Field(2, ge=1, description="Chunks copied at once (a source and a target "
                          "connection each).")  # fmt: skip
    batch_rows: int = Field(5000, ge=1, description="Rows written to the target per batch.")
    max_rows_per_second: float = Field(
        0.0, ge=0, description="Throttle on rows read from the source (0: no limit)."
    )


class CompareOptions(Section):
    """``drapply compare`` and the continuous verification."""

    rows_per_chunk: int = Field(10_000, ge=1, description="DR rows per compared chunk.")
    max_rows_per_second: float = Field(
        0.0, ge=0, description="Throttle on rows read per side (0: no limit)."
    )
    busy_hours: list[str] = Field(
        default_factory=list,
        description="Local 'HH:MM-HH:MM' windows (production hours) with the busy throttle.",
    )
    busy_max_rows_per_second: float = Field(
        2000.0, ge=0, description="Throttle inside busy_hours (0: no limit)."
    )
    max_keys_reported: int = Field(
        1000, ge=0, description="Differing keys listed per table and kind in a report."
    )
    verify_every_seconds: float = Field(
        0.0, ge=0, description="Continuous verification: seconds between runs (0: off)."
    )
    verify_tables_per_run: int = Field(
        1, ge=1, description="Tables each verification run compares (rotating through all)."
    )
    verify_sample_chunks: int = Field(
        0, ge=0, description="Compare only this many chunks per table, chosen at random "
        "(0: the whole table).",
    )  # fmt: skip
    verify_max_age_seconds: float = Field(
        86_400.0, gt=0, description="A schema's last verification older than this is stale."
    )

    @field_validator("busy_hours")
    @classmethod
    def _windows(cls, value: list[str]) -> list[str]:
        for window in value:
            if not _WINDOW.fullmatch(window):
                raise ValueError(f"busy hours must look like 08:00-18:00, not {window!r}")
        return value


class ApplySettings(ServiceSettings):
    """Everything ``drapply`` needs."""

    env_prefix_name: ClassVar[str] = ENV_PREFIX

    source: SourceSettings = SourceSettings()
    target: TargetSettings = TargetSettings()
    targets: dict[str, TargetSettings] = Field(
        default_factory=dict, description="Other targets by name, for replays into them."
    )
    policies: list[PolicyRule] = Field(default_factory=list, description="First match wins.")
    renames: RenameSettings = RenameSettings()
    apply: ApplyOptions = ApplyOptions()
    source_db: SourceDbSettings = SourceDbSettings()
    load: LoadOptions = LoadOptions()
    compare: CompareOptions = CompareOptions()
    kafka: KafkaSettings = KafkaSettings()
    http: HttpSettings = HttpSettings(port=8702)
    logging: LoggingSettings = LoggingSettings()

    @model_validator(mode="after")
    def _consistent(self) -> ApplySettings:
        for name, target in [(PRIMARY, self.target), *self.targets.items()]:
            if target.kind is not TargetKind.SQLITE and not target.dsn:
                raise ValueError(f"target {name!r}: dsn is required for kind={target.kind}")
            if target.kind is TargetKind.SQLITE and target.tls.enabled:
                raise ValueError(f"target {name!r}: tls.enabled has no meaning for SQLite "
                                 "(a local file); remove it")
            if target.kind is TargetKind.ORACLE and target.dsn:
                try:
                    check_oracle_dsn(target.dsn, target.tls, key=f"{name}.tls")
                except ConfigError as exc:
                    raise ValueError(f"target {name!r}: {exc.message}") from None
        if self.source_db.kind is not None and not self.source_db.dsn:
            raise ValueError(f"source_db: dsn is required for kind={self.source_db.kind}")
        if PRIMARY in self.targets:
            raise ValueError("targets: 'primary' names [target] and cannot be redefined")
        return self

    def target_named(self, name: str) -> TargetSettings:
        """``primary`` is ``[target]``; other names come from ``[targets.<name>]``."""
        if name == PRIMARY:
            return self.target
        try:
            return self.targets[name]
        except KeyError:
            raise ConfigError(f"no target named {name!r}", key=f"targets.{name}") from None


def load_apply_settings(path: Path | str | None = None, **overrides: Any) -> ApplySettings:
    """Build the settings once; refuses secrets written into the TOML file (every
    ``SecretStr`` key, by drcommon's check, and a DSN holding a password, here)."""
    if path is not None:
        _refuse_dsn_passwords(Path(path))
    return load_settings(ApplySettings, path, env_prefix=ENV_PREFIX, **overrides)


def _refuse_dsn_passwords(path: Path) -> None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return  # load_settings reports these with the file named
    sections = [("target", data.get("target")), ("source_db", data.get("source_db"))]
    sections += [(f"targets.{k}", v) for k, v in (data.get("targets") or {}).items()]
    for key, section in sections:
        if not isinstance(section, dict):
            continue
        dsn = section.get("dsn")
        if isinstance(dsn, str) and _dsn_has_password(dsn):
            raise ConfigError(
                "the DSN holds a password; use the environment or password_file",
                key=f"{key}.dsn",
                file=str(path),
            )


def _dsn_has_password(dsn: str) -> bool:
    if "password=" in dsn.lower():
        return True
    if "://" in dsn:
        authority = dsn.split("://", 1)[1].split("@", 1)
        return len(authority) == 2 and ":" in authority[0]
    return False
