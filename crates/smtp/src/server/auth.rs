//! SMTP AUTH (RFC 4954) with PLAIN (RFC 4616), LOGIN, and other mechanisms run as
//! application-driven exchanges.

use std::time::Instant;

use super::{CloseReason, Connection, Decision, Delayed, Event, HeldKind, Phase, simple_reply};
use crate::codec::reply::Reply;
use crate::codec::sasl::{
    self, LOGIN_PASSWORD_PROMPT, LOGIN_USERNAME_PROMPT, Mechanism, PlainCredentials,
};

/// Waiting for a SASL response line.
#[derive(Debug)]
pub(crate) enum AuthPhase {
    /// PLAIN without initial response: the credentials.
    Plain,
    /// LOGIN: the user name.
    LoginUser,
    /// LOGIN: the password for this user.
    LoginPassword(String),
    /// Another mechanism: the next client response.
    Exchange(Mechanism),
}

impl Connection {
    pub(super) fn handle_auth(
        &mut self,
        mechanism: Mechanism,
        initial_response: Option<String>,
        now: Instant,
    ) {
        if self.config.auth_mechanisms.is_empty() {
            self.client_error(Reply::not_implemented(), now);
            return;
        }
        if !self.session.extended || self.session.authenticated.is_some() || self.tx.is_some() {
            self.client_error(Reply::bad_sequence(), now);
            return;
        }
        if !self.config.auth_mechanisms.contains(&mechanism) {
            self.client_error(Reply::auth_mechanism_unsupported(), now);
            return;
        }
        if self.config.tls_required && !self.session.tls {
            self.client_error(Reply::starttls_required(), now);
            return;
        }
        if !self.offered_mechanisms().any(|m| *m == mechanism) {
            self.client_error(Reply::encryption_required_for_auth(), now);
            return;
        }
        let ir = match initial_response.map(|ir| sasl::decode(ir.as_bytes())) {
            None => None,
            Some(Ok(bytes)) => Some(bytes),
            Some(Err(_)) => {
                self.client_error(Reply::argument_syntax_error("invalid base64"), now);
                return;
            }
        };
        match (mechanism, ir) {
            (Mechanism::Plain, Some(msg)) => self.plain_credentials(&msg, now),
            (Mechanism::Plain, None) => self.challenge(AuthPhase::Plain, "", now),
            (Mechanism::Login, Some(user)) => self.login_user(&user, now),
            (Mechanism::Login, None) => {
                self.challenge(AuthPhase::LoginUser, LOGIN_USERNAME_PROMPT, now)
            }
            (mech, Some(response)) => {
                let id = self.hold(HeldKind::AuthExchange(mech.clone()), true);
                self.events.push_back(Event::AuthExchange {
                    id,
                    mechanism: mech,
                    response,
                });
            }
            (mech, None) => self.challenge(AuthPhase::Exchange(mech), "", now),
        }
    }

    fn challenge(&mut self, phase: AuthPhase, base64: &str, now: Instant) {
        self.phase = Phase::Auth(phase);
        self.reply(Reply::auth_challenge(base64), now);
    }

    fn plain_credentials(&mut self, msg: &[u8], now: Instant) {
        match PlainCredentials::decode(msg) {
            Ok(c) => {
                let id = self.hold(
                    HeldKind::Auth {
                        authcid: c.authcid.clone(),
                    },
                    true,
                );
                self.events.push_back(Event::Auth {
                    id,
                    mechanism: Mechanism::Plain,
                    authzid: c.authzid,
                    authcid: c.authcid,
                    password: c.password,
                });
            }
            Err(_) => self.client_error(Reply::argument_syntax_error("malformed PLAIN"), now),
        }
    }

    fn login_user(&mut self, user: &[u8], now: Instant) {
        match std::str::from_utf8(user) {
            Ok(u) if !u.is_empty() => self.challenge(
                AuthPhase::LoginPassword(u.to_string()),
                LOGIN_PASSWORD_PROMPT,
                now,
            ),
            _ => self.client_error(Reply::argument_syntax_error("invalid user name"), now),
        }
    }

