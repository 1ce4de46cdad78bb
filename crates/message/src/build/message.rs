//! Writing whole messages: RFC 5322 header fields and a MIME body (RFC 2045, 2046, 2047,
//! 2183, 2231, 2392).
//!
//! The body is structured the way mail clients write it:
//!
//! ```text
//! multipart/mixed                      (only with attachments)
//! └── multipart/related                (only with inline parts)
//!     ├── multipart/alternative        (only with both text and HTML)
//!     │   ├── text/plain
//!     │   └── text/html
//!     └── inline parts (Content-ID)
//! └── attachments
//! ```
//!
//! so that [`Message::text_body`](crate::Message::text_body),
//! [`Message::html_body`](crate::Message::html_body) and
//! [`Message::attachments`](crate::Message::attachments) (RFC 8621 section 4.1.4) give back
//! what was put in.

use std::borrow::Cow;

use memchr::memmem;

use super::addresses::IntoAddresses;
use super::encode::{
    choose_encoding, cte_name, encode_base64, encode_quoted_printable, identity_encoding,
    push_params, push_phrase, push_raw, push_unstructured,
};
use super::{BuildError, Folder, MAX_LINE_LEN};
use crate::{Address, ContentType, DateTime, Mailbox, MessageId, TransferEncoding};

/// A body part that is not the text or HTML body: an attachment, or an inline part (an
/// image the HTML shows through `cid:`).
///
/// ```
/// use postwerk_message::build::Attachment;
/// let logo = Attachment::new("image/png", &b"\x89PNG..."[..])
///     .filename("logo.png")
///     .content_id("logo@example.com");
/// # let _ = logo;
/// ```
#[derive(Debug, Clone)]
pub struct Attachment<'a> {
    content_type: Cow<'a, str>,
    data: Cow<'a, [u8]>,
    filename: Option<Cow<'a, str>>,
    content_id: Option<Cow<'a, str>>,
}

impl<'a> Attachment<'a> {
    /// A part of media type `content_type` (`type/subtype`, parameters allowed, e.g.
    /// `text/plain; charset=iso-8859-1`; not `multipart/*`) holding `data` as it is: the
    /// bytes are transfer-encoded, never converted.
    pub fn new(content_type: impl Into<Cow<'a, str>>, data: impl Into<Cow<'a, [u8]>>) -> Self {
        Attachment {
            content_type: content_type.into(),
            data: data.into(),
            filename: None,
            content_id: None,
        }
    }

    /// The file name (any text, an empty one is left out; written as RFC 2231 `filename*=utf-8''…` where it is not
    /// plain ASCII, with continuations when long).
    pub fn filename(mut self, name: impl Into<Cow<'a, str>>) -> Self {
        self.filename = Some(name.into());
        self
    }

    /// The `Content-ID` (`id-left@id-right`, with or without angle brackets), which HTML
    /// refers to as `cid:id-left@id-right` (RFC 2392).
    pub fn content_id(mut self, id: impl Into<Cow<'a, str>>) -> Self {
        self.content_id = Some(id.into());
        self
    }
}

/// A custom header field.
#[derive(Debug, Clone)]
struct Custom<'a> {
    name: Cow<'a, str>,
    value: Cow<'a, str>,
    raw: bool,
}

