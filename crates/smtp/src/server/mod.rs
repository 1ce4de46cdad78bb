//! The SMTP/LMTP server machine (RFC 5321, RFC 2033), sans I/O.
//!
//! A [`Connection`] is one SMTP session. It owns no socket and reads no clock: the driver
//! feeds it bytes and the current time and carries out what it asks for.
//!
//! # Call order
//!
//! 1. [`Connection::new`] queues the greeting (or raises [`Event::Connect`] when
//!    [`Decisions::connect`] is on).
//! 2. Loop:
//!    - handle every [`Connection::poll_event`]: body chunks go to storage; events with a
//!      [`RequestId`] get a [`Decision`] through [`Connection::respond`] (now or later —
//!      later pipelined commands wait for it); [`Event::SaslVerify`] gets a postwerk-sasl
//!      answer through [`Connection::answer_sasl`];
//!    - the application may change this session's [`Settings`] at any point
//!      ([`Connection::settings_mut`]): SIZE, AUTH mechanisms, extensions, its own
//!      keywords and parameters; the next EHLO reply and the next command use them;
//!    - write what [`Connection::poll_transmit`] returns to the socket, and go back to
//!      the events after each chunk: `poll_transmit` resumes commands held while output
//!      was full, which may raise events;
//!    - after [`Event::StartTls`]: flush, run the TLS handshake, call
//!      [`Connection::tls_established`];
//!    - stop when [`Connection::is_closed`];
//!    - when both are empty, wait for socket input ([`Connection::handle_input`],
//!      [`Connection::handle_eof`]) or the deadline of [`Connection::poll_timeout`]
//!      ([`Connection::handle_timeout`]).
//!
//! Invariant: after every input (`handle_input`, `handle_eof`, `handle_timeout`,
//! `respond`, `answer_sasl`, `tls_established`), poll events and output until both are
//! empty.
//!
//! # Decisions
//!
//! | Event | When | Accept | Reject / Close |
//! |---|---|---|---|
//! | [`Event::Connect`] | before the greeting, with [`Decisions::connect`] | `220` greeting | its reply (e.g. `554`), then close |
//! | [`Event::HelloCommand`] | HELO/EHLO/LHLO, with [`Decisions::hello`] | the greeting and keywords of the [`Settings`] of that moment | its reply; the session stays unnamed |
//! | [`Event::Mail`], [`Event::Rcpt`] | MAIL, RCPT | `250` | its reply |
//! | [`Event::DataCommand`] | DATA, first BDAT, with [`Decisions::data`] | `354` / the chunk is taken | its reply (a BDAT chunk is read and discarded) |
//! | [`Event::StartTlsCommand`] | STARTTLS, with [`Decisions::starttls`] | `220`, then [`Event::StartTls`] | its reply, e.g. `454 4.7.0` |
//! | [`Event::SaslVerify`] | a SASL mechanism needs the credentials checked | [`Connection::answer_sasl`] | `answer_sasl(Reject)` (`535`), or `respond` with a reply |
//! | [`Event::Login`] | a SASL exchange succeeded | `235` | its reply, a failed login |
//! | [`Event::DataEnd`] | end of the body | `250` (LMTP: one per recipient) | its reply |
//!
//! Several decisions may be outstanding at once: with PIPELINING, RCPTs behind RCPTs all
//! reach the application before any is answered (up to
//! [`Limits::max_outstanding_decisions`], and never more than the recipients still
//! allowed). Answer them in any order: an answer is kept until the ones before it are in,
//! and the replies go out in command order. Any other command (or an RCPT the machine
//! answers itself, such as a syntax error) waits in the input until every outstanding
//! decision is answered. [`Connection::outstanding`] lists the ids still waiting.
//!
//! Bounded output: pending output never exceeds the mark ([`Config::max_pending_output`])
//! plus one unit (one reply, the per-recipient replies to one LMTP end of data, or the
//! replies to the RCPTs decided together). While
//! [`Connection::is_output_full`], no further buffered command is taken and
//! [`Connection::handle_input`] buffers at most [`Limits::max_pending_input`]. See the
//! [crate docs](crate#bounded-output).
//!
//! The peer breaking the protocol is never a Rust error: the machine answers it with the
//! right reply and, past the error limit, closes. [`UsageError`] is for the caller.
//!
//! The files of this module follow the phases: `greeting` (HELO/EHLO/LHLO and the small
//! commands), `transaction` (MAIL, RCPT), `params` (MAIL/RCPT parameters against the
//! session's settings), `data` (DATA, BDAT), `auth` (AUTH through postwerk-sasl), `tls`
//! (STARTTLS), `settings` (per-session settings).

