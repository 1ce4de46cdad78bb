//! Running one mail transaction: MAIL, RCPT, DATA or BDAT, pipelined or one by one.

use std::time::Instant;

use bytes::Bytes;

use crate::codec::command::Command;
use crate::codec::params::{Body, MailParameters, RcptParameters};
use crate::codec::path::Mailbox;
use crate::codec::reply::Reply;
use crate::codec::text::Text;

use super::body;
use super::downgrade::{Downgrader, downgrade_to_7bit};
use super::ehlo::{Capabilities, Extension};
use super::events::{ConnectionError, Event, Phase, TransactionError};
use super::stream::{BodyStream, Stuffer};
use super::transaction::{Active, EsmtpParam};
use super::{Connection, Expect};

impl Connection {
    /// Prepares and starts `active`. Returns false when it failed before anything was sent
    /// (its result is already queued as an event).
    pub(super) fn start_transaction(&mut self, mut active: Active, now: Instant) -> bool {
        let caps = self.caps.clone().unwrap_or_default();
        if let Err(e) = self.prepare(&mut active, &caps) {
            self.events
                .push_back(Event::TransactionDone(active.finish(Some(e))));
            return false;
        }
        if active.pipelined {
            if self.server_txn_open {
                self.command(&Command::Rset, Expect::Rset, now);
            }
            if let Some(mail) = &active.mail_cmd {
                self.command(mail, Expect::Mail, now);
            }
            for (i, rcpt) in &active.rcpts {
                self.command(rcpt, Expect::Rcpt(*i), now);
            }
            active.next_rcpt = active.rcpts.len();
            if !(active.bdat && active.stream.is_some()) {
                // A streamed BDAT body waits for the RCPT replies: nothing of it goes
                // out for a transaction nobody accepts.
                self.send_data_command(&mut active, now);
            }
        } else if self.server_txn_open {
            self.command(&Command::Rset, Expect::Rset, now);
        } else if let Some(mail) = &active.mail_cmd {
            self.command(mail, Expect::Mail, now);
        }
        self.active = Some(active);
        true
    }

