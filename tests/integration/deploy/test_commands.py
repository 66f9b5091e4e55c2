"""Each service's compose command, run on this host instead of in its container.

The program, its arguments and its environment come from the compose file; the config
file is the one the compose file mounts; secret files are the ones ``make-secrets.sh``
made, reached the way the container reaches them (each ``/run/secrets/…`` file setting is
pointed at the host copy, which is what the secret mount does). What must happen:

* appha and control: their check commands (``drappha check``, ``drcontrol budget``) pass;
* capture: ``run`` gets past configuration and stops, exit code 2, exactly where it
  first needs something only the site has (the dictionary snapshot exported from the RAC);
* apply: ``run`` gets past configuration and waits for the DR database server, saying it
  is unreachable (an outage is waited out, not exited on); it stops cleanly on SIGTERM.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.deploy.compose import DR_PROGRAMS, Compose
from tests.integration.deploy.conftest import BY_NAME
from tests.integration.deploy.settings_view import (
    config_path,
    file_settings,
    load_service_settings,
    service_env,
)
from tests.integration.deploy.test_service_configs import IDS, SERVICES

BIN = Path(sys.executable).parent
SECRETS = Path("/run/secrets")


def _environment(compose: Compose, service: str, program: str, home: Path) -> dict[str, str]:
    prefix = DR_PROGRAMS[program] + "__"
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefix)}
    env.update(service_env(compose, service, program))
    settings = load_service_settings(compose, service, program)
    secrets = compose.secrets(service)
    for key, path in file_settings(settings):
        # Keys inside lists cannot be set from the environment; none of those is read
        # before the point these runs stop at.
        if path in secrets and not any(part.isdigit() for part in key.split(".")):
            env[prefix + key.upper().replace(".", "__")] = str(secrets[path])
    env["HOME"] = str(home)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _argv(compose: Compose, service: str, program: str) -> list[str]:
    argv = compose.command(service)
    config = str(config_path(compose, service))
    argv[argv.index("--config") + 1] = config
    if program == "drappha":
        return ["drappha", "check", "--config", config]
    if program == "drcontrol":
        return ["drcontrol", "budget", "--config", config]
    return argv


@pytest.mark.parametrize(("site", "service", "program"), SERVICES, ids=IDS)
def test_service_command_starts_with_its_site_config(
    site: str, service: str, program: str, secrets_root: Path, tmp_path: Path
) -> None:
    compose = BY_NAME[site].load(secrets_root)
    settings = load_service_settings(compose, service, program)
    oracle_target = program == "drapply" and getattr(settings, "target").kind == "oracle"  # noqa: B009
    if oracle_target and importlib.util.find_spec("drapply.adapters.oracle") is None:
        pytest.skip("drapply has no Oracle target adapter yet (drapply.adapters.oracle)")
    if program == "drapply":
        _apply_waits_for_its_database(compose, service, settings, tmp_path)
        return
    result = subprocess.run(
        _argv(compose, service, program),
        env=_environment(compose, service, program, tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert "invalid configuration" not in output, output
    assert "cannot read secret file" not in output, output
    if program == "drappha":
        assert result.returncode == 0, output
        assert "configuration ok" in output
    elif program == "drcontrol":
        assert result.returncode == 0, output
        assert "RTO budget" in output and "VIOLATION" not in output
    else:
        assert result.returncode == 2, output
        assert "cannot read the dictionary snapshot" in output, output
        assert "file=/var/lib/drcapture/dictionary.json" in output


def _apply_waits_for_its_database(
    compose: Compose, service: str, settings: object, tmp_path: Path
) -> None:
    target = getattr(settings, "target")  # noqa: B009
    host = target.dsn.split("host=")[1].split()[0] if "host=" in target.dsn else ""
    log = tmp_path / "apply.out"
    with log.open("wb") as out:
        process = subprocess.Popen(
            _argv(compose, service, "drapply"),
            env=_environment(compose, service, "drapply", tmp_path),
            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        output = ""
        while time.monotonic() < deadline and process.poll() is None:
            output = log.read_text(errors="replace")
            if "unreachable" in output and host in output:
                break
            time.sleep(0.2)
        assert process.poll() is None, "apply exited: " + log.read_text(errors="replace")
        assert "unreachable" in output and host in output, output
    finally:
        process.terminate()
        code = process.wait(60)
    output = log.read_text(errors="replace")
    assert code == 0, output
    assert "Traceback" not in output, output
    assert "invalid configuration" not in output, output
    assert "cannot read secret file" not in output, output


def test_a_wrong_setting_is_caught(secrets_root: Path, tmp_path: Path) -> None:
    """The same run stops at configuration when the compose environment is wrong."""
    compose = BY_NAME["hangzhou"].load(secrets_root)
    env = _environment(compose, "capture", "drcapture", tmp_path)
    env["DRCAPTURE__SOURCE__START_SCN"] = "not-a-number"
    result = subprocess.run(
        _argv(compose, "capture", "drcapture"),
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "source.start_scn" in result.stderr
