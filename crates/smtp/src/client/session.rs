//! Opening the session: greeting, EHLO/HELO/LHLO, STARTTLS and AUTH.

use std::time::Instant;

use crate::codec::command::Command;
use crate::codec::reply::Reply;

use postwerk_sasl::client::ClientExchange;
use postwerk_sasl::{ClientError, client_mechanism};

use crate::codec::sasl;
use crate::codec::text::Text;

use super::auth::{self, AuthStep};
use super::config::{Credentials, TlsPolicy};
use super::ehlo::{Capabilities, Extension};
use super::events::{ConnectionError, Event, Phase};
use super::{Connection, Expect, Stage};

/// EHLO replies after which HELO is worth a try (RFC 5321 4.1.4: the server does not know
/// EHLO).
fn ehlo_unknown(reply: &Reply) -> bool {
    matches!(reply.code(), 500 | 501 | 502 | 504)
}

impl Connection {
    pub(super) fn on_session_reply(&mut self, expect: Expect, reply: Reply, now: Instant) {
        match expect {
            Expect::Greeting => {
                if reply.is_positive() {
                    self.send_hello(now);
                } else if reply.code() == 421 {
                    self.fail_hard(ConnectionError::GreetingRejected(reply));
                } else {
                    // RFC 5321 3.1: after a 554 greeting the client SHOULD send QUIT.
                    self.fail_soft(ConnectionError::GreetingRejected(reply), now);
                }
            }
            Expect::Ehlo => {
                if reply.is_positive() {
                    self.caps = Some(Capabilities::from_ehlo(&reply));
                    self.after_hello(now);
                } else if !self.config.lmtp && ehlo_unknown(&reply) {
                    let domain = Text::from(&self.config.ehlo_name);
                    self.command(&Command::Helo { domain }, Expect::Helo, now);
                } else {
                    self.fail_soft(ConnectionError::HelloRejected(reply), now);
                }
            }
            Expect::Helo => {
                if reply.is_positive() {
                    self.caps = Some(Capabilities::default());
                    self.after_hello(now);
                } else {
                    self.fail_soft(ConnectionError::HelloRejected(reply), now);
                }
            }
            Expect::StartTls => {
                if reply.code() == 220 {
                    // SECURITY.md 10: nothing the server sent in cleartext after this
                    // reply is read; the capabilities are learned again inside TLS.
                    self.clear_input();
                    self.caps = None;
                    self.stage = Stage::Handshake;
                    self.deadline = now.checked_add(self.config.timeouts.tls_handshake);
                    self.events.push_back(Event::StartTls);
                } else if self.config.tls == TlsPolicy::Required {
                    self.fail_soft(ConnectionError::TlsRefused(reply), now);
                } else {
                    self.start_auth(now);
                }
            }
            Expect::Auth(step) => self.on_auth_reply(step, reply, now),
            _ => {}
        }
    }

    /// EHLO (or LHLO in LMTP mode).
    pub(super) fn send_hello(&mut self, now: Instant) {
        let domain = Text::from(&self.config.ehlo_name);
        let command = if self.config.lmtp {
            Command::Lhlo { domain }
        } else {
            Command::Ehlo { domain }
        };
        self.command(&command, Expect::Ehlo, now);
    }

    /// After a positive EHLO/HELO: STARTTLS, AUTH, or ready.
    fn after_hello(&mut self, now: Instant) {
        let offered = self
            .caps
            .as_ref()
            .is_some_and(|c| c.has(Extension::StartTls));
        if !self.tls_active {
            match self.config.tls {
                TlsPolicy::Opportunistic | TlsPolicy::Required if offered => {
                    self.command(&Command::StartTls, Expect::StartTls, now);
                    return;
                }
                TlsPolicy::Required => {
                    self.fail_soft(ConnectionError::TlsNotOffered, now);
                    return;
                }
                _ => {}
            }
        }
        self.start_auth(now);
    }

