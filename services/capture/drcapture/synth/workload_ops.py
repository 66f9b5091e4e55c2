"""Change vectors for workload operations: each change is a 5.1 undo record paired with
its 11.x redo (the first one preceded by 5.2), partial rollbacks are the undo applied
(11.x) plus 5.6/5.11, and a transaction ends with 5.4.

This follows the real records in ``shared/fixtures/redo``: a single-row insert is
5.2 + 5.1(ktudb, ktubl, KTB, DRP, supplemental) + 11.2(KTB F, IRP, columns) (free23
log 15 at 0x244.0168, oracdc ``Op11_2_Test/000``); a delete carries the old row as an
IRP in the undo (oracdc ``Op11_3_Test/000``); an update carries URP in both
(``Op11_5_Test/000``); a partial rollback record is the applied 11.x followed by 5.6 or
5.11 (``PartialRollback_Test/066`` on). Whether Oracle picks 5.6 or 5.11 is not derived
here: the writer uses 5.11 for the transaction's first change and 5.6 otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

from drcommon.model import ColumnValue

from drcapture.redo.ops.kdo import RowCode
from drcapture.redo.ops.undo import SuppType
from drcapture.synth.workload import Supplemental
from drcapture.synth.workload_iot import IotVectors
from drcapture.synth.workload_state import Change, Codec, Kind, TxnState, WorkloadError
from drcapture.synth.writer_ops import (
    RowAt,
    Uba,
    Value,
    begin_vector,
    drp,
    end_vector,
    irp,
    ktb_f,
    ktb_z,
    ktub,
    ktudb,
    partial_rollback_vector,
    qmd,
    qmi,
    row_vector,
    stored,
    supplemental,
    undo_vector,
    urp,
)
from drcapture.synth.writer_records import Packer, Platform, VectorSpec

_REDO_CODE = {
    Kind.INSERT: RowCode.IRP,
    Kind.UPDATE: RowCode.URP,
    Kind.DELETE: RowCode.DRP,
    Kind.MULTI_INSERT: RowCode.QMI,
    Kind.MULTI_DELETE: RowCode.QMD,
}
_UNDO_CODE = {
    Kind.INSERT: RowCode.DRP,
    Kind.UPDATE: RowCode.URP,
    Kind.DELETE: RowCode.IRP,
    Kind.MULTI_INSERT: RowCode.QMD,
    Kind.MULTI_DELETE: RowCode.QMI,
}
_SUPP_TYPE = {
    Kind.INSERT: SuppType.INSERT,
    Kind.UPDATE: SuppType.UPDATE,
    Kind.DELETE: SuppType.DELETE,
}


class VectorFactory:
    """Builds the vectors of one database (platform, container, character sets)."""

    def __init__(self, platform: Platform, codec: Codec, con_id: int, con_uid: int) -> None:
        self.platform = platform
        self.p = Packer(platform.order)
        self.codec = codec
        self.con_id = con_id
        self.con_uid = con_uid
        self.iot = IotVectors(self.p, codec, con_id)

    # -- the row images of each side --------------------------------------------------------
    def _rows(
        self, change: Change, images: tuple[dict[str, ColumnValue], ...]
    ) -> list[list[Value]]:
        return [self.codec.row(change.table, img) for img in images]

    def _update_pairs(self, change: Change, image: int) -> list[tuple[int, Value]]:
        names = change.table.column_names()
        source = change.before[0] if image == 0 else change.after[0]
        return [
            (names.index(n), self.codec.encode(change.table, n, source[n])) for n in change.changed
        ]

    def _ncol(self, change: Change) -> int:
        rows = self._rows(change, change.before + change.after)
        return max(len(stored(r)) for r in rows)

    def row_op(self, change: Change, *, undo: bool) -> list[bytes]:
        """The row-op fields (kdo plus data) of the undo or the redo side of ``change``."""
        code = (_UNDO_CODE if undo else _REDO_CODE)[change.kind]
        at = change.at
        if code == RowCode.DRP:
            return drp(self.p, at)
        if code == RowCode.IRP:
            image = change.before if undo else change.after
            return irp(self.p, at, self._rows(change, image)[0])
        if code == RowCode.URP:
            return urp(self.p, at, self._ncol(change), self._update_pairs(change, 0 if undo else 1))
        if code == RowCode.QMD:
            return qmd(self.p, at, change.slots)
        image = change.before if undo else change.after
        return qmi(self.p, at, change.slots, self._rows(change, image))

    def _supplemental(self, change: Change) -> tuple[bytes, ...]:
        kind = change.kind
        if kind not in _SUPP_TYPE:
            return ()  # multi-row operations carry no supplemental data here
        names = change.table.column_names()
        if kind is Kind.INSERT:
            return supplemental(self.p, SuppType.INSERT, 0, 1, [])
        if kind is Kind.DELETE:
            return supplemental(self.p, SuppType.DELETE, 1, 0, [])
        first = min(names.index(n) for n in change.changed) + 1
        logged = supplemental_columns(change)
        columns = [
            (names.index(n) + 1, self.codec.encode(change.table, n, change.before[0][n]))
            for n in logged
        ]
        return supplemental(self.p, SuppType.UPDATE, first, first, columns)

    # -- records ------------------------------------------------------------------------
    def change_vectors(self, tx: TxnState, change: Change, scn: int) -> list[VectorSpec]:
        """[5.2,] 5.1 and 11.x (an IOT's: 10.x) for one change."""
        table = change.table
        if table.iot:
            vectors, size = self.iot.vectors(tx, change, scn)
            if change.first_of_txn:
                vectors.insert(0, begin_vector(self.p, tx.txn, change.uba, size, scn - 1,
                                               self.con_id, self.con_uid, self.platform))
            return vectors
        undo_fields = [
            ktub(self.p, table.obj, table.obj, tx.txn.slot, 0, begin=change.first_of_txn),
            ktb_z(self.p),
            *self.row_op(change, undo=True),
            *self._supplemental(change),
        ]
        size = 20 + sum(len(f) for f in undo_fields)
        undo = undo_vector(
            tx.txn,
            change.uba,
            [ktudb(self.p, tx.txn, change.uba, size), *undo_fields],
            scn - 1,
            self.con_id,
        )
        redo_code = _REDO_CODE[change.kind]
        redo = row_vector(
            redo_code,
            [ktb_f(self.p, tx.txn, change.uba), *self.row_op(change, undo=False)],
            change.at,
            table.obj,
            scn - 1,
            self.con_id,
        )
        vectors = [undo, redo]
        if change.first_of_txn:
            vectors.insert(
                0,
                begin_vector(
                    self.p,
                    tx.txn,
                    change.uba,
                    size,
                    scn - 1,
                    self.con_id,
                    self.con_uid,
                    self.platform,
                ),
            )
        return vectors

    def rollback_vectors(self, tx: TxnState, change: Change, scn: int) -> list[VectorSpec]:
        """The undo of ``change`` applied: its undo row op as redo, then 5.6 / 5.11."""
        table = change.table
        if table.iot:
            raise WorkloadError(
                f"rolling back a change of index-organized table {table.name}: no real "
                "record shows the leaf undo Oracle applies, so the writer does not invent it")
        fields = [ktb_z(self.p), *self.row_op(change, undo=True), *self._supplemental(change)]
        applied = row_vector(
            _UNDO_CODE[change.kind], fields, change.at, table.obj, scn - 1, self.con_id
        )
        code = 11 if change.first_of_txn else 6
        mark = partial_rollback_vector(
            self.p, tx.txn, change.uba, code, table.obj, table.obj, scn, self.con_id
        )
        return [applied, mark]

    def end_vectors(
        self, tx: TxnState, *, rollback: bool, scn: int, unix_time: int
    ) -> list[VectorSpec]:
        """5.4 ending the transaction at ``scn``."""
        last = tx.changes[-1].uba if tx.changes else Uba(0, 0, 0)
        return [
            end_vector(
                self.p,
                tx.txn,
                last,
                rollback=rollback,
                scn=scn,
                unix_time=unix_time,
                con_id=self.con_id,
                platform=self.platform,
            )
        ]


def supplemental_columns(change: Change) -> list[str]:
    """Columns an update logs besides the changed ones, by the table's log group."""
    table = change.table
    level = table.supplemental
    if level is Supplemental.MINIMAL:
        return []
    wanted: Sequence[str] = table.pk if level is Supplemental.PRIMARY_KEY else table.column_names()
    return [n for n in table.column_names() if n in wanted and n not in change.changed]


def row_at(change: Change, slot: int) -> RowAt:
    """The address of one row of a multi-row change."""
    return RowAt(bdba=change.at.bdba, slot=slot, hdba=change.at.hdba)