mod auth;
mod config;
mod data;
mod events;
mod greeting;
mod params;
mod settings;
mod tls;
mod transaction;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

pub use config::{
    BareLineEndings, Config, Decisions, Extensions, FutureReleaseLimits, Limits, ParamRule,
    ParamValue, PipeliningPolicy, Timeouts,
};
#[allow(deprecated)]
pub use events::ApiError;
pub use events::{
    AbortReason, CloseReason, Credentials, Decision, Envelope, Event, RequestId, UsageError,
};
pub use settings::Settings;

use crate::codec::command::{Command, ParseOptions};
use crate::codec::command_ref::CommandRef;
use crate::codec::reply::Reply;
use crate::codec::sasl::Mechanism;
use crate::codec::text::Text;
use auth::SaslSession;
use data::{BdatPhase, DataPhase};
use transaction::Transaction;

/// What the machine is reading.
#[derive(Debug)]
enum Phase {
    /// Command lines.
    Command,
    /// The rest of an overlong command line, discarded up to its LF.
    SkipLine,
    /// A DATA body.
    Data(Box<DataPhase>),
    /// A BDAT chunk.
    Bdat(BdatPhase),
    /// A SASL response line.
    Auth,
    /// 220 to STARTTLS sent; waiting for the driver's `tls_established`.
    AwaitTls,
}

/// A decision the application has not made yet.
#[derive(Debug)]
struct Held {
    id: RequestId,
    kind: HeldKind,
    /// The command must end a pipelined group: input behind it is a violation.
    must_be_last: bool,
    /// The application's answer, kept until the decisions before it are answered.
    answer: Option<Decision>,
}

