//! AUTHORIZATION state: USER/PASS, APOP, AUTH (SASL through postwerk-sasl),
//! STLS, UTF8, LANG, CAPA, and the application's login decisions.

use postwerk_sasl::server::{Answer, ServerContext, ServerExchange, ServerStep, Success};

use super::{Connection, Credentials, Entry, Event, LoginDecision, Pending, State};
use crate::UsageError;
use crate::codec::{Capabilities, Command, Response, decode_sasl, encode_sasl, sasl_continuation};

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
    /// The application is verifying ([`Pending::Verify`]).
    Answer,
    /// The mechanism succeeded with additional data, sent as a last
    /// challenge (RFC 4422 section 3.6): the client answers with an empty
    /// line.
    EmptyResponse(Success),
}

impl Connection {
    /// Whether plaintext-password logins are acceptable now (SECURITY.md 11).
    fn cleartext_ok(&self) -> bool {
        self.tls_active || self.config.allow_plaintext_auth
    }

    /// Whether the next input line is a SASL client response.
    pub(super) fn sasl_awaits_line(&self) -> bool {
        self.sasl
            .as_ref()
            .is_some_and(|s| matches!(s.phase, SaslPhase::Response | SaslPhase::EmptyResponse(_)))
    }

    /// The SASL context of this connection, for the `n`th exchange.
    fn sasl_context(&self, exchange: u64) -> ServerContext {
        let mut ctx = ServerContext::for_exchange(self.config.sasl_nonce.as_deref(), exchange)
            .protected(self.cleartext_ok());
        if let Some(cb) = &self.channel_binding {
            ctx = ctx.with_channel_binding(cb.clone());
        }
        // The line limit bounds what base64 can carry.
        ctx.with_max_response_len(self.config.max_sasl_line / 4 * 3)
    }

    fn mechanisms(&self) -> Vec<String> {
        let ctx = self.sasl_context(0);
        self.config
            .sasl
            .offered(&ctx)
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// A user name or password that needs UTF8 mode (RFC 6856).
    fn needs_utf8(&self, text: &str) -> bool {
        !self.utf8 && !text.is_ascii()
    }

    pub(super) fn authorization_command(&mut self, command: Command) {
        match command {
            Command::Capa => self.send_capa(),
            Command::Quit => {
                self.send(&Response::bye());
                self.close(false);
            }
            Command::User(user) => {
                if !self.cleartext_ok() {
                    self.send_error(&Response::cleartext_refused());
                    return;
                }
                if self.needs_utf8(&user) {
                    self.send_error(&Response::utf8_required());
                    return;
                }
                self.state = State::Authorization { user: Some(user) };
                self.send(&Response::user_accepted());
            }
            Command::Pass(password) => {
                if !self.cleartext_ok() {
                    self.send_error(&Response::cleartext_refused());
                    return;
                }
                let State::Authorization { user } = &mut self.state else {
                    return;
                };
                match user.take() {
                    None => self.send_error(&Response::user_first()),
                    Some(_) if self.needs_utf8(&password) => {
                        self.send_error(&Response::utf8_required());
                    }
                    Some(user) => self.login(Credentials::User { user, password }),
                }
            }
            Command::Apop { name, digest } => match self.config.apop.clone() {
                None => self.send_error(&Response::apop_unavailable()),
                Some(_) if self.needs_utf8(&name) => self.send_error(&Response::utf8_required()),
                Some(ts) => self.login(Credentials::Apop {
                    user: name,
                    digest,
                    timestamp: ts.as_str().to_owned(),
                }),
            },
            Command::Auth {
                mechanism: None, ..
            } => {
                let mechs = self.mechanisms();
                self.send_multiline(&Response::mechanisms_follow(), mechs);
            }
            Command::Auth {
                mechanism: Some(mech),
                initial,
            } => self.auth_start(&mech, initial.as_deref()),
            Command::Stls => {
                if self.config.stls && !self.tls_active {
                    self.send(&Response::begin_tls());
                    self.start_tls();
                } else {
                    self.send_error(&Response::tls_unavailable());
                }
            }
            Command::Utf8 => {
                if self.config.utf8 {
                    self.utf8 = true;
                    self.send(&Response::utf8_enabled());
                } else {
                    self.send_error(&Response::unknown_command());
                }
            }
            Command::Lang(range) => self.lang(range.as_deref()),
            _ => self.send_error(&Response::wrong_state()),
        }
    }

    /// `LANG [range]` (RFC 6856 section 3), in AUTHORIZATION and TRANSACTION.
    pub(super) fn lang(&mut self, range: Option<&str>) {
        if self.config.languages.is_empty() {
            self.send_error(&Response::unknown_command());
            return;
        }
        let Some(range) = range else {
            let lines = self
                .config
                .languages
                .iter()
                .map(|l| format!("{} {}", l.tag, l.description))
                .collect();
            self.send_multiline(&Response::languages_follow(), lines);
            return;
        };
        let languages = &self.config.languages;
        // RFC 4647 basic filtering: the range equals the tag, or is a prefix
        // of it followed by "-"; "*" is the default (the first).
        let matched = if range == "*" {
            languages.first()
        } else {
            languages
                .iter()
                .find(|l| l.tag.eq_ignore_ascii_case(range))
                .or_else(|| {
                    languages.iter().find(|l| {
                        l.tag.len() > range.len()
                            && l.tag.as_bytes().get(range.len()) == Some(&b'-')
                            && l.tag
                                .get(..range.len())
                                .is_some_and(|p| p.eq_ignore_ascii_case(range))
                    })
                })
        };
        match matched.map(|l| l.tag.clone()) {
            Some(tag) => {
                self.send(&Response::language_changed(&tag));
                self.language = Some(tag);
            }
            None => self.send_error(&Response::unknown_language()),
        }
    }

    /// `AUTH mechanism [initial-response]` (RFC 5034).
    fn auth_start(&mut self, mech: &str, initial: Option<&str>) {
        if !self
            .mechanisms()
            .iter()
            .any(|m| m.eq_ignore_ascii_case(mech))
        {
            let with_tls = ServerContext::new("x").protected(true);
            let needs_tls = !self.cleartext_ok()
                && self
                    .config
                    .sasl
                    .offered(&with_tls)
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(mech));
            if needs_tls {
                self.send_error(&Response::cleartext_refused());
            } else {
                self.send_error(&Response::unsupported_mechanism());
            }
            return;
        }
        let initial = match initial {
            None => None,
            Some("=") => Some(Vec::new()),
            Some(text) => match decode_sasl(text) {
                Ok(bytes) => Some(bytes),
                Err(_) => {
                    self.send_error(&Response::auth_invalid_base64());
                    return;
                }
            },
        };
        let ctx = self.sasl_context(self.sasl_exchanges);
        self.sasl_exchanges += 1;
        let exchange = match self.config.sasl.start(mech, &ctx) {
            Ok(e) => e.with_max_steps(self.config.max_sasl_steps),
            Err(_) => {
                // Offered but cannot run: the server's setup (e.g. no nonce).
                self.send(&Response::mechanism_unavailable());
                return;
            }
        };
        let mut session = SaslSession {
            exchange,
            phase: SaslPhase::Response,
        };
        let step = session.exchange.start(initial.as_deref());
        self.sasl = Some(session);
        match step {
            Ok(step) => self.sasl_step(step),
            Err(_) => self.sasl_abort(),
        }
    }