    /// Works out MAIL and RCPT parameters from the message and the server's capabilities,
    /// and fails what this server cannot carry.
    fn prepare(&self, active: &mut Active, caps: &Capabilities) -> Result<(), TransactionError> {
        let tx = &active.tx;
        if tx.recipients.is_empty() {
            return Err(TransactionError::NoRecipients);
        }
        if tx.require_tls {
            // RFC 8689 4.2.1: only over TLS, to a server that offers REQUIRETLS.
            if !self.tls_active {
                return Err(TransactionError::TlsNotActive);
            }
            if !caps.has(Extension::RequireTls) {
                return Err(TransactionError::RequireTlsNotOffered);
            }
        }
        let offers_8bit = caps.has(Extension::EightBitMime);
        let utf8_offered = caps.has(Extension::SmtpUtf8);
        let mut stream = None;
        let (body, eight_bit, size, header_utf8) = if tx.streaming {
            let mut s = BodyStream::new(self.config.bare_line_endings);
            if !offers_8bit {
                if tx.eight_bit {
                    s.downgrade = Some(Downgrader::new());
                } else {
                    s.seven_bit_only = true;
                }
            }
            // A 7-bit body may be declared 8BITMIME (RFC 6152 3); a streamed one is, when
            // the server offers it, since the machine cannot look at it in advance. The
            // caller's size means nothing once the body is downgraded.
            let size = tx.declared_size.filter(|_| s.downgrade.is_none());
            stream = Some(s);
            (Bytes::new(), offers_8bit, size, false)
        } else {
            let mut body = body::prepare(&tx.body, self.config.bare_line_endings)
                .map_err(|offset| TransactionError::BareLineEnding { offset })?;
            let header_utf8 = body::header_has_utf8(&body);
            let mut eight_bit = tx.eight_bit || body::has_8bit(&body);
            // (A UTF-8 header without SMTPUTF8 fails below, with that reason.)
            if eight_bit && !offers_8bit && (utf8_offered || !header_utf8) {
                body = Bytes::from(
                    downgrade_to_7bit(&body).map_err(TransactionError::CannotDowngrade)?,
                );
                eight_bit = false;
            }
            let size = body::size(&body);
            (body, eight_bit, Some(size), header_utf8)
        };
        let message_utf8 =
            tx.smtputf8 || tx.reverse_path.mailbox().is_some_and(Mailbox::is_utf8) || header_utf8;
        if message_utf8 && !utf8_offered {
            return Err(TransactionError::SmtpUtf8NotOffered);
        }
        if let Some((size, limit)) = size.zip(caps.max_size()).filter(|(s, l)| s > l) {
            return Err(TransactionError::MessageTooBig { size, limit });
        }
        let dsn = caps.has(Extension::Dsn);
        let wanted = |p: &&EsmtpParam| p.is_forced() || caps.has_keyword(p.keyword());
        let mut any_utf8 = message_utf8;
        let mut rcpts = Vec::with_capacity(tx.recipients.len());
        for (i, r) in tx.recipients.iter().enumerate() {
            let utf8 = r.path.mailbox().is_some_and(Mailbox::is_utf8);
            if utf8 && !utf8_offered {
                if let Some(result) = active.results.get_mut(i) {
                    result.error = Some(TransactionError::SmtpUtf8NotOffered);
                }
                continue;
            }
            any_utf8 |= utf8;
            let mut params = RcptParameters::default();
            if dsn {
                params.notify = r.notify;
                params.orcpt = r
                    .orcpt
                    .as_ref()
                    .map(|(t, a)| (Text::from(t), Text::from(a)));
            }
            params.other = r
                .params
                .iter()
                .filter(wanted)
                .map(EsmtpParam::wire)
                .collect();
            let to = r.path.clone();
            rcpts.push((i, Command::Rcpt { to, params }));
        }
        if rcpts.is_empty() {
            return Err(TransactionError::SmtpUtf8NotOffered);
        }
        let mut params = MailParameters {
            size: size.filter(|_| caps.has(Extension::Size)),
            body: eight_bit.then_some(Body::EightBitMime),
            smtputf8: any_utf8,
            ..MailParameters::default()
        };
        if dsn {
            params.ret = tx.ret;
            params.envid = tx.envid.as_ref().map(Text::from);
        }
        if tx.require_tls {
            params.other.push(("REQUIRETLS".into(), None));
        }
        params
            .other
            .extend(tx.mail_params.iter().filter(wanted).map(EsmtpParam::wire));
        let from = tx.reverse_path.clone();
        active.mail_cmd = Some(Command::Mail { from, params });
        active.rcpts = rcpts;
        active.body = body;
        active.bdat = self.config.chunking && caps.has(Extension::Chunking);
        active.pipelined = self.config.pipelining && caps.has(Extension::Pipelining);
        active.lmtp = self.config.lmtp;
        if let Some(s) = stream.as_mut().filter(|_| !active.bdat) {
            s.stuffer = Some(Stuffer::new());
        }
        active.stream = stream;
        Ok(())
    }

    /// DATA, or BDAT with the whole body, or (a streamed BDAT body) the start of the
    /// stream.
    fn send_data_command(&mut self, active: &mut Active, now: Instant) {
        if let Some(stream) = active.stream.as_mut().filter(|_| active.bdat) {
            stream.open = true;
            self.open_stream(now);
        } else if active.bdat {
            let size = body::size(&active.body);
            self.command(&Command::Bdat { size, last: true }, Expect::DataEnd, now);
            self.push_body([active.body.clone()], now);
        } else {
            self.command(&Command::Data, Expect::Data, now);
        }
    }

    fn send_next_rcpt(&mut self, active: &mut Active, now: Instant) -> bool {
        let Some((i, rcpt)) = active.rcpts.get(active.next_rcpt) else {
            return false;
        };
        let expect = Expect::Rcpt(*i);
        let rcpt = rcpt.clone();
        active.next_rcpt += 1;
        self.command(&rcpt, expect, now);
        true
    }

