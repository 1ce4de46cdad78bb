//! POP3 status lines: `+OK`, `-ERR`, RFC 2449 response codes and the SASL
//! continuation line of RFC 5034.
//!
//! ```text
//! single-line  = status [SP text] CRLF        ; RFC 2449 section 9
//! status       = "+OK" / "-ERR"
//! text         = *schar / resp-code *CHAR
//! resp-code    = "[" resp-level *("/" resp-level) "]"
//! continue-req = "+" SP [base64] CRLF          ; RFC 5034 section 4
//! ```
//!
//! Every text the server sends lives in the named constructors of
//! [`Response`], so the wire wording is in one place.

use std::borrow::Cow;
use std::fmt;

use super::CommandError;

/// `+OK` or `-ERR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `+OK`.
    Ok,
    /// `-ERR`.
    Err,
}

/// An RFC 2449 extended response code, e.g. `[IN-USE]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseCode {
    /// `[IN-USE]`: the maildrop is locked by another session (RFC 2449 8.1.1).
    InUse,
    /// `[LOGIN-DELAY]`: logged in too recently (RFC 2449 8.1.2).
    LoginDelay,
    /// `[SYS/TEMP]`: temporary system problem (RFC 3206).
    SysTemp,
    /// `[SYS/PERM]`: permanent system problem (RFC 3206).
    SysPerm,
    /// `[AUTH]`: the credentials are the problem (RFC 3206).
    Auth,
    /// `[UTF8]`: the operation needs UTF-8 mode (RFC 6856).
    Utf8,
    /// A code this crate does not interpret, as sent (without brackets).
    Unknown(String),
}

impl ResponseCode {
    /// The code as written between the brackets.
    pub fn as_str(&self) -> &str {
        match self {
            ResponseCode::InUse => "IN-USE",
            ResponseCode::LoginDelay => "LOGIN-DELAY",
            ResponseCode::SysTemp => "SYS/TEMP",
            ResponseCode::SysPerm => "SYS/PERM",
            ResponseCode::Auth => "AUTH",
            ResponseCode::Utf8 => "UTF8",
            ResponseCode::Unknown(s) => s,
        }
    }

    /// Interpret the text between the brackets (case-insensitive).
    pub fn from_name(s: &str) -> ResponseCode {
        match s.to_ascii_uppercase().as_str() {
            "IN-USE" => ResponseCode::InUse,
            "LOGIN-DELAY" => ResponseCode::LoginDelay,
            "SYS/TEMP" => ResponseCode::SysTemp,
            "SYS/PERM" => ResponseCode::SysPerm,
            "AUTH" => ResponseCode::Auth,
            "UTF8" => ResponseCode::Utf8,
            _ => ResponseCode::Unknown(s.to_owned()),
        }
    }
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.as_str())
    }
}

/// A single-line POP3 response (the status line of a multi-line one too).
///
/// ```
/// use postwerk_pop3::codec::{Response, ResponseCode};
/// assert_eq!(Response::ok("done").to_line(), b"+OK done\r\n");
/// assert_eq!(
///     Response::err(Some(ResponseCode::InUse), "locked").to_line(),
///     b"-ERR [IN-USE] locked\r\n"
/// );
/// let parsed = Response::parse(b"-ERR [SYS/TEMP] try later").unwrap();
/// assert_eq!(parsed.code, Some(ResponseCode::SysTemp));
/// assert_eq!(parsed.text, "try later");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// `+OK` or `-ERR`.
    pub status: Status,
    /// The RFC 2449 response code, if any.
    pub code: Option<ResponseCode>,
    /// The human-readable text after the code (may be empty).
    pub text: Cow<'static, str>,
}

/// Why a status line could not be parsed (client side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The line starts with neither `+OK` nor `-ERR`.
    #[error("status indicator is neither +OK nor -ERR")]
    BadStatus,
    /// The line is not valid UTF-8.
    #[error("status line is not valid UTF-8")]
    NotUtf8,
}

impl Response {
    /// `+OK text`.
    pub fn ok(text: impl Into<Cow<'static, str>>) -> Response {
        Response {
            status: Status::Ok,
            code: None,
            text: text.into(),
        }
    }

