//! The serialiser: committed transactions to the exact Kafka records capture's Python
//! publisher writes (`drcapture.publish.transaction_records`), byte for byte — bodies,
//! headers, order, value chunks, splits and errors.
//!
//! [`model`] is what the row assembler fills (tables' names and column types shared per
//! table, values as small enums of owned or borrowed text); [`records::transaction_records`]
//! turns one [`model::Transaction`] into its [`records::OutRecord`]s. [`json`] holds the
//! text rules (orjson's string escaping, pydantic's and `isoformat`'s date-times).
//! The differential tests (`tests/unit/capture/native/test_wire_*.py`) hold the Python
//! publisher as the reference.

mod chunks;
pub(crate) mod encode;
pub mod json;
pub mod model;
pub mod records;

pub use encode::SCHEMA_VERSION;
