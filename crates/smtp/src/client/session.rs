//! Opening the session: greeting, EHLO/HELO/LHLO, STARTTLS and AUTH.

use std::time::Instant;

use crate::codec::command::Command;
use crate::codec::reply::Reply;

use super::auth::{self, AuthNext};
use super::config::TlsPolicy;
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
                    let domain = self.config.ehlo_name.clone();
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
            Expect::Auth(step) => {
                let Some(creds) = self.config.credentials.as_ref() else {
                    return;
                };
                match auth::next(step, &reply, creds) {
                    AuthNext::Send(line, step) => self.line(&line, Expect::Auth(step), now),
                    AuthNext::Done => {
                        self.authenticated = true;
                        self.ready(now);
                    }
                    AuthNext::Failed if reply.is_positive() || reply.is_intermediate() => {
                        let phase = Phase::Auth;
                        self.fail_soft(ConnectionError::UnexpectedReply { phase, reply }, now);
                    }
                    AuthNext::Failed => self.fail_soft(ConnectionError::AuthFailed(reply), now),
                }
            }
            _ => {}
        }
    }

    /// EHLO (or LHLO in LMTP mode).
    pub(super) fn send_hello(&mut self, now: Instant) {
        let domain = self.config.ehlo_name.clone();
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

    /// AUTH when credentials are configured, else ready.
    fn start_auth(&mut self, now: Instant) {
        let Some(creds) = self.config.credentials.as_ref() else {
            self.ready(now);
            return;
        };
        if self.authenticated {
            self.ready(now);
            return;
        }
        if !self.tls_active && !self.config.auth_without_tls {
            self.fail_soft(ConnectionError::AuthNeedsTls, now);
            return;
        }
        let Some(mechanism) = self.caps.as_ref().and_then(auth::choose) else {
            self.fail_soft(ConnectionError::AuthNotOffered, now);
            return;
        };
        let (command, step) = auth::start(&mechanism, creds);
        self.command(&command, Expect::Auth(step), now);
    }

    fn ready(&mut self, now: Instant) {
        self.stage = Stage::Ready;
        self.drive(now);
    }
}
