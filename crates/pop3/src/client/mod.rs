//! The POP3 client machine.
//!
//! [`Connection`] owns no socket and no clock. Issue commands with the typed
//! methods ([`Connection::user`], [`Connection::retr`], ...); each returns a
//! [`CommandId`] and is sent as soon as the protocol allows: at once when the
//! server advertised `PIPELINING` (RFC 2449), otherwise after the previous
//! answer. Then, after every input:
//!
//! 1. feed [`Connection::handle_input`] / [`Connection::handle_eof`] /
//!    [`Connection::handle_timeout`];
//! 2. drain [`Connection::poll_event`]: the greeting, one [`Event::Reply`]
//!    per command in order, message bodies as [`Event::MessageData`] chunks
//!    (dot-unstuffed) before their reply;
//! 3. drain [`Connection::poll_transmit`] to the socket, going back to 2
//!    after each chunk (it resumes replies held while output was full);
//! 4. wait for input until [`Connection::poll_timeout`]; a deadline already
//!    passed means call [`Connection::handle_timeout`] now, never "read
//!    without a timeout"; after EOF do not read again.
//!
//! Bounded output: pending output never exceeds the mark
//! ([`Config::max_pending_output`]) plus one unit (one command line); see
//! the [crate docs](crate#bounded-output).
//!
//! After [`Event::StartTls`] run the TLS handshake, call
//! [`Connection::tls_established`], and feed only decrypted bytes.
//!
//! SASL (RFC 5034) runs through postwerk-sasl: [`Connection::auth`] takes
//! any [`ClientExchange`] (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER,
//! SCRAM-SHA-256(-PLUS), EXTERNAL, or the caller's own mechanism);
//! [`Connection::auth_with`] builds one from [`Credentials`]. The client
//! sends the initial response with `AUTH` when the line fits in 255 octets,
//! answers each `+ ` challenge, cancels with `*` when the mechanism refuses
//! a challenge ([`Event::SaslError`]), and checks the server's proof at
//! `+OK` (SCRAM): a server that cannot prove itself ends the session
//! ([`CloseReason::Sasl`]).
//!
//! ```
//! use std::time::Instant;
//! use postwerk_pop3::client::{Config, Connection, Event, Reply};
//! use postwerk_pop3::sasl::{Credentials, Mechanism};
//! let now = Instant::now();
//! let mut conn = Connection::new(Config::default(), now);
//! let creds = Credentials::password("alice", "secret");
//! let id = conn.auth_with(Mechanism::Plain, &creds, "unused-nonce").unwrap();
//! conn.handle_input(b"+OK ready\r\n", now);
//! assert_eq!(conn.poll_transmit().unwrap(), &b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"[..]);
//! conn.handle_input(b"+OK logged in\r\n", now);
//! # let _ = conn.poll_event();
//! assert!(matches!(conn.poll_event(), Some(Event::Reply { id: i, result: Ok(Reply::Ok(_)) }) if i == id));
//! assert!(conn.is_authenticated());
//! ```

mod read;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use postwerk_sasl::client::{ClientExchange, PlainClient};
use postwerk_sasl::{ClientError, Credentials, Mechanism, client_mechanism};

use crate::UsageError;
use crate::codec::{Capabilities, Command, DotUnstuffer, Response, encode_sasl};

/// Client settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Longest response line accepted, CRLF included (RFC 2449 says 512).
    pub max_line: usize,
    /// Most lines of a LIST, UIDL, CAPA or AUTH listing.
    pub max_listing_lines: usize,
    /// How long to wait for each answer.
    pub response_timeout: Duration,
    /// Pipeline commands when the server advertises `PIPELINING`.
    pub pipelining: bool,
    /// High-water mark for command output queued and not yet taken by
    /// `poll_transmit`, in octets (default 131072 = 128 KiB). Above it the
    /// machine takes no further buffered reply and releases no further
    /// queued command. Pending output never exceeds the mark plus one unit
    /// (one command line).
    pub max_pending_output: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_line: 1024,
            max_listing_lines: 1_000_000,
            response_timeout: Duration::from_secs(600),
            pipelining: true,
            max_pending_output: 128 * 1024,
        }
    }
}