    pub(super) fn on_transaction_reply(&mut self, expect: Expect, reply: Reply, now: Instant) {
        let Some(mut active) = self.active.take() else {
            return;
        };
        let done = match expect {
            Expect::Rset => {
                self.server_txn_open = false;
                if let Some(mail) = active.mail_cmd.as_ref().filter(|_| !active.pipelined) {
                    self.command(mail, Expect::Mail, now);
                }
                false
            }
            Expect::Mail => {
                let ok = reply.is_positive();
                active.mail = Some(reply);
                if ok {
                    self.server_txn_open = true;
                }
                if active.pipelined {
                    false
                } else {
                    !ok || !self.send_next_rcpt(&mut active, now)
                }
            }
            Expect::Rcpt(i) => {
                if let Some(r) = active.results.get_mut(i) {
                    r.rcpt = Some(reply);
                }
                let last = active.rcpts.last().is_some_and(|(j, _)| *j == i);
                if active.pipelined && active.bdat && active.stream.is_some() && last {
                    // The streamed BDAT body starts once the recipients are known.
                    if active.mail_ok() && !active.accepted().is_empty() {
                        self.send_data_command(&mut active, now);
                        false
                    } else {
                        true
                    }
                } else if active.pipelined || self.send_next_rcpt(&mut active, now) {
                    false
                } else if active.accepted().is_empty() {
                    true
                } else {
                    self.send_data_command(&mut active, now);
                    false
                }
            }
            Expect::Data => {
                if reply.code() != 354 {
                    active.data = Some(reply);
                    true
                } else if active.mail_ok() && !active.accepted().is_empty() {
                    if let Some(stream) = active.stream.as_mut() {
                        stream.open = true;
                        self.open_stream(now);
                    } else {
                        self.push_body(body::stuff_for_data(&active.body), now);
                    }
                    self.expect(Expect::DataEnd, now);
                    false
                } else {
                    // A pipelined DATA accepted although nobody can receive the message:
                    // end it empty (RFC 2920 3.1), and expect the server to refuse it.
                    self.push_body([Bytes::from_static(b".\r\n")], now);
                    self.expect(Expect::Drain, now);
                    false
                }
            }
            Expect::BdatChunk => {
                let Some(stream) = active.stream.as_mut() else {
                    self.active = Some(active);
                    return;
                };
                stream.bdat_inflight = stream.bdat_inflight.saturating_sub(1);
                if !reply.is_positive() && !stream.refused {
                    // RFC 3030 2: after a refused chunk, no further BDAT.
                    stream.refused = true;
                    active.data = Some(reply);
                }
                let done = stream.refused && stream.bdat_inflight == 0 && !stream.ended;
                if done {
                    // The server may keep the transaction after a refused BDAT.
                    self.server_txn_open = active.mail_ok();
                    self.streaming_body = false;
                    self.body_reply_arrived();
                }
                done
            }
            Expect::DataEnd if active.stream.as_ref().is_some_and(|s| !s.ended) => {
                // A final reply while the streamed DATA is not ended: the server would
                // take whatever comes next as more of the message. Give up the session.
                self.active = Some(active);
                let phase = Phase::Body;
                self.fail_hard(ConnectionError::UnexpectedReply { phase, reply });
                return;
            }
            Expect::DataEnd => self.on_data_end(&mut active, reply, now),
            Expect::Drain => {
                self.server_txn_open = false;
                true
            }
            _ => false,
        };
        if done {
            self.streaming_body = false;
            self.events
                .push_back(Event::TransactionDone(active.finish(None)));
            self.drive(now);
        } else {
            self.active = Some(active);
            self.want_body();
        }
    }

    /// The reply after the data: one for all, or in LMTP one per accepted recipient.
    fn on_data_end(&mut self, active: &mut Active, reply: Reply, now: Instant) -> bool {
        let accepted = active.accepted();
        let positive = reply.is_positive();
        if active.lmtp && active.mail_ok() && !accepted.is_empty() {
            if let Some(r) = accepted
                .get(active.lmtp_next)
                .and_then(|&i| active.results.get_mut(i))
            {
                r.data = Some(reply.clone());
            }
            if active.lmtp_next == 0 {
                active.data = Some(reply);
            }
            active.lmtp_next += 1;
            if active.lmtp_next < accepted.len() {
                self.pending.push_front(Expect::DataEnd);
                self.arm(now);
                return false;
            }
        } else if !active.stream.as_ref().is_some_and(|s| s.refused) {
            active.data = Some(reply);
        }
        // After a refused BDAT the server may keep the transaction (RFC 3030 2); after the
        // end of DATA it is over either way.
        self.server_txn_open = active.bdat && !positive && active.mail_ok();
        true
    }
}