    /// A line sent in answer to a `+ ` continuation.
    pub(super) fn sasl_response(&mut self, line: &[u8]) {
        if line == b"*" {
            self.sasl = None;
            self.send_error(&Response::auth_cancelled());
            return;
        }
        let Some(session) = self.sasl.as_mut() else {
            return;
        };
        if let SaslPhase::EmptyResponse(_) = session.phase {
            let SaslPhase::EmptyResponse(success) =
                std::mem::replace(&mut session.phase, SaslPhase::Response)
            else {
                return;
            };
            let mechanism = session.exchange.mechanism_name().to_owned();
            self.sasl = None;
            if line.is_empty() {
                self.sasl_success(mechanism, success);
            } else {
                self.send_error(&Response::auth_malformed());
            }
            return;
        }
        let decoded = std::str::from_utf8(line)
            .ok()
            .and_then(|text| decode_sasl(text).ok());
        let Some(response) = decoded else {
            self.sasl = None;
            self.send_error(&Response::auth_invalid_base64());
            return;
        };
        match session.exchange.respond(&response) {
            Ok(step) => self.sasl_step(step),
            Err(_) => self.sasl_abort(),
        }
    }

    /// The application answered the outstanding verification.
    pub(super) fn sasl_answer(&mut self, answer: Answer) -> Result<(), UsageError> {
        let Some(session) = self.sasl.as_mut() else {
            return Err(UsageError::UnknownRequest);
        };
        let step = session.exchange.answer(answer)?;
        self.pending = None;
        self.sasl_step(step);
        Ok(())
    }

