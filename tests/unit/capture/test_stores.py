"""Log stores: the catalog finds logs by their headers in any store, first store wins,
and a store that is not a local directory plugs in through the same three members."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from drcapture.catalog import LogCatalog
from drcapture.redo.blocks import BlockSource, BytesSource
from drcapture.stores import LocalDirectory, Signature

FREE23 = "free23-insert"


@dataclass
class InMemoryStore:
    """A store whose logs are bytes (as an ASM or SSH store would fetch them)."""

    logs: dict[str, bytes]

    @property
    def name(self) -> str:
        return "memory:"

    def entries(self) -> Iterator[tuple[str, Signature]]:
        for location, data in sorted(self.logs.items()):
            yield location, (len(data), 0)

    def open(self, location: str) -> BlockSource:
        return BytesSource(self.logs[location], location)


def test_logs_found_by_header_in_another_kind_of_store(redo_fixtures: Path) -> None:
    data = (redo_fixtures / FREE23 / "arch1_16_1224959854.dbf").read_bytes()
    catalog = LogCatalog(stores=[InMemoryStore({"memory:/any-name": data})])
    catalog.refresh()
    entry = catalog.find(1, 16)
    assert entry is not None and entry.location == "memory:/any-name"
    assert entry.open().header.sequence == 16


def test_first_store_wins_and_non_redo_is_ignored(redo_fixtures: Path, tmp_path: Path) -> None:
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    log15 = (redo_fixtures / FREE23 / "arch1_15_1224959854.dbf").read_bytes()
    (tmp_path / "first" / "a.dbf").write_bytes(log15)
    (tmp_path / "second" / "b.dbf").write_bytes(log15)
    (tmp_path / "first" / "junk.dbf").write_bytes(b"not redo")
    catalog = LogCatalog([tmp_path / "first", tmp_path / "second"], patterns="*.dbf")
    catalog.refresh()
    entry = catalog.find(1, 15)
    assert entry is not None and entry.location == str(tmp_path / "first" / "a.dbf")
    assert str(tmp_path / "first" / "junk.dbf") in catalog.unreadable
    assert [loc for loc, _ in LocalDirectory(tmp_path / "first", ("*.dbf",)).entries()] == [
        str(tmp_path / "first" / "a.dbf"),
        str(tmp_path / "first" / "junk.dbf"),
    ]
