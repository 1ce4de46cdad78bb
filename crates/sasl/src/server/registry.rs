//! The server's mechanism registry: which mechanisms to offer on a connection, and a
//! fresh [`ServerExchange`] for the one the client picks.

use std::fmt;

use super::{
    DEFAULT_MAX_RESPONSE_LEN, ExternalServer, LoginServer, OAuthBearerServer, PlainServer,
    ScramServer, ScramServerConfig, ServerExchange, ServerMechanism, XOAuth2Server,
};
use crate::Mechanism;
use crate::error::UsageError;

/// What a connection must have for a mechanism to be offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Requirement {
    /// Always offered.
    None,
    /// Only on a protected channel (TLS): mechanisms that send the password in the clear.
    ProtectedChannel,
    /// Only with channel binding data (`-PLUS` mechanisms).
    ChannelBinding,
}

/// What one connection brings to an exchange: the caller's randomness (a nonce), the
/// channel binding data, whether the channel is protected, and the response size limit.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerContext {
    nonce: String,
    channel_binding: Option<Vec<u8>>,
    protected: bool,
    plus_offered: bool,
    max_response_len: usize,
}

impl fmt::Debug for ServerContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerContext")
            .field("nonce", &self.nonce)
            .field(
                "channel_binding",
                &self.channel_binding.as_ref().map(Vec::len),
            )
            .field("protected", &self.protected)
            .field("plus_offered", &self.plus_offered)
            .field("max_response_len", &self.max_response_len)
            .finish()
    }
}

impl ServerContext {
    /// A context for the `exchange`-th authentication of a session whose nonce (from the
    /// caller's random source, if it gave one) is `session_nonce`: the nonce is the
    /// session's with the exchange number appended, so no two exchanges share one; without
    /// a session nonce it is empty (SCRAM then refuses). The protocol machines use this.
    pub fn for_exchange(session_nonce: Option<&str>, exchange: u64) -> Self {
        ServerContext::new(
            session_nonce
                .map(|n| format!("{n}{exchange}"))
                .unwrap_or_default(),
        )
    }

    /// A context with a fresh nonce from the caller's random source (printable ASCII
    /// without `,`; used by SCRAM), on an unprotected channel without channel binding.
    pub fn new(nonce: impl Into<String>) -> Self {
        ServerContext {
            nonce: nonce.into(),
            channel_binding: None,
            protected: false,
            plus_offered: false,
            max_response_len: DEFAULT_MAX_RESPONSE_LEN,
        }
    }

    /// Marks the channel as protected (TLS), so cleartext-password mechanisms are offered.
    pub fn protected(mut self, protected: bool) -> Self {
        self.protected = protected;
        self
    }

    /// The connection's `tls-exporter` channel binding data (RFC 9266): `-PLUS` mechanisms
    /// are offered.
    pub fn with_channel_binding(mut self, tls_exporter: Vec<u8>) -> Self {
        self.channel_binding = Some(tls_exporter);
        self
    }

    /// Sets the maximum length of one client response.
    pub fn with_max_response_len(mut self, max: usize) -> Self {
        self.max_response_len = max;
        self
    }

    /// The nonce.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// The channel binding data, if any.
    pub fn channel_binding(&self) -> Option<&[u8]> {
        self.channel_binding.as_deref()
    }

    /// Whether the channel is protected.
    pub fn is_protected(&self) -> bool {
        self.protected
    }

    /// Whether a `-PLUS` mechanism is offered on this connection (set by
    /// [`ServerMechanisms::start`]).
    pub fn plus_offered(&self) -> bool {
        self.plus_offered
    }

    /// The maximum length of one client response.
    pub fn max_response_len(&self) -> usize {
        self.max_response_len
    }
}

/// Builds a fresh server mechanism for one exchange.
pub type ServerFactory =
    Box<dyn Fn(&ServerContext) -> Result<Box<dyn ServerMechanism>, UsageError> + Send + Sync>;

struct Entry {
    name: String,
    requirement: Requirement,
    factory: ServerFactory,
}

/// The mechanisms a server offers, in its order of preference, built-in or the
/// application's own.
///
/// ```
/// use postwerk_sasl::server::{ServerContext, ServerMechanisms};
/// let mechanisms = ServerMechanisms::builtin();
/// let plain_text = ServerContext::new("nonce123456789012345");
/// assert_eq!(mechanisms.offered(&plain_text), ["SCRAM-SHA-256", "OAUTHBEARER", "XOAUTH2"]);
/// let tls = plain_text.protected(true).with_channel_binding(vec![7; 32]);
/// assert_eq!(
///     mechanisms.offered(&tls),
///     ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "OAUTHBEARER", "XOAUTH2", "PLAIN", "LOGIN"]
/// );
/// ```
pub struct ServerMechanisms {
    entries: Vec<Entry>,
}

impl fmt::Debug for ServerMechanisms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|e| (&e.name, e.requirement)))
            .finish()
    }
}

impl Default for ServerMechanisms {
    fn default() -> Self {
        Self::builtin()
    }
}

