"""Configuration: one TOML file per site, environment overrides, secrets kept out of logs.

Each service defines one ``pydantic-settings`` class (subclass :class:`ServiceSettings`)
and builds it once at start with :func:`load_settings`. Precedence, highest first:
keyword overrides (tests, CLI flags), environment variables (``<PREFIX>__SECTION__KEY``),
``*_file`` secret files, the TOML file, defaults. A bad value fails at start with
:class:`~drcommon.errors.ConfigError` naming the key (``kafka.bootstrap_servers``).
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, ClassVar, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from drcommon.errors import ConfigError

PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "secret", "password", "admin"})


class Section(BaseModel):
    """Base of nested config sections: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def read_secret(value: SecretStr | None, file: Path | None, *, key: str) -> SecretStr | None:
    """A secret given inline (from the environment) or as a file path (``*_file`` keys)."""
    if file is None:
        return value
    try:
        return SecretStr(file.read_text(encoding="utf-8").strip())
    except OSError as exc:
        raise ConfigError(f"cannot read secret file for {key}: {exc.strerror}", key=key) from exc


class TlsSettings(Section):
    """TLS client options (Kafka, databases, HTTP peers)."""

    enabled: bool = Field(False, description="Use TLS for this connection.")
    ca_file: Path | None = Field(None, description="CA bundle that signs the server certificate.")
    cert_file: Path | None = Field(None, description="Client certificate (mutual TLS).")
    key_file: Path | None = Field(None, description="Client private key (mutual TLS).")
    check_hostname: bool = Field(True, description="Verify the server's host name.")
    wallet_dir: Path | None = Field(
        None,
        description="Oracle only: a wallet directory (ewallet.pem) holding the trusted "
        "certificates and, for mutual TLS, the client's; instead of or beside ca_file.",
    )

    @model_validator(mode="after")
    def _complete(self) -> TlsSettings:
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("tls.key_file is set without tls.cert_file")
        return self


class KafkaSettings(Section):
    """How to reach the Kafka cluster."""

    bootstrap_servers: str = Field(
        "127.0.0.1:9092", description="Comma-separated host:port list of brokers."
    )
    topic_prefix: str = Field("dr", description="First part of every topic name.")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = Field(None, description="Only from env or a file.")
    sasl_password_file: Path | None = None
    tls: TlsSettings = TlsSettings()
    compression: Literal["none", "gzip", "lz4", "zstd", "snappy"] = Field(
        "zstd", description="Producer compression; zstd or lz4 suit the WAN."
    )
    request_timeout_ms: int = Field(30000, gt=0)

    @model_validator(mode="after")
    def _sasl_complete(self) -> KafkaSettings:
        if self.tls.enabled and self.security_protocol in ("PLAINTEXT", "SASL_PLAINTEXT"):
            # aiokafka ignores the SSL context under a plaintext protocol: refuse, do not
            # let a TLS setting promise an encryption that would never happen.
            raise ValueError(
                f"tls.enabled = true with security_protocol = {self.security_protocol}: "
                "the connection would not be encrypted; use SSL or SASL_SSL"
            )
        if self.security_protocol.startswith("SASL") and not (
            self.sasl_mechanism and self.sasl_username
        ):
            raise ValueError("SASL needs sasl_mechanism and sasl_username")
        return self

    def password(self) -> str | None:
        secret = read_secret(self.sasl_password, self.sasl_password_file, key="kafka.sasl_password")
        return secret.get_secret_value() if secret else None


