"""Capture's configuration: one TOML file per site plus ``DRCAPTURE__…`` overrides."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from drcommon.config import (
    HttpSettings,
    KafkaSettings,
    LoggingSettings,
    Section,
    ServiceSettings,
    TlsSettings,
)
from drcommon.dbtls import check_oracle_dsn
from drcommon.errors import ConfigError
from pydantic import Field, SecretStr, model_validator

from drcapture.publish_records import RecordLimits


class ThreadSource(Section):
    """Where one RAC thread's redo is found."""

    thread: int = Field(..., ge=1, description="Redo thread number (RAC instance).")
    online_logs: list[Path] = Field(
        default_factory=list, description="Online redo log members of this thread, if readable."
    )


class SourceSettings(Section):
    """The redo to read."""

    mode: Literal["files", "archive"] = Field(
        "archive",
        description=(
            "files: read the listed files once, then stop; archive: follow archived logs "
            "(and online logs when listed) as Oracle writes them."
        ),
    )
    files: list[Path] = Field(default_factory=list, description="Redo files for mode=files.")
    archive_dirs: list[Path] = Field(
        default_factory=list,
        description="Ordered list of directories searched for archived logs (first wins).",
    )
    archive_pattern: str = Field(
        "*.dbf|*.arc|*.log", description="Glob patterns (|-separated) of archived log names."
    )
    threads: list[ThreadSource] = Field(
        default_factory=list, description="RAC threads; empty means discover from the files."
    )
    redo_timezone: str = Field(
        "UTC",
        description=(
            "Time zone of the database server's clock, for redo timestamps that carry no "
            "offset (11g commit times, record times), e.g. Asia/Shanghai."
        ),
    )
    start_scn: int | None = Field(
        None,
        description=(
            "First synchronisation: the SCN the DR copy was loaded at (expdp FLASHBACK_SCN). "
            "Without a checkpoint, only transactions committed after it are published."
        ),
    )
    read_from_scn: int | None = Field(
        None,
        description=(
            "Where reading begins without a checkpoint (default: start_scn). Set it to the "
            "start SCN of the oldest transaction open at start_scn (V$TRANSACTION.START_SCN "
            "at load time), so those transactions are read whole."
        ),
    )
    poll_interval: float = Field(0.5, gt=0, description="Seconds between looks for new redo.")
    follow_interval: float = Field(
        0.02,
        ge=0,
        description=(
            "Pause after a pass that read every thread to the end of what is written: the "
            "redo written meanwhile is then read in one go instead of a few records per "
            "pass (following online logs under load). Adds at most this to the latency."
        ),
    )
    idle_thread_grace: float = Field(
        3.0,
        gt=0,
        description=(
            "Seconds a thread may sit at the end of its written redo before it stops "
            "holding back commits of other threads (see docs/CAPTURE.md, RAC)."
        ),
    )
    archive_idle_timeout: float = Field(
        900.0,
        gt=0,
        description=(
            "Seconds a thread read only from archived logs may show no new log before it "
            "stops holding back the others; keep it above Oracle's ARCHIVE_LAG_TARGET."
        ),
    )
    on_direct_load: Literal["stop", "warn"] = Field(
        "stop",
        description=(
            "A direct-path load into a captured table (its rows are in redo as blocks, not "
            "row changes): stop with a clear error, or log an error per block and go on."
        ),
    )
    on_undecodable: Literal["stop", "publish_marked"] = Field(
        "stop",
        description=(
            "A committed change of a captured table that capture cannot decode fully (an "
            "operation, layout, compression or LOB variant it does not know): stop with an "
            "error naming table, XID, SCN and RBA, or publish it marked 'undecoded' "
            "(apply refuses such changes by the table's policy)."
        ),
    )
    retention_warning_logs: int = Field(
        2, ge=0, description="Warn when fewer archived logs than this remain after the needed one."
    )


class DictionarySettings(Section):
    """Where the data dictionary comes from."""

    kind: Literal["snapshot", "olr", "oracle"] = Field(
        "snapshot",
        description="snapshot: our JSON; olr: an OpenLogReplicator checkpoint; oracle: live.",
    )
    path: Path | None = Field(None, description="The snapshot or checkpoint file.")
    oracle_dsn: str | None = Field(None, description="DSN for kind=oracle (host:port/service).")
    oracle_user: str | None = Field(None, description="User for kind=oracle (SELECT_CATALOG_ROLE).")
    oracle_password: SecretStr | None = Field(None, description="Only from env or a file.")
    oracle_password_file: Path | None = None
    tls: TlsSettings = Field(
        TlsSettings(), description="kind=oracle: tcps to the database (ca_file or wallet_dir)."
    )
    scn: int | None = Field(None, description="kind=oracle: the dictionary as of this SCN.")
    on_ddl: Literal["track", "reload", "stop"] = Field(
        "track",
        description=(
            "What a DDL on a captured table does. track: keep the dictionary current from "
            "the redo (the DDL's changes to OBJ$, TAB$, COL$ … make a new version from its "
            "commit SCN; needs a dictionary that holds those tables' rows: an "
            "OpenLogReplicator checkpoint or a snapshot exported by this version). reload: "
            "re-read the dictionary as of the DDL's SCN (needs kind = oracle). stop: publish "
            "up to the DDL and stop with a clear error."
        ),
    )


