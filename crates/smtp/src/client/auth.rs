//! The client side of SMTP AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN.
//!
//! ```text
//! auth-command = "AUTH" SP sasl-mech [SP initial-response] *(CRLF [base64]) [CRLF cancel-response] CRLF
//! initial-response = base64 / "="
//! ```

use crate::codec::command::Command;
use crate::codec::reply::Reply;
use crate::codec::sasl::{self, Mechanism, PlainCredentials};

use super::config::Credentials;
use super::ehlo::Capabilities;

/// Where an AUTH exchange stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthStep {
    /// `AUTH PLAIN <initial response>` sent; waiting for 235.
    Plain,
    /// `AUTH LOGIN` sent; waiting for the user name challenge.
    LoginStart,
    /// User name sent; waiting for the password challenge.
    LoginUser,
    /// Password sent; waiting for 235.
    LoginPassword,
}

/// What to do after a reply in an AUTH exchange.
#[derive(Debug)]
pub(crate) enum AuthNext {
    /// Send this line (without CRLF) and wait for the given step's reply.
    Send(Vec<u8>, AuthStep),
    /// Logged in.
    Done,
    /// The server refused (or answered out of turn).
    Failed,
}

/// The mechanism to use: PLAIN when offered, else LOGIN, else none.
pub(crate) fn choose(caps: &Capabilities) -> Option<Mechanism> {
    [Mechanism::Plain, Mechanism::Login]
        .into_iter()
        .find(|m| caps.offers_auth(m))
}

/// The AUTH command and the step it starts.
pub(crate) fn start(mechanism: &Mechanism, creds: &Credentials) -> (Command, AuthStep) {
    match mechanism {
        Mechanism::Plain => {
            let message = PlainCredentials {
                authzid: String::new(),
                authcid: creds.username.clone(),
                password: creds.password.as_bytes().to_vec(),
            }
            .encode();
            let command = Command::Auth {
                mechanism: Mechanism::Plain,
                initial_response: Some(sasl::encode(&message)),
            };
            (command, AuthStep::Plain)
        }
        _ => (
            Command::Auth {
                mechanism: Mechanism::Login,
                initial_response: None,
            },
            AuthStep::LoginStart,
        ),
    }
}

/// The next move after `reply` at `step`.
pub(crate) fn next(step: AuthStep, reply: &Reply, creds: &Credentials) -> AuthNext {
    match (step, reply.code()) {
        (AuthStep::Plain | AuthStep::LoginPassword, 235) => AuthNext::Done,
        (AuthStep::LoginStart, 334) => AuthNext::Send(
            sasl::encode(creds.username.as_bytes()).into_bytes(),
            AuthStep::LoginUser,
        ),
        (AuthStep::LoginUser, 334) => AuthNext::Send(
            sasl::encode(creds.password.as_bytes()).into_bytes(),
            AuthStep::LoginPassword,
        ),
        _ => AuthNext::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_initial_response() {
        let creds = Credentials::new("alice", "secret");
        let (command, step) = start(&Mechanism::Plain, &creds);
        let mut line = Vec::new();
        command.write_to(&mut line);
        assert_eq!(line, b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
        assert_eq!(step, AuthStep::Plain);
        assert!(matches!(
            next(step, &Reply::new(235, None, "ok"), &creds),
            AuthNext::Done
        ));
        assert!(matches!(
            next(step, &Reply::new(535, None, "no"), &creds),
            AuthNext::Failed
        ));
    }

    #[test]
    fn login_steps() {
        let creds = Credentials::new("alice", "secret");
        let (command, step) = start(&Mechanism::Login, &creds);
        let mut line = Vec::new();
        command.write_to(&mut line);
        assert_eq!(line, b"AUTH LOGIN\r\n");
        let challenge = Reply::new(334, None, "VXNlcm5hbWU6");
        let AuthNext::Send(user, step) = next(step, &challenge, &creds) else {
            panic!("expected the user name");
        };
        assert_eq!(user, b"YWxpY2U=");
        let AuthNext::Send(pass, step) = next(step, &challenge, &creds) else {
            panic!("expected the password");
        };
        assert_eq!(pass, b"c2VjcmV0");
        assert!(matches!(
            next(step, &Reply::new(235, None, "ok"), &creds),
            AuthNext::Done
        ));
    }
}
