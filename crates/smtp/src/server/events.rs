//! What the server machine reports to the application, and what the application answers.

use std::fmt;

use bytes::Bytes;
use thiserror::Error;

use postwerk_sasl::server::Verify;

use crate::codec::ext_params::MailExtensions;
use crate::codec::params::{MailParameters, RcptParameters};
use crate::codec::path::{ForwardPath, ReversePath};
use crate::codec::reply::Reply;
use crate::codec::text::Text;

/// Identifies an event that needs a [`Decision`], answered with
/// [`Connection::respond`](super::Connection::respond) (or
/// [`Connection::answer_sasl`](super::Connection::answer_sasl) for
/// [`Event::SaslVerify`]). Later pipelined commands wait until it is answered, except
/// RCPTs behind RCPTs: several of those may be outstanding at once and answered in any
/// order; the replies still go out in command order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub(crate) u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The envelope of the current transaction: the sender and the accepted recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// MAIL FROM.
    pub from: ReversePath,
    /// MAIL parameters.
    pub mail_params: MailParameters,
    /// The typed REQUIRETLS, MT-PRIORITY, FUTURERELEASE and DELIVERBY parameters.
    pub mail_extensions: MailExtensions,
    /// Accepted recipients with their parameters, in order.
    pub recipients: Vec<(ForwardPath, RcptParameters)>,
}

/// Why the machine is closing the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client sent QUIT (answered 221).
    Quit,
    /// The client closed its side.
    PeerClosed,
    /// A timeout expired (421 4.4.2).
    Timeout,
    /// Too many client errors (421).
    TooManyErrors,
    /// Too many failed AUTH attempts (421).
    TooManyAuthFailures,
    /// The client talked before the greeting (554).
    EarlyTalker,
    /// The client pipelined without being allowed to (554).
    UnauthorizedPipelining,
    /// A bare CR or LF under [`BareLineEndings::Close`](super::BareLineEndings) (421).
    BareLineEnding,
    /// The application asked for it ([`Decision::Close`]).
    Application,
}

/// Why a message being received was dropped before its end was acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AbortReason {
    /// Over the configured size.
    TooBig,
    /// A bare CR or LF under the Reject or Close policy.
    BareLineEnding,
    /// A text line over the configured limit.
    LineTooLong,
    /// The connection ended (EOF, timeout, close) before the end of data.
    ConnectionClosed,
    /// RSET, HELO/EHLO/LHLO or STARTTLS reset a transaction after some of its BDAT chunks
    /// were received (RFC 3030 4.1, RFC 5321 4.1.1.5): the partial body is discarded.
    Reset,
}

