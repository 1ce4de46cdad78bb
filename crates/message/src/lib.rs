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
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;

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

pub use address::{
    AddrSpec, Address, Group, MAX_ADDRESSES, Mailbox, parse_addr_spec, parse_address_list,
    parse_mailbox,
};
pub use diagnose::{Category, Diagnosis, Reason, diagnose, diagnose_with_dns};

pub use date::{DateTime, Weekday};
pub use header::Header;
pub use message::{Limits, Message};
pub use mime::content_type::{ContentDisposition, ContentType};
pub use mime::params::Param;
pub use mime::tree::Part;
pub use msgid::{MessageId, parse_msg_id_list};
pub use trace::Received;
pub use transfer::{TransferEncoding, decode_base64, decode_quoted_printable};
