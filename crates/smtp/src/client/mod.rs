//! The SMTP client machine: what a relay, a queue runner or a mail client runs.
//!
//! A [`Connection`](crate::client::Connection) is one SMTP (or LMTP) session seen from the client side. It owns no
//! socket and no clock: the driver feeds it the server's bytes and the current time, and
//! sends what it hands out. It waits for the greeting, says EHLO (falling back to HELO),
//! upgrades with STARTTLS when the policy says so, logs in through postwerk-sasl (the
//! strongest mechanism the server offers that the credentials allow), and runs the
//! transactions given to [`Connection::send`](crate::client::Connection::send), pipelined when the server offers
//! PIPELINING (RFC 2920), with DATA or BDAT (RFC 3030). A body is given whole, or
//! [streamed](#streaming-a-body) in chunks so that the message is never in memory. Each
//! transaction ends in an [`Event::TransactionDone`](crate::client::Event::TransactionDone) carrying, per recipient, the whole
//! replies and a [`Delivery`](crate::client::Delivery) classification for a queue. The session is reused for as
//! many transactions as the caller sends (RSET between them when the server may still
//! hold one), with NOOP and RSET on request, until [`Connection::quit`](crate::client::Connection::quit).
//!
//! # Calling order
//!
//! After every input (`handle_input`, `handle_eof`, `handle_timeout`, `tls_established`,
//! `send`, `quit`, `noop`, `rset`, `body_chunk`, `body_end`, `handle_written`), drain
//! [`poll_event`](crate::client::Connection::poll_event) and
//! [`poll_transmit`](crate::client::Connection::poll_transmit) until both are empty —
//! write each chunk to the socket, then go back to the events, since `poll_transmit`
//! resumes replies held while output was full and asks for more of a streamed body.
//! Once the chunks handed out so far are written, call
//! [`handle_written`](crate::client::Connection::handle_written): the end-of-data timer
//! starts when the body's last bytes are reported written. Then wait for socket input
//! until [`poll_timeout`](crate::client::Connection::poll_timeout). Stop when
//! [`is_closed`](crate::client::Connection::is_closed).
//!
//! The driver loop, relaying a message read from a file as the socket drains:
//!
//! ```no_run
//! # use std::io::{Read, Write};
//! # use std::time::Instant;
//! # use bytes::Bytes;
//! # use postwerk_smtp::client::{Connection, Event};
//! # fn drive(
//! #     mut conn: Connection,
//! #     mut socket: std::net::TcpStream,
//! #     mut message: std::fs::File,
//! # ) -> std::io::Result<()> {
//! let mut buf = [0u8; 8192];
//! loop {
//!     loop {
//!         while let Some(event) = conn.poll_event() {
//!             match event {
//!                 // Decision point: the next piece of a streamed body.
//!                 Event::BodyWanted { id } => {
//!                     let mut chunk = vec![0; 64 * 1024];
//!                     let n = message.read(&mut chunk)?;
//!                     if n == 0 {
//!                         conn.body_end(id, Instant::now()).ok();
//!                     } else {
//!                         chunk.truncate(n);
//!                         conn.body_chunk(id, Bytes::from(chunk), Instant::now()).ok();
//!                     }
//!                 }
//!                 Event::StartTls => { /* TLS handshake, then conn.tls_established(..) */ }
//!                 Event::TransactionDone(result) => { /* record result.delivery() per recipient */ }
//!                 _ => {}
//!             }
//!         }
//!         match conn.poll_transmit() {
//!             Some(bytes) => {
//!                 socket.write_all(&bytes)?; // a real driver bounds each write in time
//!                 conn.handle_written(Instant::now());
//!             }
//!             None => break,
//!         }
//!     }
//!     if conn.is_closed() {
//!         return Ok(());
//!     }
//!     let now = Instant::now();
//!     let wait = conn.poll_timeout().map(|t| t.saturating_duration_since(now));
//!     if wait.is_some_and(|d| d.is_zero()) {
//!         conn.handle_timeout(now);
//!         continue;
//!     }
//!     socket.set_read_timeout(wait)?;
//!     match socket.read(&mut buf) {
//!         Ok(0) => conn.handle_eof(Instant::now()),
//!         Ok(n) => conn.handle_input(&buf[..n], Instant::now()),
//!         Err(_) => conn.handle_timeout(Instant::now()),
//!     }
//! }
//! # }
//! ```
//!
//! # Decision, extension and SASL points
//!
//! | Point | What the caller does |
//! |---|---|
//! | [`Event::BodyWanted`](crate::client::Event::BodyWanted) | supplies the next chunk ([`Connection::body_chunk`](crate::client::Connection::body_chunk)) or the end ([`Connection::body_end`](crate::client::Connection::body_end)) of a [`Transaction::streaming`](crate::client::Transaction::streaming) body |
//! | [`Event::StartTls`](crate::client::Event::StartTls) | runs the handshake, then [`Connection::tls_established`](crate::client::Connection::tls_established) (or [`Connection::tls_established_with_binding`](crate::client::Connection::tls_established_with_binding) with the `tls-exporter` data, for SCRAM-SHA-256-PLUS) |
//! | [`Event::TransactionDone`](crate::client::Event::TransactionDone) | acts on [`RecipientResult::delivery`](crate::client::RecipientResult::delivery) (queue: done, retry, bounce) |
//! | [`Connection::send`](crate::client::Connection::send), [`Connection::noop`](crate::client::Connection::noop), [`Connection::rset`](crate::client::Connection::rset), [`Connection::quit`](crate::client::Connection::quit) | reuse the session: each runs when the ones before are done |
//! | [`EsmtpParam`](crate::client::EsmtpParam) on [`Transaction::with_mail_param`](crate::client::Transaction::with_mail_param) / [`Recipient::with_param`](crate::client::Recipient::with_param) | extension parameters, sent when the EHLO reply lists the keyword ([`Capabilities::has_keyword`](crate::client::Capabilities::has_keyword)) or [forced](crate::client::EsmtpParam::forced) |
//! | [`Transaction::with_8bit`](crate::client::Transaction::with_8bit), [`downgrade_to_7bit`](crate::client::downgrade_to_7bit) | 8-bit content to a server without 8BITMIME is downgraded (RFC 6152 3): text parts become quoted-printable; what cannot be fails with [`TransactionError::CannotDowngrade`](crate::client::TransactionError::CannotDowngrade) |
//! | [`Transaction::with_require_tls`](crate::client::Transaction::with_require_tls) | RFC 8689 REQUIRETLS, or [`TransactionError::TlsNotActive`](crate::client::TransactionError::TlsNotActive) / [`TransactionError::RequireTlsNotOffered`](crate::client::TransactionError::RequireTlsNotOffered) before MAIL |
//! | [`Config::credentials`](crate::client::Config::credentials), [`Config::sasl_credentials`](crate::client::Config::sasl_credentials), [`Config::sasl_nonce`](crate::client::Config::sasl_nonce) | the login: postwerk-sasl's [`choose_mechanism`](postwerk_sasl::choose_mechanism) picks SCRAM-SHA-256(-PLUS), OAUTHBEARER, XOAUTH2, PLAIN or LOGIN from what the server offers |
//! | [`Connection::set_sasl_exchange`](crate::client::Connection::set_sasl_exchange) | logs in with any [`ClientExchange`], the caller's own mechanism included |
//!
//! A SASL mechanism that refuses a server challenge makes the client cancel with `*`
//! (RFC 4954 4); a SCRAM server that cannot prove it knows the password is not trusted:
//! either way the connection fails with [`ConnectionError::Sasl`](crate::client::ConnectionError::Sasl).
//!
//! # Streaming a body
//!
//! [`Transaction::streaming`](crate::client::Transaction::streaming) leaves the body to the caller. Once the server is ready for
//! it (354 to DATA; with CHUNKING, the RCPT replies in), the machine emits
//! [`Event::BodyWanted`](crate::client::Event::BodyWanted) whenever its pending output is at or below
//! [`Config::max_pending_output`](crate::client::Config::max_pending_output), one at a time; the caller answers with a chunk of any
//! size, or the end. Line ends and dot-stuffing are handled across chunk boundaries;
//! with BDAT each chunk is its own `BDAT n` (pipelined when the server offers
//! PIPELINING, else one by one), and the end is `BDAT 0 LAST`. The machine holds no body
//! bytes beyond the output it hands out (the 7-bit downgrade holds the current MIME
//! header section and the start of a line: [`Connection::buffered_body`](crate::client::Connection::buffered_body)), so memory is
//! bounded by the mark plus the caller's chunk size, whatever the message size.
//!
//! ```
//! use std::time::Instant;
//! use bytes::Bytes;
//! use postwerk_smtp::client::{Config, Connection, Event, Recipient, Transaction};
//! use postwerk_smtp::codec::path::{ForwardPath, Mailbox, ReversePath};
//!
//! let now = Instant::now();
//! let mut conn = Connection::new(Config::new("client.example"), now);
//! let from = ReversePath::Mailbox(Mailbox::new("alice", "example.org").unwrap());
//! let to = ForwardPath::Mailbox(Mailbox::new("bob", "example.net").unwrap());
//! conn.send(Transaction::streaming(from).with_recipient(Recipient::new(to)), now).unwrap();
//! conn.quit(now);
//!
//! let mut pieces = vec![&b"Subject: hi\r\n\r\n.hid"[..], b"den dot\r\n"].into_iter();
//! let server: &[&[u8]] = &[
//!     b"220 mx.example.net ESMTP\r\n",
//!     b"250-mx.example.net\r\n250 PIPELINING\r\n",
//!     b"250 ok\r\n250 ok\r\n354 go ahead\r\n",
//!     b"250 queued as 42\r\n",
//!     b"221 bye\r\n",
//! ];
//! let mut sent = Vec::new();
//! for bytes in server {
//!     conn.handle_input(bytes, now);
//!     loop {
//!         while let Some(event) = conn.poll_event() {
//!             if let Event::BodyWanted { id } = event {
//!                 match pieces.next() {
//!                     Some(p) => conn.body_chunk(id, Bytes::from_static(p), now).unwrap(),
//!                     None => conn.body_end(id, now).unwrap(),
//!                 }
//!             }
//!         }
//!         match conn.poll_transmit() {
//!             Some(chunk) => sent.extend_from_slice(&chunk),
//!             None => break,
//!         }
//!     }
//! }
//! assert!(conn.is_closed());
//! assert!(sent.ends_with(b"DATA\r\nSubject: hi\r\n\r\n..hidden dot\r\n.\r\nQUIT\r\n"));
//! ```
//!
//! A streamed body that turns out unsendable after part of it went out (a bare CR or LF
//! refused by [`Config::bare_line_endings`](crate::client::Config::bare_line_endings), 8-bit octets for a server without 8BITMIME
//! in a body not marked [`with_8bit`](crate::client::Transaction::with_8bit), a part that cannot be
//! downgraded) cannot be taken back: its transaction fails with that reason and the
//! connection closes without ending the data ([`ConnectionError::DataAborted`](crate::client::ConnectionError::DataAborted)), so the
//! server never delivers a partial message.
//!
//! # Bounded output
//!
//! Pending output never exceeds the mark ([`Config::max_pending_output`](crate::client::Config::max_pending_output)) plus one unit:
//! the commands and the body of one transaction given whole, or one chunk of a streamed
//! body with its BDAT line. While
//! [`is_output_full`](crate::client::Connection::is_output_full), no further buffered
//! reply is processed and no transaction is started; `poll_transmit` resumes. A body is
//! handed out in chunks of at most [`BODY_CHUNK`](crate::client::BODY_CHUNK) octets
//! (slices of the message, not copies).
//!
//! ```
//! use std::time::Instant;
//! use bytes::Bytes;
//! use postwerk_smtp::client::{Config, Connection, Event, Recipient, Transaction};
//! use postwerk_smtp::codec::path::{ForwardPath, Mailbox, ReversePath};
//!
//! let now = Instant::now();
//! let mut conn = Connection::new(Config::new("client.example"), now);
//! let from = ReversePath::Mailbox(Mailbox::new("alice", "example.org").unwrap());
//! let to = ForwardPath::Mailbox(Mailbox::new("bob", "example.net").unwrap());
//! let body = Bytes::from_static(b"Subject: hi\r\n\r\nHello\r\n");
//! conn.send(Transaction::new(from, body).with_recipient(Recipient::new(to)), now).unwrap();
//! conn.quit(now);
//!
//! // A real driver reads these from a socket; here the server is scripted.
//! let server: &[&[u8]] = &[
//!     b"220 mx.example.net ESMTP\r\n",
//!     b"250-mx.example.net\r\n250 PIPELINING\r\n",
//!     b"250 ok\r\n250 ok\r\n354 go ahead\r\n",
//!     b"250 queued as 42\r\n",
//!     b"221 bye\r\n",
//! ];
//! let mut sent = Vec::new();
//! let mut accepted = false;
//! for bytes in server {
//!     conn.handle_input(bytes, now);
//!     while let Some(chunk) = conn.poll_transmit() {
//!         sent.extend_from_slice(&chunk); // socket.write_all(&chunk)
//!     }
//!     while let Some(event) = conn.poll_event() {
//!         if let Event::TransactionDone(result) = event {
//!             accepted = result.all_accepted();
//!         }
//!     }
//! }
//! assert!(accepted && conn.is_closed());
//! assert!(sent.starts_with(b"EHLO client.example\r\nMAIL FROM:<alice@example.org>"));
//! ```
//!
//! # Security
//!
//! After STARTTLS is accepted the machine drops every byte it had buffered and ignores
//! input until [`Connection::tls_established`](crate::client::Connection::tls_established); it then says EHLO again and forgets the
//! capabilities learned in cleartext (SECURITY.md 10). Credentials are not sent without TLS
//! unless [`Config::allow_plaintext_auth`](crate::client::Config::allow_plaintext_auth) allows it. A body with a bare CR or LF is refused or
//! normalised, never sent (SECURITY.md 4). Replies are parsed with bounds on line length
//! and line count (SECURITY.md 27).

