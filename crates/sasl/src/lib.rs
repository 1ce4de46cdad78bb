//! SASL mechanisms (RFC 4422) as sans-IO machines, client and server sides, shared by
//! postwerk-smtp and postwerk-pop3 (and any later protocol).
//!
//! The crate does no I/O, reads no clock and has no random source: challenge bytes go in,
//! response bytes come out, and the caller supplies the nonces. The bytes are raw: the
//! protocol crates do the base64 and the line framing (`AUTH`, `334`, `+ `).
//!
//! # Server side
//!
//! [`server::ServerMechanisms`] lists what to offer and starts a
//! [`server::ServerExchange`] for the mechanism the client picks. The exchange yields
//! [`server::ServerStep`]s: a challenge to send, a [`server::Verify`] decision for the
//! application (the authentication identity, the authorization identity, and the password,
//! the token, or a request for the SCRAM stored credentials), then success (with the real
//! identities and any final data such as SCRAM's `v=`) or a typed [`Failure`].
//!
//! ```
//! use postwerk_sasl::server::{Answer, ServerContext, ServerMechanisms, ServerStep, Verify};
//! use postwerk_sasl::ScramCredentials;
//!
//! // Stored when the password was set: no password is kept.
//! let stored = ScramCredentials::derive("pencil", b"per-user random salt", 4096).unwrap();
//!
//! let mechanisms = ServerMechanisms::builtin();
//! let ctx = ServerContext::new("server-nonce-from-your-rng").protected(true);
//! let mut exchange = mechanisms.start("SCRAM-SHA-256", &ctx).unwrap();
//!
//! // "AUTH SCRAM-SHA-256 <base64 initial response>"
//! let mut step = exchange.start(Some(b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL")).unwrap();
//! let server_first = loop {
//!     match step {
//!         ServerStep::Verify(Verify::ScramCredentials { authcid, .. }) => {
//!             assert_eq!(authcid, "user");
//!             step = exchange.answer(Answer::ScramCredentials(stored.clone())).unwrap();
//!         }
//!         ServerStep::Challenge(c) => break c, // send as "334 <base64>"
//!         other => panic!("unexpected {other:?}"),
//!     }
//! };
//! assert!(server_first.starts_with(b"r=fyko+d2lbbFgONRv9qkxdawLserver-nonce-from-your-rng,s="));
//! // ... the client's final message goes to exchange.respond(..), which ends in
//! // ServerStep::Success (carrying "v=...") or ServerStep::Failure.
//! ```
//!
//! # Client side
//!
//! [`choose_mechanism`] picks the strongest offered mechanism the credentials allow,
//! [`client_mechanism`] builds it, and [`client::ClientExchange`] drives it.
//!
//! ```
//! use postwerk_sasl::client::ClientExchange;
//! use postwerk_sasl::server::{Answer, ServerContext, ServerMechanisms, ServerStep};
//! use postwerk_sasl::{Credentials, ScramCredentials, choose_mechanism, client_mechanism};
//!
//! let creds = Credentials::password("user", "pencil");
//! let offered = ["LOGIN", "PLAIN", "SCRAM-SHA-256"]; // from the server's AUTH line
//! let mechanism = choose_mechanism(offered, &creds, true).unwrap();
//! let mut client =
//!     ClientExchange::new(client_mechanism(mechanism, &creds, "client-nonce-from-rng").unwrap());
//!
//! // The server end, in memory.
//! let ctx = ServerContext::new("server-nonce-from-rng");
//! let mut server = ServerMechanisms::builtin().start(client.mechanism_name(), &ctx).unwrap();
//! let stored = ScramCredentials::derive("pencil", b"salt", 4096).unwrap();
//!
//! let mut step = server.start(client.initial_response().unwrap().as_deref()).unwrap();
//! let success = loop {
//!     step = match step {
//!         ServerStep::Challenge(challenge) => {
//!             let response = client.step(&challenge).unwrap();
//!             server.respond(&response).unwrap()
//!         }
//!         ServerStep::Verify(_) => server.answer(Answer::ScramCredentials(stored.clone())).unwrap(),
//!         ServerStep::Success(success) => break success,
//!         ServerStep::Failure(failure) => panic!("{failure}"),
//!     };
//! };
//! // The client checks the server's signature (mutual authentication).
//! client.finish(success.additional_data()).unwrap();
//! assert_eq!(success.identity(), "user");
//! ```
//!
//! # Adding a mechanism
//!
//! Implement [`server::ServerMechanism`] (or [`client::ClientMechanism`]) and register a
//! factory with [`server::ServerMechanisms::register`]; its [`server::Verify::Custom`]
//! requests reach the application like the built-in ones.
//!
//! # Standards
//!
//! | Mechanism | Standard | Notes |
//! |---|---|---|
//! | PLAIN | RFC 4616 | authzid, authcid, password |
//! | LOGIN | draft-murchison-sasl-login | `Username:` / `Password:` prompts; initial response taken as user name |
//! | XOAUTH2 | Google's XOAUTH2 protocol | JSON error challenge, empty client response |
//! | OAUTHBEARER | RFC 7628 | GS2 header, kvsep, error JSON, `%x01` dummy response; no channel binding |
//! | SCRAM-SHA-256 | RFC 5802, RFC 7677 | SASLprep (RFC 4013), PBKDF2-HMAC-SHA-256, stored keys, constant-time proof check; gs2 `n`/`y`/`p` with downgrade detection |
//! | SCRAM-SHA-256-PLUS | RFC 5802, RFC 9266 | `tls-exporter` channel binding only (data supplied by the caller) |
//! | EXTERNAL | RFC 4422 appendix A | identity from outside SASL (TLS client certificate) |
//!
//! Not implemented: security layers (RFC 4422 section 3.7; none of these mechanisms has
//! one), SCRAM-SHA-1, `tls-unique`/`tls-server-end-point` channel bindings, SCRAM
//! extensions (a mandatory `m=` extension fails the exchange).
//!
//! # Limits
//!
//! Every response and challenge is bounded ([`server::DEFAULT_MAX_RESPONSE_LEN`],
//! [`client::DEFAULT_MAX_CHALLENGE_LEN`]), and so is the number of round trips; the client
//! refuses SCRAM iteration counts outside 4096..=10,000,000. No input panics.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod error;
mod oauth;
mod scram;
pub mod server;