/// An event from the server machine, in protocol order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A client connected (only with [`Decisions::connect`](super::Decisions)): greet it?
    /// Accept sends the `220` greeting (AcceptWith a `220` reply of the application's);
    /// Reject or Close send their reply (e.g. `554 5.7.1`) and close.
    Connect {
        /// Answer with this id.
        id: RequestId,
    },
    /// HELO, EHLO or LHLO (only with [`Decisions::hello`](super::Decisions)): accept the
    /// client's name? Accept answers with the greeting and the keywords of the session
    /// [`Settings`](super::Settings) at that moment (so the application may change them
    /// first); Reject sends its reply and leaves the session as it was.
    HelloCommand {
        /// Answer with this id.
        id: RequestId,
        /// The client's name for itself.
        domain: Text,
        /// EHLO or LHLO (not HELO).
        extended: bool,
    },
    /// DATA, or the first BDAT of a transaction (only with
    /// [`Decisions::data`](super::Decisions)): take the message? Accept sends `354` (DATA)
    /// or reads the chunk (BDAT); Reject sends its reply (a refused BDAT chunk is read and
    /// discarded first).
    DataCommand {
        /// Answer with this id.
        id: RequestId,
        /// BDAT (not DATA).
        bdat: bool,
    },
    /// STARTTLS (only with [`Decisions::starttls`](super::Decisions)): start TLS? Accept
    /// sends `220` and raises [`Event::StartTls`]; Reject sends its reply, e.g.
    /// [`Reply::tls_not_available`] (`454 4.7.0`).
    StartTlsCommand {
        /// Answer with this id.
        id: RequestId,
    },
    /// HELO, EHLO or LHLO was answered (informational).
    Helo {
        /// The client's name for itself.
        domain: Text,
        /// EHLO or LHLO (not HELO).
        extended: bool,
    },
    /// MAIL FROM: accept the sender? Accept answers `250 2.1.0`.
    Mail {
        /// Answer with this id.
        id: RequestId,
        /// The sender.
        from: ReversePath,
        /// The parameters (already checked against the advertised extensions). `other`
        /// holds only the parameters the application registered
        /// ([`Settings::mail_parameters`](super::Settings::mail_parameters)).
        params: MailParameters,
        /// REQUIRETLS, MT-PRIORITY, FUTURERELEASE and DELIVERBY, typed (only those the
        /// session advertises are accepted).
        extensions: MailExtensions,
    },
    /// RCPT TO: accept the recipient? Accept answers `250 2.1.5`.
    Rcpt {
        /// Answer with this id.
        id: RequestId,
        /// The recipient.
        to: ForwardPath,
        /// The parameters; `other` holds only the ones the application registered
        /// ([`Settings::rcpt_parameters`](super::Settings::rcpt_parameters)).
        params: RcptParameters,
    },
    /// A SASL mechanism asks the application to verify credentials (a password, a token,
    /// SCRAM's stored credentials, an external identity, or a custom mechanism's secret),
    /// with the authentication and authorization identities. Answer with
    /// [`Connection::answer_sasl`](super::Connection::answer_sasl), or
    /// [`Connection::respond`](super::Connection::respond) with Reject (a reply of the
    /// application's, e.g. [`Reply::auth_temporary_failure`]) or Close.
    SaslVerify {
        /// Answer with this id.
        id: RequestId,
        /// What to verify.
        request: Verify,
    },
    /// A SASL exchange succeeded: log the client in? Accept answers `235 2.7.0` and
    /// records [`Credentials::identity`] ([`Decision::Authenticated`] records another);
    /// Reject sends its reply and counts as a failed login.
    Login {
        /// Answer with this id.
        id: RequestId,
        /// Who logged in.
        credentials: Credentials,
    },
    /// VRFY (only with [`Config::vrfy_events`](super::Config)); Accept answers 252.
    Vrfy {
        /// Answer with this id.
        id: RequestId,
        /// The argument.
        arg: Text,
    },
    /// A message body starts (after 354, or at the first BDAT chunk). Informational.
    DataStart,
    /// A piece of the body, dot-unstuffed, in order. Never accumulated by the machine.
    BodyChunk(Bytes),
    /// The whole body has been delivered as chunks: accept the message? Answer only once
    /// it is safely stored; Accept answers `250 2.0.0`. In LMTP mode answer with
    /// [`Connection::respond_per_recipient`](super::Connection::respond_per_recipient)
    /// (or one decision for all).
    DataEnd {
        /// Answer with this id.
        id: RequestId,
        /// The transaction's envelope.
        envelope: Envelope,
        /// Body octets delivered.
        size: u64,
    },
    /// The body so far must be discarded; the machine answers the client itself.
    DataAborted(AbortReason),
    /// `220 Ready to start TLS` is queued: flush it, then run the TLS handshake and call
    /// [`Connection::tls_established`](super::Connection::tls_established).
    StartTls,
    /// The transaction was reset (RSET, EHLO, STARTTLS).
    Reset,
    /// The machine is closing the connection; flush the output, then close.
    Closing(CloseReason),
}

/// The application's answer to an event with a [`RequestId`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Yes, with the standard reply.
    Accept,
    /// Yes, with this (positive) reply, e.g. `250 2.0.0 queued as ABC`.
    AcceptWith(Reply),
    /// No, with this reply (4xx or 5xx).
    Reject(Reply),
    /// Yes to [`Event::Login`]: the client is authenticated as this identity
    /// (`235 2.7.0`), which is what
    /// [`Connection::authenticated`](super::Connection::authenticated) reports from then
    /// on (e.g. a canonical name instead of the one sent).
    Authenticated(String),
    /// Send this reply (4xx, e.g. 421) and close the connection.
    Close(Reply),
}

/// How a client logged in ([`Event::Login`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    /// A SASL exchange whose credentials the application verified through
    /// [`Event::SaslVerify`].
    Sasl {
        /// The mechanism, e.g. `SCRAM-SHA-256`.
        mechanism: String,
        /// The authentication identity: whose credentials were checked (the identity the
        /// application accepted, e.g. a token's subject).
        authcid: String,
        /// The authorization identity the client asked to act as, if any.
        authzid: Option<String>,
    },
}

impl Credentials {
    /// The identity the session acts as: the authorization identity if one was given,
    /// else the authentication identity.
    pub fn identity(&self) -> &str {
        match self {
            Credentials::Sasl {
                authcid, authzid, ..
            } => authzid.as_deref().unwrap_or(authcid),
        }
    }
}

/// The old name of [`UsageError`] (the name the client, POP3 and SASL crates use).
#[deprecated(note = "renamed to UsageError, as in the client and the other crates")]
pub type ApiError = UsageError;

/// The caller used the machine wrongly (never caused by the peer).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum UsageError {
    /// No event with this id is waiting for an answer.
    #[error("no pending request {0}")]
    UnknownRequest(RequestId),
    /// This kind of decision does not fit the event (e.g. a challenge for MAIL, or a
    /// positive reply in `Reject`).
    #[error("decision does not fit request {0}")]
    InvalidDecision(RequestId),
    /// `tls_established` without a preceding [`Event::StartTls`].
    #[error("no STARTTLS is in progress")]
    NotAwaitingTls,
}
