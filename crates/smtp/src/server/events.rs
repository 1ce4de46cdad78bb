//! What the server machine reports to the application, and what the application answers.

use std::fmt;

use bytes::Bytes;
use thiserror::Error;

use crate::codec::params::{MailParameters, RcptParameters};
use crate::codec::path::{ForwardPath, ReversePath};
use crate::codec::reply::Reply;
use crate::codec::sasl::Mechanism;

/// Identifies an event that needs a [`Decision`]. Later pipelined commands wait until it
/// is answered with [`Connection::respond`](super::Connection::respond).
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
    /// HELO, EHLO or LHLO was answered (informational).
    Helo {
        /// The client's name for itself.
        domain: String,
        /// EHLO or LHLO (not HELO).
        extended: bool,
    },
    /// MAIL FROM: accept the sender? Accept answers `250 2.1.0`.
    Mail {
        /// Answer with this id.
        id: RequestId,
        /// The sender.
        from: ReversePath,
        /// The parameters (already checked against the advertised extensions).
        params: MailParameters,
    },
    /// RCPT TO: accept the recipient? Accept answers `250 2.1.5`.
    Rcpt {
        /// Answer with this id.
        id: RequestId,
        /// The recipient.
        to: ForwardPath,
        /// The parameters.
        params: RcptParameters,
    },
    /// AUTH with PLAIN or LOGIN: are these credentials valid? Accept answers `235 2.7.0`
    /// and records `authcid` as the identity ([`Decision::Authenticated`] records another,
    /// e.g. a canonical one); reject with [`Reply::auth_invalid_credentials`]
    /// (`535 5.7.8`).
    Auth {
        /// Answer with this id.
        id: RequestId,
        /// PLAIN or LOGIN.
        mechanism: Mechanism,
        /// Authorization identity (empty: same as `authcid`).
        authzid: String,
        /// Authentication identity (user name).
        authcid: String,
        /// The password as sent.
        password: Vec<u8>,
    },
    /// One step of another SASL mechanism: the decoded client response. Answer with
    /// [`Decision::Challenge`] to continue, [`Decision::Authenticated`] with the identity
    /// the mechanism established to succeed (a plain Accept is refused with
    /// [`UsageError::InvalidDecision`]: the machine cannot know who logged in), or Reject
    /// to fail.
    AuthExchange {
        /// Answer with this id.
        id: RequestId,
        /// The mechanism.
        mechanism: Mechanism,
        /// Decoded client response (empty for none).
        response: Vec<u8>,
    },
    /// VRFY (only with [`Config::vrfy_events`](super::Config)); Accept answers 252.
    Vrfy {
        /// Answer with this id.
        id: RequestId,
        /// The argument.
        arg: String,
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
    /// Continue a SASL exchange with this challenge (only for `AuthExchange`).
    Challenge(Vec<u8>),
    /// Yes to [`Event::Auth`] or [`Event::AuthExchange`]: the client is authenticated as
    /// this identity (`235 2.7.0`), which is what
    /// [`Connection::authenticated`](super::Connection::authenticated) reports from then
    /// on. The only way to end an `AuthExchange` successfully; for `Auth` it records a
    /// canonical identity instead of the `authcid` as sent.
    Authenticated(String),
    /// Send this reply (4xx, e.g. 421) and close the connection.
    Close(Reply),
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
