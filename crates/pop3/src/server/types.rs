//! The public types of the server machine: settings, events, answers.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use postwerk_sasl::server::ServerMechanisms;

use crate::UsageError;

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
    /// Accept USER/PASS and the SASL mechanisms that send the password in
    /// the clear (PLAIN, LOGIN) without TLS (default `false`, SECURITY.md 11).
    /// The same name as the SMTP server's `Config::allow_plaintext_auth`
    /// (formerly `allow_cleartext`).
    pub allow_plaintext_auth: bool,
    /// Offer STLS (RFC 2595); the caller must then be able to start TLS.
    pub stls: bool,
    /// The session runs inside TLS from the start (port 995).
    pub tls_active: bool,
    /// The SASL mechanisms offered through `AUTH` (RFC 5034), in order of
    /// preference: the `SASL` capability lists those of them this
    /// connection allows ([`ServerMechanisms::offered`]: PLAIN and LOGIN
    /// only with TLS or [`Config::allow_plaintext_auth`], `-PLUS` only with
    /// [`Connection::set_channel_binding`](super::Connection::set_channel_binding)).
    /// Default: PLAIN only. `ServerMechanisms::new()` offers none;
    /// `ServerMechanisms::builtin()` adds SCRAM-SHA-256(-PLUS), OAUTHBEARER,
    /// XOAUTH2 and LOGIN; the application may register its own.
    pub sasl: Arc<ServerMechanisms>,
    /// This connection's nonce from the caller's random source (printable
    /// ASCII without `,`), needed by SCRAM: each exchange of the connection
    /// uses it with a counter appended, so it must be fresh per connection.
    /// Without it a SCRAM `AUTH` is answered `-ERR [SYS/PERM]`.
    pub sasl_nonce: Option<String>,
    /// Most client responses in one SASL exchange (an endless exchange
    /// fails with `-ERR` after this many).
    pub max_sasl_steps: usize,
    /// Offer the UTF8 command (RFC 6856): `UTF8 USER` in `CAPA`, and UTF-8
    /// user names and passwords through USER/PASS and APOP after `UTF8`.
    pub utf8: bool,
    /// The languages offered through `LANG` (RFC 6856), the default first:
    /// `LANG` is advertised when the list is not empty. The machine's own
    /// response texts are English; [`Connection::language`](super::Connection::language)
    /// tells the application which one the client chose.
    pub languages: Vec<Language>,
    /// The `EXPIRE` capability (RFC 2449 section 6.7), if advertised. The
    /// application may change it per session
    /// ([`Connection::set_expire`](super::Connection::set_expire)), e.g. to
    /// the user's own value after login.
    pub expire: Option<Expire>,
    /// The `LOGIN-DELAY` capability in seconds (RFC 2449 section 6.8), if
    /// advertised; per session through
    /// [`Connection::set_login_delay`](super::Connection::set_login_delay).
    /// A login refused for that reason is answered with
    /// [`LoginDecision::LoginDelay`] (`-ERR [LOGIN-DELAY]`).
    pub login_delay: Option<u32>,
    /// In AUTHORIZATION, mark `EXPIRE` and `LOGIN-DELAY` with `USER`: the
    /// values vary by user, the user's own ones are sent after login.
    pub policies_per_user: bool,
    /// `IMPLEMENTATION` capability text, if any.
    pub implementation: Option<String>,
    /// Longest command line in octets, CRLF included (RFC 2449: 255).
    pub max_line: usize,
    /// Longest `AUTH` command or SASL response line, CRLF included (RFC
    /// 5034 allows more than 255; OAuth tokens need room). A longer line
    /// ends the exchange with `-ERR`.
    pub max_sasl_line: usize,
    /// Most unprocessed input held while a command waits (pipelining backlog).
    /// The SMTP server's name (`Limits::max_pending_input`); formerly
    /// `max_input_buffer`.
    pub max_pending_input: usize,
    /// Autologout timer (RFC 1939 section 3: at least 10 minutes).
    pub idle_timeout: Duration,
    /// Delay before the `-ERR` of a failed login (USER/PASS, APOP or AUTH).
    /// The SMTP server's name (`Timeouts::auth_failure_delay`); formerly
    /// `login_failure_delay`.
    pub auth_failure_delay: Duration,
    /// Failed logins after which the connection is closed. The SMTP
    /// server's name (`Limits::max_auth_failures`); formerly
    /// `max_failed_logins`.
    pub max_auth_failures: u32,
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
            allow_plaintext_auth: false,
            stls: false,
            tls_active: false,
            sasl: Arc::new(plain_only()),
            sasl_nonce: None,
            max_sasl_steps: postwerk_sasl::server::DEFAULT_MAX_STEPS,
            utf8: false,
            languages: vec![Language::new("en", "English")],
            expire: None,
            login_delay: None,
            policies_per_user: false,
            implementation: None,
            max_line: 255,
            max_sasl_line: 8192,
            max_pending_input: 64 * 1024,
            idle_timeout: Duration::from_secs(600),
            auth_failure_delay: Duration::from_secs(2),
            max_auth_failures: 3,
            max_errors: 20,
            max_pending_output: 128 * 1024,
        }
    }
}