    fn sasl_step(&mut self, step: ServerStep) {
        match step {
            ServerStep::Challenge(challenge) => {
                if let Some(s) = self.sasl.as_mut() {
                    s.phase = SaslPhase::Response;
                }
                self.send_raw(&sasl_continuation(&encode_sasl(&challenge)));
            }
            ServerStep::Verify(request) => {
                if let Some(s) = self.sasl.as_mut() {
                    s.phase = SaslPhase::Answer;
                }
                let id = self.new_id();
                self.pending = Some(Pending::Verify(id));
                self.event(Event::SaslVerify { id, request });
            }
            ServerStep::Success(success) => match success.additional_data() {
                Some(data) => {
                    let line = sasl_continuation(&encode_sasl(data));
                    if let Some(s) = self.sasl.as_mut() {
                        s.phase = SaslPhase::EmptyResponse(success);
                    }
                    self.send_raw(&line);
                }
                None => {
                    let mechanism = self
                        .sasl
                        .take()
                        .map(|s| s.exchange.mechanism_name().to_owned())
                        .unwrap_or_default();
                    self.sasl_success(mechanism, success);
                }
            },
            ServerStep::Failure(failure) => {
                self.sasl = None;
                if failure.is_malformed() {
                    self.send_error(&Response::sasl_failed(&failure));
                } else {
                    self.login_failed();
                }
            }
        }
    }

    /// The exchange refused a call (a bug in a custom mechanism, or a state
    /// the machine does not reach): end it like a malformed one.
    fn sasl_abort(&mut self) {
        self.sasl = None;
        self.send_error(&Response::auth_malformed());
    }

    fn sasl_success(&mut self, mechanism: String, success: Success) {
        self.login(Credentials::Sasl {
            mechanism,
            authcid: success.authcid().to_owned(),
            authzid: success.authzid().map(str::to_owned),
        });
    }

    fn login(&mut self, credentials: Credentials) {
        let id = self.new_id();
        self.pending_login = Some(credentials.identity().to_owned());
        self.pending = Some(Pending::Login(id));
        self.event(Event::Login { id, credentials });
    }

    /// Credentials that do not verify: `-ERR [AUTH]` after the delay; the
    /// last allowed failure closes the session.
    fn login_failed(&mut self) {
        self.failed_logins += 1;
        let last = self.failed_logins >= self.config.max_auth_failures;
        let response = if last {
            Response::too_many_failures()
        } else {
            Response::auth_failed()
        };
        self.hold(response, self.config.auth_failure_delay, last);
    }

    /// The application decided a login (the listing is already validated).
    pub(super) fn login_decided(&mut self, decision: LoginDecision) {
        let user = self.pending_login.take();
        match decision {
            LoginDecision::Accept(listing) => {
                self.maildrop = listing
                    .into_iter()
                    .map(|m| Entry {
                        size: m.size,
                        uid: m.uid,
                        deleted: false,
                    })
                    .collect();
                self.state = State::Transaction;
                self.authenticated = user;
                let (count, octets) = self.totals();
                self.send(&Response::logged_in(count, octets));
            }
            LoginDecision::Reject => self.login_failed(),
            LoginDecision::InUse => self.send(&Response::in_use()),
            LoginDecision::LoginDelay => self.send(&Response::login_delay()),
            LoginDecision::SysTemp => self.send(&Response::sys_temp()),
            LoginDecision::SysPerm => self.send(&Response::sys_perm()),
        }
    }

    pub(super) fn send_capa(&mut self) {
        let authorization = matches!(self.state, State::Authorization { .. });
        let cleartext = authorization && self.cleartext_ok();
        let per_user = if authorization && self.config.policies_per_user {
            " USER"
        } else {
            ""
        };
        let caps = Capabilities {
            top: true,
            uidl: true,
            user: cleartext,
            resp_codes: true,
            auth_resp_code: true,
            pipelining: true,
            stls: authorization && self.config.stls && !self.tls_active,
            utf8: self.config.utf8,
            utf8_user: self.config.utf8,
            lang: !self.config.languages.is_empty(),
            sasl: if authorization {
                self.mechanisms()
            } else {
                Vec::new()
            },
            implementation: self.config.implementation.clone(),
            expire: self.config.expire.map(|e| format!("{e}{per_user}")),
            login_delay: self.config.login_delay.map(|d| format!("{d}{per_user}")),
            other: Vec::new(),
        };
        self.send_multiline(&Response::capa_follows(), caps.lines());
    }

    /// A status line, the dot-stuffed lines, and the terminator.
    pub(super) fn send_multiline(&mut self, status: &Response, lines: Vec<String>) {
        self.send(status);
        for line in lines {
            if line.starts_with('.') {
                self.send_raw(b".");
            }
            self.send_raw(line.as_bytes());
            self.send_raw(b"\r\n");
        }
        self.send_raw(b".\r\n");
    }
}