/// Builds an RFC 5322 message with a MIME body, as bytes with CRLF line ends.
///
/// Header values that are not ASCII become RFC 2047 encoded words (UTF-8, at most 75
/// octets each, never splitting a character), and only those words; lines are folded at
/// 78 octets where the value has room to fold, and never exceed 998. Values are checked:
/// a CR, LF or NUL in any value is an error ([`BuildError::LineBreakInValue`]), so no
/// value can start a header field of its own. Bodies get the transfer encoding their
/// content needs: `7bit` when possible, quoted-printable for mostly-ASCII text, base64
/// otherwise; `8bit` only with [`MessageBuilder::allow_8bit`] or
/// [`MessageBuilder::smtputf8`]. An attached message (`message/rfc822`) is written as it
/// is, line ends made CRLF, `7bit` or `8bit` (RFC 2046 section 5.2.1 permits no other
/// encoding, and [`Part::message`](crate::Part::message) reads it back); one that needs
/// more (8-bit bytes without 8bit output, a NUL, a line over 998 octets) is
/// [`BuildError::UnencodableMessage`]: attach it as `message/global` (RFC 6532, which
/// may be encoded) or `application/octet-stream` instead. Boundaries are checked never to occur in the content.
///
/// Methods that take values store them; errors (an invalid address string, a bad field
/// name) are reported by [`MessageBuilder::build`], the first one found.
///
/// Nothing reads a clock: without [`MessageBuilder::date`] there is no `Date:` field (a
/// submission server adds one, RFC 6409 section 8.3); likewise `Message-ID:`.
///
/// ```
/// use postwerk_message::{DateTime, Message, build::{Attachment, MessageBuilder}};
///
/// let bytes = MessageBuilder::new()
///     .from(("Jöhn Doe", "john@example.com"))
///     .to("Mary Smith <mary@example.net>, team: a@example.org, b@example.org;")
///     .subject("Grüße")
///     .date(DateTime::from_unix(1_795_899_070, 60))
///     .message_id("20261128.1@example.com")
///     .text("Hello Mary,\nsee the report.\n")
///     .html("<p>Hello Mary,</p><p>see the report.</p>")
///     .attachment("application/pdf", "Bericht März.pdf", &b"%PDF-1.7"[..])
///     .build()?;
///
/// let msg = Message::parse(&bytes).unwrap();
/// assert_eq!(msg.subject().unwrap(), "Grüße");
/// assert_eq!(msg.from().unwrap()[0].as_mailbox().unwrap().display_name(), Some("Jöhn Doe"));
/// assert_eq!(msg.to().unwrap().len(), 2);
/// let text = msg.text_body().next().unwrap();
/// assert_eq!(text.decoded_text().unwrap(), "Hello Mary,\r\nsee the report.\r\n");
/// let html = msg.html_body().next().unwrap();
/// assert_eq!(html.decoded_text().unwrap(), "<p>Hello Mary,</p><p>see the report.</p>\r\n");
/// let pdf = msg.attachments().next().unwrap();
/// assert_eq!(pdf.filename().unwrap(), "Bericht März.pdf");
/// assert_eq!(pdf.decoded_body().as_ref(), b"%PDF-1.7");
/// # Ok::<(), postwerk_message::build::BuildError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MessageBuilder<'a> {
    error: Option<BuildError>,
    from: Vec<Address<'a>>,
    sender: Vec<Address<'a>>,
    reply_to: Vec<Address<'a>>,
    to: Vec<Address<'a>>,
    cc: Vec<Address<'a>>,
    bcc: Vec<Address<'a>>,
    subject: Option<Cow<'a, str>>,
    date: Option<DateTime>,
    message_id: Option<Cow<'a, str>>,
    in_reply_to: Vec<Cow<'a, str>>,
    references: Vec<Cow<'a, str>>,
    custom: Vec<Custom<'a>>,
    text: Option<Cow<'a, str>>,
    html: Option<Cow<'a, str>>,
    inline: Vec<Attachment<'a>>,
    attachments: Vec<Attachment<'a>>,
    allow_8bit: bool,
    smtputf8: bool,
}

/// Fields the builder writes itself, refused as custom fields.
const RESERVED: [&str; 16] = [
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
    "content-id",
];

impl<'a> MessageBuilder<'a> {
    /// An empty message.
    pub fn new() -> Self {
        Self::default()
    }

