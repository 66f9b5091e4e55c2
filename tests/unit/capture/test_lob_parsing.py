"""LOB parsing: 11.17 LLB on the real Op11_17 records (both byte orders), 26.6/26.2 on
vectors laid out as the real 19c log has them, and LOB locators: the two real ones of
the 19c log and the real SecureFile/BasicFile locators published with ojdbc-types."""

from __future__ import annotations

import struct

import pytest
from drcapture.dictionary.model import Charsets, Dictionary
from drcapture.redo.binary import endian_for
from drcapture.redo.layout import ByteOrder
from drcapture.redo.ops.dispatch import OpCounters, decode_record, decode_vector
from drcapture.redo.ops.kdli import LobBlockChange, LobPage, quick_lob_table
from drcapture.redo.ops.lob import LobOp, quick_llb
from drcapture.redo.records import RawRecord, Rba, RecordLayout, parse_record
from drcapture.redo.txn.assembler import AssemblerOptions, TransactionAssembler
from drcapture.redo.txn.triage import quick_effects
from drcapture.redo.vectors import parse_vectors, scan_vectors
from drcapture.redo.xid import Xid
from drcapture.synth.writer_records import (
    AIX_19C,
    LINUX_19C,
    Platform,
    RecordSpec,
    VectorSpec,
    encode_record,
    encode_vector,
)
from drcapture.values.lob import (
    Extent,
    LobKind,
    LocatorError,
    parse_locator,
    storage_charset,
)

from tests.unit.capture.test_redo_helpers import folder_records


def _llb(rec_index: int) -> LobOp:
    rec = folder_records("Op11_17_Test")[rec_index]
    ops = [pv.op for pv in rec.parsed().ops if isinstance(pv.op, LobOp)]
    assert len(ops) == 1
    return ops[0]


def test_llb_type1_little_endian_fields_exact() -> None:
    op = _llb(0)
    assert (op.kind, op.op, op.op_name) == (1, 0x02, "write")
    assert op.xid == Xid(0x54, 0x0C, 0x2886C9)
    assert op.lid == bytes.fromhex("0000000100002ee38f9a")
    assert op.columns == (36,)
    assert (op.page_size, op.length, op.obj) == (8132, 0, 193768)


def test_llb_type1_big_endian_fields_exact() -> None:
    op = _llb(1)
    assert folder_records("Op11_17_Test")[1].layout == "getAix19c"
    assert (op.kind, op.op, op.op_name) == (1, 0x02, "write")
    assert op.xid == Xid(0x106, 0x18, 0x9886F1)
    assert op.lid == bytes.fromhex("000000010000f5447085")
    assert op.columns == (7,)
    assert (op.page_size, op.length, op.obj) == (8132, 0, 0x2339E9)


def test_llb_type3_fields_exact() -> None:
    op = _llb(2)
    assert op.kind == 3 and op.op is None and op.lid is None
    assert op.xid == Xid(0x59, 0x03, 0x2A83EA)
    assert (op.obj, op.length, op.columns) == (0x2EB87, 1704, (69,))


@pytest.mark.parametrize(("index", "kind", "obj"), [(0, 1, 193768), (1, 1, 0x2339E9),
                                                    (2, 3, None)])
def test_quick_llb_reads_what_the_parser_reads(index: int, kind: int, obj: int | None) -> None:
    rec = folder_records("Op11_17_Test")[index].parsed().record
    slot = next(s for s in rec.slots if (s.layer, s.code) == (11, 17))
    assert quick_llb(rec.data, slot, rec.endian) == (kind, obj)


# --- 26.6 as the 19c log lays it out (shared/notes/lob-redo-facts.md §3) ------------------

LID = bytes.fromhex("00000001000000bc9bcc")


def _bimg(platform: Platform, data: bytes, *, suplog: bool = True, dba: int = 0x01C005CA,
          op: int = 0x06) -> bytes:
    return encode_vector(_bimg_spec(platform, data, suplog=suplog, dba=dba, op=op), platform)


def _bimg_spec(platform: Platform, data: bytes, *, suplog: bool = True, dba: int = 0x01C005CA,
               op: int = 0x06) -> VectorSpec:
    order = platform.order.value
    common = struct.pack(order + "BBBBHHI", op, 0x20, 0x02, 0x00, 8060, 128, dba)
    fpload = bytearray(32)
    fpload[0] = 0x0B
    struct.pack_into(order + "I", fpload, 4, 8192)
    struct.pack_into(order + "HHI", fpload, 16, 7, 25, 3017)
    struct.pack_into(order + "I", fpload, 24, 78234)
    load = bytearray(56)
    load[0], load[10] = 0x04, 0x20
    load[12:22] = LID
    struct.pack_into(order + "H", load, 52, len(data))
    fields = [common, bytes(fpload), bytes(load), data]
    if suplog:
        sup = bytearray(24)
        sup[0] = 0x09
        struct.pack_into(order + "HHI", sup, 4, 7, 25, 3017)
        struct.pack_into(order + "IHH", sup, 12, 78233, 1, 6)
        fields.append(bytes(sup))
    return VectorSpec(layer=26, code=6, fields=tuple(fields), cls=1, afn=7, dba=dba,
                      scn=0x8935D4, typ=0x0A, data_obj=78234)


