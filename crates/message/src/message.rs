//! Messages (RFC 5322 section 3.5): header fields in order, typed accessors, the body and
//! the MIME tree.

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::date::{DateTime, parse_date};
use crate::header::{Header, parse_header_section};
use crate::mime::tree::{Part, Tree, build_tree};
use crate::msgid::{MessageId, parse_msg_id, parse_msg_id_list};
use crate::trace::Received;
use crate::{Address, ParseError};

/// Bounds on what [`Message::parse_with`] accepts. Too many header fields in the message is
/// an error of [`Message::parse_with`]
/// ([`TooManyHeaders`](crate::ParseErrorKind::TooManyHeaders)); in the MIME tree, the walk
/// stops at the first bound exceeded and [`Message::try_parts`] reports it
/// ([`TooDeep`](crate::ParseErrorKind::TooDeep),
/// [`TooManyParts`](crate::ParseErrorKind::TooManyParts), or `TooManyHeaders` in a part).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Header fields per header section (the message's or one part's). Default 1,000.
    pub max_headers: usize,
    /// MIME nesting depth (multiparts and encapsulated messages). Default 50.
    pub max_depth: usize,
    /// MIME parts in the whole tree, the message itself included. Default 10,000.
    pub max_parts: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_headers: 1000,
            max_depth: 50,
            max_parts: 10_000,
        }
    }
}

/// A parsed message; everything borrows from the input.
///
/// The header section is split when the message is parsed; the MIME tree is built on the
/// first call to [`Message::parts`], [`Message::leaves`], [`Message::root_part`] or
/// [`Message::try_parts`] and kept; bodies are decoded only on request.
///
/// ```
/// use postwerk_message::Message;
/// let raw = b"From: Mary Smith <mary@example.net>\r\n\
///             Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n\
///             Date: Fri, 21 Nov 1997 09:55:06 -0600\r\n\r\nHello\r\n";
/// let msg = Message::parse(raw).unwrap();
/// assert_eq!(msg.header("subject").unwrap().raw_value(), b"=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=");
/// assert_eq!(msg.subject().unwrap(), "Grüße");
/// assert_eq!(msg.date().unwrap().unwrap().year, 1997);
/// assert_eq!(msg.body(), b"Hello\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct Message<'a> {
    input: &'a [u8],
    headers: Vec<Header<'a>>,
    body_start: usize,
    limits: Limits,
    tree: OnceLock<Tree<'a>>,
}

impl<'a> Message<'a> {
    /// Parses a message with the default [`Limits`].
    ///
    /// Lines may end in CRLF or LF. The header section ends at the first empty line, at
    /// the end of the input, or at the first line that is neither a field (`name:` with a
    /// name of bytes 33–126, white space before the colon allowed) nor the continuation of
    /// one (a line starting with white space): such a line, for example one without a
    /// colon, is the first line of the body, as in deployed parsers. A leading mbox
    /// `From ` line is skipped.
    ///
    /// The only error here is [`TooManyHeaders`](crate::ParseErrorKind::TooManyHeaders);
    /// limits met while building the MIME tree are reported by [`Message::try_parts`].
    pub fn parse(input: &'a [u8]) -> Result<Message<'a>, ParseError> {
        Self::parse_with(input, &Limits::default())
    }

    /// Parses a message with the given bounds.
    pub fn parse_with(input: &'a [u8], limits: &Limits) -> Result<Message<'a>, ParseError> {
        let section = parse_header_section(input, 0, limits.max_headers, true)?;
        Ok(Message {
            input,
            headers: section.headers,
            body_start: section.body_start,
            limits: limits.clone(),
            tree: OnceLock::new(),
        })
    }

    fn tree(&self) -> &Tree<'a> {
        self.tree
            .get_or_init(|| build_tree(self.input, &self.headers, self.body_start, &self.limits))
    }

    fn root(&self) -> &Part<'a> {
        // build_tree always yields the root part first.
        &self.tree().0[0]
    }

