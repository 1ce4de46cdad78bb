//! Builders for the fields and messages a mail server writes: trace fields
//! (`Received:`, `Return-Path:`), `Date:`, `Message-ID:`, delivery status
//! notifications (RFC 3464), and whole RFC 5322 / MIME messages ([`MessageBuilder`]).
//!
//! Everything returns bytes or strings ready to be written, with CRLF line ends. No clock
//! and no random source is used: the caller passes the current time and unique tokens.
//! Values that come from peers (HELO names, paths, reply texts) are sanitised so that they
//! cannot break out of the field they are written into.
//!
//! [`MessageBuilder`] writes a whole message: address fields from the crate's own
//! [`Address`](crate::Address) types or strings, RFC 2047 encoded words only where text
//! needs them, RFC 2231 file names, the transfer encoding each body needs, and a MIME tree
//! (`multipart/mixed` > `multipart/related` > `multipart/alternative`) that
//! [`Message`](crate::Message) reads back to the same values. A value that could start a
//! header field of its own (CR, LF) is an error, never written.
//!
//! ```
//! use postwerk_message::{DateTime, Message, build::MessageBuilder};
//!
//! let bytes = MessageBuilder::new()
//!     .from(("Zoë", "zoe@example.com"))
//!     .to("bob@example.org")
//!     .subject("Photos from Zürich")
//!     .date(DateTime::from_unix(1_795_899_070, 0))
//!     .text("Hi Bob,\nthe photos are attached.\n")
//!     .attachment("image/jpeg", "Zürich 1.jpg", &[0xff, 0xd8, 0xff, 0xe0][..])
//!     .build()?;
//! assert!(bytes.is_ascii());
//! assert!(bytes.windows(2).all(|w| w[1] != b'\n' || w[0] == b'\r'));
//!
//! let msg = Message::parse(&bytes).unwrap();
//! assert_eq!(msg.subject().unwrap(), "Photos from Zürich");
//! assert_eq!(msg.body_text().unwrap(), "Hi Bob,\r\nthe photos are attached.\r\n");
//! let photo = msg.attachments().next().unwrap();
//! assert_eq!(photo.filename().unwrap(), "Zürich 1.jpg");
//! assert_eq!(photo.decoded_body().as_ref(), [0xff, 0xd8, 0xff, 0xe0]);
//! # Ok::<(), postwerk_message::build::BuildError>(())
//! ```

mod addresses;
mod date;
mod dsn;
mod encode;
mod message;
mod message_id;
mod received;
mod return_path;

pub use addresses::IntoAddresses;
pub use date::date_field;
pub use dsn::{Action, DsnBuilder, DsnRecipient};
pub use message::{Attachment, MessageBuilder};
pub use message_id::{message_id, message_id_field};
pub use received::{Protocol, ReceivedBuilder};
pub use return_path::return_path_field;