    fn add(
        mut self,
        field: fn(&mut Self) -> &mut Vec<Address<'a>>,
        value: impl IntoAddresses<'a>,
    ) -> Self {
        match value.into_addresses() {
            Ok(list) => field(&mut self).extend(list),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// Adds `From:` addresses (required; mailboxes, no groups).
    pub fn from(self, addresses: impl IntoAddresses<'a>) -> Self {
        self.add(|b| &mut b.from, addresses)
    }

    /// Sets the `Sender:` (one mailbox; RFC 5322 asks for it when `From:` has several).
    pub fn sender(self, addresses: impl IntoAddresses<'a>) -> Self {
        self.add(|b| &mut b.sender, addresses)
    }

    /// Adds `Reply-To:` addresses.
    pub fn reply_to(self, addresses: impl IntoAddresses<'a>) -> Self {
        self.add(|b| &mut b.reply_to, addresses)
    }

    /// Adds `To:` addresses.
    pub fn to(self, addresses: impl IntoAddresses<'a>) -> Self {
        self.add(|b| &mut b.to, addresses)
    }

    /// Adds `Cc:` addresses.
    pub fn cc(self, addresses: impl IntoAddresses<'a>) -> Self {
        self.add(|b| &mut b.cc, addresses)
    }

    /// Adds `Bcc:` addresses (written into the message; leave them out for copies that
    /// go to the other recipients).
    pub fn bcc(self, addresses: impl IntoAddresses<'a>) -> Self {
        self.add(|b| &mut b.bcc, addresses)
    }

    /// The `Subject:`, any text without CR or LF.
    pub fn subject(mut self, subject: impl Into<Cow<'a, str>>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// The `Date:`.
    pub fn date(mut self, date: DateTime) -> Self {
        self.date = Some(date);
        self
    }

    /// The `Message-ID:` (`id-left@id-right`, with or without angle brackets).
    pub fn message_id(mut self, id: impl Into<Cow<'a, str>>) -> Self {
        self.message_id = Some(id.into());
        self
    }

    /// Adds an identifier to `In-Reply-To:`.
    pub fn in_reply_to(mut self, id: impl Into<Cow<'a, str>>) -> Self {
        self.in_reply_to.push(id.into());
        self
    }

    /// Adds an identifier to `References:`.
    pub fn references(mut self, id: impl Into<Cow<'a, str>>) -> Self {
        self.references.push(id.into());
        self
    }

    /// Adds a header field with an unstructured value (RFC 5322 section 3.2.5): any text
    /// without CR or LF, encoded words where needed. The name must be `ftext` and not a
    /// field the builder writes itself.
    pub fn header(mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        self.custom.push(Custom {
            name: name.into(),
            value: value.into(),
            raw: false,
        });
        self
    }

    /// Adds a header field with a structured value written as it is (`List-Unsubscribe`,
    /// `Keywords`, …), folded at its own white space only: ASCII (UTF-8 with
    /// [`MessageBuilder::smtputf8`]) without CR or LF.
    pub fn header_raw(
        mut self,
        name: impl Into<Cow<'a, str>>,
        value: impl Into<Cow<'a, str>>,
    ) -> Self {
        self.custom.push(Custom {
            name: name.into(),
            value: value.into(),
            raw: true,
        });
        self
    }

    /// The plain-text body (line ends written as CRLF, a final one added).
    pub fn text(mut self, text: impl Into<Cow<'a, str>>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// The HTML body (line ends written as CRLF, a final one added).
    pub fn html(mut self, html: impl Into<Cow<'a, str>>) -> Self {
        self.html = Some(html.into());
        self
    }

    /// Adds an attachment (`Content-Disposition: attachment`) named `filename`.
    pub fn attachment(
        self,
        content_type: impl Into<Cow<'a, str>>,
        filename: impl Into<Cow<'a, str>>,
        data: impl Into<Cow<'a, [u8]>>,
    ) -> Self {
        self.attach(Attachment::new(content_type, data).filename(filename))
    }

    /// Adds an attachment as given.
    pub fn attach(mut self, attachment: Attachment<'a>) -> Self {
        self.attachments.push(attachment);
        self
    }

    /// Adds an inline part shown by the HTML body through `cid:content_id`
    /// (`multipart/related`, `Content-Disposition: inline`).
    pub fn inline(
        self,
        content_type: impl Into<Cow<'a, str>>,
        content_id: impl Into<Cow<'a, str>>,
        data: impl Into<Cow<'a, [u8]>>,
    ) -> Self {
        self.attach_inline(Attachment::new(content_type, data).content_id(content_id))
    }

    /// Adds an inline part as given (it should have a Content-ID).
    pub fn attach_inline(mut self, part: Attachment<'a>) -> Self {
        self.inline.push(part);
        self
    }

    /// Allow `8bit` bodies (for a server that announced 8BITMIME, RFC 6152). Header fields
    /// stay ASCII.
    pub fn allow_8bit(mut self, yes: bool) -> Self {
        self.allow_8bit = yes;
        self
    }

    /// Write for SMTPUTF8 (RFC 6531, RFC 6532): UTF-8 addresses are allowed, unstructured
    /// text is written as UTF-8 instead of encoded words, and bodies may be `8bit`.
    pub fn smtputf8(mut self, yes: bool) -> Self {
        self.smtputf8 = yes;
        self
    }

    /// The message as bytes.
    pub fn build(&self) -> Result<Vec<u8>, BuildError> {
        let mut out = Vec::new();
        self.write_to(&mut out)?;
        Ok(out)
    }

    /// Appends the message to `out`. On error, `out` is left as it was.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), BuildError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.from.is_empty() {
            return Err(BuildError::MissingFrom);
        }
        // RFC 5322 section 3.6.2: From is a mailbox-list, Sender a single mailbox.
        let group = self
            .from
            .iter()
            .chain(&self.sender)
            .find_map(Address::as_group);
        if let Some(g) = group {
            return Err(BuildError::InvalidAddress(g.to_string()));
        }
        if self.sender.len() > 1 {
            let list: Vec<String> = self.sender.iter().map(ToString::to_string).collect();
            return Err(BuildError::InvalidAddress(list.join(", ")));
        }
        let utf8 = self.smtputf8;
        let mut head = String::with_capacity(512);
        if let Some(d) = &self.date {
            head.push_str(&super::date_field(d));
        }
        for (name, list) in [
            ("From", &self.from),
            ("Sender", &self.sender),
            ("Reply-To", &self.reply_to),
            ("To", &self.to),
            ("Cc", &self.cc),
            ("Bcc", &self.bcc),
        ] {
            if !list.is_empty() {
                address_field(&mut head, name, list, utf8)?;
            }
        }
        if let Some(id) = &self.message_id {
            id_field(&mut head, "Message-ID", std::slice::from_ref(id))?;
        }
        if !self.in_reply_to.is_empty() {
            id_field(&mut head, "In-Reply-To", &self.in_reply_to)?;
        }
        if !self.references.is_empty() {
            id_field(&mut head, "References", &self.references)?;
        }
        if let Some(s) = &self.subject {
            check_value("Subject", s)?;
            let mut f = Folder::new(&mut head, "Subject");
            push_unstructured(&mut f, s, utf8);
            finish(f, "Subject")?;
        }
        for c in &self.custom {
            custom_field(&mut head, c, utf8)?;
        }
        head.push_str("MIME-Version: 1.0\r\n");

        let eight = self.allow_8bit || self.smtputf8;
        let mut leaves: Vec<Leaf<'_>> = Vec::new();
        let text = self
            .text
            .as_deref()
            .map(|t| text_leaf(t, "plain", eight, &mut leaves))
            .transpose()?;
        let html = self
            .html
            .as_deref()
            .map(|t| text_leaf(t, "html", eight, &mut leaves))
            .transpose()?;
        let mut core = match (text, html) {
            (Some(t), Some(h)) => Some(Node::Multi("alternative", vec![t, h])),
            (t, h) => t.or(h),
        };
        if !self.inline.is_empty() {
            let mut children: Vec<Node> = core.take().into_iter().collect();
            for a in &self.inline {
                children.push(attachment_leaf(a, "inline", eight, &mut leaves)?);
            }
            core = Some(Node::Multi("related", children));
        }
        if !self.attachments.is_empty() {
            let mut children: Vec<Node> = core.take().into_iter().collect();
            for a in &self.attachments {
                children.push(attachment_leaf(a, "attachment", eight, &mut leaves)?);
            }
            core = Some(Node::Multi("mixed", children));
        }
        let root = match core {
            Some(node) => node,
            None => text_leaf("", "plain", eight, &mut leaves)?,
        };

        let mut boundaries = Vec::new();
        assign_boundaries(&root, &leaves, &mut boundaries);
        let writer = Writer {
            leaves: &leaves,
            boundaries: &boundaries,
        };
        // Everything is checked; from here on nothing fails, so `out` is written directly.
        out.reserve(
            head.len()
                + 256
                + leaves
                    .iter()
                    .map(|l| l.headers.len() + l.encoded_len() + 64)
                    .sum::<usize>(),
        );
        let mut next_boundary = 0;
        match &root {
            Node::Leaf(i) => {
                if let Some(leaf) = leaves.get(*i) {
                    head.push_str(&leaf.headers);
                    out.extend_from_slice(head.as_bytes());
                    out.extend_from_slice(b"\r\n");
                    leaf.write_body(out);
                    if !leaf.body.is_empty() && !out.ends_with(b"\r\n") {
                        out.extend_from_slice(b"\r\n");
                    }
                }
            }
            Node::Multi(sub, _) => {
                let b = boundaries.first().map_or("", String::as_str);
                multipart_type(&mut head, sub, b);
                out.extend_from_slice(head.as_bytes());
                out.extend_from_slice(b"\r\n");
                writer.write(&root, &mut next_boundary, out);
            }
        }
        Ok(())
    }
}

/// Refuses CR, LF and NUL in a value written into field `name`.
fn check_value(name: &str, value: &str) -> Result<(), BuildError> {
    if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        return Err(BuildError::LineBreakInValue(name.to_owned()));
    }
    Ok(())
}

/// Ends a field; refuses one with a line over 998 octets.
fn finish(folder: Folder<'_>, name: &str) -> Result<(), BuildError> {
    if folder.finish() > MAX_LINE_LEN {
        return Err(BuildError::LineTooLong(name.to_owned()));
    }
    Ok(())
}

/// The addr-spec as written, checked to read back as the same address.
fn addr_text(addr: &crate::AddrSpec<'_>, utf8: bool) -> Result<String, BuildError> {
    let s = addr.to_string();
    // ASCII dot-atoms on both sides always read back.
    if super::is_dot_atom(addr.local_part()) && super::is_dot_atom(addr.domain()) {
        return Ok(s);
    }
    if s.chars().any(char::is_control) {
        return Err(BuildError::InvalidAddress(s));
    }
    if !utf8 && !s.is_ascii() {
        return Err(BuildError::NonAsciiAddress(s));
    }
    match crate::parse_addr_spec(s.as_bytes()) {
        Ok(back) if back == *addr => Ok(s),
        _ => Err(BuildError::InvalidAddress(s)),
    }
}

fn mailbox_atoms(
    f: &mut Folder<'_>,
    name: &str,
    m: &Mailbox<'_>,
    suffix: &str,
    utf8: bool,
) -> Result<(), BuildError> {
    let addr = addr_text(m.addr_spec(), utf8)?;
    match m.display_name() {
        Some(display) => {
            check_value(name, display)?;
            push_phrase(f, display, "");
            f.push(" ", &format!("<{addr}>{suffix}"));
        }
        None => f.push(" ", &format!("{addr}{suffix}")),
    }
    Ok(())
}

fn address_field(
    head: &mut String,
    name: &str,
    list: &[Address<'_>],
    utf8: bool,
) -> Result<(), BuildError> {
    let mut f = Folder::new(head, name);
    for (i, a) in list.iter().enumerate() {
        let sep = if i + 1 < list.len() { "," } else { "" };
        match a {
            Address::Mailbox(m) => mailbox_atoms(&mut f, name, m, sep, utf8)?,
            Address::Group(g) => {
                check_value(name, g.display_name())?;
                let members = g.mailboxes();
                if members.is_empty() {
                    push_phrase(&mut f, g.display_name(), &format!(":;{sep}"));
                    continue;
                }
                push_phrase(&mut f, g.display_name(), ":");
                for (j, m) in members.iter().enumerate() {
                    let end = if j + 1 < members.len() {
                        ",".to_owned()
                    } else {
                        format!(";{sep}")
                    };
                    mailbox_atoms(&mut f, name, m, &end, utf8)?;
                }
            }
        }
    }
    finish(f, name)
}

/// `<id-left@id-right>`, checked with the strict `msg-id` grammar.
fn msg_id(id: &str) -> Result<String, BuildError> {
    let trimmed = id.trim();
    let bracketed = if trimmed.starts_with('<') {
        Cow::Borrowed(trimmed)
    } else {
        Cow::Owned(format!("<{trimmed}>"))
    };
    let bad = || BuildError::InvalidMessageId(id.to_owned());
    if !bracketed.is_ascii() || bracketed.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(bad());
    }
    let parsed = MessageId::parse(bracketed.as_bytes()).map_err(|_| bad())?;
    Ok(parsed.to_string())
}

fn id_field(head: &mut String, name: &str, ids: &[Cow<'_, str>]) -> Result<(), BuildError> {
    let mut f = Folder::new(head, name);
    for id in ids {
        f.push(" ", &msg_id(id)?);
    }
    finish(f, name)
}

fn custom_field(head: &mut String, c: &Custom<'_>, utf8: bool) -> Result<(), BuildError> {
    let name: &str = &c.name;
    let valid = !name.is_empty()
        && name.len() <= 76
        && name.bytes().all(|b| (33..=126).contains(&b) && b != b':');
    if !valid {
        return Err(BuildError::InvalidFieldName(name.to_owned()));
    }
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(BuildError::ReservedField(name.to_owned()));
    }
    check_value(name, &c.value)?;
    let mut f = Folder::new(head, name);
    if c.raw {
        if !utf8 && !c.value.is_ascii() {
            return Err(BuildError::NonAsciiValue(name.to_owned()));
        }
        push_raw(&mut f, &c.value);
    } else {
        push_unstructured(&mut f, &c.value, utf8);
    }
    finish(f, name)
}

/// A leaf part: its header fields (each ending in CRLF) and its body, already encoded, or
/// still to be encoded as base64 while it is written (base64 never holds a boundary).
struct Leaf<'b> {
    headers: String,
    body: Cow<'b, [u8]>,
    /// Whether `body` is still to be base64-encoded.
    base64: bool,
    /// Whether the body is 7bit or 8bit text that could hold a boundary.
    raw: bool,
}

