"""Issue 17, finding 7: no secret from the TOML file, in any service.

The test walks every settings model of every service: each ``SecretStr`` it finds has
a ``*_file`` sibling, and written into a TOML file it is refused with a ConfigError
naming the key and the environment variable to use instead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from drappha.settings import AppHASettings, WitnessSettings
from drapply.settings import ApplySettings, load_apply_settings
from drcapture.settings import CaptureSettings
from drcommon.config import (
    ANY_KEY,
    ServiceSettings,
    load_settings,
    secret_fields,
    secret_paths,
)
from drcommon.errors import ConfigError
from drcontrol.settings import ControlSettings
from pydantic import BaseModel

SERVICES: list[type[ServiceSettings]] = [CaptureSettings, ApplySettings, AppHASettings,
                                         WitnessSettings, ControlSettings]
# What a secret-holding section needs beside the secret for its union member to be chosen.
UNION_HINTS = {("apps", "fence"): {"kind": "http", "url": "https://lb.example/fence"},
               ("apps", "start"): {"kind": "http", "url": "https://lb.example/start"},
               ("apps", "traffic"): {"kind": "http", "url": "https://lb.example/traffic"}}


def _ids() -> list[tuple[type[ServiceSettings], tuple[str, ...]]]:
    return [(cls, path) for cls in SERVICES for path in secret_paths(cls)]


def _toml_value(path: tuple[str, ...]) -> dict[str, Any]:
    """A nested dict holding a secret at ``path`` (dict keys named, list items as lists)."""
    value: Any = {"u": "x" * 20} if path[-1].endswith("s") else "x" * 20  # a dict
    for depth in range(len(path) - 1, -1, -1):
        part = path[depth]
        if part == ANY_KEY:
            continue
        following = path[depth + 1] if depth + 1 < len(path) else None
        if following == ANY_KEY:
            value = {"one": value} if _is_dict(path[: depth + 1]) else [value]
        value = {part: value, **UNION_HINTS.get((path[0], part), {})}
    return value  # type: ignore[no-any-return]


def _is_dict(prefix: tuple[str, ...]) -> bool:
    return prefix[-1] in {"apps", "targets"}


def _toml(data: dict[str, Any], table: str = "") -> str:
    scalars = {k: v for k, v in data.items() if not isinstance(v, (dict, list))}
    lines = [f"[{table}]"] if table and scalars else []
    lines += [f'{k} = "{v}"' for k, v in scalars.items()]
    for key, value in data.items():
        name = f"{table}.{key}" if table else key
        if isinstance(value, dict):
            lines.append(_toml(value, name))
        elif isinstance(value, list):
            for item in value:
                lines.append(f"[[{name}]]")
                lines.append(_toml(item, "").strip())
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("cls", "path"), _ids(),
                         ids=[f"{c.__name__}:{'.'.join(p)}" for c, p in _ids()])
def test_every_secret_written_in_toml_is_refused(cls: type[ServiceSettings],
                                                 path: tuple[str, ...], tmp_path: Path) -> None:
    config = tmp_path / "service.toml"
    config.write_text(_toml(_toml_value(path)), encoding="utf-8")
    loader = load_apply_settings if cls is ApplySettings else (
        lambda p: load_settings(cls, p))
    with pytest.raises(ConfigError, match="may not be written in the configuration file") as e:
        loader(config)
    assert e.value.where["key"].split(".")[-1] == path[-1]
    assert e.value.where["file"] == str(config)
    assert f"{cls.env_prefix_name}__" in e.value.message


def _owners() -> list[tuple[type[ServiceSettings], tuple[str, ...], type[BaseModel]]]:
    return [(cls, path, owner) for cls in SERVICES for path, owner in secret_fields(cls)]


@pytest.mark.parametrize(("cls", "path", "owner"), _owners(),
                         ids=[f"{c.__name__}:{'.'.join(p)}:{o.__name__}"
                              for c, p, o in _owners()])
def test_every_secret_has_a_file_key(cls: type[ServiceSettings], path: tuple[str, ...],
                                     owner: type[BaseModel]) -> None:
    name = path[-1]
    sibling = f"{name[:-1]}_files" if name.endswith("s") else f"{name}_file"  # dicts
    assert sibling in owner.model_fields, f"{cls.__name__}: {'.'.join(path)} has no {sibling}"


def test_the_environment_and_files_still_work(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRCONTROL__PEERS__APPLY__TOKEN", "t" * 20)
    token_file = tmp_path / "totp"
    token_file.write_text("JBSWY3DPEHPK3PXP", encoding="utf-8")
    config = tmp_path / "control.toml"
    config.write_text(f'[break_glass.totp_secret_files]\nada = "{token_file}"\n',
                      encoding="utf-8")
    settings = load_settings(ControlSettings, config)
    assert settings.peers.apply.bearer(key="k") == "t" * 20
    assert settings.break_glass.secret_for("ada") == "JBSWY3DPEHPK3PXP"


def test_an_empty_secret_table_is_no_secret(tmp_path: Path) -> None:
    config = tmp_path / "apply.toml"
    config.write_text("[http]\ncaller_tokens = {}\n", encoding="utf-8")
    assert load_apply_settings(config).http.caller_tokens == {}
