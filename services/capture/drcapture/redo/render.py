"""Operator renderers for ``drcapture inspect | dump | decode`` (pure: data in, lines or
JSON-able dicts out; the CLI wires them to files and stdout)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from drcommon.sqlcommand import command_name

from drcapture.redo.binary import format_scn
from drcapture.redo.blocks import RedoFile
from drcapture.redo.ops.ddl import Ddl
from drcapture.redo.ops.direct import DirectLoad
from drcapture.redo.ops.dispatch import ParsedRecord, ParsedVector, SkippedOp, UnknownOp
from drcapture.redo.ops.kdli import LobBlockChange, LobPage
from drcapture.redo.ops.kdo import RowOp, fb_text
from drcapture.redo.ops.lob import LobOp
from drcapture.redo.ops.undo import PartialRollback, TxBegin, TxEnd, UndoRecord
from drcapture.redo.txn.assembler import CommittedTransaction


def inspect_file(redo: RedoFile) -> dict[str, Any]:
    """File and redo header facts as a JSON-able dict."""
    h = redo.header
    return {
        "file": redo.name, "block_size": redo.block_size,
        "blocks": redo.file_header.block_count,
        "endian": "big" if redo.endian.big else "little",
        "version": h.version, "compat_vsn": f"0x{h.compat_vsn:08x}", "db_id": h.db_id,
        "db_name": h.db_name, "activation_id": h.activation_id, "thread": h.thread,
        "sequence": h.sequence, "resetlogs_id": h.resetlogs_id,
        "resetlogs_scn": h.resetlogs_scn, "first_scn": h.first_scn,
        "first_time": h.first_time.isoformat() if h.first_time else None,
        "next_scn": None if h.open_ended else h.next_scn,
        "next_time": h.next_time.isoformat() if h.next_time and not h.open_ended else None,
        "nab": h.nab, "description": h.description,
    }


def inspect_lines(redo: RedoFile) -> list[str]:
    """The header summary as text lines."""
    return [f"{key:14} {value}" for key, value in inspect_file(redo).items()]


def _row_op_line(op: RowOp) -> str:
    cols = " ".join(f"{c.index}:{'NULL' if c.value is None else c.value.hex()}"
                    for c in op.columns)
    extra = f" rows={len(op.rows)}" if op.rows else ""
    return (f"  KDO op 11.{op.code} bdba=0x{op.bdba:08x} slot={op.slot} fb={fb_text(op.fb)} "
            f"cc={op.cc}{extra} {cols}").rstrip()


def _undo_lines(op: UndoRecord) -> Iterator[str]:
    yield (f"  ktudb xid={op.xid} objn={op.ktub.obj} objd={op.ktub.data_obj} "
           f"opc={op.ktub.opc[0]}.{op.ktub.opc[1]} flg=0x{op.ktub.flags:04x}")
    if op.row_op is not None:
        yield "  undo:" + _row_op_line(op.row_op)[1:]
    if op.supplemental is not None:
        s = op.supplemental
        yield (f"  supplemental op={s.op_type} fb={fb_text(s.fb)} undo_start={s.start_undo} "
               f"redo_start={s.start_redo} cc={s.column_count} columns={[c for c, _ in s.columns]}")


def _llb_line(op: LobOp) -> str:
    line = f"  lob type={op.kind} xid={op.xid} obj={op.obj} columns={list(op.columns)}"
    if op.lid is not None:
        line += f" {op.op_name} lid={op.lid.hex().upper()}"
    if op.length is not None:
        line += f" length={op.length}"
    return line


def _end_line(op: TxEnd) -> str:
    kind = "rollback" if op.rollback else "commit"
    return f"  {kind} xid={op.xid} ({op.xid.logminer}) scn={format_scn(op.scn)}"


_LINES: dict[type, Callable[[Any], Iterable[str]]] = {
    UndoRecord: _undo_lines,
    RowOp: lambda op: [_row_op_line(op)],
    TxBegin: lambda op: [f"  begin xid={op.xid} ({op.xid.logminer})"
                         + ("" if op.con_uid is None else f" con_uid={op.con_uid}")],
    TxEnd: lambda op: [_end_line(op)],
    PartialRollback: lambda op: [
        f"  partial rollback slot={op.xid} objn={op.ktub.obj} objd={op.ktub.data_obj}"],
    Ddl: lambda op: [f"  ddl xid={op.xid} command={op.command} kind={op.kind} obj={op.obj} "
                     f"sql={op.sql!r}"],
    LobOp: lambda op: [_llb_line(op)],
    LobPage: lambda op: [
        f"  lob page lid={op.lid_hex} dba=0x{op.dba:08x} xid={op.xid} obj={op.obj} "
        f"col={op.column} objd={op.data_obj} bytes={len(op.data)}"],
    LobBlockChange: lambda op: [
        f"  lob block change 26.{op.code} kdli op={op.kdli_op} dba=0x{op.dba:08x} "
        f"xid={op.xid} obj={op.obj} col={op.column} "
        f"lid={op.lid.hex().upper() if op.lid else None}"],
    DirectLoad: lambda op: [
        f"  direct load objd={op.data_obj} bdba=0x{op.bdba:08x} rows={len(op.rows)}"],
    SkippedOp: lambda op: [f"  skipped ({op.reason})"],
    UnknownOp: lambda op: ["  not decoded"],
}


def _op_lines(pv: ParsedVector) -> Iterable[str]:
    return _LINES[type(pv.op)](pv.op)


def dump_lines(records: Iterable[ParsedRecord], thread: int = 1) -> Iterator[str]:
    """Every record and change vector, like Oracle's logfile dump (own wording)."""
    for rec in records:
        h = rec.record.header
        ts = f" {h.timestamp.isoformat()}" if h.timestamp else ""
        con = f" CON_UID: {h.con_uid}" if h.con_uid is not None else ""
        yield (f"REDO RECORD - Thread:{thread} RBA: {rec.record.rba} LEN: 0x{h.length:04x} "
               f"VLD: 0x{h.vld:02x}{con}")
        yield f"SCN: {format_scn(h.scn)} SUBSCN: {h.sub_scn}{ts}"
        for pv in rec.ops:
            v = pv.vector
            vh = v.header
            con_id = f" CON_ID:{vh.con_id}" if vh.con_id is not None else ""
            lengths = [f.length for f in v.fields]
            yield (f"CHANGE #{v.index}{con_id} TYP:{vh.typ} CLS:{vh.cls} AFN:{vh.afn} "
                   f"DBA:0x{vh.dba:08x} OBJ:{vh.data_obj} SCN:{format_scn(vh.scn)} SEQ:{vh.seq} "
                   f"OP:{vh.layer}.{vh.code} OFFSET:{v.offset} FIELDS:{lengths}")
            yield from _op_lines(pv)
        yield ""


def decode_dicts(transactions: Iterable[CommittedTransaction]) -> Iterator[dict[str, Any]]:
    """Committed changes as JSON-able dicts (one per row change)."""
    for txn in transactions:
        for change in txn.changes:
            yield {
                "xid": str(txn.xid), "xid_hex": txn.xid.logminer,
                "commit_scn": txn.commit_scn,
                "commit_ts": txn.commit_ts.isoformat() if txn.commit_ts else None,
                "owner": change.owner, "table": change.table, "op": change.op.value,
                "before": change.model_dump(mode="json")["before"],
                "after": change.model_dump(mode="json")["after"],
                "ddl": change.ddl, "ddl_command": command_name(change.ddl_command),
                "rba": change.position.rba if change.position else None,
                "row_id": change.row_id,
            }
