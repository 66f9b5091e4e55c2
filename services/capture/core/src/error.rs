//! One error type for the whole core, shaped like `drcommon.errors.DRError`: a kind (which
//! Python class it becomes), a message and the location facts (`where`) in the order the
//! Python reader names them. The binding turns it into the same `DRError` subclass with
//! the same message and facts; nothing here panics on bad input.

use std::borrow::Cow;
use std::fmt;

use crate::records::Rba;

/// Which `DRError` subclass an error becomes on the Python side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// `drcommon.errors.ParseError`: bytes without the expected structure.
    Parse,
    /// `drcommon.errors.CorruptRedo`: a damaged redo file.
    CorruptRedo,
    /// `drcommon.errors.UnsupportedFormat`: a format this build does not know.
    UnsupportedFormat,
    /// `drcapture.values.errors.MalformedValue`: bytes that are no valid value of a type.
    MalformedValue,
    /// `drcapture.errors.UndecodableChange` (a `ParseError`): a variant of an operation
    /// that capture does not decode (a layout not established). The operation parsers
    /// raise it; the dispatcher turns it into an `Undecodable` operation.
    Undecodable,
    /// An operating-system error while reading a source (Python's `OSError`).
    Io,
    /// `drcommon.errors.SinkError`: what capture cannot write (a record over its limit).
    Sink,
    /// `drcapture.values.errors.UnknownCharset` (an `UnsupportedFormat`): a character set
    /// without codec.
    UnknownCharset,
    /// `drcommon.errors.ConfigError`: a configuration the core refuses to start with.
    Config,
    /// `drcapture.errors.SpillDiskFull` (a retriable `DiskFull`): the spill disk is full.
    SpillDiskFull,
    /// `drcapture.thread_reader.DirectLoadGap` (a `SourceError`): a direct-path load into
    /// a captured table.
    DirectLoadGap,
    /// Python's `ValueError`: an argument the Python function refuses the same way (the
    /// serialiser's record limits too small to cut a value with).
    Value,
}

impl ErrorKind {
    /// The name the binding reports (the Python class name).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Parse => "ParseError",
            ErrorKind::CorruptRedo => "CorruptRedo",
            ErrorKind::UnsupportedFormat => "UnsupportedFormat",
            ErrorKind::MalformedValue => "MalformedValue",
            ErrorKind::Undecodable => "UndecodableChange",
            ErrorKind::Io => "OSError",
            ErrorKind::Sink => "SinkError",
            ErrorKind::Value => "ValueError",
            ErrorKind::UnknownCharset => "UnknownCharset",
            ErrorKind::Config => "ConfigError",
            ErrorKind::DirectLoadGap => "DirectLoadGap",
            ErrorKind::SpillDiskFull => "SpillDiskFull",
        }
    }
}

/// One location fact: the Python side gets an int, a str, a tuple of ints or an `Rba`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    Int(i128),
    Text(String),
    Ints(Vec<i128>),
    Rba(Rba),
}

impl fmt::Display for Fact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fact::Int(v) => write!(f, "{v}"),
            Fact::Text(v) => f.write_str(v),
            Fact::Ints(v) => {
                // Python's tuple repr: (1, 2) and (1,)
                f.write_str("(")?;
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{x}")?;
                }
                if v.len() == 1 {
                    f.write_str(",")?;
                }
                f.write_str(")")
            }
            Fact::Rba(r) => write!(f, "{r}"),
        }
    }
}

macro_rules! fact_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Fact {
            fn from(v: $t) -> Self {
                Fact::Int(i128::from(v))
            }
        }
    )*};
}
fact_from_int!(u8, u16, u32, u64, i32, i64);

impl From<usize> for Fact {
    fn from(v: usize) -> Self {
        // usize is at most 64 bits on every target we build for
        Fact::Int(v as i128)
    }
}

impl From<&str> for Fact {
    fn from(v: &str) -> Self {
        Fact::Text(v.to_owned())
    }
}

impl From<String> for Fact {
    fn from(v: String) -> Self {
        Fact::Text(v)
    }
}

impl From<Rba> for Fact {
    fn from(v: Rba) -> Self {
        Fact::Rba(v)
    }
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    message: Cow<'static, str>,
    facts: Vec<(&'static str, Fact)>,
}

/// An error of the core (boxed: results on the hot path stay one word wide).
#[derive(Debug)]
pub struct Error(Box<Inner>);

/// The core's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A new error of `kind` without facts.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error(Box::new(Inner {
            kind,
            message: message.into(),
            facts: Vec::new(),
        }))
    }

    /// A `ParseError`.
    pub fn parse(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Parse, message)
    }

    /// A `CorruptRedo`.
    pub fn corrupt(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::CorruptRedo, message)
    }

    /// An `UndecodableChange`.
    pub fn undecodable(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Undecodable, message)
    }

    /// A `MalformedValue`.
    pub fn malformed(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::MalformedValue, message)
    }

    /// The error with one more fact (appended: the order is the Python reader's).
    #[must_use]
    pub fn at(mut self, key: &'static str, value: impl Into<Fact>) -> Self {
        self.0.facts.push((key, value.into()));
        self
    }

    /// The error with a fact put first (how the Python reader adds the RBA).
    #[must_use]
    pub fn first(mut self, key: &'static str, value: impl Into<Fact>) -> Self {
        self.0.facts.insert(0, (key, value.into()));
        self
    }

    /// The error with `front` as its first facts, the facts it had after them: a fact
    /// it had already keeps the place `front` gives it and its own value (Python's
    /// `{"opcode": …, "vector": …, **exc.where}`).
    #[must_use]
    pub fn under(mut self, front: Vec<(&'static str, Fact)>) -> Self {
        let mut facts = front;
        for (key, value) in std::mem::take(&mut self.0.facts) {
            match facts.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => facts.push((key, value)),
            }
        }
        self.0.facts = facts;
        self
    }

    /// The same error with more facts appended (for facts built once and shared).
    #[must_use]
    pub fn with(mut self, facts: &[(&'static str, Fact)]) -> Self {
        self.0.facts.extend(facts.iter().cloned());
        self
    }

    /// Which Python class this becomes.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The message without the facts.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The location facts, in order.
    pub fn facts(&self) -> &[(&'static str, Fact)] {
        &self.0.facts
    }

    /// True when a fact named `key` is present.
    pub fn has(&self, key: &str) -> bool {
        self.0.facts.iter().any(|(k, _)| *k == key)
    }
}

impl fmt::Display for Error {
    /// `message [key=value, …]`, as `DRError` renders itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)?;
        if self.0.facts.is_empty() {
            return Ok(());
        }
        f.write_str(" [")?;
        for (i, (key, value)) in self.0.facts.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{key}={value}")?;
        }
        f.write_str("]")
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        let errno = err.raw_os_error().map(i128::from);
        let mut e = Error::new(ErrorKind::Io, err.to_string());
        if let Some(n) = errno {
            e = e.at("errno", Fact::Int(n));
        }
        e
    }
}

/// Upper-case hex of bytes (what the Python side writes as `raw.hex().upper()`).
pub fn hex_upper(raw: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(raw.len() * 2);
    for &b in raw {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// Lower-case hex of bytes (`bytes.hex()`).
pub fn hex_lower(raw: &[u8]) -> String {
    hex_upper(raw).to_ascii_lowercase()
}
