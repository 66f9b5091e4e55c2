"""LOB values at commit: a transaction's LOB pages meet the row changes that refer to them.

While a transaction is open its LOB redo waits in the :class:`ChangeStore` like any
piece (``LOB_*`` kinds, spilled with the rest). At commit the pieces come back in redo
order; :meth:`LobAssembly.take` keeps the LOB pieces aside and passes the row pieces on.
A LOB's pages come *before* the row change that holds its locator, so when a row is
decoded its pages are there: :meth:`LobAssembly.value` reads the locator, and for an
out-of-row LOB concatenates the pages of its extents, block after block, in the
locator's order, trimmed to the locator's length. A page is known by (LID, DBA) only;
a page written again later in the transaction replaces it for the rows after that.

What a LOB column publishes (see docs/CAPTURE.md, "LOBs"):

* after an insert or update: the value (in row: from the locator; out of row: from the
  pages, all of which must be in the transaction, else :class:`UndecodableChange`);
* an update's unchanged out-of-row LOB, logged only as supplemental data (the same
  locator before and after): left out of the after image; the redo does not carry it;
* a before image (update, delete): the value when it is in row, else ``NotLogged``.

:meth:`LobAssembly.finish` refuses a transaction in which a captured table's LOB was
written but no row change took the result (an in-place change: ``DBMS_LOB.WRITE`` and
friends, whose offsets are not in the redo), a LOB trimmed or erased, or a LOB block
changed in place (26.2); LOBs of row changes a partial rollback undid are exempt.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from drcommon.model import ColumnValue, NotLogged

from drcapture.dictionary.model import Charsets, ColumnDef, OracleType, TableDef
from drcapture.errors import UndecodableChange
from drcapture.redo.ops.kdli import LobBlockChange, LobPage
from drcapture.redo.ops.lob import LLB_OP_NAMES, LLB_OPS_WRITE
from drcapture.redo.txn.pieces import LOB_KINDS, Piece, PieceKind
from drcapture.redo.txn.rows import LogicalRow
from drcapture.redo.xid import Xid
from drcapture.values.lob import (
    NOT_IN_REDO,
    LobKind,
    Locator,
    LocatorError,
    lob_kind,
    parse_locator,
    storage_charset,
)
from drcapture.values.text import decode_text

LOB_COLUMN_TYPES: Final = frozenset({OracleType.CLOB, OracleType.BLOB})
Key = tuple[int, int]  # (SCN, sub-SCN): a piece's place in redo order


class Unchanged:
    """An after-image LOB the change did not touch (see the module doc)."""

    __slots__ = ()


UNCHANGED: Final = Unchanged()


@dataclass(slots=True)
class _Version:
    key: Key
    data: bytes
    rba: str


def unattributed(ops: Iterable[object]) -> int:
    """How many LOB ops of a record name no table or transaction (26.6 without its
    suplog field, 26.2 without one): capture cannot tell whose they are, so they are
    counted (``lob_redo_unattributed``) and left out."""
    count = 0
    for op in ops:
        if isinstance(op, LobPage):
            count += op.obj is None
        elif isinstance(op, LobBlockChange):
            count += op.obj is None or op.xid is None
    return count


def is_lob_column(column: ColumnDef) -> bool:
    """CLOB, NCLOB or BLOB (the types whose locator capture reads)."""
    return column.type_code in LOB_COLUMN_TYPES


def lob_ids(values: Sequence[tuple[int, object]], table: TableDef | None) -> list[bytes]:
    """The LIDs of the locators in a piece's values (for a partial rollback's voids)."""
    if table is None:
        return []
    lob_cols = {c.seg_col for c in table.columns if is_lob_column(c)}
    out = []
    for col, raw in values:
        if col in lob_cols and isinstance(raw, bytes):
            try:
                out.append(parse_locator(raw).lid)
            except LocatorError:
                continue
    return out


class LobAssembly:
    """One committed transaction's LOB pieces and the values they make (module doc)."""

    def __init__(self, xid: Xid, charsets: Charsets) -> None:
        self.xid = xid
        self.charsets = charsets
        self._pages: dict[bytes, dict[int, list[_Version]]] = {}
        self._writes: dict[bytes, list[Piece]] = {}
        self._changes: list[Piece] = []
        self._void: set[bytes] = set()
        self._taken: dict[bytes, Key] = {}  # LID -> the last row change that took it
        self._table: dict[bytes, int] = {}

    # -- collecting ----------------------------------------------------------------------
    def take(self, pieces: Iterable[Piece]) -> Iterator[Piece]:
        """``pieces`` without the LOB ones, which are kept here (lazily, in step)."""
        for piece in pieces:
            if piece.kind in LOB_KINDS:
                self._keep(piece)
            else:
                yield piece

    def _keep(self, piece: Piece) -> None:
        lob = piece.lob
        if lob is None:
            return
        lid = lob.lid
        if lid:
            self._table.setdefault(lid, piece.obj)
        if piece.kind is PieceKind.LOB_PAGE:
            data = piece.after[0][1] if piece.after else b""
            versions = self._pages.setdefault(lid, {}).setdefault(piece.bdba, [])
            page = data if isinstance(data, bytes) else b""
            versions.append(_Version((piece.scn, piece.sub_scn), page, piece.rba))
        elif piece.kind is PieceKind.LOB_WRITE:
            self._writes.setdefault(lid, []).append(piece)
        elif piece.kind is PieceKind.LOB_CHANGE:
            self._changes.append(piece)
        else:
            self._void.add(lid)

    # -- values --------------------------------------------------------------------------
    def value(self, raw: bytes, column: ColumnDef, *, row: LogicalRow, table: TableDef,
              after: bool, unchanged: bool) -> ColumnValue | Unchanged:
        """The published value of a LOB column's locator ``raw`` in one image of ``row``.

        A before image never refuses: what it cannot show is ``NotLogged`` with the reason."""
        where = _Where(self.xid, row, table, column)
        try:
            locator = parse_locator(raw)
            if locator.kind is not lob_kind(column.type_code, column.charset_form):
                raise LocatorError("LOB locator type does not match the column",
                                   lid=locator.lid_hex, locator=locator.kind.name)
            if not after:
                if locator.data is None or locator.unsupported:
                    return NotLogged(oracle_type=column.type_name,
                                     reason=locator.unsupported or NOT_IN_REDO)
                return self._decode(locator, locator.data)
        except LocatorError as exc:
            if not after:
                return NotLogged(oracle_type=column.type_name,
                                 reason=f"LOB locator not decoded: {exc}")
            raise where.refuse(f"LOB locator not decoded: {exc.message}",
                               **dict(exc.where)) from exc
        if locator.unsupported:
            raise where.refuse(locator.unsupported, lid=locator.lid_hex)
        data = locator.data
        key = (row.scn, row.sub_scn)
        if data is None:
            if unchanged:
                return UNCHANGED
            data = self._out_of_row(locator, key, where)
        self._taken[locator.lid] = max(key, self._taken.get(locator.lid, key))
        try:
            return self._decode(locator, data)
        except LocatorError as exc:
            raise where.refuse(exc.message, **dict(exc.where)) from exc

    def _out_of_row(self, locator: Locator, key: Key, where: _Where) -> bytes:
        length = locator.length or 0
        if length == 0:
            return b""
        pages = self._pages.get(locator.lid, {})
        parts: list[bytes] = []
        have = 0
        for extent in locator.extents:
            for dba in range(extent.dba, extent.dba + extent.blocks):
                if have >= length:
                    break
                version = _pick(pages.get(dba), key)
                if version is None:
                    raise where.refuse(
                        "LOB page missing: the locator names a block with no 26.6 in this "
                        "transaction (an in-place change, or redo not read)",
                        lid=locator.lid_hex, opcode="26.6", dba=f"0x{dba:08x}",
                        length=length, have=have)
                parts.append(version.data)
                have += len(version.data)
        if have < length:
            raise where.refuse("LOB pages hold fewer bytes than the locator's length",
                               lid=locator.lid_hex, opcode="26.6", length=length, have=have)
        for dba in list(pages):  # release what this row used
            pages[dba] = [v for v in pages[dba] if v.key > key]
            if not pages[dba]:
                del pages[dba]
        data = b"".join(parts)
        del parts
        return data[:length] if have > length else data

    def _decode(self, locator: Locator, data: bytes) -> ColumnValue:
        """BLOB: hex; CLOB/NCLOB: text (:class:`LocatorError` when its storage character
        set is in doubt)."""
        if locator.kind is LobKind.BLOB:
            return data.hex().upper()
        return decode_text(data, storage_charset(locator, self.charsets))

    # -- the end -------------------------------------------------------------------------
    def finish(self, rba: str) -> None:
        """Refuse the transaction if a captured LOB changed in a way no row change
        carries (module doc). ``rba`` is the commit's."""
        for piece in self._changes:
            lid = piece.lob.lid if piece.lob else b""
            if lid not in self._void or not lid:
                raise self._refuse("LOB block changed in place (26.2, or a 26.6 that is not "
                                   "a block image): its place in the LOB is not in the redo",
                                   piece, rba, opcode="26.x")
        for lid, writes in self._writes.items():
            if lid in self._void:
                continue
            for piece in writes:
                op = piece.lob.op if piece.lob else 0
                if op not in LLB_OPS_WRITE:
                    name = LLB_OP_NAMES.get(op, f"op 0x{op:02X}")
                    raise self._refuse(f"LOB {name} in place: the redo does not carry what "
                                       "it changed", piece, rba, opcode="11.17")
            last = self._taken.get(lid)
            late = [w for w in writes if last is None or (w.scn, w.sub_scn) > last]
            if late:
                raise self._refuse("LOB written without a row change that takes it (an "
                                   "in-place write: offsets are not in the redo)",
                                   late[0], rba, opcode="11.17")
        for lid, pages in self._pages.items():  # what is left: no row change took it
            if lid not in self._void and any(pages.values()):
                raise self._refuse("LOB pages no row change refers to (an in-place change: "
                                   "offsets are not in the redo)", None, rba, lid=lid,
                                   opcode="26.6")

    def _refuse(self, message: str, piece: Piece | None, rba: str, *, opcode: str,
                lid: bytes | None = None) -> UndecodableChange:
        lid = lid if lid is not None else (piece.lob.lid if piece and piece.lob else b"")
        return UndecodableChange(message, obj=piece.obj if piece else self._table.get(lid),
                                 xid=str(self.xid), lid=lid.hex().upper() or None,
                                 opcode=opcode, rba=piece.rba if piece else None,
                                 commit_rba=rba)


def _pick(versions: list[_Version] | None, key: Key) -> _Version | None:
    """The page as the row at ``key`` saw it: the latest written before the row, else
    (a page written between the pieces of one row change) the earliest after it."""
    if not versions:
        return None
    before = [v for v in versions if v.key < key]
    return before[-1] if before else versions[0]


@dataclass(frozen=True, slots=True)
class _Where:
    xid: Xid
    row: LogicalRow
    table: TableDef
    column: ColumnDef

    def refuse(self, message: str, **facts: object) -> UndecodableChange:
        return UndecodableChange(message, table=f"{self.table.owner}.{self.table.name}",
                                 obj=self.row.obj, column=self.column.name, xid=str(self.xid),
                                 rba=self.row.rba, scn=self.row.scn, **facts)