    /// The input the message was parsed from.
    pub fn raw(&self) -> &'a [u8] {
        self.input
    }

    /// All header fields of the message in order.
    pub fn headers(&self) -> &[Header<'a>] {
        &self.headers
    }

    /// The first field named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&Header<'a>> {
        self.headers.iter().find(|h| h.is(name))
    }

    /// Every field named `name` (case-insensitive), in order.
    pub fn header_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Header<'a>> + 's {
        self.headers().iter().filter(move |h| h.is(name))
    }

    /// The bytes after the blank line that ends the header section.
    pub fn body(&self) -> &'a [u8] {
        self.input.get(self.body_start..).unwrap_or_default()
    }

    fn addresses(&self, name: &str) -> Result<Vec<Address<'a>>, ParseError> {
        let mut out = Vec::new();
        for h in self.header_all(name) {
            let raw = h.raw_value();
            if crate::header::trim_end_ws(raw).is_empty() {
                continue;
            }
            let list = crate::parse_address_list(raw).map_err(|e| h.rebase(e))?;
            if out.is_empty() {
                out = list;
            } else {
                out.extend(list);
            }
        }
        Ok(out)
    }

    /// The `From:` addresses (all `From:` fields concatenated; empty when absent).
    pub fn from(&self) -> Result<Vec<Address<'a>>, ParseError> {
        self.addresses("from")
    }

    /// The `Sender:` addresses.
    pub fn sender(&self) -> Result<Vec<Address<'a>>, ParseError> {
        self.addresses("sender")
    }

    /// The `Reply-To:` addresses.
    pub fn reply_to(&self) -> Result<Vec<Address<'a>>, ParseError> {
        self.addresses("reply-to")
    }

    /// The `To:` addresses.
    pub fn to(&self) -> Result<Vec<Address<'a>>, ParseError> {
        self.addresses("to")
    }

    /// The `Cc:` addresses.
    pub fn cc(&self) -> Result<Vec<Address<'a>>, ParseError> {
        self.addresses("cc")
    }

    /// The `Bcc:` addresses.
    pub fn bcc(&self) -> Result<Vec<Address<'a>>, ParseError> {
        self.addresses("bcc")
    }

    /// The decoded `Subject:` (unfolded, encoded words decoded).
    pub fn subject(&self) -> Option<Cow<'a, str>> {
        self.header("subject").map(Header::decoded)
    }

    /// The `Date:` field, parsed.
    pub fn date(&self) -> Option<Result<DateTime, ParseError>> {
        let h = self.header("date")?;
        Some(parse_date(h.raw_value()).map_err(|e| h.rebase(e)))
    }

    /// The `Message-ID:` field, parsed.
    pub fn message_id(&self) -> Option<Result<MessageId<'a>, ParseError>> {
        let h = self.header("message-id")?;
        Some(parse_msg_id(h.raw_value()).map_err(|e| h.rebase(e)))
    }

    fn id_list(&self, name: &str) -> Result<Vec<MessageId<'a>>, ParseError> {
        let mut out = Vec::new();
        for h in self.header_all(name) {
            out.extend(parse_msg_id_list(h.raw_value()).map_err(|e| h.rebase(e))?);
        }
        Ok(out)
    }

    /// The identifiers of `In-Reply-To:` (empty when absent).
    pub fn in_reply_to(&self) -> Result<Vec<MessageId<'a>>, ParseError> {
        self.id_list("in-reply-to")
    }

    /// The identifiers of `References:` (empty when absent).
    pub fn references(&self) -> Result<Vec<MessageId<'a>>, ParseError> {
        self.id_list("references")
    }

    /// The `Received:` trace fields, newest (topmost) first, parsed loosely.
    pub fn received(&self) -> impl Iterator<Item = Received<'a>> + '_ {
        self.header_all("received")
            .map(|h| Received::parse(h.raw_value()))
    }

    /// The MIME tree flattened in pre-order; index 0 is the message itself.
    ///
    /// When the tree exceeds a [`Limits`] bound, this is the tree up to that point (still
    /// consistent: every listed child exists); [`Message::try_parts`] reports the error.
    pub fn parts(&self) -> &[Part<'a>] {
        &self.tree().0
    }

    /// The MIME tree as [`Message::parts`], or the bound it exceeded
    /// ([`TooDeep`](crate::ParseErrorKind::TooDeep),
    /// [`TooManyParts`](crate::ParseErrorKind::TooManyParts), or
    /// [`TooManyHeaders`](crate::ParseErrorKind::TooManyHeaders) in a part).
    pub fn try_parts(&self) -> Result<&[Part<'a>], ParseError> {
        match self.tree() {
            (_, Some(e)) => Err(*e),
            (parts, None) => Ok(parts),
        }
    }

    /// The message as the root part of its MIME tree.
    pub fn root_part(&self) -> &Part<'a> {
        self.root()
    }

    /// The parts without children: the leaf bodies, in order.
    pub fn leaves(&self) -> impl Iterator<Item = &Part<'a>> + '_ {
        self.parts().iter().filter(|p| p.children().is_empty())
    }
}
