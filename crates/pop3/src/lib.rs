//! # postwerk-pop3
//!
//! Sans-IO POP3: a server machine ([`server::Connection`]) and a client
//! machine ([`client::Connection`]) over a shared [`codec`]. The crate does
//! no I/O at all: no sockets, no clock, no random numbers, no files. The
//! caller feeds bytes and the current time in, and gets events to decide on
//! and bytes to send out. Any split of the input stream gives the same
//! result.
//!
//! ## Bounded output
//!
//! Both machines keep their output bounded: **pending output never exceeds
//! the mark plus one unit**. The mark is `Config::max_pending_output`
//! (default 128 KiB) in [`server::Config`] and [`client::Config`]; a unit
//! is one reply, one listing chunk, one message chunk the application
//! supplied (server), or one command line (client). While
//! `pending_output() > max_pending_output` ([`server::Connection::is_output_full`])
//! the server takes no further buffered command and the client no further
//! buffered reply; `LIST` and `UIDL` listings are produced in chunks as
//! output drains, never whole. The machines resume inside `poll_transmit`:
//! a call that finds pending output at or below the mark first processes
//! held input, which may queue events. An application streaming a message
//! ([`server::Event::MessageRequest`]) supplies the next chunk only while
//! `is_output_full()` is false; a chunk supplied anyway is accepted, and
//! the bound is then the application's. Unprocessed input stays capped by
//! [`server::Config::max_pending_input`].
//!
//! ## Names shared with postwerk-smtp
//!
//! The same ideas have the same names as in postwerk-smtp's machines:
//! [`server::Config::allow_plaintext_auth`], `max_pending_input`, `max_auth_failures`
//! and `auth_failure_delay` (formerly `allow_cleartext`, `max_input_buffer`,
//! `max_failed_logins` and `login_failure_delay`, kept as deprecated getter and setter
//! methods of those names),
//! [`server::Connection::set_tls_active`] and `is_tls_active`, `set_channel_binding`,
//! `answer_sasl`, [`server::Credentials::identity`] (formerly `user`, deprecated), and
//! [`UsageError`].
//!
//! ## Driver loop (server)
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use std::time::Instant;
//! use bytes::Bytes;
//! use postwerk_pop3::server::{Config, Connection, Event, LoginDecision};
//!
//! # fn check(_: &postwerk_pop3::server::Credentials) -> bool { true }
//! # fn verify(_: &postwerk_pop3::sasl::server::Verify) -> postwerk_pop3::sasl::server::Answer {
//! #     postwerk_pop3::sasl::server::Answer::Reject
//! # }
//! # fn read_chunk(_: usize, _: &mut u64) -> Option<Bytes> { None }
//! fn serve(mut socket: std::net::TcpStream) -> std::io::Result<()> {
//!     let mut conn = Connection::new(Config::default(), Instant::now());
//!     let mut buf = [0u8; 8192];
//!     let mut eof = false;
//!     // The message being streamed: (request id, message index, offset).
//!     let mut streaming = None;
//!     loop {
//!         loop {
//!             // 1. Answer what the machine asks.
//!             while let Some(event) = conn.poll_event() {
//!                 match event {
//!                     // SASL (AUTH): check the password or token, or give
//!                     // SCRAM the stored keys; a success then comes back
//!                     // as Event::Login with Credentials::Sasl.
//!                     Event::SaslVerify { id, request } => {
//!                         conn.answer_sasl(id, verify(&request)).unwrap();
//!                     }
//!                     Event::Login { id, credentials } => {
//!                         let decision = if check(&credentials) {
//!                             // Lock the maildrop; list (CRLF-counted size, uid).
//!                             LoginDecision::Accept(vec![(1024, "uid-1").into()])
//!                         } else {
//!                             LoginDecision::Reject
//!                         };
//!                         conn.answer_login(id, decision).unwrap();
//!                     }
//!                     Event::MessageRequest { id, index, .. } => streaming = Some((id, index, 0)),
//!                     // TOP is complete before the message is: stop reading it.
//!                     Event::MessageDone { .. } => streaming = None,
//!                     Event::Commit { id, deletions } => {
//!                         // Delete `deletions`, then confirm.
//!                         conn.answer_commit(id, true).unwrap();
//!                     }
//!                     Event::StartTls => { /* flush, then run the TLS handshake */ }
//!                     Event::Closed { committed } => { /* release the maildrop */ }
//!                     _ => {}
//!                 }
//!             }
//!             // 2. Supply message chunks only while output is not full.
//!             while let Some((id, index, offset)) = streaming.as_mut() {
//!                 if conn.is_output_full() {
//!                     break;
//!                 }
//!                 match read_chunk(*index, offset) {
//!                     Some(chunk) => conn.supply_message_chunk(*id, chunk).unwrap(),
//!                     None => {
//!                         conn.finish_message(*id).unwrap();
//!                         streaming = None;
//!                     }
//!                 }
//!             }
//!             // 3. Send what it produced; poll_transmit resumes held input,
//!             //    which may raise events: go round again.
//!             match conn.poll_transmit() {
//!                 Some(chunk) => socket.write_all(&chunk)?,
//!                 None => break,
//!             }
//!         }
//!         if conn.is_closed() {
//!             return Ok(());
//!         }
//!         // 4. Wait for input, but no longer than the next deadline. A
//!         //    deadline already passed is handled now (a zero read timeout
//!         //    would mean "block forever"); after EOF the socket is not read
//!         //    again: sleep until the deadline (a delayed reply is held).
//!         let now = Instant::now();
//!         let wait = conn.poll_timeout().map(|t| t.saturating_duration_since(now));
//!         if wait.is_some_and(|d| d.is_zero()) {
//!             conn.handle_timeout(now);
//!             continue;
//!         }
//!         if eof {
//!             match wait {
//!                 Some(d) => std::thread::sleep(d),
//!                 None => return Ok(()),
//!             }
//!             conn.handle_timeout(Instant::now());
//!             continue;
//!         }
//!         socket.set_read_timeout(wait)?;
//!         match socket.read(&mut buf) {
//!             Ok(0) => {
//!                 eof = true;
//!                 conn.handle_eof(Instant::now());
//!             }
//!             Ok(n) => conn.handle_input(&buf[..n], Instant::now()),
//!             Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
//!                 conn.handle_timeout(Instant::now())
//!             }
//!             Err(_) => {
//!                 eof = true;
//!                 conn.handle_eof(Instant::now());
//!             }
//!         }
//!     }
//! }
//! ```
//!
//! The client machine is driven the same way; see [`client`]. The crate's
//! `examples/server.rs` (serves a Maildir) and `examples/client.rs`
//! (downloads every message) are complete blocking programs.
//!
//! ## Standards
//!
//! | RFC | What | Status |
//! |-----|------|--------|
//! | [1939](https://www.rfc-editor.org/rfc/rfc1939) | POP3: USER, PASS, APOP, STAT, LIST, RETR, DELE, NOOP, RSET, QUIT, TOP, UIDL; AUTHORIZATION/TRANSACTION/UPDATE; autologout timer | server and client; APOP off by default; [`apop_digest`] (MD5 from RustCrypto's `md-5`) for both sides; TOP ends as soon as its lines are out ([`server::Event::MessageDone`]) |
//! | [2449](https://www.rfc-editor.org/rfc/rfc2449) | CAPA, response codes (`[IN-USE]`, `[LOGIN-DELAY]`), PIPELINING, EXPIRE, LOGIN-DELAY, 255-octet command lines | server and client; EXPIRE and LOGIN-DELAY advertised with the application's values, per session ([`server::Connection::set_expire`], [`server::Connection::set_login_delay`]), with `USER` in AUTHORIZATION when they vary by user |
//! | [3206](https://www.rfc-editor.org/rfc/rfc3206) | `[SYS/TEMP]`, `[SYS/PERM]`, `[AUTH]`, AUTH-RESP-CODE | server and client; `[SYS/PERM]` for [`server::LoginDecision::SysPerm`] and a mechanism the server cannot run |
//! | [2595](https://www.rfc-editor.org/rfc/rfc2595) | STLS | server and client (the caller runs TLS); buffered input discarded, state reset |
//! | [5034](https://www.rfc-editor.org/rfc/rfc5034) | AUTH with SASL, initial response (`=` empty), `+ ` continuation, `*` cancel, additional data with success as a last challenge | server and client through [postwerk-sasl](sasl): PLAIN, LOGIN, XOAUTH2, OAUTHBEARER, SCRAM-SHA-256(-PLUS), EXTERNAL and the application's own mechanisms; no security layers |
//! | [6856](https://www.rfc-editor.org/rfc/rfc6856) | UTF8 command, `UTF8 USER`, `[UTF8]` code, LANG | server and client; UTF-8 user names and passwords in USER/PASS/APOP only after UTF8 (else `-ERR [UTF8]`); LANG lists and switches among the application's languages (RFC 4647 basic filtering, `*` for the default); the machine's own texts stay English |
//!
//! ## Messages on the wire
//!
//! Sizes in LIST and STAT are octets as sent: CRLF line ends, no
//! dot-stuffing. The server machine converts bare LF in stored messages to
//! CRLF while streaming, so the sizes the application gives at login must be
//! counted that way ([`codec::wire_size`]). Message bodies pass through as
//! [`bytes::Bytes`] slices; only the inserted `.` and `CR` octets are new.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
pub mod codec;
mod error;
pub mod server;

pub use codec::apop_digest;
pub use error::UsageError;
/// The SASL crate this one speaks through (mechanisms, registry, answers).
pub use postwerk_sasl as sasl;

/// The former name of [`UsageError`].
#[deprecated(note = "renamed `UsageError`, as in postwerk-sasl and the postwerk-smtp client")]
pub type Error = UsageError;
