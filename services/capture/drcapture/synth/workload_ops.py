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

Compressed tables (``Table.compressed``) follow oracdc ``Op11_2_Test/003`` for an insert
(DRP and IRP on table 1, the row as one image in the block's column order, every column
as supplemental data) and ``Ops_IRP_ORP_BindingTest/002``-``003`` for an update (the row
moves: the new piece as an image in another block, then the old row's image in the undo
of an ORP that leaves a stub; the new and the old columns as supplemental data). The
block's column order is the writer's choice: the table's, reversed; the old row shares
its first two block columns through symbol 0, as in those records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from drcommon.model import ColumnValue

from drcapture.redo.ops.compressed import INLINE_BASE, INLINE_MAX, Entry
from drcapture.redo.ops.kdo import RowCode
from drcapture.redo.ops.undo import SuppType
from drcapture.synth.workload import Supplemental, Table
from drcapture.synth.workload_iot import IotVectors
from drcapture.synth.workload_state import (
    LOB_TYPES,
    Change,
    Codec,
    Kind,
    TxnState,
    WorkloadError,
)
from drcapture.synth.writer_lob import llb_columns, llb_write_begin, llb_write_end, page_vector
from drcapture.synth.writer_ops import (
    MIGRATED_FB,
    ROLLBACK_DBA_CODE,
    SUPP_FB_FIRST,
    SUPP_FB_LAST,
    USER_UNDO_DONE_CODE,
    RowAt,
    Side,
    Uba,
    Value,
    begin_vector,
    drp,
    drp_compressed,
    end_vector,
    irp,
    irp_compressed,
    ktb_f,
    ktb_z,
    ktub,
    ktudb,
    orp_stub,
    partial_rollback_vector,
    qmd,
    qmi,
    row_vector,
    stored,
    supplemental,
    undo_record_size,
    undo_vector,
    urp,
)
from drcapture.synth.writer_records import Packer, Platform, VectorSpec