class FilterSettings(Section):
    """Which tables are captured; patterns are shell-style on OWNER or OWNER.TABLE."""

    include: list[str] = Field(default_factory=lambda: ["*.*"], description="Captured.")
    exclude: list[str] = Field(
        default_factory=lambda: ["SYS.*", "SYSTEM.*", "AUDSYS.*", "XDB.*", "MDSYS.*"],
        description="Never captured, even if included.",
    )


class PublishSettings(Section):
    """How transactions are grouped into Kafka transactions."""

    max_batch_transactions: int = Field(500, ge=1, description="Oracle txns per Kafka txn.")
    max_batch_seconds: float = Field(0.2, gt=0, description="Longest wait to fill a batch.")
    max_changes_per_message: int = Field(
        1000, ge=1, description="Row changes per Kafka record before a transaction is chunked."
    )
    watermark_interval: float = Field(1.0, gt=0, description="Seconds between watermarks.")
    stall_seconds: float = Field(
        10.0,
        gt=0,
        description=(
            "A publish Kafka has not acknowledged for this long is reported while it lasts "
            "(status faults, /health degraded, part kafka)."
        ),
    )
    replication_factor: int = Field(1, ge=1, description="For topics capture creates.")
    max_value_bytes: int = Field(
        256 * 1024,
        ge=1024,
        description=(
            "A column value longer than this (UTF-8 bytes of its text; BLOB as hex) travels "
            "in value_chunk records of at most this much data, before the record that "
            "refers to it."
        ),
    )
    max_record_bytes: int = Field(
        1_000_000,
        ge=16 * 1024,
        description=(
            "Upper bound for the body of every data record capture writes; keep it under "
            "the broker's message.max.bytes (1 MiB by default; data topics allow 8 MiB)."
        ),
    )

    @model_validator(mode="after")
    def _record_holds_a_chunk(self) -> PublishSettings:
        if self.max_value_bytes + 4096 > self.max_record_bytes:
            raise ValueError(
                "publish.max_value_bytes must be at least 4096 below publish.max_record_bytes "
                "(a chunk record holds its data plus an envelope)"
            )
        return self

    def record_limits(self) -> RecordLimits:
        """The limits :class:`~drcapture.publish.Publisher` applies to every record."""
        return RecordLimits(self.max_value_bytes, self.max_record_bytes)


class SpillSettings(Section):
    """Memory bound for open transactions."""

    directory: Path = Field(Path("var/capture/spill"), description="Where big transactions spill.")
    threshold_bytes: int = Field(64 * 1024 * 1024, ge=0, description="Per-transaction RAM cap.")


class RestartSettings(Section):
    """Bounded restart: save open transactions so a long one never pins the restart."""

    persist_open_transactions: bool = Field(
        True, description="Save open transactions when one spans older logs."
    )
    persist_interval: float = Field(30.0, gt=0, description="Seconds between saved states.")
    retry_max_seconds: float = Field(
        15.0,
        ge=1,
        description=(
            "After a failure that may pass (Kafka away, a full spill disk), capture retries "
            "from its checkpoint after 1 s, doubling up to this."
        ),
    )


class CaptureSettings(ServiceSettings):
    """Everything ``drcapture run`` needs."""

    env_prefix_name: ClassVar[str] = "DRCAPTURE"

    capture_id: str = Field("capture", description="Names the checkpoint and the producer.")
    database: str = Field(..., description="Source database name used in topic names.")
    state_dir: Path = Field(Path("var/capture"), description="Local state (open transactions).")
    source: SourceSettings = SourceSettings()
    dictionary: DictionarySettings = DictionarySettings()
    filter: FilterSettings = FilterSettings()
    publish: PublishSettings = PublishSettings()
    spill: SpillSettings = SpillSettings()
    restart: RestartSettings = RestartSettings()
    kafka: KafkaSettings = KafkaSettings()
    http: HttpSettings = HttpSettings(port=8701)
    logging: LoggingSettings = LoggingSettings()

    @model_validator(mode="after")
    def _consistent(self) -> CaptureSettings:
        try:
            ZoneInfo(self.source.redo_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"source.redo_timezone: unknown time zone {self.source.redo_timezone!r}"
            ) from None
        if self.source.mode == "files" and not self.source.files:
            raise ValueError("source.files must list at least one redo file when mode=files")
        if self.source.mode == "archive" and not self.source.archive_dirs:
            raise ValueError("source.archive_dirs must name a directory when mode=archive")
        if self.dictionary.kind in ("snapshot", "olr") and self.dictionary.path is None:
            raise ValueError(f"dictionary.path is required for kind={self.dictionary.kind}")
        if self.dictionary.kind == "oracle" and not (
            self.dictionary.oracle_dsn and self.dictionary.oracle_user
        ):
            raise ValueError("dictionary.oracle_dsn and oracle_user are required for kind=oracle")
        if self.dictionary.kind == "oracle" and self.dictionary.oracle_dsn:
            try:
                check_oracle_dsn(self.dictionary.oracle_dsn, self.dictionary.tls,
                                 key="dictionary.tls")
            except ConfigError as exc:
                raise ValueError(f"dictionary.oracle_dsn: {exc.message}") from None
        if self.dictionary.on_ddl == "reload" and self.dictionary.kind != "oracle":
            raise ValueError(
                "dictionary.on_ddl=reload needs dictionary.kind=oracle (a live "
                "database to re-read the dictionary from); use on_ddl=stop"
            )
        return self
