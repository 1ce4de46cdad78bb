//! The client side: one machine per mechanism, the [`ClientExchange`] that drives any of
//! them within bounds, and [`choose_mechanism`] / [`client_mechanism`] to pick and build the
//! strongest one the server offers.

mod mechanisms;
mod scram;

use std::fmt;

pub use mechanisms::{ExternalClient, LoginClient, OAuthBearerClient, PlainClient, XOAuth2Client};
pub use scram::{ChannelBinding, ScramClient};

use crate::Mechanism;
use crate::error::{ClientError, UsageError};

/// The default maximum length of one server challenge, before base64.
pub const DEFAULT_MAX_CHALLENGE_LEN: usize = 16 * 1024;

/// The client side of one SASL mechanism. Implement it to add a mechanism; the
/// [`ClientExchange`] around it bounds challenge sizes and round trips.
pub trait ClientMechanism: fmt::Debug + Send {
    /// The mechanism name, as sent in `AUTH` (e.g. `SCRAM-SHA-256`).
    fn name(&self) -> &str;

    /// The initial response, or `None` for mechanisms that wait for a first challenge
    /// (LOGIN). If the protocol cannot carry an initial response, send it as the answer to
    /// the server's first (empty) challenge instead of calling [`step`](Self::step).
    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, ClientError>;

    /// Answers a server challenge.
    fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, ClientError>;

    /// Called when the server reports success, with its "additional data with success" if
    /// any. A mechanism with mutual authentication (SCRAM) fails here unless the server has
    /// proven itself.
    fn finish(&mut self, additional_data: Option<&[u8]>) -> Result<(), ClientError> {
        match additional_data {
            None => Ok(()),
            Some(_) => Err(ClientError::UnexpectedChallenge {
                mechanism: self.name().to_owned(),
            }),
        }
    }

    /// The server's error report, for mechanisms that have one (the OAuth JSON).
    fn server_error(&self) -> Option<&[u8]> {
        None
    }
}

/// Drives one [`ClientMechanism`], bounding challenge sizes and round trips.
#[derive(Debug)]
pub struct ClientExchange {
    mechanism: Box<dyn ClientMechanism>,
    max_challenge_len: usize,
    max_steps: usize,
    steps: usize,
}

impl ClientExchange {
    /// Wraps a mechanism with the default limits.
    pub fn new(mechanism: Box<dyn ClientMechanism>) -> Self {
        ClientExchange {
            mechanism,
            max_challenge_len: DEFAULT_MAX_CHALLENGE_LEN,
            max_steps: crate::server::DEFAULT_MAX_STEPS,
            steps: 0,
        }
    }

    /// Sets the maximum length of one server challenge.
    pub fn with_max_challenge_len(mut self, max: usize) -> Self {
        self.max_challenge_len = max;
        self
    }

    /// The mechanism's name, to send with `AUTH`.
    pub fn mechanism_name(&self) -> &str {
        self.mechanism.name()
    }

    /// The initial response, if the mechanism has one.
    pub fn initial_response(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
        self.mechanism.initial_response()
    }

    /// Answers a server challenge.
    pub fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, ClientError> {
        if challenge.len() > self.max_challenge_len {
            return Err(ClientError::ChallengeTooLong {
                len: challenge.len(),
                max: self.max_challenge_len,
            });
        }
        self.steps += 1;
        if self.steps > self.max_steps {
            return Err(ClientError::TooManySteps {
                max: self.max_steps,
            });
        }
        self.mechanism.step(challenge)
    }

    /// The server reported success; checks its additional data (SCRAM's `v=`).
    pub fn finish(&mut self, additional_data: Option<&[u8]>) -> Result<(), ClientError> {
        if let Some(data) = additional_data
            && data.len() > self.max_challenge_len
        {
            return Err(ClientError::ChallengeTooLong {
                len: data.len(),
                max: self.max_challenge_len,
            });
        }
        self.mechanism.finish(additional_data)
    }

    /// The server's error report (OAuth JSON), after a failed OAuth exchange.
    pub fn server_error(&self) -> Option<&[u8]> {
        self.mechanism.server_error()
    }
}

/// What a client can log in with.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    authzid: Option<String>,
    password: Option<String>,
    oauth_token: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    channel_binding: Option<Vec<u8>>,
    external: bool,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("authzid", &self.authzid)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field(
                "oauth_token",
                &self.oauth_token.as_ref().map(|_| "<redacted>"),
            )
            .field("host", &self.host)
            .field("port", &self.port)
            .field(
                "channel_binding",
                &self.channel_binding.as_ref().map(Vec::len),
            )
            .field("external", &self.external)
            .finish()
    }
}