/// Identifies a command issued by the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommandId(u64);

/// One line of a `LIST` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanListing {
    /// Message number.
    pub msg: u32,
    /// Size in octets.
    pub octets: u64,
}

/// One line of a `UIDL` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UidListing {
    /// Message number.
    pub msg: u32,
    /// Unique id.
    pub uid: String,
}

/// The typed result of a command answered `+OK`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reply {
    /// A command whose only result is the status line (USER, PASS, DELE, ...).
    Ok(Response),
    /// `CAPA`.
    Capabilities(Capabilities),
    /// `STAT`.
    Stat {
        /// Messages in the maildrop.
        count: u32,
        /// Their total size.
        octets: u64,
    },
    /// `LIST` or `LIST msg`.
    List(Vec<ScanListing>),
    /// `UIDL` or `UIDL msg`.
    Uidl(Vec<UidListing>),
    /// `AUTH` without arguments: the mechanisms.
    Mechanisms(Vec<String>),
    /// `LANG` without argument: the languages, as (tag, description).
    Languages(Vec<(String, String)>),
    /// `RETR` or `TOP` finished; the body came as [`Event::MessageData`].
    Message {
        /// Octets delivered (after unstuffing).
        octets: u64,
    },
}

/// Why the session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// `QUIT` was answered.
    Quit,
    /// The server closed the connection.
    Eof,
    /// No answer within [`Config::response_timeout`].
    Timeout,
    /// The greeting was `-ERR`.
    GreetingRejected(Response),
    /// The server broke the protocol.
    Violation(Violation),
    /// The server accepted a SASL login without proving itself (SCRAM's
    /// server signature missing or wrong): it is not trusted.
    Sasl(ClientError),
}

/// How the server broke the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// A line is neither `+OK` nor `-ERR` (nor `+ ` during AUTH).
    #[error("malformed status line")]
    BadStatusLine,
    /// A line exceeds [`Config::max_line`].
    #[error("response line too long")]
    LineTooLong,
    /// A listing exceeds [`Config::max_listing_lines`].
    #[error("too many lines in a listing")]
    TooManyLines,
    /// A STAT, LIST or UIDL line does not parse.
    #[error("malformed listing")]
    BadListing,
    /// Data arrived with no command outstanding.
    #[error("unexpected data from the server")]
    Unexpected,
}

/// What the application learns from the client machine.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The `+OK` greeting.
    Greeting {
        /// The APOP timestamp `<...>` if the greeting carried one.
        apop_timestamp: Option<String>,
        /// The whole greeting text.
        text: String,
    },
    /// The answer to a command: typed result on `+OK`, the response on `-ERR`.
    Reply {
        /// The command.
        id: CommandId,
        /// The result.
        result: Result<Reply, Response>,
    },
    /// Unstuffed bytes of the message of a RETR or TOP, in order.
    MessageData {
        /// The command.
        id: CommandId,
        /// The bytes.
        chunk: Bytes,
    },
    /// `+OK` to STLS: start TLS, then call [`Connection::tls_established`].
    StartTls,
    /// The SASL mechanism of `AUTH` command `id` refused a server challenge
    /// (malformed, not base64, wrong nonce, failed server proof); the
    /// client cancelled with `*` and the server's `-ERR` follows as the
    /// command's reply.
    SaslError {
        /// The `AUTH` command.
        id: CommandId,
        /// What was wrong.
        error: ClientError,
    },
    /// The session is over.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Simple,
    Login,
    Capa,
    Stat,
    List { multi: bool },
    Uidl { multi: bool },
    Mechanisms,
    Languages,
    Message,
    Stls,
    Quit,
}

impl Kind {
    /// Commands after which nothing may be pipelined until they are answered.
    fn is_barrier(self) -> bool {
        matches!(self, Kind::Stls | Kind::Login | Kind::Quit)
    }
}

