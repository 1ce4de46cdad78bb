//! The message content: DATA (RFC 5321 4.1.1.4) and BDAT (RFC 3030), end of data and the
//! application's final answer (one per recipient in LMTP, RFC 2033 4.2).

use std::time::Instant;

use bytes::BytesMut;

use super::{
    AbortReason, BareLineEndings, CloseReason, Connection, Decision, Envelope, Event, HeldKind,
    Phase, PipeliningPolicy, simple_reply,
};
use crate::codec::data::DotUnstuffer;
use crate::codec::params::Body;
use crate::codec::reply::Reply;

/// Reading a DATA body.
#[derive(Debug)]
pub(crate) struct DataPhase {
    unstuffer: DotUnstuffer,
    body: BytesMut,
    size: u64,
    aborted: Option<AbortReason>,
}

/// Reading (or skipping) a BDAT chunk.
#[derive(Debug)]
pub(crate) struct BdatPhase {
    remaining: u64,
    size: u64,
    last: bool,
    /// The chunk is read and discarded; this reply follows it.
    skip: Option<Reply>,
    /// The skip reply is the application's (not a client error).
    app_refused: bool,
}

impl Connection {
    pub(super) fn handle_data(&mut self, now: Instant) {
        let Some(tx) = &self.tx else {
            self.client_error(Reply::bad_sequence_because("Need MAIL before DATA"), now);
            return;
        };
        if tx.bdat_started {
            self.client_error(Reply::bad_sequence(), now);
            return;
        }
        if tx.recipients.is_empty() {
            self.client_error(Reply::no_valid_recipients(), now);
            return;
        }
        if tx.params.body == Some(Body::BinaryMime) {
            // RFC 3030 3: a BINARYMIME body can only be sent with BDAT.
            self.client_error(
                Reply::bad_sequence_because("BODY=BINARYMIME requires BDAT"),
                now,
            );
            return;
        }
        if self.settings.decisions.data {
            let id = self.hold(HeldKind::Data, true);
            self.events
                .push_back(Event::DataCommand { id, bdat: false });
            return;
        }
        self.start_data(now);
    }

    pub(super) fn decide_data(&mut self, decision: Decision, now: Instant) {
        match decision {
            Decision::Accept | Decision::AcceptWith(_) => self.start_data(now),
            other => {
                let r = simple_reply(other, Reply::local_error());
                self.reply(r, now);
            }
        }
    }

    fn start_data(&mut self, now: Instant) {
        let normalize = self.config.bare_line_endings == BareLineEndings::Normalize;
        self.phase = Phase::Data(Box::new(DataPhase {
            unstuffer: DotUnstuffer::new(self.config.limits.max_text_line, normalize),
            body: BytesMut::new(),
            size: 0,
            aborted: None,
        }));
        self.reply(Reply::start_data(), now);
        self.events.push_back(Event::DataStart);
    }

    pub(super) fn step_data(&mut self, now: Instant) -> bool {
        if self.input.is_empty() {
            return false;
        }
        let Phase::Data(d) = &mut self.phase else {
            return false;
        };
        let progress = d.unstuffer.feed(&self.input, &mut d.body);
        let _ = self.input.split_to(progress.consumed);
        let chunk = d.body.split().freeze();
        d.size = d.size.saturating_add(chunk.len() as u64);
        let bare = d.unstuffer.saw_bare_cr() || d.unstuffer.saw_bare_lf();
        let policy = self.config.bare_line_endings;
        let mut newly_aborted = None;
        if d.aborted.is_none() {
            if bare && policy != BareLineEndings::Normalize {
                newly_aborted = Some(AbortReason::BareLineEnding);
            } else if d.size > self.settings.max_message_size {
                newly_aborted = Some(AbortReason::TooBig);
            } else if !chunk.is_empty() {
                self.events.push_back(Event::BodyChunk(chunk));
            }
            if let Some(reason) = newly_aborted {
                d.aborted = Some(reason);
                self.events.push_back(Event::DataAborted(reason));
            }
        }
        if newly_aborted == Some(AbortReason::BareLineEnding) && policy == BareLineEndings::Close {
            let host = self.config.hostname.clone();
            self.phase = Phase::Command;
            self.end_transaction();
            self.close(
                CloseReason::BareLineEnding,
                Reply::bare_line_ending_closing(&host),
                now,
            );
            return true;
        }
        if !progress.done {
            return true;
        }
        let Phase::Data(d) = std::mem::replace(&mut self.phase, Phase::Command) else {
            return true;
        };
        if !self.input.is_empty()
            && !self.pipelining_allowed()
            && self.config.pipelining_policy == PipeliningPolicy::Reject
        {
            if d.aborted.is_none() {
                self.events
                    .push_back(Event::DataAborted(AbortReason::ConnectionClosed));
            }
            self.end_transaction();
            self.pipelining_violation(now);
            return true;
        }
        let reply = match d.aborted {
            Some(AbortReason::BareLineEnding) => Some(Reply::bare_line_ending()),
            Some(AbortReason::TooBig) => Some(Reply::message_too_big()),
            Some(_) => Some(Reply::local_error()),
            None if d.unstuffer.saw_long_line() => {
                self.events
                    .push_back(Event::DataAborted(AbortReason::LineTooLong));
                Some(Reply::text_line_too_long())
            }
            None => None,
        };
        match reply {
            Some(r) => {
                self.end_transaction();
                self.reply(r, now);
            }
            None => self.request_data_end(d.size),
        }
        true
    }

