//! AUTHORIZATION state: USER/PASS, APOP, AUTH PLAIN, STLS, UTF8, CAPA, and
//! the application's login decisions.

use super::{Connection, Credentials, Entry, Event, LoginDecision, Pending, State};
use crate::codec::{Capabilities, Command, Response, decode_plain, sasl_continuation};

impl Connection {
    /// Whether plaintext-password logins are acceptable now (SECURITY.md 11).
    fn cleartext_ok(&self) -> bool {
        self.tls_active || self.config.allow_cleartext
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
                self.state = State::Authorization {
                    user: Some(user),
                    sasl: false,
                };
                self.send(&Response::user_accepted());
            }
            Command::Pass(password) => {
                if !self.cleartext_ok() {
                    self.send_error(&Response::cleartext_refused());
                    return;
                }
                let State::Authorization { user, .. } = &mut self.state else {
                    return;
                };
                match user.take() {
                    None => self.send_error(&Response::user_first()),
                    Some(user) => self.login(Credentials::User { user, password }),
                }
            }
            Command::Apop { name, digest } => match self.config.apop.clone() {
                None => self.send_error(&Response::apop_unavailable()),
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
            } => {
                if !self.mechanisms().contains(&mech) {
                    if mech == "PLAIN" && self.config.sasl_plain {
                        self.send_error(&Response::cleartext_refused());
                    } else {
                        self.send_error(&Response::unsupported_mechanism());
                    }
                    return;
                }
                match initial {
                    Some(ir) => self.plain_response(&ir),
                    None => {
                        self.state = State::Authorization {
                            user: None,
                            sasl: true,
                        };
                        self.send_raw(&sasl_continuation(""));
                    }
                }
            }
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
            _ => self.send_error(&Response::wrong_state()),
        }
    }

    /// A line sent in answer to the `+ ` continuation of AUTH PLAIN.
    pub(super) fn sasl_response(&mut self, line: &[u8]) {
        self.state = State::Authorization {
            user: None,
            sasl: false,
        };
        if line == b"*" {
            self.send_error(&Response::auth_cancelled());
            return;
        }
        match std::str::from_utf8(line) {
            Ok(text) => self.plain_response(text),
            Err(_) => self.send_error(&Response::auth_malformed()),
        }
    }

    fn plain_response(&mut self, text: &str) {
        if text == "*" {
            self.send_error(&Response::auth_cancelled());
            return;
        }
        match decode_plain(text) {
            Ok(c) => self.login(Credentials::Plain {
                authzid: c.authzid,
                user: c.authcid,
                password: c.password,
            }),
            Err(_) => self.send_error(&Response::auth_malformed()),
        }
    }

    fn mechanisms(&self) -> Vec<String> {
        if self.config.sasl_plain && self.cleartext_ok() {
            vec!["PLAIN".to_owned()]
        } else {
            Vec::new()
        }
    }

    fn login(&mut self, credentials: Credentials) {
        let id = self.new_id();
        self.pending = Some(Pending::Login(id));
        self.event(Event::Login { id, credentials });
    }

    /// The application decided a login (the listing is already validated).
    pub(super) fn login_decided(&mut self, decision: LoginDecision) {
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
                let (count, octets) = self.totals();
                self.send(&Response::logged_in(count, octets));
            }
            LoginDecision::Reject => {
                self.failed_logins += 1;
                let last = self.failed_logins >= self.config.max_failed_logins;
                let response = if last {
                    Response::too_many_failures()
                } else {
                    Response::auth_failed()
                };
                self.hold(response, self.config.login_failure_delay, last);
            }
            LoginDecision::InUse => self.send(&Response::in_use()),
            LoginDecision::LoginDelay => self.send(&Response::login_delay()),
            LoginDecision::SysTemp => self.send(&Response::sys_temp()),
        }
    }

    pub(super) fn send_capa(&mut self) {
        let authorization = matches!(self.state, State::Authorization { .. });
        let cleartext = authorization && self.cleartext_ok();
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
            sasl: if authorization {
                self.mechanisms()
            } else {
                Vec::new()
            },
            implementation: self.config.implementation.clone(),
            ..Capabilities::default()
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