impl Leaf<'_> {
    fn encoded_len(&self) -> usize {
        if self.base64 {
            self.body.len().div_ceil(3) * 4 + self.body.len() / 57 * 2
        } else {
            self.body.len()
        }
    }

    fn write_body(&self, out: &mut Vec<u8>) {
        if self.base64 {
            encode_base64(&self.body, out);
        } else {
            out.extend_from_slice(&self.body);
        }
    }
}

/// A node of the MIME tree: a leaf (index into the leaves) or a multipart.
enum Node {
    Leaf(usize),
    Multi(&'static str, Vec<Node>),
}

/// Chooses the transfer encoding of `data` and encodes it, except for base64, which is
/// encoded while the message is written.
fn encode_body<'b>(
    data: Cow<'b, [u8]>,
    text_like: bool,
    eight: bool,
) -> (TransferEncoding, Cow<'b, [u8]>) {
    let cte = choose_encoding(&data, text_like, eight);
    let body = match cte {
        TransferEncoding::QuotedPrintable => {
            let mut v = Vec::with_capacity(data.len() + data.len() / 4);
            encode_quoted_printable(&data, &mut v);
            Cow::Owned(v)
        }
        _ => data,
    };
    (cte, body)
}

fn push_cte(headers: &mut String, cte: TransferEncoding) {
    if cte != TransferEncoding::SevenBit {
        headers.push_str("Content-Transfer-Encoding: ");
        headers.push_str(cte_name(cte));
        headers.push_str("\r\n");
    }
}

