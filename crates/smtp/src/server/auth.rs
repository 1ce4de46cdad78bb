//! SMTP AUTH (RFC 4954) through postwerk-sasl: PLAIN, LOGIN, XOAUTH2, OAUTHBEARER,
//! SCRAM-SHA-256(-PLUS), EXTERNAL and the application's own mechanisms.
//!
//! A mechanism's "verify this" request reaches the application as
//! [`Event::SaslVerify`] (answered with [`Connection::answer_sasl`]); an exchange that
//! succeeds raises [`Event::Login`] with [`Credentials::Sasl`]. `*` cancels with
//! `501 5.7.0`; a response that is not base64 is `501 5.5.2` naming it; one the mechanism
//! cannot parse is `501 5.5.2` with the mechanism's reason; credentials that do not verify
//! are `535 5.7.8` after the failure delay.

use std::time::Instant;

use postwerk_sasl::server::{Answer, ServerContext, ServerExchange, ServerStep, Success};

use super::{
    CloseReason, Connection, Credentials, Decision, Delayed, Event, HeldKind, Phase, simple_reply,
};
use crate::codec::reply::{EnhancedStatus, Reply};
use crate::codec::sasl;
use crate::codec::text::Text;

/// A SASL exchange in progress.
#[derive(Debug)]
pub(crate) struct SaslSession {
    exchange: ServerExchange,
    phase: SaslPhase,
}

#[derive(Debug)]
enum SaslPhase {
    /// A challenge was sent; the next line is the client's response.
    Response,
    /// The application is verifying.
    Answer,
    /// The mechanism succeeded with additional data, sent as a last challenge (RFC 4954
    /// 4): the client answers with an empty line.
    EmptyResponse(Success),
}

/// `501 5.5.2 reason`: a SASL response the server cannot decode.
fn malformed(reason: &str) -> Reply {
    Reply::new(501, Some(EnhancedStatus::new(5, 5, 2)), reason)
}

impl Connection {
    /// Whether any mechanism could be offered in this session (AUTH exists at all).
    pub(super) fn auth_available(&self) -> bool {
        let any = ServerContext::new("x")
            .protected(true)
            .with_channel_binding(vec![0]);
        !self.settings.sasl.offered(&any).is_empty()
    }

    /// The SASL context of this session, for the `n`th exchange.
    fn sasl_context(&self, exchange: u64) -> ServerContext {
        let protected = self.session.tls || self.config.allow_plaintext_auth;
        let mut ctx = ServerContext::for_exchange(self.settings.sasl_nonce.as_deref(), exchange)
            .protected(protected);
        if let Some(cb) = &self.session.channel_binding {
            ctx = ctx.with_channel_binding(cb.clone());
        }
        // The line limit bounds what base64 can carry.
        ctx.with_max_response_len(self.config.limits.max_sasl_line / 4 * 3)
    }

    /// The mechanisms that may be used now: plaintext ones only under TLS unless allowed
    /// (SECURITY.md 11), none until TLS when TLS is required.
    pub(super) fn offered_mechanisms(&self) -> Vec<String> {
        if self.config.tls_required && !self.session.tls {
            return Vec::new();
        }
        let ctx = self.sasl_context(0);
        self.settings
            .sasl
            .offered(&ctx)
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    pub(super) fn handle_auth(
        &mut self,
        mechanism: crate::codec::sasl::Mechanism,
        initial_response: Option<Text>,
        now: Instant,
    ) {
        if !self.auth_available() {
            self.client_error(Reply::not_implemented(), now);
            return;
        }
        if !self.session.extended || self.session.authenticated.is_some() || self.tx.is_some() {
            self.client_error(Reply::bad_sequence(), now);
            return;
        }
        let mech = mechanism.as_str();
        let any = ServerContext::new("x")
            .protected(true)
            .with_channel_binding(vec![0]);
        let known = self
            .settings
            .sasl
            .offered(&any)
            .iter()
            .any(|m| m.eq_ignore_ascii_case(mech));
        if !known {
            self.client_error(Reply::auth_mechanism_unsupported(), now);
            return;
        }
        if self.config.tls_required && !self.session.tls {
            self.client_error(Reply::starttls_required(), now);
            return;
        }
        if !self
            .offered_mechanisms()
            .iter()
            .any(|m| m.eq_ignore_ascii_case(mech))
        {
            let needs_tls = !self.session.tls && !self.config.allow_plaintext_auth;
            let reply = if needs_tls {
                Reply::encryption_required_for_auth()
            } else {
                // A -PLUS mechanism without channel binding data.
                Reply::auth_mechanism_unsupported()
            };
            self.client_error(reply, now);
            return;
        }
        let initial = match initial_response.as_deref() {
            None => None,
            Some(ir) => match sasl::decode(ir.as_bytes()) {
                Ok(bytes) => Some(bytes),
                Err(_) => {
                    self.client_error(malformed("Cannot Base64-decode the initial response"), now);
                    return;
                }
            },
        };
        let ctx = self.sasl_context(self.sasl_exchanges);
        self.sasl_exchanges = self.sasl_exchanges.saturating_add(1);
        let exchange = match self.settings.sasl.start(mech, &ctx) {
            Ok(e) => e.with_max_steps(postwerk_sasl::server::DEFAULT_MAX_STEPS),
            Err(_) => {
                // Offered but cannot run: the server's setup (e.g. no SCRAM nonce).
                self.reply(Reply::auth_temporary_failure(), now);
                return;
            }
        };
        let mut session = SaslSession {
            exchange,
            phase: SaslPhase::Response,
        };
        let step = session.exchange.start(initial.as_deref());
        self.sasl = Some(Box::new(session));
        match step {
            Ok(step) => self.sasl_step(step, now),
            Err(_) => self.sasl_abort(now),
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
                self.sasl = None;
                self.client_error(Reply::auth_line_too_long(), now);
                return true;
            }
        };
        self.phase = Phase::Command;
        let Some(content) = self.line_content(&line, now) else {
            self.sasl = None;
            return true;
        };
        if content == b"*" {
            self.sasl = None;
            self.client_error(Reply::auth_cancelled(), now);
            return true;
        }
        let Some(mut session) = self.sasl.take() else {
            return true;
        };
        if let SaslPhase::EmptyResponse(_) = session.phase {
            let SaslPhase::EmptyResponse(success) =
                std::mem::replace(&mut session.phase, SaslPhase::Response)
            else {
                return true;
            };
            if content.is_empty() {
                let mechanism = session.exchange.mechanism_name().to_owned();
                self.login(mechanism, &success);
            } else {
                self.client_error(malformed("Expected an empty response"), now);
            }
            return true;
        }
        // An empty line is an empty response; `=` too (as in the initial response).
        let decoded = if content.is_empty() {
            Ok(Vec::new())
        } else {
            sasl::decode(content)
        };
        let Ok(response) = decoded else {
            self.client_error(malformed("Cannot Base64-decode Client responses"), now);
            return true;
        };
        let step = session.exchange.respond(&response);
        self.sasl = Some(session);
        match step {
            Ok(step) => self.sasl_step(step, now),
            Err(_) => self.sasl_abort(now),
        }
        true
    }