/// Why a builder refused its input.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A unique token for a message identifier or boundary that is not a dot-atom.
    #[error("invalid unique token")]
    InvalidToken,
    /// A domain that is not a dot-atom or a domain literal.
    #[error("invalid domain")]
    InvalidDomain,
    /// A status code that is not `class.subject.detail` (RFC 3463).
    #[error("invalid status code")]
    InvalidStatus,
    /// A delivery status notification without any recipient.
    #[error("no recipients")]
    NoRecipients,
    /// A delivery status notification addressed to the null reverse path `<>`, which
    /// must never receive one (RFC 5321 section 6.1).
    #[error("null reverse path")]
    NullReversePath,
    /// A header field name that is empty, longer than 76 characters, or holds a byte
    /// outside `ftext` (printable ASCII except `:`, RFC 5322 section 3.6.8).
    #[error("invalid header field name {0:?}")]
    InvalidFieldName(String),
    /// A custom header field that the message builder writes itself (`From`, `Subject`,
    /// `MIME-Version`, `Content-Type`, …); use the builder's own method.
    #[error("header field {0:?} is written by the builder")]
    ReservedField(String),
    /// A CR or LF (or NUL) in a value written into the named header field: it could start
    /// a new field (header injection).
    #[error("line break in the value of header field {0:?}")]
    LineBreakInValue(String),
    /// A string that is not an RFC 5322 address list, or an address that cannot be
    /// written back as one (no domain, control characters).
    #[error("invalid address {0:?}")]
    InvalidAddress(String),
    /// An address with UTF-8 in it while SMTPUTF8 output was not asked for.
    #[error("non-ASCII address {0:?} needs SMTPUTF8")]
    NonAsciiAddress(String),
    /// A value for [`MessageBuilder::header_raw`] with UTF-8 in it while SMTPUTF8 output
    /// was not asked for.
    #[error("non-ASCII value of header field {0:?} needs SMTPUTF8")]
    NonAsciiValue(String),
    /// A message without a `From:` address (RFC 5322 section 3.6 requires one).
    #[error("no From address")]
    MissingFrom,
    /// A message identifier or Content-ID that is not `id-left@id-right`.
    #[error("invalid message identifier {0:?}")]
    InvalidMessageId(String),
    /// A media type that is not `type/subtype` with token characters, or a `multipart/*`
    /// type given for a single part.
    #[error("invalid media type {0:?}")]
    InvalidMediaType(String),
    /// An attached `message/rfc822` (or `message/partial`, `message/external-body`) that
    /// cannot be written as `7bit` or `8bit`, the only encodings RFC 2046 section 5.2
    /// permits: 8-bit bytes without [`MessageBuilder::allow_8bit`] (or with `message/partial`
    /// or `message/external-body`, which must be 7bit), a NUL, or a line over 998 octets.
    #[error("attached message of type {0:?} needs an encoding RFC 2046 does not permit")]
    UnencodableMessage(String),
    /// A header field that cannot be folded into lines of at most 998 octets.
    #[error("header field {0:?} cannot be folded within 998 octets")]
    LineTooLong(String),
}

/// Whether `c` is `atext` (RFC 5322 section 3.2.3), ASCII only.
pub(crate) fn is_atext(c: char) -> bool {
    u8::try_from(c).is_ok_and(|b| b.is_ascii() && crate::lexer::is_atext(b))
}

/// Whether `s` is a non-empty `dot-atom-text`, ASCII only.
pub(crate) fn is_dot_atom(s: &str) -> bool {
    s.is_ascii() && crate::lexer::is_dot_atom_text(s)
}

/// Replaces characters that could break a structured field (controls, white space,
/// parentheses, backslash, `;`, `<`, `>`, `"`) with `?` and bounds the length.
pub(crate) fn clean_word(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| {
            if c.is_control() || c.is_whitespace() || "()\\;<>\"".contains(c) {
                '?'
            } else {
                c
            }
        })
        .collect();
    if out.is_empty() {
        out.push_str("unknown");
    }
    out
}

/// Replaces control characters (CR and LF included) with spaces and bounds the length.
pub(crate) fn clean_text(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Preferred line length (RFC 5322 section 2.1.1), CRLF excluded.
pub(crate) const LINE_LEN: usize = 78;

/// Hard line length limit (RFC 5322 section 2.1.1), CRLF excluded.
pub(crate) const MAX_LINE_LEN: usize = 998;

/// The one header folder of the crate: writes `name:` and then atoms (text that must stay
/// on one line), each after its separator (white space), folding by inserting CRLF before
/// the separator when the atom would take the line past [`LINE_LEN`] octets. Unfolding
/// (removing CRLF before white space) gives back exactly the text pushed, unless a
/// replacement separator for folds is set ([`Folder::fold_with`]). It never folds right
/// after the colon.
pub(crate) struct Folder<'o> {
    out: &'o mut String,
    line_len: usize,
    longest: usize,
    empty: bool,
    fold_with: Option<&'static str>,
}

