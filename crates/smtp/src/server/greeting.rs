//! HELO, EHLO and LHLO (RFC 5321 4.1.1.1, RFC 2033 4.1), the EHLO keyword list, and the
//! small commands: RSET, VRFY.

use std::time::Instant;

use super::{Connection, Event, HeldKind, HelloKind};
use crate::codec::reply::Reply;
use crate::codec::sasl::Mechanism;

impl Connection {
    pub(super) fn handle_hello(&mut self, domain: String, kind: HelloKind, now: Instant) {
        let lmtp = self.config.lmtp;
        if lmtp != (kind == HelloKind::Lhlo) {
            // LMTP servers take only LHLO; SMTP servers do not know LHLO.
            self.client_error(Reply::unrecognized_command(), now);
            return;
        }
        // EHLO/HELO in the middle of a session resets the transaction (RFC 5321 4.1.4).
        self.reset_transaction();
        let extended = kind != HelloKind::Helo;
        self.session.helo = Some(domain.clone());
        self.session.extended = extended;
        let host = self.config.hostname.clone();
        let reply = if extended {
            Reply::ehlo(&host, "", &self.extension_keywords())
        } else {
            Reply::helo(&host)
        };
        self.reply(reply, now);
        self.events.push_back(Event::Helo { domain, extended });
    }

    /// The EHLO keywords for the current state of the session.
    pub(super) fn extension_keywords(&self) -> Vec<String> {
        let ext = &self.config.extensions;
        let mut k = Vec::new();
        if ext.pipelining {
            k.push("PIPELINING".to_string());
        }
        if ext.size {
            k.push(format!("SIZE {}", self.config.limits.max_message_size));
        }
        if ext.eight_bit_mime {
            k.push("8BITMIME".to_string());
        }
        if ext.smtputf8 {
            k.push("SMTPUTF8".to_string());
        }
        if ext.enhanced_status_codes {
            k.push("ENHANCEDSTATUSCODES".to_string());
        }
        if ext.starttls && !self.session.tls {
            k.push("STARTTLS".to_string());
        }
        let mechs: Vec<&str> = self.offered_mechanisms().map(Mechanism::as_str).collect();
        if !mechs.is_empty() {
            k.push(format!("AUTH {}", mechs.join(" ")));
        }
        if ext.chunking {
            k.push("CHUNKING".to_string());
        }
        if ext.dsn {
            k.push("DSN".to_string());
        }
        k
    }

    /// The mechanisms that may be used now: plaintext ones only under TLS unless allowed
    /// (SECURITY.md 11), none until TLS when TLS is required.
    pub(super) fn offered_mechanisms(&self) -> impl Iterator<Item = &Mechanism> {
        let tls = self.session.tls;
        let allow_plain = tls || self.config.allow_plaintext_auth;
        let tls_ok = tls || !self.config.tls_required;
        self.config
            .auth_mechanisms
            .iter()
            .filter(move |m| tls_ok && (allow_plain || !m.is_plaintext()))
    }

    pub(super) fn handle_rset(&mut self, now: Instant) {
        self.reset_transaction();
        self.reply(Reply::reset_ok(), now);
    }

    pub(super) fn handle_vrfy(&mut self, arg: String, now: Instant) {
        if self.config.vrfy_events {
            let id = self.hold(HeldKind::Vrfy, true);
            self.events.push_back(Event::Vrfy { id, arg });
        } else {
            self.reply(Reply::cannot_verify(), now);
        }
    }
}