use std::fmt;

pub use client::{Credentials, choose_mechanism, client_mechanism};
pub use error::{ClientError, Failure, UsageError};
pub use oauth::oauth_error_json;
pub use scram::{DEFAULT_ITERATIONS, KEY_LEN, ScramCredentials, TLS_EXPORTER};

/// The mechanisms built into this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mechanism {
    /// `PLAIN` (RFC 4616).
    Plain,
    /// `LOGIN`.
    Login,
    /// `XOAUTH2` (Google).
    XOAuth2,
    /// `OAUTHBEARER` (RFC 7628).
    OAuthBearer,
    /// `SCRAM-SHA-256` (RFC 7677).
    ScramSha256,
    /// `SCRAM-SHA-256-PLUS` (RFC 7677, RFC 9266).
    ScramSha256Plus,
    /// `EXTERNAL` (RFC 4422 appendix A).
    External,
}

impl Mechanism {
    /// Every built-in mechanism.
    pub const ALL: [Mechanism; 7] = [
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::XOAuth2,
        Mechanism::OAuthBearer,
        Mechanism::ScramSha256,
        Mechanism::ScramSha256Plus,
        Mechanism::External,
    ];

    /// The registered name.
    pub const fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
            Mechanism::External => "EXTERNAL",
        }
    }

    /// The mechanism of this name (ASCII case-insensitive), if built in.
    ///
    /// ```
    /// use postwerk_sasl::Mechanism;
    /// assert_eq!(Mechanism::from_name("scram-sha-256"), Some(Mechanism::ScramSha256));
    /// assert_eq!(Mechanism::from_name("CRAM-MD5"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// RFC 4422 section 3.1: `sasl-mech = 1*20mech-char`, `mech-char = UPPER-ALPHA / DIGIT /
/// HYPHEN / UNDERSCORE`.
pub(crate) fn valid_mechanism_name(name: &str) -> bool {
    (1..=20).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}
