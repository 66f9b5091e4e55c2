"""Change vectors for workload operations on index-organized tables: one record per
change, 5.1 (ktub opc 10.22, kdilk) followed by its leaf operation (10.2 insert, 10.4
delete, 10.30 / 10.35 update), as in the real records oracdc ``Op10_30_Test`` and
``Op10_35_Test``; field contents in :mod:`drcapture.synth.writer_iot`.

Supplemental logging, as the fixtures show it: the header names the LogMiner op and
numbers the undo from the key's first column and an update's redo from the first
non-key column; with every column logged (``Supplemental.ALL``) a 10.35 also logs the
non-key columns its undo does not list (their old values), a 10.30 none (its undo holds
the whole old non-key part).
"""

from __future__ import annotations

from dataclasses import dataclass

from drcapture.redo.ops import iot as I
from drcapture.redo.ops.iot import UNDO_OPC, LeafCode, UndoKind
from drcapture.redo.ops.undo import KTUB_OPC_CODE, KTUB_OPC_LAYER, SuppType
from drcapture.synth.workload import Supplemental
from drcapture.synth.workload_state import Change, Codec, Kind, TxnState
from drcapture.synth.writer_iot import (
    KDILK_TABLE_COLUMNS,
    LCU_UNDO_TAIL,
    LEAF_ROW_OVERHEAD,
    kdilk,
    key_field,
    ktb_pair,
    lcu_fields,
    leaf_header,
    leaf_vector,
    nonkey_field,
    supplemental,
)
from drcapture.synth.writer_ops import Value, ktub, ktudb, stored, undo_record_size, undo_vector
from drcapture.synth.writer_records import Packer, VectorSpec


@dataclass(frozen=True, slots=True)
class LeafImages:
    """A change's rows in leaf order: key, and the non-key columns (all, and stored)."""

    key: list[Value]
    old: list[Value] | None  # every non-key column before (None: an insert)
    new: list[Value] | None  # every non-key column after (None: a delete)

    def stored_old(self) -> list[Value]:
        """Non-key columns the old leaf row stores (trailing NULLs are not)."""
        return stored(self.old or [])

    def stored_new(self) -> list[Value]:
        """Non-key columns the new leaf row stores."""
        return stored(self.new or [])


def leaf_images(codec: Codec, change: Change) -> LeafImages:
    """The change's key and non-key columns as stored bytes."""
    table = change.table
    nkey = len(table.pk)
    old = codec.stored_row(table, change.before[0]) if change.before else None
    new = codec.stored_row(table, change.after[0]) if change.after else None
    full = old if old is not None else new
    assert full is not None
    return LeafImages(key=full[:nkey], old=None if old is None else old[nkey:],
                      new=None if new is None else new[nkey:])


def uses_whole_nonkey(change: Change) -> bool:
    """Whether an update is written as 10.30 (the old row stored no non-key column and
    the new one does) rather than 10.35."""
    table = change.table
    before, after = change.before[0], change.after[0]
    nonkey = [n for n in table.stored_names() if n not in table.pk]
    return all(before[n] is None for n in nonkey) and any(after[n] is not None for n in nonkey)


def _row_size(p: Packer, key: list[Value], nonkey: list[Value]) -> int:
    return LEAF_ROW_OVERHEAD + len(key_field(p, key)) + len(nonkey_field(p, nonkey))