#[derive(Debug)]
enum HeldKind {
    Connect,
    Hello {
        domain: Text,
        kind: HelloKind,
    },
    Mail(Box<Transaction>),
    Rcpt(
        Box<(
            crate::codec::path::ForwardPath,
            crate::codec::params::RcptParameters,
        )>,
    ),
    Data,
    Bdat {
        size: u64,
        last: bool,
    },
    StartTls,
    SaslVerify,
    Login(Credentials),
    Vrfy,
    DataEnd {
        recipients: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GreetingState {
    /// To be written at this time (`None`: a delay too long to represent, never).
    Due(Option<Instant>),
    /// Waiting for the application's [`Event::Connect`] decision.
    Deciding,
    /// Written, not yet handed to the driver.
    Queued,
    /// Handed to the driver.
    Sent,
}

/// A reply held back until a time (failed AUTH delay).
#[derive(Debug)]
struct Delayed {
    /// `None`: a delay too long to represent; the command timeout applies instead.
    until: Option<Instant>,
    reply: Reply,
}

/// What was learned in this session (forgotten at STARTTLS).
#[derive(Debug, Default)]
struct Session {
    helo: Option<Text>,
    extended: bool,
    tls: bool,
    authenticated: Option<String>,
    /// The `tls-exporter` channel binding data of this TLS session.
    channel_binding: Option<Vec<u8>>,
}

/// One server-side SMTP session. See the [module documentation](self) for the call order.
///
/// ```
/// use std::time::Instant;
/// use postwerk_smtp::server::{Config, Connection, Decision, Event};
///
/// let now = Instant::now();
/// let mut conn = Connection::new(Config::new("mx.example"), now);
/// let greeting = conn.poll_transmit().unwrap();
/// assert!(greeting.starts_with(b"220 mx.example"));
/// conn.handle_input(b"EHLO client.example\r\n", now);
/// conn.handle_input(b"MAIL FROM:<a@client.example>\r\n", now);
/// while let Some(event) = conn.poll_event() {
///     if let Event::Mail { id, .. } = event {
///         conn.respond(id, Decision::Accept, now).unwrap();
///     }
/// }
/// let mut out = Vec::new();
/// while let Some(chunk) = conn.poll_transmit() {
///     out.extend_from_slice(&chunk);
/// }
/// assert!(out.ends_with(b"250 2.1.0 Sender OK\r\n"));
/// ```
#[derive(Debug)]
pub struct Connection {
    config: Arc<Config>,
    settings: Settings,
    input: BytesMut,
    out: Vec<u8>,
    events: VecDeque<Event>,
    phase: Phase,
    /// Outstanding decisions, in command order.
    held: VecDeque<Held>,
    delayed: Option<Delayed>,
    sasl: Option<Box<SaslSession>>,
    sasl_exchanges: u64,
    session: Session,
    tx: Option<Transaction>,
    errors: u32,
    auth_failures: u32,
    next_id: u64,
    wait_since: Instant,
    greeting: GreetingState,
    closing: bool,
    /// The time of the latest input, for work resumed inside `poll_transmit`.
    now: Instant,
}

impl Connection {
    /// A new session; the greeting is queued (or scheduled after
    /// [`Timeouts::greeting_delay`]), or with [`Decisions::connect`] an [`Event::Connect`]
    /// asks the application first. The session's [`Settings`] start as the `config`'s.
    pub fn new(config: impl Into<Arc<Config>>, now: Instant) -> Connection {
        let config = config.into();
        let delay = config.timeouts.greeting_delay;
        let mut conn = Connection {
            settings: Settings::from_config(&config),
            config,
            input: BytesMut::new(),
            out: Vec::new(),
            events: VecDeque::new(),
            phase: Phase::Command,
            held: VecDeque::new(),
            delayed: None,
            sasl: None,
            sasl_exchanges: 0,
            session: Session::default(),
            tx: None,
            errors: 0,
            auth_failures: 0,
            next_id: 0,
            wait_since: now,
            greeting: GreetingState::Due(deadline(now, delay)),
            closing: false,
            now,
        };
        if delay.is_zero() {
            conn.write_greeting(now);
        }
        conn
    }

    /// Marks TLS as active from the start (implicit TLS, RFC 8314): STARTTLS is then
    /// neither advertised nor accepted, and plaintext AUTH mechanisms are allowed.
    pub fn set_tls_active(&mut self) {
        self.session.tls = true;
    }

    /// True when TLS is active.
    pub fn is_tls_active(&self) -> bool {
        self.session.tls
    }

    /// The identity the client authenticated as, if any.
    pub fn authenticated(&self) -> Option<&str> {
        self.session.authenticated.as_deref()
    }

    /// The name the client gave in HELO/EHLO/LHLO.
    pub fn helo_domain(&self) -> Option<&str> {
        self.session.helo.as_deref()
    }

    /// Bytes of client input buffered and not yet processed (bounded; for diagnostics).
    pub fn buffered_input(&self) -> usize {
        self.input.len()
    }

    /// Octets queued for the client and not yet handed out by
    /// [`Connection::poll_transmit`]. Never more than [`Config::max_pending_output`]
    /// plus one unit (one reply, the per-recipient replies to one LMTP end of data, or the
    /// replies to the RCPTs decided together).
    pub fn pending_output(&self) -> usize {
        self.out.len()
    }

    /// Whether pending output is above [`Config::max_pending_output`]. While it is, the
    /// machine takes no further buffered command, and [`Connection::handle_input`]
    /// buffers at most [`Limits::max_pending_input`]; a call to
    /// [`Connection::poll_transmit`] resumes.
    pub fn is_output_full(&self) -> bool {
        self.out.len() > self.config.max_pending_output
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// This session's settings (the [`Config`] defaults, as the application changed them).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Changes this session's settings: SIZE limit, AUTH mechanisms, extensions, the
    /// application's own keywords and parameters, decision points. Call it at any point,
    /// e.g. while handling an event; the change applies to the next EHLO reply and the
    /// next command.
    pub fn settings_mut(&mut self) -> &mut Settings {
        &mut self.settings
    }

    /// Gives the TLS session's `tls-exporter` channel binding data (RFC 9266), after
    /// [`Connection::tls_established`] or [`Connection::set_tls_active`]: the
    /// `-PLUS` SCRAM mechanisms are then offered. Forgotten at STARTTLS.
    pub fn set_channel_binding(&mut self, tls_exporter: Vec<u8>) {
        self.session.channel_binding = Some(tls_exporter);
    }

    /// The ids of the decisions waiting for an answer, in command order.
    pub fn outstanding(&self) -> impl Iterator<Item = RequestId> + '_ {
        self.held
            .iter()
            .filter(|h| h.answer.is_none())
            .map(|h| h.id)
    }

    // ---- inputs -------------------------------------------------------------------

    /// Feeds bytes received from the client, split anywhere. Returns how many were
    /// accepted: all of them, except while an application decision is pending or output
    /// is full ([`Connection::is_output_full`]) and [`Limits::max_pending_input`] is
    /// reached — then keep the rest and feed it again after [`Connection::respond`] or
    /// after writing out [`Connection::poll_transmit`].
    #[must_use = "bytes not taken must be fed again later"]
    pub fn handle_input(&mut self, data: &[u8], now: Instant) -> usize {
        self.now = now;
        if self.closing || matches!(self.phase, Phase::AwaitTls) || data.is_empty() {
            return data.len();
        }
        if self.greeting != GreetingState::Sent && self.config.reject_early_talkers {
            self.out.clear();
            self.close(CloseReason::EarlyTalker, Reply::early_talker(), now);
            return data.len();
        }
        let blocked = !self.held.is_empty() || self.delayed.is_some();
        if blocked && self.config.pipelining_policy == PipeliningPolicy::Reject {
            let must_be_last = self.held.back().is_none_or(|h| h.must_be_last);
            // A BDAT chunk always follows its command.
            let bdat = self
                .held
                .back()
                .is_some_and(|h| matches!(h.kind, HeldKind::Bdat { .. }));
            if !bdat && (must_be_last || !self.pipelining_allowed()) {
                self.pipelining_violation(now);
                return data.len();
            }
        }
        if matches!(self.phase, Phase::Data(_) | Phase::Bdat(_)) {
            self.wait_since = now;
        }
        // Take input in slices that keep the buffer within `max_pending_input`: what is
        // left once the machine waits (for a decision, a delay, or its output to drain)
        // is for the driver to feed again.
        let limit = self.config.limits.max_pending_input.max(1);
        let mut taken = 0;
        while taken < data.len() {
            let room = limit.saturating_sub(self.input.len());
            let n = room.min(data.len() - taken);
            if n == 0 {
                break;
            }
            self.input
                .extend_from_slice(data.get(taken..taken + n).unwrap_or_default());
            taken += n;
            self.process(now);
            if self.closing || matches!(self.phase, Phase::AwaitTls) {
                // The rest is discarded (closing, or cleartext behind STARTTLS).
                return data.len();
            }
        }
        taken
    }

    /// The client closed its side of the connection.
    pub fn handle_eof(&mut self, now: Instant) {
        self.now = now;
        if self.closing {
            return;
        }
        self.abort_data_if_any();
        self.held.clear();
        self.sasl = None;
        self.delayed = None;
        self.closing = true;
        self.input.clear();
        self.events
            .push_back(Event::Closing(CloseReason::PeerClosed));
    }

    /// Lets time pass: sends a delayed greeting or reply, or closes a timed-out session.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if self.closing {
            return;
        }
        if let GreetingState::Due(at) = self.greeting {
            if at.is_some_and(|at| now >= at) {
                self.write_greeting(now);
                self.process(now);
            }
            return;
        }
        if let Some(d) = &self.delayed
            && let Some(until) = d.until
        {
            if now >= until {
                if let Some(d) = self.delayed.take() {
                    self.reply(d.reply, now);
                }
                self.process(now);
            }
            return;
        }
        if !self.held.is_empty() {
            return;
        }
        if let Some(deadline) = self.poll_timeout()
            && now >= deadline
        {
            let host = self.config.hostname.clone();
            self.abort_data_if_any();
            self.close(CloseReason::Timeout, Reply::timeout(&host), now);
        }
    }

