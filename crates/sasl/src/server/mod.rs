//! The server side: one machine per mechanism, the [`ServerExchange`] that drives any of
//! them within bounds, and the [`ServerMechanisms`] registry that offers and starts them.
//!
//! A server mechanism turns client responses into challenges until it knows who claims to
//! log in; then it asks the application with a [`Verify`] request, and the application's
//! [`Answer`] decides between [`ServerStep::Success`] (with the real identities) and
//! [`ServerStep::Failure`].

mod external;
mod login;
mod oauth;
mod plain;
mod registry;
mod scram;

use std::fmt;

pub use external::ExternalServer;
pub use login::LoginServer;
pub use oauth::{OAuthBearerServer, XOAuth2Server};
pub use plain::PlainServer;
pub use registry::{Requirement, ServerContext, ServerFactory, ServerMechanisms};
pub use scram::{ScramServer, ScramServerConfig};

use crate::ScramCredentials;
use crate::error::{Failure, UsageError};

/// The default maximum length of one client response, before base64 (16 KiB: room for
/// large OAuth tokens, small enough to keep memory flat).
pub const DEFAULT_MAX_RESPONSE_LEN: usize = 16 * 1024;

/// The default maximum number of client responses in one exchange.
pub const DEFAULT_MAX_STEPS: usize = 8;

/// A secret (password or token) whose `Debug` output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(secret.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// What the application must check before the exchange can go on: the server mechanism's
/// "verify this" decision.
///
/// Answer it with [`ServerExchange::answer`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verify {
    /// PLAIN and LOGIN: check `password` for `authcid`, and that `authcid` may act as
    /// `authzid` when one is given. Answer [`Answer::Accept`] or [`Answer::Reject`].
    Password {
        /// The mechanism name.
        mechanism: String,
        /// The authentication identity (whose password this is).
        authcid: String,
        /// The authorization identity asked for, if any (RFC 4616 `authzid`).
        authzid: Option<String>,
        /// The password.
        password: Secret,
    },
    /// XOAUTH2 and OAUTHBEARER: validate the bearer `token` (and that it belongs to `user`
    /// when given). Answer [`Answer::AcceptAs`] with the identity the token proves, or
    /// [`Answer::Reject`] / [`Answer::RejectWith`] (the error JSON sent to the client).
    Token {
        /// The mechanism name.
        mechanism: String,
        /// XOAUTH2's `user=`, OAUTHBEARER's gs2 `a=` authorization identity.
        user: Option<String>,
        /// The bearer token.
        token: Secret,
        /// OAUTHBEARER's `host=`, if sent.
        host: Option<String>,
        /// OAUTHBEARER's `port=`, if sent.
        port: Option<u16>,
    },
    /// SCRAM: look up the stored credentials of `authcid` (and check that it may act as
    /// `authzid`). Answer [`Answer::ScramCredentials`] or [`Answer::UnknownUser`]; the proof
    /// is then checked inside the mechanism.
    ScramCredentials {
        /// The mechanism name.
        mechanism: String,
        /// The authentication identity (user name, after SASLprep by the client).
        authcid: String,
        /// The authorization identity asked for, if any.
        authzid: Option<String>,
    },
    /// EXTERNAL: the client is authenticated outside SASL (a TLS client certificate); check
    /// that identity may act as `authzid`. Answer [`Answer::AcceptAs`] with the external
    /// identity, or [`Answer::Reject`].
    External {
        /// The authorization identity asked for (empty response: none).
        authzid: Option<String>,
    },
    /// An application-defined mechanism's request.
    Custom {
        /// The mechanism name.
        mechanism: String,
        /// The authentication identity.
        authcid: String,
        /// The authorization identity asked for, if any.
        authzid: Option<String>,
        /// The secret to check.
        secret: Secret,
    },
}

