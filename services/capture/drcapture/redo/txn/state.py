"""JSON form of buffered pieces, for capture checkpoints (open transactions survive a
restart). Bytes travel as lower-case hex, a value the redo does not carry as
``{"not_in_redo": reason}``, a part of a column split across row pieces as
``{"part": hex, "continues", "goes_on", "at", "next"}``; the format carries a version."""

from __future__ import annotations

from typing import Any

from drcommon.errors import UnsupportedFormat

from drcapture.redo.ops.common import Fragment, NotInRedo, Raw
from drcapture.redo.txn.pieces import LobRef, Piece, PieceKind, Values

STATE_VERSION = 2
READABLE_VERSIONS = (1, 2)  # 1: before the compressed-image markers (read as absent)


def _raw_out(raw: Raw) -> str | dict[str, Any] | None:
    if isinstance(raw, NotInRedo):
        return {"not_in_redo": raw.reason}
    if isinstance(raw, Fragment):
        return {"part": raw.data.hex(), "continues": raw.continues, "goes_on": raw.goes_on,
                "at": list(raw.at), "next": list(raw.next_piece) if raw.next_piece else None}
    return None if raw is None else raw.hex()


def _raw_in(item: Any) -> Raw:
    if isinstance(item, dict):
        if "part" in item:
            nxt = item["next"]
            return Fragment(bytes.fromhex(item["part"]), bool(item["continues"]),
                            bool(item["goes_on"]), (int(item["at"][0]), int(item["at"][1])),
                            (int(nxt[0]), int(nxt[1])) if nxt else None)
        return NotInRedo(str(item["not_in_redo"]))
    return None if item is None else bytes.fromhex(item)


def _values_out(values: Values) -> list[list[Any]]:
    return [[col, _raw_out(raw)] for col, raw in values]


def _values_in(items: list[list[Any]]) -> Values:
    return tuple((int(col), _raw_in(raw)) for col, raw in items)


def _lob_out(lob: LobRef | None) -> dict[str, Any] | None:
    if lob is None:
        return None
    return {"lid": lob.lid.hex(), "column": lob.column, "op": lob.op, "length": lob.length}


def _lob_in(item: dict[str, Any] | None) -> LobRef | None:
    if item is None:
        return None
    return LobRef(bytes.fromhex(item["lid"]), int(item["column"]), int(item["op"]),
                  None if item["length"] is None else int(item["length"]))


def piece_to_json(piece: Piece) -> dict[str, Any]:
    """A piece as JSON-native values."""
    return {
        "kind": piece.kind.value, "rba": piece.rba, "scn": piece.scn, "sub_scn": piece.sub_scn,
        "con_id": piece.con_id, "obj": piece.obj, "data_obj": piece.data_obj,
        "redo_code": piece.redo_code, "undo_code": piece.undo_code, "bdba": piece.bdba,
        "slot": piece.slot, "fb": piece.fb, "supp_type": piece.supp_type,
        "supp_fb": piece.supp_fb, "row": list(piece.row) if piece.row else None,
        "before": _values_out(piece.before), "after": _values_out(piece.after),
        "supp": _values_out(piece.supp), "rows": [_values_out(r) for r in piece.rows],
        "slots": list(piece.slots), "ddl": piece.ddl, "ddl_command": piece.ddl_command,
        "compressed": piece.compressed,
        "before_rest": _raw_out(piece.before_rest), "after_rest": _raw_out(piece.after_rest),
        "lob": _lob_out(piece.lob),
    }


def _rest_in(item: Any) -> NotInRedo | None:
    raw = _raw_in(item)
    if raw is not None and not isinstance(raw, NotInRedo):
        raise UnsupportedFormat("open-transaction state: a not-logged marker holds bytes")
    return raw


def piece_from_json(data: dict[str, Any]) -> Piece:
    """The inverse of :func:`piece_to_json`."""
    row = data["row"]
    return Piece(
        kind=PieceKind(data["kind"]), rba=data["rba"], scn=data["scn"], sub_scn=data["sub_scn"],
        con_id=data["con_id"], obj=data["obj"], data_obj=data["data_obj"],
        redo_code=data["redo_code"], undo_code=data["undo_code"], bdba=data["bdba"],
        slot=data["slot"], fb=data["fb"], supp_type=data["supp_type"], supp_fb=data["supp_fb"],
        row=(int(row[0]), int(row[1])) if row else None, before=_values_in(data["before"]),
        after=_values_in(data["after"]), supp=_values_in(data["supp"]),
        rows=tuple(_values_in(r) for r in data["rows"]), slots=tuple(data["slots"]),
        ddl=data["ddl"], ddl_command=data.get("ddl_command"), compressed=data["compressed"],
        lob=_lob_in(data.get("lob")),
        before_rest=_rest_in(data.get("before_rest")), after_rest=_rest_in(data.get("after_rest")),
    )


def check_state_version(data: dict[str, Any]) -> None:
    """Refuse a state written by a format this build does not read."""
    if data.get("version") not in READABLE_VERSIONS:
        raise UnsupportedFormat("open-transaction state version not supported",
                                found=data.get("version"), expected=READABLE_VERSIONS)
