"""``drcapture decode`` reads with the compiled core; its output (JSON lines of changes)
is what the Python reader printed: the same dicts in the same order for both Oracle 23
logs with their dictionary (filtered and with unknown objects) and for random writer
workloads on several RAC threads (every type, LOBs, IOTs)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from drcapture.dictionary.model import Dictionary
from drcapture.filtering import TableFilter
from drcapture.offline import (
    decode_dicts,
    decode_files,
    decode_transactions,
    load_dictionary_file,
)
from drcapture.redo.render import decode_dicts as python_dicts
from drcapture.synth.workload import Workload
from drcapture.synth.workload_build import build_workload
from drcapture.synth.workload_result import DICTIONARY_FILE
from hypothesis import HealthCheck, given, settings

from tests.unit.capture.python_decode import decode_transactions as python_transactions
from tests.unit.capture.test_lob_property import workloads as lob_workloads
from tests.unit.capture.test_redo_helpers import FREE23, FREE23_LOGS, free23_untracked_dictionary
from tests.unit.capture.test_writer_property import workloads


def _same(files: list[Path], dictionary: Dictionary, table_filter: TableFilter | None,
          include_unknown: bool) -> int:
    want = list(python_dicts(python_transactions(files, dictionary, table_filter,
                                                 include_unknown=include_unknown)))
    got = list(decode_dicts(decode_transactions(files, dictionary, table_filter,
                                                include_unknown=include_unknown)))
    assert got == want
    assert [json.dumps(x, ensure_ascii=False) for x in got] == [
        json.dumps(x, ensure_ascii=False) for x in want]
    return len(got)


def test_the_oracle_23_logs() -> None:
    dictionary = free23_untracked_dictionary()
    files = list(FREE23_LOGS)
    assert _same(files, dictionary, TableFilter(("*.*",), ("SYS.*",)), False) > 0
    assert _same(files, dictionary, TableFilter(("*.*",), ()), True) > 0


def test_the_command_path() -> None:
    files = list(FREE23_LOGS)
    lines = list(decode_files(files, FREE23 / "olr-checkpoint-2266634.json", "auto",
                              ["OLR_TEST.*"], ["SYS.*"], False))
    assert lines and all(line["owner"] == "OLR_TEST" for line in lines)


def _check(workload: Workload, tmp: Path) -> None:
    built = build_workload(workload)
    files = built.write(tmp)
    dictionary = load_dictionary_file(tmp / DICTIONARY_FILE)
    _same(files, dictionary, None, False)


SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(workloads())
def test_random_workloads(workload: Workload) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _check(workload, Path(tmp))


@SETTINGS
@given(lob_workloads())
def test_random_lob_workloads(workload: Workload) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _check(workload, Path(tmp))
