"""Fixtures for apply's integration tests: settings per target kind, and readers that
turn the target's rows back into the wire format's strings for exact comparison."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from drapply.adapters.sqlite import schema_file
from drapply.settings import ApplySettings, TargetKind, load_apply_settings
from drapply.wiring import naming_for
from drcommon.config import KafkaSettings

from tests.integration.apply.synth import COLUMNS, Row, canonical

SettingsFactory = Callable[..., ApplySettings]


@pytest.fixture(params=["sqlite", "postgresql"])
def target_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_settings(
    tmp_path: Path, kafka_settings: KafkaSettings, unique: str, request: pytest.FixtureRequest
) -> SettingsFactory:
    """Settings for a target kind; PostgreSQL gets its own control schema per test."""

    def build(kind: str, **overrides: Any) -> ApplySettings:
        target: dict[str, Any] = {"kind": kind}
        if kind == "sqlite":
            target["path"] = tmp_path / "dr.sqlite"
        else:
            dsn = request.getfixturevalue("postgres_dsn")
            target.update(dsn=dsn, control_schema=f"drapply_{unique}")
        target.update(overrides.pop("target", {}))
        base: dict[str, Any] = {
            "kafka": kafka_settings.model_dump(),
            "source": {"database": "ORCL", "schemas": ["*"]},
            "target": target,
            "apply": {
                "group_id": f"g-{unique}",
                "fetch_timeout_ms": 100,
                "topic_refresh_seconds": 1.0,
            },
            "logging": {"level": os.environ.get("DR_TEST_APPLY_LOG_LEVEL", "INFO"),
                        "format": "text"},
        }
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                base[key] = {**base[key], **value}
            else:
                base[key] = value
        return load_apply_settings(None, **base)

    return build


def read_table(settings: ApplySettings, owner: str, table: str) -> dict[int, Row]:
    """Every row of the target table, keyed by ID, values in wire-format strings."""
    naming = naming_for(settings, settings.target)
    ref = naming.table(owner, table)
    cols = [naming.column(owner, table, c) for c in COLUMNS]
    select = ", ".join(f'"{c}"' for c in cols)
    if settings.target.kind is TargetKind.SQLITE:
        db = sqlite3.connect(settings.target.path)
        try:
            db.execute(
                f'ATTACH DATABASE ? AS "{ref.schema}"',
                (str(schema_file(settings.target.path, ref.schema)),),
            )
            rows = db.execute(f'SELECT {select} FROM "{ref.schema}"."{ref.table}"').fetchall()
        finally:
            db.close()
    else:
        assert settings.target.dsn
        with psycopg.connect(settings.target.dsn) as conn:
            rows = conn.execute(f'SELECT {select} FROM "{ref.schema}"."{ref.table}"').fetchall()
    out: dict[int, Row] = {}
    for row in rows:
        values = {name: canonical(v) for name, v in zip(COLUMNS, row, strict=True)}
        ident = int(values["ID"] or 0)
        assert ident not in out, f"duplicate row for ID {ident}"
        out[ident] = values
    return out


def assert_same(expected: dict[int, Row], actual: dict[int, Row], label: str = "") -> None:
    """Row-by-row equality with a readable difference."""
    missing = sorted(expected.keys() - actual.keys())
    extra = sorted(actual.keys() - expected.keys())
    wrong = [i for i in sorted(expected.keys() & actual.keys()) if expected[i] != actual[i]]
    detail = ""
    if wrong:
        i = wrong[0]
        detail = f"; first differing row {i}: expected {expected[i]} got {actual[i]}"
    assert not (missing or extra or wrong), (
        f"{label}: {len(missing)} missing {missing[:5]}, {len(extra)} extra {extra[:5]}, "
        f"{len(wrong)} differ{detail}"
    )
