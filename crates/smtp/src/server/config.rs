//! Server configuration: identity, extensions, policies, limits and timeouts.
//!
//! Every default is the RFC value or the safe choice; see each field.

use std::time::Duration;

use crate::codec::command::Leniency;
use crate::codec::sasl::Mechanism;

/// What the server does with a bare CR or bare LF (SECURITY.md 1–2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BareLineEndings {
    /// Default. In DATA: the body is read to its real end (CRLF "." CRLF) and refused with
    /// `554 5.6.0`; the message is never cut short. In a command line: `500 5.5.2`.
    #[default]
    Reject,
    /// Bare CR and bare LF in DATA are written to the body as CRLF (they still never end
    /// the data); a bare LF ends a command line.
    Normalize,
    /// `421` and close the connection.
    Close,
}

/// What the server does when a client pipelines without being allowed to (RFC 2920).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PipeliningPolicy {
    /// Default. `554 5.5.0` and close when input is already buffered behind a command that
    /// must end a group (EHLO, HELO, LHLO, DATA, VRFY, EXPN, NOOP, AUTH), or behind any
    /// command when PIPELINING was not advertised to this client.
    ///
    /// Detection depends on how the input arrives (what was sent before our reply), so
    /// output is the same for every split of the input only for streams that do not
    /// pipeline illegally.
    #[default]
    Reject,
    /// Answer everything in order anyway.
    Allow,
}

/// Extensions the server may advertise in its EHLO/LHLO reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extensions {
    /// PIPELINING (RFC 2920).
    pub pipelining: bool,
    /// SIZE with [`Limits::max_message_size`] (RFC 1870).
    pub size: bool,
    /// 8BITMIME (RFC 6152).
    pub eight_bit_mime: bool,
    /// SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
    /// ENHANCEDSTATUSCODES (RFC 2034, RFC 3463). When off, replies carry no enhanced code.
    pub enhanced_status_codes: bool,
    /// CHUNKING and BDAT (RFC 3030).
    pub chunking: bool,
    /// DSN (RFC 3461): RET, ENVID, NOTIFY, ORCPT accepted and carried.
    pub dsn: bool,
    /// STARTTLS (RFC 3207), advertised while TLS is not active: set when the driver can
    /// start TLS.
    pub starttls: bool,
}

impl Default for Extensions {
    fn default() -> Self {
        Extensions {
            pipelining: true,
            size: true,
            eight_bit_mime: true,
            smtputf8: true,
            enhanced_status_codes: true,
            chunking: true,
            dsn: true,
            starttls: false,
        }
    }
}

/// Limits (RFC 5321 4.5.3.1 minimums or more).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest command line, CRLF included (RFC 5321 4.5.3.1.4: 512). The limit grows by
    /// the increments the advertised extensions allow: DSN +600 (RFC 3461), AUTH +500
    /// (RFC 4954), SMTPUTF8 +10 (RFC 6531).
    pub max_command_line: usize,
    /// Longest text line in DATA, CRLF included (RFC 5321 4.5.3.1.6: 1000); longer lines
    /// get `500 5.5.2` after the data. `usize::MAX` turns the check off.
    pub max_text_line: usize,
    /// Largest message in octets (advertised with SIZE); `552 5.3.4` above it.
    pub max_message_size: u64,
    /// Most recipients per transaction (RFC 5321 4.5.3.1.8: 100); `452 4.5.3` above it.
    pub max_recipients: usize,
    /// Client errors before `421` and close.
    pub max_errors: u32,
    /// Failed AUTH attempts before `421` and close.
    pub max_auth_failures: u32,
    /// Longest SASL response line, CRLF included (RFC 4954 4: 12288).
    pub max_sasl_line: usize,
    /// Most buffered input while an application decision is pending, or while output is
    /// full ([`Config::max_pending_output`]); beyond it `handle_input` accepts fewer bytes
    /// than offered.
    pub max_pending_input: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_command_line: 512,
            max_text_line: 1000,
            max_message_size: 25 * 1024 * 1024,
            max_recipients: 100,
            max_errors: 20,
            max_auth_failures: 3,
            max_sasl_line: 12288,
            max_pending_input: 256 * 1024,
        }
    }
}