    /// The credentials to log in with, if any: the SASL ones, else the password ones,
    /// with the channel binding data given at the end of the handshake.
    fn login_credentials(&self) -> Option<postwerk_sasl::Credentials> {
        let creds = self
            .config
            .sasl_credentials
            .clone()
            .or_else(|| self.config.credentials.as_ref().map(Credentials::to_sasl))?;
        Some(match &self.channel_binding {
            Some(data) => creds.with_channel_binding(data.clone()),
            None => creds,
        })
    }

    /// AUTH when credentials (or an exchange) are configured, else ready.
    fn start_auth(&mut self, now: Instant) {
        let creds = self.login_credentials();
        if self.authenticated || (creds.is_none() && self.custom_sasl.is_none()) {
            self.ready(now);
            return;
        }
        if !self.tls_active && !self.config.allow_plaintext_auth {
            self.fail_soft(ConnectionError::AuthNeedsTls, now);
            return;
        }
        let caps = self.caps.clone().unwrap_or_default();
        let exchange = match (self.custom_sasl.take(), creds) {
            (Some(exchange), _) => {
                let offered = caps
                    .auth_mechanisms()
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(exchange.mechanism_name()));
                offered.then_some(exchange)
            }
            (None, Some(creds)) => {
                let protected = self.tls_active || self.config.allow_plaintext_auth;
                let nonce = self.config.sasl_nonce.as_deref();
                auth::choose(&caps, &creds, protected, nonce.is_some()).and_then(|m| {
                    client_mechanism(m, &creds, nonce.unwrap_or("unused"))
                        .ok()
                        .map(ClientExchange::new)
                })
            }
            (None, None) => None,
        };
        let Some(mut exchange) = exchange else {
            self.fail_soft(ConnectionError::AuthNotOffered, now);
            return;
        };
        match auth::start(&mut exchange) {
            Ok((command, deferred)) => {
                self.sasl = Some(exchange);
                self.sasl_deferred = deferred;
                self.command(&command, Expect::Auth(AuthStep::Exchange), now);
            }
            Err(e) => self.fail_soft(ConnectionError::Sasl(e), now),
        }
    }

    /// A reply during AUTH: a 334 challenge to answer, 235 (the server must have proven
    /// itself, for SCRAM), or a refusal.
    fn on_auth_reply(&mut self, step: AuthStep, reply: Reply, now: Instant) {
        match (step, reply.code()) {
            (AuthStep::Exchange, 235) => {
                let finished = self.sasl.as_mut().map_or(Ok(()), |ex| ex.finish(None));
                self.sasl = None;
                match finished {
                    Ok(()) => {
                        self.authenticated = true;
                        self.ready(now);
                    }
                    Err(e) => self.fail_soft(ConnectionError::Sasl(e), now),
                }
            }
            (AuthStep::Exchange, 334) => {
                let Some(exchange) = self.sasl.as_mut() else {
                    let phase = Phase::Auth;
                    self.fail_soft(ConnectionError::UnexpectedReply { phase, reply }, now);
                    return;
                };
                let answer = match self.sasl_deferred.take() {
                    Some(initial) => Ok(sasl::encode(&initial)),
                    None => {
                        let challenge = reply.lines().first().map_or("", String::as_str);
                        auth::respond(exchange, challenge)
                    }
                };
                match answer {
                    Ok(line) => self.line(line.as_bytes(), Expect::Auth(AuthStep::Exchange), now),
                    Err(e) => {
                        self.sasl_error = Some(e);
                        self.line(b"*", Expect::Auth(AuthStep::Cancelled), now);
                    }
                }
            }
            (AuthStep::Cancelled, code) if !(200..400).contains(&code) => {
                let error = self
                    .sasl_error
                    .take()
                    .unwrap_or(ClientError::UnexpectedChallenge {
                        mechanism: String::new(),
                    });
                self.fail_soft(ConnectionError::Sasl(error), now);
            }
            _ if reply.is_positive() || reply.is_intermediate() => {
                let phase = Phase::Auth;
                self.fail_soft(ConnectionError::UnexpectedReply { phase, reply }, now);
            }
            _ => self.fail_soft(ConnectionError::AuthFailed(reply), now),
        }
    }

    fn ready(&mut self, now: Instant) {
        self.stage = Stage::Ready;
        self.drive(now);
    }
}