    fn sasl_step(&mut self, step: ServerStep, now: Instant) {
        match step {
            ServerStep::Challenge(challenge) => {
                if let Some(s) = self.sasl.as_mut() {
                    s.phase = SaslPhase::Response;
                }
                self.challenge(&challenge, now);
            }
            ServerStep::Verify(request) => {
                if let Some(s) = self.sasl.as_mut() {
                    s.phase = SaslPhase::Answer;
                }
                let id = self.hold(HeldKind::SaslVerify, true);
                self.events.push_back(Event::SaslVerify { id, request });
            }
            ServerStep::Success(success) => match success.additional_data() {
                Some(data) => {
                    let data = data.to_vec();
                    if let Some(s) = self.sasl.as_mut() {
                        s.phase = SaslPhase::EmptyResponse(success);
                    }
                    self.challenge(&data, now);
                }
                None => {
                    let mechanism = self
                        .sasl
                        .take()
                        .map(|s| s.exchange.mechanism_name().to_owned())
                        .unwrap_or_default();
                    self.login(mechanism, &success);
                }
            },
            ServerStep::Failure(failure) => {
                self.sasl = None;
                if failure.is_malformed() {
                    self.client_error(malformed(&failure.to_string()), now);
                } else {
                    self.auth_failed(Reply::auth_invalid_credentials(), now);
                }
            }
        }
    }

    /// `334 base64` and wait for the response line.
    fn challenge(&mut self, bytes: &[u8], now: Instant) {
        let text = if bytes.is_empty() {
            String::new()
        } else {
            sasl::encode(bytes)
        };
        self.phase = Phase::Auth;
        self.reply(Reply::auth_challenge(&text), now);
    }

    /// The exchange refused a call (a bug in a custom mechanism): end it as malformed.
    fn sasl_abort(&mut self, now: Instant) {
        self.sasl = None;
        self.client_error(malformed("Authentication exchange failed"), now);
    }

    /// The application answered the outstanding verification.
    pub(super) fn sasl_answer(&mut self, answer: Answer, now: Instant) {
        let Some(session) = self.sasl.as_mut() else {
            return;
        };
        match session.exchange.answer(answer) {
            Ok(step) => self.sasl_step(step, now),
            Err(_) => self.sasl_abort(now),
        }
    }

    /// A verification rejected through `respond` (with the application's reply).
    pub(super) fn decide_sasl_verify(&mut self, decision: Decision, now: Instant) {
        self.sasl = None;
        let reply = simple_reply(decision, Reply::auth_invalid_credentials());
        self.auth_failed(reply, now);
    }

    fn login(&mut self, mechanism: String, success: &Success) {
        let credentials = Credentials::Sasl {
            mechanism,
            authcid: success.authcid().to_owned(),
            authzid: success.authzid().map(str::to_owned),
        };
        let id = self.hold(HeldKind::Login(credentials.clone()), true);
        self.events.push_back(Event::Login { id, credentials });
    }

    pub(super) fn decide_login(
        &mut self,
        credentials: Credentials,
        decision: Decision,
        now: Instant,
    ) {
        let identity = match &decision {
            Decision::Accept | Decision::AcceptWith(_) => Some(credentials.identity().to_owned()),
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
