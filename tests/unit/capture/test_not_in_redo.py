"""A column the redo does not carry travels as NotLogged, through every store and state."""

from __future__ import annotations

import json
from pathlib import Path

from drcapture.dictionary.model import ColumnDef, Dictionary, TableDef
from drcapture.redo.ops.common import NotInRedo
from drcapture.redo.txn.assembler import AssemblerOptions, TransactionAssembler
from drcapture.redo.txn.pieces import Piece, PieceKind
from drcapture.redo.txn.state import piece_from_json, piece_to_json
from drcapture.redo.xid import Xid
from drcapture.spill import SpillingStore
from drcapture.values.decode import decode_column
from drcommon.model import NotLogged, Operation

XID = Xid(1, 2, 3)
REASON = "deleted LOB content is not in the redo"


def _delete() -> Piece:
    return Piece(kind=PieceKind.ROW, rba="0x000001.00000002.0010", scn=10, sub_scn=1,
                 con_id=None, obj=5, data_obj=5, redo_code=3, undo_code=2, bdba=0x100, slot=1,
                 fb=0, supp_type=0, supp_fb=0, row=None,
                 before=((1, b"\xc1\x02"), (2, NotInRedo(REASON))), after=(), supp=())


def _table() -> TableDef:
    return TableDef(obj=5, owner="HIS", name="DOCS", columns=(
        ColumnDef(1, 1, "ID", 2), ColumnDef(2, 2, "BODY", 113)))


def test_a_value_not_in_the_redo_becomes_not_logged(tmp_path: Path) -> None:
    for store in (None, SpillingStore(tmp_path, 0)):
        asm = TransactionAssembler(Dictionary(tables={5: _table()}),
                                   AssemblerOptions(thread=1, decoder=decode_column), store=store)
        asm._add(XID, _delete())
        committed = asm.commit(XID, scn=11, rba="0x000001.00000003.0010")
        assert committed is not None
        (change,) = committed.changes
        assert change.op is Operation.DELETE
        assert change.before == {"ID": "1", "BODY": NotLogged(oracle_type="BLOB", reason=REASON)}


def test_the_marker_survives_the_open_transaction_state() -> None:
    piece = _delete()
    assert piece_from_json(json.loads(json.dumps(piece_to_json(piece)))) == piece