def _vector(raw: bytes, platform: Platform):  # type: ignore[no-untyped-def]
    endian = endian_for(platform.order)
    return parse_vectors(raw, 0, len(raw), endian, wide=platform.wide_vectors)[0]


@pytest.mark.parametrize("platform", [LINUX_19C, AIX_19C], ids=["le", "be"])
def test_26_6_block_image(platform: Platform) -> None:
    data = b"%PDF-1.7" + bytes(range(256)) * 3
    cv = _vector(_bimg(platform, data), platform)
    counters = OpCounters()
    page = decode_vector(cv, counters)
    assert isinstance(page, LobPage)
    assert (page.dba, page.lid, page.xid) == (0x01C005CA, LID, Xid(7, 25, 3017))
    assert (page.data_obj, page.obj, page.column, page.page_size) == (78234, 78233, 6, 8060)
    assert page.data == data
    assert counters.decoded["26.6"] == 1
    raw = _bimg(platform, data)
    slot = scan_vectors(raw, 0, len(raw), endian_for(platform.order),
                        wide=platform.wide_vectors)[0]
    assert quick_lob_table(raw, slot, endian_for(platform.order)) == 78233


def test_26_6_without_suplog_names_no_table() -> None:
    raw = _bimg(LINUX_19C, b"\x09" * 40, suplog=False)
    page = decode_vector(_vector(raw, LINUX_19C))
    assert isinstance(page, LobPage) and page.obj is None and page.data == b"\x09" * 40
    slot = scan_vectors(raw, 0, len(raw), endian_for(ByteOrder.LITTLE), wide=True)[0]
    assert quick_lob_table(raw, slot, endian_for(ByteOrder.LITTLE)) is None  # data is not suplog


def test_26_6_other_kdli_ops_are_named_not_decoded() -> None:
    change = decode_vector(_vector(_bimg(LINUX_19C, b"x", op=0x05), LINUX_19C))
    assert isinstance(change, LobBlockChange)
    assert (change.code, change.kdli_op, change.lid) == (6, 0x05, LID)


def test_26_2_names_lob_table_and_transaction() -> None:
    order = "<"
    ktb = bytes([0x01, 0x0D]) + bytes(6) + struct.pack(order + "HHI", 7, 25, 3017) + bytes(8)
    common = struct.pack(order + "BBBBHHI", 0x00, 0x20, 0, 0, 8060, 128, 0x01C005CA)
    load = bytearray(56)
    load[0] = 0x04
    load[12:22] = LID
    fill = struct.pack(order + "BBHHH", 0x06, 0, 0x100, 4, 4) + b"abcd"
    sup = bytearray(24)
    sup[0] = 0x09
    struct.pack_into(order + "IHH", sup, 12, 78233, 1, 6)
    spec = VectorSpec(layer=26, code=2, fields=(ktb, common, bytes(load), fill, bytes(sup)),
                      dba=0x01C005CA)
    raw = encode_vector(spec, LINUX_19C)
    change = decode_vector(_vector(raw, LINUX_19C))
    assert isinstance(change, LobBlockChange)
    assert (change.code, change.lid, change.obj, change.column) == (2, LID, 78233, 6)
    assert change.xid == Xid(7, 25, 3017)
    slot = scan_vectors(raw, 0, len(raw), endian_for(ByteOrder.LITTLE), wide=True)[0]
    assert quick_lob_table(raw, slot, endian_for(ByteOrder.LITTLE)) == 78233


# --- Locators ---------------------------------------------------------------------------

# The two rows of the real 19c log (notes §4).
ROW1 = ("0070000101 0c0080 0001 00000001000000bc9bcc 0019 4090 0013 22 00 19dd15 01 01"
        " 02 01c005ca 36 02 01c00601 9d")
ROW2 = ("0070000101 0c0080 0001 00000001000000bc9bcd 0013 4090 000d 22 00 024dd7 01 00"
        " 02 01c0069e 13")
# Real locators from ojdbc-types LobLocatorTest.java (test data).
SF_CLOB_IN_ROW = ("00700001020c808000020000000100000010653300d2489000cc0000c801" + "0047" * 100)
SF_NCLOB_IN_ROW = ("00700001040c008000020000000100000010653500d2489000cc0000c801" + "0047" * 100)
SF_EMPTY_IN_ROW = "00700001010c0080000100000001000000106527000a4890000400000000"
SF_EMPTY_OUT = "00700001010c0080000100000001000000106528000a4090000420000000"
SF_CLOB_100K = ("00700001020c808000020000000100000010657900254090001f2200030d40010301030006a602"
                "01030000950301030000910402030003bb10")