impl Config {
    /// The old name of [`Config::allow_plaintext_auth`] (the SMTP server's name), read.
    #[deprecated(note = "renamed to the field allow_plaintext_auth, as in the SMTP server")]
    pub fn allow_cleartext(&self) -> bool {
        self.allow_plaintext_auth
    }

    /// The old name of [`Config::allow_plaintext_auth`] (the SMTP server's name), set.
    #[deprecated(note = "renamed to the field allow_plaintext_auth, as in the SMTP server")]
    pub fn set_allow_cleartext(&mut self, allow: bool) {
        self.allow_plaintext_auth = allow;
    }

    /// The old name of [`Config::max_pending_input`], read.
    #[deprecated(note = "renamed to the field max_pending_input, as in the SMTP server")]
    pub fn max_input_buffer(&self) -> usize {
        self.max_pending_input
    }

    /// The old name of [`Config::max_pending_input`], set.
    #[deprecated(note = "renamed to the field max_pending_input, as in the SMTP server")]
    pub fn set_max_input_buffer(&mut self, octets: usize) {
        self.max_pending_input = octets;
    }

    /// The old name of [`Config::auth_failure_delay`], read.
    #[deprecated(note = "renamed to the field auth_failure_delay, as in the SMTP server")]
    pub fn login_failure_delay(&self) -> Duration {
        self.auth_failure_delay
    }

    /// The old name of [`Config::auth_failure_delay`], set.
    #[deprecated(note = "renamed to the field auth_failure_delay, as in the SMTP server")]
    pub fn set_login_failure_delay(&mut self, delay: Duration) {
        self.auth_failure_delay = delay;
    }

    /// The old name of [`Config::max_auth_failures`], read.
    #[deprecated(note = "renamed to the field max_auth_failures, as in the SMTP server")]
    pub fn max_failed_logins(&self) -> u32 {
        self.max_auth_failures
    }

    /// The old name of [`Config::max_auth_failures`], set.
    #[deprecated(note = "renamed to the field max_auth_failures, as in the SMTP server")]
    pub fn set_max_failed_logins(&mut self, n: u32) {
        self.max_auth_failures = n;
    }
}

/// The default mechanism set: PLAIN only.
fn plain_only() -> ServerMechanisms {
    let mut m = ServerMechanisms::new();
    m.add_builtin(postwerk_sasl::Mechanism::Plain);
    m
}

/// The `EXPIRE` policy of RFC 2449 section 6.7: how long the server keeps
/// messages after they were retrieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expire {
    /// `EXPIRE NEVER`: messages are kept until the client deletes them.
    Never,
    /// `EXPIRE n`: messages may be deleted `n` days after retrieval; `0`
    /// means they are deleted at the end of the session that retrieved them.
    Days(u32),
}

impl fmt::Display for Expire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expire::Never => f.write_str("NEVER"),
            Expire::Days(n) => write!(f, "{n}"),
        }
    }
}

/// A language offered through `LANG` (RFC 6856 section 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Language {
    /// The language tag (RFC 5646), e.g. `en` or `de-CH`.
    pub tag: String,
    /// Its description, as listed by `LANG` without argument.
    pub description: String,
}