impl ServerMechanisms {
    /// No mechanisms.
    pub fn new() -> Self {
        ServerMechanisms {
            entries: Vec::new(),
        }
    }

    /// The built-in password and token mechanisms, strongest first: SCRAM-SHA-256-PLUS,
    /// SCRAM-SHA-256, OAUTHBEARER, XOAUTH2, PLAIN, LOGIN. EXTERNAL is not included (it needs
    /// a client certificate check): add it with [`add_builtin`](Self::add_builtin).
    pub fn builtin() -> Self {
        let mut m = Self::new();
        for mech in [
            Mechanism::ScramSha256Plus,
            Mechanism::ScramSha256,
            Mechanism::OAuthBearer,
            Mechanism::XOAuth2,
            Mechanism::Plain,
            Mechanism::Login,
        ] {
            m.add_builtin(mech);
        }
        m
    }

    /// Adds (or replaces) a built-in mechanism at the end of the preference order.
    pub fn add_builtin(&mut self, mechanism: Mechanism) {
        let requirement = match mechanism {
            Mechanism::Plain | Mechanism::Login => Requirement::ProtectedChannel,
            Mechanism::ScramSha256Plus => Requirement::ChannelBinding,
            _ => Requirement::None,
        };
        let factory: ServerFactory = match mechanism {
            Mechanism::Plain => Box::new(|_| Ok(Box::new(PlainServer::new()))),
            Mechanism::Login => Box::new(|_| Ok(Box::new(LoginServer::new()))),
            Mechanism::XOAuth2 => Box::new(|_| Ok(Box::new(XOAuth2Server::new()))),
            Mechanism::OAuthBearer => Box::new(|_| Ok(Box::new(OAuthBearerServer::new()))),
            Mechanism::External => Box::new(|_| Ok(Box::new(ExternalServer::new()))),
            Mechanism::ScramSha256 | Mechanism::ScramSha256Plus => {
                let plus = mechanism == Mechanism::ScramSha256Plus;
                Box::new(move |ctx| {
                    let mut config = ScramServerConfig::new(ctx.nonce())?;
                    if let Some(cb) = ctx.channel_binding() {
                        config = config.with_channel_binding(cb.to_vec());
                    }
                    let config = config.with_plus_offered(ctx.plus_offered());
                    Ok(if plus {
                        Box::new(ScramServer::new_plus(config)?)
                    } else {
                        Box::new(ScramServer::new(config))
                    })
                })
            }
        };
        self.entries.retain(|e| e.name != mechanism.name());
        self.entries.push(Entry {
            name: mechanism.name().to_owned(),
            requirement,
            factory,
        });
    }

    /// Registers the application's own mechanism (or replaces one of the same name) at the
    /// end of the preference order. `name` must be a valid SASL mechanism name (RFC 4422
    /// section 3.1: 1 to 20 of `A-Z 0-9 - _`).
    pub fn register(
        &mut self,
        name: &str,
        requirement: Requirement,
        factory: ServerFactory,
    ) -> Result<(), UsageError> {
        if !crate::valid_mechanism_name(name) {
            return Err(UsageError::InvalidMechanismName(name.to_owned()));
        }
        self.entries.retain(|e| e.name != name);
        self.entries.push(Entry {
            name: name.to_owned(),
            requirement,
            factory,
        });
        Ok(())
    }

    /// Removes a mechanism; returns whether it was there.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| !e.name.eq_ignore_ascii_case(name));
        before != self.entries.len()
    }

    fn allowed(entry: &Entry, ctx: &ServerContext) -> bool {
        match entry.requirement {
            Requirement::None => true,
            Requirement::ProtectedChannel => ctx.protected,
            Requirement::ChannelBinding => ctx.channel_binding.is_some(),
        }
    }

    /// The names to offer on a connection (e.g. after `AUTH` in EHLO), in preference order.
    pub fn offered(&self, ctx: &ServerContext) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|e| Self::allowed(e, ctx))
            .map(|e| e.name.as_str())
            .collect()
    }

    /// Starts an exchange of the mechanism the client picked (name case-insensitive).
    /// Fails with [`UsageError::NotOffered`] if it is unknown or not offered on this
    /// connection (SMTP answers 504).
    pub fn start(&self, name: &str, ctx: &ServerContext) -> Result<ServerExchange, UsageError> {
        let entry = self
            .entries
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(name) && Self::allowed(e, ctx))
            .ok_or_else(|| UsageError::NotOffered(name.to_owned()))?;
        let mut ctx = ctx.clone();
        ctx.plus_offered = self
            .entries
            .iter()
            .any(|e| e.requirement == Requirement::ChannelBinding && Self::allowed(e, &ctx));
        let mechanism = (entry.factory)(&ctx)?;
        Ok(ServerExchange::new(mechanism).with_max_response_len(ctx.max_response_len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_exchange_of_a_session_gets_its_own_nonce() {
        assert_eq!(ServerContext::for_exchange(Some("abc"), 1).nonce(), "abc1");
        assert_eq!(ServerContext::for_exchange(Some("abc"), 2).nonce(), "abc2");
        assert_eq!(ServerContext::for_exchange(None, 1).nonce(), "");
    }
}
