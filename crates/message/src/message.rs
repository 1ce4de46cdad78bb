//! Messages (RFC 5322 section 3.5): header fields in order, typed accessors, the body and
//! the MIME tree.

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::address::read_address_list;
use crate::date::{DateTime, read_date};
use crate::header::{Header, parse_header_section};
use crate::mime::bodies::{Bodies, parse_structure};
use crate::mime::tree::{Part, Tree, build_tree};
use crate::msgid::{MessageId, read_msg_id, read_msg_id_list};
use crate::repair::{Repair, RepairKind, Sink};
use crate::src::Src;
use crate::trace::Received;
use crate::{Address, ContentType, ParseError};

/// The fields RFC 5322 section 3.6 allows at most once; their accessors read the first
/// occurrence and [`Message::repairs`] reports the others.
pub const SINGULAR_FIELDS: [&str; 11] = [
    "date",
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "message-id",
    "in-reply-to",
    "references",
    "subject",
];

/// The address fields among [`SINGULAR_FIELDS`].
const ADDRESS_FIELDS: [&str; 6] = ["from", "sender", "reply-to", "to", "cc", "bcc"];

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

/// A parsed message; everything borrows from the input (until [`Message::into_owned`]).
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
    /// The input, or (after [`Message::into_owned`]) one shared copy of it.
    input: Src<'a>,
    headers: Vec<Header<'a>>,
    body_start: usize,
    limits: Limits,
    /// Offsets of header-section lines that were not fields and were skipped.
    skipped: Vec<usize>,
    tree: OnceLock<Tree<'a>>,
    bodies: OnceLock<Bodies>,
}

