//! Server configuration: identity, extensions, policies, limits and timeouts.
//!
//! Every default is the RFC value or the safe choice; see each field.

use std::sync::Arc;
use std::time::Duration;

use postwerk_sasl::server::ServerMechanisms;

use crate::codec::command::Leniency;

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
    /// BINARYMIME (RFC 3030), advertised with CHUNKING only. Off by default: `BODY=BINARYMIME`
    /// is then `555 5.5.4`; when on, a BINARYMIME transaction must send its body with BDAT
    /// (DATA is `503 5.5.1`).
    pub binarymime: bool,
    /// REQUIRETLS (RFC 8689), advertised and accepted only once TLS is active.
    pub requiretls: bool,
    /// MT-PRIORITY (RFC 6710): `MT-PRIORITY=-9..9` on MAIL.
    pub mt_priority: bool,
    /// FUTURERELEASE (RFC 4865) with its advertised limits: `HOLDFOR=`/`HOLDUNTIL=` on MAIL.
    pub future_release: Option<FutureReleaseLimits>,
    /// DELIVERBY (RFC 2852) with the minimum `by-time` in seconds (0: none advertised):
    /// `BY=` on MAIL.
    pub deliver_by: Option<u32>,
}

/// The limits FUTURERELEASE (RFC 4865 3) advertises: `FUTURERELEASE <interval> <date-time>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FutureReleaseLimits {
    /// The longest `HOLDFOR` in seconds; a longer one is `501 5.5.4`.
    pub max_interval: u32,
    /// The latest `HOLDUNTIL`, an RFC 3339 date-time; a later one is `501 5.5.4`. The machine
    /// has no wall clock: the application keeps it current (now + `max_interval`) in the
    /// session [`Settings`](super::Settings) and checks that a `HOLDUNTIL` is not in the past.
    pub max_date_time: crate::codec::ext_params::DateTime3339,
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
            binarymime: false,
            requiretls: false,
            mt_priority: false,
            future_release: None,
            deliver_by: None,
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
    /// Most application decisions outstanding at once (pipelined RCPTs answered in any
    /// order). At the cap the machine parses no further command until one is answered.
    pub max_outstanding_decisions: usize,
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
            max_outstanding_decisions: 100,
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

/// The decision points the application opts into, beyond MAIL, RCPT, AUTH and end of
/// data (which always ask). Off by default: the machine then answers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decisions {
    /// [`Event::Connect`](super::Event::Connect) before the greeting: Accept sends the
    /// `220` greeting, Reject/Close send their reply (e.g. `554 5.7.1`) and close. Input
    /// that arrives before the greeting is written is still an early talker
    /// ([`Config::reject_early_talkers`]).
    pub connect: bool,
    /// [`Event::HelloCommand`](super::Event::HelloCommand) at HELO/EHLO/LHLO: Accept
    /// answers with the greeting and keywords of the session [`Settings`](super::Settings)
    /// as they are then; Reject sends its reply.
    pub hello: bool,
    /// [`Event::DataCommand`](super::Event::DataCommand) at DATA (before `354`) and at the
    /// first BDAT of a transaction (before its chunk is taken; a refused chunk is read and
    /// discarded).
    pub data: bool,
    /// [`Event::StartTlsCommand`](super::Event::StartTlsCommand) at STARTTLS: Accept sends
    /// `220` and starts TLS, Reject sends its reply (e.g.
    /// [`Reply::tls_not_available`](crate::codec::reply::Reply::tls_not_available)).
    pub starttls: bool,
}

/// Everything a server [`Connection`](super::Connection) needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// Our host name, used in the greeting and in EHLO/QUIT/421 replies.
    pub hostname: String,
    /// Text after the host name in the greeting.
    pub greeting: String,
    /// LMTP (RFC 2033): LHLO instead of EHLO/HELO, one reply per recipient after data.
    pub lmtp: bool,
    /// Advertised extensions.
    pub extensions: Extensions,
    /// SASL mechanisms offered (RFC 4954), in preference order, through postwerk-sasl
    /// (default: PLAIN and LOGIN; add SCRAM-SHA-256(-PLUS), OAUTHBEARER, XOAUTH2,
    /// EXTERNAL or the application's own). No mechanism: no AUTH. The session's copy
    /// ([`Settings::sasl`](super::Settings::sasl)) may be changed per connection.
    pub sasl: Arc<ServerMechanisms>,
    /// Offer and accept mechanisms that send the password in the clear (PLAIN, LOGIN)
    /// without TLS (default false: not advertised, and `538 5.7.11` if tried).
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
    /// Decision points the application answers (connect, HELO/EHLO, DATA/BDAT, STARTTLS).
    pub decisions: Decisions,
    /// EHLO keywords the application adds (each as its whole line, e.g. `XCLIENT NAME`).
    pub ehlo_keywords: Vec<String>,
    /// MAIL parameters the application accepts and receives in `params.other`.
    pub mail_parameters: Vec<ParamRule>,
    /// RCPT parameters the application accepts and receives in `params.other`.
    pub rcpt_parameters: Vec<ParamRule>,
    /// Limits.
    pub limits: Limits,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// The high-water mark of pending output, in octets (default 131072). While
    /// [`Connection::pending_output`](super::Connection::pending_output) is above it the
    /// machine takes no further buffered command; it resumes inside
    /// [`Connection::poll_transmit`](super::Connection::poll_transmit). Pending output
    /// never exceeds the mark plus one unit (one reply, the per-recipient replies to
    /// one LMTP end of data, or the replies to the RCPTs decided together). See the
    /// [crate docs](crate#bounded-output).
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
            sasl: Arc::new(plain_and_login()),
            allow_plaintext_auth: false,
            auth_required: false,
            tls_required: false,
            vrfy_events: false,
            leniency: Leniency::default(),
            bare_line_endings: BareLineEndings::default(),
            pipelining_policy: PipeliningPolicy::default(),
            reject_early_talkers: true,
            decisions: Decisions::default(),
            ehlo_keywords: Vec::new(),
            mail_parameters: Vec::new(),
            rcpt_parameters: Vec::new(),
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            max_pending_output: 128 * 1024,
        }
    }
}

/// The default mechanism set: PLAIN and LOGIN.
fn plain_and_login() -> ServerMechanisms {
    let mut m = ServerMechanisms::new();
    m.add_builtin(postwerk_sasl::Mechanism::Plain);
    m.add_builtin(postwerk_sasl::Mechanism::Login);
    m
}

/// Whether a registered parameter takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParamValue {
    /// `NAME` only; `NAME=value` is `501 5.5.4`.
    None,
    /// `NAME=value` only; `NAME` alone is `501 5.5.4`.
    Required,
    /// Either.
    #[default]
    Optional,
}

/// A MAIL or RCPT parameter the application registers: it is accepted (instead of
/// `555 5.5.4`) and reaches the application in the event's `params.other`, name and
/// optional value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamRule {
    /// The keyword (`esmtp-keyword`), matched case-insensitively.
    pub name: String,
    /// Whether it takes a value.
    pub value: ParamValue,
}

impl ParamRule {
    /// A rule for `name`.
    pub fn new(name: impl Into<String>, value: ParamValue) -> ParamRule {
        ParamRule {
            name: name.into(),
            value,
        }
    }
}
