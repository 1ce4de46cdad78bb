//! The POP3 server machine: AUTHORIZATION → TRANSACTION → UPDATE.
//!
//! [`Connection`] owns no socket and no clock. Call order, after every input:
//!
//! 1. feed what happened: [`Connection::handle_input`],
//!    [`Connection::handle_eof`], [`Connection::handle_timeout`];
//! 2. drain [`Connection::poll_event`] and answer each event that carries an
//!    id (now or later) with the typed answer methods;
//! 3. drain [`Connection::poll_transmit`] to the socket, going back to 2
//!    after each chunk (`poll_transmit` resumes commands held while output
//!    was full, which may raise events); supply message chunks only while
//!    [`Connection::is_output_full`] is false;
//! 4. wait for input until [`Connection::poll_timeout`]: a deadline already
//!    passed means call [`Connection::handle_timeout`] now (never "read
//!    without a timeout"); after EOF do not read again, sleep until the
//!    deadline (a delayed failed-login reply may be held) and then call
//!    [`Connection::handle_timeout`];
//! 5. stop when [`Connection::is_closed`] and the transmit queue is empty.
//!
//! Bounded output: pending output never exceeds the mark
//! ([`Config::max_pending_output`]) plus one unit: one reply, one listing
//! chunk, or one message chunk the application supplied. See the
//! [crate docs](crate#bounded-output).
//!
//! After [`Event::StartTls`], write out what `poll_transmit` returns, run the
//! TLS handshake, and feed only decrypted bytes from then on (and give the
//! connection's `tls-exporter` data to [`Connection::set_channel_binding`]
//! if `SCRAM-SHA-256-PLUS` is offered).
//!
//! SASL (RFC 5034) runs through postwerk-sasl: [`Config::sasl`] is the
//! registry of mechanisms offered. A mechanism's "verify this" request
//! reaches the application as [`Event::SaslVerify`] (answer with
//! [`Connection::answer_sasl`]); an exchange that succeeds then raises
//! [`Event::Login`] with [`Credentials::Sasl`], answered like any login
//! with the maildrop listing. `*` cancels (`-ERR`), a response that is not
//! base64 or that the mechanism cannot parse is a `-ERR` naming it, and
//! credentials that do not verify are `-ERR [AUTH]` after the login
//! failure delay, counted with the other failed logins.
//!
//! The maildrop belongs to the application: the listing (sizes and unique
//! ids) comes with [`Connection::accept_login`], message bytes are asked for
//! with [`Event::MessageRequest`], and the deletions arrive with
//! [`Event::Commit`] after `QUIT` only. Sizes must be counted as sent (see
//! [`crate::codec::wire_size`]): bare `LF` in stored messages goes out as
//! `CRLF`.

mod auth;
mod input;
mod transaction;
mod types;

pub use types::{
    ApopTimestamp, Config, Credentials, Deletion, Event, Expire, Language, LoginDecision,
    MessageInfo, RequestId, SessionState,
};

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::UsageError;
use crate::codec::{DotStuffer, Response, is_valid_uid};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum State {
    Authorization { user: Option<String> },
    Transaction,
    Update,
    Closed,
}

#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) size: u64,
    pub(crate) uid: String,
    pub(crate) deleted: bool,
}

#[derive(Debug)]
pub(crate) enum Pending {
    Login(RequestId),
    Verify(RequestId),
    Message {
        id: RequestId,
        stuffer: DotStuffer,
        started: bool,
        status: Response,
    },
    Commit(RequestId),
}

/// A LIST or UIDL listing (no argument) being produced as output drains.
#[derive(Debug)]
pub(crate) struct Listing {
    /// `true` for UIDL (unique ids), `false` for LIST (sizes).
    uids: bool,
    /// Next maildrop index to consider.
    next: usize,
}

/// Octets of listing lines produced per step (one "listing chunk" unit).
const LISTING_CHUNK: usize = 4096;

/// A far deadline for durations that overflow `Instant` (about 30 years).
const FAR: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// `now + d`, never panicking: an overflow gives a far deadline instead.
pub(crate) fn deadline_after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(FAR))
        .or_else(|| now.checked_add(Duration::from_secs(24 * 3600)))
        .unwrap_or(now)
}

#[derive(Debug)]
pub(crate) struct Held {
    until: Instant,
    response: Response,
    close: bool,
}

