"""The per-thread transaction assembler: decoded records in, committed transactions out.

Pieces are buffered per XID in a :class:`ChangeStore`; a commit assembles them into row
changes (names and values decoded only then, and only for objects that pass the filter);
a rollback drops them; a partial rollback removes exactly the pieces it undid. The open
transactions can be exported and imported for capture checkpoints.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from drcommon.errors import ConfigError
from drcommon.model import Operation, RowChange, TransactionInfo

from drcapture.dictionary.model import Dictionary, TableDef
from drcapture.errors import UndecodableChange
from drcapture.redo.ops.dispatch import ParsedRecord
from drcapture.redo.ops.undo import TxBegin, TxEnd
from drcapture.redo.records import Rba
from drcapture.redo.txn.changes import (
    UNKNOWN_OWNER,
    ColumnCache,
    Context,
    ValueDecoder,
    default_decoder,
    to_row_change,
    unknown_table_name,
)
from drcapture.redo.txn.lobs import LobAssembly, lob_ids, unattributed
from drcapture.redo.txn.pieces import (
    LOB_KINDS,
    LobRef,
    Piece,
    PieceKind,
    RollbackMark,
    pieces_of,
    undecoded_mark,
)
from drcapture.redo.txn.rows import assemble
from drcapture.redo.txn.state import (
    STATE_VERSION,
    check_state_version,
    piece_from_json,
    piece_to_json,
)
from drcapture.redo.txn.store import ChangeStore, MemoryStore
from drcapture.redo.txn.triage import quick_effects
from drcapture.redo.xid import Xid

log = logging.getLogger(__name__)

TableFilter = Callable[[str, str], bool]


@dataclass(frozen=True, slots=True)
class AssemblerOptions:
    """How one thread's assembler names, filters and decodes."""

    thread: int
    db_id: int = 0
    db_name: str = ""
    include_unknown: bool = False  # report objects missing from the dictionary as OBJ# n
    wanted: TableFilter | None = None  # (owner, table) -> keep?; applied before decoding
    decoder: ValueDecoder | None = None  # default: drcapture.values.decode.decode_column
    # Pass records of uncaptured objects over from their opcodes and object numbers
    # (drcapture.redo.txn.triage); False decodes every record in full, the reference.
    triage: bool = True
    # A committed change of a captured table that cannot be decoded: "stop" raises
    # UndecodableChange at its commit; "publish_marked" publishes it marked undecoded.
    on_undecodable: str = "stop"


@dataclass(slots=True)
class OpenTransaction:
    """A transaction seen but not yet committed or rolled back."""

    xid: Xid
    start_scn: int
    start_rba: str


@dataclass(frozen=True, slots=True)
class CommittedTransaction:
    """A committed transaction with its row changes in redo order."""

    xid: Xid
    thread: int
    commit_scn: int
    commit_ts: datetime | None
    commit_rba: str
    start_scn: int
    start_rba: str
    changes: tuple[RowChange, ...]

    def info(self) -> TransactionInfo:
        """The event model's transaction header (``commit_ts`` must be known)."""
        if self.commit_ts is None:
            raise ValueError(f"transaction {self.xid} has no commit time")
        return TransactionInfo(
            xid=str(self.xid), commit_scn=self.commit_scn, commit_ts=self.commit_ts,
            thread=self.thread, commit_rba=self.commit_rba, start_scn=self.start_scn,
            changes_total=len(self.changes),
            schemas=tuple(sorted({c.owner for c in self.changes})),
        )