//!
//! [`Connection`]: crate::client::Connection
//! [`Connection::send`]: crate::client::Connection::send
//! [`Connection::tls_established`]: crate::client::Connection::tls_established
//! [`Event::TransactionDone`]: crate::client::Event::TransactionDone
//! [`Delivery`]: crate::client::Delivery
//! [`Config::allow_plaintext_auth`]: crate::client::Config::allow_plaintext_auth
//! [`Config::max_pending_output`]: crate::client::Config::max_pending_output
//! [`ClientExchange`]: postwerk_sasl::client::ClientExchange
mod auth;
mod body;
mod config;
mod downgrade;
mod ehlo;
mod events;
mod flow;
mod output;
mod read;
mod session;
mod state;
mod stream;
mod streaming;
mod transaction;

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;

use crate::codec::command::Command;
use crate::codec::reply::Reply;

use output::BodyClock;
use postwerk_sasl::ClientError;
use postwerk_sasl::client::ClientExchange;
use read::ReplyScanner;
use transaction::Active;

/// The most octets of a message body handed out by one
/// [`Connection::poll_transmit`] call: the body goes out in slices of this size, each
/// a write of RFC 5321 4.5.3.2.5 ("data block").
pub const BODY_CHUNK: usize = 64 * 1024;

pub use config::{BareLineEndings, Config, Credentials, Timeouts, TlsPolicy};
pub use downgrade::{DowngradeError, MAX_DEPTH, MAX_HEADER, downgrade_to_7bit};
pub use ehlo::{Capabilities, Extension};
pub use events::{ConnectionError, Event, Phase, TransactionError, UsageError};
use state::{Expect, Queued, Stage};
pub use transaction::{
    Delivery, EsmtpParam, Recipient, RecipientResult, Transaction, TransactionId, TransactionResult,
};