impl<'o> Folder<'o> {
    /// Starts the field `name:` at the end of `out`.
    pub(crate) fn new(out: &'o mut String, name: &str) -> Self {
        out.push_str(name);
        out.push(':');
        let line_len = name.len() + 1;
        Folder {
            out,
            line_len,
            longest: line_len,
            empty: true,
            fold_with: None,
        }
    }

    /// Writes `ws` instead of an atom's separator where the line is folded.
    pub(crate) fn fold_with(mut self, ws: &'static str) -> Self {
        self.fold_with = Some(ws);
        self
    }

    /// Appends `sep` (non-empty white space) and `atom`, folding before `sep` when needed.
    pub(crate) fn push(&mut self, sep: &str, atom: &str) {
        if !self.empty && self.line_len + sep.len() + atom.len() > LINE_LEN {
            self.out.push_str("\r\n");
            self.line_len = 0;
            let sep = self.fold_with.unwrap_or(sep);
            self.out.push_str(sep);
            self.line_len += sep.len();
        } else {
            self.out.push_str(sep);
            self.line_len += sep.len();
        }
        self.out.push_str(atom);
        self.line_len += atom.len();
        self.longest = self.longest.max(self.line_len);
        self.empty = false;
    }

    /// The octets left on the line after `sep` when the folder cannot fold before the
    /// next atom (nothing pushed yet), `None` when it can.
    pub(crate) fn room_without_fold(&self, sep: &str) -> Option<usize> {
        self.empty
            .then(|| LINE_LEN.saturating_sub(self.line_len + sep.len()))
    }

    /// Ends the field with CRLF; returns the length of its longest line (CRLF excluded).
    pub(crate) fn finish(self) -> usize {
        self.out.push_str("\r\n");
        self.longest
    }
}

/// Writes `name: ` followed by the words, separated by spaces, folding with CRLF TAB
/// before a word that would take the line past 78 octets; ends with CRLF.
pub(crate) fn fold_words<'w>(name: &str, words: impl IntoIterator<Item = &'w str>) -> String {
    let mut out = String::with_capacity(128);
    let mut folder = Folder::new(&mut out, name).fold_with("\t");
    for w in words {
        folder.push(" ", w);
    }
    folder.finish();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding() {
        let words: Vec<String> = (0..30).map(|i| format!("word{i}")).collect();
        let f = fold_words("X-Test", words.iter().map(String::as_str));
        assert!(f.ends_with("\r\n"));
        for line in f.split("\r\n") {
            assert!(line.len() <= 78, "{line}");
        }
        let unfolded = f.replace("\r\n\t", " ");
        assert_eq!(unfolded.trim_end(), format!("X-Test: {}", words.join(" ")));
    }

    #[test]
    fn folder_keeps_white_space_and_never_folds_after_the_colon() {
        let mut out = String::new();
        let mut f = Folder::new(&mut out, "Subject");
        f.push(" ", &"a".repeat(80));
        f.push("\t ", "b");
        f.push(" ", &"c".repeat(70));
        assert_eq!(f.finish(), 89);
        assert_eq!(
            out,
            format!("Subject: {}\r\n\t b {}\r\n", "a".repeat(80), "c".repeat(70))
        );
        assert_eq!(
            out.replace("\r\n", ""),
            format!("Subject: {}\t b {}", "a".repeat(80), "c".repeat(70))
        );
    }

    #[test]
    fn cleaning() {
        assert_eq!(clean_word("a b\r\n(c);<>", 100), "a?b???c????");
        assert_eq!(clean_word("", 10), "unknown");
        assert_eq!(clean_text("a\r\nb", 10), "a  b");
        assert!(is_dot_atom("a.b-c"));
        assert!(!is_dot_atom("a..b"));
        assert!(!is_dot_atom(""));
    }
}