#[derive(Debug)]
pub(crate) struct Outstanding {
    pub(crate) id: CommandId,
    pub(crate) kind: Kind,
    /// For AUTH: the SASL exchange.
    pub(crate) auth: Option<Box<ClientAuth>>,
}

/// The client side of one `AUTH` exchange.
#[derive(Debug)]
pub(crate) struct ClientAuth {
    pub(crate) exchange: ClientExchange,
    /// An initial response too long for the `AUTH` line: the answer to the
    /// server's first (empty) challenge.
    pub(crate) deferred: Option<Vec<u8>>,
    /// The mechanism refused a challenge and `*` was sent.
    pub(crate) cancelled: bool,
}

#[derive(Debug)]
pub(crate) enum Reading {
    Status,
    Listing(Vec<String>),
    Body(DotUnstuffer, u64),
}

/// One POP3 client session. See the [module docs](self) for the call order.
///
/// ```
/// use std::time::Instant;
/// use postwerk_pop3::client::{Connection, Config, Event, Reply};
/// let now = Instant::now();
/// let mut conn = Connection::new(Config::default(), now);
/// let stat = conn.stat().unwrap();
/// conn.handle_input(b"+OK ready\r\n", now);
/// assert!(matches!(conn.poll_event(), Some(Event::Greeting { .. })));
/// assert_eq!(conn.poll_transmit().unwrap(), &b"STAT\r\n"[..]);
/// conn.handle_input(b"+OK 2 320\r\n", now);
/// assert_eq!(
///     conn.poll_event(),
///     Some(Event::Reply { id: stat, result: Ok(Reply::Stat { count: 2, octets: 320 }) })
/// );
/// ```
#[derive(Debug)]
pub struct Connection {
    pub(crate) config: Config,
    pub(crate) input: Vec<u8>,
    pub(crate) input_start: usize,
    out: Vec<u8>,
    queue: VecDeque<(Outstanding, Vec<u8>)>,
    pub(crate) inflight: VecDeque<Outstanding>,
    pub(crate) reading: Reading,
    events: VecDeque<Event>,
    pub(crate) caps: Option<Capabilities>,
    pub(crate) greeted: bool,
    pub(crate) tls_paused: bool,
    tls_active: bool,
    pub(crate) authenticated: bool,
    quit_queued: bool,
    pub(crate) closed: bool,
    next_id: u64,
    deadline: Instant,
}

impl Connection {
    /// A new session, waiting for the greeting.
    pub fn new(config: Config, now: Instant) -> Connection {
        Connection {
            deadline: crate::server::deadline_after(now, config.response_timeout),
            config,
            input: Vec::new(),
            input_start: 0,
            out: Vec::new(),
            queue: VecDeque::new(),
            inflight: VecDeque::new(),
            reading: Reading::Status,
            events: VecDeque::new(),
            caps: None,
            greeted: false,
            tls_paused: false,
            tls_active: false,
            authenticated: false,
            quit_queued: false,
            closed: false,
            next_id: 0,
        }
    }

    // ----- inputs -----

    /// Feed bytes received from the server.
    pub fn handle_input(&mut self, data: &[u8], now: Instant) {
        if self.closed {
            return;
        }
        self.deadline = crate::server::deadline_after(now, self.config.response_timeout);
        self.take_input(data);
        self.flush_queue();
    }

    /// The server closed the connection.
    pub fn handle_eof(&mut self, _now: Instant) {
        self.close(CloseReason::Eof);
    }

