"""The reader's fast paths agree with the plain ones they stand in for: span reads and
batched checks with block-by-block reading, the layout scan with the field-by-field
walk, the one-unpack header and field readers with the checked ones, the quick undo /
begin / end / rollback reads with the full parsers, and the assembler's triage of
uncaptured records with decoding every record in full (same transactions, counters,
open transactions) — on real Oracle records, writer-built logs, and damaged copies."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from drcapture.dictionary.model import Dictionary, OracleType
from drcapture.redo.blocks import BytesSource, RedoFile
from drcapture.redo.checksum import compute_checksum, fold, span_folds_to_zero
from drcapture.redo.ops.dispatch import OpCounters, ParsedRecord, decode_record
from drcapture.redo.ops.undo import (
    NON_ROW_UNDO_LAYERS,
    parse_5_1,
    parse_5_2,
    parse_5_4,
    parse_partial_rollback,
    quick_begin,
    quick_end,
    quick_rollback,
    quick_undo,
)
from drcapture.redo.reader import iter_records
from drcapture.redo.records import (
    RawRecord,
    Rba,
    ReadState,
    RecordLayout,
    RecordParser,
    _walk_by_block,
    parse_record,
    read_record,
    walk_records,
)
from drcapture.redo.txn.assembler import AssemblerOptions, TransactionAssembler
from drcapture.redo.txn.changes import _sequence, rowid
from drcapture.redo.vectors import (
    _parse_vector_header_checked,
    _parse_vectors_checked,
    parse_vector_header,
    parse_vectors,
)
from drcapture.synth.workload import (
    Col,
    Commit,
    Delete,
    Insert,
    MultiDelete,
    MultiInsert,
    Rollback,
    RollbackTo,
    Savepoint,
    Step,
    Table,
    Update,
    Workload,
    row,
)
from drcapture.synth.workload_build import build_workload
from drcapture.synth.writer import wrap_records
from drcommon.errors import DRError
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.capture.test_redo_helpers import FREE23_LOGS, ORACDC, oracdc_index


def _oracdc_logs(block_size: int = 512) -> list[bytes]:
    """Every oracdc record wrapped into one log per platform layout."""
    by_layout: dict[str, list[bytes]] = defaultdict(list)
    for entry in json.loads((ORACDC / "index.json").read_text()):
        by_layout[entry["layout"]].append((ORACDC / entry["file"]).read_bytes())
    return [wrap_records(records, layout, block_size=block_size)
            for layout, records in sorted(by_layout.items())]


def _outcome(work: Callable[[], Any]) -> tuple[str, Any]:
    """What ``work`` returns, or the error it raises (type, message, location facts)."""
    try:
        return "ok", work()
    except DRError as exc:
        return "error", (type(exc).__name__, exc.message, sorted(map(repr, exc.where.items())))


def _by_block(redo: RedoFile, state: ReadState | None = None) -> Iterator[tuple[int, int, bytes]]:
    return _walk_by_block(redo, state if state is not None else ReadState())


def _walk(walker: Callable[..., Iterator[tuple[int, int, bytes]]], data: bytes, *,
          online: bool = False) -> tuple[list[tuple[int, int, bytes]], Any, ReadState]:
    """Records a walker yields before it stops, how it stops, and where."""
    redo = RedoFile(BytesSource(data, "t.arc"), online=online)
    state = ReadState()
    got: list[tuple[int, int, bytes]] = []

    def run() -> None:
        got.extend(walker(redo, state))

    return got, _outcome(run), state


# --- checksums and spans -----------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([512, 1024, 4096]), st.integers(1, 12),
       st.lists(st.tuples(st.integers(0, 2**20), st.integers(0, 7)), max_size=3),
       st.integers(0, 2**32))
def test_span_check_agrees_with_folding_each_block(size: int, count: int,
                                                   flips: list[tuple[int, int]],
                                                   seed: int) -> None:
    # Blocks from a seed: up to 48 KiB drawn from Hypothesis's own buffer overruns it.
    rnd = random.Random(seed)
    blocks = bytearray()
    for _ in range(count):
        block = bytearray(rnd.randbytes(size))
        block[14:16] = compute_checksum(block)
        blocks += block
    for at, bit in flips:
        blocks[at % len(blocks)] ^= 1 << bit
    expected = all(fold(blocks[k:k + size]) == 0 for k in range(0, len(blocks), size))
    assert span_folds_to_zero(bytes(blocks), size) is expected


@pytest.mark.parametrize("block_size", [512, 1024, 4096])
def test_span_walk_yields_what_block_by_block_yields(block_size: int) -> None:
    for data in [*_oracdc_logs(block_size), *(p.read_bytes() for p in FREE23_LOGS)]:
        fast, how, _ = _walk(walk_records, data)
        slow, slow_how, _ = _walk(_by_block, data)
        assert how == slow_how == ("ok", None)
        assert fast == slow and fast


def test_damage_inside_a_span_stops_both_walks_at_the_same_record_with_the_same_error() -> None:
    data = FREE23_LOGS[0].read_bytes()
    rnd = random.Random(7)
    for _ in range(25):
        damaged = bytearray(data)
        block = rnd.randrange(2, len(data) // 512)
        damaged[block * 512 + rnd.choice([0, 1, 4, 8, 13, 200, 511])] ^= 1 << rnd.randrange(8)
        fast = _walk(walk_records, bytes(damaged))[:2]
        slow = _walk(_by_block, bytes(damaged))[:2]
        assert fast == slow
        assert fast[1][0] == "error" or fold(damaged[block * 512:(block + 1) * 512]) == 0


def test_online_log_stops_at_the_first_unwritten_block_as_block_by_block_does() -> None:
    data = bytearray(FREE23_LOGS[0].read_bytes())
    cut = 300 * 512
    data[cut:] = bytes(len(data) - cut)  # never written yet
    fast_records, fast_how, fast_state = _walk(walk_records, bytes(data), online=True)
    slow_records, slow_how, slow_state = _walk(_by_block, bytes(data), online=True)
    assert fast_records == slow_records and fast_records
    assert fast_how == slow_how
    assert fast_state == slow_state and fast_state.stopped.value == "not_yet_written"
    # Resuming from that state with the rest written gives the remaining records once.
    full = FREE23_LOGS[0].read_bytes()
    rest = list(walk_records(RedoFile(BytesSource(full), online=True), fast_state))
    everything = list(_by_block(RedoFile(BytesSource(full))))
    assert fast_records + rest == everything


# --- record layout: scan versus field-by-field ------------------------------------------


def _layout(entry_layout: str) -> RecordLayout:
    from drcapture.redo.binary import BIG, LITTLE

    return RecordLayout(BIG if entry_layout == "getAix19c" else LITTLE,
                        wide_vectors=entry_layout != "getLinux11g")


def _damaged(data: bytes, rnd: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rnd.randrange(1, 4)):
        at = rnd.randrange(len(out))
        out[at] = rnd.randrange(256)
    if rnd.random() < 0.3:
        out = out[: rnd.randrange(1, len(out))]
    return bytes(out)


def test_records_parse_the_same_through_every_path_including_damaged_ones() -> None:
    rnd = random.Random(11)
    for entry in oracdc_index():
        layout = entry.record_layout()
        parser = RecordParser(layout)
        for data in [entry.data, *(_damaged(entry.data, rnd) for _ in range(6))]:
            rba = entry.rba
            reference = _outcome(partial(parse_record, RawRecord(rba, data), layout))
            assert _outcome(partial(parser.parse, rba, data)) == reference
            assert _outcome(partial(read_record, rba, data, layout)) == reference
            if reference[0] == "ok":
                record = reference[1]
                header = record.header
                assert record.vectors == _parse_vectors_checked(
                    data, header.header_size, header.length, layout.endian,
                    wide=layout.wide_vectors) if header.vld & 1 else record.vectors == ()
                for cv in record.vectors:
                    assert cv.header == _parse_vector_header_checked(
                        data, cv.offset, layout.endian, wide=layout.wide_vectors)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=400), st.booleans(), st.booleans())
def test_scan_and_field_by_field_walk_fail_alike_on_arbitrary_bytes(
        data: bytes, big: bool, wide: bool) -> None:
    from drcapture.redo.binary import BIG, LITTLE

    endian = BIG if big else LITTLE
    end = len(data)
    fast = _outcome(lambda: parse_vectors(data, 0, end, endian, wide=wide))
    slow = _outcome(lambda: _parse_vectors_checked(data, 0, end, endian, wide=wide))
    assert fast == slow
    if len(data) >= 32:
        assert parse_vector_header(data, 0, endian, wide=wide) == _parse_vector_header_checked(
            data, 0, endian, wide=wide)


# --- quick reads versus the parsers --------------------------------------------------------


def _real_records() -> Iterator[Any]:
    for entry in oracdc_index():
        yield parse_record(RawRecord(entry.rba, entry.data), entry.record_layout())
    for path in FREE23_LOGS:
        yield from (r.record for r in iter_records(RedoFile(BytesSource(path.read_bytes()))))


def test_quick_reads_match_the_parsers_on_every_real_vector() -> None:
    seen: dict[str, int] = defaultdict(int)
    for record in _real_records():
        for slot, cv in zip(record.slots, record.vectors, strict=True):
            e = record.endian
            key = f"{slot.layer}.{slot.code}"
            if key == "5.1":
                quick = quick_undo(record.data, slot, e)
                full = _outcome(partial(parse_5_1, cv))
                if quick is None:
                    assert full[0] == "error"
                    continue
                undo = full[1]
                assert quick[0] == undo.ktub.obj
                assert quick[1] is (undo.ktub.opc[0] not in NON_ROW_UNDO_LAYERS)
            elif key in ("5.2", "5.4"):
                quick_op = (
                    quick_begin(record.data, slot, e, record.wide) if key == "5.2"
                    else quick_end(record.data, slot, e))
                full = _outcome(partial(parse_5_2 if key == "5.2" else parse_5_4, cv))
                if quick_op is None:
                    assert full[0] == "error"
                    continue
                assert full == ("ok", quick_op)
            elif key in ("5.6", "5.11"):
                mark = quick_rollback(record.data, slot, e)
                full = _outcome(partial(parse_partial_rollback, cv))
                if mark is None:
                    assert full[0] == "error"
                    continue
                rollback = full[1]
                assert mark == (rollback.ktub.obj, rollback.xid.usn, rollback.xid.slot)
            else:
                continue
            seen[key] += 1
    assert seen["5.1"] > 100 and seen["5.2"] and seen["5.4"] and seen["5.6"] and seen["5.11"]


def test_rowid_and_rba_sequence_shortcuts() -> None:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    def b64(value: int, width: int) -> str:
        return "".join(alphabet[(value >> (6 * k)) & 0x3F] for k in reversed(range(width)))

    rnd = random.Random(3)
    for _ in range(20000):
        obj, bdba, slot = rnd.getrandbits(40), rnd.getrandbits(32), rnd.getrandbits(20)
        assert rowid(obj, bdba, slot) == (b64(obj, 6) + b64(bdba >> 22, 3)
                                          + b64(bdba & 0x3FFFFF, 6) + b64(slot, 3))
        rba = Rba(rnd.getrandbits(28), rnd.getrandbits(32), rnd.getrandbits(16))
        assert _sequence(str(rba)) == rba.sequence


# --- the assembler: triage versus decoding everything -------------------------------------


def _tables() -> tuple[Table, ...]:
    cols = (Col("ID", OracleType.NUMBER), Col("NAME", OracleType.VARCHAR2, 40),
            Col("AMOUNT", OracleType.NUMBER))
    return tuple(Table("APP", f"T{i}", 90001 + i, cols, pk=("ID",)) for i in range(4))


def _story() -> tuple[Step, ...]:
    """Interleaved transactions over four tables: single and multi-row changes, a rollback
    to a savepoint, whole rollbacks, transactions that span captured and other tables."""
    steps: list[Step] = []
    rnd = random.Random(5)
    next_id = 1
    live: dict[str, list[str]] = {t.name: [] for t in _tables()}
    for n in range(60):
        txn, table = f"x{n}", f"T{rnd.randrange(4)}"
        other = f"T{rnd.randrange(4)}"
        ids = [str(next_id + k) for k in range(4)]
        next_id += 4
        steps.append(Step(1, txn, Insert(table, row(ID=ids[0], NAME=f"n{n}", AMOUNT="1.5"))))
        steps.append(Step(1, txn, MultiInsert(other, tuple(
            row(ID=i, NAME="m", AMOUNT=str(k)) for k, i in enumerate(ids[1:], 1)))))
        mine = [i for i in live[table] if i not in ids]
        if mine:
            steps.append(Step(1, txn, Update(table, row(ID=mine[0]), row(AMOUNT=str(n)))))
        kind = n % 5
        if kind == 1:
            steps.append(Step(1, txn, Savepoint("s")))
            steps.append(Step(1, txn, Insert(table, row(ID=str(next_id)))))
            next_id += 1
            if len(mine) > 1:
                steps.append(Step(1, txn, Delete(table, row(ID=mine[1]))))
            steps.append(Step(1, txn, RollbackTo("s")))
        if kind == 3 and len(live[other]) > 2:
            gone = live[other][:2]
            steps.append(Step(1, txn, MultiDelete(other, tuple(row(ID=i) for i in gone))))
            if kind == 3:
                del live[other][:2]
        if kind == 4:
            steps.append(Step(1, txn, Rollback()))
            continue
        steps.append(Step(1, txn, Commit()))
        live[table].append(ids[0])
        live[other].extend(ids[1:])
    return tuple(steps)


def _assemble(records: list[ParsedRecord], dictionary: Dictionary, keep: set[str] | None,
              *, triage: bool, include_unknown: bool = False) -> tuple[Any, ...]:
    wanted = None if keep is None else (lambda owner, name: name in keep)
    asm = TransactionAssembler(dictionary, AssemblerOptions(
        thread=1, wanted=wanted, triage=triage, include_unknown=include_unknown))
    committed = [tx for record in records for tx in asm.feed(record)]
    return (
        [(t.xid, t.commit_scn, t.commit_rba, t.start_rba, t.commit_ts,
          [c.model_dump_json() for c in t.changes]) for t in committed],
        dict(asm.counters),
        [(str(t.xid), t.start_scn, t.start_rba) for t in asm.open_transactions()],
    )


def _records(data: bytes) -> list[ParsedRecord]:
    return list(iter_records(RedoFile(BytesSource(data))))


@pytest.mark.parametrize("keep", [set(), {"T1"}, {"T0", "T2"}, {"T0", "T1", "T2", "T3"}, None])
def test_triage_gives_what_decoding_every_record_gives(keep: set[str] | None) -> None:
    built = build_workload(Workload(tables=_tables(), steps=_story()))
    records = [r for log in built.logs for r in _records(log.data)]
    quick = _assemble(records, built.dictionary, keep, triage=True)
    full = _assemble(records, built.dictionary, keep, triage=False)
    assert quick == full
    committed, counters, _ = full
    if keep is None or len(keep) == 4:
        assert len(committed) == len(built.expected)
        assert counters["pieces_rolled_back"] > 0 and counters["rolled_back"] > 0
    else:
        assert counters["skipped_filtered"] > 0
        assert 0 < len(committed) < len(built.expected) if keep else committed == []


@pytest.mark.parametrize("include_unknown", [False, True])
def test_triage_on_real_oracle_redo_without_a_dictionary(include_unknown: bool) -> None:
    for path in FREE23_LOGS:
        records = _records(path.read_bytes())
        quick = _assemble(records, Dictionary(), None, triage=True,
                          include_unknown=include_unknown)
        full = _assemble(records, Dictionary(), None, triage=False,
                         include_unknown=include_unknown)
        assert quick == full
    oracdc = [decode_record(parse_record(RawRecord(e.rba, e.data), e.record_layout()))
              for e in oracdc_index()]
    assert _assemble(oracdc, Dictionary(), None, triage=True, include_unknown=include_unknown) \
        == _assemble(oracdc, Dictionary(), None, triage=False, include_unknown=include_unknown)


def test_deferred_decoding_counts_vectors_as_decoding_them_does() -> None:
    for data in _oracdc_logs():
        eager, lazy = OpCounters(), OpCounters()
        redo = RedoFile(BytesSource(data))
        layout = RecordLayout(redo.endian, redo.header.wide_vectors)
        expected = [decode_record(read_record(Rba(redo.header.sequence, b, o), d, layout), eager)
                    for b, o, d in walk_records(redo)]
        got = list(iter_records(RedoFile(BytesSource(data)), counters=lazy))
        assert (lazy.decoded, lazy.skipped, lazy.unknown) == (
            eager.decoded, eager.skipped, eager.unknown)
        assert got == expected


def test_resuming_inside_a_block_yields_each_later_record_once() -> None:
    """The state moves on with every record: records between the block's first one and
    the resume point must be compared with the point as it was, not as it became (reading
    them again would hand the assembler the same change twice)."""
    data = FREE23_LOGS[0].read_bytes()
    everything = list(_by_block(RedoFile(BytesSource(data))))
    starts: dict[int, list[int]] = defaultdict(list)
    for block, offset, _ in everything:
        starts[block].append(offset)
    block = next(b for b, offsets in sorted(starts.items()) if len(offsets) >= 3)
    resume_at = [(b, o) for b, o, _ in everything].index((block, starts[block][2]))
    for walker in (walk_records, _by_block):
        state = ReadState(next_block=block, resume_offset=starts[block][2])
        assert list(walker(RedoFile(BytesSource(data)), state)) == everything[resume_at:]
