//! What the client machine reports to its driver, and the ways a connection or a
//! transaction can fail.

use thiserror::Error;

use crate::codec::reply::{Reply, ReplyError};

use super::downgrade::DowngradeError;
use super::transaction::{Delivery, TransactionId, TransactionResult};

/// Something the driver must act on or may want to know, from
/// [`Connection::poll_event`](super::Connection::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A reply arrived (only with [`Config::report_replies`](super::Config::report_replies)).
    Reply(Reply),
    /// The server accepted STARTTLS: the driver must run the TLS handshake on the socket now,
    /// then call [`Connection::tls_established`](super::Connection::tls_established). The
    /// machine ignores input until then.
    StartTls,
    /// A transaction is finished, successfully or not.
    TransactionDone(TransactionResult),
    /// The [streamed](super::Transaction::streaming) transaction `id` takes the next piece
    /// of its body: answer with [`Connection::body_chunk`](super::Connection::body_chunk)
    /// or, at the end, [`Connection::body_end`](super::Connection::body_end) (now or
    /// later: the machine waits). Emitted once per piece, only while pending output is
    /// at or below [`Config::max_pending_output`](super::Config::max_pending_output), so
    /// pending output stays under the mark plus one chunk.
    BodyWanted {
        /// The transaction.
        id: TransactionId,
    },
    /// The reply to a NOOP asked for with [`Connection::noop`](super::Connection::noop).
    NoopReply(Reply),
    /// The reply to an RSET asked for with [`Connection::rset`](super::Connection::rset).
    RsetReply(Reply),
    /// The connection is over: the driver closes the socket. `error` says why, when it was
    /// not a normal QUIT.
    Closed {
        /// The failure that ended the connection, if any.
        error: Option<ConnectionError>,
    },
}

/// The protocol step the client was in, for timeouts and lost connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// Waiting for the 220 greeting.
    Greeting,
    /// EHLO, HELO or LHLO.
    Hello,
    /// STARTTLS and the handshake.
    StartTls,
    /// AUTH.
    Auth,
    /// MAIL.
    Mail,
    /// RCPT.
    Rcpt,
    /// DATA, waiting for 354.
    DataInit,
    /// Writing the message body: its last octets not yet reported written with
    /// [`Connection::handle_written`](super::Connection::handle_written) (the data-block
    /// deadline, RFC 5321 4.5.3.2.5).
    Body,
    /// After the end of data (or the last BDAT chunk), waiting for the final reply.
    DataEnd,
    /// RSET.
    Rset,
    /// NOOP.
    Noop,
    /// QUIT.
    Quit,
    /// No command outstanding.
    Idle,
}

/// Why a connection failed. Every transaction still queued fails with it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// No reply within the phase's deadline.
    #[error("timeout waiting for a reply in phase {0:?}")]
    Timeout(Phase),
    /// The server closed the connection.
    #[error("connection closed by the server in phase {0:?}")]
    ClosedByPeer(Phase),
    /// A reply broke RFC 5321 syntax or the configured bounds.
    #[error("bad reply from the server: {0}")]
    BadReply(#[from] ReplyError),
    /// The greeting was not 220.
    #[error("server greeting refused the session: {0}")]
    GreetingRejected(Reply),
    /// Both EHLO and HELO (or LHLO) were refused.
    #[error("server refused our hello: {0}")]
    HelloRejected(Reply),
    /// [`TlsPolicy::Required`](super::TlsPolicy::Required) and the server does not offer
    /// STARTTLS.
    #[error("TLS required but the server does not offer STARTTLS")]
    TlsNotOffered,
    /// [`TlsPolicy::Required`](super::TlsPolicy::Required) and STARTTLS was refused.
    #[error("TLS required but the server refused STARTTLS: {0}")]
    TlsRefused(Reply),
    /// Credentials are configured but the server offers no mechanism they can be used
    /// with (see [`postwerk_sasl::choose_mechanism`]).
    #[error("the server offers no usable AUTH mechanism")]
    AuthNotOffered,
    /// Credentials are configured, the connection is not encrypted and
    /// [`Config::allow_plaintext_auth`](super::Config::allow_plaintext_auth) is off.
    #[error("refusing to send credentials without TLS")]
    AuthNeedsTls,
    /// The server refused the credentials.
    #[error("authentication failed: {0}")]
    AuthFailed(Reply),
    /// The SASL mechanism refused the server's challenge (malformed, wrong nonce), or the
    /// server accepted the login without proving itself (SCRAM's server signature
    /// missing or wrong): the server is not trusted.
    #[error("SASL exchange failed: {0}")]
    Sasl(postwerk_sasl::ClientError),
    /// A [streamed](super::Transaction::streaming) body turned out unsendable after part of
    /// it was written (see the transaction's error): the connection is closed without
    /// ending the data, so the server never takes a partial message.
    #[error("message data abandoned: the connection was closed mid-body")]
    DataAborted,
    /// The server announced it is closing the channel (421).
    #[error("server closing the connection: {0}")]
    ServiceClosing(Reply),
    /// A reply that makes no sense at this point (a reply nobody asked for, a 3xx to MAIL).
    #[error("unexpected reply in phase {phase:?}: {reply}")]
    UnexpectedReply {
        /// Where the client was.
        phase: Phase,
        /// What came.
        reply: Reply,
    },
}

