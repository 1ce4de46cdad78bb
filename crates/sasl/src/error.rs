//! Error types: the peer's failures ([`Failure`], [`ClientError`]) apart from the caller
//! misusing the API ([`UsageError`]).

use thiserror::Error;

/// Why a server-side exchange failed: the client broke the mechanism, sent something too
/// large, gave a wrong proof, or the application refused the credentials.
///
/// A protocol crate answers [`Failure::is_malformed`] failures with its "syntax error" reply
/// (SMTP 501, POP3 `-ERR`) and all others with "authentication failed" (SMTP 535 5.7.8,
/// POP3 `-ERR [AUTH]`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Failure {
    /// A client response was longer than the configured maximum.
    #[error("the client response is {len} bytes, more than the limit of {max}")]
    ResponseTooLong {
        /// Length of the response received.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The exchange went on for more round trips than allowed.
    #[error("the exchange exceeded {max} round trips")]
    TooManySteps {
        /// The configured maximum.
        max: usize,
    },
    /// A client message did not follow the mechanism's syntax.
    #[error("malformed {mechanism} message: {what}")]
    Malformed {
        /// The mechanism name.
        mechanism: String,
        /// What was wrong.
        what: &'static str,
    },
    /// The application rejected the credentials (or the user is unknown).
    #[error("the credentials were rejected")]
    Rejected,
    /// The SCRAM client proof does not verify against the stored key.
    #[error("the SCRAM client proof does not verify")]
    InvalidProof,
    /// The SCRAM client-final message does not carry the nonce of this exchange.
    #[error("the SCRAM nonce in the final message is not the one of this exchange")]
    NonceMismatch,
    /// The channel binding data (`c=`) do not match this connection's.
    #[error("the channel binding data do not match this connection")]
    ChannelBindingMismatch,
    /// The client sent gs2 flag `y` (it supports channel binding but believes the server does
    /// not) while the server offers `-PLUS`: someone removed `-PLUS` from the offer.
    #[error(
        "channel binding downgrade: the client saw no -PLUS mechanism, but the server offers one"
    )]
    ChannelBindingDowngrade,
    /// The gs2 flag does not fit the mechanism: `p=` on a mechanism without `-PLUS`, or
    /// `n`/`y` on a `-PLUS` mechanism.
    #[error("the channel binding flag does not fit the selected mechanism")]
    ChannelBindingNotNegotiated,
    /// The client asked for a channel binding type other than `tls-exporter`.
    #[error("unsupported channel binding type {0:?}")]
    UnsupportedChannelBinding(String),
    /// The client sent a mandatory SCRAM extension (`m=`) this server does not know.
    #[error("unsupported mandatory SCRAM extension")]
    UnsupportedExtension,
}

impl Failure {
    /// Whether the failure is a syntax or size error (reply "syntax error") rather than an
    /// authentication failure (reply "authentication failed").
    pub fn is_malformed(&self) -> bool {
        matches!(
            self,
            Failure::Malformed { .. }
                | Failure::ResponseTooLong { .. }
                | Failure::TooManySteps { .. }
                | Failure::UnsupportedExtension
        )
    }

    pub(crate) fn malformed(mechanism: &str, what: &'static str) -> Self {
        Failure::Malformed {
            mechanism: mechanism.to_owned(),
            what,
        }
    }
}

/// Why a client-side exchange failed: the server's challenge was malformed, too large,
/// inconsistent, or the server could not prove it knows the password.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A server challenge was longer than the configured maximum.
    #[error("the server challenge is {len} bytes, more than the limit of {max}")]
    ChallengeTooLong {
        /// Length of the challenge received.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The exchange went on for more round trips than allowed.
    #[error("the exchange exceeded {max} round trips")]
    TooManySteps {
        /// The configured maximum.
        max: usize,
    },
    /// A server message did not follow the mechanism's syntax.
    #[error("malformed {mechanism} server message: {what}")]
    Malformed {
        /// The mechanism name.
        mechanism: String,
        /// What was wrong.
        what: &'static str,
    },
    /// The server sent a challenge where the mechanism expects none.
    #[error("unexpected challenge: the {mechanism} exchange is already complete")]
    UnexpectedChallenge {
        /// The mechanism name.
        mechanism: String,
    },
    /// The SCRAM server nonce does not extend the client's nonce.
    #[error("the SCRAM server nonce does not start with the client nonce")]
    NonceMismatch,
    /// The SCRAM iteration count is outside the accepted range.
    #[error("the SCRAM iteration count {count} is outside {min}..={max}")]
    IterationCount {
        /// The count the server sent.
        count: u32,
        /// Smallest accepted count.
        min: u32,
        /// Largest accepted count.
        max: u32,
    },
    /// The SCRAM server signature (`v=`) is wrong: the server does not know the credentials.
    #[error("the SCRAM server signature does not verify: the server is not who it claims")]
    InvalidServerSignature,
    /// The server reported success without proving itself (SCRAM `v=` missing).
    #[error("the server reported success without the SCRAM server signature")]
    MissingServerSignature,
    /// The SCRAM server sent `e=` with this error value.
    #[error("the SCRAM server reported an error: {0}")]
    ServerError(String),
}

impl ClientError {
    pub(crate) fn malformed(mechanism: &str, what: &'static str) -> Self {
        ClientError::Malformed {
            mechanism: mechanism.to_owned(),
            what,
        }
    }
}

/// The caller misused the API: wrong call order, invalid configuration or credentials.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum UsageError {
    /// A nonce must be printable ASCII without `,` (RFC 5802 `printable`), at least one byte.
    #[error("invalid nonce: it must be printable ASCII without ',' and not empty")]
    InvalidNonce,
    /// A `-PLUS` mechanism was asked for without channel binding data.
    #[error("a -PLUS mechanism needs channel binding data (tls-exporter)")]
    MissingChannelBinding,
    /// A credential the mechanism needs was not supplied.
    #[error("the {0} mechanism needs a {1}")]
    MissingCredential(&'static str, &'static str),
    /// A string could not be prepared with SASLprep (RFC 4013), or holds a NUL.
    #[error("the {0} cannot be used: it contains prohibited characters (SASLprep, RFC 4013)")]
    InvalidString(&'static str),
    /// SCRAM iteration counts must be at least 1.
    #[error("the SCRAM iteration count must be at least 1")]
    InvalidIterations,
    /// The exchange is finished; no more input is accepted.
    #[error("the exchange is already finished")]
    Finished,
    /// A verification request is outstanding; answer it before feeding more input.
    #[error("a verification request is outstanding: call answer() first")]
    AnswerPending,
    /// `answer` was called while no verification request is outstanding.
    #[error("no verification request is outstanding")]
    NoPendingRequest,
    /// `start` was called twice, or `step` before `start`.
    #[error("the exchange was {0}")]
    OutOfOrder(&'static str),
    /// The answer does not fit the outstanding request (e.g. SCRAM credentials for PLAIN).
    #[error("the answer does not fit the outstanding {0} request")]
    AnswerMismatch(&'static str),
    /// No mechanism of this name is registered (or it is not offered in this context).
    #[error("mechanism {0:?} is not offered")]
    NotOffered(String),
    /// A mechanism name must be 1 to 20 characters of `A-Z 0-9 - _` (RFC 4422 section 3.1).
    #[error("invalid mechanism name {0:?}")]
    InvalidMechanismName(String),
}