/// One SMTP client session. See the [module documentation](crate::client) for the calling order.
#[derive(Debug)]
pub struct Connection {
    config: Config,
    stage: Stage,
    /// Server bytes; those before `input_start` are consumed.
    input: Vec<u8>,
    input_start: usize,
    /// Where the search for the end of the reply at `input_start` stands.
    scanner: ReplyScanner,
    /// Commands written since the last flush, coalesced into one chunk.
    staged: Vec<u8>,
    /// Commands and body pieces in wire order, not yet handed out.
    transmit: VecDeque<Bytes>,
    /// Octets in `transmit`.
    queued: usize,
    /// Octets handed out by `poll_transmit` since the start.
    handed_out: u64,
    /// Octets reported written by `handle_written`.
    written: u64,
    /// Where (in `handed_out` terms) the body in flight ends.
    body_end: Option<u64>,
    /// Which timer runs for the reply after the body.
    body_clock: BodyClock,
    /// The time of the latest input, for work resumed inside `poll_transmit`.
    now: Instant,
    events: VecDeque<Event>,
    pending: VecDeque<Expect>,
    deadline: Option<Instant>,
    caps: Option<Capabilities>,
    tls_active: bool,
    authenticated: bool,
    queue: VecDeque<Queued>,
    active: Option<Active>,
    /// MAIL was accepted and the server's transaction is not known to be over: RSET before
    /// the next MAIL.
    server_txn_open: bool,
    quit_requested: bool,
    /// The failure that is ending the connection.
    failure: Option<ConnectionError>,
    next_id: u64,
    /// The SASL exchange in progress (or the caller's, until the login starts).
    sasl: Option<ClientExchange>,
    /// An exchange given with [`Connection::set_sasl_exchange`], not started yet.
    custom_sasl: Option<ClientExchange>,
    /// An initial response too long for the AUTH line, for the first 334.
    sasl_deferred: Option<Vec<u8>>,
    /// Why the exchange was cancelled with `*`.
    sasl_error: Option<ClientError>,
    /// `tls-exporter` data given at the end of the handshake (SCRAM-SHA-256-PLUS).
    channel_binding: Option<Vec<u8>>,
    /// A streamed body is being sent and its end is not queued yet.
    streaming_body: bool,
}