/// Pieces shorter than this are copied into one buffer instead of being
/// queued as separate [`Bytes`].
const SMALL: usize = 512;

/// One POP3 server session. See the [module docs](self) for the call order.
///
/// ```
/// use std::time::Instant;
/// use postwerk_pop3::server::{Config, Connection, Event, LoginDecision};
/// let now = Instant::now();
/// let mut config = Config::default();
/// config.allow_plaintext_auth = true;
/// let mut conn = Connection::new(config, now);
/// conn.handle_input(b"USER alice\r\nPASS secret\r\nSTAT\r\n", now);
/// let Some(Event::Login { id, .. }) = conn.poll_event() else { panic!() };
/// conn.answer_login(id, LoginDecision::Accept(vec![(120, "a1").into()])).unwrap();
/// let mut out = Vec::new();
/// while let Some(chunk) = conn.poll_transmit() {
///     out.extend_from_slice(&chunk);
/// }
/// assert!(out.ends_with(b"+OK 1 120\r\n"));
/// ```
#[derive(Debug)]
pub struct Connection {
    pub(crate) config: Config,
    pub(crate) state: State,
    input: Vec<u8>,
    input_start: usize,
    scanned: usize,
    discarding: bool,
    transmit: VecDeque<Bytes>,
    /// Octets in `transmit`.
    queued: usize,
    out: Vec<u8>,
    listing: Option<Listing>,
    events: VecDeque<Event>,
    pub(crate) pending: Option<Pending>,
    held: Option<Held>,
    pub(crate) maildrop: Vec<Entry>,
    pub(crate) tls_active: bool,
    stls_accepted: bool,
    pub(crate) utf8: bool,
    /// The SASL exchange in progress, if any.
    pub(crate) sasl: Option<auth::SaslSession>,
    /// SASL exchanges started (numbers each exchange's nonce).
    pub(crate) sasl_exchanges: u64,
    pub(crate) channel_binding: Option<Vec<u8>>,
    /// The identity of the accepted login.
    pub(crate) authenticated: Option<String>,
    /// The identity of the login waiting for the application's decision.
    pub(crate) pending_login: Option<String>,
    /// The language chosen with `LANG` (the first offered by default).
    pub(crate) language: Option<String>,
    /// A TOP that ended early: later chunks for it are ignored.
    ended_early: Option<RequestId>,
    pub(crate) failed_logins: u32,
    errors: u32,
    next_id: u64,
    pub(crate) now: Instant,
    idle_deadline: Instant,
    eof: bool,
}

impl Connection {
    /// A new session; the greeting is queued for transmit.
    pub fn new(config: Config, now: Instant) -> Connection {
        let mut conn = Connection {
            tls_active: config.tls_active,
            idle_deadline: deadline_after(now, config.idle_timeout),
            config,
            state: State::Authorization { user: None },
            input: Vec::new(),
            input_start: 0,
            scanned: 0,
            discarding: false,
            transmit: VecDeque::new(),
            queued: 0,
            out: Vec::new(),
            listing: None,
            events: VecDeque::new(),
            pending: None,
            held: None,
            maildrop: Vec::new(),
            stls_accepted: false,
            utf8: false,
            sasl: None,
            sasl_exchanges: 0,
            channel_binding: None,
            authenticated: None,
            pending_login: None,
            language: None,
            ended_early: None,
            failed_logins: 0,
            errors: 0,
            next_id: 0,
            now,
            eof: false,
        };
        let greeting = Response::greeting(
            &conn.config.greeting,
            conn.config.apop.as_ref().map(ApopTimestamp::as_str),
        );
        conn.send(&greeting);
        conn
    }

    // ----- inputs -----

    /// Feed bytes received from the client (any split of the stream).
    pub fn handle_input(&mut self, data: &[u8], now: Instant) {
        if self.state == State::Closed {
            return;
        }
        self.now = now;
        self.idle_deadline = deadline_after(now, self.config.idle_timeout);
        self.push_input(data);
        self.release_held();
        self.process();
    }

    /// The client closed its side. Complete commands already received are
    /// still answered; then the session ends, committing nothing unless a
    /// `QUIT` was among them.
    pub fn handle_eof(&mut self, now: Instant) {
        self.now = now;
        self.eof = true;
        self.release_held();
        self.process();
    }

