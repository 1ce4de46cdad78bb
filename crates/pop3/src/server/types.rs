//! The public types of the server machine: settings, events, answers.

use std::fmt;
use std::time::Duration;

use crate::Error;

/// Server settings. `Config::default()` follows the RFCs; change fields to
/// taste (`let mut c = Config::default(); c.stls = true;`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Text of the `+OK` greeting.
    pub greeting: String,
    /// APOP timestamp for this connection; APOP is offered only when set
    /// (RFC 1939 section 7; off by default, SECURITY.md line 13).
    pub apop: Option<ApopTimestamp>,
    /// Accept USER/PASS and AUTH PLAIN without TLS (default `false`).
    pub allow_cleartext: bool,
    /// Offer STLS (RFC 2595); the caller must then be able to start TLS.
    pub stls: bool,
    /// The session runs inside TLS from the start (port 995).
    pub tls_active: bool,
    /// Offer SASL PLAIN through AUTH (RFC 5034).
    pub sasl_plain: bool,
    /// Offer the UTF8 command (RFC 6856).
    pub utf8: bool,
    /// `IMPLEMENTATION` capability text, if any.
    pub implementation: Option<String>,
    /// Longest command line in octets, CRLF included (RFC 2449: 255).
    pub max_line: usize,
    /// Longest `AUTH` command or SASL response line (RFC 5034 allows more than 255).
    pub max_sasl_line: usize,
    /// Most unprocessed input held while a command waits (pipelining backlog).
    pub max_input_buffer: usize,
    /// Autologout timer (RFC 1939 section 3: at least 10 minutes).
    pub idle_timeout: Duration,
    /// Delay before the `-ERR` of a failed login.
    pub login_failure_delay: Duration,
    /// Failed logins after which the connection is closed.
    pub max_failed_logins: u32,
    /// Protocol errors after which the connection is closed.
    pub max_errors: u32,
    /// High-water mark for output queued and not yet taken by
    /// `poll_transmit`, in octets (default 131072 = 128 KiB). Above it the
    /// machine takes no further buffered command, and an application
    /// streaming a message supplies no further chunk. Pending output never
    /// exceeds the mark plus one unit (one reply, one listing chunk, or one
    /// message chunk the application supplied).
    pub max_pending_output: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            greeting: "POP3 server ready".to_owned(),
            apop: None,
            allow_cleartext: false,
            stls: false,
            tls_active: false,
            sasl_plain: true,
            utf8: false,
            implementation: None,
            max_line: 255,
            max_sasl_line: 2048,
            max_input_buffer: 64 * 1024,
            idle_timeout: Duration::from_secs(600),
            login_failure_delay: Duration::from_secs(2),
            max_failed_logins: 3,
            max_errors: 20,
            max_pending_output: 128 * 1024,
        }
    }
}

/// An APOP greeting timestamp, `<pid.clock@hostname>` (RFC 1939 section 7),
/// made by the caller (the machine has no clock or random source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApopTimestamp(String);

impl ApopTimestamp {
    /// Validate a timestamp: `<`, printable ASCII without spaces or angle
    /// brackets containing `@`, `>`; at most 200 octets.
    pub fn new(s: impl Into<String>) -> Result<ApopTimestamp, Error> {
        let s = s.into();
        let inner = s
            .strip_prefix('<')
            .and_then(|r| r.strip_suffix('>'))
            .ok_or(Error::InvalidTimestamp)?;
        let ok = s.len() <= 200
            && inner.contains('@')
            && inner
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b'<' && b != b'>');
        if ok {
            Ok(ApopTimestamp(s))
        } else {
            Err(Error::InvalidTimestamp)
        }
    }

    /// The timestamp, angle brackets included.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Identifies an event waiting for the application's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(pub(crate) u64);

/// The session state of RFC 1939 section 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionState {
    /// Before a successful login.
    Authorization,
    /// Logged in, maildrop open.
    Transaction,
    /// After `QUIT` in TRANSACTION, while the application commits.
    Update,
    /// The connection is over.
    Closed,
}

