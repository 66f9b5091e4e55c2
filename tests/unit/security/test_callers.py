"""Issue 17, finding 8: per-caller service credentials; the caller's name comes from the
token that matched, in constant time over every configured token."""

from __future__ import annotations

from pathlib import Path

import pytest
from drcommon.config import HttpSettings
from drcommon.errors import ConfigError
from drcommon.http import caller_of

CONTROL, OPS = "c" * 24, "o" * 24


def test_each_caller_is_named_by_its_own_token(tmp_path: Path) -> None:
    ops_file = tmp_path / "ops"
    ops_file.write_text(OPS, encoding="utf-8")
    http = HttpSettings(caller_tokens={"control": CONTROL},  # type: ignore[dict-item]
                        caller_token_files={"ops": ops_file})
    callers = http.callers(key="http.service_token")
    assert callers == {"control": CONTROL, "ops": OPS}
    encoded = {k: v.encode() for k, v in callers.items()}
    assert caller_of(f"Bearer {OPS}", encoded) == "ops"
    assert caller_of(f"bearer {CONTROL}", encoded) == "control"
    assert caller_of(f"Basic {CONTROL}", encoded) is None
    assert caller_of("Bearer " + "x" * 24, encoded) is None


@pytest.mark.parametrize(("settings", "message"), [
    ({"caller_tokens": {"a": CONTROL, "b": CONTROL}}, "share one token"),
    ({"caller_tokens": {"service": CONTROL}}, "caller name"),
    ({"caller_tokens": {"-x": CONTROL}}, "caller name"),
    ({"caller_tokens": {"ops": "short"}}, "shorter than 16"),
    ({"service_token": CONTROL, "caller_tokens": {"ops": CONTROL}}, "share one token"),
])
def test_bad_caller_credentials_refuse_to_start(settings: dict[str, object],
                                                message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        HttpSettings(**settings).callers(key="http.service_token")  # type: ignore[arg-type]


def test_the_shared_token_is_the_caller_service() -> None:
    assert HttpSettings(service_token=CONTROL).callers(  # type: ignore[arg-type]
        key="k") == {"service": CONTROL}