    /// Time passed: release a delayed reply, or end an idle session (the
    /// autologout of RFC 1939 section 3: closed without a response, nothing
    /// committed).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == State::Closed {
            return;
        }
        self.now = now;
        if self.held.is_some() {
            self.release_held();
            self.process();
        } else if self.pending.is_none() && now >= self.idle_deadline {
            self.close(false);
        }
    }

    // ----- answers -----

    /// Answer an [`Event::Login`].
    pub fn answer_login(
        &mut self,
        id: RequestId,
        decision: LoginDecision,
    ) -> Result<(), UsageError> {
        match &self.pending {
            Some(Pending::Login(p)) if *p == id => {}
            Some(_) if self.pending_id() == Some(id) => return Err(UsageError::WrongAnswer),
            _ => return Err(self.unknown()),
        }
        if let LoginDecision::Accept(listing) = &decision {
            validate_listing(listing)?;
        }
        self.pending = None;
        self.login_decided(decision);
        self.process();
        Ok(())
    }

    /// Accept an [`Event::Login`] with this maildrop listing.
    pub fn accept_login(
        &mut self,
        id: RequestId,
        listing: Vec<MessageInfo>,
    ) -> Result<(), UsageError> {
        self.answer_login(id, LoginDecision::Accept(listing))
    }

    /// Reject an [`Event::Login`]: bad credentials.
    pub fn reject_login(&mut self, id: RequestId) -> Result<(), UsageError> {
        self.answer_login(id, LoginDecision::Reject)
    }

    /// Answer an [`Event::SaslVerify`] with the SASL answer: `Accept` or
    /// `AcceptAs(identity)` for good credentials, `Reject` /
    /// `RejectWith(json)` for bad ones, `ScramCredentials(stored)` or
    /// `UnknownUser` for SCRAM (see postwerk-sasl's
    /// [`Answer`](postwerk_sasl::server::Answer)). An answer that does not
    /// fit the request (SCRAM credentials for a password) is the
    /// mechanism's to judge: the built-in ones take it as a rejection.
    pub fn answer_sasl(
        &mut self,
        id: RequestId,
        answer: postwerk_sasl::server::Answer,
    ) -> Result<(), UsageError> {
        match &self.pending {
            Some(Pending::Verify(p)) if *p == id => {}
            Some(_) if self.pending_id() == Some(id) => return Err(UsageError::WrongAnswer),
            _ => return Err(self.unknown()),
        }
        self.sasl_answer(answer)?;
        self.process();
        Ok(())
    }

    /// Answer an [`Event::MessageRequest`] with the whole message.
    pub fn supply_message(&mut self, id: RequestId, message: Bytes) -> Result<(), UsageError> {
        self.supply_message_chunk(id, message)?;
        self.finish_message(id)
    }

    /// Stream the next chunk of the message of an [`Event::MessageRequest`].
    ///
    /// Supply a chunk only while [`Connection::is_output_full`] is false
    /// (write out `poll_transmit` in between): pending output then never
    /// exceeds [`Config::max_pending_output`] plus one chunk. A chunk
    /// supplied while output is full is still accepted (no error), but the
    /// bound is then the application's responsibility. [`Connection::supply_message`]
    /// is one chunk: fine for small messages, not for large ones.
    pub fn supply_message_chunk(&mut self, id: RequestId, chunk: Bytes) -> Result<(), UsageError> {
        if self.check_message(id)? {
            return Ok(());
        }
        self.start_message();
        let mut top_done = false;
        if let Some(Pending::Message { stuffer, .. }) = &mut self.pending {
            let (transmit, out, queued) = (&mut self.transmit, &mut self.out, &mut self.queued);
            stuffer.push(chunk, |b| emit(transmit, out, queued, b));
            top_done = stuffer.is_done();
        }
        if top_done {
            // TOP: the header and the lines asked for are out; end the
            // response now and ask for nothing more.
            self.ended_early = Some(id);
            self.event(Event::MessageDone { id });
            self.end_message();
        }
        Ok(())
    }

    /// The message of an [`Event::MessageRequest`] is complete.
    pub fn finish_message(&mut self, id: RequestId) -> Result<(), UsageError> {
        if self.check_message(id)? {
            self.ended_early = None;
            return Ok(());
        }
        self.start_message();
        self.end_message();
        Ok(())
    }

    fn end_message(&mut self) {
        if let Some(Pending::Message { stuffer, .. }) = &mut self.pending {
            let (transmit, out, queued) = (&mut self.transmit, &mut self.out, &mut self.queued);
            stuffer.finish(|b| emit(transmit, out, queued, b));
        }
        self.pending = None;
        self.process();
    }

    /// The message of an [`Event::MessageRequest`] cannot be read: `-ERR
    /// [SYS/TEMP]` if nothing was sent yet; otherwise the connection is
    /// closed (a truncated message must not look complete).
    pub fn message_unavailable(&mut self, id: RequestId) -> Result<(), UsageError> {
        if self.check_message(id)? {
            self.ended_early = None;
            return Ok(());
        }
        let started = matches!(self.pending, Some(Pending::Message { started: true, .. }));
        self.pending = None;
        if started {
            self.close(false);
        } else {
            self.send(&Response::message_unavailable());
            self.process();
        }
        Ok(())
    }

    /// Answer an [`Event::Commit`]: `success` sends `+OK` and ends the
    /// session committed; otherwise `-ERR some deleted messages not removed`.
    pub fn answer_commit(&mut self, id: RequestId, success: bool) -> Result<(), UsageError> {
        match &self.pending {
            Some(Pending::Commit(p)) if *p == id => {}
            Some(_) if self.pending_id() == Some(id) => return Err(UsageError::WrongAnswer),
            _ => return Err(self.unknown()),
        }
        self.pending = None;
        self.send(&if success {
            Response::bye()
        } else {
            Response::commit_failed()
        });
        self.close(success);
        Ok(())
    }

    // ----- outputs -----

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next bytes to send to the client.
    ///
    /// A call that finds [`Connection::pending_output`] at or below
    /// [`Config::max_pending_output`] first resumes the session: it continues
    /// a LIST/UIDL listing and runs pipelined commands held while output was
    /// full. That may queue events, so drain [`Connection::poll_event`]
    /// again after writing what this returns.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if !self.is_output_full() {
            self.resume();
        }
        let b = if let Some(b) = self.transmit.pop_front() {
            self.queued = self.queued.saturating_sub(b.len());
            Some(b)
        } else if self.out.is_empty() {
            None
        } else {
            Some(Bytes::from(std::mem::take(&mut self.out)))
        };
        // Resume as soon as the output drains below the mark, in the call
        // that returns bytes: events it raises are then seen by the loop.
        if b.is_some() && !self.is_output_full() {
            self.resume();
        }
        b
    }

    /// When to call [`Connection::handle_timeout`] next: the end of a login
    /// failure delay, or the idle deadline while waiting for the client.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == State::Closed {
            None
        } else if let Some(h) = &self.held {
            Some(h.until)
        } else if self.pending.is_some() {
            None
        } else {
            Some(self.idle_deadline)
        }
    }

    // ----- getters -----

    /// Octets queued for transmit and not yet handed out by
    /// [`Connection::poll_transmit`].
    pub fn pending_output(&self) -> usize {
        self.queued.saturating_add(self.out.len())
    }

    /// The settings, with the per-session changes made so far
    /// ([`Connection::set_expire`], [`Connection::set_login_delay`]).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Octets of client input buffered and not yet processed (bounded by
    /// the line limits and [`Config::max_pending_input`]; for diagnostics).
    pub fn buffered_input(&self) -> usize {
        self.input.len().saturating_sub(self.input_start)
    }

    /// Whether pending output is above [`Config::max_pending_output`]. While
    /// it is, no further buffered command is taken, and an application
    /// streaming a message supplies no further chunk.
    pub fn is_output_full(&self) -> bool {
        self.pending_output() > self.config.max_pending_output
    }

    /// `Some(id)` while the message of [`Event::MessageRequest`] `id` is
    /// being supplied (not yet finished) and output is not full: the moment
    /// to call [`Connection::supply_message_chunk`] (or
    /// [`Connection::finish_message`]).
    pub fn wants_message_chunk(&self) -> Option<RequestId> {
        match &self.pending {
            Some(Pending::Message { id, .. }) if !self.is_output_full() => Some(*id),
            _ => None,
        }
    }

    /// Whether the session is over (flush `poll_transmit`, then close).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Whether STLS was accepted in this session (TLS must be running now).
    pub fn stls_accepted(&self) -> bool {
        self.stls_accepted
    }

    /// The identity of the accepted login: the USER or APOP name, or for
    /// SASL the authorization identity if one was given, else the
    /// authentication identity the application accepted (never the
    /// mechanism name).
    pub fn authenticated(&self) -> Option<&str> {
        self.authenticated.as_deref()
    }

    /// The language chosen with `LANG` (RFC 6856), or the first of
    /// [`Config::languages`] until then; `None` when none is offered.
    pub fn language(&self) -> Option<&str> {
        self.language
            .as_deref()
            .or_else(|| self.config.languages.first().map(|l| l.tag.as_str()))
    }

    // ----- per-session settings -----

    /// Change the `EXPIRE` capability for the rest of the session (e.g. to
    /// the user's value after login; RFC 2449 section 6.7).
    pub fn set_expire(&mut self, expire: Option<Expire>) {
        self.config.expire = expire;
    }

    /// Change the `LOGIN-DELAY` capability (seconds) for the rest of the
    /// session (RFC 2449 section 6.8).
    pub fn set_login_delay(&mut self, seconds: Option<u32>) {
        self.config.login_delay = seconds;
    }

    /// The connection's `tls-exporter` channel binding data (RFC 9266),
    /// after the TLS handshake: `SCRAM-SHA-256-PLUS` is then offered if
    /// [`Config::sasl`] has it. Forgotten at STLS (set it again after the
    /// new handshake).
    pub fn set_channel_binding(&mut self, tls_exporter: Vec<u8>) {
        self.channel_binding = Some(tls_exporter);
    }

    /// Marks TLS as active from the start (implicit TLS, port 995), like
    /// [`Config::tls_active`]: STLS is then neither advertised nor accepted,
    /// and cleartext logins are allowed. The same name as the SMTP server's.
    pub fn set_tls_active(&mut self) {
        self.tls_active = true;
    }

    /// Whether the session runs inside TLS (STLS or implicit).
    pub fn is_tls_active(&self) -> bool {
        self.tls_active
    }

    /// Whether the client enabled UTF-8 mode (RFC 6856).
    pub fn utf8_enabled(&self) -> bool {
        self.utf8
    }

    /// The RFC 1939 session state.
    pub fn state(&self) -> SessionState {
        match self.state {
            State::Authorization { .. } => SessionState::Authorization,
            State::Transaction => SessionState::Transaction,
            State::Update => SessionState::Update,
            State::Closed => SessionState::Closed,
        }
    }

    // ----- internals shared by the submodules -----

    pub(crate) fn send(&mut self, response: &Response) {
        response.encode(&mut self.out);
    }

    pub(crate) fn send_raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    pub(crate) fn event(&mut self, event: Event) {
        self.events.push_back(event);
    }

    pub(crate) fn new_id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId(self.next_id)
    }

    /// Answer a protocol error, closing after too many.
    pub(crate) fn send_error(&mut self, response: &Response) {
        self.send(response);
        self.errors += 1;
        if self.errors >= self.config.max_errors {
            self.send(&Response::too_many_errors());
            self.close(false);
        }
    }

    /// Hold `response` until `now + delay`; nothing else is processed meanwhile.
    pub(crate) fn hold(&mut self, response: Response, delay: Duration, close: bool) {
        self.held = Some(Held {
            until: deadline_after(self.now, delay),
            response,
            close,
        });
        self.release_held();
    }

    pub(crate) fn close(&mut self, committed: bool) {
        if self.state == State::Closed {
            return;
        }
        self.state = State::Closed;
        self.pending = None;
        self.held = None;
        self.listing = None;
        self.input = Vec::new();
        self.input_start = 0;
        self.events.push_back(Event::Closed { committed });
    }

    /// Forget all input not yet processed and all state learned so far (STLS).
    pub(crate) fn start_tls(&mut self) {
        self.input.clear();
        self.input_start = 0;
        self.scanned = 0;
        self.discarding = false;
        self.state = State::Authorization { user: None };
        self.utf8 = false;
        self.sasl = None;
        self.channel_binding = None;
        self.language = None;
        self.tls_active = true;
        self.stls_accepted = true;
        self.events.push_back(Event::StartTls);
    }

    /// Output drained to the mark: continue a listing, then held commands.
    fn resume(&mut self) {
        if self.state == State::Closed {
            return;
        }
        self.continue_listing();
        self.process();
    }

    /// Start a LIST/UIDL listing (status line already sent).
    pub(crate) fn start_listing(&mut self, uids: bool) {
        self.listing = Some(Listing { uids, next: 0 });
        self.continue_listing();
    }

    /// Whether a listing is still being produced.
    pub(crate) fn listing_active(&self) -> bool {
        self.listing.is_some()
    }

    /// Produce listing lines, one chunk at a time, while output is not full.
    fn continue_listing(&mut self) {
        while !self.is_output_full() {
            let Some(listing) = self.listing.as_mut() else {
                return;
            };
            let start = self.out.len();
            let mut next = listing.next;
            let uids = listing.uids;
            while self.out.len() - start < LISTING_CHUNK {
                let Some(e) = self.maildrop.get(next) else {
                    break;
                };
                next += 1;
                if e.deleted {
                    continue;
                }
                let line = if uids {
                    format!("{next} {}\r\n", e.uid)
                } else {
                    format!("{next} {}\r\n", e.size)
                };
                self.out.extend_from_slice(line.as_bytes());
            }
            if next >= self.maildrop.len() {
                self.out.extend_from_slice(b".\r\n");
                self.listing = None;
            } else if let Some(l) = self.listing.as_mut() {
                l.next = next;
            }
        }
    }

    fn release_held(&mut self) {
        let due = self.held.as_ref().is_some_and(|h| self.now >= h.until);
        if !due {
            return;
        }
        if let Some(h) = self.held.take() {
            self.send(&h.response);
            if h.close {
                self.close(false);
            }
        }
    }

    fn pending_id(&self) -> Option<RequestId> {
        match &self.pending {
            Some(Pending::Login(id) | Pending::Verify(id) | Pending::Commit(id)) => Some(*id),
            Some(Pending::Message { id, .. }) => Some(*id),
            None => None,
        }
    }

    fn unknown(&self) -> UsageError {
        if self.state == State::Closed {
            UsageError::Closed
        } else {
            UsageError::UnknownRequest
        }
    }

    /// `Ok(false)`: `id` is the message being supplied; `Ok(true)`: it is a
    /// TOP that already ended (the call is ignored).
    fn check_message(&self, id: RequestId) -> Result<bool, UsageError> {
        match &self.pending {
            Some(Pending::Message { id: p, .. }) if *p == id => Ok(false),
            Some(_) if self.pending_id() == Some(id) => Err(UsageError::WrongAnswer),
            _ if self.ended_early == Some(id) && self.state != State::Closed => Ok(true),
            _ => Err(self.unknown()),
        }
    }

    /// Send the `+OK` of RETR/TOP before the first body bytes.
    fn start_message(&mut self) {
        if let Some(Pending::Message {
            started: started @ false,
            status,
            ..
        }) = &mut self.pending
        {
            *started = true;
            status.encode(&mut self.out);
        }
    }
}

/// Queue a piece of wire output: small pieces are copied into `out`, large
/// ones queued as they are (after flushing `out` to keep the order).
fn emit(transmit: &mut VecDeque<Bytes>, out: &mut Vec<u8>, queued: &mut usize, b: Bytes) {
    if b.is_empty() {
        return;
    }
    if b.len() < SMALL && !out.is_empty() {
        out.extend_from_slice(&b);
    } else {
        if !out.is_empty() {
            let taken = std::mem::take(out);
            *queued += taken.len();
            transmit.push_back(Bytes::from(taken));
        }
        *queued += b.len();
        transmit.push_back(b);
    }
}

fn validate_listing(listing: &[MessageInfo]) -> Result<(), UsageError> {
    if u32::try_from(listing.len()).is_err() {
        return Err(UsageError::TooManyMessages);
    }
    let mut seen = HashSet::with_capacity(listing.len());
    for (index, m) in listing.iter().enumerate() {
        if !is_valid_uid(&m.uid) {
            return Err(UsageError::InvalidUid { index });
        }
        if !seen.insert(m.uid.as_str()) {
            return Err(UsageError::DuplicateUid { index });
        }
    }
    Ok(())
}
