//! The client sides of PLAIN, LOGIN, XOAUTH2, OAUTHBEARER and EXTERNAL.

use super::ClientMechanism;
use crate::error::{ClientError, UsageError};
use crate::scram::escape_saslname;

fn unexpected(name: &str) -> ClientError {
    ClientError::UnexpectedChallenge {
        mechanism: name.to_owned(),
    }
}

fn no_nul(s: &str, what: &'static str) -> Result<(), UsageError> {
    if s.contains('\0') {
        Err(UsageError::InvalidString(what))
    } else {
        Ok(())
    }
}

/// PLAIN (RFC 4616), client side: `[authzid] NUL authcid NUL passwd`.
#[derive(Clone)]
pub struct PlainClient {
    message: Vec<u8>,
    sent: bool,
}

impl std::fmt::Debug for PlainClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainClient")
            .field("sent", &self.sent)
            .finish()
    }
}

impl PlainClient {
    /// Credentials for PLAIN. None may contain NUL; the user name and password must not be
    /// empty.
    pub fn new(
        username: &str,
        password: impl AsRef<str>,
        authzid: Option<String>,
    ) -> Result<Self, UsageError> {
        let password = password.as_ref();
        no_nul(username, "user name")?;
        no_nul(password, "password")?;
        if username.is_empty() {
            return Err(UsageError::MissingCredential("PLAIN", "user name"));
        }
        if password.is_empty() {
            return Err(UsageError::MissingCredential("PLAIN", "password"));
        }
        let authzid = authzid.unwrap_or_default();
        no_nul(&authzid, "authorization identity")?;
        let mut message = authzid.into_bytes();
        message.push(0);
        message.extend_from_slice(username.as_bytes());
        message.push(0);
        message.extend_from_slice(password.as_bytes());
        Ok(PlainClient {
            message,
            sent: false,
        })
    }
}

impl ClientMechanism for PlainClient {
    fn name(&self) -> &str {
        "PLAIN"
    }

    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
        self.sent = true;
        Ok(Some(self.message.clone()))
    }

    fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, ClientError> {
        if self.sent || !challenge.is_empty() {
            return Err(unexpected("PLAIN"));
        }
        self.sent = true;
        Ok(self.message.clone())
    }
}

/// LOGIN, client side: the user name for the first challenge, the password for the second.
#[derive(Clone)]
pub struct LoginClient {
    username: String,
    password: String,
    step: u8,
}

impl std::fmt::Debug for LoginClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginClient")
            .field("username", &self.username)
            .field("step", &self.step)
            .finish()
    }
}

impl LoginClient {
    /// Credentials for LOGIN.
    pub fn new(username: &str, password: impl Into<String>) -> Self {
        LoginClient {
            username: username.to_owned(),
            password: password.into(),
            step: 0,
        }
    }
}

impl ClientMechanism for LoginClient {
    fn name(&self) -> &str {
        "LOGIN"
    }

    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
        Ok(None)
    }

    fn step(&mut self, _challenge: &[u8]) -> Result<Vec<u8>, ClientError> {
        // The prompts' wording varies between servers; their order does not.
        self.step = self.step.saturating_add(1);
        match self.step {
            1 => Ok(self.username.clone().into_bytes()),
            2 => Ok(self.password.clone().into_bytes()),
            _ => Err(unexpected("LOGIN")),
        }
    }
}

/// The exchange both bearer-token mechanisms share: the client sends one message; a server
/// that refuses answers with an error challenge (JSON), which is kept for
/// [`server_error`](ClientMechanism::server_error) and answered with the mechanism's
/// dummy reply, after which the server fails the exchange.
#[derive(Clone)]
struct BearerExchange {
    name: &'static str,
    message: Vec<u8>,
    /// The reply to the error challenge.
    error_reply: &'static [u8],
    sent: bool,
    error: Option<Vec<u8>>,
}

impl std::fmt::Debug for BearerExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The message holds the token: never shown.
        f.debug_struct(self.name)
            .field("sent", &self.sent)
            .field("error", &self.error.as_deref().map(String::from_utf8_lossy))
            .finish()
    }
}

impl BearerExchange {
    fn new(name: &'static str, message: String, error_reply: &'static [u8]) -> Self {
        BearerExchange {
            name,
            message: message.into_bytes(),
            error_reply,
            sent: false,
            error: None,
        }
    }
}