LOB_SEGMENT_BASE: Final = 10_000_000

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
        self.iot = IotVectors(self.p, codec, con_id, wide=platform.wide_vectors)

    # -- the row images of each side --------------------------------------------------------
    def _rows(self, change: Change, *, after: bool) -> list[list[Value]]:
        images = change.after if after else change.before
        lobs = change.lobs_after if after else change.lobs_before
        return [
            self.codec.row(change.table, img, lobs[k] if k < len(lobs) else None)
            for k, img in enumerate(images)
        ]

    def _update_pairs(self, change: Change, image: int) -> list[tuple[int, Value]]:
        names = change.table.column_names()
        source = change.before[0] if image == 0 else change.after[0]
        lobs = (change.lobs_before if image == 0 else change.lobs_after) or ({},)
        return [
            (names.index(n), self.codec.encode(change.table, n, source[n], lobs[0]))
            for n in change.changed
        ]

    def _ncol(self, change: Change) -> int:
        rows = self._rows(change, after=False) + self._rows(change, after=True)
        return max(len(stored(r)) for r in rows)

    def _entries(self, change: Change, image: dict[str, ColumnValue], *,
                 shared: bool = False) -> list[Entry]:
        """A row as a compressed block stores it: the block's column order (the writer's:
        the table's, reversed); ``shared``: the first two block columns through symbol 0."""
        raw = list(reversed(self.codec.row(change.table, image)))
        too_long = INLINE_MAX - INLINE_BASE
        if any(v is not None and len(v) > too_long for v in raw):
            raise WorkloadError(f"{change.table.name}: a compressed row's values are at most "
                                f"{too_long} bytes (longer inline values are not established)")
        entries = [Entry(v) for v in raw]
        if shared and len(entries) > 2:
            entries[:2] = [Entry(None, symbol=0)]
        return entries

    def _all_columns(
        self, change: Change, image: dict[str, ColumnValue]
    ) -> list[tuple[int, Value]]:
        names = change.table.column_names()
        return [(k + 1, self.codec.encode(change.table, n, image[n])) for k, n in enumerate(names)]

    def row_op(self, change: Change, side: Side) -> list[bytes]:
        """The row-op fields (kdo plus data) of ``change`` as redo, as undo, or as the redo
        of a rollback applying that undo."""
        undo = side is not Side.REDO
        code = (_UNDO_CODE if undo else _REDO_CODE)[change.kind]
        at = change.at
        if change.table.compressed and change.kind is Kind.INSERT:
            if undo:
                return drp_compressed(self.p, at)
            return irp_compressed(self.p, at, self._entries(change, change.after[0]))
        if code == RowCode.DRP:
            return drp(self.p, at, side)
        if code == RowCode.IRP:
            return irp(self.p, at, self._rows(change, after=not undo)[0], side=side)
        if code == RowCode.URP:
            pairs = self._update_pairs(change, 0 if undo else 1)
            replaced = [v for _, v in self._update_pairs(change, 1 if undo else 0)]
            return urp(self.p, at, self._ncol(change), pairs, side, replaced)
        if code == RowCode.QMD:
            return qmd(self.p, at, change.slots, side)
        return qmi(self.p, at, change.slots, self._rows(change, after=not undo), side)

    def _supplemental(self, change: Change) -> tuple[bytes, ...]:
        kind = change.kind
        if kind not in _SUPP_TYPE:
            return ()  # multi-row operations carry no supplemental data here
        names = change.table.column_names()
        if kind is Kind.INSERT and change.table.compressed:
            return supplemental(self.p, SuppType.INSERT, 0, 0,
                                self._all_columns(change, change.after[0]))
        if kind is Kind.INSERT:
            return supplemental(self.p, SuppType.INSERT, 0, 1, [])
        if kind is Kind.DELETE:
            return supplemental(self.p, SuppType.DELETE, 1, 0, [])
        first = min(names.index(n) for n in change.changed) + 1
        logged = supplemental_columns(change)
        lobs = change.lobs_before[0] if change.lobs_before else None
        columns = [
            (names.index(n) + 1, self.codec.encode(change.table, n, change.before[0][n], lobs))
            for n in logged
        ]
        return supplemental(self.p, SuppType.UPDATE, first, first, columns)

    # -- records ------------------------------------------------------------------------
    def _undo_fields(self, tx: TxnState, change: Change) -> tuple[list[bytes], int]:
        """The 5.1's fields after ktudb for a heap table's change, and the undo size."""
        table = change.table
        wide = self.platform.wide_vectors
        undo_fields = [
            ktub(self.p, table.obj, table.data_object, tx.txn, 0, begin=change.first_of_txn,
                 wide=wide),
            ktb_z(self.p),
            *self.row_op(change, Side.UNDO),
            *self._supplemental(change),
        ]
        return undo_fields, undo_record_size(undo_fields)

    def begin(self, tx: TxnState, change: Change, scn: int) -> VectorSpec:
        """5.2 for the transaction whose first change is ``change``."""
        _, size = self._undo_fields(tx, change)
        return begin_vector(
            self.p, tx.txn, change.uba, size, scn, self.con_id, self.con_uid, self.platform
        )

    def lob_records(
        self, tx: TxnState, change: Change, tick: Callable[[], int]
    ) -> list[tuple[int, list[VectorSpec]]]:
        """The LOB redo that goes before ``change``'s row record, one record each (the
        19c log's order: see :mod:`drcapture.synth.writer_lob`); the transaction's 5.2
        first when this is its first change. Empty when the change writes no LOB."""
        if not change.lob_writes:
            return []
        table, txn, p, con = change.table, tx.txn, self.p, self.con_id
        names = table.column_names()
        records: list[tuple[int, list[VectorSpec]]] = []
        if change.first_of_txn:
            scn = tick()
            records.append((scn, [self.begin(tx, change, scn - 1)]))
        columns = [names.index(n) + 1 for n, _ in change.lob_writes]
        records.append((tick(), [llb_columns(p, txn, table.obj, columns, con)]))
        for (name, lob), column in zip(change.lob_writes, columns, strict=True):
            size = len(lob.data)
            if not lob.in_row:
                records.append((tick(), [llb_write_begin(p, txn, table.obj, column, lob, 0, con)]))
                records.append((tick(), [llb_write_end(p, txn, table.obj, column, 0, con)]))
            records.append((tick(), [llb_write_begin(p, txn, table.obj, column, lob, size, con)]))
            segment = lob_segment(table, names.index(name))
            for dba, data in lob.pages():
                scn = tick()
                records.append((scn, [page_vector(p, txn, lob, dba, data, obj=table.obj,
                                                  column=column, segment=segment, scn=scn,
                                                  con_id=con)]))
            records.append((tick(), [llb_write_end(p, txn, table.obj, column, size, con)]))
        return records

    def change_vectors(
        self, tx: TxnState, change: Change, scn: int, *, begin: bool = True
    ) -> list[VectorSpec]:
        """[5.2,] 5.1 and 11.x (an IOT's: 10.x) for one change (``begin``: the 5.2 of a
        first change goes here, unless :meth:`lob_records` wrote it)."""
        table = change.table
        if table.iot:
            vectors, size = self.iot.vectors(tx, change, scn)
            if change.first_of_txn and begin:
                vectors.insert(0, begin_vector(self.p, tx.txn, change.uba, size, scn - 1,
                                               self.con_id, self.con_uid, self.platform))
            return vectors
        undo_fields, size = self._undo_fields(tx, change)
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
            [ktb_f(self.p, tx.txn, change.uba), *self.row_op(change, Side.REDO)],
            change.at,
            table.data_object,
            scn - 1,
            self.con_id,
        )
        vectors = [undo, redo]
        if change.first_of_txn and begin:
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

    def _undo(
        self, tx: TxnState, change: Change, uba: Uba, fields: list[bytes], *, begin: bool, scn: int
    ) -> tuple[VectorSpec, int]:
        """A 5.1 undo record with ``fields`` after its KTB, and the record's size."""
        table = change.table
        body = [
            ktub(self.p, table.obj, table.data_object, tx.txn, 0, begin=begin,
                 wide=self.platform.wide_vectors),
            ktb_z(self.p),
            *fields,
        ]
        size = undo_record_size(body)
        head = ktudb(self.p, tx.txn, uba, size)
        return undo_vector(tx.txn, uba, [head, *body], scn - 1, self.con_id), size

    def migration_vectors(
        self, tx: TxnState, change: Change, scns: tuple[int, int]
    ) -> tuple[list[VectorSpec], list[VectorSpec]]:
        """A compressed table's update, two records: the row's new piece in another
        block, then the old row's overwrite by a stub pointing at it."""
        assert change.piece is not None
        table, head, piece = change.table, change.at, change.piece
        new_row, old_row = change.after[0], change.before[0]
        new = self._all_columns(change, new_row)
        undo, size = self._undo(
            tx,
            change,
            change.uba,
            [
                *drp_compressed(self.p, piece),
                *supplemental(self.p, SuppType.UPDATE, 0, 0, new, fb=SUPP_FB_FIRST, row=head),
            ],
            begin=change.first_of_txn,
            scn=scns[0],
        )
        image = self._entries(change, new_row)
        fields = irp_compressed(self.p, piece, image, fb=MIGRATED_FB, head=head)
        redo = row_vector(
            RowCode.IRP,
            [ktb_f(self.p, tx.txn, change.uba), *fields],
            piece,
            table.data_object,
            scns[0] - 1,
            self.con_id,
        )
        first = [undo, redo]
        if change.first_of_txn:
            begin = begin_vector(
                self.p, tx.txn, change.uba, size, scns[0] - 1, self.con_id, self.con_uid,
                self.platform,
            )
            first.insert(0, begin)
        uba = tx.next_uba()
        old = self._all_columns(change, old_row)
        image = self._entries(change, old_row, shared=True)
        undo, _ = self._undo(
            tx,
            change,
            uba,
            [
                *irp_compressed(self.p, head, image, code=RowCode.ORP, undo=True),
                *supplemental(self.p, SuppType.UPDATE, 1, 0, old, fb=SUPP_FB_LAST, row=head),
            ],
            begin=False,
            scn=scns[1],
        )
        redo = row_vector(
            RowCode.ORP,
            [ktb_f(self.p, tx.txn, uba), *orp_stub(self.p, head, piece)],
            head,
            table.data_object,
            scns[1] - 1,
            self.con_id,
        )
        return first, [undo, redo]

    def rollback_vectors(self, tx: TxnState, change: Change, scn: int) -> list[VectorSpec]:
        """The undo of ``change`` applied: its undo row op as redo, then 5.6 / 5.11."""
        table = change.table
        if table.iot:
            raise WorkloadError(
                f"rolling back a change of index-organized table {table.name}: no real "
                "record shows the leaf undo Oracle applies, so the writer does not invent it")
        fields = [
            ktb_z(self.p),
            *self.row_op(change, Side.ROLLBACK),
            *self._supplemental(change),
        ]
        applied = row_vector(
            _UNDO_CODE[change.kind], fields, change.at, table.data_object, scn - 1, self.con_id
        )
        first = change.first_of_txn
        code = ROLLBACK_DBA_CODE if first else USER_UNDO_DONE_CODE
        mark = partial_rollback_vector(
            self.p, tx.txn, change.uba, code, table.obj, table.data_object, scn, self.con_id,
            first=first
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
    """Columns an update logs besides the changed ones, by the table's log group. LOB
    columns are never among them ("LOB, LONG, and ADT columns cannot be supplementally
    logged": Oracle Database Utilities 12.1, "Table-Level User-Defined Supplemental Log
    Groups")."""
    table = change.table
    level = table.supplemental
    if level is Supplemental.MINIMAL:
        return []
    wanted: Sequence[str] = table.pk if level is Supplemental.PRIMARY_KEY else table.column_names()
    return [n for c in table.columns if (n := c.name) in wanted and n not in change.changed
            and c.type_code not in LOB_TYPES]


def lob_segment(table: Table, index: int) -> int:
    """The object number the writer gives the LOB segment of column ``index``."""
    return LOB_SEGMENT_BASE + table.obj * 64 + index


def row_at(change: Change, slot: int) -> RowAt:
    """The address of one row of a multi-row change."""
    return RowAt(bdba=change.at.bdba, slot=slot, hdba=change.at.hdba)