fn text_leaf<'b>(
    text: &'b str,
    subtype: &str,
    eight: bool,
    leaves: &mut Vec<Leaf<'b>>,
) -> Result<Node, BuildError> {
    let mut canonical = Vec::with_capacity(text.len() + 2);
    super::dsn::normalize_crlf(text.as_bytes(), &mut canonical);
    if !canonical.is_empty() && !canonical.ends_with(b"\r\n") {
        canonical.extend_from_slice(b"\r\n");
    }
    let (cte, body) = encode_body(Cow::Owned(canonical), true, eight);
    let mut headers = String::with_capacity(96);
    let mut f = Folder::new(&mut headers, "Content-Type");
    push_params(&mut f, &format!("text/{subtype}"), &[("charset", "utf-8")]);
    f.finish();
    push_cte(&mut headers, cte);
    leaves.push(Leaf {
        headers,
        raw: matches!(cte, TransferEncoding::SevenBit | TransferEncoding::EightBit),
        base64: cte == TransferEncoding::Base64,
        body,
    });
    Ok(Node::Leaf(leaves.len() - 1))
}

fn attachment_leaf<'b>(
    a: &'b Attachment<'_>,
    disposition: &str,
    eight: bool,
    leaves: &mut Vec<Leaf<'b>>,
) -> Result<Node, BuildError> {
    check_value("Content-Type", &a.content_type)?;
    let bad = || BuildError::InvalidMediaType(a.content_type.to_string());
    let ct = ContentType::parse(a.content_type.as_bytes()).ok_or_else(bad)?;
    if ct.is_multipart() || !a.content_type.is_ascii() {
        return Err(bad());
    }
    let mut headers = String::with_capacity(160);
    let mut f = Folder::new(&mut headers, "Content-Type");
    let params: Vec<(&str, &str)> = ct.params().iter().map(|p| (p.name(), p.value())).collect();
    push_params(
        &mut f,
        &format!("{}/{}", ct.main_type(), ct.subtype()),
        &params,
    );
    finish(f, "Content-Type")?;
    let text_like = ct.main_type() == "text";
    let (cte, body) = if ct.main_type() == "message"
        && matches!(ct.subtype(), "rfc822" | "partial" | "external-body")
    {
        // RFC 2046 section 5.2: an attached message is never base64 or quoted-printable;
        // `message/partial` and `message/external-body` are 7bit only.
        let mut canonical = Vec::with_capacity(a.data.len() + a.data.len() / 32);
        super::dsn::normalize_crlf(&a.data, &mut canonical);
        let eight = eight && ct.subtype() == "rfc822";
        let cte = identity_encoding(&canonical, eight)
            .ok_or_else(|| BuildError::UnencodableMessage(a.content_type.to_string()))?;
        (cte, Cow::Owned(canonical))
    } else {
        encode_body(Cow::Borrowed(&a.data), text_like, eight)
    };
    push_cte(&mut headers, cte);
    let mut f = Folder::new(&mut headers, "Content-Disposition");
    match a.filename.as_deref().filter(|n| !n.is_empty()) {
        Some(name) => {
            check_value("Content-Disposition", name)?;
            push_params(&mut f, disposition, &[("filename", name)]);
        }
        None => push_params(&mut f, disposition, &[]),
    }
    finish(f, "Content-Disposition")?;
    if let Some(id) = &a.content_id {
        id_field(&mut headers, "Content-ID", std::slice::from_ref(id))?;
    }
    leaves.push(Leaf {
        headers,
        raw: matches!(cte, TransferEncoding::SevenBit | TransferEncoding::EightBit),
        base64: cte == TransferEncoding::Base64,
        body,
    });
    Ok(Node::Leaf(leaves.len() - 1))
}