impl ConnectionError {
    /// How a queue treats recipients that failed with this error: 5xx greeting, hello and
    /// authentication replies are permanent, everything else temporary.
    pub fn delivery(&self) -> Delivery {
        match self {
            ConnectionError::GreetingRejected(r)
            | ConnectionError::HelloRejected(r)
            | ConnectionError::AuthFailed(r) => Delivery::of_reply(r),
            _ => Delivery::TemporaryFailure,
        }
    }
}

/// Why a transaction, or one recipient, failed without a reply of its own.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TransactionError {
    /// The connection failed (before or during the transaction).
    #[error(transparent)]
    Connection(ConnectionError),
    /// The body holds a bare CR or LF at this offset and the policy is
    /// [`BareLineEndings::Reject`](super::BareLineEndings::Reject).
    #[error("message has a bare CR or LF at offset {offset}")]
    BareLineEnding {
        /// Byte offset in the body.
        offset: usize,
    },
    /// The addresses or the header section need SMTPUTF8 and the server does not offer it
    /// (RFC 6531 3.4).
    #[error("message or address needs SMTPUTF8, which the server does not offer")]
    SmtpUtf8NotOffered,
    /// A [streamed](super::Transaction::streaming) body not marked 8-bit
    /// ([`Transaction::with_8bit`](super::Transaction::with_8bit)) has 8-bit octets, and the
    /// server does not offer 8BITMIME (RFC 6152). (A body given whole is downgraded instead.)
    #[error("message has 8-bit content, and the server does not offer 8BITMIME")]
    EightBitNotOffered,
    /// The message is larger than the server's SIZE limit (RFC 1870).
    #[error("message of {size} octets exceeds the server's SIZE limit of {limit}")]
    MessageTooBig {
        /// The message size.
        size: u64,
        /// The server's limit.
        limit: u64,
    },
    /// The transaction has no recipients.
    #[error("transaction has no recipients")]
    NoRecipients,
    /// The message has 8-bit content, the server does not offer 8BITMIME, and the
    /// message cannot be downgraded to 7 bits (RFC 6152 3, RFC 6531 3.2).
    #[error("message cannot be downgraded to 7 bits for a server without 8BITMIME: {0}")]
    CannotDowngrade(DowngradeError),
    /// REQUIRETLS (RFC 8689) was asked for and the connection is not encrypted.
    #[error("REQUIRETLS asked for, and the connection is not encrypted")]
    TlsNotActive,
    /// REQUIRETLS (RFC 8689) was asked for and the server does not advertise it.
    #[error("REQUIRETLS asked for, and the server does not offer it")]
    RequireTlsNotOffered,
}

impl TransactionError {
    /// Connection failures follow [`ConnectionError::delivery`]; REQUIRETLS failures are
    /// temporary (another attempt, or another MX host, may offer it: RFC 8689 4.2.1); a
    /// message the server cannot carry is a permanent failure.
    pub fn delivery(&self) -> Delivery {
        match self {
            TransactionError::Connection(e) => e.delivery(),
            TransactionError::TlsNotActive | TransactionError::RequireTlsNotOffered => {
                Delivery::TemporaryFailure
            }
            _ => Delivery::PermanentFailure,
        }
    }
}

/// The caller used the machine wrongly (not the server's fault).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum UsageError {
    /// The connection is closed, or closing after a failure.
    #[error("the connection is closed")]
    Closed,
    /// [`Connection::quit`](super::Connection::quit) was already called.
    #[error("QUIT was already requested")]
    Quitting,
    /// A MAIL or RCPT parameter that is not `esmtp-keyword ["=" esmtp-value]` (RFC 5321
    /// 4.1.2): a space, CR, LF, `=` or non-ASCII octet in the value, or a bad keyword.
    #[error("invalid ESMTP parameter {0}")]
    InvalidParameter(String),
    /// A parameter the machine writes itself (SIZE, BODY, SMTPUTF8, RET, ENVID,
    /// REQUIRETLS, NOTIFY, ORCPT): use the transaction's or recipient's own setting.
    #[error("parameter {0} is set by the client machine")]
    ReservedParameter(String),
    /// The same parameter given twice.
    #[error("parameter {0} given twice")]
    DuplicateParameter(String),
    /// Body bytes for a transaction that did not ask for them: not streamed, not (or no
    /// longer) the one sending, or no [`Event::BodyWanted`] outstanding for it. After a
    /// transaction failed mid-body, drop the rest of its body.
    #[error("no body wanted for this transaction now")]
    BodyNotWanted,
}