    /// Answers the event `id`. Later pipelined commands are processed right away.
    ///
    /// Decisions may be answered in any order when several are outstanding (pipelined
    /// RCPTs): an answer is kept until the ones before it are answered, and the replies go
    /// out in command order.
    ///
    /// Once the machine is closing (see [`Event::Closing`]), pending requests are gone and
    /// answering them returns [`UsageError::UnknownRequest`].
    pub fn respond(
        &mut self,
        id: RequestId,
        decision: Decision,
        now: Instant,
    ) -> Result<(), UsageError> {
        self.now = now;
        let Some(h) = self.held.iter_mut().find(|h| h.id == id) else {
            return Err(UsageError::UnknownRequest(id));
        };
        if h.answer.is_some() {
            return Err(UsageError::UnknownRequest(id));
        }
        if !decision_fits(&h.kind, &decision) {
            return Err(UsageError::InvalidDecision(id));
        }
        h.answer = Some(decision);
        self.settle(now);
        self.process(now);
        Ok(())
    }

    /// Carries out the answered decisions at the front of the queue, in command order.
    fn settle(&mut self, now: Instant) {
        while self.held.front().is_some_and(|h| h.answer.is_some()) && !self.closing {
            let Some(held) = self.held.pop_front() else {
                return;
            };
            let Some(decision) = held.answer else {
                return;
            };
            self.apply(held.kind, decision, now);
        }
    }

