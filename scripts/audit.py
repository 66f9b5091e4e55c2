"""Audit the locked dependencies for known vulnerabilities; never green without a database.

    python scripts/audit.py [--db DIR] [--max-age-days N] [LOCK ...]

The packages are the pins of the lock files (default: requirements/runtime.lock and
requirements/build.lock, what the image installs). The advisories come from:

* ``--db DIR`` (or ``DR_AUDIT_DB``): an OSV database on disk, offline — the PyPI
  ecosystem export of osv.dev (``PyPI/all.zip``, unpacked: one ``<ID>.json`` per
  advisory), copied in from a machine that can fetch it. It must hold PyPI advisories
  and be fresh: its newest ``modified`` date no older than ``--max-age-days`` (30).
* otherwise ``pip-audit`` against its online service, when it is installed and the
  service answers for every package.

Exit status: 0 when every package was checked against a usable database and none is
affected, 1 when a package is affected (each advisory is printed), 2 when the audit
could not be done — no database, an empty or stale one, a service that did not answer
for a package. "Could not check" is never reported as "no known vulnerabilities".
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LOCKS = [ROOT / "requirements" / "runtime.lock", ROOT / "requirements" / "build.lock"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.M)
CANNOT = 2


class CannotAudit(Exception):
    """The audit could not be done (exit status 2)."""


@dataclass(frozen=True)
class Finding:
    """One advisory that affects one locked package."""

    package: str
    version: str
    advisory: str
    summary: str
    fixed: tuple[str, ...]


def pins(locks: Iterable[Path]) -> dict[str, set[str]]:
    """Package (canonical name) → the versions pinned in the lock files."""
    found: dict[str, set[str]] = {}
    for lock in locks:
        try:
            text = lock.read_text(encoding="utf-8")
        except OSError as exc:
            raise CannotAudit(f"cannot read {lock}: {exc.strerror}") from None
        for name, version in PIN.findall(text):
            found.setdefault(str(canonicalize_name(name)), set()).add(version)
    if not found:
        raise CannotAudit("no pinned packages found in " + ", ".join(map(str, locks)))
    return found


def _advisory_texts(db: Path) -> Iterator[tuple[str, str]]:
    if db.is_file() and db.suffix == ".zip":
        with zipfile.ZipFile(db) as archive:
            for name in archive.namelist():
                if name.endswith(".json"):
                    yield name, archive.read(name).decode("utf-8")
        return
    for path in sorted(db.rglob("*.json")):
        yield str(path), path.read_text(encoding="utf-8")


def load_db(db: Path, max_age: timedelta, now: datetime) -> list[dict[str, object]]:
    """The PyPI advisories of an OSV database; refuses a missing, empty or stale one."""
    if not db.exists():
        raise CannotAudit(f"the vulnerability database {db} does not exist")
    advisories = []
    newest: datetime | None = None
    for where, text in _advisory_texts(db):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CannotAudit(f"{where} is not JSON: {exc}") from None
        if not any(a.get("package", {}).get("ecosystem") == "PyPI"
                   for a in doc.get("affected", [])):
            continue
        advisories.append(doc)
        modified = _when(doc.get("modified"))
        if modified is not None and (newest is None or modified > newest):
            newest = modified
    if not advisories:
        raise CannotAudit(f"the vulnerability database {db} holds no PyPI advisories")
    if newest is None or now - newest > max_age:
        raise CannotAudit(f"the vulnerability database {db} is stale: newest advisory "
                          f"modified {newest:%Y-%m-%d}" if newest else
                          f"the vulnerability database {db} has no modification dates")
    return advisories


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _in_ranges(version: Version, ranges: list[dict[str, object]]) -> bool:
    for rng in ranges:
        if rng.get("type") not in ("ECOSYSTEM", "SEMVER"):
            continue
        affected = False
        for event in rng.get("events", []):  # type: ignore[attr-defined]
            for kind, value in event.items():
                try:
                    bound = Version(value) if value != "0" else Version("0")
                except InvalidVersion:
                    continue
                if kind == "introduced" and version >= bound:
                    affected = True
                elif (kind == "fixed" and version >= bound) or (
                        kind == "last_affected" and version > bound):
                    affected = False
        if affected:
            return True
    return False


def match(packages: dict[str, set[str]], advisories: list[dict[str, object]]) -> list[Finding]:
    """Every (locked package version, advisory) pair where the advisory applies."""
    findings = []
    for doc in advisories:
        for affected in doc.get("affected", []):  # type: ignore[attr-defined]
            package = affected.get("package", {})
            if package.get("ecosystem") != "PyPI":
                continue
            name = str(canonicalize_name(package.get("name", "")))
            for version in sorted(packages.get(name, ())):
                listed = version in affected.get("versions", [])
                try:
                    ranged = _in_ranges(Version(version), affected.get("ranges", []))
                except InvalidVersion:
                    ranged = False
                if listed or ranged:
                    fixed = tuple(e["fixed"] for r in affected.get("ranges", [])
                                  for e in r.get("events", []) if "fixed" in e)
                    findings.append(Finding(name, version, str(doc.get("id")),
                                            str(doc.get("summary", ""))[:160], fixed))
    return findings


def online(locks: list[Path]) -> list[Finding]:
    """pip-audit against its service; any package it could not check fails the audit."""
    tool = shutil.which("pip-audit")
    if tool is None:
        raise CannotAudit("no offline database (--db / DR_AUDIT_DB) and pip-audit is not "
                          "installed: cannot audit")
    findings = []
    for lock in locks:
        done = subprocess.run(
            [tool, "--format", "json", "--progress-spinner", "off", "--disable-pip",
             "--no-deps", "-r", str(lock)],
            capture_output=True, text=True, timeout=600, check=False)
        try:
            report = json.loads(done.stdout or "null")
        except json.JSONDecodeError:
            report = None
        if not isinstance(report, dict) or done.returncode not in (0, 1):
            raise CannotAudit(f"pip-audit could not check {lock.name}: "
                              f"{(done.stderr or done.stdout).strip()[-400:]}")
        for dependency in report.get("dependencies", []):
            if "skip_reason" in dependency:
                raise CannotAudit(f"pip-audit skipped {dependency.get('name')}: "
                                  f"{dependency['skip_reason']}")
            for vuln in dependency.get("vulns", []):
                findings.append(Finding(dependency["name"], dependency["version"],
                                        vuln.get("id", "?"), vuln.get("description", "")[:160],
                                        tuple(vuln.get("fix_versions", []))))
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("locks", nargs="*", type=Path, default=DEFAULT_LOCKS)
    parser.add_argument("--db", type=Path, default=os.environ.get("DR_AUDIT_DB") or None)
    parser.add_argument("--max-age-days", type=float, default=30.0)
    args = parser.parse_args(argv)
    try:
        packages = pins(args.locks)
        if args.db is not None:
            advisories = load_db(args.db, timedelta(days=args.max_age_days),
                                 datetime.now(UTC))
            findings = match(packages, advisories)
            source = f"{len(advisories)} PyPI advisories in {args.db}"
        else:
            findings = online(args.locks)
            source = "pip-audit's service"
    except CannotAudit as exc:
        print(f"audit: CANNOT AUDIT: {exc}", file=sys.stderr)
        return CANNOT
    count = sum(len(v) for v in packages.values())
    for f in findings:
        fix = f"; fixed in {', '.join(f.fixed)}" if f.fixed else ""
        print(f"audit: {f.package} {f.version}: {f.advisory} {f.summary}{fix}")
    if findings:
        print(f"audit: {len(findings)} advisories affect the {count} locked packages "
              f"(checked against {source})", file=sys.stderr)
        return 1
    print(f"audit: {count} locked packages checked against {source}: none affected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