/// The application's answer to a [`Verify`] request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// The credentials are good; the authentication identity is the one in the request.
    Accept,
    /// The credentials are good and prove this identity (the token's subject, the
    /// certificate's name). The success records it as the authentication identity.
    AcceptAs(String),
    /// The credentials are bad, the user is unknown, or the authorization is not allowed.
    Reject,
    /// Like [`Answer::Reject`], with the error challenge for the OAuth mechanisms (the JSON of
    /// RFC 7628 section 3.2.2, see [`oauth_error_json`](crate::oauth_error_json)); other
    /// mechanisms ignore the data.
    RejectWith(Vec<u8>),
    /// SCRAM: the stored credentials of the user. The client's proof is checked against
    /// them; answering with them also allows the requested authorization identity.
    ScramCredentials(ScramCredentials),
    /// SCRAM: no such user. The exchange goes on with made-up credentials and fails at the
    /// proof, so a client cannot tell unknown users from wrong passwords.
    UnknownUser,
}

/// A successful exchange: who logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Success {
    authcid: String,
    authzid: Option<String>,
    additional_data: Option<Vec<u8>>,
}

impl Success {
    /// A success for `authcid`, acting as `authzid` when given.
    pub fn new(authcid: impl Into<String>, authzid: Option<String>) -> Self {
        Success {
            authcid: authcid.into(),
            authzid,
            additional_data: None,
        }
    }

    /// Adds "additional data with success" (RFC 4422 section 3.6), e.g. SCRAM's `v=`.
    pub fn with_additional_data(mut self, data: Vec<u8>) -> Self {
        self.additional_data = Some(data);
        self
    }

    /// The authentication identity: whose credentials were checked.
    pub fn authcid(&self) -> &str {
        &self.authcid
    }

    /// The authorization identity the client asked to act as, if any.
    pub fn authzid(&self) -> Option<&str> {
        self.authzid.as_deref()
    }

    /// The identity the session acts as: the authorization identity if one was given,
    /// else the authentication identity.
    pub fn identity(&self) -> &str {
        self.authzid.as_deref().unwrap_or(&self.authcid)
    }

    /// Data to send with the success (SMTP: as a final `334` challenge answered by an empty
    /// line, or in the `235` reply where the protocol allows).
    pub fn additional_data(&self) -> Option<&[u8]> {
        self.additional_data.as_deref()
    }
}

/// What a server mechanism wants next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerStep {
    /// Send this challenge to the client and feed its response to
    /// [`ServerExchange::respond`].
    Challenge(Vec<u8>),
    /// Ask the application, then call [`ServerExchange::answer`].
    Verify(Verify),
    /// The client is authenticated.
    Success(Success),
    /// The exchange failed.
    Failure(Failure),
}

/// The server side of one SASL mechanism. Implement it to add a mechanism; the
/// [`ServerExchange`] around it enforces call order, response size and round trips, so an
/// implementation may assume:
///
/// - `step(None)` is only the first call, when the client sent no initial response;
/// - `step` is only called after the mechanism returned [`ServerStep::Challenge`] (or first);
/// - `answer` is only called after it returned [`ServerStep::Verify`];
/// - nothing is called after [`ServerStep::Success`] or [`ServerStep::Failure`].
///
/// It must never panic, whatever the bytes.
pub trait ServerMechanism: fmt::Debug + Send {
    /// The mechanism name, as offered (e.g. `SCRAM-SHA-256`).
    fn name(&self) -> &str;

    /// Takes the client's next response (`None`: the client sent no initial response).
    fn step(&mut self, response: Option<&[u8]>) -> ServerStep;

    /// Takes the application's answer to the last [`Verify`] request.
    fn answer(&mut self, answer: Answer) -> ServerStep;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    New,
    AwaitingResponse,
    AwaitingAnswer,
    Done,
}