class IotVectors:
    """Builds the [5.1, 10.x] of one IOT change."""

    def __init__(self, p: Packer, codec: Codec, con_id: int, *, wide: bool = True) -> None:
        self.p = p
        self.codec = codec
        self.con_id = con_id
        self.wide = wide  # 12.1+ layout (the begin ktub's start SCN is 8 bytes, else 6)

    def _ktub(self, tx: TxnState, change: Change) -> bytes:
        """The ktub naming the index object and the leaf undo opcode 10.22."""
        index = change.table.segment_obj
        head = bytearray(ktub(self.p, index, index, tx.txn, 0, begin=change.first_of_txn,
                              wide=self.wide))
        head[KTUB_OPC_LAYER], head[KTUB_OPC_CODE] = UNDO_OPC
        return bytes(head)

    def vectors(self, tx: TxnState, change: Change, scn: int) -> tuple[list[VectorSpec], int]:
        """The 5.1 and the leaf vector of ``change``, and the undo record's size (a 5.2,
        when one comes first, is the caller's)."""
        p, images = self.p, leaf_images(self.codec, change)
        previous = None if change.first_of_txn or not tx.changes else tx.changes[-1].uba
        undo_ktb, redo_ktb = ktb_pair(p, tx.txn, change.uba, previous)
        code, undo_fields, redo_fields = self._fields(change, images)
        body = [self._ktub(tx, change), undo_ktb, *undo_fields]
        size = undo_record_size(body)
        undo = undo_vector(tx.txn, change.uba, [ktudb(p, tx.txn, change.uba, size), *body],
                           scn - 1, self.con_id)
        redo = leaf_vector(code, [redo_ktb, *redo_fields], change.at, change.table.segment_obj,
                           scn - 1, self.con_id)
        return [undo, redo], size

    def _fields(self, change: Change,
                images: LeafImages) -> tuple[int, list[bytes], list[bytes]]:
        """(10.x code, undo fields after the KTB, redo fields after the KTB)."""
        p, at, nkey = self.p, change.at, len(images.key)
        key = key_field(p, images.key)
        if change.kind is Kind.INSERT:
            new = images.stored_new()
            head = leaf_header(p, at.slot, _row_size(p, images.key, new))
            undo = [bytes(kdilk(p, UndoKind.PURGE, at)), key,
                    *supplemental(p, SuppType.INSERT, 0, 1, [])]
            return LeafCode.INSERT, undo, [bytes(head), key, nonkey_field(p, new)]
        old = images.stored_old()
        if change.kind is Kind.DELETE:
            head = leaf_header(p, at.slot, _row_size(p, images.key, old))
            undo = [bytes(kdilk(p, UndoKind.RESTORE, at)), key, nonkey_field(p, old),
                    *supplemental(p, SuppType.DELETE, 1, 0, [])]
            return LeafCode.DELETE, undo, [bytes(head)]
        new = images.stored_new()
        head = leaf_header(p, at.slot, _row_size(p, images.key, new))
        supp_start = (SuppType.UPDATE, 1, nkey + 1)
        if uses_whole_nonkey(change):
            undo = [bytes(kdilk(p, UndoKind.NONKEY, at)), key, nonkey_field(p, old),
                    *supplemental(p, *supp_start, [])]
            return LeafCode.NONKEY, undo, [bytes(head), nonkey_field(p, new)]
        return self._columns(change, images, head, key, supp_start)

    def _columns(self, change: Change, images: LeafImages, head: bytearray, key: bytes,
                 supp_start: tuple[int, int, int]) -> tuple[int, list[bytes], list[bytes]]:
        p, table = self.p, change.table
        nkey = len(images.key)
        assert images.old is not None and images.new is not None
        old, new = images.stored_old(), images.stored_new()
        names = table.stored_names()
        idx = sorted(names.index(n) - nkey for n in change.changed)
        redo_list = [(i, images.new[i]) for i in idx]
        undo_list = [(i, images.old[i]) for i in idx if i < len(old)]
        growth = _row_size(p, images.key, new) - _row_size(p, images.key, old)
        lcu_fields(p, head, I.LCU_FLAG, len(new), redo_list, growth)
        kd = lcu_fields(p, kdilk(p, UndoKind.COLUMNS, change.at), I.KDILK_LCU, len(old),
                        undo_list, -growth)
        kd[KDILK_TABLE_COLUMNS] = len(names)
        kd.extend(bytes(LCU_UNDO_TAIL))
        listed = {i for i, _ in undo_list}
        logged = []
        if table.supplemental is Supplemental.ALL:
            logged = [(nkey + 1 + i, v) for i, v in enumerate(images.old) if i not in listed]
        numbers = b"".join(p.u16(i) for i, _ in redo_list)
        undo = [bytes(kd), key, b"".join(p.u16(i) for i, _ in undo_list),
                *(v or b"" for _, v in undo_list), *supplemental(p, *supp_start, logged)]
        redo = [bytes(head), numbers, *(v or b"" for _, v in redo_list)]
        return LeafCode.COLUMNS, undo, redo
