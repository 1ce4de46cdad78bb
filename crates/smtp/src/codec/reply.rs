//! SMTP replies (RFC 5321 section 4.2) with RFC 3463 enhanced status codes.
//!
//! ```text
//! Reply-line     = *( Reply-code "-" [ textstring ] CRLF )
//!                  Reply-code [ SP textstring ] CRLF
//! Reply-code     = %x32-35 %x30-35 %x30-39
//! status-code    = class "." subject "." detail      ; RFC 3463
//! ```
//!
//! A [`Reply`] keeps the enhanced status code apart from the text: [`Reply::lines`] holds the
//! text of each line *after* the reply code, the separator and (when the reply carries one)
//! the enhanced status code, which is kept once in [`Reply::enhanced`] and written again in
//! front of every line by [`Reply::write_to`].

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// An RFC 3463 enhanced mail system status code, `class.subject.detail`.
///
/// ```
/// use postwerk_smtp::codec::reply::EnhancedStatus;
/// let s: EnhancedStatus = "5.7.8".parse().unwrap();
/// assert_eq!(s, EnhancedStatus::new(5, 7, 8));
/// assert_eq!(s.to_string(), "5.7.8");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedStatus {
    /// `class = "2" / "4" / "5"`: success, persistent transient failure, permanent failure.
    pub class: u8,
    /// `subject = 1*3digit`.
    pub subject: u16,
    /// `detail = 1*3digit`.
    pub detail: u16,
}

impl EnhancedStatus {
    /// Builds a status code from its three parts.
    pub const fn new(class: u8, subject: u16, detail: u16) -> Self {
        EnhancedStatus {
            class,
            subject,
            detail,
        }
    }

    /// Parses a status code at the start of `input`, returning it and the bytes it used.
    ///
    /// The code must be followed by the end of `input` or a space. `None` when `input`
    /// does not start with a well-formed code (class 2, 4 or 5, subject and detail of one
    /// to three digits without leading zeros beyond the RFC's `1*3digit`).
    pub fn parse_prefix(input: &[u8]) -> Option<(EnhancedStatus, usize)> {
        let class = match input.first()? {
            b'2' => 2,
            b'4' => 4,
            b'5' => 5,
            _ => return None,
        };
        if input.get(1) != Some(&b'.') {
            return None;
        }
        let (subject, n1) = parse_digits(input.get(2..)?)?;
        let pos = 2 + n1;
        if input.get(pos) != Some(&b'.') {
            return None;
        }
        let (detail, n2) = parse_digits(input.get(pos + 1..)?)?;
        let end = pos + 1 + n2;
        match input.get(end) {
            None | Some(b' ') => Some((EnhancedStatus::new(class, subject, detail), end)),
            _ => None,
        }
    }
}

fn parse_digits(input: &[u8]) -> Option<(u16, usize)> {
    let mut value: u16 = 0;
    let mut n = 0;
    for &b in input.iter().take(4) {
        if !b.is_ascii_digit() {
            break;
        }
        value = value * 10 + u16::from(b - b'0');
        n += 1;
    }
    if n == 0 || n > 3 {
        return None;
    }
    Some((value, n))
}

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// The text was not an RFC 3463 status code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("not an enhanced status code (class.subject.detail)")]
pub struct InvalidEnhancedStatus;

impl FromStr for EnhancedStatus {
    type Err = InvalidEnhancedStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match EnhancedStatus::parse_prefix(s.as_bytes()) {
            Some((status, n)) if n == s.len() => Ok(status),
            _ => Err(InvalidEnhancedStatus),
        }
    }
}

/// One SMTP reply: a three-digit code, an optional enhanced status code and one or more
/// lines of text.
///
/// The wire text of every reply this crate sends is built by the named constructors below,
/// so it lives in one place.
///
/// ```
/// use postwerk_smtp::codec::reply::Reply;
/// let mut out = Vec::new();
/// Reply::bad_sequence().write_to(&mut out);
/// assert_eq!(out, b"503 5.5.1 Bad sequence of commands\r\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    code: u16,
    enhanced: Option<EnhancedStatus>,
    lines: Vec<String>,
}