SF_COMPRESSED = "00700001010c0080000100000001000000106538001440920001000b012000640100000300030b01"
BF_BLOB_IN_ROW = ("00700001010c00000001000000010000001060ff00740900000000000064000000000001"
                  + "45" * 100)
BF_NO_INODE = "007000010108000000010000000100002fdafeb2"


def _loc(text: str):  # type: ignore[no-untyped-def]
    return parse_locator(bytes.fromhex(text.replace(" ", "")))


def test_locators_of_the_19c_log() -> None:
    one, two = _loc(ROW1), _loc(ROW2)
    assert one.kind is LobKind.BLOB and one.securefile and not one.in_row
    assert one.lid == LID and one.length == 1_694_997
    assert one.extents == (Extent(0x01C005CA, 0x36), Extent(0x01C00601, 0x9D))
    assert sum(e.blocks for e in one.extents) == 211  # the 211 pages of the log
    assert two.length == 150_999 and two.extents == (Extent(0x01C0069E, 0x13),)


def test_ojdbc_types_locators() -> None:
    clob = _loc(SF_CLOB_IN_ROW)
    assert clob.kind is LobKind.CLOB and clob.in_row and clob.varying
    assert clob.length == 200 and clob.data == "G".encode("utf-16-be") * 100
    nclob = _loc(SF_NCLOB_IN_ROW)
    assert nclob.kind is LobKind.NCLOB and not nclob.varying and nclob.length == 200
    assert _loc(SF_EMPTY_IN_ROW).data == b"" and _loc(SF_EMPTY_IN_ROW).in_row
    empty_out = _loc(SF_EMPTY_OUT)
    assert not empty_out.in_row and empty_out.length == 0 and empty_out.extents == ()
    big = _loc(SF_CLOB_100K)
    assert big.length == 200_000 and [e.blocks for e in big.extents] == [2, 3, 4, 16]
    assert _loc(SF_COMPRESSED).unsupported is not None
    basic = _loc(BF_BLOB_IN_ROW)
    assert not basic.securefile and basic.in_row and basic.data == b"E" * 100
    assert "BasicFile" in (_loc(BF_NO_INODE).unsupported or "")


def test_clob_storage_charset_follows_the_database_and_the_locator() -> None:
    clob, nclob = _loc(SF_CLOB_IN_ROW), _loc(SF_NCLOB_IN_ROW)
    assert storage_charset(clob, Charsets("AL32UTF8")).name == "AL16UTF16"
    assert storage_charset(nclob, Charsets("WE8MSWIN1252")).name == "AL16UTF16"
    with pytest.raises(LocatorError):
        storage_charset(clob, Charsets("WE8MSWIN1252"))  # locator says UTF-16


@pytest.mark.parametrize("bad", [
    "0070",  # shorter than the head
    "0071000101 0c0080 0001 00000001000000bc9bcc",  # signature
    "0070000109 0c0080 0001 00000001000000bc9bcc",  # type byte
    ROW2[:-2],  # the extent list is cut
    ROW2 + "00",  # bytes after the extent list (body sizes fixed below)
])
def test_malformed_locators_are_refused(bad: str) -> None:
    raw = bytearray(bytes.fromhex(bad.replace(" ", "")))
    if len(raw) > 26 and bad.startswith(ROW2[:10]) and bad != ROW2[:-2]:
        struct.pack_into(">H", raw, 20, len(raw) - 20)
        struct.pack_into(">H", raw, 24, len(raw) - 26)
    with pytest.raises(LocatorError):
        parse_locator(bytes(raw))


def test_a_page_naming_no_table_is_counted_alike_by_triage_and_full_decoding() -> None:
    spec = _bimg_spec(LINUX_19C, b"data", suplog=False)
    raw = encode_record(RecordSpec(scn=0x8935D4, vectors=(spec,)), LINUX_19C)
    record = parse_record(RawRecord(Rba(117, 0x1A, 0x6C), raw),
                          RecordLayout(endian_for(ByteOrder.LITTLE), wide_vectors=True))
    assert quick_effects(record, lambda obj: "skipped_filtered") == ([
        "lob_redo_unattributed"], (), ())
    counts = []
    for triage in (True, False):
        assembler = TransactionAssembler(Dictionary(), AssemblerOptions(thread=1, triage=triage))
        assembler.feed(decode_record(record))
        counts.append(dict(assembler.counters))
    assert counts[0] == counts[1] == {"lob_redo_unattributed": 1}
