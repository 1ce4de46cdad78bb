//! LOGIN (draft-murchison-sasl-login), server side: `Username:` and `Password:` prompts.
//! A client may send the user name as the initial response.

use super::{Answer, Secret, ServerMechanism, ServerStep, Success, Verify, utf8};
use crate::error::Failure;

const NAME: &str = "LOGIN";

/// The prompts, as nearly every server sends them.
const USERNAME: &[u8] = b"Username:";
const PASSWORD: &[u8] = b"Password:";

#[derive(Debug)]
enum State {
    Start,
    User,
    Password(String),
    Verifying(String),
    Done,
}

/// The LOGIN mechanism's server side.
#[derive(Debug)]
pub struct LoginServer {
    state: State,
}

impl LoginServer {
    /// A new exchange.
    pub fn new() -> Self {
        LoginServer {
            state: State::Start,
        }
    }

    fn fail(&mut self, what: &'static str) -> ServerStep {
        self.state = State::Done;
        ServerStep::Failure(Failure::malformed(NAME, what))
    }

    fn text(&mut self, bytes: &[u8]) -> Result<String, ServerStep> {
        match utf8(bytes) {
            Some(s) if !s.is_empty() && !s.contains('\0') => Ok(s),
            _ => Err(self.fail("empty, NUL in or non-UTF-8 user name or password")),
        }
    }
}

impl Default for LoginServer {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerMechanism for LoginServer {
    fn name(&self) -> &str {
        NAME
    }

    fn step(&mut self, response: Option<&[u8]>) -> ServerStep {
        let state = std::mem::replace(&mut self.state, State::Done);
        match (state, response) {
            (State::Start, None) => {
                self.state = State::User;
                ServerStep::Challenge(USERNAME.to_vec())
            }
            (State::Start | State::User, Some(user)) => match self.text(user) {
                Ok(user) => {
                    self.state = State::Password(user);
                    ServerStep::Challenge(PASSWORD.to_vec())
                }
                Err(step) => step,
            },
            (State::Password(user), Some(password)) => match self.text(password) {
                Ok(password) => {
                    self.state = State::Verifying(user.clone());
                    ServerStep::Verify(Verify::Password {
                        mechanism: NAME.to_owned(),
                        authcid: user,
                        authzid: None,
                        password: Secret::new(password),
                    })
                }
                Err(step) => step,
            },
            _ => self.fail("response out of turn"),
        }
    }

    fn answer(&mut self, answer: Answer) -> ServerStep {
        let state = std::mem::replace(&mut self.state, State::Done);
        match (state, answer) {
            (State::Verifying(user), Answer::Accept) => {
                ServerStep::Success(Success::new(user, None))
            }
            (State::Verifying(_), Answer::AcceptAs(identity)) => {
                ServerStep::Success(Success::new(identity, None))
            }
            _ => ServerStep::Failure(Failure::Rejected),
        }
    }
}