impl Language {
    /// A language with its tag and description.
    pub fn new(tag: impl Into<String>, description: impl Into<String>) -> Language {
        Language {
            tag: tag.into(),
            description: description.into(),
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
    pub fn new(s: impl Into<String>) -> Result<ApopTimestamp, UsageError> {
        let s = s.into();
        let inner = s
            .strip_prefix('<')
            .and_then(|r| r.strip_suffix('>'))
            .ok_or(UsageError::InvalidTimestamp)?;
        let ok = s.len() <= 200
            && inner.contains('@')
            && inner
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b'<' && b != b'>');
        if ok {
            Ok(ApopTimestamp(s))
        } else {
            Err(UsageError::InvalidTimestamp)
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
    /// `digest == apop_digest(timestamp, secret)` ([`crate::apop_digest`]),
    /// comparing in constant time.
    Apop {
        /// The user name.
        user: String,
        /// The digest, lowercase hex.
        digest: String,
        /// The timestamp from the greeting.
        timestamp: String,
    },
    /// A SASL exchange (`AUTH`, RFC 5034) that succeeded: the credentials
    /// were verified through [`Event::SaslVerify`]; what is left to decide
    /// is the maildrop (lock, listing), or a refusal for another reason.
    Sasl {
        /// The mechanism, e.g. `SCRAM-SHA-256`.
        mechanism: String,
        /// The authentication identity: whose credentials were checked (the
        /// identity the application accepted, e.g. a token's subject).
        authcid: String,
        /// The authorization identity the client asked to act as, if any.
        authzid: Option<String>,
    },
}

impl Credentials {
    /// The identity the session acts as: the user name, whichever way it
    /// came; for SASL the authorization identity if one was given, else the
    /// authentication identity. (The same name as the SMTP server's
    /// `Credentials::identity`.)
    pub fn identity(&self) -> &str {
        match self {
            Credentials::User { user, .. } | Credentials::Apop { user, .. } => user,
            Credentials::Sasl {
                authcid, authzid, ..
            } => authzid.as_deref().unwrap_or(authcid),
        }
    }

    /// The old name of [`Credentials::identity`].
    #[deprecated(note = "renamed to identity, as in the SMTP server")]
    pub fn user(&self) -> &str {
        self.identity()
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
            Credentials::Sasl {
                mechanism,
                authcid,
                authzid,
            } => f
                .debug_struct("Sasl")
                .field("mechanism", mechanism)
                .field("authcid", authcid)
                .field("authzid", authzid)
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
    /// A permanent failure that is not about the credentials (the account
    /// is disabled, the maildrop is corrupt): `-ERR [SYS/PERM]` (RFC 3206).
    SysPerm,
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
    /// A SASL mechanism asks the application to verify credentials (the
    /// password, the token, or the SCRAM stored credentials of `authcid`),
    /// carrying the authentication and authorization identities. Answer
    /// with [`Connection::answer_sasl`](super::Connection::answer_sasl). An
    /// exchange that then succeeds raises [`Event::Login`] with
    /// [`Credentials::Sasl`] for the maildrop decision.
    SaslVerify {
        /// Answer with this id.
        id: RequestId,
        /// What to verify.
        request: postwerk_sasl::server::Verify,
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
        /// `Some(n)` for `TOP msg n`: supply the message from its start; the
        /// machine stops asking for chunks once the header and `n` body lines
        /// are out ([`Connection::wants_message_chunk`](super::Connection::wants_message_chunk)
        /// turns `None`; chunks and `finish_message` for this id after that
        /// are accepted and ignored).
        top_lines: Option<u32>,
    },
    /// `TOP`: the header and the lines asked for are out, and the response
    /// is complete, before the application finished supplying the message.
    /// Supply nothing more for `id`; chunks and
    /// [`Connection::finish_message`](super::Connection::finish_message) for
    /// it are still accepted and ignored. Comes before any event of the
    /// commands that follow.
    MessageDone {
        /// The id of the [`Event::MessageRequest`].
        id: RequestId,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(deprecated)]
    fn old_names_are_aliases() {
        let mut config = Config::default();
        assert!(!config.allow_cleartext());
        config.set_allow_cleartext(true);
        assert!(config.allow_plaintext_auth);
        assert!(config.allow_cleartext());
        config.set_max_input_buffer(10);
        config.set_login_failure_delay(Duration::ZERO);
        config.set_max_failed_logins(7);
        assert_eq!(
            (
                config.max_pending_input,
                config.auth_failure_delay,
                config.max_auth_failures
            ),
            (10, Duration::ZERO, 7)
        );
        assert_eq!(config.max_input_buffer(), 10);
        assert_eq!(config.login_failure_delay(), Duration::ZERO);
        assert_eq!(config.max_failed_logins(), 7);
        let sasl = Credentials::Sasl {
            mechanism: "PLAIN".to_owned(),
            authcid: "alice".to_owned(),
            authzid: Some("shared".to_owned()),
        };
        assert_eq!(sasl.identity(), "shared");
        assert_eq!(sasl.user(), sasl.identity());
    }
}