impl Reply {
    /// A one-line reply.
    pub fn new(code: u16, enhanced: Option<EnhancedStatus>, text: impl Into<String>) -> Reply {
        Reply {
            code,
            enhanced,
            lines: vec![text.into()],
        }
    }

    /// A multi-line reply. An empty `lines` is written as one line without text.
    pub fn multi(code: u16, enhanced: Option<EnhancedStatus>, lines: Vec<String>) -> Reply {
        let lines = if lines.is_empty() {
            vec![String::new()]
        } else {
            lines
        };
        Reply {
            code,
            enhanced,
            lines,
        }
    }

    /// The three-digit reply code.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The enhanced status code, when the reply carries one.
    pub fn enhanced(&self) -> Option<EnhancedStatus> {
        self.enhanced
    }

    /// The text of each line, without code, separator or enhanced status code.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// The lines joined with a space, for logs and error messages.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }

    /// `2yz`.
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }
    /// `3yz`: the server waits for more (354, 334).
    pub fn is_intermediate(&self) -> bool {
        (300..400).contains(&self.code)
    }
    /// `4yz`.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }
    /// `5yz`.
    pub fn is_permanent(&self) -> bool {
        (500..600).contains(&self.code)
    }

    /// Returns the same reply without the enhanced status code (for peers that did not
    /// get `ENHANCEDSTATUSCODES` advertised, and for `HELO` sessions).
    pub fn without_enhanced(mut self) -> Reply {
        self.enhanced = None;
        self
    }

    /// Appends the wire form, every line ending in CRLF.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let last = self.lines.len().saturating_sub(1);
        let code = [
            b'0' + ((self.code / 100) % 10) as u8,
            b'0' + ((self.code / 10) % 10) as u8,
            b'0' + (self.code % 10) as u8,
        ];
        for (i, line) in self.lines.iter().enumerate() {
            out.extend_from_slice(&code);
            out.push(if i == last { b' ' } else { b'-' });
            if let Some(e) = self.enhanced {
                out.extend_from_slice(e.to_string().as_bytes());
                if !line.is_empty() {
                    out.push(b' ');
                }
            }
            // CR and LF inside a line would break the framing; they never come from our
            // constructors, but an application's text could carry them.
            for chunk in line.as_bytes().split(|&b| b == b'\r' || b == b'\n') {
                out.extend_from_slice(chunk);
            }
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The wire form as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(e) = self.enhanced {
            write!(f, " {e}")?;
        }
        for line in &self.lines {
            write!(f, " {line}")?;
        }
        Ok(())
    }
}

const fn es(class: u8, subject: u16, detail: u16) -> Option<EnhancedStatus> {
    Some(EnhancedStatus::new(class, subject, detail))
}