impl Connection {
    /// A client connection whose socket was just opened at `now`. It waits for the
    /// greeting.
    pub fn new(config: Config, now: Instant) -> Connection {
        let deadline = now.checked_add(config.timeouts.greeting);
        Connection {
            tls_active: config.tls_active,
            config,
            stage: Stage::Opening,
            input: Vec::new(),
            input_start: 0,
            scanner: ReplyScanner::default(),
            staged: Vec::new(),
            transmit: VecDeque::new(),
            queued: 0,
            handed_out: 0,
            written: 0,
            body_end: None,
            body_clock: BodyClock::Idle,
            now,
            events: VecDeque::new(),
            pending: VecDeque::from([Expect::Greeting]),
            deadline,
            caps: None,
            authenticated: false,
            queue: VecDeque::new(),
            active: None,
            server_txn_open: false,
            quit_requested: false,
            failure: None,
            next_id: 0,
            sasl: None,
            custom_sasl: None,
            sasl_deferred: None,
            sasl_error: None,
            channel_binding: None,
            streaming_body: false,
        }
    }

    // ----- inputs -----

    /// Queues a transaction. It starts as soon as the session is ready and the transactions
    /// before it are done; its result comes as [`Event::TransactionDone`]. Can be called
    /// again at any time before [`quit`](Connection::quit), also after earlier transactions
    /// are done (RSET is sent between them when needed).
    pub fn send(&mut self, tx: Transaction, now: Instant) -> Result<TransactionId, UsageError> {
        self.now = now;
        if matches!(self.stage, Stage::Quitting | Stage::Closed) {
            return Err(UsageError::Closed);
        }
        if self.quit_requested {
            return Err(UsageError::Quitting);
        }
        let id = TransactionId(self.next_id);
        self.next_id += 1;
        self.queue
            .push_back(Queued::Transaction(Box::new(Active::new(id, tx))));
        self.drive(now);
        Ok(id)
    }