    /// `-ERR [code] text`.
    pub fn err(code: Option<ResponseCode>, text: impl Into<Cow<'static, str>>) -> Response {
        Response {
            status: Status::Err,
            code,
            text: text.into(),
        }
    }

    /// Whether this is `+OK`.
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }

    /// The wire form, with `CRLF`.
    pub fn to_line(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.text.len());
        self.encode(&mut out);
        out
    }

    /// Append the wire form, with `CRLF`, to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(match self.status {
            Status::Ok => b"+OK",
            Status::Err => b"-ERR",
        });
        if let Some(code) = &self.code {
            out.extend_from_slice(b" [");
            out.extend_from_slice(code.as_str().as_bytes());
            out.push(b']');
        }
        if !self.text.is_empty() {
            out.push(b' ');
            // Never let a text break the line.
            out.extend(
                self.text
                    .bytes()
                    .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
            );
        }
        out.extend_from_slice(b"\r\n");
    }

    /// Parse a status line without its line end.
    ///
    /// The status indicator is matched case-insensitively, as Dovecot and
    /// others are lenient too; a code is recognised only when the text starts
    /// with `[` and has a closing `]`.
    pub fn parse(line: &[u8]) -> Result<Response, ResponseError> {
        let (status, rest) = if starts_with_ci(line, b"+OK") {
            (Status::Ok, &line[3..])
        } else if starts_with_ci(line, b"-ERR") {
            (Status::Err, &line[4..])
        } else {
            return Err(ResponseError::BadStatus);
        };
        let rest = match rest.first() {
            None => &rest[..0],
            Some(b' ') => &rest[1..],
            Some(_) => return Err(ResponseError::BadStatus),
        };
        let rest = String::from_utf8_lossy(rest);
        let (code, text) = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
            Some((code, text)) if !code.is_empty() && !code.contains(' ') => (
                Some(ResponseCode::from_name(code)),
                text.strip_prefix(' ').unwrap_or(text).to_owned(),
            ),
            _ => (None, rest.into_owned()),
        };
        Ok(Response {
            status,
            code,
            text: Cow::Owned(text),
        })
    }

    // ----- named responses: every server wording lives here -----

    /// The greeting; `timestamp` is the APOP banner `<...>` when APOP is on.
    pub fn greeting(text: &str, timestamp: Option<&str>) -> Response {
        match timestamp {
            Some(ts) => Response::ok(format!("{text} {ts}")),
            None => Response::ok(text.to_owned()),
        }
    }
    /// Positive answer to a command that needs no more text.
    pub fn done() -> Response {
        Response::ok("")
    }
    /// `+OK` to `USER`.
    pub fn user_accepted() -> Response {
        Response::ok("send PASS")
    }
    /// `+OK` to a successful login.
    pub fn logged_in(count: usize, octets: u64) -> Response {
        Response::ok(format!("maildrop has {count} messages ({octets} octets)"))
    }
    /// `-ERR [AUTH]` for wrong credentials.
    pub fn auth_failed() -> Response {
        Response::err(Some(ResponseCode::Auth), "authentication failed")
    }
    /// `-ERR [AUTH]` for plaintext logins without TLS.
    pub fn cleartext_refused() -> Response {
        Response::err(
            Some(ResponseCode::Auth),
            "plaintext authentication is disallowed without TLS",
        )
    }
    /// `-ERR [IN-USE]`.
    pub fn in_use() -> Response {
        Response::err(
            Some(ResponseCode::InUse),
            "maildrop is locked by another session",
        )
    }
    /// `-ERR [LOGIN-DELAY]`.
    pub fn login_delay() -> Response {
        Response::err(Some(ResponseCode::LoginDelay), "logged in too recently")
    }
    /// `-ERR [SYS/TEMP]`.
    pub fn sys_temp() -> Response {
        Response::err(Some(ResponseCode::SysTemp), "temporary system failure")
    }
    /// `-ERR [SYS/PERM]`.
    pub fn sys_perm() -> Response {
        Response::err(Some(ResponseCode::SysPerm), "permanent system failure")
    }
    /// `-ERR [SYS/PERM]` to `AUTH` with a mechanism the server cannot run
    /// (its setup is incomplete, e.g. SCRAM without a nonce).
    pub fn mechanism_unavailable() -> Response {
        Response::err(
            Some(ResponseCode::SysPerm),
            "authentication mechanism unavailable",
        )
    }
    /// `-ERR [UTF8]` to a non-ASCII user name or password before `UTF8`
    /// (RFC 6856).
    pub fn utf8_required() -> Response {
        Response::err(
            Some(ResponseCode::Utf8),
            "UTF-8 user names and passwords need the UTF8 command first",
        )
    }
    /// `-ERR` to a message that cannot be read right now.
    pub fn message_unavailable() -> Response {
        Response::err(Some(ResponseCode::SysTemp), "message is unavailable")
    }
    /// `-ERR` closing the session after too many failed logins.
    pub fn too_many_failures() -> Response {
        Response::err(Some(ResponseCode::Auth), "too many failed logins, closing")
    }
    /// `-ERR` to `PASS` without a preceding `USER`.
    pub fn user_first() -> Response {
        Response::err(None, "USER first")
    }
    /// `-ERR` for a command not valid in this state.
    pub fn wrong_state() -> Response {
        Response::err(None, "command not valid in this state")
    }
    /// `-ERR` for an unknown command.
    pub fn unknown_command() -> Response {
        Response::err(None, "unknown command")
    }
    /// `-ERR` for a syntax error in the arguments.
    pub fn syntax_error(e: CommandError) -> Response {
        Response::err(
            None,
            match e {
                CommandError::UnknownCommand => "unknown command",
                CommandError::MissingArgument => "missing argument",
                CommandError::TooManyArguments => "too many arguments",
                CommandError::InvalidNumber => "invalid message number",
                CommandError::NotUtf8 => "invalid UTF-8",
                CommandError::InvalidArgument => "invalid argument",
            },
        )
    }
    /// `-ERR` to APOP when it is not enabled.
    pub fn apop_unavailable() -> Response {
        Response::err(None, "APOP not available")
    }
    /// `-ERR` for a line over the limit.
    pub fn line_too_long() -> Response {
        Response::err(None, "line too long")
    }
    /// `-ERR` closing the session after too many errors.
    pub fn too_many_errors() -> Response {
        Response::err(None, "too many errors, closing")
    }
    /// `-ERR` closing the session when pipelined input overflows.
    pub fn input_overflow() -> Response {
        Response::err(None, "too much pipelined input, closing")
    }
    /// `-ERR` for a message number not in the maildrop.
    pub fn no_such_message() -> Response {
        Response::err(None, "no such message")
    }
    /// `-ERR` for a message already marked deleted.
    pub fn already_deleted() -> Response {
        Response::err(None, "message already deleted")
    }
    /// `+OK` to `DELE`.
    pub fn deleted(msg: u32) -> Response {
        Response::ok(format!("message {msg} deleted"))
    }
    /// `+OK` to `STAT`: `count octets`.
    pub fn stat(count: usize, octets: u64) -> Response {
        Response::ok(format!("{count} {octets}"))
    }
    /// `+OK` to `LIST msg`: `msg octets`.
    pub fn scan_listing(msg: u32, octets: u64) -> Response {
        Response::ok(format!("{msg} {octets}"))
    }
    /// `+OK` to `UIDL msg`: `msg uid`.
    pub fn unique_id_listing(msg: u32, uid: &str) -> Response {
        Response::ok(format!("{msg} {uid}"))
    }
    /// `+OK` introducing a multi-line listing.
    pub fn listing_follows(count: usize, octets: u64) -> Response {
        Response::ok(format!("{count} messages ({octets} octets)"))
    }
    /// `+OK` introducing the `UIDL` listing.
    pub fn unique_ids_follow() -> Response {
        Response::ok("unique-id listing follows")
    }
    /// `+OK` introducing a message (RETR).
    pub fn message_follows(octets: u64) -> Response {
        Response::ok(format!("{octets} octets"))
    }
    /// `+OK` introducing the top of a message (TOP).
    pub fn top_follows() -> Response {
        Response::ok("top of message follows")
    }
    /// `+OK` to `RSET`.
    pub fn reset(count: usize, octets: u64) -> Response {
        Response::ok(format!("maildrop has {count} messages ({octets} octets)"))
    }
    /// `+OK` introducing the capability list.
    pub fn capa_follows() -> Response {
        Response::ok("capability list follows")
    }
    /// `+OK` introducing the SASL mechanism list (`AUTH` without arguments).
    pub fn mechanisms_follow() -> Response {
        Response::ok("SASL mechanisms follow")
    }
    /// `-ERR` for an unsupported SASL mechanism.
    pub fn unsupported_mechanism() -> Response {
        Response::err(None, "unsupported authentication mechanism")
    }
    /// `-ERR` when the client cancels a SASL exchange with `*`.
    pub fn auth_cancelled() -> Response {
        Response::err(None, "authentication cancelled")
    }
    /// `-ERR` for a malformed SASL response.
    pub fn auth_malformed() -> Response {
        Response::err(None, "malformed authentication response")
    }
    /// `-ERR` for a SASL response (or initial response) that is not base64.
    pub fn auth_invalid_base64() -> Response {
        Response::err(None, "invalid base64 in authentication response")
    }
    /// `-ERR` for a SASL exchange the client broke (malformed, too long,
    /// too many round trips), naming what was wrong.
    pub fn sasl_failed(failure: &postwerk_sasl::Failure) -> Response {
        Response::err(None, failure.to_string())
    }
    /// `+OK` to `STLS`.
    pub fn begin_tls() -> Response {
        Response::ok("begin TLS negotiation")
    }
    /// `-ERR` to `STLS` when TLS is active or not offered.
    pub fn tls_unavailable() -> Response {
        Response::err(None, "STLS not available")
    }
    /// `+OK` introducing the `LANG` listing (RFC 6856 section 3).
    pub fn languages_follow() -> Response {
        Response::ok("language listing follows")
    }
    /// `+OK` to `LANG tag`: the new language's tag first.
    pub fn language_changed(tag: &str) -> Response {
        Response::ok(format!("{tag} language changed"))
    }
    /// `-ERR` to `LANG` with a range matching no offered language.
    pub fn unknown_language() -> Response {
        Response::err(None, "unknown language")
    }
    /// `+OK` to `UTF8`.
    pub fn utf8_enabled() -> Response {
        Response::ok("UTF8 enabled")
    }
    /// `+OK` to `QUIT` in AUTHORIZATION or after a committed UPDATE.
    pub fn bye() -> Response {
        Response::ok("bye")
    }
    /// `-ERR` to `QUIT` when the commit failed (RFC 1939 section 6).
    pub fn commit_failed() -> Response {
        Response::err(None, "some deleted messages not removed")
    }
}

/// `+ challenge` (RFC 5034): the server's SASL continuation line.
pub fn sasl_continuation(challenge_base64: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + challenge_base64.len());
    out.extend_from_slice(b"+ ");
    out.extend_from_slice(challenge_base64.as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

fn starts_with_ci(line: &[u8], prefix: &[u8]) -> bool {
    line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for r in [
            Response::ok(""),
            Response::ok("hello world"),
            Response::err(Some(ResponseCode::Auth), "nope"),
            Response::err(Some(ResponseCode::Unknown("X-FOO/BAR".into())), "t"),
            Response::err(None, ""),
        ] {
            let line = r.to_line();
            assert_eq!(Response::parse(&line[..line.len() - 2]).unwrap(), r);
        }
    }

    #[test]
    fn bad_status() {
        assert_eq!(Response::parse(b"OK"), Err(ResponseError::BadStatus));
        assert_eq!(Response::parse(b"+OKAY"), Err(ResponseError::BadStatus));
        assert!(Response::parse(b"+ok fine").unwrap().is_ok());
    }

    #[test]
    fn text_cannot_break_line() {
        assert_eq!(Response::ok("a\r\nb").to_line(), b"+OK a  b\r\n");
    }
}
