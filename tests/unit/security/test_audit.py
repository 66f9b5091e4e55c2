"""Issue 17, finding 12: the dependency audit runs offline on an OSV database, finds an
advisory that applies to a locked version, and fails loudly (exit 2) when it has no
usable database: never a green "no known vulnerabilities" without one."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.integration.deploy.compose import ROOT

AUDIT = ROOT / "scripts" / "audit.py"
LOCK = ROOT / "requirements" / "runtime.lock"


def _advisory(directory: Path, ident: str, package: str, introduced: str, fixed: str,
              modified: datetime) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{ident}.json").write_text(json.dumps({
        "id": ident, "summary": f"test advisory for {package}",
        "modified": modified.isoformat().replace("+00:00", "Z"),
        "affected": [{"package": {"ecosystem": "PyPI", "name": package},
                      "ranges": [{"type": "ECOSYSTEM",
                                  "events": [{"introduced": introduced}, {"fixed": fixed}]}]}],
    }), encoding="utf-8")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(AUDIT), *args], capture_output=True, text=True,
                          timeout=120, check=False, env={"PATH": "/nonexistent"})


def _locked(package: str) -> str:
    line = next(x for x in LOCK.read_text().splitlines() if x.startswith(f"{package}=="))
    return line.split("==")[1].split()[0]


def test_without_a_database_the_audit_fails_loudly(tmp_path: Path) -> None:
    done = _run(str(LOCK))  # no --db, and no pip-audit on PATH
    assert done.returncode == 2 and "CANNOT AUDIT" in done.stderr
    assert "none affected" not in done.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    done = _run("--db", str(empty), str(LOCK))
    assert done.returncode == 2 and "no PyPI advisories" in done.stderr
    stale = tmp_path / "stale"
    _advisory(stale, "PYSEC-0-1", "left-pad", "0", "1.0",
              datetime.now(UTC) - timedelta(days=400))
    done = _run("--db", str(stale), str(LOCK))
    assert done.returncode == 2 and "stale" in done.stderr


def test_an_advisory_for_a_locked_version_fails_the_audit(tmp_path: Path) -> None:
    db = tmp_path / "osv"
    now = datetime.now(UTC)
    version = _locked("fastapi")
    _advisory(db, "GHSA-test-0001", "FastAPI", "0", version + ".post999", now)
    _advisory(db, "GHSA-test-0002", "orjson", "0", "0.0.1", now)  # fixed long ago
    done = _run("--db", str(db), str(LOCK))
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"fastapi {version}: GHSA-test-0001" in done.stdout
    assert "GHSA-test-0002" not in done.stdout


def test_a_usable_database_without_matches_passes_and_says_what_it_checked(
        tmp_path: Path) -> None:
    db = tmp_path / "osv"
    _advisory(db, "GHSA-test-0003", "orjson", "0", "0.0.1", datetime.now(UTC))
    done = _run("--db", str(db), str(LOCK))
    assert done.returncode == 0, done.stderr
    assert "checked against 1 PyPI advisories" in done.stdout