    /// Queues a NOOP, sent when the session is idle (after the transactions queued
    /// before it); its reply comes as [`Event::NoopReply`]. Keeps a reused session alive.
    pub fn noop(&mut self, now: Instant) -> Result<(), UsageError> {
        self.queue_command(Queued::Noop, now)
    }

    /// Queues an RSET, sent when the session is idle; its reply comes as
    /// [`Event::RsetReply`]. The machine sends RSET on its own between transactions when
    /// the server may still hold one; this one is for the caller's own reasons.
    pub fn rset(&mut self, now: Instant) -> Result<(), UsageError> {
        self.queue_command(Queued::Rset, now)
    }

    fn queue_command(&mut self, queued: Queued, now: Instant) -> Result<(), UsageError> {
        self.now = now;
        if matches!(self.stage, Stage::Quitting | Stage::Closed) {
            return Err(UsageError::Closed);
        }
        if self.quit_requested {
            return Err(UsageError::Quitting);
        }
        self.queue.push_back(queued);
        self.drive(now);
        Ok(())
    }

    /// Logs in with this SASL exchange (any postwerk-sasl client mechanism, or the
    /// caller's own [`ClientMechanism`](postwerk_sasl::client::ClientMechanism)) instead
    /// of choosing one from the configured credentials. Call it before the login starts
    /// (right after [`Connection::new`]); the server must list the mechanism with AUTH,
    /// else the connection fails with [`ConnectionError::AuthNotOffered`]. The same rule
    /// about TLS applies ([`Config::allow_plaintext_auth`]).
    pub fn set_sasl_exchange(&mut self, exchange: ClientExchange) {
        self.custom_sasl = Some(exchange);
    }