class HttpSettings(Section):
    """The service's own HTTP endpoint (health, metrics, admin API)."""

    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(0, ge=0, le=65535, description="0 picks a free port.")
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    service_token: SecretStr | None = Field(
        None, description="Bearer token for the admin API; only from env or a file."
    )
    service_token_file: Path | None = None
    caller_tokens: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Per-caller bearer tokens, caller name → token; env only. The caller's "
        "name is what the service records as the actor.")
    caller_token_files: dict[str, Path] = Field(
        default_factory=dict, description="Per-caller tokens from files: caller name → file.")
    openapi: Literal["off", "authenticated", "public"] = Field(
        "authenticated",
        description="/api/v1/openapi.json: not served, only with a valid token, or to "
        "anyone. No browsable /docs page is served (it would load scripts from elsewhere).")
    metrics: Literal["authenticated", "public"] = Field(
        "public", description="/metrics for anyone (a scraper on a closed network), or only "
        "with a valid token (Prometheus: authorization.credentials_file). Production "
        "profiles set authenticated.")
    max_body_bytes: int = Field(
        1 << 20,
        ge=1024,
        description="Largest request body accepted (413 above, refused before it is read).",
    )
    body_timeout_seconds: float = Field(
        10.0, gt=0, description="A request body must arrive within this long (else 408)."
    )

    def token(self, *, key: str) -> str | None:
        secret = read_secret(self.service_token, self.service_token_file, key=key)
        if secret is None:
            return None
        return _strong(secret.get_secret_value(), key=key)

    def callers(self, *, key: str) -> dict[str, str]:
        """Every accepted bearer: caller name → token. The shared ``service_token`` is the
        caller ``service``; ``caller_tokens``/``caller_token_files`` name their callers
        (``control``, ``ops`` …), so the actor a service records is the credential's owner."""
        found: dict[str, str] = {}
        shared = self.token(key=key)
        if shared is not None:
            found[SHARED_CALLER] = shared
        for name in sorted({*self.caller_tokens, *self.caller_token_files}):
            where = f"{key.rsplit('.', 1)[0]}.caller_tokens.{name}"
            if not CALLER_NAME.fullmatch(name) or name == SHARED_CALLER:
                raise ConfigError("a caller name is letters, digits, '.', '_' or '-' and not "
                                  f"{SHARED_CALLER!r}", key=where)
            secret = read_secret(self.caller_tokens.get(name),
                                 self.caller_token_files.get(name), key=where)
            if secret is not None:
                found[name] = _strong(secret.get_secret_value(), key=where)
        if len(set(found.values())) != len(found):
            raise ConfigError("two callers share one token: each caller needs its own",
                              key=key)
        return found


SHARED_CALLER = "service"
CALLER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _strong(value: str, *, key: str) -> str:
    if value.lower() in PLACEHOLDER_SECRETS or len(value) < 16:
        raise ConfigError("service token is a placeholder or shorter than 16 characters", key=key)
    return value


class LoggingSettings(Section):
    """Log output."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "text"] = Field(
        "json", description="json for machines, text for humans."
    )


class ServiceSettings(BaseSettings):
    """Base for each service's settings: TOML file, then env, then overrides."""

    env_prefix_name: ClassVar[str] = "DR"
    toml_path: ClassVar[Path | None] = None

    model_config = SettingsConfigDict(extra="forbid", env_nested_delimiter="__", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls, cls.toml_path))


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the site's TOML file; a syntax error names the file and line."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self._data = _read_toml(path) if path else {}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError("configuration file not found", file=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file is not valid TOML: {exc}", file=str(path)) from exc


S = TypeVar("S", bound=ServiceSettings)
ANY_KEY = "*"  # stands for a dict key or a list index in a secret's path


