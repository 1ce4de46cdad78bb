//! # postwerk-message
//!
//! RFC 5322 Internet messages for Rust: addresses, header fields, dates, message
//! identifiers and the MIME structure, parsed zero-copy where the input allows and bounded
//! everywhere, plus builders for the fields a mail server writes (trace fields, bounces).
//!
//! This crate does no I/O.
//!
//! ## Addresses
//!
//! [`parse_address_list`], [`parse_mailbox`] and [`parse_addr_spec`] read RFC 5322
//! section 3.4 addresses from bytes, including the obsolete syntax of section 4.4
//! (obs-local-part, obs-domain, obs-route, obs-phrase, empty list elements), comments
//! nested up to 64 levels, quoted strings and pairs, domain literals, groups (empty ones
//! too) and RFC 6532 UTF-8. Values borrow from the input unless something had to be
//! unquoted, unescaped, stripped of comments or decoded. RFC 2047 encoded words in display
//! names are decoded only after the structure is parsed, so an encoded comma never splits
//! a list and a display name that looks like an address never becomes the address.
//! `Display` writes the canonical form, which parses back to an equal value.
//!
//! ```
//! use postwerk_message::{parse_address_list, Address};
//!
//! let list = parse_address_list(
//!     b"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>, \
//!       =?utf-8?Q?M=C3=BCller=2C_Anna?= <anna@example.com>, \
//!       undisclosed-recipients:;",
//! )?;
//! let Address::Mailbox(pete) = &list[0] else { unreachable!() };
//! assert_eq!(pete.display_name(), Some("Pete"));
//! assert_eq!(pete.addr_spec().local_part(), "pete");
//! assert_eq!(pete.addr_spec().domain(), "silly.test");
//! let Address::Mailbox(anna) = &list[1] else { unreachable!() };
//! assert_eq!(anna.display_name(), Some("Müller, Anna"));
//! assert_eq!(anna.to_string(), "=?utf-8?b?TcO8bGxlciwgQW5uYQ==?= <anna@example.com>");
//! let Address::Group(group) = &list[2] else { unreachable!() };
//! assert!(group.mailboxes().is_empty());
//! # Ok::<(), postwerk_message::ParseError>(())
//! ```
//!
//! [`diagnose`] classifies an addr-spec the way is_email 3.05 does: valid, valid only
//! under RFC 5321, with CFWS, deprecated, valid only under RFC 5322, or invalid, with the
//! [`Reason`].
//!
//! ## Messages
//!
//! [`Message::parse`] splits the header section into [`Header`] fields with `memchr`
//! (name and raw value borrowed from the input, CRLF or bare LF line ends, the obsolete
//! white space before the colon accepted) and builds the MIME tree as a flat arena of
//! [`Part`]s in pre-order, without recursion. Nothing is unfolded, decoded or converted
//! until asked: [`Header::unfolded`], [`Header::decoded`] (RFC 2047), the typed accessors
//! ([`Message::from`], [`Message::to`], [`Message::subject`], [`Message::date`],
//! [`Message::message_id`], [`Message::references`], [`Message::received`], …) and, per
//! part, [`Part::decoded_body`] (base64, quoted-printable) and [`Part::decoded_text`]
//! (charset to UTF-8). Content types follow RFC 2045/2046 with RFC 2231 parameter
//! continuations and charsets; `message/rfc822` parts have the encapsulated message as
//! their child. Header count, MIME depth and part count are bounded by [`Limits`].
//! Dates follow RFC 5322 section 3.3 and the obsolete forms of section 4.3 ([`DateTime`]).
//!
//! ## Two faces: strict grammar, forgiving accessors
//!
//! The grammar functions ([`parse_address_list`], [`parse_mailbox`], [`parse_addr_spec`],
//! [`DateTime::parse`], [`MessageId::parse`]) validate against the RFC grammar. The
//! [`Message`] accessors read real mail the way mail clients do: singular fields
//! ([`SINGULAR_FIELDS`]) from their first occurrence, never merged; raw 8-bit bytes in
//! headers as UTF-8 where valid, else in the message's charset, else Windows-1252; missing
//! commas, `;` separators, unclosed quotes, angle brackets, comments and groups; addresses
//! without a domain; `user@example.com (Full Name)` with the comment as the name; encoded
//! words in unknown charsets as lossy UTF-8; asctime, ISO 8601, zone-less and broken-zone
//! dates; message identifiers without angle brackets or `@`. [`Message::repairs`] lists
//! every [`Repair`] made.
//!
//! ```
//! use postwerk_message::{Message, RepairKind};
//!
//! let raw = b"From: Heinz M\xfcller <mueller@example.com>\n\
//!             To: \"Colleagues\": \"James Smythe\" <james@example.com>; Friends: jane@example.com;\n\
//!             Date: Tue Apr  7 10:00:00 2026\n\n";
//! let msg = Message::parse(raw)?;
//! assert_eq!(msg.from()?[0].as_mailbox().unwrap().display_name(), Some("Heinz Müller"));
//! assert_eq!(msg.to()?.len(), 2);
//! assert_eq!(msg.date().unwrap()?.to_unix(), 1_775_556_000);
//! let kinds: Vec<RepairKind> = msg.repairs().iter().map(|r| r.kind()).collect();
//! assert_eq!(
//!     kinds,
//!     [RepairKind::EightBitText, RepairKind::MissingComma, RepairKind::LenientDate]
//! );
//! # Ok::<(), postwerk_message::ParseError>(())
//! ```
//!
//! ## Owned messages
//!
//! Everything a [`Message`] gives borrows from its input until [`Message::into_owned`]
//! turns it into a `Message<'static>`: one copy of the input, shared by its header fields
//! and MIME parts, so the message can outlive the buffer, be stored or sent to another
//! thread. The values it holds have their own `into_owned` ([`Header::into_owned`],
//! [`Part::into_owned`], [`Address::into_owned`], [`MessageId::into_owned`],
//! [`ContentType::into_owned`], [`Received::into_owned`], …).
//!
//! ```
//! use postwerk_message::Message;
//!
//! fn read(buf: Vec<u8>) -> Message<'static> {
//!     Message::parse(&buf).unwrap().into_owned()
//! }
//! let msg = read(b"Subject: kept\r\n\r\nbody".to_vec());
//! assert_eq!(msg.subject().unwrap(), "kept");
//! ```
//!
//! ## Bodies
//!
//! [`Message::text_body`], [`Message::html_body`] and [`Message::attachments`] pick the
//! parts as RFC 8621 section 4.1.4 (JMAP's `parseStructure`) does; [`Message::body_text`]
//! gives the text (HTML rendered as plain text where there is no plain text) and
//! [`Part::message`] an attached message, borrowing from the same input.
//!
//! ```
//! use postwerk_message::{Address, Message};
//!
//! let raw = b"From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.com>\r\n\
//!             To: team: alice@example.com, bob@example.com;\r\n\
//!             Subject: Quarterly\r\n numbers\r\n\
//!             Date: Tue, 1 Jul 2003 10:52:37 +0200\r\n\
//!             Content-Type: multipart/mixed; boundary=\"b\"\r\n\
//!             \r\n\
//!             --b\r\n\
//!             Content-Type: text/plain; charset=utf-8\r\n\
//!             Content-Transfer-Encoding: quoted-printable\r\n\
//!             \r\n\
//!             Gr=C3=BC=C3=9Fe\r\n\
//!             --b\r\n\
//!             Content-Type: application/pdf\r\n\
//!             Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n\
//!             Content-Transfer-Encoding: base64\r\n\
//!             \r\n\
//!             JVBERi0x\r\n\
//!             --b--\r\n";
//! let msg = Message::parse(raw)?;
//! let Address::Mailbox(from) = &msg.from()?[0] else { unreachable!() };
//! assert_eq!(from.display_name(), Some("André"));
//! let Address::Group(team) = &msg.to()?[0] else { unreachable!() };
//! assert_eq!(team.mailboxes().len(), 2);
//! assert_eq!(msg.header("subject").unwrap().raw_value(), b"Quarterly\r\n numbers");
//! assert_eq!(msg.subject().unwrap(), "Quarterly numbers");
//! assert_eq!(msg.date().unwrap()?.to_unix(), 1_057_049_557);
//!
//! let leaves: Vec<_> = msg.leaves().collect();
//! assert_eq!(leaves[0].decoded_text().unwrap(), "Grüße");
//! assert_eq!(leaves[1].filename().unwrap(), "résumé.pdf");
//! assert_eq!(leaves[1].decoded_body().as_ref(), b"%PDF-1");
//! # Ok::<(), postwerk_message::ParseError>(())
//! ```
//!
//! | RFC | Implemented | Types |
//! |-----|-------------|-------|
//! | 5322 §2.2, §3.6, §4.5 | header section, fields in order, obsolete syntax | [`Message`], [`Header`] |
//! | 5322 §3.3, §4.3 | date-time with obsolete zones and years | [`DateTime`] |
//! | 5322 §3.6.4 | Message-ID, In-Reply-To, References (obsolete forms too) | [`MessageId`] |
//! | 5322 §3.6.7, 5321 §4.4 | trace fields, read loosely and written | [`Received`], [`build`] |
//! | 2045, 2046 | MIME fields, multipart, message/rfc822, base64, quoted-printable | [`Part`], [`ContentType`], [`TransferEncoding`] |
//! | 2047 | encoded words in unstructured fields and parameter values | [`Header::decoded`] |
//! | 2152 | UTF-7, in encoded words and bodies | [`Message::subject`], [`Part::decoded_text`] |
//! | 8621 §4.1.4 | textBody, htmlBody, attachments | [`Message::text_body`] |
//! | 2183 | Content-Disposition | [`ContentDisposition`] |
//! | 2231 | parameter continuations and charsets (language tags are dropped) | [`Param`] |
//! | 3464, 6522, 3463 | delivery status notifications | [`build::DsnBuilder`] |
//!
//! Not implemented: uuencode, BinHex and yEnc bodies, `message/partial` reassembly,
//! `message/external-body` retrieval; a base64 or quoted-printable encoded
//! `message/rfc822` part is a leaf (decode its body and parse that).
//!
//! ## Building
//!
//! [`build`] writes what a server adds or sends: `Received:` ([`build::ReceivedBuilder`]),
//! `Return-Path:`, `Date:`, `Message-ID:` and RFC 3464 delivery status notifications
//! ([`build::DsnBuilder`]), and whole messages ([`build::MessageBuilder`]: address fields
//! from this crate's types, RFC 2047 only where needed, text/HTML/attachments/inline parts
//! as mixed > related > alternative, RFC 2231 file names, the transfer encoding chosen from
//! the content, boundaries that never occur in it). The caller passes time and unique
//! tokens; nothing reads a clock.
//!
//! ## Optional features
//!
//! `serde`: `Serialize` for the parsed value types, and `Deserialize` for those that can be
//! owned (a deserialized value owns its text, at any lifetime, and is checked the way the
//! type's constructor checks it: a local part without line breaks, a valid domain or none,
//! MIME tokens, date-times in range). The forms:
//!
//! | Type | Form |
//! |------|------|
//! | [`AddrSpec`] | `{"local_part": "john doe", "domain": "example.com"}` (`domain` empty for an address read without one) |
//! | [`Mailbox`] | `{"display_name": "John" or null, "addr_spec": {…}}` (an obsolete route is not kept) |
//! | [`Group`] | `{"display_name": "team", "mailboxes": [{…}]}` |
//! | [`Address`] | `{"mailbox": {…}}` or `{"group": {…}}` |
//! | [`DateTime`] | `{"year": 2026, "month": 4, "day": 7, "hour": 10, "minute": 0, "second": 0, "offset_minutes": 120, "weekday": "Tue" or null}` |
//! | [`Weekday`] | `"Mon"` … `"Sun"` |
//! | [`MessageId`] | `"left@right"`, without angle brackets |
//! | [`ContentType`] | `{"type": "text", "subtype": "plain", "params": [{"name": "charset", "value": "utf-8"}]}` |
//! | [`ContentDisposition`] | `{"kind": "attachment", "params": [{…}]}` |
//! | [`Param`] | `{"name": "charset", "value": "utf-8"}` |
//! | [`TransferEncoding`] | `"7bit"`, `"8bit"`, `"binary"`, `"quoted-printable"`, `"base64"`, `"unknown"` |
//! | [`ParseError`], [`ParseErrorKind`] | `{"kind": "MissingAt", "offset": 3}` |
//! | [`Repair`], [`RepairKind`] | `{"kind": "MissingComma", "field": "To", "offset": 12}` (`Repair` serializes only) |
//! | [`Received`] | `{"from": …, "from_info": …, "by": …, "via": …, "with": …, "id": …, "for": …, "date": {…} or null}` (serializes only) |
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod repair;
#[cfg(feature = "serde")]
mod serde_impls;
mod src;

// Messages, MIME and builders (msg-body).
pub mod build;
mod date;
mod header;
mod message;
mod mime;
mod msgid;
mod trace;
mod transfer;

// Charsets and encoded words (msg-addr), used by both sides.
mod charset;
mod encoded_word;

// Addresses and their diagnosis (msg-addr).
mod address;
mod diagnose;
mod lexer;

pub use error::{ParseError, ParseErrorKind};
pub use repair::{Repair, RepairKind};

pub use address::{
    AddrSpec, Address, Group, MAX_ADDRESSES, Mailbox, parse_addr_spec, parse_address_list,
    parse_mailbox,
};
pub use diagnose::{Category, Diagnosis, Reason, diagnose, diagnose_with_dns};

pub use date::{DateTime, Weekday};
pub use header::Header;
pub use message::{Limits, Message, SINGULAR_FIELDS};
pub use mime::content_type::{ContentDisposition, ContentType};
pub use mime::params::Param;
pub use mime::tree::Part;
pub use msgid::{MessageId, parse_msg_id_list};
pub use trace::Received;
pub use transfer::{TransferEncoding, decode_base64, decode_quoted_printable};
