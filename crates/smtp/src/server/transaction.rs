//! The mail transaction: MAIL FROM and RCPT TO (RFC 5321 4.1.1.2, 4.1.1.3) with the
//! parameters of SIZE, 8BITMIME, SMTPUTF8, AUTH, DSN, CHUNKING and the extensions of
//! [`params`](super::params); pipelined RCPTs decided several at a time.

use std::time::Instant;

use super::{Connection, Decision, Event, HeldKind, Phase, simple_reply};
use crate::codec::command::{Command, ParseOptions};
use crate::codec::command_ref::CommandRef;
use crate::codec::ext_params::MailExtensions;
use crate::codec::params::{MailParameters, RcptParameters};
use crate::codec::path::{ForwardPath, ReversePath};
use crate::codec::reply::Reply;

/// The transaction in progress.
#[derive(Debug, Clone)]
pub(crate) struct Transaction {
    pub(crate) from: ReversePath,
    pub(crate) params: MailParameters,
    pub(crate) extensions: MailExtensions,
    pub(crate) recipients: Vec<(ForwardPath, RcptParameters)>,
    /// Octets received in BDAT chunks so far.
    pub(crate) bdat_size: u64,
    /// A BDAT chunk was received (DATA is then out of sequence).
    pub(crate) bdat_started: bool,
}

/// Why an RCPT is answered by the machine itself.
enum RcptRefusal {
    /// A client error (counted).
    Error(Reply),
    /// `452 4.5.3` too many recipients (not counted).
    TooMany,
}

impl Connection {
    pub(super) fn handle_mail(
        &mut self,
        from: ReversePath,
        mut params: MailParameters,
        now: Instant,
    ) {
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
        let extensions = match self.check_mail_params(&mut params) {
            Ok(e) => e,
            Err(reply) => {
                self.client_error(reply, now);
                return;
            }
        };
        if params
            .size
            .is_some_and(|n| n > self.settings.max_message_size)
        {
            self.reply(Reply::message_too_big(), now);
            return;
        }
        let tx = Transaction {
            from: from.clone(),
            params: params.clone(),
            extensions: extensions.clone(),
            recipients: Vec::new(),
            bdat_size: 0,
            bdat_started: false,
        };
        let pipelined = !self.pipelining_allowed();
        let id = self.hold(HeldKind::Mail(Box::new(tx)), pipelined);
        self.events.push_back(Event::Mail {
            id,
            from,
            params,
            extensions,
        });
    }

    pub(super) fn decide_mail(&mut self, tx: Transaction, decision: Decision, now: Instant) {
        if matches!(decision, Decision::Accept | Decision::AcceptWith(_)) {
            self.tx = Some(tx);
        }
        let r = simple_reply(decision, Reply::sender_ok());
        self.reply(r, now);
    }

    /// Why this RCPT is answered by the machine, counting `outstanding` RCPTs not yet
    /// decided as accepted; `None`: it goes to the application.
    fn rcpt_refusal(
        &self,
        to: &ForwardPath,
        params: &RcptParameters,
        outstanding: usize,
    ) -> Option<RcptRefusal> {
        let Some(tx) = &self.tx else {
            return Some(RcptRefusal::Error(Reply::bad_sequence_because(
                "Need MAIL before RCPT",
            )));
        };
        if tx.bdat_started {
            return Some(RcptRefusal::Error(Reply::bad_sequence()));
        }
        if tx.recipients.len().saturating_add(outstanding) >= self.config.limits.max_recipients {
            return Some(RcptRefusal::TooMany);
        }
        if let Err(reply) = self.check_rcpt_params(params) {
            return Some(RcptRefusal::Error(reply));
        }
        if to.mailbox().is_some_and(|m| m.is_utf8()) && !tx.params.smtputf8 {
            return Some(RcptRefusal::Error(Reply::utf8_address_without_smtputf8()));
        }
        None
    }

    pub(super) fn handle_rcpt(&mut self, to: ForwardPath, params: RcptParameters, now: Instant) {
        match self.rcpt_refusal(&to, &params, 0) {
            Some(RcptRefusal::Error(reply)) => self.client_error(reply, now),
            Some(RcptRefusal::TooMany) => self.reply(Reply::too_many_recipients(), now),
            None => self.hold_rcpt(to, params),
        }
    }

    fn hold_rcpt(&mut self, to: ForwardPath, params: RcptParameters) {
        let pipelined = !self.pipelining_allowed();
        let id = self.hold(
            HeldKind::Rcpt(Box::new((to.clone(), params.clone()))),
            pipelined,
        );
        self.events.push_back(Event::Rcpt { id, to, params });
    }

    /// With RCPT decisions outstanding, takes the next command if it is an RCPT that goes
    /// to the application as well (several decisions at once, RFC 2920); anything else
    /// (another command, or an RCPT the machine would answer itself) waits in the input
    /// until every outstanding decision is answered, so replies stay in command order.
    pub(super) fn take_concurrent_rcpt(&mut self, now: Instant) -> bool {
        let _ = now;
        if !matches!(self.phase, Phase::Command)
            || !self.pipelining_allowed()
            || self.held.len() >= self.config.limits.max_outstanding_decisions.max(1)
            || !self
                .held
                .iter()
                .all(|h| matches!(h.kind, HeldKind::Rcpt(_)))
        {
            return false;
        }
        let Some(nl) = memchr::memchr(b'\n', &self.input) else {
            return false;
        };
        if nl + 1 > self.command_line_limit(self.auth_available()) {
            return false;
        }
        let line = self.input.get(..nl).unwrap_or_default();
        let Some(content) = line.strip_suffix(b"\r") else {
            return false;
        };
        if memchr::memchr(b'\r', content).is_some() {
            return false;
        }
        let opts = ParseOptions {
            leniency: self.config.leniency,
            smtputf8: self.settings.extensions.smtputf8 && self.session.extended,
        };
        // The zero-copy parse: anything but an RCPT waits without an allocation.
        let Ok(CommandRef::Rcpt { to, params }) = Command::parse_ref(content, &opts) else {
            return false;
        };
        let (to, params) = (to.to_forward_path(), params.to_owned());
        if self.rcpt_refusal(&to, &params, self.held.len()).is_some() {
            return false;
        }
        let _ = self.input.split_to(nl + 1);
        self.hold_rcpt(to, params);
        true
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
