//! The explicit `(layer, code) → parser` table (`ops/dispatch.py`). Anything not in the
//! table becomes [`Op::Unknown`] and is counted; index changes (layer 10) and encrypted
//! vectors are skipped by design and counted as such; a parser refusing a variant
//! (`UndecodableChange`) gives [`Op::Undecodable`] with the refusal's text. Nothing is
//! guessed at. Errors get the vector's opcode and position, and the record's RBA and SCN,
//! as the Python dispatcher adds them.

use super::ddl::{Ddl, parse_24_1};
use super::direct::{DirectLoad, parse_19_1};
use super::kdli::{Kdli, LobBlockChange, LobPage, parse_26_2, parse_26_6};
use super::kdo::{RowOp, parse_ktb, parse_row_op};
use super::lob::{LobOp, parse_11_17};
use super::undo::{
    PartialRollback, TxBegin, TxEnd, UndoRecord, parse_5_1, parse_5_2, parse_5_4,
    parse_partial_rollback,
};
use super::{ChangeVector, IntMap, field_starts, opcode};
use crate::binary::Endian;
use crate::error::{ErrorKind, Fact, Result};
use crate::layout as L;
use crate::records::{Rba, RecordView};
use crate::vectors::{VectorHeader, VectorSlot};

/// A decoded vector's operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op<'a> {
    Undo(UndoRecord<'a>),
    Begin(TxBegin),
    End(TxEnd),
    PartialRollback(PartialRollback),
    Row(RowOp<'a>),
    Lob(LobOp<'a>),
    Direct(DirectLoad<'a>),
    Ddl(Ddl),
    LobPage(LobPage<'a>),
    LobBlockChange(LobBlockChange<'a>),
    /// A vector whose operation this build does not decode.
    Unknown {
        layer: u8,
        code: u8,
    },
    /// A vector decoded on purpose as nothing ("index change", "encrypted").
    Skipped {
        layer: u8,
        code: u8,
        reason: &'static str,
    },
    /// A parser refused this variant; `reason` is the refusal as `str(exc)` renders it.
    Undecodable {
        layer: u8,
        code: u8,
        reason: String,
    },
}

/// Row operation codes of layer 11 decoded by the kdo parser (`ROW_CODES`).
pub const ROW_CODES: [u8; 11] = [2, 3, 4, 5, 6, 8, 10, 11, 12, 16, 22];

/// Which parser the table names for an opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parser {
    Undo,
    Begin,
    End,
    PartialRollback,
    Lob,
    Direct,
    Ddl,
    LobChange,
    LobImage,
    Row,
}

/// The `(layer, code) → parser` table (`PARSERS`).
pub fn parser_for(layer: u8, code: u8) -> Option<Parser> {
    Some(match (layer, code) {
        (5, 1) => Parser::Undo,                      // undo record
        (5, 2) => Parser::Begin,                     // transaction begin
        (5, 4) => Parser::End,                       // commit / rollback
        (5, 6) | (5, 11) => Parser::PartialRollback, // user undo done / rollback DBA
        (11, 17) => Parser::Lob,                     // LogMiner LOB support
        (19, 1) => Parser::Direct,                   // direct loader block
        (24, 1) => Parser::Ddl,                      // DDL
        (26, 2) => Parser::LobChange,                // LOB block redo: named, refused
        (26, 6) => Parser::LobImage,                 // LOB block image
        (11, c) if ROW_CODES.contains(&c) => Parser::Row,
        _ => return None,
    })
}

/// Layers skipped by design, with the reason (`SKIPPED_LAYERS`).
pub fn skipped_layer(layer: u8) -> Option<&'static str> {
    (layer == 10).then_some("index change")
}

/// What the dispatcher saw, by opcode `(layer, code)`: decoded, skipped and unknown
/// vectors (`OpCounters`; Python names an opcode `"5.1"`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpCounters {
    pub decoded: IntMap<(u8, u8), u64>,
    pub skipped: IntMap<(u8, u8), u64>,
    pub unknown: IntMap<(u8, u8), u64>,
}

/// Which of the three counters a vector goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Count {
    Decoded,
    Skipped,
    Unknown,
}

impl OpCounters {
    fn add(&mut self, which: Count, key: (u8, u8), n: u64) {
        let map = match which {
            Count::Decoded => &mut self.decoded,
            Count::Skipped => &mut self.skipped,
            Count::Unknown => &mut self.unknown,
        };
        *map.entry(key).or_insert(0) += n;
    }

    /// Count the vectors of one record by opcode alone, the way [`decode_vector`] would
    /// count them (`VectorTally.add`: for records whose decoding is deferred).
    pub fn tally(&mut self, slots: &[VectorSlot]) {
        for slot in slots {
            let encrypted = slot.typ & L::CV_TYPE_ENCRYPTED != 0;
            let key = (slot.layer, slot.code);
            let which = if encrypted || parser_for(slot.layer, slot.code).is_none() {
                if encrypted || skipped_layer(slot.layer).is_some() {
                    Count::Skipped
                } else {
                    Count::Unknown
                }
            } else {
                Count::Decoded
            };
            self.add(which, key, 1);
        }
    }
}

/// Decode one vector through the table; unknown opcodes are counted, never guessed.
pub fn decode_vector<'a>(
    cv: &ChangeVector<'a, '_>,
    counters: Option<&mut OpCounters>,
) -> Result<Op<'a>> {
    let h = &cv.header;
    let key = (h.layer, h.code);
    if h.typ & L::CV_TYPE_ENCRYPTED != 0 {
        if let Some(c) = counters {
            c.add(Count::Skipped, key, 1);
        }
        return Ok(Op::Skipped {
            layer: key.0,
            code: key.1,
            reason: "encrypted",
        });
    }
    let Some(parser) = parser_for(key.0, key.1) else {
        let reason = skipped_layer(key.0);
        if let Some(c) = counters {
            c.add(
                if reason.is_some() {
                    Count::Skipped
                } else {
                    Count::Unknown
                },
                key,
                1,
            );
        }
        return Ok(match reason {
            Some(reason) => Op::Skipped {
                layer: key.0,
                code: key.1,
                reason,
            },
            None => Op::Unknown {
                layer: key.0,
                code: key.1,
            },
        });
    };
    let op = match run(parser, cv) {
        Ok(op) => op,
        // the message with its facts (field, offset …)
        Err(err) if err.kind() == ErrorKind::Undecodable => Op::Undecodable {
            layer: key.0,
            code: key.1,
            reason: err.to_string(),
        },
        Err(err) => {
            return Err(err.under(vec![
                ("opcode", Fact::from(opcode(key.0, key.1))),
                ("vector", Fact::from(cv.index)),
            ]));
        }
    };
    if let Some(c) = counters {
        c.add(Count::Decoded, key, 1);
    }
    Ok(op)
}

