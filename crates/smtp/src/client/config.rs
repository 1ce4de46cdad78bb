//! Client configuration: who we are, how we treat TLS and credentials, limits and
//! deadlines.

use std::fmt;
use std::time::Duration;

use crate::codec::reply::ReplyLimits;

/// When the client upgrades the connection with STARTTLS (RFC 3207).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TlsPolicy {
    /// Use STARTTLS when the server offers it; go on in cleartext when it does not, or when
    /// it refuses the command.
    #[default]
    Opportunistic,
    /// Fail the connection (and every queued transaction, temporarily) when the server does
    /// not offer STARTTLS or refuses it.
    Required,
    /// Never send STARTTLS.
    Disabled,
}

/// What the client does with a message body that holds a bare CR or a bare LF
/// (SECURITY.md 4: the client only ever writes CRLF line ends).
///
/// The variants have the names of the server's
/// [`server::BareLineEndings`](crate::server::BareLineEndings): `Reject` (the default) and
/// `Normalize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BareLineEndings {
    /// Fail the transaction with
    /// [`TransactionError::BareLineEnding`](super::TransactionError::BareLineEnding)
    /// before sending anything for it.
    #[default]
    Reject,
    /// Turn every bare CR and bare LF into CRLF before sending.
    Normalize,
}

#[allow(non_upper_case_globals)]
impl BareLineEndings {
    /// The old name of [`BareLineEndings::Reject`].
    #[deprecated(note = "renamed to BareLineEndings::Reject, as in the server")]
    pub const Refuse: BareLineEndings = BareLineEndings::Reject;

    /// The old name of [`BareLineEndings::Normalize`].
    #[deprecated(note = "renamed to BareLineEndings::Normalize, as in the server")]
    pub const Normalise: BareLineEndings = BareLineEndings::Normalize;
}

/// A user name and password for SMTP AUTH. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The authentication identity (for mail submission usually the full address).
    pub username: String,
    /// The password.
    pub password: String,
}

impl Credentials {
    /// Credentials from a user name and a password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials {
            username: username.into(),
            password: password.into(),
        }
    }
}

impl Credentials {
    /// The same user name and password as postwerk-sasl credentials, for any
    /// password mechanism (SCRAM-SHA-256, PLAIN, LOGIN).
    pub fn to_sasl(&self) -> postwerk_sasl::Credentials {
        postwerk_sasl::Credentials::password(self.username.clone(), self.password.clone())
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// How long the client waits for each reply: RFC 5321 section 4.5.3.2 values by default.
///
/// Deadlines are computed with checked arithmetic: a duration too long to add to the
/// current time (such as `Duration::MAX`) never panics, that deadline just never comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// The 220 greeting (4.5.3.2.1: 5 minutes).
    pub greeting: Duration,
    /// EHLO/HELO/LHLO, STARTTLS, AUTH, RSET and QUIT. RFC 5321 names no value; 5 minutes.
    pub command: Duration,
    /// The reply to MAIL (4.5.3.2.2: 5 minutes).
    pub mail: Duration,
    /// The reply to each RCPT (4.5.3.2.3: 5 minutes).
    pub rcpt: Duration,
    /// The 354 reply to DATA (4.5.3.2.4: 2 minutes).
    pub data_init: Duration,
    /// Each write of the message body (4.5.3.2.5: 3 minutes). The body is handed out in
    /// chunks of at most [`BODY_CHUNK`](super::BODY_CHUNK) octets; from the moment it is
    /// queued until [`handle_written`](super::Connection::handle_written) reports its
    /// last octets written, this deadline runs from the latest write progress reported
    /// (the driver should also bound each socket write by it).
    pub data_block: Duration,
    /// The reply after the end of data, or after the last BDAT chunk
    /// (4.5.3.2.6: 10 minutes), counted from when
    /// [`handle_written`](super::Connection::handle_written) reported the body's last
    /// octets written.
    pub data_end: Duration,
    /// The TLS handshake, from the `StartTls` event to
    /// [`tls_established`](super::Connection::tls_established). 5 minutes.
    pub tls_handshake: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        const MINUTE: u64 = 60;
        Timeouts {
            greeting: Duration::from_secs(5 * MINUTE),
            command: Duration::from_secs(5 * MINUTE),
            mail: Duration::from_secs(5 * MINUTE),
            rcpt: Duration::from_secs(5 * MINUTE),
            data_init: Duration::from_secs(2 * MINUTE),
            data_block: Duration::from_secs(3 * MINUTE),
            data_end: Duration::from_secs(10 * MINUTE),
            tls_handshake: Duration::from_secs(5 * MINUTE),
        }
    }
}