/// Timeouts (RFC 5321 4.5.3.2).
///
/// Deadlines are computed with checked arithmetic: a duration too long to add to the
/// current time (such as `Duration::MAX`) never panics, that deadline just never comes.
/// A failed-AUTH reply delayed that long is held until the command timeout closes the
/// session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// Waiting for the next command, counted from our last reply (4.5.3.2.7: at least
    /// 5 minutes). Partial input does not extend it.
    pub command: Duration,
    /// Waiting for more DATA/BDAT content, counted from the last input (at least the
    /// client's 3-minute data block timeout, 4.5.3.2.5).
    pub data: Duration,
    /// Delay before the greeting is sent. Input that arrives before the greeting has been
    /// handed to the driver marks an early talker (SECURITY.md 5).
    pub greeting_delay: Duration,
    /// Delay before the reply to a failed AUTH (SECURITY.md 12).
    pub auth_failure_delay: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            command: Duration::from_secs(300),
            data: Duration::from_secs(300),
            greeting_delay: Duration::ZERO,
            auth_failure_delay: Duration::from_secs(1),
        }
    }
}

/// Everything a server [`Connection`](super::Connection) needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Our host name, used in the greeting and in EHLO/QUIT/421 replies.
    pub hostname: String,
    /// Text after the host name in the greeting.
    pub greeting: String,
    /// LMTP (RFC 2033): LHLO instead of EHLO/HELO, one reply per recipient after data.
    pub lmtp: bool,
    /// Advertised extensions.
    pub extensions: Extensions,
    /// SASL mechanisms offered (RFC 4954); empty: no AUTH. The set is open: mechanisms
    /// other than PLAIN and LOGIN run as [`Event::AuthExchange`](super::Event) steps.
    pub auth_mechanisms: Vec<Mechanism>,
    /// Offer and accept PLAIN/LOGIN without TLS (default false: not advertised, and
    /// `538 5.7.11` if tried).
    pub allow_plaintext_auth: bool,
    /// Require AUTH before MAIL (submission, RFC 6409): `530 5.7.0`.
    pub auth_required: bool,
    /// Require STARTTLS before MAIL and AUTH: `530 5.7.0`.
    pub tls_required: bool,
    /// Emit [`Event::Vrfy`](super::Event) for VRFY instead of answering 252 directly.
    pub vrfy_events: bool,
    /// Accepted syntax quirks of real senders.
    pub leniency: Leniency,
    /// Bare CR / bare LF policy.
    pub bare_line_endings: BareLineEndings,
    /// Unauthorised pipelining policy.
    pub pipelining_policy: PipeliningPolicy,
    /// Early talker policy: when true (default), input before the greeting gets `554` and
    /// the connection is closed.
    pub reject_early_talkers: bool,
    /// Limits.
    pub limits: Limits,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// The high-water mark of pending output, in octets (default 131072). While
    /// [`Connection::pending_output`](super::Connection::pending_output) is above it the
    /// machine takes no further buffered command; it resumes inside
    /// [`Connection::poll_transmit`](super::Connection::poll_transmit). Pending output
    /// never exceeds the mark plus one unit (one reply, or the per-recipient replies to
    /// one LMTP end of data). See the [crate docs](crate#bounded-output).
    pub max_pending_output: usize,
}

impl Config {
    /// A configuration with RFC defaults for `hostname`.
    pub fn new(hostname: impl Into<String>) -> Config {
        Config {
            hostname: hostname.into(),
            greeting: "ESMTP postwerk".to_string(),
            lmtp: false,
            extensions: Extensions::default(),
            auth_mechanisms: vec![Mechanism::Plain, Mechanism::Login],
            allow_plaintext_auth: false,
            auth_required: false,
            tls_required: false,
            vrfy_events: false,
            leniency: Leniency::default(),
            bare_line_endings: BareLineEndings::default(),
            pipelining_policy: PipeliningPolicy::default(),
            reject_early_talkers: true,
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            max_pending_output: 128 * 1024,
        }
    }

    /// The effective command line limit with the extension increments.
    pub(crate) fn command_line_limit(&self) -> usize {
        let mut n = self.limits.max_command_line;
        if self.extensions.dsn {
            n = n.saturating_add(600);
        }
        if !self.auth_mechanisms.is_empty() {
            n = n.saturating_add(500);
        }
        if self.extensions.smtputf8 {
            n = n.saturating_add(10);
        }
        n
    }
}