fn run<'a>(parser: Parser, cv: &ChangeVector<'a, '_>) -> Result<Op<'a>> {
    Ok(match parser {
        Parser::Undo => Op::Undo(parse_5_1(cv)?),
        Parser::Begin => Op::Begin(parse_5_2(cv)?),
        Parser::End => Op::End(parse_5_4(cv)?),
        Parser::PartialRollback => Op::PartialRollback(parse_partial_rollback(cv)?),
        Parser::Lob => Op::Lob(parse_11_17(cv)?),
        Parser::Direct => Op::Direct(parse_19_1(cv)?),
        Parser::Ddl => Op::Ddl(parse_24_1(cv)?),
        Parser::LobChange => Op::LobBlockChange(parse_26_2(cv)?),
        Parser::LobImage => match parse_26_6(cv)? {
            Kdli::Page(page) => Op::LobPage(page),
            Kdli::Change(change) => Op::LobBlockChange(change),
        },
        Parser::Row => Op::Row(parse_row_op(cv, 1, parse_ktb(cv, 0))?),
    })
}

/// A record as the operation layer reads it: where it is, its SCN, its bytes and the
/// vector scan, with the log's byte order and vector header size.
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    pub rba: Rba,
    pub scn: u64,
    pub data: &'a [u8],
    pub slots: &'a [VectorSlot],
    pub lengths: &'a [u16],
    pub endian: Endian,
    pub wide: bool,
}

impl<'a> RecordRef<'a> {
    /// A record the walk handed out, in a log of this byte order and layout.
    pub fn of(view: &RecordView<'a>, endian: Endian, wide: bool) -> Self {
        RecordRef {
            rba: view.rba,
            scn: view.header.scn,
            data: view.data,
            slots: view.slots,
            lengths: view.lengths,
            endian,
            wide,
        }
    }
}

/// A vector with its decoded operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedVector<'a> {
    /// 1-based position in the record.
    pub index: usize,
    pub header: VectorHeader,
    pub op: Op<'a>,
}

/// Decodes records, keeping the field-offset buffer from one record to the next.
#[derive(Debug, Default)]
pub struct RecordDecoder {
    starts: Vec<u32>,
}

impl RecordDecoder {
    /// A decoder with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decode every vector of `rec` (`decode_record`): errors carry the record's RBA and
    /// SCN; vectors decoded before an error stay counted, as in Python.
    pub fn decode<'a>(
        &mut self,
        rec: &RecordRef<'a>,
        mut counters: Option<&mut OpCounters>,
    ) -> Result<Vec<ParsedVector<'a>>> {
        field_starts(rec.slots, rec.lengths, &mut self.starts);
        let mut out = Vec::with_capacity(rec.slots.len());
        for i in 0..rec.slots.len() {
            let decoded = self.vector(rec, i).and_then(|cv| {
                let op = decode_vector(&cv, counters.as_deref_mut())?;
                Ok(ParsedVector {
                    index: cv.index,
                    header: cv.header,
                    op,
                })
            });
            match decoded {
                Ok(parsed) => out.push(parsed),
                Err(err) if err.has("rba") => return Err(err),
                Err(err) => {
                    return Err(err.under(vec![
                        ("rba", Fact::from(rec.rba.to_string())),
                        ("scn", Fact::from(rec.scn)),
                    ]));
                }
            }
        }
        Ok(out)
    }

    /// The change vector at 0-based position `i` of `rec`, after [`Self::decode`] or
    /// [`Self::prepare`] for that record.
    pub fn vector<'a: 's, 's>(
        &'s self,
        rec: &RecordRef<'a>,
        i: usize,
    ) -> Result<ChangeVector<'a, 's>> {
        let slot = rec.slots.get(i).ok_or_else(|| {
            crate::error::Error::parse("no such vector in the record")
                .at("vector", i + 1)
                .at("found", rec.slots.len())
        })?;
        ChangeVector::new(
            rec.data,
            slot,
            i + 1,
            rec.lengths,
            &self.starts,
            rec.endian,
            rec.wide,
        )
    }

    /// Work out the field offsets of `rec` (for [`Self::vector`] without decoding).
    pub fn prepare(&mut self, rec: &RecordRef<'_>) {
        field_starts(rec.slots, rec.lengths, &mut self.starts);
    }
}