/// Named constructors: the wire text of every reply the machines send.
impl Reply {
    /// `220 host text`: the greeting.
    pub fn greeting(host: &str, text: &str) -> Reply {
        Reply::new(220, None, format!("{host} {text}"))
    }
    /// `220 host ESMTP ready`.
    pub fn service_ready(host: &str) -> Reply {
        Reply::greeting(host, "ESMTP ready")
    }
    /// `221 2.0.0 host closing connection`: the answer to QUIT.
    pub fn closing(host: &str) -> Reply {
        Reply::new(221, es(2, 0, 0), format!("{host} closing connection"))
    }
    /// `250 2.0.0 OK`.
    pub fn ok() -> Reply {
        Reply::new(250, es(2, 0, 0), "OK")
    }
    /// `250 host` for HELO.
    pub fn helo(host: &str) -> Reply {
        Reply::new(250, None, host.to_string())
    }
    /// `250-host greeting` followed by one line per extension keyword, for EHLO/LHLO.
    pub fn ehlo(host: &str, greeting: &str, extensions: &[String]) -> Reply {
        let mut lines = Vec::with_capacity(extensions.len() + 1);
        lines.push(if greeting.is_empty() {
            host.to_string()
        } else {
            format!("{host} {greeting}")
        });
        lines.extend(extensions.iter().cloned());
        Reply::multi(250, None, lines)
    }
    /// `250 2.1.0 Sender OK`.
    pub fn sender_ok() -> Reply {
        Reply::new(250, es(2, 1, 0), "Sender OK")
    }
    /// `250 2.1.5 Recipient OK`.
    pub fn recipient_ok() -> Reply {
        Reply::new(250, es(2, 1, 5), "Recipient OK")
    }
    /// `250 2.0.0 Reset OK`.
    pub fn reset_ok() -> Reply {
        Reply::new(250, es(2, 0, 0), "Reset OK")
    }
    /// `354 Start mail input; end with <CRLF>.<CRLF>`.
    pub fn start_data() -> Reply {
        Reply::new(354, None, "Start mail input; end with <CRLF>.<CRLF>")
    }
    /// `250 2.0.0 Message accepted`, naming the queue id when there is one.
    pub fn message_accepted(queue_id: Option<&str>) -> Reply {
        match queue_id {
            Some(id) => Reply::new(250, es(2, 0, 0), format!("Message accepted as {id}")),
            None => Reply::new(250, es(2, 0, 0), "Message accepted"),
        }
    }
    /// `250 2.0.0 chunk received, n octets`: a non-final BDAT chunk.
    pub fn chunk_received(size: u64) -> Reply {
        Reply::new(250, es(2, 0, 0), format!("{size} octets received"))
    }
    /// `252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery`.
    pub fn cannot_verify() -> Reply {
        Reply::new(
            252,
            es(2, 5, 0),
            "Cannot VRFY user, but will accept message and attempt delivery",
        )
    }
    /// `214 2.0.0 ...`: the answer to HELP.
    pub fn help() -> Reply {
        Reply::new(
            214,
            es(2, 0, 0),
            "See RFC 5321, https://www.rfc-editor.org/rfc/rfc5321",
        )
    }
    /// `220 2.0.0 Ready to start TLS`.
    pub fn ready_to_start_tls() -> Reply {
        Reply::new(220, es(2, 0, 0), "Ready to start TLS")
    }
    /// `235 2.7.0 Authentication successful`.
    pub fn auth_succeeded() -> Reply {
        Reply::new(235, es(2, 7, 0), "Authentication successful")
    }
    /// `334 challenge`: an AUTH challenge, already base64-encoded (may be empty).
    pub fn auth_challenge(base64: &str) -> Reply {
        Reply::new(334, None, base64.to_string())
    }
    /// `500 5.5.1 Command unrecognized`.
    pub fn unrecognized_command() -> Reply {
        Reply::new(500, es(5, 5, 1), "Command unrecognized")
    }
    /// `500 5.5.2 Syntax error, command unrecognized`.
    pub fn syntax_error() -> Reply {
        Reply::new(500, es(5, 5, 2), "Syntax error, command unrecognized")
    }
    /// `500 5.5.2 Line too long`.
    pub fn line_too_long() -> Reply {
        Reply::new(500, es(5, 5, 2), "Line too long")
    }
    /// `500 5.5.6 Authentication Exchange line is too long` (RFC 4954).
    pub fn auth_line_too_long() -> Reply {
        Reply::new(500, es(5, 5, 6), "Authentication Exchange line is too long")
    }
    /// `501 5.5.4 reason`: a syntax error in the arguments.
    pub fn argument_syntax_error(reason: &str) -> Reply {
        Reply::new(501, es(5, 5, 4), format!("Syntax error: {reason}"))
    }
    /// `501 5.1.7 reason`: bad sender address syntax.
    pub fn bad_sender_syntax(reason: &str) -> Reply {
        Reply::new(
            501,
            es(5, 1, 7),
            format!("Bad sender address syntax: {reason}"),
        )
    }
    /// `501 5.1.3 reason`: bad recipient address syntax.
    pub fn bad_recipient_syntax(reason: &str) -> Reply {
        Reply::new(
            501,
            es(5, 1, 3),
            format!("Bad recipient address syntax: {reason}"),
        )
    }
    /// `502 5.5.1 Command not implemented`.
    pub fn not_implemented() -> Reply {
        Reply::new(502, es(5, 5, 1), "Command not implemented")
    }
    /// `503 5.5.1 Bad sequence of commands`.
    pub fn bad_sequence() -> Reply {
        Reply::new(503, es(5, 5, 1), "Bad sequence of commands")
    }
    /// `503 5.5.1 text`: a bad sequence, with an explanation.
    pub fn bad_sequence_because(text: &str) -> Reply {
        Reply::new(503, es(5, 5, 1), text.to_string())
    }
    /// `504 5.5.4 Command parameter not implemented`.
    pub fn parameter_not_implemented() -> Reply {
        Reply::new(504, es(5, 5, 4), "Command parameter not implemented")
    }
    /// `504 5.5.4 Unrecognized authentication type`.
    pub fn auth_mechanism_unsupported() -> Reply {
        Reply::new(504, es(5, 5, 4), "Unrecognized authentication type")
    }
    /// `555 5.5.4 Unsupported parameter NAME` (RFC 5321 section 4.1.1.11).
    pub fn unknown_parameter(name: &str) -> Reply {
        Reply::new(555, es(5, 5, 4), format!("Unsupported parameter {name}"))
    }
    /// `501 5.7.0 Authentication cancelled` (RFC 4954: `*` from the client).
    pub fn auth_cancelled() -> Reply {
        Reply::new(501, es(5, 7, 0), "Authentication cancelled")
    }
    /// `535 5.7.8 Authentication credentials invalid`.
    pub fn auth_invalid_credentials() -> Reply {
        Reply::new(535, es(5, 7, 8), "Authentication credentials invalid")
    }
    /// `454 4.7.0 Temporary authentication failure`.
    pub fn auth_temporary_failure() -> Reply {
        Reply::new(454, es(4, 7, 0), "Temporary authentication failure")
    }
    /// `530 5.7.0 Authentication required`.
    pub fn auth_required() -> Reply {
        Reply::new(530, es(5, 7, 0), "Authentication required")
    }
    /// `530 5.7.0 Must issue a STARTTLS command first`.
    pub fn starttls_required() -> Reply {
        Reply::new(530, es(5, 7, 0), "Must issue a STARTTLS command first")
    }
    /// `538 5.7.11 Encryption required for requested authentication mechanism`.
    pub fn encryption_required_for_auth() -> Reply {
        Reply::new(
            538,
            es(5, 7, 11),
            "Encryption required for requested authentication mechanism",
        )
    }
    /// `454 4.7.0 TLS not available due to temporary reason`.
    pub fn tls_not_available() -> Reply {
        Reply::new(
            454,
            es(4, 7, 0),
            "TLS not available due to temporary reason",
        )
    }
    /// `552 5.3.4 Message size exceeds fixed maximum message size`.
    pub fn message_too_big() -> Reply {
        Reply::new(
            552,
            es(5, 3, 4),
            "Message size exceeds fixed maximum message size",
        )
    }
    /// `452 4.5.3 Too many recipients`.
    pub fn too_many_recipients() -> Reply {
        Reply::new(452, es(4, 5, 3), "Too many recipients")
    }
    /// `503 5.5.1 No valid recipients`: DATA/BDAT with no accepted recipient (RFC 5321
    /// 3.3 allows 503 or 554; SECURITY.md 7 asks for 503).
    pub fn no_valid_recipients() -> Reply {
        Reply::new(503, es(5, 5, 1), "No valid recipients")
    }
    /// `550 5.1.1 Mailbox unavailable`.
    pub fn mailbox_unavailable() -> Reply {
        Reply::new(550, es(5, 1, 1), "Mailbox unavailable")
    }
    /// `554 5.7.1 Relay access denied`.
    pub fn relay_denied() -> Reply {
        Reply::new(554, es(5, 7, 1), "Relay access denied")
    }
    /// `553 5.6.7 Non-ASCII address requires SMTPUTF8` (RFC 6531).
    pub fn utf8_address_without_smtputf8() -> Reply {
        Reply::new(553, es(5, 6, 7), "Non-ASCII address requires SMTPUTF8")
    }
    /// `554 5.6.0 Message contains bare CR or bare LF`.
    pub fn bare_line_ending() -> Reply {
        Reply::new(554, es(5, 6, 0), "Message contains bare CR or bare LF")
    }
    /// `500 5.5.2 Command line contains bare CR or bare LF`.
    pub fn bare_line_ending_in_command() -> Reply {
        Reply::new(500, es(5, 5, 2), "Command line contains bare CR or bare LF")
    }
    /// `500 5.5.2 Message line too long`: a DATA text line over the configured limit.
    pub fn text_line_too_long() -> Reply {
        Reply::new(500, es(5, 5, 2), "Message line too long")
    }
    /// `451 4.3.0 Local error in processing`.
    pub fn local_error() -> Reply {
        Reply::new(451, es(4, 3, 0), "Local error in processing")
    }
    /// `452 4.3.1 Insufficient system storage`.
    pub fn insufficient_storage() -> Reply {
        Reply::new(452, es(4, 3, 1), "Insufficient system storage")
    }
    /// `554 5.5.0 Protocol error: client sent data before the greeting`, before closing.
    pub fn early_talker() -> Reply {
        Reply::new(
            554,
            es(5, 5, 0),
            "Protocol error: client sent data before the greeting",
        )
    }
    /// `554 5.5.0 Protocol error: pipelining not allowed`, before closing.
    pub fn pipelining_not_allowed() -> Reply {
        Reply::new(554, es(5, 5, 0), "Protocol error: pipelining not allowed")
    }
    /// `421 4.7.0 host Too many errors, closing connection`.
    pub fn too_many_errors(host: &str) -> Reply {
        Reply::new(
            421,
            es(4, 7, 0),
            format!("{host} Too many errors, closing connection"),
        )
    }
    /// `421 4.7.0 host Too many failed authentication attempts, closing connection`.
    pub fn too_many_auth_failures(host: &str) -> Reply {
        Reply::new(
            421,
            es(4, 7, 0),
            format!("{host} Too many failed authentication attempts, closing connection"),
        )
    }
    /// `421 4.4.2 host Timeout, closing connection`.
    pub fn timeout(host: &str) -> Reply {
        Reply::new(
            421,
            es(4, 4, 2),
            format!("{host} Timeout, closing connection"),
        )
    }
    /// `421 4.3.2 host Service not available, closing transmission channel`.
    pub fn service_unavailable(host: &str) -> Reply {
        Reply::new(
            421,
            es(4, 3, 2),
            format!("{host} Service not available, closing transmission channel"),
        )
    }
    /// `421 4.5.0 host Protocol error: bare CR or LF, closing connection`.
    pub fn bare_line_ending_closing(host: &str) -> Reply {
        Reply::new(
            421,
            es(4, 5, 0),
            format!("{host} Protocol error: bare CR or LF, closing connection"),
        )
    }
}

