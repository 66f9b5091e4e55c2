//! Transaction assembly above the operation parsers (`drcapture/redo/txn/`). Ported so
//! far: the per-record triage ([`triage`]).

pub mod triage;
