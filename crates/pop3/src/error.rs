//! Errors for the caller misusing the API. A peer breaking the protocol is
//! never one of these: the machines answer such input themselves.

/// The caller used a machine wrongly (answered an unknown request, supplied
/// an invalid listing, issued a command in the wrong state, ...).
///
/// The same name as in postwerk-sasl and the postwerk-smtp client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// No request with this id is waiting for an answer (it was answered
    /// already, or the connection closed in the meantime).
    #[error("no pending request with this id")]
    UnknownRequest,
    /// The request with this id needs a different kind of answer.
    #[error("this request needs a different kind of answer")]
    WrongAnswer,
    /// A maildrop listing holds an invalid unique-id (RFC 1939: 1 to 70
    /// characters 0x21 to 0x7E).
    #[error("invalid unique-id at listing index {index}")]
    InvalidUid {
        /// Index in the listing.
        index: usize,
    },
    /// A maildrop listing holds the same unique-id twice.
    #[error("duplicate unique-id at listing index {index}")]
    DuplicateUid {
        /// Index in the listing.
        index: usize,
    },
    /// A maildrop listing has more messages than a message number can name.
    #[error("maildrop listing too long")]
    TooManyMessages,
    /// An APOP timestamp is not of the form `<...@...>` in printable ASCII.
    #[error("invalid APOP timestamp")]
    InvalidTimestamp,
    /// The connection is closed.
    #[error("connection is closed")]
    Closed,
    /// The command is not allowed in the session's current state.
    #[error("command not allowed in the current state")]
    WrongState,
    /// A command argument cannot be sent (empty, too long, holds a space or
    /// a line break).
    #[error("invalid command argument")]
    InvalidArgument,
    /// The server did not offer what the command needs (e.g. STLS, TOP).
    #[error("the server did not advertise this capability")]
    NotAdvertised,
    /// The SASL answer was refused by the exchange (e.g. SCRAM credentials
    /// for a PLAIN request).
    #[error("SASL: {0}")]
    Sasl(#[from] postwerk_sasl::UsageError),
}
