//! Transaction assembly above the operation parsers (`drcapture/redo/txn/`): the
//! per-record triage ([`triage`]), pieces per undo/redo pair ([`piece`], [`iot`]), their
//! store with its spill to disk ([`store`]), row assembly ([`rows`]), LOB values
//! ([`lobs`]), names and values from the dictionary ([`dict`], [`changes`]), the
//! assembler ([`assembler`]) and one thread's read ([`thread`]).

pub mod assembler;
pub mod changes;
pub mod decode;
pub mod dict;
pub mod iot;
pub mod lobs;
pub mod piece;
pub mod rows;
pub mod store;
pub mod system;
pub mod thread;
pub mod triage;
