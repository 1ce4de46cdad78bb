//! XOAUTH2 (Google) and OAUTHBEARER (RFC 7628), server side.
//!
//! XOAUTH2: `user=` {user} `^Aauth=Bearer ` {token} `^A^A`. On failure the server sends a
//! JSON error challenge, the client answers with an empty response, and the server fails.
//!
//! OAUTHBEARER: `gs2-header kvsep *kvpair kvsep`, with `auth`, `host` and `port` pairs. On
//! failure the server sends the error JSON, the client answers with `%x01`, and the server
//! fails.

use super::{Answer, Secret, ServerMechanism, ServerStep, Success, Verify, utf8};
use crate::error::Failure;
use crate::oauth::{KVSEP, bearer_token, kvpairs, oauth_error_json};

#[derive(Debug)]
enum State {
    Start,
    Sent,
    Verifying(Option<String>),
    ErrorSent,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    XOAuth2,
    OAuthBearer,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::XOAuth2 => "XOAUTH2",
            Kind::OAuthBearer => "OAUTHBEARER",
        }
    }
}

#[derive(Debug)]
struct OAuthServer {
    kind: Kind,
    state: State,
}

impl OAuthServer {
    fn fail(&mut self, what: &'static str) -> ServerStep {
        self.state = State::Done;
        ServerStep::Failure(Failure::malformed(self.kind.name(), what))
    }

    fn parse(&mut self, msg: &[u8]) -> ServerStep {
        let (user, pairs) = match self.kind {
            Kind::XOAuth2 => match kvpairs(msg) {
                Some(pairs) => (None, pairs),
                None => return self.fail("not key=value pairs ending in ^A^A"),
            },
            Kind::OAuthBearer => {
                let Some((authzid, rest)) = gs2_header(msg) else {
                    return self.fail("bad gs2 header");
                };
                let Some(rest) = rest.strip_prefix(&[KVSEP]) else {
                    return self.fail("no ^A after the gs2 header");
                };
                match kvpairs(rest) {
                    Some(pairs) => (authzid, pairs),
                    None => return self.fail("not key=value pairs ending in ^A^A"),
                }
            }
        };
        let mut user = user;
        let mut token = None;
        let mut host = None;
        let mut port = None;
        for (key, value) in pairs {
            match (self.kind, key) {
                (_, b"auth") if token.is_none() => match bearer_token(value) {
                    Some(t) => token = utf8(t),
                    None => return self.fail("auth is not \"Bearer\" and a token"),
                },
                (Kind::XOAuth2, b"user") if user.is_none() => match utf8(value) {
                    Some(u) if !u.is_empty() => user = Some(u),
                    _ => return self.fail("bad user"),
                },
                (Kind::OAuthBearer, b"host") if host.is_none() => host = utf8(value),
                (Kind::OAuthBearer, b"port") if port.is_none() => {
                    match std::str::from_utf8(value).ok().and_then(|p| p.parse().ok()) {
                        Some(p) => port = Some(p),
                        None => return self.fail("bad port"),
                    }
                }
                (_, b"auth" | b"user" | b"host" | b"port") => {
                    return self.fail("repeated key");
                }
                // RFC 7628 section 3.1: unknown keys are ignored.
                _ => {}
            }
        }
        let Some(token) = token else {
            return self.fail("no auth=Bearer token");
        };
        if self.kind == Kind::XOAuth2 && user.is_none() {
            return self.fail("no user");
        }
        self.state = State::Verifying(user.clone());
        ServerStep::Verify(Verify::Token {
            mechanism: self.kind.name().to_owned(),
            user,
            token: Secret::new(token),
            host,
            port,
        })
    }

    fn step(&mut self, response: Option<&[u8]>) -> ServerStep {
        let state = std::mem::replace(&mut self.state, State::Done);
        match (state, response) {
            (State::Start, None) => {
                self.state = State::Sent;
                ServerStep::Challenge(Vec::new())
            }
            (State::Start | State::Sent, Some(msg)) => self.parse(msg),
            // The client's acknowledgement of the error challenge: XOAUTH2 sends an empty
            // response, OAUTHBEARER `%x01`. Anything else fails all the same.
            (State::ErrorSent, Some(_)) => ServerStep::Failure(Failure::Rejected),
            _ => self.fail("response out of turn"),
        }
    }

    fn answer(&mut self, answer: Answer) -> ServerStep {
        let state = std::mem::replace(&mut self.state, State::Done);
        let State::Verifying(user) = state else {
            return ServerStep::Failure(Failure::Rejected);
        };
        let error = match answer {
            Answer::AcceptAs(identity) => {
                return ServerStep::Success(Success::new(identity, None));
            }
            Answer::Accept => {
                return match user {
                    Some(user) => ServerStep::Success(Success::new(user, None)),
                    // No name to record: the application must say whose token it was.
                    None => ServerStep::Failure(Failure::Rejected),
                };
            }
            Answer::RejectWith(json) => json,
            _ => match self.kind {
                Kind::XOAuth2 => br#"{"status":"401","schemes":"bearer"}"#.to_vec(),
                Kind::OAuthBearer => oauth_error_json("invalid_token", None, None),
            },
        };
        self.state = State::ErrorSent;
        ServerStep::Challenge(error)
    }
}

/// `gs2-header = gs2-cbind-flag "," [ authzid ] ","` with flag `n` or `y` (OAUTHBEARER has
/// no channel binding); returns the authzid and the rest.
fn gs2_header(msg: &[u8]) -> Option<(Option<String>, &[u8])> {
    let rest = msg
        .strip_prefix(b"n,")
        .or_else(|| msg.strip_prefix(b"y,"))?;
    let comma = rest.iter().position(|&b| b == b',')?;
    let (authzid, rest) = (&rest[..comma], &rest[comma + 1..]);
    let authzid = if authzid.is_empty() {
        None
    } else {
        let name = authzid.strip_prefix(b"a=")?;
        Some(crate::scram::unescape_saslname(name).filter(|n| !n.is_empty())?)
    };
    Some((authzid, rest))
}

macro_rules! oauth_server {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(OAuthServer);

        impl $name {
            /// A new exchange.
            pub fn new() -> Self {
                $name(OAuthServer {
                    kind: $kind,
                    state: State::Start,
                })
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl ServerMechanism for $name {
            fn name(&self) -> &str {
                self.0.kind.name()
            }

            fn step(&mut self, response: Option<&[u8]>) -> ServerStep {
                self.0.step(response)
            }

            fn answer(&mut self, answer: Answer) -> ServerStep {
                self.0.answer(answer)
            }
        }
    };
}

oauth_server!(
    /// The XOAUTH2 mechanism's server side (Google's format).
    XOAuth2Server,
    Kind::XOAuth2
);
oauth_server!(
    /// The OAUTHBEARER mechanism's server side (RFC 7628).
    OAuthBearerServer,
    Kind::OAuthBearer
);
