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
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
    /// The input is not valid UTF-8 (RFC 6532 allows UTF-8, nothing else).
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// A byte that is not allowed at this position.
    #[error("unexpected character")]
    UnexpectedChar,
    /// A comment `(` without its closing `)`.
    #[error("unclosed comment")]
    UnclosedComment,
    /// A quoted string without its closing `"`.
    #[error("unclosed quoted string")]
    UnclosedQuotedString,
    /// A domain literal `[` without its closing `]`.
    #[error("unclosed domain literal")]
    UnclosedDomainLiteral,
    /// An angle address `<` without its closing `>`.
    #[error("unclosed angle address")]
    UnclosedAngleAddr,
    /// A local part that is not followed by `@` and a domain.
    #[error("expected '@'")]
    MissingAt,
    /// An address without a local part.
    #[error("missing local part")]
    MissingLocalPart,
    /// An `@` not followed by a domain.
    #[error("missing domain")]
    MissingDomain,
    /// A dot at the start or end of a local part or domain, or two dots in a row.
    #[error("misplaced dot")]
    MisplacedDot,
    /// A CR, LF or NUL where it cannot be (a bare line break, or escaped in a quoted pair).
    #[error("forbidden control character")]
    ForbiddenControl,
    /// A group inside a group.
    #[error("nested group")]
    NestedGroup,
    /// More addresses in one list than the bound allows.
    #[error("too many addresses")]
    TooManyAddresses,
    /// A date-time that does not follow RFC 5322 section 3.3, or with a field out of range.
    #[error("invalid date-time")]
    InvalidDate,
    /// A message identifier that does not follow RFC 5322 section 3.6.4.
    #[error("invalid message identifier")]
    InvalidMessageId,
}