/// Drives one [`ServerMechanism`] through an exchange, bounding response sizes and round
/// trips, and refusing calls out of order.
///
/// Call order: [`start`](Self::start) with the initial response (if any), then for each
/// [`ServerStep::Challenge`] send it and call [`respond`](Self::respond) with the client's
/// reply; for each [`ServerStep::Verify`] call [`answer`](Self::answer). The exchange ends at
/// [`ServerStep::Success`] or [`ServerStep::Failure`]. A client cancel (`*`) is handled by the
/// protocol crate: drop the exchange.
#[derive(Debug)]
pub struct ServerExchange {
    mechanism: Box<dyn ServerMechanism>,
    phase: Phase,
    max_response_len: usize,
    max_steps: usize,
    steps: usize,
}

impl ServerExchange {
    /// Wraps a mechanism with the default limits.
    pub fn new(mechanism: Box<dyn ServerMechanism>) -> Self {
        ServerExchange {
            mechanism,
            phase: Phase::New,
            max_response_len: DEFAULT_MAX_RESPONSE_LEN,
            max_steps: DEFAULT_MAX_STEPS,
            steps: 0,
        }
    }

    /// Sets the maximum length of one client response (decoded bytes).
    pub fn with_max_response_len(mut self, max: usize) -> Self {
        self.max_response_len = max;
        self
    }

    /// Sets the maximum number of client responses.
    pub fn with_max_steps(mut self, max: usize) -> Self {
        self.max_steps = max;
        self
    }

    /// The mechanism's name.
    pub fn mechanism_name(&self) -> &str {
        self.mechanism.name()
    }

    /// Whether the exchange has ended (success or failure).
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Starts the exchange with the client's initial response (`None` if it sent none; an
    /// empty initial response, SMTP's `=`, is `Some(b"")`).
    pub fn start(&mut self, initial_response: Option<&[u8]>) -> Result<ServerStep, UsageError> {
        match self.phase {
            Phase::New => Ok(self.feed(initial_response)),
            Phase::Done => Err(UsageError::Finished),
            _ => Err(UsageError::OutOfOrder("already started")),
        }
    }

    /// Feeds the client's response to the last challenge.
    pub fn respond(&mut self, response: &[u8]) -> Result<ServerStep, UsageError> {
        match self.phase {
            Phase::AwaitingResponse => Ok(self.feed(Some(response))),
            Phase::New => Err(UsageError::OutOfOrder("not started")),
            Phase::AwaitingAnswer => Err(UsageError::AnswerPending),
            Phase::Done => Err(UsageError::Finished),
        }
    }

    /// Gives the application's answer to the outstanding [`Verify`] request.
    pub fn answer(&mut self, answer: Answer) -> Result<ServerStep, UsageError> {
        match self.phase {
            Phase::AwaitingAnswer => {
                let step = self.mechanism.answer(answer);
                Ok(self.track(step))
            }
            Phase::Done => Err(UsageError::Finished),
            _ => Err(UsageError::NoPendingRequest),
        }
    }

    fn feed(&mut self, response: Option<&[u8]>) -> ServerStep {
        if let Some(r) = response
            && r.len() > self.max_response_len
        {
            self.phase = Phase::Done;
            return ServerStep::Failure(Failure::ResponseTooLong {
                len: r.len(),
                max: self.max_response_len,
            });
        }
        self.steps += 1;
        if self.steps > self.max_steps {
            self.phase = Phase::Done;
            return ServerStep::Failure(Failure::TooManySteps {
                max: self.max_steps,
            });
        }
        let step = self.mechanism.step(response);
        self.track(step)
    }

    fn track(&mut self, step: ServerStep) -> ServerStep {
        self.phase = match step {
            ServerStep::Challenge(_) => Phase::AwaitingResponse,
            ServerStep::Verify(_) => Phase::AwaitingAnswer,
            ServerStep::Success(_) | ServerStep::Failure(_) => Phase::Done,
        };
        step
    }
}

/// The bytes as an owned UTF-8 string, `None` if they are not UTF-8.
pub(crate) fn utf8(bytes: &[u8]) -> Option<String> {
    std::str::from_utf8(bytes).ok().map(str::to_owned)
}