    /// Asks for QUIT once every queued transaction is done.
    pub fn quit(&mut self, now: Instant) {
        self.now = now;
        self.quit_requested = true;
        self.drive(now);
    }

    /// Feeds bytes received from the server, split anywhere. Replies are processed while
    /// output is not full ([`Connection::is_output_full`]); the rest stays buffered until
    /// [`Connection::poll_transmit`] resumes.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        self.now = now;
        if !matches!(self.stage, Stage::Opening | Stage::Ready | Stage::Quitting) {
            // Closed, or between the 220 to STARTTLS and the end of the handshake: any
            // cleartext byte there is an injection attempt (SECURITY.md 10).
            return;
        }
        self.take_input(bytes, now);
    }

    /// Everything [`Connection::poll_transmit`] handed out so far has been written to
    /// the socket (call it after each write, or after a series of writes).
    ///
    /// While a message body is being written, each call that reports progress restarts
    /// the data-block deadline ([`Timeouts::data_block`], RFC 5321 4.5.3.2.5); the call
    /// that reports the body's final octets written starts the end-of-data deadline
    /// ([`Timeouts::data_end`], 4.5.3.2.6). Until then the data-block deadline applies,
    /// so a slow writer never eats the server's time to answer.
    pub fn handle_written(&mut self, now: Instant) {
        self.now = now;
        self.on_written(now);
    }

    /// The server closed its side of the connection.
    pub fn handle_eof(&mut self, now: Instant) {
        self.now = now;
        match self.stage {
            Stage::Closed => {}
            Stage::Quitting => self.close(),
            _ => {
                let phase = self.phase();
                self.fail_hard(ConnectionError::ClosedByPeer(phase));
            }
        }
    }

    /// Call when [`poll_timeout`](Connection::poll_timeout) has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        let Some(deadline) = self.deadline else {
            return;
        };
        if now < deadline {
            return;
        }
        match self.stage {
            Stage::Closed => {}
            Stage::Quitting => self.close(),
            _ => {
                let phase = self.phase();
                self.fail_hard(ConnectionError::Timeout(phase));
            }
        }
    }

    /// Like [`Connection::tls_established`], with the connection's `tls-exporter`
    /// channel binding data (RFC 9266, 32 octets from the TLS library's exporter with the
    /// label `EXPORTER-Channel-Binding`): the login may then use SCRAM-SHA-256-PLUS.
    pub fn tls_established_with_binding(&mut self, tls_exporter: Vec<u8>, now: Instant) {
        if self.stage == Stage::Handshake {
            self.channel_binding = Some(tls_exporter);
        }
        self.tls_established(now);
    }

    /// The driver finished the TLS handshake asked for by [`Event::StartTls`]. The machine
    /// forgets the cleartext capabilities and says EHLO again. Ignored when no handshake was
    /// asked for.
    pub fn tls_established(&mut self, now: Instant) {
        self.now = now;
        if self.stage != Stage::Handshake {
            return;
        }
        self.clear_input();
        self.tls_active = true;
        self.caps = None;
        self.stage = Stage::Opening;
        self.send_hello(now);
    }

    // ----- outputs -----

    /// The next bytes to write to the socket: commands, or a piece of a message body of
    /// at most [`BODY_CHUNK`] octets.
    ///
    /// Whenever [`Connection::pending_output`] is at or below
    /// [`Config::max_pending_output`] — before and after handing out a chunk — the call
    /// processes replies held while output was full and starts waiting transactions
    /// (with the time of the latest input). That may queue events and output, so drain
    /// [`Connection::poll_event`] again after writing what this returns, and call it
    /// again. `None` means nothing is pending and nothing held could run.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.resume();
        let chunk = self.next_chunk()?;
        self.resume();
        Some(chunk)
    }

    /// Processes what was held while output was full, once it is not.
    fn resume(&mut self) {
        if !self.is_output_full() && self.stage != Stage::Closed {
            let now = self.now;
            self.process_input(now);
            self.drive(now);
            self.want_body();
        }
    }

    /// Octets the machine will write that [`Connection::poll_transmit`] has not handed
    /// out yet: commands, and what is left of a message body. Never more than
    /// [`Config::max_pending_output`] plus one unit (the commands and the body of one
    /// transaction).
    pub fn pending_output(&self) -> usize {
        self.queued.saturating_add(self.staged.len())
    }

    /// Whether pending output is above [`Config::max_pending_output`]. While it is, no
    /// further buffered reply is processed and no queued transaction is started;
    /// [`Connection::poll_transmit`] resumes.
    pub fn is_output_full(&self) -> bool {
        self.pending_output() > self.config.max_pending_output
    }

    /// The next event. An [`Event::BodyWanted`] whose transaction ended in the meantime
    /// is skipped.
    pub fn poll_event(&mut self) -> Option<Event> {
        loop {
            let event = self.events.pop_front()?;
            match event {
                Event::BodyWanted { id } if !self.body_asked(id) => {}
                event => return Some(event),
            }
        }
    }

    /// When [`handle_timeout`](Connection::handle_timeout) must be called, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// True once the connection is over; the driver closes the socket.
    pub fn is_closed(&self) -> bool {
        self.stage == Stage::Closed
    }

    // ----- getters -----

    /// The capabilities from the last EHLO reply (empty after HELO), once known.
    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.caps.as_ref()
    }

    /// True once TLS is active (implicit, or after STARTTLS and the handshake).
    pub fn is_tls_active(&self) -> bool {
        self.tls_active
    }

    /// True once AUTH succeeded.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// Server bytes held but not yet parsed into a reply (bounded by
    /// [`Config::reply_limits`] while output is not full).
    pub fn buffered_input(&self) -> usize {
        self.input.len().saturating_sub(self.input_start)
    }

    /// Octets of a [streamed](Transaction::streaming) body held between chunks: only the
    /// 7-bit downgrade holds any (the current entity's header section, at most
    /// [`MAX_HEADER`], and the start of the current line).
    pub fn buffered_body(&self) -> usize {
        self.active
            .as_ref()
            .and_then(|a| a.stream.as_ref())
            .map_or(0, stream::BodyStream::held)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    // ----- internals shared by the session and transaction code -----

    fn phase(&self) -> Phase {
        match (self.stage, self.pending.front()) {
            (Stage::Handshake, _) => Phase::StartTls,
            (_, Some(Expect::DataEnd | Expect::Drain | Expect::BdatChunk))
                if matches!(self.body_clock, BodyClock::Sending(_)) =>
            {
                Phase::Body
            }
            (_, Some(e)) => e.phase(),
            (_, None) => Phase::Idle,
        }
    }

    /// Writes a command and expects its reply.
    fn command(&mut self, command: &Command, expect: Expect, now: Instant) {
        command.write_to(&mut self.staged);
        self.expect(expect, now);
    }

    /// Writes a raw line (a SASL response) and expects a reply.
    fn line(&mut self, line: &[u8], expect: Expect, now: Instant) {
        self.staged.extend_from_slice(line);
        self.staged.extend_from_slice(b"\r\n");
        self.expect(expect, now);
    }

    fn expect(&mut self, expect: Expect, now: Instant) {
        self.pending.push_back(expect);
        if self.pending.len() == 1 {
            self.arm(now);
        }
    }

    /// Sets the deadline for the reply now at the front. The reply after a body waits
    /// for the data-block deadline while the body is being written, then for the
    /// end-of-data one.
    fn arm(&mut self, now: Instant) {
        let t = &self.config.timeouts;
        self.deadline = self.pending.front().and_then(|e| match e {
            Expect::DataEnd | Expect::Drain | Expect::BdatChunk => match self.body_clock {
                BodyClock::Sending(since) => since.checked_add(t.data_block),
                BodyClock::Written(at) => at.checked_add(t.data_end),
                BodyClock::Idle => now.checked_add(t.data_end),
            },
            Expect::Greeting => now.checked_add(t.greeting),
            Expect::Mail => now.checked_add(t.mail),
            Expect::Rcpt(_) => now.checked_add(t.rcpt),
            Expect::Data => now.checked_add(t.data_init),
            _ => now.checked_add(t.command),
        });
    }

    fn on_reply(&mut self, reply: Reply, now: Instant) {
        if self.config.report_replies {
            self.events.push_back(Event::Reply(reply.clone()));
        }
        if matches!(self.pending.front(), Some(Expect::DataEnd | Expect::Drain)) {
            self.body_reply_arrived();
        }
        let Some(expect) = self.pending.pop_front() else {
            let error = if reply.code() == 421 {
                ConnectionError::ServiceClosing(reply)
            } else {
                ConnectionError::UnexpectedReply {
                    phase: Phase::Idle,
                    reply,
                }
            };
            self.fail_hard(error);
            return;
        };
        self.arm(now);
        if expect == Expect::Quit {
            self.close();
            return;
        }
        if reply.code() == 421 && expect != Expect::Greeting {
            self.fail_hard(ConnectionError::ServiceClosing(reply));
            return;
        }
        // 3xx only answers DATA (354) and AUTH (334); a 2xx to DATA would mean the message
        // was "accepted" without being sent. Either is a broken server.
        let out_of_place = match expect {
            Expect::Data => reply.is_positive(),
            Expect::Auth(_) => false,
            _ => reply.is_intermediate(),
        };
        if out_of_place {
            let phase = expect.phase();
            self.fail_hard(ConnectionError::UnexpectedReply { phase, reply });
            return;
        }
        match expect {
            Expect::Greeting | Expect::Ehlo | Expect::Helo | Expect::StartTls | Expect::Auth(_) => {
                self.on_session_reply(expect, reply, now)
            }
            Expect::Quit => {}
            Expect::Noop => {
                self.events.push_back(Event::NoopReply(reply));
                self.drive(now);
            }
            Expect::UserRset => {
                if reply.is_positive() {
                    self.server_txn_open = false;
                }
                self.events.push_back(Event::RsetReply(reply));
                self.drive(now);
            }
            _ => self.on_transaction_reply(expect, reply, now),
        }
    }

    /// Starts what comes next when nothing is outstanding: the next transaction, QUIT,
    /// or nothing.
    fn drive(&mut self, now: Instant) {
        if self.stage != Stage::Ready
            || !self.pending.is_empty()
            || self.active.is_some()
            || self.is_output_full()
        {
            return;
        }
        while let Some(queued) = self.queue.pop_front() {
            match queued {
                Queued::Transaction(active) => {
                    if self.start_transaction(*active, now) {
                        return;
                    }
                }
                Queued::Noop => {
                    self.command(&Command::Noop, Expect::Noop, now);
                    return;
                }
                Queued::Rset => {
                    self.command(&Command::Rset, Expect::UserRset, now);
                    return;
                }
            }
        }
        if self.quit_requested {
            self.send_quit(now);
        }
    }

    fn send_quit(&mut self, now: Instant) {
        self.stage = Stage::Quitting;
        self.command(&Command::Quit, Expect::Quit, now);
    }

    /// A failure after which the session may still say QUIT: every transaction fails.
    fn fail_soft(&mut self, error: ConnectionError, now: Instant) {
        self.fail_all(&error);
        self.failure = Some(error);
        self.pending.clear();
        self.send_quit(now);
    }

    /// A failure that ends the connection at once.
    fn fail_hard(&mut self, error: ConnectionError) {
        self.fail_all(&error);
        if self.failure.is_none() {
            self.failure = Some(error);
        }
        self.close();
    }

    fn fail_all(&mut self, error: &ConnectionError) {
        let error = TransactionError::Connection(error.clone());
        self.streaming_body = false;
        if let Some(active) = self.active.take() {
            let result = active.finish(Some(error.clone()));
            self.events.push_back(Event::TransactionDone(result));
        }
        while let Some(queued) = self.queue.pop_front() {
            if let Queued::Transaction(active) = queued {
                let result = active.finish(Some(error.clone()));
                self.events.push_back(Event::TransactionDone(result));
            }
        }
    }

    fn close(&mut self) {
        if self.stage == Stage::Closed {
            return;
        }
        let error = self.failure.take();
        if error.is_some() || self.active.is_some() || !self.queue.is_empty() {
            let e = error
                .clone()
                .unwrap_or(ConnectionError::ClosedByPeer(Phase::Quit));
            self.fail_all(&e);
        }
        self.stage = Stage::Closed;
        self.pending.clear();
        self.deadline = None;
        self.clear_input();
        self.events.push_back(Event::Closed { error });
    }
}
