"""While a thread's read holds its core in a worker thread (the GIL released), the
status and the pipeline look at the reader from the event loop: what they read is the
reader's account as of its last read, never the busy core."""

from __future__ import annotations

import threading
from pathlib import Path

from drcapture.catalog import LogCatalog
from drcapture.filtering import TableFilter
from drcapture.native_txn import CoreOptions, ThreadCore
from drcapture.redo.records import Rba
from drcapture.synth.workload_build import build_workload
from drcapture.thread_reader import ThreadReader

from tests.support.workloads import random_workload


def test_the_reader_answers_while_its_core_reads(tmp_path: Path) -> None:
    built = build_workload(random_workload(5, transactions=300, threads=1, switch_every=40))
    paths = built.write(tmp_path)
    core = ThreadCore(built.dictionary, CoreOptions(thread=1, wanted=TableFilter(("SI.*",
                                                                                  "HIS.*"))))
    reader = ThreadReader(1, LogCatalog(files=paths), core, start_scn=None, follow=False)
    assert reader.last_rba is None and reader.restart_point() is None
    done = threading.Event()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            while not reader.read(50).finished:
                pass
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            done.set()

    worker = threading.Thread(target=read)
    worker.start()
    looks = 0
    while not done.is_set():
        reader.restart_point(), reader.last_rba, reader.open_transactions
        looks += 1
    worker.join()
    assert not errors and looks > 0
    opened = core.open_transactions()
    assert reader.open_transactions == len(opened)
    assert reader.last_rba == core.last_rba
    oldest = min((Rba.parse(t.start_rba) for t in opened), default=None)
    assert reader.restart_point() == (min(oldest, core.last_rba) if oldest else core.last_rba)