/// Everything a [`Connection`](super::Connection) needs to know before it starts.
///
/// ```
/// use postwerk_smtp::client::{Config, Credentials, TlsPolicy};
/// let mut config = Config::new("relay.example.org");
/// config.tls = TlsPolicy::Required;
/// config.credentials = Some(Credentials::new("alice@example.org", "secret"));
/// assert!(!config.lmtp);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Our name in EHLO/HELO/LHLO: a domain or an address literal such as `[192.0.2.1]`.
    pub ehlo_name: String,
    /// When to send STARTTLS.
    pub tls: TlsPolicy,
    /// The connection is already encrypted (implicit TLS, RFC 8314): no STARTTLS, and AUTH
    /// is allowed.
    pub tls_active: bool,
    /// Log in with this user name and password: the shorthand for
    /// [`Config::sasl_credentials`] with [`postwerk_sasl::Credentials::password`].
    pub credentials: Option<Credentials>,
    /// Log in with these (a password, an OAuth token, `tls-exporter` channel binding data,
    /// EXTERNAL); they take precedence over [`Config::credentials`]. The mechanism is the
    /// strongest one the server offers that they allow
    /// ([`postwerk_sasl::choose_mechanism`]: SCRAM-SHA-256-PLUS, SCRAM-SHA-256,
    /// OAUTHBEARER, XOAUTH2, PLAIN, LOGIN; EXTERNAL first when asked for).
    pub sasl_credentials: Option<postwerk_sasl::Credentials>,
    /// The client nonce for SCRAM (RFC 5802), from the caller's random source: printable
    /// ASCII without `,`, 18 characters or more. Without it SCRAM is never chosen.
    pub sasl_nonce: Option<String>,
    /// Send credentials over a cleartext connection (SECURITY.md 11). Off by default: without
    /// TLS, a connection with credentials fails with
    /// [`ConnectionError::AuthNeedsTls`](super::ConnectionError::AuthNeedsTls). The same
    /// name as the servers' `Config::allow_plaintext_auth` (formerly `auth_without_tls`).
    pub allow_plaintext_auth: bool,
    /// Bounds on reply line length and line count (SECURITY.md 27).
    pub reply_limits: ReplyLimits,
    /// Per-phase deadlines.
    pub timeouts: Timeouts,
    /// Speak LMTP (RFC 2033): LHLO instead of EHLO, one reply per recipient after the data.
    pub lmtp: bool,
    /// What to do with bare CR or LF in a body.
    pub bare_line_endings: BareLineEndings,
    /// Pipeline MAIL, RCPT and DATA when the server advertises PIPELINING (RFC 2920).
    pub pipelining: bool,
    /// Send bodies with BDAT when the server advertises CHUNKING (RFC 3030).
    pub chunking: bool,
    /// Emit an [`Event::Reply`](super::Event::Reply) for every reply received, for logs and
    /// transcripts.
    pub report_replies: bool,
    /// The high-water mark of pending output, in octets (default 131072). While
    /// [`Connection::pending_output`](super::Connection::pending_output) is above it, no
    /// further buffered reply is processed and no transaction is started; the machine
    /// resumes inside [`Connection::poll_transmit`](super::Connection::poll_transmit).
    /// Pending output never exceeds the mark plus one unit (the commands and the body of
    /// one transaction given whole, or one chunk of a
    /// [streamed](super::Transaction::streaming) body, which is only asked for while
    /// pending output is at or below the mark). See the [crate docs](crate#bounded-output).
    pub max_pending_output: usize,
}

impl Config {
    /// A configuration with RFC defaults: opportunistic TLS, no credentials, pipelining on,
    /// chunking off, bare line endings refused.
    pub fn new(ehlo_name: impl Into<String>) -> Config {
        Config {
            ehlo_name: ehlo_name.into(),
            tls: TlsPolicy::default(),
            tls_active: false,
            credentials: None,
            sasl_credentials: None,
            sasl_nonce: None,
            allow_plaintext_auth: false,
            reply_limits: ReplyLimits::default(),
            timeouts: Timeouts::default(),
            lmtp: false,
            bare_line_endings: BareLineEndings::default(),
            pipelining: true,
            chunking: false,
            report_replies: false,
            max_pending_output: 128 * 1024,
        }
    }

    /// The old name of [`Config::allow_plaintext_auth`], read.
    #[deprecated(note = "renamed to the field allow_plaintext_auth, as in the servers")]
    pub fn auth_without_tls(&self) -> bool {
        self.allow_plaintext_auth
    }

    /// The old name of [`Config::allow_plaintext_auth`], set.
    #[deprecated(note = "renamed to the field allow_plaintext_auth, as in the servers")]
    pub fn set_auth_without_tls(&mut self, allow: bool) {
        self.allow_plaintext_auth = allow;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(deprecated)]
    fn old_names_are_aliases() {
        assert_eq!(BareLineEndings::Refuse, BareLineEndings::Reject);
        assert_eq!(BareLineEndings::Normalise, BareLineEndings::Normalize);
        assert_eq!(BareLineEndings::default(), BareLineEndings::Reject);
        // The old names still work as patterns.
        assert!(matches!(
            BareLineEndings::Normalize,
            BareLineEndings::Normalise
        ));
        let mut config = Config::new("client.example");
        assert!(!config.auth_without_tls());
        config.set_auth_without_tls(true);
        assert!(config.allow_plaintext_auth);
        assert!(config.auth_without_tls());
    }
}