/// Credentials of a login attempt.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    /// `USER` then `PASS`.
    User {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
    /// `APOP name digest`: the application checks
    /// `digest == hex(md5(timestamp + secret))`.
    Apop {
        /// The user name.
        user: String,
        /// The digest, lowercase hex.
        digest: String,
        /// The timestamp from the greeting.
        timestamp: String,
    },
    /// `AUTH PLAIN` (RFC 5034 with RFC 4616).
    Plain {
        /// Authorization identity, empty when absent.
        authzid: String,
        /// Authentication identity.
        user: String,
        /// The password.
        password: String,
    },
}

impl Credentials {
    /// The user name, whichever way it came.
    pub fn user(&self) -> &str {
        match self {
            Credentials::User { user, .. }
            | Credentials::Apop { user, .. }
            | Credentials::Plain { user, .. } => user,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::User { user, .. } => f
                .debug_struct("User")
                .field("user", user)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::Apop { user, digest, .. } => f
                .debug_struct("Apop")
                .field("user", user)
                .field("digest", digest)
                .finish(),
            Credentials::Plain { authzid, user, .. } => f
                .debug_struct("Plain")
                .field("authzid", authzid)
                .field("user", user)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

/// One message of the maildrop listing given at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInfo {
    /// Size in octets as sent: CRLF line ends, no dot-stuffing.
    pub size: u64,
    /// Unique id: 1 to 70 characters 0x21 to 0x7E, unique in the maildrop.
    pub uid: String,
}

impl<S: Into<String>> From<(u64, S)> for MessageInfo {
    fn from((size, uid): (u64, S)) -> Self {
        MessageInfo {
            size,
            uid: uid.into(),
        }
    }
}

/// The application's answer to a login attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginDecision {
    /// Credentials good, maildrop locked: here is its listing, in message
    /// number order.
    Accept(Vec<MessageInfo>),
    /// Bad credentials: `-ERR [AUTH]` after the configured delay.
    Reject,
    /// The maildrop is locked by another session: `-ERR [IN-USE]`.
    InUse,
    /// The user logged in too recently: `-ERR [LOGIN-DELAY]`.
    LoginDelay,
    /// A temporary failure: `-ERR [SYS/TEMP]`.
    SysTemp,
}

/// A message to delete at commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    /// Index in the listing given at login (message number − 1).
    pub index: usize,
    /// Its unique id.
    pub uid: String,
}

/// Something the application must know or decide.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Check these credentials; answer with [`Connection::answer_login`](super::Connection::answer_login) (or
    /// [`Connection::accept_login`](super::Connection::accept_login)).
    Login {
        /// Answer with this id.
        id: RequestId,
        /// What the client sent.
        credentials: Credentials,
    },
    /// Supply the bytes of this message with
    /// [`Connection::supply_message`](super::Connection::supply_message), or in chunks with
    /// [`Connection::supply_message_chunk`](super::Connection::supply_message_chunk) and
    /// [`Connection::finish_message`](super::Connection::finish_message); or [`Connection::message_unavailable`](super::Connection::message_unavailable).
    ///
    /// Bounded output: supply the next chunk only while
    /// [`Connection::is_output_full`](super::Connection::is_output_full) is false (see
    /// [`Connection::wants_message_chunk`](super::Connection::wants_message_chunk)), writing
    /// out what `poll_transmit` returns in between. Then pending output stays
    /// within the mark plus one chunk. A chunk supplied while full is still
    /// accepted, but the bound is then the application's to keep.
    MessageRequest {
        /// Answer with this id.
        id: RequestId,
        /// Index in the listing (message number − 1).
        index: usize,
        /// Its unique id.
        uid: String,
        /// `Some(n)` for `TOP msg n`: supply the whole message anyway, the
        /// machine cuts it.
        top_lines: Option<u32>,
    },
    /// `QUIT` in TRANSACTION: delete these messages, then answer with
    /// [`Connection::answer_commit`](super::Connection::answer_commit).
    Commit {
        /// Answer with this id.
        id: RequestId,
        /// Messages marked deleted (may be empty).
        deletions: Vec<Deletion>,
    },
    /// STLS was accepted: flush the transmit queue, then start TLS.
    StartTls,
    /// The session is over. `committed` is true only after a successful
    /// [`Event::Commit`]; any other end (EOF, timeout, errors) commits
    /// nothing and the application must release the maildrop unchanged.
    Closed {
        /// Whether the deletions were committed.
        committed: bool,
    },
}