def _members(annotation: Any) -> list[Any]:
    """The types an annotation may hold, through ``X | None``, ``list[X]``, ``dict[K, X]``
    and ``Annotated`` (each member tagged with whether a key/index comes first)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return [m for arg in get_args(annotation) for m in _members(arg)]
    if origin in (list, tuple, set, frozenset):
        return [(ANY_KEY, m) for arg in get_args(annotation)[:1] for m in _members(arg)]
    if origin is dict:
        return [(ANY_KEY, m) for m in _members(get_args(annotation)[1])]
    return [annotation]


def _flatten(member: Any) -> tuple[tuple[str, ...], Any]:
    prefix: tuple[str, ...] = ()
    while isinstance(member, tuple):
        prefix, member = (*prefix, member[0]), member[1]
    return prefix, member


def secret_fields(model: type[BaseModel], _seen: frozenset[type] = frozenset()
                  ) -> list[tuple[tuple[str, ...], type[BaseModel]]]:
    """Every ``SecretStr`` in ``model``: its path (``*`` for a dict key or list index),
    e.g. ``("peers", "apply", "token")``, and the model that declares it."""
    if model in _seen:
        return []
    found: list[tuple[tuple[str, ...], type[BaseModel]]] = []
    for name, info in model.model_fields.items():
        for member in _members(info.annotation):
            inner, kind = _flatten(member)
            if kind is SecretStr:
                found.append(((name,), model))  # a dict of secrets is refused whole
            elif isinstance(kind, type) and issubclass(kind, BaseModel):
                found += [((name, *inner, *rest), owner)
                          for rest, owner in secret_fields(kind, _seen | {model})]
    return found


def secret_paths(model: type[BaseModel]) -> list[tuple[str, ...]]:
    """The paths of :func:`secret_fields`, sorted and without repeats."""
    return sorted({path for path, _ in secret_fields(model)})


def _present(data: Any, path: tuple[str, ...], where: tuple[str, ...] = ()
             ) -> list[str]:
    if not path:
        return [".".join(where)] if data not in (None, "", {}, []) else []  # an empty one
        # holds no secret (a dump of the defaults writes `caller_tokens = {}`)
    head, rest = path[0], path[1:]
    if head == ANY_KEY:
        items = (data.items() if isinstance(data, dict)
                 else enumerate(data) if isinstance(data, list) else [])
        return [hit for key, value in items for hit in _present(value, rest, (*where, str(key)))]
    if isinstance(data, dict) and head in data:
        return _present(data[head], rest, (*where, head))
    return []


def refuse_file_secrets(cls: type[BaseModel], data: dict[str, Any], path: Path,
                        env_prefix: str) -> None:
    """A ``SecretStr`` written in the TOML file is a configuration error: secrets come
    from the environment or a ``*_file`` key, never from the file (issue 17)."""
    for secret in secret_paths(cls):
        for key in _present(data, secret):
            variable = f"{env_prefix}__{key.upper().replace('.', '__')}"
            raise ConfigError(
                f"a secret may not be written in the configuration file; set {variable} "
                f"or {key.rsplit('.', 1)[-1]}_file (a file only the service can read)",
                key=key, file=str(path))


def load_settings(
    cls: type[S], path: Path | str | None = None, *, env_prefix: str | None = None, **overrides: Any
) -> S:
    """Build a service's settings once, turning validation errors into one ConfigError.

    ``env_prefix`` (e.g. ``DRAPPLY``) makes ``DRAPPLY__KAFKA__BOOTSTRAP_SERVERS`` override
    ``[kafka] bootstrap_servers``.
    """
    prefix = (env_prefix or cls.env_prefix_name).upper() + "__"
    if path is not None:
        refuse_file_secrets(cls, _read_toml(Path(path)), Path(path), prefix[:-2])
    bound = type(
        cls.__name__,
        (cls,),
        {
            "toml_path": Path(path) if path else None,
            "model_config": SettingsConfigDict(
                extra="forbid", env_nested_delimiter="__", env_prefix=prefix, frozen=True
            ),
            "__module__": cls.__module__,
        },
    )
    try:
        return bound(**overrides)  # type: ignore[no-any-return]
    except ValidationError as exc:
        raise ConfigError(_describe(exc), file=str(path) if path else None) from None


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(root)"
        problems.append(f"{key}: {error['msg']}")
    return "invalid configuration: " + "; ".join(problems)


def env_flag(name: str) -> str | None:
    """Read one environment variable; the only place outside settings that may, for the
    test harness and dev-stack tooling (never for service behaviour)."""
    value = os.environ.get(name)
    return value if value else None