fn multipart_type(out: &mut String, subtype: &str, boundary: &str) {
    let mut f = Folder::new(out, "Content-Type");
    push_params(
        &mut f,
        &format!("multipart/{subtype}"),
        &[("boundary", boundary)],
    );
    f.finish();
}

/// Gives every multipart, in pre-order, a boundary that occurs in no leaf's header fields
/// or unencoded body. Quoted-printable and base64 bodies cannot hold one: the boundaries
/// start with `=_`, which neither encoding writes. All boundaries have the same length, so
/// none is part of another. Candidates are counted up, so the output is deterministic.
fn assign_boundaries(node: &Node, leaves: &[Leaf<'_>], boundaries: &mut Vec<String>) {
    let Node::Multi(_, children) = node else {
        return;
    };
    let index = boundaries.len();
    let mut n: u32 = 0;
    loop {
        let candidate = format!("=_postwerk_{index:02}_{n:08x}");
        let finder = memmem::Finder::new(candidate.as_bytes());
        let found = leaves.iter().any(|l| {
            finder.find(l.headers.as_bytes()).is_some() || (l.raw && finder.find(&l.body).is_some())
        });
        if !found {
            boundaries.push(candidate);
            break;
        }
        n = n.wrapping_add(1);
    }
    for c in children {
        assign_boundaries(c, leaves, boundaries);
    }
}

/// Writes multiparts with the boundaries chosen by [`assign_boundaries`].
struct Writer<'l, 'b> {
    leaves: &'l [Leaf<'b>],
    boundaries: &'l [String],
}

