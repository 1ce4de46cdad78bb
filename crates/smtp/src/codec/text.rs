//! [`TextRef`]: text borrowed from a command line, already checked to be UTF-8.

use std::fmt;

/// Text borrowed from a parsed command line (a domain, a local part, a parameter value,
/// free text). The parser has checked that it is UTF-8 — by the grammar for names and
/// paths (pure-ASCII classes, or UTF-8 sequences validated one by one under SMTPUTF8),
/// explicitly for free text — without turning it into `&str`, which in safe Rust would
/// validate the bytes a second time. [`TextRef::as_bytes`] is free; [`TextRef::as_str`]
/// pays that one validation when the caller wants a `&str`.
///
/// ```
/// use postwerk_smtp::codec::command::{Command, ParseOptions};
/// use postwerk_smtp::codec::command_ref::CommandRef;
/// let cmd = Command::parse_ref(b"EHLO client.example", &ParseOptions::default()).unwrap();
/// let CommandRef::Ehlo { domain } = cmd else { unreachable!() };
/// assert_eq!(domain.as_bytes(), b"client.example");
/// assert_eq!(domain.as_str(), "client.example");
/// assert_eq!(domain, "client.example");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TextRef<'a>(&'a [u8]);

impl<'a> TextRef<'a> {
    /// Wraps bytes that the caller has checked to be UTF-8.
    #[inline]
    pub(crate) fn new(checked: &'a [u8]) -> TextRef<'a> {
        TextRef(checked)
    }

    /// The bytes, as on the wire.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The text as `&str` (one UTF-8 validation of the bytes, which always succeeds).
    pub fn as_str(&self) -> &'a str {
        std::str::from_utf8(self.0).unwrap_or_default()
    }

    /// Length in octets.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when every octet is ASCII.
    pub fn is_ascii(&self) -> bool {
        self.0.is_ascii()
    }
}

impl fmt::Debug for TextRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for TextRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for TextRef<'_> {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for TextRef<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl<'a> From<&'a str> for TextRef<'a> {
    fn from(s: &'a str) -> TextRef<'a> {
        TextRef(s.as_bytes())
    }
}
