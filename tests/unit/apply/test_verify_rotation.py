"""The continuous verification's rotation through the tables (pure)."""

from __future__ import annotations

from drapply.checks import Rotation, advance, pick_tables

TABLES = ["HIS.DOCS", "HIS.VISIT", "SI.PERSON"]


def test_rotation_walks_every_table_and_wraps() -> None:
    rotation = Rotation()
    seen = []
    for _ in range(4):
        chosen = pick_tables(TABLES, rotation, 2)
        seen.append(chosen)
        rotation = advance(TABLES, chosen, rotation, dict.fromkeys(chosen))
    assert seen == [["HIS.DOCS", "HIS.VISIT"], ["SI.PERSON", "HIS.DOCS"],
                    ["HIS.VISIT", "SI.PERSON"], ["HIS.DOCS", "HIS.VISIT"]]  # fmt: skip


def test_a_sampled_table_continues_where_it_stopped() -> None:
    rotation = advance(TABLES, ["HIS.VISIT"], Rotation("HIS.VISIT"), {"HIS.VISIT": ("120",)})
    assert rotation == Rotation("HIS.VISIT", {"HIS.VISIT": ["120"]})
    assert pick_tables(TABLES, rotation, 1) == ["HIS.VISIT"]
    done = advance(TABLES, ["HIS.VISIT"], rotation, {"HIS.VISIT": None})
    assert done == Rotation("SI.PERSON", {})
    assert Rotation.parse(done.document()) == done


def test_a_table_that_went_away() -> None:
    assert pick_tables(TABLES, Rotation("HIS.GONE"), 1) == ["HIS.VISIT"]
    assert pick_tables(TABLES, Rotation("ZZ.LAST"), 1) == ["HIS.DOCS"]
    assert pick_tables([], Rotation(), 3) == []
