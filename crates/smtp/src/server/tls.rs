//! STARTTLS (RFC 3207): after `220`, every buffered byte is discarded and the session is
//! forgotten (SECURITY.md 9).

use std::time::Instant;

use super::{Connection, Decision, Event, HeldKind, Phase, Session, simple_reply};
use crate::codec::reply::Reply;

impl Connection {
    pub(super) fn handle_starttls(&mut self, now: Instant) {
        if !self.settings.extensions.starttls {
            self.client_error(Reply::not_implemented(), now);
            return;
        }
        if self.session.tls {
            self.client_error(Reply::bad_sequence_because("TLS already active"), now);
            return;
        }
        if self.session.helo.is_none() {
            self.client_error(Reply::bad_sequence_because("Send EHLO first"), now);
            return;
        }
        if self.settings.decisions.starttls {
            let id = self.hold(HeldKind::StartTls, true);
            self.events.push_back(Event::StartTlsCommand { id });
            return;
        }
        self.start_tls(now);
    }

    pub(super) fn decide_starttls(&mut self, decision: Decision, now: Instant) {
        match decision {
            Decision::Accept | Decision::AcceptWith(_) => self.start_tls(now),
            other => {
                let r = simple_reply(other, Reply::tls_not_available());
                self.reply(r, now);
            }
        }
    }

    fn start_tls(&mut self, now: Instant) {
        self.reply(Reply::ready_to_start_tls(), now);
        // Anything the client sent after STARTTLS in cleartext must not be run inside TLS.
        self.input.clear();
        self.reset_transaction();
        self.session = Session::default();
        self.phase = Phase::AwaitTls;
        self.events.push_back(Event::StartTls);
    }
}