    /// Reads one SASL response line.
    pub(super) fn step_auth(&mut self, now: Instant) -> bool {
        let line = match self.take_line(self.config.limits.max_sasl_line) {
            Ok(Some(line)) => line,
            Ok(None) => return false,
            Err(()) => {
                // take_line left us skipping the rest of the line.
                if !matches!(self.phase, Phase::SkipLine) {
                    self.phase = Phase::Command;
                }
                self.client_error(Reply::auth_line_too_long(), now);
                return true;
            }
        };
        let Phase::Auth(phase) = std::mem::replace(&mut self.phase, Phase::Command) else {
            return true;
        };
        let Some(content) = self.line_content(&line, now) else {
            return true;
        };
        if content == b"*" {
            self.client_error(Reply::auth_cancelled(), now);
            return true;
        }
        let Ok(msg) = sasl::decode(content) else {
            self.client_error(Reply::argument_syntax_error("invalid base64"), now);
            return true;
        };
        match phase {
            AuthPhase::Plain => self.plain_credentials(&msg, now),
            AuthPhase::LoginUser => self.login_user(&msg, now),
            AuthPhase::LoginPassword(user) => {
                let id = self.hold(
                    HeldKind::Auth {
                        authcid: user.clone(),
                    },
                    true,
                );
                self.events.push_back(Event::Auth {
                    id,
                    mechanism: Mechanism::Login,
                    authzid: String::new(),
                    authcid: user,
                    password: msg,
                });
            }
            AuthPhase::Exchange(mech) => {
                let id = self.hold(HeldKind::AuthExchange(mech.clone()), true);
                self.events.push_back(Event::AuthExchange {
                    id,
                    mechanism: mech,
                    response: msg,
                });
            }
        }
        true
    }

    pub(super) fn decide_auth(&mut self, authcid: String, decision: Decision, now: Instant) {
        let identity = match &decision {
            Decision::Accept | Decision::AcceptWith(_) => Some(authcid),
            Decision::Authenticated(identity) => Some(identity.clone()),
            _ => None,
        };
        let reply = simple_reply(decision, Reply::auth_succeeded());
        match identity {
            Some(identity) => {
                self.session.authenticated = Some(identity);
                self.reply(reply, now);
            }
            None => self.auth_failed(reply, now),
        }
    }

    pub(super) fn decide_auth_exchange(
        &mut self,
        mech: Mechanism,
        decision: Decision,
        now: Instant,
    ) {
        match decision {
            Decision::Challenge(bytes) => {
                let text = sasl::encode(&bytes);
                self.challenge(AuthPhase::Exchange(mech), &text, now);
            }
            // The identity is the one the application confirmed, never the mechanism
            // name (`decision_fits` refuses a plain Accept here).
            Decision::Authenticated(identity) => {
                self.session.authenticated = Some(identity);
                self.reply(Reply::auth_succeeded(), now);
            }
            other => {
                let reply = simple_reply(other, Reply::auth_invalid_credentials());
                self.auth_failed(reply, now);
            }
        }
    }

    /// A rejected login: delayed reply, or 421 and close past the limit.
    fn auth_failed(&mut self, reply: Reply, now: Instant) {
        self.auth_failures = self.auth_failures.saturating_add(1);
        if self.auth_failures >= self.config.limits.max_auth_failures {
            self.reply(reply, now);
            let host = self.config.hostname.clone();
            self.close(
                CloseReason::TooManyAuthFailures,
                Reply::too_many_auth_failures(&host),
                now,
            );
            return;
        }
        let delay = self.config.timeouts.auth_failure_delay;
        if delay.is_zero() {
            self.reply(reply, now);
        } else {
            self.delayed = Some(Delayed {
                until: super::deadline(now, delay),
                reply,
            });
        }
    }
}