    fn apply(&mut self, kind: HeldKind, decision: Decision, now: Instant) {
        if let Decision::Close(reply) = decision {
            self.abort_data_if_any();
            self.sasl = None;
            self.close(CloseReason::Application, reply, now);
            return;
        }
        match kind {
            HeldKind::Connect => self.decide_connect(decision, now),
            HeldKind::Hello { domain, kind } => self.decide_hello(domain, kind, decision, now),
            HeldKind::Mail(tx) => self.decide_mail(*tx, decision, now),
            HeldKind::Rcpt(rcpt) => self.decide_rcpt(*rcpt, decision, now),
            HeldKind::Data => self.decide_data(decision, now),
            HeldKind::Bdat { size, last } => self.decide_bdat(size, last, decision, now),
            HeldKind::StartTls => self.decide_starttls(decision, now),
            HeldKind::SaslVerify => self.decide_sasl_verify(decision, now),
            HeldKind::Login(credentials) => self.decide_login(credentials, decision, now),
            HeldKind::Vrfy => {
                let r = simple_reply(decision, Reply::cannot_verify());
                self.reply(r, now);
            }
            HeldKind::DataEnd { recipients } => self.decide_data_end(recipients, decision, now),
        }
    }

    /// Answers an [`Event::SaslVerify`] with postwerk-sasl's
    /// [`Answer`](postwerk_sasl::server::Answer): `Accept` or `AcceptAs(identity)` for good
    /// credentials, `Reject` / `RejectWith(json)` for bad ones, `ScramCredentials(stored)`
    /// or `UnknownUser` for SCRAM. An answer that does not fit the request is the
    /// mechanism's to judge: the built-in ones take it as a rejection. A successful
    /// exchange then raises [`Event::Login`].
    pub fn answer_sasl(
        &mut self,
        id: RequestId,
        answer: postwerk_sasl::server::Answer,
        now: Instant,
    ) -> Result<(), UsageError> {
        self.now = now;
        match self.held.front() {
            Some(h) if h.id == id && matches!(h.kind, HeldKind::SaslVerify) => {}
            Some(h) if h.id == id => return Err(UsageError::InvalidDecision(id)),
            _ => return Err(UsageError::UnknownRequest(id)),
        }
        self.held.pop_front();
        self.sasl_answer(answer, now);
        self.process(now);
        Ok(())
    }

    /// Answers an LMTP [`Event::DataEnd`] with one reply per accepted recipient, in order.
    pub fn respond_per_recipient(
        &mut self,
        id: RequestId,
        replies: Vec<Reply>,
        now: Instant,
    ) -> Result<(), UsageError> {
        self.now = now;
        match self.held.front() {
            Some(Held {
                id: hid,
                kind: HeldKind::DataEnd { recipients },
                ..
            }) if *hid == id => {
                if replies.len() != *recipients || !self.config.lmtp {
                    return Err(UsageError::InvalidDecision(id));
                }
            }
            Some(h) if h.id == id => return Err(UsageError::InvalidDecision(id)),
            _ => return Err(UsageError::UnknownRequest(id)),
        }
        self.held.pop_front();
        for r in replies {
            self.reply(r, now);
        }
        self.end_transaction();
        self.process(now);
        Ok(())
    }

    /// The old name of [`tls_established`](Self::tls_established).
    #[deprecated(note = "renamed to tls_established, as in the SMTP and POP3 clients")]
    pub fn tls_started(&mut self, now: Instant) -> Result<(), UsageError> {
        self.tls_established(now)
    }

    /// The driver finished the TLS handshake after [`Event::StartTls`] (the same name as
    /// the clients' method).
    pub fn tls_established(&mut self, now: Instant) -> Result<(), UsageError> {
        self.now = now;
        if !matches!(self.phase, Phase::AwaitTls) {
            return Err(UsageError::NotAwaitingTls);
        }
        self.phase = Phase::Command;
        self.session.tls = true;
        self.wait_since = now;
        Ok(())
    }

