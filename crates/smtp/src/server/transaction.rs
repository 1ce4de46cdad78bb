//! The mail transaction: MAIL FROM and RCPT TO (RFC 5321 4.1.1.2, 4.1.1.3) with the
//! parameters of SIZE, 8BITMIME, SMTPUTF8, AUTH, DSN and CHUNKING.

use std::time::Instant;

use super::{Connection, Decision, Event, HeldKind, simple_reply};
use crate::codec::params::{Body, MailParameters, RcptParameters};
use crate::codec::path::{ForwardPath, ReversePath};
use crate::codec::reply::Reply;

/// The transaction in progress.
#[derive(Debug, Clone)]
pub(crate) struct Transaction {
    pub(crate) from: ReversePath,
    pub(crate) params: MailParameters,
    pub(crate) recipients: Vec<(ForwardPath, RcptParameters)>,
    /// Octets received in BDAT chunks so far.
    pub(crate) bdat_size: u64,
    /// A BDAT chunk was received (DATA is then out of sequence).
    pub(crate) bdat_started: bool,
}

impl Connection {
    pub(super) fn handle_mail(&mut self, from: ReversePath, params: MailParameters, now: Instant) {
        if self.session.helo.is_none() {
            self.client_error(Reply::bad_sequence_because("Send HELO/EHLO first"), now);
            return;
        }
        if self.config.tls_required && !self.session.tls {
            self.client_error(Reply::starttls_required(), now);
            return;
        }
        if self.config.auth_required && self.session.authenticated.is_none() {
            self.client_error(Reply::auth_required(), now);
            return;
        }
        if self.tx.is_some() {
            self.client_error(Reply::bad_sequence_because("Nested MAIL command"), now);
            return;
        }
        if let Some(name) = self.unsupported_mail_param(&params) {
            self.client_error(Reply::unknown_parameter(&name), now);
            return;
        }
        if params
            .size
            .is_some_and(|n| n > self.config.limits.max_message_size)
        {
            self.reply(Reply::message_too_big(), now);
            return;
        }
        let tx = Transaction {
            from: from.clone(),
            params: params.clone(),
            recipients: Vec::new(),
            bdat_size: 0,
            bdat_started: false,
        };
        let pipelined = !self.pipelining_allowed();
        let id = self.hold(HeldKind::Mail(tx), pipelined);
        self.events.push_back(Event::Mail { id, from, params });
    }

    /// The first parameter this session does not allow, by name.
    fn unsupported_mail_param(&self, p: &MailParameters) -> Option<String> {
        let ext = &self.config.extensions;
        let extended = self.session.extended;
        if let Some((name, _)) = p.other.first() {
            return Some(name.clone());
        }
        let checks = [
            (p.size.is_some(), ext.size, "SIZE"),
            (
                matches!(p.body, Some(Body::EightBitMime)),
                ext.eight_bit_mime,
                "BODY",
            ),
            (
                matches!(p.body, Some(Body::BinaryMime)),
                ext.chunking,
                "BODY",
            ),
            (p.smtputf8, ext.smtputf8, "SMTPUTF8"),
            (
                p.auth.is_some(),
                !self.config.auth_mechanisms.is_empty(),
                "AUTH",
            ),
            (p.ret.is_some(), ext.dsn, "RET"),
            (p.envid.is_some(), ext.dsn, "ENVID"),
        ];
        checks
            .iter()
            .find(|(used, offered, _)| *used && !(*offered && extended))
            .map(|(_, _, name)| (*name).to_string())
    }

    pub(super) fn decide_mail(&mut self, tx: Transaction, decision: Decision, now: Instant) {
        if matches!(decision, Decision::Accept | Decision::AcceptWith(_)) {
            self.tx = Some(tx);
        }
        let r = simple_reply(decision, Reply::sender_ok());
        self.reply(r, now);
    }

    pub(super) fn handle_rcpt(&mut self, to: ForwardPath, params: RcptParameters, now: Instant) {
        let Some(tx) = &self.tx else {
            self.client_error(Reply::bad_sequence_because("Need MAIL before RCPT"), now);
            return;
        };
        if tx.bdat_started {
            self.client_error(Reply::bad_sequence(), now);
            return;
        }
        if tx.recipients.len() >= self.config.limits.max_recipients {
            self.reply(Reply::too_many_recipients(), now);
            return;
        }
        let utf8_ok = tx.params.smtputf8;
        let dsn = self.config.extensions.dsn && self.session.extended;
        if let Some((name, _)) = params.other.first() {
            let name = name.clone();
            self.client_error(Reply::unknown_parameter(&name), now);
            return;
        }
        if !dsn && (params.notify.is_some() || params.orcpt.is_some()) {
            let name = if params.notify.is_some() {
                "NOTIFY"
            } else {
                "ORCPT"
            };
            self.client_error(Reply::unknown_parameter(name), now);
            return;
        }
        if to.mailbox().is_some_and(|m| m.is_utf8()) && !utf8_ok {
            self.client_error(Reply::utf8_address_without_smtputf8(), now);
            return;
        }
        let pipelined = !self.pipelining_allowed();
        let id = self.hold(
            HeldKind::Rcpt(Box::new((to.clone(), params.clone()))),
            pipelined,
        );
        self.events.push_back(Event::Rcpt { id, to, params });
    }

    pub(super) fn decide_rcpt(
        &mut self,
        rcpt: (ForwardPath, RcptParameters),
        decision: Decision,
        now: Instant,
    ) {
        if matches!(decision, Decision::Accept | Decision::AcceptWith(_))
            && let Some(tx) = &mut self.tx
        {
            tx.recipients.push(rcpt);
        }
        let r = simple_reply(decision, Reply::recipient_ok());
        self.reply(r, now);
    }
}
