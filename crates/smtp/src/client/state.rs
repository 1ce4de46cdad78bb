//! Where the session stands: the replies it waits for, its stage, what is queued.

use super::auth::AuthStep;
use super::events::Phase;
use super::transaction::Active;

/// The reply the machine waits for next, in the order the commands went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    Auth(AuthStep),
    Rset,
    /// A NOOP asked for by the caller.
    Noop,
    /// An RSET asked for by the caller.
    UserRset,
    Mail,
    Rcpt(usize),
    Data,
    /// A BDAT chunk of a streamed body, not the last.
    BdatChunk,
    /// The end of data or the last BDAT chunk.
    DataEnd,
    /// The end of an empty DATA sent only because a pipelined DATA got 354 with no
    /// accepted recipient.
    Drain,
    Quit,
}

impl Expect {
    pub(crate) fn phase(self) -> Phase {
        match self {
            Expect::Greeting => Phase::Greeting,
            Expect::Ehlo | Expect::Helo => Phase::Hello,
            Expect::StartTls => Phase::StartTls,
            Expect::Auth(_) => Phase::Auth,
            Expect::Rset | Expect::UserRset => Phase::Rset,
            Expect::Noop => Phase::Noop,
            Expect::BdatChunk => Phase::Body,
            Expect::Mail => Phase::Mail,
            Expect::Rcpt(_) => Phase::Rcpt,
            Expect::Data => Phase::DataInit,
            Expect::DataEnd | Expect::Drain => Phase::DataEnd,
            Expect::Quit => Phase::Quit,
        }
    }
}

/// Where the session as a whole stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Greeting, hello, STARTTLS, AUTH: before transactions may run.
    Opening,
    /// STARTTLS accepted; waiting for the driver's handshake. Input is ignored.
    Handshake,
    /// Transactions run.
    Ready,
    /// QUIT sent (normally, or after a failure).
    Quitting,
    /// Over.
    Closed,
}

/// Something queued to run when the session is idle, in the order asked for.
#[derive(Debug)]
pub(crate) enum Queued {
    Transaction(Box<Active>),
    Noop,
    Rset,
}