    // ---- outputs ------------------------------------------------------------------

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Bytes to send to the client, if any: all pending output, at most the mark plus one
    /// unit.
    ///
    /// Once the output is handed out, the call resumes the session: it runs pipelined
    /// commands held while output was full (with the time of the latest input), until
    /// the output is above the mark again. That may queue events and output, so drain
    /// [`Connection::poll_event`] again after writing what this returns, and call it
    /// again. `None` means nothing is pending and nothing held could run.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.resume();
        if self.out.is_empty() {
            return None;
        }
        if self.greeting == GreetingState::Queued {
            self.greeting = GreetingState::Sent;
        }
        let bytes = Bytes::from(std::mem::take(&mut self.out));
        // Take held commands now, so that the events they raise are seen before the
        // driver's next call.
        self.resume();
        Some(bytes)
    }

    /// The next deadline: call [`Connection::handle_timeout`] when it passes. `None` while
    /// the machine waits for the application, or once closing.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closing {
            return None;
        }
        if let GreetingState::Due(at) = self.greeting {
            return at;
        }
        if let Some(until) = self.delayed.as_ref().and_then(|d| d.until) {
            return Some(until);
        }
        if !self.held.is_empty() {
            return None;
        }
        let t = &self.config.timeouts;
        let timeout = match self.phase {
            Phase::Data(_) | Phase::Bdat(_) => t.data,
            _ => t.command,
        };
        deadline(self.wait_since, timeout)
    }

    /// True once the machine is done and every byte of output has been taken: close the
    /// connection.
    pub fn is_closed(&self) -> bool {
        self.closing && self.out.is_empty()
    }

    // ---- internals ----------------------------------------------------------------

    fn write_greeting(&mut self, now: Instant) {
        if self.settings.decisions.connect {
            self.greeting = GreetingState::Deciding;
            let id = self.hold(HeldKind::Connect, true);
            self.events.push_back(Event::Connect { id });
            return;
        }
        let r = Reply::greeting(&self.config.hostname, &self.config.greeting);
        self.reply(r, now);
        self.greeting = GreetingState::Queued;
    }

    fn decide_connect(&mut self, decision: Decision, now: Instant) {
        match decision {
            Decision::Accept | Decision::AcceptWith(_) => {
                let default = Reply::greeting(&self.config.hostname, &self.config.greeting);
                self.reply(simple_reply(decision, default), now);
                self.greeting = GreetingState::Queued;
            }
            other => {
                let reply = simple_reply(other, Reply::early_talker());
                self.greeting = GreetingState::Queued;
                self.close(CloseReason::Application, reply, now);
            }
        }
    }

    fn hold(&mut self, kind: HeldKind, must_be_last: bool) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        self.held.push_back(Held {
            id,
            kind,
            must_be_last,
            answer: None,
        });
        id
    }

    fn pipelining_allowed(&self) -> bool {
        self.session.extended && self.settings.extensions.pipelining
    }

    fn enhanced_on(&self) -> bool {
        self.session.extended && self.settings.extensions.enhanced_status_codes
    }

    /// The effective command line limit with the extension increments (`auth`: whether
    /// AUTH exists in this session, [`Connection::auth_available`]).
    fn command_line_limit(&self, auth: bool) -> usize {
        let ext = &self.settings.extensions;
        let mut n = self.config.limits.max_command_line;
        if ext.dsn {
            n = n.saturating_add(600);
        }
        if auth {
            n = n.saturating_add(500);
        }
        if ext.smtputf8 {
            n = n.saturating_add(10);
        }
        n
    }

    /// Queues a reply; starts the command timeout.
    fn reply(&mut self, reply: Reply, now: Instant) {
        if self.enhanced_on() {
            reply.write_to(&mut self.out);
        } else {
            reply.without_enhanced().write_to(&mut self.out);
        }
        self.wait_since = now;
    }

    /// Queues a reply to a client error, or 421 and close past the error limit.
    fn client_error(&mut self, reply: Reply, now: Instant) {
        self.errors = self.errors.saturating_add(1);
        if self.errors >= self.config.limits.max_errors {
            let host = self.config.hostname.clone();
            self.close(
                CloseReason::TooManyErrors,
                Reply::too_many_errors(&host),
                now,
            );
        } else {
            self.reply(reply, now);
        }
    }

    fn close(&mut self, reason: CloseReason, reply: Reply, now: Instant) {
        if self.closing {
            return;
        }
        self.reply(reply, now);
        self.closing = true;
        self.held.clear();
        self.sasl = None;
        self.delayed = None;
        self.input.clear();
        self.events.push_back(Event::Closing(reason));
    }

    fn pipelining_violation(&mut self, now: Instant) {
        self.abort_data_if_any();
        self.close(
            CloseReason::UnauthorizedPipelining,
            Reply::pipelining_not_allowed(),
            now,
        );
    }

    /// Forgets the transaction (after its end, RSET, EHLO, STARTTLS).
    fn end_transaction(&mut self) {
        self.tx = None;
    }

    /// Resets the transaction, reporting [`Event::Reset`] when there was one — after
    /// [`Event::DataAborted`] when BDAT chunks of it were received (the application drops
    /// the partial body).
    fn reset_transaction(&mut self) {
        if let Some(tx) = self.tx.take() {
            if tx.bdat_started {
                self.events
                    .push_back(Event::DataAborted(AbortReason::Reset));
            }
            self.events.push_back(Event::Reset);
        }
    }

    /// Runs commands held while output was full, once it is not.
    fn resume(&mut self) {
        if !self.is_output_full() && !self.closing && !self.input.is_empty() {
            self.process(self.now);
        }
    }

    /// Runs buffered input until it is used up, a decision is pending, output is full,
    /// or closing.
    fn process(&mut self, now: Instant) {
        // Nothing is answered before the greeting has been written.
        let greeted = !matches!(
            self.greeting,
            GreetingState::Due(_) | GreetingState::Deciding
        );
        while greeted && !self.closing && self.delayed.is_none() && !self.is_output_full() {
            if !self.held.is_empty() {
                // Only further RCPTs run beside outstanding RCPTs.
                if self.take_concurrent_rcpt(now) {
                    continue;
                }
                break;
            }
            let progressed = match &mut self.phase {
                Phase::Command => self.step_command(now),
                Phase::SkipLine => self.step_skip_line(),
                Phase::Data(_) => self.step_data(now),
                Phase::Bdat(_) => self.step_bdat(now),
                Phase::Auth => self.step_auth(now),
                Phase::AwaitTls => false,
            };
            if !progressed {
                break;
            }
        }
    }

    fn step_skip_line(&mut self) -> bool {
        match memchr::memchr(b'\n', &self.input) {
            Some(nl) => {
                let _ = self.input.split_to(nl + 1);
                self.phase = Phase::Command;
                true
            }
            None => {
                self.input.clear();
                false
            }
        }
    }

    /// Takes one line (up to `limit` octets with its LF) from the input. `Ok(None)`: no
    /// complete line yet. `Err(())`: the line is too long (the machine is now skipping it).
    fn take_line(&mut self, limit: usize) -> Result<Option<Bytes>, ()> {
        match memchr::memchr(b'\n', &self.input) {
            Some(nl) if nl < limit => Ok(Some(self.input.split_to(nl + 1).freeze())),
            Some(nl) => {
                let _ = self.input.split_to(nl + 1);
                Err(())
            }
            None if self.input.len() >= limit => {
                self.input.clear();
                self.phase = Phase::SkipLine;
                Err(())
            }
            None => Ok(None),
        }
    }

    /// Strips the line end, applying the bare CR/LF policy. `None`: the line was refused
    /// (the reply is queued).
    fn line_content<'a>(&mut self, line: &'a [u8], now: Instant) -> Option<&'a [u8]> {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let (body, bare_lf) = match body.strip_suffix(b"\r") {
            Some(b) => (b, false),
            None => (body, true),
        };
        let bare_cr = memchr::memchr(b'\r', body).is_some();
        if !bare_lf && !bare_cr {
            return Some(body);
        }
        match self.config.bare_line_endings {
            BareLineEndings::Normalize if !bare_cr => Some(body),
            BareLineEndings::Close => {
                let host = self.config.hostname.clone();
                self.close(
                    CloseReason::BareLineEnding,
                    Reply::bare_line_ending_closing(&host),
                    now,
                );
                None
            }
            _ => {
                self.client_error(Reply::bare_line_ending_in_command(), now);
                None
            }
        }
    }

    fn step_command(&mut self, now: Instant) -> bool {
        let auth = self.auth_available();
        let cmd_limit = self.command_line_limit(auth);
        let scan_limit = if auth {
            cmd_limit.max(self.config.limits.max_sasl_line)
        } else {
            cmd_limit
        };
        let line = match self.take_line(scan_limit) {
            Ok(Some(line)) => line,
            Ok(None) => return false,
            Err(()) => {
                self.client_error(Reply::line_too_long(), now);
                return true;
            }
        };
        let Some(content) = self.line_content(&line, now) else {
            return true;
        };
        let is_auth = content
            .get(..5)
            .is_some_and(|v| v.eq_ignore_ascii_case(b"AUTH "));
        if !is_auth && content.len() + 2 > cmd_limit {
            self.client_error(Reply::line_too_long(), now);
            return true;
        }
        let opts = ParseOptions {
            leniency: self.config.leniency,
            smtputf8: self.settings.extensions.smtputf8 && self.session.extended,
        };
        // The zero-copy parse: the line is borrowed (and its UTF-8 validated once); what
        // an event carries is turned into owned values in `dispatch_ref`.
        let cmd = match Command::parse_ref(content, &opts) {
            Ok(cmd) => cmd,
            Err(e) => {
                self.client_error(e.reply(), now);
                return true;
            }
        };
        if !self.input.is_empty()
            && self.config.pipelining_policy == PipeliningPolicy::Reject
            && !matches!(
                cmd,
                CommandRef::StartTls | CommandRef::Quit | CommandRef::Bdat { .. }
            )
            && (!self.pipelining_allowed() || must_be_last(&cmd))
        {
            self.pipelining_violation(now);
            return true;
        }
        self.dispatch_ref(cmd, now);
        true
    }

    /// Runs a borrowed command: what its event carries (the EHLO/HELO/LHLO name, the MAIL
    /// and RCPT paths and parameters, the VRFY argument, the AUTH mechanism and initial
    /// response) is turned into owned values here, with the conversions
    /// [`CommandRef::to_owned`] makes ([`Text`](crate::codec::text::Text): inline, no
    /// allocation, for the usual sizes); the other commands carry nothing and need no
    /// owned form. The `smtp_parse` bench row `postwerk_server_parse_and_event_data` makes
    /// these same conversions.
    fn dispatch_ref(&mut self, cmd: CommandRef<'_>, now: Instant) {
        match cmd {
            CommandRef::Ehlo { domain } => {
                self.handle_hello(domain.to_text(), HelloKind::Ehlo, now);
            }
            CommandRef::Helo { domain } => {
                self.handle_hello(domain.to_text(), HelloKind::Helo, now);
            }
            CommandRef::Lhlo { domain } => {
                self.handle_hello(domain.to_text(), HelloKind::Lhlo, now);
            }
            CommandRef::Mail { from, params } => {
                self.handle_mail(from.to_reverse_path(), params.to_owned(), now);
            }
            CommandRef::Rcpt { to, params } => {
                self.handle_rcpt(to.to_forward_path(), params.to_owned(), now);
            }
            CommandRef::Data => self.handle_data(now),
            CommandRef::Bdat { size, last } => self.handle_bdat(size, last, now),
            CommandRef::Rset => self.handle_rset(now),
            CommandRef::Noop => self.reply(Reply::ok(), now),
            CommandRef::Quit => {
                let host = self.config.hostname.clone();
                self.close(CloseReason::Quit, Reply::closing(&host), now);
            }
            CommandRef::Vrfy { arg } => self.handle_vrfy(arg.to_text(), now),
            CommandRef::Expn { .. } => self.client_error(Reply::not_implemented(), now),
            CommandRef::Help { .. } => self.reply(Reply::help(), now),
            CommandRef::StartTls => self.handle_starttls(now),
            CommandRef::Auth {
                mechanism,
                initial_response,
            } => self.handle_auth(
                Mechanism::from_checked_name(mechanism.as_str()),
                initial_response.map(|r| r.to_text()),
                now,
            ),
        }
    }
}