impl Credentials {
    /// A user name and password (SCRAM, PLAIN, LOGIN).
    pub fn password(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            username: username.into(),
            password: Some(password.into()),
            ..Self::default()
        }
    }

    /// A user name and OAuth 2.0 bearer token (OAUTHBEARER, XOAUTH2).
    pub fn oauth(username: impl Into<String>, token: impl Into<String>) -> Self {
        Credentials {
            username: username.into(),
            oauth_token: Some(token.into()),
            ..Self::default()
        }
    }

    /// Authentication outside SASL, e.g. a TLS client certificate (EXTERNAL).
    pub fn external() -> Self {
        Credentials {
            external: true,
            ..Self::default()
        }
    }

    /// Adds an OAuth token to password credentials (or replaces it).
    pub fn with_oauth_token(mut self, token: impl Into<String>) -> Self {
        self.oauth_token = Some(token.into());
        self
    }

    /// Asks to act as another identity (authorization identity).
    pub fn with_authzid(mut self, authzid: impl Into<String>) -> Self {
        self.authzid = Some(authzid.into());
        self
    }

    /// The server's host and port, sent by OAUTHBEARER.
    pub fn with_host(mut self, host: impl Into<String>, port: u16) -> Self {
        self.host = Some(host.into());
        self.port = Some(port);
        self
    }

    /// The connection's `tls-exporter` channel binding data (RFC 9266), for
    /// SCRAM-SHA-256-PLUS.
    pub fn with_channel_binding(mut self, tls_exporter: Vec<u8>) -> Self {
        self.channel_binding = Some(tls_exporter);
        self
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }
}

/// The client's preference, strongest first.
const PREFERENCE: [Mechanism; 7] = [
    Mechanism::External,
    Mechanism::ScramSha256Plus,
    Mechanism::ScramSha256,
    Mechanism::OAuthBearer,
    Mechanism::XOAuth2,
    Mechanism::Plain,
    Mechanism::Login,
];

fn usable(mechanism: Mechanism, creds: &Credentials, channel_protected: bool) -> bool {
    match mechanism {
        Mechanism::External => creds.external,
        Mechanism::ScramSha256Plus => creds.password.is_some() && creds.channel_binding.is_some(),
        Mechanism::ScramSha256 => creds.password.is_some(),
        Mechanism::OAuthBearer | Mechanism::XOAuth2 => creds.oauth_token.is_some(),
        Mechanism::Plain | Mechanism::Login => creds.password.is_some() && channel_protected,
    }
}

/// Picks the strongest mechanism among those `offered` that `creds` can use:
/// SCRAM-SHA-256-PLUS > SCRAM-SHA-256 > OAUTHBEARER > XOAUTH2 > PLAIN > LOGIN, with PLAIN and
/// LOGIN only when `channel_protected` (TLS) is true, `-PLUS` only with channel binding data,
/// and EXTERNAL first when the credentials ask for it. Names are matched case-insensitively;
/// unknown names are skipped.
///
/// ```
/// use postwerk_sasl::{Credentials, Mechanism, choose_mechanism};
/// let creds = Credentials::password("user", "pencil");
/// let offered = ["PLAIN", "LOGIN", "SCRAM-SHA-256"];
/// assert_eq!(choose_mechanism(offered, &creds, true), Some(Mechanism::ScramSha256));
/// assert_eq!(choose_mechanism(["PLAIN", "LOGIN"], &creds, false), None);
/// ```
pub fn choose_mechanism<'a>(
    offered: impl IntoIterator<Item = &'a str>,
    creds: &Credentials,
    channel_protected: bool,
) -> Option<Mechanism> {
    let offered: Vec<Mechanism> = offered
        .into_iter()
        .filter_map(Mechanism::from_name)
        .collect();
    PREFERENCE
        .into_iter()
        .find(|m| offered.contains(m) && usable(*m, creds, channel_protected))
}

/// Builds the client mechanism for `mechanism` from `creds`. `nonce` is the client's nonce
/// for SCRAM (from the caller's random source: printable ASCII without `,`, 18 or more
/// characters recommended); other mechanisms ignore it.
///
/// For SCRAM-SHA-256 chosen while the credentials carry channel binding data, the client
/// sends gs2 flag `y` ("I could bind, but you did not offer -PLUS"), so a server that did
/// offer -PLUS detects the downgrade.
pub fn client_mechanism(
    mechanism: Mechanism,
    creds: &Credentials,
    nonce: &str,
) -> Result<Box<dyn ClientMechanism>, UsageError> {
    let name = mechanism.name();
    let password = || {
        creds
            .password
            .clone()
            .ok_or(UsageError::MissingCredential(name, "password"))
    };
    let token = || {
        creds
            .oauth_token
            .clone()
            .ok_or(UsageError::MissingCredential(name, "OAuth token"))
    };
    let authzid = creds.authzid.clone();
    Ok(match mechanism {
        Mechanism::Plain => Box::new(PlainClient::new(&creds.username, password()?, authzid)?),
        Mechanism::Login => Box::new(LoginClient::new(&creds.username, password()?)),
        Mechanism::XOAuth2 => Box::new(XOAuth2Client::new(&creds.username, token()?)),
        Mechanism::OAuthBearer => Box::new(OAuthBearerClient::new(
            authzid.or_else(|| (!creds.username.is_empty()).then(|| creds.username.clone())),
            token()?,
            creds.host.clone(),
            creds.port,
        )),
        Mechanism::External => Box::new(ExternalClient::new(authzid)?),
        Mechanism::ScramSha256 => {
            let binding = match creds.channel_binding {
                Some(_) => ChannelBinding::SupportedNotUsed,
                None => ChannelBinding::None,
            };
            Box::new(ScramClient::new(
                &creds.username,
                &password()?,
                authzid,
                nonce,
                binding,
            )?)
        }
        Mechanism::ScramSha256Plus => {
            let data = creds
                .channel_binding
                .clone()
                .ok_or(UsageError::MissingChannelBinding)?;
            Box::new(ScramClient::new(
                &creds.username,
                &password()?,
                authzid,
                nonce,
                ChannelBinding::TlsExporter(data),
            )?)
        }
    })
}