impl Writer<'_, '_> {
    /// Writes the body of `node` (a multipart's parts, or a leaf's body).
    fn write(&self, node: &Node, next: &mut usize, out: &mut Vec<u8>) {
        match node {
            Node::Leaf(i) => {
                if let Some(l) = self.leaves.get(*i) {
                    l.write_body(out);
                }
            }
            Node::Multi(_, children) => {
                let b = self.boundaries.get(*next).cloned().unwrap_or_default();
                *next += 1;
                for c in children {
                    out.extend_from_slice(b"--");
                    out.extend_from_slice(b.as_bytes());
                    out.extend_from_slice(b"\r\n");
                    match c {
                        Node::Leaf(i) => {
                            if let Some(l) = self.leaves.get(*i) {
                                out.extend_from_slice(l.headers.as_bytes());
                            }
                        }
                        Node::Multi(sub, _) => {
                            let inner = self.boundaries.get(*next).map_or("", String::as_str);
                            let mut h = String::with_capacity(96);
                            multipart_type(&mut h, sub, inner);
                            out.extend_from_slice(h.as_bytes());
                        }
                    }
                    out.extend_from_slice(b"\r\n");
                    self.write(c, next, out);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"--");
                out.extend_from_slice(b.as_bytes());
                out.extend_from_slice(b"--\r\n");
            }
        }
    }
}