    /// Time passed: close when an answer is overdue.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.waiting() && now >= self.deadline {
            self.close(CloseReason::Timeout);
        }
    }

    /// TLS is up after [`Event::StartTls`]: resume sending.
    pub fn tls_established(&mut self, now: Instant) {
        self.deadline = crate::server::deadline_after(now, self.config.response_timeout);
        self.tls_paused = false;
        self.tls_active = true;
        self.flush_queue();
    }

    // ----- commands -----

    /// `CAPA`.
    pub fn capa(&mut self) -> Result<CommandId, UsageError> {
        self.issue(Command::Capa, Kind::Capa, None)
    }
    /// `STLS`.
    pub fn stls(&mut self) -> Result<CommandId, UsageError> {
        if self.tls_active {
            return Err(UsageError::WrongState);
        }
        self.issue(Command::Stls, Kind::Stls, None)
    }
    /// `UTF8` (RFC 6856).
    pub fn utf8(&mut self) -> Result<CommandId, UsageError> {
        self.issue(Command::Utf8, Kind::Simple, None)
    }
    /// `LANG` (RFC 6856): without `range` the server lists its languages
    /// ([`Reply::Languages`]); with one (a tag, a prefix, or `*`) it
    /// switches ([`Reply::Ok`], the new tag first in its text).
    pub fn lang(&mut self, range: Option<&str>) -> Result<CommandId, UsageError> {
        if let Some(r) = range {
            check_arg(r, false)?;
        }
        let kind = if range.is_some() {
            Kind::Simple
        } else {
            Kind::Languages
        };
        self.issue(Command::Lang(range.map(str::to_owned)), kind, None)
    }
    /// `USER name`.
    pub fn user(&mut self, name: &str) -> Result<CommandId, UsageError> {
        check_arg(name, false)?;
        self.issue(Command::User(name.to_owned()), Kind::Simple, None)
    }
    /// `PASS password`.
    pub fn pass(&mut self, password: &str) -> Result<CommandId, UsageError> {
        check_arg(password, true)?;
        self.issue(Command::Pass(password.to_owned()), Kind::Login, None)
    }
    /// `APOP name digest` (digest: hex MD5 of the timestamp and the secret).
    pub fn apop(&mut self, name: &str, digest: &str) -> Result<CommandId, UsageError> {
        check_arg(name, false)?;
        check_arg(digest, false)?;
        let command = Command::Apop {
            name: name.to_owned(),
            digest: digest.to_owned(),
        };
        self.issue(command, Kind::Login, None)
    }
    /// `AUTH PLAIN` (RFC 4616) through postwerk-sasl: the credentials go
    /// as initial response when the line stays within 255 octets, otherwise
    /// after the server's `+ `.
    pub fn auth_plain(
        &mut self,
        authzid: &str,
        user: &str,
        password: &str,
    ) -> Result<CommandId, UsageError> {
        if [authzid, user, password].iter().any(|s| s.contains('\0')) || user.is_empty() {
            return Err(UsageError::InvalidArgument);
        }
        let authzid = (!authzid.is_empty()).then(|| authzid.to_owned());
        let plain =
            PlainClient::new(user, password, authzid).map_err(|_| UsageError::InvalidArgument)?;
        self.auth(ClientExchange::new(Box::new(plain)))
    }

    /// `AUTH` with the built-in `mechanism` made from `creds` (see
    /// postwerk-sasl's [`client_mechanism`]); `nonce` is the client nonce
    /// for SCRAM, from the caller's random source (printable ASCII without
    /// `,`), ignored by the other mechanisms. To pick the strongest
    /// mechanism the server offers, see
    /// [`choose_mechanism`](postwerk_sasl::choose_mechanism) with
    /// [`Capabilities::sasl`].
    pub fn auth_with(
        &mut self,
        mechanism: Mechanism,
        creds: &Credentials,
        nonce: &str,
    ) -> Result<CommandId, UsageError> {
        let mechanism = client_mechanism(mechanism, creds, nonce)?;
        self.auth(ClientExchange::new(mechanism))
    }

    /// `AUTH mechanism [initial-response]` (RFC 5034) driven by `exchange`:
    /// any postwerk-sasl client mechanism, or the caller's own. The reply
    /// is [`Reply::Ok`] once the server accepted and (SCRAM) proved itself.
    pub fn auth(&mut self, mut exchange: ClientExchange) -> Result<CommandId, UsageError> {
        let name = exchange.mechanism_name().to_owned();
        check_arg(&name, false)?;
        let initial = exchange
            .initial_response()
            .map_err(|_| UsageError::InvalidArgument)?;
        let mut deferred = None;
        let initial = match initial {
            None => None,
            Some(ir) => {
                let text = if ir.is_empty() {
                    "=".to_owned()
                } else {
                    encode_sasl(&ir)
                };
                // "AUTH " SP name SP text CRLF within RFC 2449's 255 octets.
                if 5 + name.len() + 1 + text.len() + 2 <= 255 {
                    Some(text)
                } else {
                    deferred = Some(ir);
                    None
                }
            }
        };
        let command = Command::Auth {
            mechanism: Some(name),
            initial,
        };
        let auth = ClientAuth {
            exchange,
            deferred,
            cancelled: false,
        };
        self.issue(command, Kind::Login, Some(Box::new(auth)))
    }

    /// `AUTH` without arguments: list the SASL mechanisms.
    pub fn auth_mechanisms(&mut self) -> Result<CommandId, UsageError> {
        let command = Command::Auth {
            mechanism: None,
            initial: None,
        };
        self.issue(command, Kind::Mechanisms, None)
    }
    /// `STAT`.
    pub fn stat(&mut self) -> Result<CommandId, UsageError> {
        self.issue(Command::Stat, Kind::Stat, None)
    }
    /// `LIST` (all messages) or `LIST msg`.
    pub fn list(&mut self, msg: Option<u32>) -> Result<CommandId, UsageError> {
        check_msg(msg)?;
        let kind = Kind::List {
            multi: msg.is_none(),
        };
        self.issue(Command::List(msg), kind, None)
    }
    /// `UIDL` (all messages) or `UIDL msg`.
    pub fn uidl(&mut self, msg: Option<u32>) -> Result<CommandId, UsageError> {
        check_msg(msg)?;
        let kind = Kind::Uidl {
            multi: msg.is_none(),
        };
        self.issue(Command::Uidl(msg), kind, None)
    }
    /// `RETR msg`.
    pub fn retr(&mut self, msg: u32) -> Result<CommandId, UsageError> {
        check_msg(Some(msg))?;
        self.issue(Command::Retr(msg), Kind::Message, None)
    }
    /// `TOP msg lines`.
    pub fn top(&mut self, msg: u32, lines: u32) -> Result<CommandId, UsageError> {
        check_msg(Some(msg))?;
        self.issue(Command::Top { msg, lines }, Kind::Message, None)
    }
    /// `DELE msg`.
    pub fn dele(&mut self, msg: u32) -> Result<CommandId, UsageError> {
        check_msg(Some(msg))?;
        self.issue(Command::Dele(msg), Kind::Simple, None)
    }
    /// `RSET`.
    pub fn rset(&mut self) -> Result<CommandId, UsageError> {
        self.issue(Command::Rset, Kind::Simple, None)
    }
    /// `NOOP`.
    pub fn noop(&mut self) -> Result<CommandId, UsageError> {
        self.issue(Command::Noop, Kind::Simple, None)
    }
    /// `QUIT`: in TRANSACTION the server commits the deletions.
    pub fn quit(&mut self) -> Result<CommandId, UsageError> {
        let id = self.issue(Command::Quit, Kind::Quit, None)?;
        self.quit_queued = true;
        Ok(id)
    }

    // ----- outputs -----

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next bytes to send to the server.
    ///
    /// A call that finds [`Connection::pending_output`] at or below
    /// [`Config::max_pending_output`] first processes replies held while
    /// output was full and releases queued commands, so drain
    /// [`Connection::poll_event`] again after writing what this returns.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if !self.is_output_full() && !self.closed {
            self.resume_input();
            self.flush_queue();
        }
        if self.out.is_empty() {
            return None;
        }
        let b = Bytes::from(std::mem::take(&mut self.out));
        if !self.closed {
            self.resume_input();
            self.flush_queue();
        }
        Some(b)
    }

    /// When to call [`Connection::handle_timeout`]: while an answer is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.waiting().then_some(self.deadline)
    }

    // ----- getters -----

    /// Octets of commands queued for transmit and not yet handed out by
    /// [`Connection::poll_transmit`].
    pub fn pending_output(&self) -> usize {
        self.out.len()
    }

    /// Octets of server input buffered and not yet processed (bounded by
    /// [`Config::max_line`] while output is not full; for diagnostics).
    pub fn buffered_input(&self) -> usize {
        self.input.len().saturating_sub(self.input_start)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether pending output is above [`Config::max_pending_output`]; while
    /// it is, no further buffered reply is processed.
    pub fn is_output_full(&self) -> bool {
        self.pending_output() > self.config.max_pending_output
    }

    /// Whether the session is over.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The capabilities from the last `CAPA` answer (forgotten at STLS).
    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.caps.as_ref()
    }

    /// Whether TLS is active (established through STLS).
    pub fn is_tls_active(&self) -> bool {
        self.tls_active
    }

    /// Whether a login (PASS, APOP or AUTH) succeeded.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    // ----- internals -----

    fn waiting(&self) -> bool {
        !self.closed && (!self.greeted || !self.inflight.is_empty())
    }

    fn issue(
        &mut self,
        command: Command,
        kind: Kind,
        auth: Option<Box<ClientAuth>>,
    ) -> Result<CommandId, UsageError> {
        if self.closed {
            return Err(UsageError::Closed);
        }
        if self.quit_queued {
            return Err(UsageError::WrongState);
        }
        self.next_id += 1;
        let id = CommandId(self.next_id);
        let outstanding = Outstanding { id, kind, auth };
        self.queue.push_back((outstanding, command.to_line()));
        self.flush_queue();
        Ok(id)
    }

    /// Send queued commands as far as pipelining rules allow.
    pub(crate) fn flush_queue(&mut self) {
        if self.closed || !self.greeted || self.tls_paused {
            return;
        }
        let pipelining = self.config.pipelining && self.caps.as_ref().is_some_and(|c| c.pipelining);
        while let Some((next, _)) = self.queue.front() {
            if self.is_output_full() {
                break;
            }
            let can_send = match self.inflight.back() {
                None => true,
                Some(last) => pipelining && !last.kind.is_barrier() && next.kind != Kind::Stls,
            };
            if !can_send {
                break;
            }
            if let Some((outstanding, line)) = self.queue.pop_front() {
                self.out.extend_from_slice(&line);
                self.inflight.push_back(outstanding);
            }
        }
    }

    pub(crate) fn send_line(&mut self, line: &[u8]) {
        self.out.extend_from_slice(line);
        self.out.extend_from_slice(b"\r\n");
    }

    pub(crate) fn event(&mut self, event: Event) {
        self.events.push_back(event);
    }

    pub(crate) fn close(&mut self, reason: CloseReason) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.input = Vec::new();
        self.input_start = 0;
        self.queue.clear();
        self.inflight.clear();
        self.events.push_back(Event::Closed { reason });
    }

    /// After `+OK` to STLS: drop buffered input, forget capabilities, pause.
    pub(crate) fn begin_tls(&mut self) {
        self.input.clear();
        self.input_start = 0;
        self.caps = None;
        self.tls_paused = true;
        self.events.push_back(Event::StartTls);
    }
}

fn check_arg(s: &str, spaces: bool) -> Result<(), UsageError> {
    let bad = s.is_empty()
        || s.len() > 255
        || s.bytes()
            .any(|b| b == b'\r' || b == b'\n' || b == 0 || (!spaces && b == b' '));
    if bad {
        Err(UsageError::InvalidArgument)
    } else {
        Ok(())
    }
}

fn check_msg(msg: Option<u32>) -> Result<(), UsageError> {
    if msg == Some(0) {
        Err(UsageError::InvalidArgument)
    } else {
        Ok(())
    }
}