impl ClientMechanism for BearerExchange {
    fn name(&self) -> &str {
        self.name
    }

    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
        self.sent = true;
        Ok(Some(self.message.clone()))
    }

    fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, ClientError> {
        if !self.sent && challenge.is_empty() {
            self.sent = true;
            return Ok(self.message.clone());
        }
        if !self.sent || self.error.is_some() {
            return Err(unexpected(self.name));
        }
        self.error = Some(challenge.to_vec());
        Ok(self.error_reply.to_vec())
    }

    fn server_error(&self) -> Option<&[u8]> {
        self.error.as_deref()
    }
}

/// Implements [`ClientMechanism`] for a wrapper of [`BearerExchange`].
macro_rules! bearer_mechanism {
    ($ty:ty) => {
        impl ClientMechanism for $ty {
            fn name(&self) -> &str {
                self.0.name()
            }

            fn initial_response(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
                self.0.initial_response()
            }

            fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, ClientError> {
                self.0.step(challenge)
            }

            fn server_error(&self) -> Option<&[u8]> {
                self.0.server_error()
            }
        }
    };
}

/// XOAUTH2 (Google), client side: `user={user}^Aauth=Bearer {token}^A^A`. If the server
/// answers with an error challenge (JSON), the client sends an empty response and keeps the
/// JSON for [`server_error`](ClientMechanism::server_error).
#[derive(Debug, Clone)]
pub struct XOAuth2Client(BearerExchange);

impl XOAuth2Client {
    /// The user and the bearer token.
    pub fn new(user: &str, token: impl AsRef<str>) -> Self {
        let message = format!("user={user}\x01auth=Bearer {}\x01\x01", token.as_ref());
        XOAuth2Client(BearerExchange::new("XOAUTH2", message, b""))
    }
}

bearer_mechanism!(XOAuth2Client);

/// OAUTHBEARER (RFC 7628), client side:
/// `n,a={authzid},^Ahost={host}^Aport={port}^Aauth=Bearer {token}^A^A`. If the server
/// answers with an error challenge (JSON), the client sends the `%x01` dummy response and
/// keeps the JSON for [`server_error`](ClientMechanism::server_error).
#[derive(Debug, Clone)]
pub struct OAuthBearerClient(BearerExchange);

impl OAuthBearerClient {
    /// The authorization identity (usually the user's address), the bearer token, and the
    /// server's host and port if known.
    pub fn new(
        authzid: Option<String>,
        token: impl AsRef<str>,
        host: Option<String>,
        port: Option<u16>,
    ) -> Self {
        let mut message = String::from("n,");
        if let Some(authzid) = authzid {
            message.push_str("a=");
            message.push_str(&escape_saslname(&authzid));
        }
        message.push_str(",\x01");
        if let Some(host) = host {
            message.push_str(&format!("host={host}\x01"));
        }
        if let Some(port) = port {
            message.push_str(&format!("port={port}\x01"));
        }
        message.push_str(&format!("auth=Bearer {}\x01\x01", token.as_ref()));
        OAuthBearerClient(BearerExchange::new(
            "OAUTHBEARER",
            message,
            &[crate::oauth::KVSEP],
        ))
    }
}

bearer_mechanism!(OAuthBearerClient);

/// EXTERNAL (RFC 4422 appendix A), client side: sends the authorization identity (empty:
/// "derive it from my external credentials").
#[derive(Debug, Clone)]
pub struct ExternalClient {
    authzid: String,
    sent: bool,
}

impl ExternalClient {
    /// The authorization identity to ask for, if any.
    pub fn new(authzid: Option<String>) -> Result<Self, UsageError> {
        let authzid = authzid.unwrap_or_default();
        no_nul(&authzid, "authorization identity")?;
        Ok(ExternalClient {
            authzid,
            sent: false,
        })
    }
}

impl ClientMechanism for ExternalClient {
    fn name(&self) -> &str {
        "EXTERNAL"
    }

    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
        self.sent = true;
        Ok(Some(self.authzid.clone().into_bytes()))
    }

    fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, ClientError> {
        if self.sent || !challenge.is_empty() {
            return Err(unexpected("EXTERNAL"));
        }
        self.sent = true;
        Ok(self.authzid.clone().into_bytes())
    }
}