class TransactionAssembler:
    """Feeds on one RAC thread's records in redo order."""

    def __init__(self, dictionary: Dictionary, options: AssemblerOptions,
                 store: ChangeStore | None = None) -> None:
        self.dictionary = dictionary
        self.options = options
        self.store: ChangeStore = store if store is not None else MemoryStore()
        self.counters: Counter[str] = Counter()
        self._open: dict[Xid, OpenTransaction] = {}
        self._last_ts: datetime | None = None
        self._decoder = options.decoder
        self._ctx = Context(db_id=options.db_id, db_name=options.db_name,
                            thread=options.thread, charsets=dictionary.charsets)
        self._columns = ColumnCache(dictionary.charsets)
        self._reasons: dict[int, tuple[TableDef | None, str | None]] = {}
        self._refuse_unresolved_iots()

    def _refuse_unresolved_iots(self) -> None:
        """A captured IOT whose index object the dictionary does not know would have its
        changes passed over as an unknown object's: refuse to start instead."""
        wanted = self.options.wanted
        for obj, table in self.dictionary.tables.items():
            if (table.obj == obj and table.iot is not None and table.iot.index_obj is None
                    and (wanted is None or wanted(table.owner, table.name))):
                raise ConfigError(
                    "captured index-organized table whose index object the dictionary "
                    "does not name (load the dictionary from the database or a snapshot)",
                    table=f"{table.owner}.{table.name}", obj=obj)

    # -- feeding -----------------------------------------------------------------------
    def feed(self, record: ParsedRecord) -> list[CommittedTransaction]:
        """Take one decoded record; return the transactions it commits (usually none)."""
        rec = record.record
        header = rec.header
        if header.timestamp is not None:
            self._last_ts = header.timestamp
        quick = quick_effects(rec, self._skip_reason) if self.options.triage else None
        if quick is None:
            return self._feed_decoded(record)
        counters = self.counters
        if quick.rollbacks:
            owners = [self._slot_owner(usn, slot) for usn, slot, _ in quick.rollbacks]
            if any(o is not None and self.store.count(o) for o in owners):
                return self._feed_decoded(record)  # it might undo one of the owner's pieces
            for owner, (_, _, reason) in zip(owners, quick.rollbacks, strict=True):
                counters[reason if owner is not None else "rollback_without_transaction"] += 1
        for reason in quick.dropped:
            counters[reason] += 1  # as _add counts the piece it drops
        return self._ends(quick.ends, record) if quick.ends else []

    def _slot_owner(self, usn: int, slot: int) -> Xid | None:
        """The open transaction holding undo segment ``usn``'s slot ``slot``."""
        return next((x for x in self._open if x.usn == usn and x.slot == slot), None)

    def _feed_decoded(self, record: ParsedRecord) -> list[CommittedTransaction]:
        lost = unattributed(pv.op for pv in record.ops)
        if lost:
            if not self.counters["lob_redo_unattributed"]:
                log.warning("LOB redo that names no table or transaction is left out",
                            extra={"rba": str(record.record.rba)})
            self.counters["lob_redo_unattributed"] += lost
        for item in pieces_of(record, self._captured_iot):
            if isinstance(item, RollbackMark):
                self._partial_rollback(item)
            else:
                self._add(item[0], item[1])
        return self._ends([parsed.op for parsed in record.ops], record)

    def _ends(self, ops: Iterable[object], record: ParsedRecord) -> list[CommittedTransaction]:
        done: list[CommittedTransaction] = []
        for op in ops:
            if isinstance(op, TxBegin) and op.xid.sqn:
                self._begin(op.xid, record)
            elif isinstance(op, TxEnd):
                committed = self._end(op, record)
                if committed is not None:
                    done.append(committed)
        return done

    def _begin(self, xid: Xid, record: ParsedRecord) -> OpenTransaction:
        txn = self._open.get(xid)
        if txn is None:
            txn = OpenTransaction(xid=xid, start_scn=record.record.header.scn,
                                  start_rba=str(record.record.rba))
            self._open[xid] = txn
        return txn

    def _skip_reason(self, obj: int) -> str | None:
        """Why changes of ``obj`` are not captured (the counter to bump), None if they are.

        Remembered per object while the dictionary hands out the same table for it (the
        filter is a pure predicate on the table's names)."""
        table = self.dictionary.table_for(obj)
        known = self._reasons.get(obj)
        if known is not None and known[0] is table:
            return known[1]
        if table is None:
            reason = None if self.options.include_unknown else "skipped_unknown_object"
        else:
            wanted = self.options.wanted
            keep = wanted is None or wanted(table.owner, table.name)
            reason = None if keep else "skipped_filtered"
        self._reasons[obj] = (table, reason)
        return reason

    def _captured_iot(self, obj: int) -> bool:
        """Whether ``obj`` is a segment (index, overflow) of a captured IOT."""
        table = self.dictionary.table_for(obj)
        return table is not None and table.iot is not None and self._skip_reason(obj) is None

    def _table(self, obj: int) -> tuple[bool, TableDef | None]:
        """(keep?, table) for an object number, counting what is skipped."""
        reason = self._skip_reason(obj)
        if reason is not None:
            self.counters[reason] += 1
            return False, self.dictionary.table_for(obj)
        return True, self.dictionary.table_for(obj)

    def _add(self, xid: Xid, piece: Piece) -> None:
        keep, table = self._table(piece.obj)
        if piece.kind in LOB_KINDS and (not keep or table is None):
            self.counters["lob_pieces_skipped"] += 1  # without a table, no LOB columns
            return
        if not keep:
            return
        if table is None and piece.kind is PieceKind.UNDECODED:
            # Not in the dictionary (kept only by include_unknown): nobody can have asked
            # for it, and an index's maintenance looks just like this. Counted, not kept.
            self.counters["undecoded_unknown_object"] += 1
            return
        if table is not None and table.iot is not None:
            piece = self._iot_piece(table, piece)
        txn = self._open.get(xid)
        if txn is None:
            txn = OpenTransaction(xid=xid, start_scn=piece.scn, start_rba=piece.rba)
            self._open[xid] = txn
        self.store.append(xid, piece)
        self.counters["pieces"] += 1

    @staticmethod
    def _iot_piece(table: TableDef, piece: Piece) -> Piece:
        """An IOT's pieces name its index or overflow segment: they become the table's
        (so they group, and the change names the table); key compression is refused."""
        assert table.iot is not None
        if piece.kind is PieceKind.IOT and table.iot.key_compressed:
            raise UndecodableChange("leaf rows of a key-compressed IOT are not decoded",
                                    table=f"{table.owner}.{table.name}", rba=piece.rba,
                                    obj=piece.obj, opcode=f"10.{piece.redo_code}")
        return piece if piece.obj == table.obj else replace(piece, obj=table.obj)

    def _partial_rollback(self, mark: RollbackMark) -> None:
        owner = self._slot_owner(mark.xid.usn, mark.xid.slot)
        if owner is None:
            self.counters["rollback_without_transaction"] += 1
            return

        def undone(piece: Piece) -> bool:
            # The rollback applies exactly the undo recorded for the change it cancels.
            if piece.kind is PieceKind.DDL or piece.kind in LOB_KINDS:
                return False
            if piece.data_obj != mark.data_obj:
                return False
            if piece.undo_code != mark.code or (piece.kind is PieceKind.IOT) != mark.iot:
                return False
            if mark.iot:  # leaf rows change slots as keys come and go: the block decides
                return piece.bdba == mark.bdba
            if mark.slots and piece.slots:
                return piece.bdba == mark.bdba and set(mark.slots) <= set(piece.slots)
            return (piece.bdba, piece.slot) == (mark.bdba, mark.slot)

        removed = self.store.remove_last(owner, undone)
        if removed is not None:
            self.counters["pieces_rolled_back"] += 1
            self._void_lobs(owner, removed)
        elif mark.iot:  # what the transaction's IOT rows are now is not known
            self.store.append(owner, undecoded_mark(
                mark, "a partial rollback on an IOT matched no buffered change "
                f"(applied 10.{mark.code} on block 0x{mark.bdba:08x})"))
        elif self._table(mark.obj)[0]:
            self.counters["rollback_unmatched"] += 1
            log.warning("partial rollback matched no buffered change", extra={
                "xid": str(owner), "rba": mark.rba, "obj": mark.obj})

    def _void_lobs(self, owner: Xid, removed: Piece) -> None:
        """The LOBs the undone change wrote are no row's now: their redo is not an
        in-place change (:meth:`LobAssembly.finish` must not refuse it)."""
        for lid in lob_ids(removed.after, self.dictionary.table_for(removed.obj)):
            self.store.append(owner, Piece(
                kind=PieceKind.LOB_VOID, rba=removed.rba, scn=removed.scn,
                sub_scn=removed.sub_scn, con_id=removed.con_id, obj=removed.obj,
                data_obj=removed.data_obj, redo_code=0, undo_code=0, bdba=0, slot=0, fb=0,
                supp_type=0, supp_fb=0, row=None, before=(), after=(), supp=(),
                lob=LobRef(lid, 0)))

    def _end(self, op: TxEnd, record: ParsedRecord) -> CommittedTransaction | None:
        if op.rollback:
            self.rollback(op.xid)
            return None
        if not self.store.count(op.xid):
            self._empty_commit(op.xid)  # what commit() does then; no time or RBA needed
            return None
        ts = self._last_ts
        if op.unix_time:
            ts = datetime.fromtimestamp(op.unix_time, UTC)
        return self.commit(op.xid, scn=op.scn, rba=str(record.record.rba), ts=ts)

    def _empty_commit(self, xid: Xid) -> None:
        self._open.pop(xid, None)
        self.store.drop(xid)
        self.counters["empty_commits"] += 1

    def rollback(self, xid: Xid) -> None:
        """Discard a transaction (5.4 with the rollback flag)."""
        self._open.pop(xid, None)
        self.store.drop(xid)
        self.counters["rolled_back"] += 1

    def commit(self, xid: Xid, *, scn: int, rba: str,
               ts: datetime | None = None) -> CommittedTransaction | None:
        """Commit ``xid`` at ``scn``/``rba``: its row changes, or None when it has none."""
        txn = self._open.pop(xid, None)
        if txn is None or self.store.count(xid) == 0:
            self.store.drop(xid)
            self.counters["empty_commits"] += 1
            return None
        changes = tuple(self._decode(self.store.pieces(xid), xid, rba))
        self._check_undecoded(xid, scn, rba, changes)
        self.store.drop(xid)
        if not changes:
            self.counters["empty_commits"] += 1
            return None
        self.counters["committed"] += 1
        return CommittedTransaction(
            xid=xid, thread=self.options.thread, commit_scn=scn, commit_ts=ts, commit_rba=rba,
            start_scn=txn.start_scn, start_rba=txn.start_rba, changes=changes)

    def _check_undecoded(self, xid: Xid, scn: int, rba: str,
                         changes: tuple[RowChange, ...]) -> None:
        """Apply ``on_undecodable`` to the transaction's changes that could not be decoded:
        count them, and stop (the default) at the first one."""
        for change in changes:
            if change.undecoded is None:
                continue
            self.counters["undecoded_changes"] += 1
            if self.options.on_undecodable != "publish_marked":
                where = change.position
                raise UndecodableChange(
                    f"cannot decode a change of a captured table: {change.undecoded}",
                    table=f"{change.owner}.{change.table}", xid=str(xid),
                    scn=where.scn if where else None, rba=where.rba if where else None,
                    commit_scn=scn, commit_rba=rba, thread=self.options.thread,
                    hint="set source.on_undecodable = \"publish_marked\" to publish it marked "
                         "(apply refuses it), or exclude the table",
                )
            log.error("published a change capture could not decode", extra={
                "xid": str(xid), "table": f"{change.owner}.{change.table}",
                "rba": change.position.rba if change.position else None,
                "reason": change.undecoded})

    def _decode(self, pieces: Iterable[Piece], xid: Xid, rba: str) -> list[RowChange]:
        if self._decoder is None:
            self._decoder = default_decoder()
        out: list[RowChange] = []
        lobs = LobAssembly(xid, self.dictionary.charsets)
        marked = self.options.on_undecodable == "publish_marked"
        for row in assemble(lobs.take(pieces)):
            if row.compressed:
                self.counters["compressed_rows"] += 1
            table = self.dictionary.table_for(row.obj)
            try:
                change = to_row_change(row, table, self._ctx, self._decoder, self._columns,
                                       lobs)
            except UndecodableChange as exc:  # a LOB or an IOT image that does not decode
                if not marked:
                    raise
                change = to_row_change(replace(row, before=None, after=None,
                                               undecoded=str(exc)), table, self._ctx,
                                       self._decoder, self._columns, lobs)
            out.append(change)
        try:
            lobs.finish(rba)
        except UndecodableChange as exc:  # LOB redo no row change carries (in place)
            if not marked:
                raise
            lob_change = self._marked_lob_change(exc)
            if not any(c.undecoded and c.obj == lob_change.obj for c in out):
                out.append(lob_change)  # (a row whose LOB failed leaves its pages behind)
        return out

    def _marked_lob_change(self, exc: UndecodableChange) -> RowChange:
        """A change standing for LOB redo of a captured table that no row change carries."""
        obj = exc.where.get("obj")
        table = self.dictionary.table_for(obj) if isinstance(obj, int) else None
        return RowChange(
            op=Operation.UNKNOWN, owner=table.owner if table else UNKNOWN_OWNER,
            table=table.name if table else unknown_table_name(obj if isinstance(obj, int) else 0),
            obj=obj if isinstance(obj, int) else None, undecoded=str(exc))

    # -- restart state -------------------------------------------------------------------
    def open_transactions(self) -> list[OpenTransaction]:
        """Transactions still open, oldest first (their start is the restart point)."""
        return sorted(self._open.values(), key=lambda t: (t.start_scn, Rba.parse(t.start_rba)))

    def export_state(self) -> dict[str, Any]:
        """Open transactions with their buffered pieces, as JSON-native data."""
        return {
            "version": STATE_VERSION,
            "thread": self.options.thread,
            "transactions": [
                {"xid": str(t.xid), "start_scn": t.start_scn, "start_rba": t.start_rba,
                 "pieces": [piece_to_json(p) for p in self.store.pieces(t.xid)]}
                for t in self.open_transactions()
            ],
        }

    def import_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`export_state` produced (replaces current open state)."""
        check_state_version(state)
        for xid in list(self._open):
            self.store.drop(xid)
        self._open.clear()
        for item in state["transactions"]:
            xid = Xid.parse(item["xid"])
            self._open[xid] = OpenTransaction(xid=xid, start_scn=item["start_scn"],
                                              start_rba=item["start_rba"])
            for data in item["pieces"]:
                self.store.append(xid, piece_from_json(data))
