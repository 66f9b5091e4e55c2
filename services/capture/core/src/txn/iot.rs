//! Changes of index-organized tables (`redo/txn/iot.py`): a 5.1 (ktub opc 10.22) and its
//! layer-10 leaf operation become one [`LeafChange`] with absolute column numbers. Key
//! column k is segment column k + 1, non-key column i is `len(key) + 1 + i`; a
//! supplemental start that disagrees is refused rather than mis-numbered.

use super::piece::{At, Col, Raw, Values, xid_text};
use crate::error::{Error, ErrorKind, Fact, Result};
use crate::ops::ChangeVector;
use crate::ops::iot::{LeafUndo, NonKey, Value, leaf, parse_leaf_op, parse_leaf_undo, undo_of};
use crate::ops::undo::{Supplemental, UndoRecord};

/// One decoded IOT leaf change.
#[derive(Debug)]
pub struct LeafChange<'a> {
    pub code: u8,
    pub undo_kind: u8,
    pub bdba: u32,
    pub slot: u16,
    pub fb: u8,
    pub supplemental: Option<Supplemental<'a>>,
    pub before: Values,
    pub after: Values,
}

fn where_(
    at: &At,
    undo: &UndoRecord<'_>,
    cv: Option<&ChangeVector<'_, '_>>,
) -> Vec<(&'static str, Fact)> {
    let mut out = vec![
        ("rba", Fact::from(at.rba.to_string())),
        ("scn", Fact::from(at.scn)),
        ("xid", Fact::from(xid_text(&undo.xid))),
        ("obj", Fact::from(undo.ktub.obj)),
    ];
    if let Some(cv) = cv {
        out.push(("opcode", Fact::from(cv.opcode())));
    }
    out
}

fn raw(v: &Value<'_>) -> Raw {
    match v {
        Some(b) => Raw::Bytes((*b).into()),
        None => Raw::Null,
    }
}

