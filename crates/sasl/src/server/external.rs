//! EXTERNAL (RFC 4422 appendix A), server side: the client was authenticated outside SASL
//! (typically by a TLS client certificate) and sends only the authorization identity.
//!
//! ```text
//! external-resp = *( UTF8-char-no-nul )
//! ```

use super::{Answer, ServerMechanism, ServerStep, Success, Verify, utf8};
use crate::error::Failure;

const NAME: &str = "EXTERNAL";

#[derive(Debug)]
enum State {
    Start,
    Sent,
    Verifying(Option<String>),
    Done,
}

/// The EXTERNAL mechanism's server side.
#[derive(Debug)]
pub struct ExternalServer {
    state: State,
}

impl ExternalServer {
    /// A new exchange.
    pub fn new() -> Self {
        ExternalServer {
            state: State::Start,
        }
    }
}

impl Default for ExternalServer {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerMechanism for ExternalServer {
    fn name(&self) -> &str {
        NAME
    }

    fn step(&mut self, response: Option<&[u8]>) -> ServerStep {
        let state = std::mem::replace(&mut self.state, State::Done);
        match (state, response) {
            (State::Start, None) => {
                self.state = State::Sent;
                ServerStep::Challenge(Vec::new())
            }
            (State::Start | State::Sent, Some(authzid)) => match utf8(authzid) {
                Some(authzid) if !authzid.contains('\0') => {
                    let authzid = (!authzid.is_empty()).then_some(authzid);
                    self.state = State::Verifying(authzid.clone());
                    ServerStep::Verify(Verify::External { authzid })
                }
                _ => ServerStep::Failure(Failure::malformed(NAME, "authzid not UTF-8 or has NUL")),
            },
            _ => ServerStep::Failure(Failure::malformed(NAME, "response out of turn")),
        }
    }

    fn answer(&mut self, answer: Answer) -> ServerStep {
        let state = std::mem::replace(&mut self.state, State::Done);
        match (state, answer) {
            (State::Verifying(authzid), Answer::AcceptAs(identity)) => {
                ServerStep::Success(Success::new(identity, authzid))
            }
            // Without an external identity from the application, the requested
            // authorization identity is the only name there is.
            (State::Verifying(Some(authzid)), Answer::Accept) => {
                ServerStep::Success(Success::new(authzid, None))
            }
            _ => ServerStep::Failure(Failure::Rejected),
        }
    }
}
