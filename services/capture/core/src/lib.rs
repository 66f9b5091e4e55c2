//! The compiled core of drcapture.
//!
//! This foundation owns the lower layers of the redo reader, byte for byte as the Python
//! reader (`services/capture/drcapture/redo/`) does them: the file and block layer with
//! checksums ([`blocks`], [`checksum`]), the record walk with resume state ([`records`]),
//! change-vector scanning ([`vectors`]), the operation parsers with their dispatch table
//! and counters ([`ops`]), the per-record triage ([`txn::triage`]), the value decoders
//! ([`values`]), and the serialiser of committed transactions into capture's Kafka
//! records ([`wire`]). Errors are
//! [`error::Error`]s carrying the Python reader's messages and location facts; nothing
//! panics on bad input. The `python` feature adds the PyO3 binding (`drcapture_core._core`).

pub mod binary;
pub mod blocks;
pub mod checksum;
pub mod error;
pub mod layout;
pub mod ops;
pub mod records;
pub mod txn;
pub mod values;
pub mod vectors;
pub mod wire;

#[cfg(feature = "python")]
mod py;

/// mimalloc for every allocation of the core (and of nothing else in the process: Python
/// keeps its own allocator). Small, short-lived allocations dominate the transaction
/// layer; mimalloc's per-thread free lists suit them and the threads reading RAC logs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