fn key(values: &[Value<'_>]) -> Values {
    values
        .iter()
        .enumerate()
        .map(|(k, v)| (k as Col + 1, raw(v)))
        .collect()
}

fn nonkey(nkey: usize, pairs: impl Iterator<Item = (usize, Raw)>) -> Values {
    pairs.map(|(i, v)| ((nkey + 1 + i) as Col, v)).collect()
}

/// A whole non-key part; when the row ends in the leaf, the columns the other image
/// stores beyond this one's count are NULL here.
fn whole(nkey: usize, part: &NonKey<'_>, other: Option<&NonKey<'_>>) -> Values {
    let mut values: Vec<(usize, Raw)> = part.columns.iter().map(raw).enumerate().collect();
    if part.last()
        && let Some(other) = other
    {
        values.extend((part.columns.len()..other.columns.len()).map(|i| (i, Raw::Null)));
    }
    nonkey(nkey, values.into_iter())
}

fn check_start(start: u16, expected: usize, side: &str, w: &[(&'static str, Fact)]) -> Result<()> {
    if start != 0 && usize::from(start) != expected {
        return Err(Error::undecodable(
            "IOT supplemental column numbers do not follow the leaf row",
        )
        .at("field", format!("supplemental start ({side})"))
        .at("expected", expected)
        .at("found", start)
        .with(w));
    }
    Ok(())
}

fn missing(what: &str) -> Error {
    Error::parse(format!("IOT leaf change without its {what}"))
}

/// (before, after, non-key flag byte that may continue in the overflow).
fn leaf_images(
    op: &crate::ops::iot::LeafOp<'_>,
    undo: &LeafUndo<'_>,
    nkey: usize,
) -> Result<(Values, Values, u8)> {
    let k = key(&undo.key);
    match op.code {
        leaf::INSERT => {
            let nk = op.nonkey.as_ref().ok_or_else(|| missing("non-key part"))?;
            let mut after = key(&op.key);
            after.extend(nonkey(nkey, nk.columns.iter().map(raw).enumerate()));
            Ok((Vec::new(), after, nk.fb))
        }
        leaf::DELETE => {
            let nk = undo
                .nonkey
                .as_ref()
                .ok_or_else(|| missing("undo non-key part"))?;
            let mut before = k;
            before.extend(nonkey(nkey, nk.columns.iter().map(raw).enumerate()));
            Ok((before, Vec::new(), nk.fb))
        }
        leaf::NONKEY => {
            let (Some(new), Some(old)) = (op.nonkey.as_ref(), undo.nonkey.as_ref()) else {
                return Err(missing("non-key parts"));
            };
            let mut before = k.clone();
            before.extend(whole(nkey, old, Some(new)));
            let mut after = k;
            after.extend(whole(nkey, new, Some(old)));
            let continues = if !new.last() { new.fb } else { old.fb };
            Ok((before, after, continues))
        }
        _ => {
            // 10.35: the listed columns; one the old leaf row did not store (at or past
            // its column count) was NULL before.
            let listed = |i: u16| undo.changed.iter().rev().find(|(c, _)| *c == i);
            let mut old: Vec<(u16, Raw)> = Vec::new();
            for (i, _) in &op.changed {
                match listed(*i) {
                    Some((_, v)) => old.push((*i, raw(v))),
                    None if *i >= u16::from(undo.ncol) => old.push((*i, Raw::Null)),
                    None => {}
                }
            }
            for (i, v) in &undo.changed {
                if !op.changed.iter().any(|(c, _)| c == i) {
                    old.push((*i, raw(v)));
                }
            }
            old.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| raw_order(&a.1, &b.1)));
            let mut before = k.clone();
            before.extend(nonkey(
                nkey,
                old.into_iter().map(|(i, v)| (usize::from(i), v)),
            ));
            let mut after = k;
            after.extend(nonkey(
                nkey,
                op.changed.iter().map(|(i, v)| (usize::from(*i), raw(v))),
            ));
            Ok((before, after, 0))
        }
    }
}

/// Python's tuple order on (i, value) for equal i: None before bytes is not comparable
/// there (it raises); bytes compare as bytes. Equal numbers only meet when a column is
/// listed twice, which the parsers do not produce.
fn raw_order(a: &Raw, b: &Raw) -> std::cmp::Ordering {
    a.bytes().cmp(&b.bytes())
}

/// One IOT leaf change (`undo_cv` the 5.1, `redo_cv` its 10.x).
pub fn leaf_change<'a>(
    at: &At,
    undo: &UndoRecord<'_>,
    undo_cv: &ChangeVector<'a, '_>,
    redo_cv: &ChangeVector<'a, '_>,
) -> Result<LeafChange<'a>> {
    let w = where_(at, undo, Some(redo_cv));
    let code = redo_cv.header.code;
    if redo_cv.header.layer != 10 || !leaf::CODES.contains(&code) {
        return Err(Error::undecodable("IOT leaf operation not decoded").with(&w));
    }
    let parsed = (|| {
        let leaf_undo = parse_leaf_undo(undo_cv)?;
        let expected = undo_of(code).unwrap_or(0);
        if leaf_undo.kind != expected {
            return Err(
                Error::undecodable("IOT undo does not fit its leaf operation")
                    .at("field", "kdilk type")
                    .at("expected", expected)
                    .at("found", leaf_undo.kind),
            );
        }
        Ok((leaf_undo, parse_leaf_op(redo_cv)?))
    })();
    let (leaf_undo, op) = match parsed {
        Ok(found) => found,
        Err(err) if is_parse_error(err.kind()) => {
            return Err(err.under(w));
        }
        Err(err) => return Err(err),
    };
    let nkey = leaf_undo.key.len();
    if op.code == leaf::INSERT && op.key.len() != nkey {
        return Err(
            Error::undecodable("IOT insert key and its undo key differ in length")
                .at("expected", nkey)
                .at("found", op.key.len())
                .with(&w),
        );
    }
    if let Some(supp) = &leaf_undo.supplemental {
        check_start(supp.start_undo, 1, "undo", &w)?;
        let first_redo = if op.code == leaf::INSERT { 1 } else { nkey + 1 };
        check_start(supp.start_redo, first_redo, "redo", &w)?;
    }
    let (before, after, fb) = leaf_images(&op, &leaf_undo, nkey)?;
    Ok(LeafChange {
        code: op.code,
        undo_kind: leaf_undo.kind,
        bdba: op.bdba,
        slot: op.slot,
        fb,
        supplemental: leaf_undo.supplemental,
        before,
        after,
    })
}

/// A `ParseError` (or subclass) on the Python side.
pub fn is_parse_error(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Parse
            | ErrorKind::Undecodable
            | ErrorKind::CorruptRedo
            | ErrorKind::UnsupportedFormat
            | ErrorKind::MalformedValue
    )
}

/// The error for a 5.1 with IOT leaf undo on a captured IOT without its leaf vector.
pub fn unpaired(at: &At, undo: &UndoRecord<'_>, undo_cv: &ChangeVector<'_, '_>) -> Error {
    Error::undecodable("IOT undo without a leaf operation").with(&where_(at, undo, Some(undo_cv)))
}

/// A layer-11 change on a captured IOT's overflow segment needs the supplemental column
/// numbers (`check_overflow`).
pub fn check_overflow(
    at: &At,
    undo: &UndoRecord<'_>,
    before: &Values,
    after: &Values,
    multi: bool,
) -> Result<()> {
    if multi {
        return Err(
            Error::undecodable("multi-row change on an IOT overflow segment not decoded")
                .with(&where_(at, undo, None)),
        );
    }
    let supp = undo.supplemental.as_ref();
    let needs = [
        (before, supp.map_or(0, |s| s.start_undo), "undo"),
        (after, supp.map_or(0, |s| s.start_redo), "redo"),
    ];
    for (values, start, side) in needs {
        if !values.is_empty() && start == 0 {
            return Err(Error::undecodable(
                "change on an IOT overflow segment without supplemental column numbers",
            )
            .at("field", format!("supplemental start ({side})"))
            .with(&where_(at, undo, None)));
        }
    }
    Ok(())
}
