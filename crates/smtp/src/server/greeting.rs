//! HELO, EHLO and LHLO (RFC 5321 4.1.1.1, RFC 2033 4.1), the EHLO keyword list, and the
//! small commands: RSET, VRFY.

use std::time::Instant;

use super::{Connection, Decision, Event, HeldKind, HelloKind, simple_reply};
use crate::codec::reply::Reply;
use crate::codec::text::Text;

impl Connection {
    pub(super) fn handle_hello(&mut self, domain: Text, kind: HelloKind, now: Instant) {
        let lmtp = self.config.lmtp;
        if lmtp != (kind == HelloKind::Lhlo) {
            // LMTP servers take only LHLO; SMTP servers do not know LHLO.
            self.client_error(Reply::unrecognized_command(), now);
            return;
        }
        if self.settings.decisions.hello {
            let extended = kind != HelloKind::Helo;
            let id = self.hold(
                HeldKind::Hello {
                    domain: domain.clone(),
                    kind,
                },
                true,
            );
            self.events.push_back(Event::HelloCommand {
                id,
                domain,
                extended,
            });
            return;
        }
        self.accept_hello(domain, kind, now);
    }

    pub(super) fn decide_hello(
        &mut self,
        domain: Text,
        kind: HelloKind,
        decision: Decision,
        now: Instant,
    ) {
        match decision {
            Decision::Accept | Decision::AcceptWith(_) => self.accept_hello(domain, kind, now),
            other => {
                let r = simple_reply(other, Reply::local_error());
                self.reply(r, now);
            }
        }
    }

    fn accept_hello(&mut self, domain: Text, kind: HelloKind, now: Instant) {
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
        let ext = &self.settings.extensions;
        let tls = self.session.tls;
        let mut k = Vec::new();
        if ext.pipelining {
            k.push("PIPELINING".to_string());
        }
        if ext.size {
            k.push(format!("SIZE {}", self.settings.max_message_size));
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
        if ext.starttls && !tls {
            k.push("STARTTLS".to_string());
        }
        let mechs = self.offered_mechanisms();
        if !mechs.is_empty() {
            k.push(format!("AUTH {}", mechs.join(" ")));
        }
        if ext.chunking {
            k.push("CHUNKING".to_string());
            if ext.binarymime {
                k.push("BINARYMIME".to_string());
            }
        }
        if ext.dsn {
            k.push("DSN".to_string());
        }
        if ext.requiretls && tls {
            k.push("REQUIRETLS".to_string());
        }
        if ext.mt_priority {
            k.push("MT-PRIORITY".to_string());
        }
        if let Some(l) = &ext.future_release {
            k.push(format!(
                "FUTURERELEASE {} {}",
                l.max_interval, l.max_date_time
            ));
        }
        match ext.deliver_by {
            Some(0) => k.push("DELIVERBY".to_string()),
            Some(n) => k.push(format!("DELIVERBY {n}")),
            None => {}
        }
        k.extend(self.settings.ehlo_keywords.iter().cloned());
        k
    }

    pub(super) fn handle_rset(&mut self, now: Instant) {
        self.reset_transaction();
        self.reply(Reply::reset_ok(), now);
    }

    pub(super) fn handle_vrfy(&mut self, arg: Text, now: Instant) {
        if self.config.vrfy_events {
            let id = self.hold(HeldKind::Vrfy, true);
            self.events.push_back(Event::Vrfy { id, arg });
        } else {
            self.reply(Reply::cannot_verify(), now);
        }
    }
}
