"""``drcapture``: run the capture service, or use the redo tools offline.

drcapture run --config FILE            follow the source and publish to Kafka
drcapture decode --dictionary F REDO…  committed changes as JSON lines (no Kafka)
drcapture dump REDO                    records and change vectors, like a logfile dump
drcapture inspect REDO                 file and redo header summary
drcapture status --url URL             a running capture's status
drcapture dictionary export|import     our JSON dictionary snapshot
drcapture dictionary tracked|diff      capture's redo-tracked dictionary; compare two
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from drcommon.errors import DRError
from drcommon.logs import configure_logging
from drcommon.service import serve_until_signal

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
dictionary_app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Dictionary snapshots."
)
app.add_typer(dictionary_app, name="dictionary")

DEFAULT_EXCLUDE = ("SYS.*", "SYSTEM.*", "AUDSYS.*")
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Site TOML file.")]
RedoFiles = Annotated[list[Path], typer.Argument(help="Redo log files, in order.")]


def _fail(exc: DRError) -> typer.Exit:
    print(f"drcapture: error: {exc}", file=sys.stderr)
    return typer.Exit(2)


@app.command()
def run(config: ConfigOption) -> None:
    """Run capture until stopped (archive mode) or until the listed files are done."""
    from drcommon.config import load_settings

    from drcapture.service import CaptureService
    from drcapture.settings import CaptureSettings

    try:
        settings = load_settings(CaptureSettings, config)
        configure_logging("capture", level=settings.logging.level, fmt=settings.logging.format)
        service = CaptureService(settings)
        asyncio.run(serve_until_signal(service))
    except DRError as exc:
        raise _fail(exc) from None
    _print_summary(service)
    if service.error is not None:
        print(f"drcapture: error: {service.error}", file=sys.stderr)
        raise typer.Exit(1)


def _print_summary(service: object) -> None:
    from drcapture.service import CaptureService

    assert isinstance(service, CaptureService)
    report = service.status()
    last = report["last_published"]
    print(
        f"capture {report['state']}: published {report['transactions_published']} "
        f"transaction(s), {report['changes_published']} change(s) this run; last commit "
        f"{'SCN ' + str(last['commit_scn']) + ' xid ' + last['xid'] if last else 'none'}; "
        f"safe SCN {report['safe_scn']}"
    )


@app.command()
def decode(
    files: RedoFiles,
    dictionary: Annotated[Path, typer.Option(help="Dictionary file (snapshot or OLR).")],
    dictionary_format: Annotated[str, typer.Option(help="snapshot or olr.")] = "auto",
    include: Annotated[list[str] | None, typer.Option(help="OWNER[.TABLE] patterns.")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="OWNER[.TABLE] patterns.")] = None,
    unknown: Annotated[
        bool, typer.Option(help="Also objects missing from the dictionary.")
    ] = False,
) -> None:
    """Print the committed changes in redo files as JSON lines (offline; no Kafka)."""
    from drcapture.offline import decode_files

    try:
        for line in decode_files(
            files,
            dictionary,
            dictionary_format,
            include or ["*.*"],
            exclude or list(DEFAULT_EXCLUDE),
            unknown,
            progress=sys.stderr,
        ):
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    except DRError as exc:
        raise _fail(exc) from None


@app.command()
def dump(file: Annotated[Path, typer.Argument(help="A redo log file.")]) -> None:
    """Print every record and change vector with RBA, offsets, SCN and fields."""
    from drcapture.offline import dump_file

    try:
        for line in dump_file(file):
            sys.stdout.write(line + "\n")
    except DRError as exc:
        raise _fail(exc) from None


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(help="A redo log file.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print the file and redo header summary."""
    from drcapture.redo.blocks import FileSource, RedoFile
    from drcapture.redo.render import inspect_file, inspect_lines

    try:
        redo = RedoFile(FileSource(file))
        if as_json:
            print(json.dumps(inspect_file(redo), indent=2))
        else:
            print("\n".join(inspect_lines(redo)))
    except DRError as exc:
        raise _fail(exc) from None