    fn request_data_end(&mut self, size: u64) {
        let Some(tx) = &self.tx else { return };
        let envelope = Envelope {
            from: tx.from.clone(),
            mail_params: tx.params.clone(),
            mail_extensions: tx.extensions.clone(),
            recipients: tx.recipients.clone(),
        };
        let recipients = envelope.recipients.len();
        let id = self.hold(HeldKind::DataEnd { recipients }, false);
        self.events.push_back(Event::DataEnd { id, envelope, size });
    }

    pub(super) fn decide_data_end(&mut self, recipients: usize, decision: Decision, now: Instant) {
        let r = simple_reply(decision, Reply::message_accepted(None));
        let n = if self.config.lmtp { recipients } else { 1 };
        for _ in 0..n {
            self.reply(r.clone(), now);
        }
        self.end_transaction();
    }

    pub(super) fn handle_bdat(&mut self, size: u64, last: bool, now: Instant) {
        // The chunk follows the command whatever we answer: it is always read, so that it
        // is never taken for commands.
        let refusal = match &self.tx {
            _ if !(self.settings.extensions.chunking && self.session.extended) => {
                Some(Reply::not_implemented())
            }
            None => Some(Reply::bad_sequence_because("Need MAIL before BDAT")),
            Some(tx) if tx.recipients.is_empty() => Some(Reply::no_valid_recipients()),
            Some(tx) if tx.bdat_size.saturating_add(size) > self.settings.max_message_size => {
                Some(Reply::message_too_big())
            }
            Some(_) => None,
        };
        if refusal.is_none()
            && self.settings.decisions.data
            && self.tx.as_ref().is_some_and(|tx| !tx.bdat_started)
        {
            let id = self.hold(HeldKind::Bdat { size, last }, false);
            self.events.push_back(Event::DataCommand { id, bdat: true });
            return;
        }
        self.start_bdat(size, last, refusal, false, now);
    }

    pub(super) fn decide_bdat(&mut self, size: u64, last: bool, decision: Decision, now: Instant) {
        match decision {
            Decision::Accept | Decision::AcceptWith(_) => {
                self.start_bdat(size, last, None, false, now);
            }
            other => {
                let r = simple_reply(other, Reply::local_error());
                self.start_bdat(size, last, Some(r), true, now);
            }
        }
    }

    fn start_bdat(
        &mut self,
        size: u64,
        last: bool,
        refusal: Option<Reply>,
        app_refused: bool,
        now: Instant,
    ) {
        if let Some(r) = &refusal {
            let too_big = r.code() == 552;
            if self.tx.as_ref().is_some_and(|tx| tx.bdat_started) {
                self.events.push_back(Event::DataAborted(if too_big {
                    AbortReason::TooBig
                } else {
                    AbortReason::ConnectionClosed
                }));
            }
            // A message over the limit ends the transaction (RFC 3030 2).
            if too_big && !app_refused {
                self.end_transaction();
            }
        } else if let Some(tx) = &mut self.tx
            && !tx.bdat_started
        {
            tx.bdat_started = true;
            self.events.push_back(Event::DataStart);
        }
        self.wait_since = now;
        self.phase = Phase::Bdat(BdatPhase {
            remaining: size,
            size,
            last,
            skip: refusal,
            app_refused,
        });
    }

    pub(super) fn step_bdat(&mut self, now: Instant) -> bool {
        let Phase::Bdat(b) = &mut self.phase else {
            return false;
        };
        if b.remaining > 0 {
            if self.input.is_empty() {
                return false;
            }
            let take = usize::try_from(b.remaining)
                .unwrap_or(usize::MAX)
                .min(self.input.len());
            let chunk = self.input.split_to(take).freeze();
            b.remaining -= take as u64;
            if b.skip.is_none() && !chunk.is_empty() {
                if let Some(tx) = &mut self.tx {
                    tx.bdat_size = tx.bdat_size.saturating_add(take as u64);
                }
                self.events.push_back(Event::BodyChunk(chunk));
            }
            if b.remaining > 0 {
                return true;
            }
        }
        let Phase::Bdat(b) = std::mem::replace(&mut self.phase, Phase::Command) else {
            return true;
        };
        match b.skip {
            Some(reply) if reply.code() == 552 || b.app_refused => self.reply(reply, now),
            Some(reply) => self.client_error(reply, now),
            None if b.last => {
                let size = self.tx.as_ref().map_or(0, |tx| tx.bdat_size);
                self.request_data_end(size);
            }
            None => self.reply(Reply::chunk_received(b.size), now),
        }
        true
    }

    /// Reports [`Event::DataAborted`] when a body is being received.
    pub(super) fn abort_data_if_any(&mut self) {
        let in_body = match &self.phase {
            Phase::Data(d) => d.aborted.is_none(),
            Phase::Bdat(b) => b.skip.is_none(),
            _ => self.tx.as_ref().is_some_and(|tx| tx.bdat_started),
        };
        if in_body {
            self.events
                .push_back(Event::DataAborted(AbortReason::ConnectionClosed));
        }
        if matches!(self.phase, Phase::Data(_) | Phase::Bdat(_)) {
            self.phase = Phase::Command;
        }
    }
}