/// Bounds for [`parse_reply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyLimits {
    /// Longest reply line accepted, CRLF included (RFC 5321 4.5.3.1.5: at least 512).
    pub max_line_len: usize,
    /// Most lines in one reply.
    pub max_lines: usize,
}

impl Default for ReplyLimits {
    fn default() -> Self {
        ReplyLimits {
            max_line_len: 2048,
            max_lines: 100,
        }
    }
}

/// A reply that breaks RFC 5321 or the configured [`ReplyLimits`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// A line is longer than `max_line_len`.
    #[error("reply line longer than {0} octets")]
    LineTooLong(usize),
    /// More continuation lines than `max_lines`.
    #[error("reply has more than {0} lines")]
    TooManyLines(usize),
    /// A line does not start with a three-digit code 2xx to 5xx.
    #[error("reply line does not start with a reply code 200-599")]
    BadCode,
    /// The code changes between the lines of one reply.
    #[error("reply lines carry different codes")]
    InconsistentCode,
    /// The code is followed by something other than `-`, a space or the line end.
    #[error("reply code not followed by '-', space or line end")]
    BadSeparator,
}

/// Parses one reply from the front of `input`.
///
/// Stateless: returns `Ok(None)` while `input` does not yet hold a complete reply, else the
/// reply and the number of bytes it used. Lines end in CRLF; a bare LF is accepted as a line
/// end (some servers send it; it cannot smuggle anything into a reply). The text of a line
/// is decoded as UTF-8, invalid sequences replaced; a stray CR inside a line is dropped.
///
/// ```
/// use postwerk_smtp::codec::reply::{parse_reply, ReplyLimits};
/// let input = b"250-mx.example\r\n250 2.0.0 PIPELINING\r\n";
/// let (reply, used) = parse_reply(input, &ReplyLimits::default()).unwrap().unwrap();
/// assert_eq!(used, input.len());
/// assert_eq!(reply.code(), 250);
/// assert_eq!(reply.lines(), ["mx.example", "2.0.0 PIPELINING"]);
/// ```
pub fn parse_reply(
    input: &[u8],
    limits: &ReplyLimits,
) -> Result<Option<(Reply, usize)>, ReplyError> {
    // First pass: find the extent and check framing, without allocating.
    let mut pos = 0;
    let mut code = None;
    let mut count = 0usize;
    let end = loop {
        let rest = input.get(pos..).unwrap_or_default();
        let Some(nl) = memchr::memchr(b'\n', rest) else {
            if rest.len() >= limits.max_line_len {
                return Err(ReplyError::LineTooLong(limits.max_line_len));
            }
            check_partial(rest, code)?;
            return Ok(None);
        };
        if nl + 1 > limits.max_line_len {
            return Err(ReplyError::LineTooLong(limits.max_line_len));
        }
        let line = strip_cr(rest.get(..nl).unwrap_or_default());
        let (c, last) = line_head(line)?;
        if *code.get_or_insert(c) != c {
            return Err(ReplyError::InconsistentCode);
        }
        count += 1;
        if count > limits.max_lines {
            return Err(ReplyError::TooManyLines(limits.max_lines));
        }
        pos += nl + 1;
        if last {
            break pos;
        }
    };
    let code = code.unwrap_or_default();
    // Second pass: collect the text.
    let mut lines = Vec::with_capacity(count);
    let mut enhanced = None;
    for (i, raw) in input
        .get(..end)
        .unwrap_or_default()
        .split_inclusive(|&b| b == b'\n')
        .enumerate()
    {
        let line = strip_cr(raw.strip_suffix(b"\n").unwrap_or(raw));
        let raw_text = line.get(4..).unwrap_or_default();
        // A stray CR inside a line is dropped, as `write_to` would drop it.
        let cleaned: std::borrow::Cow<'_, [u8]> = if memchr::memchr(b'\r', raw_text).is_some() {
            raw_text.iter().copied().filter(|&b| b != b'\r').collect()
        } else {
            raw_text.into()
        };
        let mut text: &[u8] = &cleaned;
        if i == 0 {
            if let Some((e, n)) = EnhancedStatus::parse_prefix(text)
                && u16::from(e.class) == code / 100
            {
                enhanced = Some(e);
                text = text.get(n..).unwrap_or_default();
                text = text.strip_prefix(b" ").unwrap_or(text);
            }
        } else if let Some(first) = enhanced
            && let Some((e, n)) = EnhancedStatus::parse_prefix(text)
            && e == first
        {
            text = text.get(n..).unwrap_or_default();
            text = text.strip_prefix(b" ").unwrap_or(text);
        }
        lines.push(String::from_utf8_lossy(text).into_owned());
    }
    Ok(Some((
        Reply {
            code,
            enhanced,
            lines,
        },
        end,
    )))
}