@app.command()
def status(
    url: Annotated[str, typer.Option(envvar="DRCAPTURE_URL")] = "http://127.0.0.1:8701",
    token: Annotated[str | None, typer.Option(envvar="DRCAPTURE_TOKEN")] = None,
) -> None:
    """Print a running capture's status (JSON)."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        answer = httpx.get(f"{url}/api/v1/status", headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        print(f"drcapture: capture at {url} is unreachable: {exc}", file=sys.stderr)
        raise typer.Exit(5) from None
    if answer.status_code != 200:
        print(f"drcapture: {answer.status_code} {answer.text}", file=sys.stderr)
        raise typer.Exit(3)
    print(json.dumps(answer.json(), indent=2))


@dictionary_app.command("import")
def dictionary_import(
    source: Annotated[Path, typer.Argument(help="An OpenLogReplicator checkpoint file.")],
    output: Annotated[Path, typer.Argument(help="Our JSON snapshot to write.")],
) -> None:
    """Convert an OpenLogReplicator checkpoint into our JSON snapshot (with the SYS
    dictionary rows, which keep the dictionary current from the redo)."""
    from drcapture.dictionary.olr import load_olr_checkpoint, read_olr_checkpoint
    from drcapture.dictionary.snapshot import save_snapshot_file
    from drcapture.dictionary.system import SystemRows

    try:
        data = read_olr_checkpoint(source)
        dictionary = load_olr_checkpoint(data)
        save_snapshot_file(dictionary, output, SystemRows.from_sections(data))
    except DRError as exc:
        raise _fail(exc) from None
    print(f"wrote {len(dictionary.tables)} table(s) to {output}")


@dictionary_app.command("export")
def dictionary_export(
    dsn: Annotated[str, typer.Option(help="Oracle DSN (host:port/service).")],
    user: Annotated[str, typer.Option(help="Oracle user with dictionary access.")],
    owners: Annotated[list[str], typer.Option(help="Schemas to include.")],
    output: Annotated[Path, typer.Argument(help="Our JSON snapshot to write.")],
    scn: Annotated[int | None, typer.Option(help="Dictionary as of this SCN.")] = None,
    password_env: Annotated[
        str, typer.Option(help="Env var holding the password.")
    ] = "DRCAPTURE_ORACLE_PASSWORD",
    ca_file: Annotated[
        Path | None, typer.Option(help="TLS (tcps): the CA that signs the database's certificate.")
    ] = None,
    wallet_dir: Annotated[
        Path | None, typer.Option(help="TLS (tcps): an Oracle wallet directory (ewallet.pem).")
    ] = None,
) -> None:
    """Read the dictionary from a live Oracle (as of an SCN) into our JSON snapshot."""
    import os

    from drcommon.config import TlsSettings

    from drcapture.dictionary.live import export_live_dsn
    from drcapture.dictionary.snapshot import save_snapshot_file

    password = os.environ.get(password_env)
    if not password:
        print(f"drcapture: error: set {password_env} to the Oracle password", file=sys.stderr)
        raise typer.Exit(2)
    try:
        tls = TlsSettings(enabled=bool(ca_file or wallet_dir), ca_file=ca_file,
                          wallet_dir=wallet_dir)
        dictionary, system = export_live_dsn(dsn, user, password, owners, scn, tls=tls)
        save_snapshot_file(dictionary, output, system)
    except DRError as exc:
        raise _fail(exc) from None
    rows = sum(len(s) for s in system.sections.values()) if system else 0
    print(f"wrote {len(dictionary.tables)} table(s) and {rows} dictionary row(s) "
          f"(SCN {dictionary.scn}) to {output}")


@dictionary_app.command("tracked")
def dictionary_tracked(
    config: ConfigOption,
    output: Annotated[Path, typer.Argument(help="Our JSON snapshot to write.")],
) -> None:
    """Write the dictionary capture decodes with now (dictionary.on_ddl = track): the
    configured one with the DDL capture published since, read from Kafka. Compare it with
    a live export at the SCN printed (``dictionary diff``)."""
    from drcommon.config import load_settings
    from drcommon.topics import TopicNames

    from drcapture.checkpoints import load_restart
    from drcapture.dictionary.snapshot import save_snapshot_file
    from drcapture.dictionary.versions import DictionaryVersions
    from drcapture.service import change_sets, load_dictionary, load_system_rows
    from drcapture.settings import CaptureSettings

    try:
        settings = load_settings(CaptureSettings, config)
        base = load_dictionary(settings.dictionary)
        rows = load_system_rows(settings.dictionary)
        if rows is None:
            print("drcapture: error: the configured dictionary holds no SYS dictionary rows "
                  "to track DDL with (dictionary.on_ddl = track needs them)", file=sys.stderr)
            raise typer.Exit(2)
        names = TopicNames(settings.kafka.topic_prefix, settings.database)
        _, published = asyncio.run(load_restart(settings.kafka, names.checkpoints,
                                                settings.capture_id))
        versions = DictionaryVersions(rows, base, lambda d: d)
        versions.replay(change_sets(published))
        current = versions.current.dictionary
        save_snapshot_file(current, output, versions.rows)
    except DRError as exc:
        raise _fail(exc) from None
    print(f"wrote the dictionary valid from SCN {current.scn} "
          f"({len(versions.applied)} DDL transaction(s) after the configured one at SCN "
          f"{base.scn}) to {output}")


@dictionary_app.command("diff")
def dictionary_diff(
    left: Annotated[Path, typer.Argument(help="A snapshot or OpenLogReplicator checkpoint.")],
    right: Annotated[Path, typer.Argument(help="Another one (e.g. a live export).")],
    include: Annotated[list[str], typer.Option(help="Tables to compare (OWNER.TABLE, "
                                                    "* wildcards).")] = ["*.*"],  # noqa: B006
) -> None:
    """Print how two dictionaries differ for the tables capture decodes; exit 1 if they
    do."""
    from drcapture.dictionary.diff import differences
    from drcapture.filtering import TableFilter
    from drcapture.offline import load_dictionary_file

    try:
        found = differences(load_dictionary_file(left), load_dictionary_file(right),
                            TableFilter(tuple(include), DEFAULT_EXCLUDE))
    except DRError as exc:
        raise _fail(exc) from None
    for line in found:
        print(line)
    print(f"{len(found)} difference(s)")
    if found:
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
