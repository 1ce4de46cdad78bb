//! The wire format shared by the server and the client: commands, status
//! lines with response codes, capabilities, SASL framing, the APOP digest,
//! and dot-stuffing.

mod apop;
mod capability;
mod command;
mod dot;
mod response;
mod sasl;

pub use apop::apop_digest;
pub use capability::Capabilities;
pub use command::{Command, CommandError};
pub use dot::{DotStuffer, DotUnstuffer, wire_size};
pub use response::{Response, ResponseCode, ResponseError, Status, sasl_continuation};
pub use sasl::{SaslError, decode_sasl, encode_plain, encode_sasl};

/// Longest unique-id (RFC 1939 section 7: 1 to 70 characters).
pub const MAX_UID_LEN: usize = 70;

/// Whether `uid` is a valid RFC 1939 unique-id: 1 to 70 characters in the
/// range 0x21 to 0x7E.
///
/// ```
/// assert!(postwerk_pop3::codec::is_valid_uid("1234.abc"));
/// assert!(!postwerk_pop3::codec::is_valid_uid("has space"));
/// ```
pub fn is_valid_uid(uid: &str) -> bool {
    (1..=MAX_UID_LEN).contains(&uid.len()) && uid.bytes().all(|b| (0x21..=0x7e).contains(&b))
}
