//! What the [`Message`](crate::Message) accessors repaired to read real mail.
//!
//! The grammar functions ([`parse_address_list`](crate::parse_address_list),
//! [`DateTime::parse`](crate::DateTime::parse), …) refuse what the RFC grammar refuses. The
//! `Message` accessors read what mail clients read and record each repair they made;
//! [`Message::repairs`](crate::Message::repairs) lists them.

/// One kind of repair.
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepairKind {
    /// A line in the header section that is not a field (no colon, or white space inside
    /// the name) was skipped.
    SkippedLine,
    /// A field that may occur only once (RFC 5322 section 3.6) occurred again; the first
    /// occurrence is used and this one ignored, never merged.
    DuplicateField,
    /// Raw 8-bit bytes that are not UTF-8 were read in the message's charset or in
    /// Windows-1252.
    EightBitText,
    /// Two addresses followed each other without a comma.
    MissingComma,
    /// A `;` separated two addresses outside a group.
    SemicolonSeparator,
    /// A quoted string ran to the end of the field and was closed there.
    UnclosedQuotedString,
    /// An angle address ran to the end of the field and was closed there.
    UnclosedAngleAddr,
    /// A comment ran to the end of the field and was closed there.
    UnclosedComment,
    /// A group ran to the end of the field without its `;`.
    UnclosedGroup,
    /// An address without `@domain`; its local part was kept.
    MissingDomain,
    /// Text that is no address (a name without an address, stray characters) was dropped.
    DroppedText,
    /// A date outside the RFC 5322 grammar (asctime, ISO 8601, no zone, one-digit minutes
    /// or seconds) was read.
    LenientDate,
    /// A body part ([`Message::text_body`](crate::Message::text_body) or
    /// [`Message::html_body`](crate::Message::html_body)) or an encoded word of the
    /// `Subject:` names a charset this crate does not know; its text is read as UTF-8 with
    /// U+FFFD for what is not.
    UnknownCharset,
    /// A message identifier outside the RFC 5322 grammar (no angle brackets, no `@`,
    /// white space inside) was read.
    LenientMessageId,
}

/// A repair: what was done, in which field and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repair<'a> {
    kind: RepairKind,
    field: Option<&'a str>,
    offset: usize,
}

impl<'a> Repair<'a> {
    pub(crate) fn new(kind: RepairKind, field: Option<&'a str>, offset: usize) -> Self {
        Repair {
            kind,
            field,
            offset,
        }
    }

    /// What was repaired.
    pub fn kind(&self) -> RepairKind {
        self.kind
    }

    /// The name of the field, as written, or `None` for a repair of the header section
    /// itself ([`RepairKind::SkippedLine`]).
    pub fn field(&self) -> Option<&'a str> {
        self.field
    }

    /// Byte offset in the message input: the start of the skipped line or of the
    /// duplicate field, or the place in a field value where the repair was made (the start
    /// of the value when the value had to be converted from a legacy charset first).
    pub fn offset(&self) -> usize {
        self.offset
    }
}

/// Where a lenient reader records what it repaired, as offsets in the value it reads;
/// reading without collecting is free.
#[derive(Debug, Default)]
pub(crate) struct Sink {
    /// `(kind, offset in the value)`, or `None` when nobody asked.
    found: Option<Vec<(RepairKind, usize)>>,
}

impl Sink {
    /// A sink that keeps what it is told.
    pub(crate) fn collecting() -> Self {
        Sink {
            found: Some(Vec::new()),
        }
    }

    /// A sink that forgets what it is told.
    pub(crate) fn discarding() -> Self {
        Sink { found: None }
    }

    /// Records a repair at `offset` of the value being read.
    #[inline]
    pub(crate) fn push(&mut self, kind: RepairKind, offset: usize) {
        if let Some(v) = self.found.as_mut() {
            v.push((kind, offset));
        }
    }

    /// The repairs recorded, as offsets relative to the value.
    pub(crate) fn into_found(self) -> Vec<(RepairKind, usize)> {
        self.found.unwrap_or_default()
    }
}