impl<'a> Message<'a> {
    /// Parses a message with the default [`Limits`].
    ///
    /// Lines may end in CRLF or LF. A field is `name:` with a name of bytes 33–126 (so
    /// `Sub ject:` is not a field), white space before the colon allowed (the obsolete
    /// form of RFC 5322 section 4.5). The header section ends at the first empty line or
    /// at the end of the input. A line that is neither a field nor the continuation of
    /// one (a line starting with white space) is skipped, with its continuation lines,
    /// when a field follows it ([`RepairKind::SkippedLine`]); when none does, it is the
    /// first line of a body that lacks its blank separator line. A leading mbox `From `
    /// line is skipped.
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
            input: Src::Borrowed(input),
            headers: section.headers,
            body_start: section.body_start,
            limits: limits.clone(),
            skipped: section.skipped,
            tree: OnceLock::new(),
            bodies: OnceLock::new(),
        })
    }

    fn tree(&self) -> &Tree<'a> {
        self.tree
            .get_or_init(|| build_tree(&self.input, &self.headers, self.body_start, &self.limits))
    }

    fn root(&self) -> &Part<'a> {
        // build_tree always yields the root part first.
        &self.tree().0[0]
    }

    /// The input the message was parsed from.
    pub fn raw(&self) -> &[u8] {
        self.input.all()
    }

    /// The same message, owning its bytes: one copy of the input shared by the header
    /// fields' values and the MIME parts (the tree is kept when it was built already).
    /// Every accessor gives the same values as on the borrowed message; values that borrow
    /// from the input there (display names, `Cow`s of unfolded or decoded text, decoded
    /// bodies) are copied out of the owned message here. An owned message that is already
    /// owned is moved, not copied.
    ///
    /// ```
    /// use postwerk_message::Message;
    /// let buf = b"From: Mary <mary@example.net>\r\nSubject: hi\r\n\r\nHello\r\n".to_vec();
    /// let msg: Message<'static> = Message::parse(&buf).unwrap().into_owned();
    /// drop(buf);
    /// assert_eq!(msg.subject().unwrap(), "hi");
    /// assert_eq!(msg.from().unwrap()[0].as_mailbox().unwrap().display_name(), Some("Mary"));
    /// assert_eq!(msg.body(), b"Hello\r\n");
    /// ```
    pub fn into_owned(self) -> Message<'static> {
        self.owned_as()
    }

    /// [`Message::into_owned`] at any lifetime (`Message` is invariant in its lifetime, so
    /// a `Message<'static>` does not coerce to a `Message<'b>`).
    pub(crate) fn owned_as<'b>(self) -> Message<'b> {
        let input = self.input.to_shared(0, self.input.all().len());
        let tree = OnceLock::new();
        if let Some((parts, error)) = self.tree.into_inner() {
            let parts = parts
                .into_iter()
                .map(|p| p.with_src(input.clone()))
                .collect();
            let _ = tree.set((parts, error));
        }
        Message {
            input,
            headers: self.headers.into_iter().map(Header::into_owned).collect(),
            body_start: self.body_start,
            limits: self.limits,
            skipped: self.skipped,
            tree,
            bodies: self.bodies,
        }
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
    pub fn body(&self) -> &[u8] {
        self.input.get(self.body_start, self.input.all().len())
    }

    /// The `charset` of the message's `Content-Type`, the legacy charset in which raw
    /// 8-bit header bytes that are not UTF-8 are read first.
    fn charset(&self) -> Option<Cow<'a, str>> {
        let h = self.header("content-type")?;
        match h.value_cow() {
            Cow::Borrowed(b) => ContentType::parse(b)?.take_param("charset"),
            Cow::Owned(v) => ContentType::parse(v)?
                .take_param("charset")
                .map(|c| Cow::Owned(c.into_owned())),
        }
    }

    fn addresses(&self, name: &str, sink: &mut Sink) -> Result<Vec<Address<'a>>, ParseError> {
        let Some(h) = self.header(name) else {
            return Ok(Vec::new());
        };
        let list = match h.value_cow() {
            Cow::Borrowed(b) => read_address_list(b, || self.charset(), sink),
            Cow::Owned(v) => read_address_list(v, || self.charset(), sink)
                .map(|l| l.into_iter().map(Address::into_owned).collect()),
        };
        list.map_err(|e| h.rebase(e))
    }

    /// The `From:` addresses, empty when the field is absent.
    ///
    /// Like every address accessor, this reads the first `From:` field only (a second one
    /// is reported by [`Message::repairs`], never merged: sender checks such as DMARC
    /// depend on that), and reads it the way mail clients do: the RFC 5322 grammar first;
    /// where it fails, raw 8-bit bytes are read as UTF-8 where valid, else in the
    /// message's charset, else Windows-1252; missing commas and `;` separators are
    /// tolerated; quoted strings, angle addresses, comments and groups left open are
    /// closed at the end of the field; an address without `@domain` keeps its local part
    /// (with an empty [`AddrSpec::domain`](crate::AddrSpec::domain)); text that is no
    /// address is dropped. A bare addr-spec ended by a comment, the RFC 822 habit
    /// `user@example.com (Full Name)`, takes the comment as its display name. The only
    /// error is
    /// [`TooManyAddresses`](crate::ParseErrorKind::TooManyAddresses).
    ///
    /// ```
    /// use postwerk_message::{Message, RepairKind};
    /// let raw = b"From: Heinz M\xfcller <mueller@example.com>\r\n\
    ///             From: mallory@example.net\r\n\r\n";
    /// let msg = Message::parse(raw).unwrap();
    /// let from = msg.from().unwrap();
    /// assert_eq!(from.len(), 1);
    /// assert_eq!(from[0].as_mailbox().unwrap().display_name(), Some("Heinz Müller"));
    /// let kinds: Vec<RepairKind> = msg.repairs().iter().map(|r| r.kind()).collect();
    /// assert_eq!(kinds, [RepairKind::EightBitText, RepairKind::DuplicateField]);
    /// ```
    pub fn from(&self) -> Result<Vec<Address<'a>>, ParseError> {
        self.addresses("from", &mut Sink::discarding())
    }

    /// The `Sender:` addresses, read as [`Message::from`] reads.
    pub fn sender(&self) -> Result<Vec<Address<'a>>, ParseError> {
        self.addresses("sender", &mut Sink::discarding())
    }

    /// The `Reply-To:` addresses, read as [`Message::from`] reads.
    pub fn reply_to(&self) -> Result<Vec<Address<'a>>, ParseError> {
        self.addresses("reply-to", &mut Sink::discarding())
    }

    /// The `To:` addresses, read as [`Message::from`] reads.
    pub fn to(&self) -> Result<Vec<Address<'a>>, ParseError> {
        self.addresses("to", &mut Sink::discarding())
    }

    /// The `Cc:` addresses, read as [`Message::from`] reads.
    pub fn cc(&self) -> Result<Vec<Address<'a>>, ParseError> {
        self.addresses("cc", &mut Sink::discarding())
    }

    /// The `Bcc:` addresses, read as [`Message::from`] reads.
    pub fn bcc(&self) -> Result<Vec<Address<'a>>, ParseError> {
        self.addresses("bcc", &mut Sink::discarding())
    }

    /// The decoded subject and what decoding noticed (raw 8-bit bytes read in a legacy
    /// charset, an encoded word in an unknown charset).
    fn subject_read(&self) -> Option<(Cow<'a, str>, crate::encoded_word::Notes)> {
        let h = self.header("subject")?;
        let charset = if h.raw_value().is_ascii() {
            None
        } else {
            self.charset()
        };
        Some(h.decoded_in(charset.as_deref()))
    }

    /// The first `Subject:`, unfolded, encoded words decoded (UTF-7 and every charset
    /// `encoding_rs` knows; a word in another charset as lossy UTF-8, reported as
    /// [`RepairKind::UnknownCharset`](crate::RepairKind::UnknownCharset)); raw 8-bit bytes
    /// read as UTF-8 where valid, else in the message's charset, else Windows-1252.
    pub fn subject(&self) -> Option<Cow<'a, str>> {
        self.subject_read().map(|s| s.0)
    }

    /// The first `Date:` field, read as RFC 5322 section 3.3 writes it and, beyond the
    /// grammar, as mail clients read it: asctime (`Tue Apr  7 10:00:00 2026`), ISO 8601
    /// (`2026-04-07T10:00:00Z`), no zone (taken as `-0000`, an offset of 0), `UT`/`UTC`,
    /// one-digit time parts, no seconds or weekday, `10:00 PM`, an unreadable zone (`H0500`,
    /// taken as `-0000`). The error is the strict
    /// parser's, for a value that is no date at all.
    pub fn date(&self) -> Option<Result<DateTime, ParseError>> {
        let h = self.header("date")?;
        Some(read_date(h.raw_value(), &mut Sink::discarding()).map_err(|e| h.rebase(e)))
    }

    /// The first `Message-ID:` field, read as RFC 5322 section 3.6.4 writes it and, beyond
    /// the grammar, without angle brackets or without `@` (then
    /// [`MessageId::right`] is empty).
    pub fn message_id(&self) -> Option<Result<MessageId<'a>, ParseError>> {
        let h = self.header("message-id")?;
        let id = match h.value_cow() {
            Cow::Borrowed(b) => read_msg_id(b, &mut Sink::discarding()),
            Cow::Owned(v) => read_msg_id(v, &mut Sink::discarding()).map(MessageId::into_owned),
        };
        Some(id.map_err(|e| h.rebase(e)))
    }

    fn id_list(&self, name: &str) -> Result<Vec<MessageId<'a>>, ParseError> {
        let Some(h) = self.header(name) else {
            return Ok(Vec::new());
        };
        let list = match h.value_cow() {
            Cow::Borrowed(b) => read_msg_id_list(b, &mut Sink::discarding()),
            Cow::Owned(v) => read_msg_id_list(v, &mut Sink::discarding())
                .map(|l| l.into_iter().map(MessageId::into_owned).collect()),
        };
        list.map_err(|e| h.rebase(e))
    }

    /// The identifiers of the first `In-Reply-To:` (empty when absent), read as RFC 5322
    /// section 3.6.4 writes them (obsolete phrases between them skipped) and, where that
    /// grammar fails or finds nothing, the way [`Message::message_id`] reads one: every
    /// `<…>` with white space and comments inside dropped and `@` not required, or,
    /// without angle brackets, the words holding an `@` (a single word without one is
    /// taken too).
    ///
    /// ```
    /// use postwerk_message::Message;
    /// let raw = b"In-Reply-To: 1234@example.com\r\nReferences: <a@x> <b (c)@y> <c>\r\n\r\n";
    /// let msg = Message::parse(raw).unwrap();
    /// assert_eq!(msg.in_reply_to().unwrap()[0].as_str(), "1234@example.com");
    /// let refs: Vec<String> = msg.references().unwrap().iter().map(|i| i.as_str().to_string()).collect();
    /// assert_eq!(refs, ["a@x", "b@y", "c"]);
    /// ```
    pub fn in_reply_to(&self) -> Result<Vec<MessageId<'a>>, ParseError> {
        self.id_list("in-reply-to")
    }

    /// The identifiers of the first `References:` (empty when absent), read as
    /// [`Message::in_reply_to`] reads.
    pub fn references(&self) -> Result<Vec<MessageId<'a>>, ParseError> {
        self.id_list("references")
    }

    /// What the accessors repair to read this message, in the order of the input: lines
    /// of the header section that were skipped, duplicates of the
    /// [`SINGULAR_FIELDS`] (each reported at its own offset; the accessors read the
    /// first), what reading the address fields, `Subject:`, `Date:`, `Message-ID:`,
    /// `In-Reply-To:` and `References:` repaired, and body parts and `Subject:` encoded words
    /// in a charset this crate does not know ([`RepairKind::UnknownCharset`]). Empty for a message that follows RFC 5322.
    ///
    /// ```
    /// use postwerk_message::{Message, RepairKind};
    /// let raw = b"Subject: hi\r\nthis line is no field\r\nTo: a@example.com b@example.com\r\n\
    ///             Date: Tue Apr  7 10:00:00 2026\r\n\r\n";
    /// let msg = Message::parse(raw).unwrap();
    /// assert_eq!(msg.to().unwrap().len(), 2);
    /// let kinds: Vec<RepairKind> = msg.repairs().iter().map(|r| r.kind()).collect();
    /// assert_eq!(
    ///     kinds,
    ///     [RepairKind::SkippedLine, RepairKind::MissingComma, RepairKind::LenientDate]
    /// );
    /// assert_eq!(msg.repairs()[0].offset(), 13);
    /// ```
    pub fn repairs<'s>(&'s self) -> Vec<Repair<'s>> {
        let mut out: Vec<Repair<'_>> = self
            .skipped
            .iter()
            .map(|&off| Repair::new(RepairKind::SkippedLine, None, off))
            .collect();
        for name in SINGULAR_FIELDS {
            for h in self.header_all(name).skip(1) {
                out.push(Repair::new(
                    RepairKind::DuplicateField,
                    Some(h.name()),
                    h.offset(),
                ));
            }
        }
        let mut add = |h: &'s Header<'a>, sink: Sink| {
            for (kind, off) in sink.into_found() {
                out.push(Repair::new(kind, Some(h.name()), h.value_offset() + off));
            }
        };
        for name in ADDRESS_FIELDS {
            if let Some(h) = self.header(name) {
                let mut sink = Sink::collecting();
                let _ = self.addresses(name, &mut sink);
                add(h, sink);
            }
        }
        if let Some(h) = self.header("subject")
            && let Some((_, notes)) = self.subject_read()
        {
            let mut sink = Sink::collecting();
            if notes.legacy {
                sink.push(RepairKind::EightBitText, 0);
            }
            if notes.unknown_charset {
                sink.push(RepairKind::UnknownCharset, 0);
            }
            add(h, sink);
        }
        if let Some(h) = self.header("date") {
            let mut sink = Sink::collecting();
            let _ = read_date(h.raw_value(), &mut sink);
            add(h, sink);
        }
        if let Some(h) = self.header("message-id") {
            let mut sink = Sink::collecting();
            let _ = read_msg_id(h.raw_value(), &mut sink);
            add(h, sink);
        }
        for name in ["in-reply-to", "references"] {
            if let Some(h) = self.header(name) {
                let mut sink = Sink::collecting();
                let _ = read_msg_id_list(h.raw_value(), &mut sink);
                add(h, sink);
            }
        }
        let parts = self.parts();
        let mut bodies: Vec<usize> = self.bodies().text.clone();
        bodies.extend(&self.bodies().html);
        bodies.sort_unstable();
        bodies.dedup();
        for p in bodies.iter().filter_map(|&i| parts.get(i)) {
            if let (Some(h), Some(label)) = (p.header("content-type"), p.content_type().charset())
                && !crate::charset::is_known(label)
            {
                out.push(Repair::new(
                    RepairKind::UnknownCharset,
                    Some(h.name()),
                    h.offset(),
                ));
            }
        }
        out.sort_by_key(Repair::offset);
        out
    }

    /// The `Received:` trace fields, newest (topmost) first, parsed loosely.
    pub fn received(&self) -> impl Iterator<Item = Received<'a>> + '_ {
        self.header_all("received").map(|h| match h.value_cow() {
            Cow::Borrowed(b) => Received::parse(b),
            Cow::Owned(v) => Received::parse(v).into_owned(),
        })
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

    fn bodies(&self) -> &Bodies {
        self.bodies.get_or_init(|| parse_structure(self.parts()))
    }

    fn indexed<'s>(&'s self, list: &'s [usize]) -> impl Iterator<Item = &'s Part<'a>> + 's {
        let parts = self.parts();
        list.iter().filter_map(move |&i| parts.get(i))
    }

    /// The parts to show as the plain-text body, in order: RFC 8621 section 4.1.4's
    /// `textBody` (the JMAP `parseStructure` algorithm). In a `multipart/alternative`,
    /// the `text/plain` alternative; where there is only HTML, the HTML part; inline
    /// images, audio and video in a `multipart/mixed` are among them.
    ///
    /// ```
    /// use postwerk_message::Message;
    /// let raw = b"Content-Type: multipart/alternative; boundary=b\r\n\r\n\
    ///             --b\r\nContent-Type: text/plain\r\n\r\nHello\r\n\
    ///             --b\r\nContent-Type: text/html\r\n\r\n<p>Hello</p>\r\n--b--\r\n";
    /// let msg = Message::parse(raw).unwrap();
    /// let text: Vec<_> = msg.text_body().map(|p| p.content_type().subtype()).collect();
    /// let html: Vec<_> = msg.html_body().map(|p| p.content_type().subtype()).collect();
    /// assert_eq!((text.as_slice(), html.as_slice()), (&["plain"][..], &["html"][..]));
    /// assert_eq!(msg.attachments().count(), 0);
    /// assert_eq!(msg.body_text().unwrap(), "Hello");
    /// ```
    pub fn text_body(&self) -> impl Iterator<Item = &Part<'a>> + '_ {
        self.indexed(&self.bodies().text)
    }

    /// The parts to show as the HTML body, in order: RFC 8621 section 4.1.4's `htmlBody`.
    /// Where there is only plain text, the plain-text part.
    pub fn html_body(&self) -> impl Iterator<Item = &Part<'a>> + '_ {
        self.indexed(&self.bodies().html)
    }

    /// The attachments, in order: RFC 8621 section 4.1.4's `attachments`: every leaf
    /// that is not a body part (a `Content-Disposition: attachment`, a type that is
    /// neither text nor inline media, a named text part that is not the first of its
    /// multipart, parts after the first of a `multipart/related`, inline media where only
    /// one of the bodies can show it). An attached message (`message/rfc822`) is one
    /// attachment; [`Part::message`] reads it.
    pub fn attachments(&self) -> impl Iterator<Item = &Part<'a>> + '_ {
        self.indexed(&self.bodies().attachments)
    }

    /// Whether the message has an attachment to offer for download: an attachment other
    /// than a resource of a `multipart/related` (an image the HTML shows through its
    /// `Content-ID`) that is not marked `Content-Disposition: attachment`.
    pub fn has_attachment(&self) -> bool {
        let parts = self.parts();
        self.attachments().any(|p| {
            let related_resource = p
                .parent()
                .and_then(|i| parts.get(i))
                .is_some_and(|parent| parent.content_type().is("multipart", "related"))
                && p.header("content-id").is_some()
                && !p.content_disposition().is_some_and(|d| d.is_attachment());
            !related_resource
        })
    }

    /// The message's text: the [`Message::text_body`] parts' text joined by line breaks
    /// (an HTML part among them rendered as plain text), or, when they hold no text, the
    /// [`Message::html_body`] rendered as plain text. `None` when neither has text.
    /// Borrowed when it is one plain-text part that needs no decoding.
    pub fn body_text(&self) -> Option<Cow<'a, str>> {
        crate::mime::bodies::join_text(self.text_body())
            .or_else(|| crate::mime::bodies::join_text(self.html_body()))
    }
}
