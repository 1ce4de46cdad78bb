//! The one error type of this crate: what was wrong, and at which byte offset.

use std::fmt;

/// Why input could not be parsed, and where.
///
/// `offset` is the byte offset into the input given to the entry point
/// ([`parse_address_list`](crate::parse_address_list), [`Message::parse`](crate::Message::parse), …)
/// at which the problem was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError {
    kind: ParseErrorKind,
    offset: usize,
}

impl ParseError {
    /// An error of `kind` found at byte `offset` of the input.
    pub fn new(kind: ParseErrorKind, offset: usize) -> Self {
        ParseError { kind, offset }
    }

    /// What went wrong.
    pub fn kind(&self) -> ParseErrorKind {
        self.kind
    }

    /// Byte offset into the input where the problem was found.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind, self.offset)
    }
}

impl std::error::Error for ParseError {}

/// The kinds of parse failure, one variant per kind of malformed input.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// The input ended where more was required.
    #[error("unexpected end of input")]
    UnexpectedEnd,
    /// Input remained after a complete value.
    #[error("unexpected trailing input")]
    TrailingInput,
    /// Comments or MIME parts nested deeper than the configured bound.
    #[error("nesting too deep")]
    TooDeep,
    /// More header fields than the configured bound.
    #[error("too many header fields")]
    TooManyHeaders,
    /// More MIME parts than the configured bound.
    #[error("too many MIME parts")]
    TooManyParts,
}
