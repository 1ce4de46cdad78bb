//! # postwerk-pop3
//!
//! Sans-IO POP3: a server machine ([`server::Connection`]) and a client
//! machine ([`client::Connection`]) over a shared [`codec`]. The crate does
//! no I/O at all: no sockets, no clock, no random numbers, no files. The
//! caller feeds bytes and the current time in, and gets events to decide on
//! and bytes to send out. Any split of the input stream gives the same
//! result.
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
//! # fn read_message(_: usize) -> Bytes { Bytes::new() }
//! fn serve(mut socket: std::net::TcpStream) -> std::io::Result<()> {
//!     let mut conn = Connection::new(Config::default(), Instant::now());
//!     let mut buf = [0u8; 8192];
//!     loop {
//!         // 1. Answer what the machine asks.
//!         while let Some(event) = conn.poll_event() {
//!             match event {
//!                 Event::Login { id, credentials } => {
//!                     let decision = if check(&credentials) {
//!                         // Lock the maildrop; list (CRLF-counted size, uid).
//!                         LoginDecision::Accept(vec![(1024, "uid-1").into()])
//!                     } else {
//!                         LoginDecision::Reject
//!                     };
//!                     conn.answer_login(id, decision).unwrap();
//!                 }
//!                 Event::MessageRequest { id, index, .. } => {
//!                     conn.supply_message(id, read_message(index)).unwrap();
//!                 }
//!                 Event::Commit { id, deletions } => {
//!                     // Delete `deletions`, then confirm.
//!                     conn.answer_commit(id, true).unwrap();
//!                 }
//!                 Event::StartTls => { /* flush, then run the TLS handshake */ }
//!                 Event::Closed { committed } => { /* release the maildrop */ }
//!                 _ => {}
//!             }
//!         }
//!         // 2. Send what it produced.
//!         while let Some(chunk) = conn.poll_transmit() {
//!             socket.write_all(&chunk)?;
//!         }
//!         if conn.is_closed() {
//!             return Ok(());
//!         }
//!         // 3. Wait for input, but no longer than the next deadline.
//!         let timeout = conn.poll_timeout().map(|t| t.saturating_duration_since(Instant::now()));
//!         socket.set_read_timeout(timeout.filter(|d| !d.is_zero()))?;
//!         match socket.read(&mut buf) {
//!             Ok(0) => conn.handle_eof(Instant::now()),
//!             Ok(n) => conn.handle_input(&buf[..n], Instant::now()),
//!             Err(_) => conn.handle_timeout(Instant::now()),
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
//! | [1939](https://www.rfc-editor.org/rfc/rfc1939) | POP3: USER, PASS, APOP, STAT, LIST, RETR, DELE, NOOP, RSET, QUIT, TOP, UIDL; AUTHORIZATION/TRANSACTION/UPDATE; autologout timer | server and client; APOP off by default, digest checked by the application (no MD5 here) |
//! | [2449](https://www.rfc-editor.org/rfc/rfc2449) | CAPA, response codes (`[IN-USE]`, `[LOGIN-DELAY]`), PIPELINING, 255-octet command lines | server and client; EXPIRE and LOGIN-DELAY capabilities parsed by the client, not advertised |
//! | [3206](https://www.rfc-editor.org/rfc/rfc3206) | `[SYS/TEMP]`, `[SYS/PERM]`, `[AUTH]`, AUTH-RESP-CODE | server and client |
//! | [2595](https://www.rfc-editor.org/rfc/rfc2595) | STLS | server and client (the caller runs TLS); buffered input discarded, state reset |
//! | [5034](https://www.rfc-editor.org/rfc/rfc5034) | AUTH with SASL, initial response, `+ ` continuation, `*` cancel | PLAIN ([RFC 4616](https://www.rfc-editor.org/rfc/rfc4616)) only |
//! | [6856](https://www.rfc-editor.org/rfc/rfc6856) | UTF8 command, `UTF8 USER` capability | server accepts UTF-8 user names and passwords; LANG not implemented |
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

pub use error::Error;