/// HELO, EHLO or LHLO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HelloKind {
    Helo,
    Ehlo,
    Lhlo,
}

/// Commands that must end a pipelined group (RFC 2920 3.1, RFC 4954 4).
fn must_be_last(cmd: &CommandRef<'_>) -> bool {
    matches!(
        cmd,
        CommandRef::Ehlo { .. }
            | CommandRef::Helo { .. }
            | CommandRef::Lhlo { .. }
            | CommandRef::Data
            | CommandRef::Vrfy { .. }
            | CommandRef::Expn { .. }
            | CommandRef::Noop
            | CommandRef::Auth { .. }
    )
}

/// Whether `decision` is a valid answer to `kind`.
///
/// A SASL verification is answered with [`Connection::answer_sasl`]; `respond` only
/// rejects it. The greeting accepted with a reply must be a `220`; a HELO/EHLO, DATA,
/// BDAT or STARTTLS accepted with a reply of the application's is refused (the machine
/// writes those replies).
fn decision_fits(kind: &HeldKind, decision: &Decision) -> bool {
    let fixed_accept = matches!(
        kind,
        HeldKind::Hello { .. } | HeldKind::Data | HeldKind::Bdat { .. } | HeldKind::StartTls
    );
    match decision {
        Decision::Accept => !matches!(kind, HeldKind::SaslVerify),
        Decision::AcceptWith(r) => match kind {
            HeldKind::Connect => r.code() == 220,
            HeldKind::SaslVerify => false,
            _ => !fixed_accept && (200..400).contains(&r.code()),
        },
        Decision::Reject(r) | Decision::Close(r) => r.code() >= 400,
        Decision::Authenticated(_) => matches!(kind, HeldKind::Login(_)),
    }
}

/// The reply for an accept/reject decision, `default` for a plain Accept.
fn simple_reply(decision: Decision, default: Reply) -> Reply {
    match decision {
        Decision::AcceptWith(r) | Decision::Reject(r) | Decision::Close(r) => r,
        Decision::Accept | Decision::Authenticated(_) => default,
    }
}

/// `now + after`, or `None` (no deadline) when that cannot be represented.
pub(crate) fn deadline(now: Instant, after: Duration) -> Option<Instant> {
    now.checked_add(after)
}
