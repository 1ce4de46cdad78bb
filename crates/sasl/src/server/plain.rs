//! PLAIN (RFC 4616), server side.
//!
//! ```text
//! message   = [authzid] UTF8NUL authcid UTF8NUL passwd
//! authcid   = 1*SAFE ; MUST accept up to 255 octets
//! authzid   = 1*SAFE ; MUST accept up to 255 octets
//! passwd    = 1*SAFE ; MUST accept up to 255 octets
//! ```

use super::{Answer, ServerMechanism, ServerStep, Success, Verify, utf8};
use crate::error::Failure;
use crate::server::Secret;

const NAME: &str = "PLAIN";

#[derive(Debug)]
enum State {
    Start,
    Sent,
    Verifying {
        authcid: String,
        authzid: Option<String>,
    },
    Done,
}

/// The PLAIN mechanism's server side (RFC 4616).
#[derive(Debug)]
pub struct PlainServer {
    state: State,
}

impl PlainServer {
    /// A new exchange.
    pub fn new() -> Self {
        PlainServer {
            state: State::Start,
        }
    }

    fn parse(&mut self, message: &[u8]) -> ServerStep {
        let mut parts = message.split(|&b| b == 0);
        let (Some(authzid), Some(authcid), Some(passwd), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return self.fail(Failure::malformed(NAME, "not three NUL-separated fields"));
        };
        if authcid.is_empty() || passwd.is_empty() {
            return self.fail(Failure::malformed(NAME, "empty authcid or password"));
        }
        let (Some(authzid), Some(authcid), Some(password)) =
            (utf8(authzid), utf8(authcid), utf8(passwd))
        else {
            return self.fail(Failure::malformed(NAME, "not UTF-8"));
        };
        let authzid = (!authzid.is_empty()).then_some(authzid);
        self.state = State::Verifying {
            authcid: authcid.clone(),
            authzid: authzid.clone(),
        };
        ServerStep::Verify(Verify::Password {
            mechanism: NAME.to_owned(),
            authcid,
            authzid,
            password: Secret::new(password),
        })
    }

    fn fail(&mut self, failure: Failure) -> ServerStep {
        self.state = State::Done;
        ServerStep::Failure(failure)
    }
}

impl Default for PlainServer {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerMechanism for PlainServer {
    fn name(&self) -> &str {
        NAME
    }

    fn step(&mut self, response: Option<&[u8]>) -> ServerStep {
        match (&self.state, response) {
            (State::Start, None) => {
                self.state = State::Sent;
                ServerStep::Challenge(Vec::new())
            }
            (State::Start | State::Sent, Some(message)) => self.parse(message),
            _ => self.fail(Failure::malformed(NAME, "response out of turn")),
        }
    }

    fn answer(&mut self, answer: Answer) -> ServerStep {
        let state = std::mem::replace(&mut self.state, State::Done);
        match (state, answer) {
            (State::Verifying { authcid, authzid }, Answer::Accept) => {
                ServerStep::Success(Success::new(authcid, authzid))
            }
            (State::Verifying { authzid, .. }, Answer::AcceptAs(identity)) => {
                ServerStep::Success(Success::new(identity, authzid))
            }
            _ => ServerStep::Failure(Failure::Rejected),
        }
    }
}