pub(crate) fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Checks code and separator of a complete line; returns the code and whether it is last.
pub(crate) fn line_head(line: &[u8]) -> Result<(u16, bool), ReplyError> {
    let code = reply_code(line)?;
    match line.get(3) {
        None | Some(b' ') => Ok((code, true)),
        Some(b'-') => Ok((code, false)),
        Some(_) => Err(ReplyError::BadSeparator),
    }
}

fn reply_code(line: &[u8]) -> Result<u16, ReplyError> {
    match line.get(..3) {
        Some([a @ b'2'..=b'5', b @ b'0'..=b'9', c @ b'0'..=b'9']) => {
            Ok(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => Err(ReplyError::BadCode),
    }
}

/// Rejects an incomplete line early when what is there already cannot become valid.
pub(crate) fn check_partial(rest: &[u8], code: Option<u16>) -> Result<(), ReplyError> {
    if rest.len() >= 3 {
        let c = reply_code(rest)?;
        if code.is_some_and(|first| first != c) {
            return Err(ReplyError::InconsistentCode);
        }
        if let Some(sep) = rest.get(3)
            && !matches!(sep, b' ' | b'-' | b'\r')
        {
            return Err(ReplyError::BadSeparator);
        }
    } else {
        for (i, b) in rest.iter().enumerate() {
            let ok = match i {
                0 => (b'2'..=b'5').contains(b),
                _ => b.is_ascii_digit(),
            };
            if !ok {
                return Err(ReplyError::BadCode);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8]) -> Result<Option<(Reply, usize)>, ReplyError> {
        parse_reply(input, &ReplyLimits::default())
    }

    #[test]
    fn single_line_with_enhanced() {
        let (r, n) = parse(b"250 2.1.0 Sender OK\r\nrest").unwrap().unwrap();
        assert_eq!(n, 21);
        assert_eq!(r, Reply::sender_ok());
    }

    #[test]
    fn bare_code_line() {
        let (r, _) = parse(b"250\r\n").unwrap().unwrap();
        assert_eq!(r.code(), 250);
        assert_eq!(r.lines(), [""]);
        assert_eq!(r.enhanced(), None);
    }

    #[test]
    fn partial_is_none() {
        assert_eq!(parse(b"250-a\r\n250 b").unwrap(), None);
        assert_eq!(parse(b"25").unwrap(), None);
        assert_eq!(parse(b"").unwrap(), None);
    }

    #[test]
    fn errors() {
        assert_eq!(parse(b"150 x\r\n"), Err(ReplyError::BadCode));
        assert_eq!(parse(b"abc\r\n"), Err(ReplyError::BadCode));
        assert_eq!(
            parse(b"250-a\r\n251 b\r\n"),
            Err(ReplyError::InconsistentCode)
        );
        assert_eq!(parse(b"250xa\r\n"), Err(ReplyError::BadSeparator));
        let long = vec![b'2'; 3000];
        assert_eq!(parse(&long), Err(ReplyError::LineTooLong(2048)));
        let many = b"250-x\r\n".repeat(101);
        assert_eq!(parse(&many), Err(ReplyError::TooManyLines(100)));
    }

    #[test]
    fn enhanced_class_must_match() {
        let (r, _) = parse(b"250 5.0.0 odd\r\n").unwrap().unwrap();
        assert_eq!(r.enhanced(), None);
        assert_eq!(r.lines(), ["5.0.0 odd"]);
    }

    #[test]
    fn multi_round_trip() {
        let r = Reply::ehlo("mx", "hi", &["PIPELINING".into(), "SIZE 10".into()]);
        let bytes = r.to_bytes();
        assert_eq!(bytes, b"250-mx hi\r\n250-PIPELINING\r\n250 SIZE 10\r\n");
        assert_eq!(parse(&bytes).unwrap().unwrap(), (r, bytes.len()));
    }

    #[test]
    fn enhanced_status_parse() {
        assert_eq!("2.0.0".parse(), Ok(EnhancedStatus::new(2, 0, 0)));
        assert_eq!("5.7.11".parse(), Ok(EnhancedStatus::new(5, 7, 11)));
        assert!("3.0.0".parse::<EnhancedStatus>().is_err());
        assert!("5.1234.0".parse::<EnhancedStatus>().is_err());
        assert!("5.1.".parse::<EnhancedStatus>().is_err());
    }
}
