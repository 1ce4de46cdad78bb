//! # postwerk-smtp
//!
//! SMTP (RFC 5321 and the extensions real mail needs) as two state machines that do no
//! I/O, over a shared wire codec:
//!
//! - [`codec`]: commands, replies with enhanced status codes, RFC 5321 envelope paths,
//!   MAIL/RCPT parameters, DATA dot-stuffing and unstuffing, SASL framing;
//! - [`server`]: what an MTA, MSA or LMTP receiver runs;
//! - [`client`]: what a relay or a mail client runs.
//!
//! The machines own no socket, no clock, no random source and no file. The caller feeds
//! them bytes and the current time; they hand back events that need a decision and bytes
//! to send. Any I/O model works: blocking threads, an async runtime, a test harness.
//!
//! ## Bounded output
//!
//! Both machines keep their output bounded: **pending output never exceeds the mark plus
//! one unit**. The mark is `Config::max_pending_output` (default 128 KiB) in
//! [`server::Config`] and [`client::Config`]; a unit is, for the server, one reply, the
//! per-recipient replies to one LMTP end of data, or the replies to the pipelined RCPTs
//! decided together (at most [`server::Limits::max_outstanding_decisions`]); for the
//! client, the commands and the body of one transaction, or one chunk of a streamed body
//! (it asks for the next chunk only at or below the mark). While `pending_output() > max_pending_output`
//! ([`server::Connection::is_output_full`], [`client::Connection::is_output_full`]) the
//! server takes no further buffered command and the client no further buffered reply. A
//! client that pipelines without reading the answers therefore grows the server by at
//! most the mark, whatever the number of commands; its further input stays buffered, up
//! to [`server::Limits::max_pending_input`] (`handle_input` then accepts fewer bytes than
//! offered). The machines resume inside `poll_transmit`: a call that finds pending output
//! at or below the mark first processes held input, which may queue events — so the
//! driver goes back to the events after every chunk, as in the loop below.
//!
//! ## Names shared with postwerk-pop3
//!
//! The same idea has the same name in both machines here and in postwerk-pop3:
//! `handle_input` / `handle_eof` / `handle_timeout` / `poll_event` / `poll_transmit` /
//! `poll_timeout` / `is_closed`; `tls_established` after the handshake (where the
//! machine waits for it: not the POP3 server, which goes on after `+OK` to STLS); `set_tls_active`
//! and `is_tls_active` for implicit TLS; `set_channel_binding` for `-PLUS`;
//! `Config::allow_plaintext_auth` for passwords without TLS (servers and the client);
//! `max_pending_input`, `max_auth_failures` and `auth_failure_delay` in the servers' limits;
//! `answer_sasl` for a postwerk-sasl [`Verify`](postwerk_sasl::server::Verify);
//! `Credentials::identity` for who logged in; `UsageError` for a misused API; and
//! `BareLineEndings::{Reject, Normalize}` in the server and the client. The old names
//! (`tls_started`, `ApiError`, `BareLineEndings::{Refuse, Normalise}`, the client's
//! `auth_without_tls`) remain as deprecated aliases.
//!
//! ## The driver loop (server)
//!
//! The client's driver loop, with a streamed body, is in the [`client`] module docs.
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use std::time::Instant;
//! use postwerk_smtp::sasl::server::{Answer, Verify};
//! use postwerk_smtp::server::{Config, Connection, Decision, Event};
//!
//! # fn check_password(_: &str, _: &str) -> bool { true }
//! # fn serve(mut socket: std::net::TcpStream) -> std::io::Result<()> {
//! let mut config = Config::new("mx.example");
//! config.decisions.connect = true; // ask before greeting (e.g. a DNSBL check)
//! let mut conn = Connection::new(config, Instant::now());
//! conn.settings_mut().sasl_nonce = Some("fresh-random-nonce".into()); // for SCRAM
//! let mut buf = [0u8; 8192];
//! // Input the machine did not take yet (it was full, or waiting for a decision).
//! let mut unread: Vec<u8> = Vec::new();
//! loop {
//!     // Events first, then one chunk of output at a time: `poll_transmit` resumes
//!     // commands held while output was full, which may raise events. Pending output
//!     // never exceeds the mark plus one unit (one reply).
//!     loop {
//!         while let Some(event) = conn.poll_event() {
//!             let now = Instant::now();
//!             match event {
//!                 // Decision points: answer now, or later (RCPTs behind RCPTs may be
//!                 // outstanding together and answered in any order).
//!                 Event::Connect { id }
//!                 | Event::Mail { id, .. }
//!                 | Event::Rcpt { id, .. }
//!                 | Event::Login { id, .. } => {
//!                     conn.respond(id, Decision::Accept, now).unwrap();
//!                 }
//!                 Event::SaslVerify { id, request } => {
//!                     let answer = match request {
//!                         Verify::Password { authcid, password, .. }
//!                             if check_password(&authcid, password.expose()) =>
//!                         {
//!                             // e.g. a bigger SIZE for logged-in users
//!                             conn.settings_mut().max_message_size = 100 << 20;
//!                             Answer::Accept
//!                         }
//!                         _ => Answer::Reject,
//!                     };
//!                     conn.answer_sasl(id, answer, now).unwrap();
//!                 }
//!                 Event::BodyChunk(chunk) => { /* append to the message file */ }
//!                 Event::DataAborted(_) => { /* drop the partial message */ }
//!                 Event::DataEnd { id, .. } => {
//!                     // store the message durably, then:
//!                     conn.respond(id, Decision::Accept, Instant::now()).unwrap();
//!                 }
//!                 _ => {}
//!             }
//!         }
//!         match conn.poll_transmit() {
//!             Some(bytes) => socket.write_all(&bytes)?,
//!             None => break,
//!         }
//!     }
//!     if conn.is_closed() {
//!         return Ok(());
//!     }
//!     if !unread.is_empty() {
//!         let taken = conn.handle_input(&unread, Instant::now());
//!         unread.drain(..taken);
//!         if taken > 0 {
//!             continue;
//!         }
//!     }
//!     // (a real driver sets a read timeout from conn.poll_timeout())
//!     match socket.read(&mut buf)? {
//!         0 => conn.handle_eof(Instant::now()),
//!         n => {
//!             let taken = conn.handle_input(&buf[..n], Instant::now());
//!             unread.extend_from_slice(&buf[taken..n]);
//!         }
//!     }
//! }
//! # }
//! ```
//!
//! `examples/server.rs` is the complete version of this loop (timeouts, Maildir storage).
//!
//! The text an event carries (the EHLO name, a [`Mailbox`](codec::path::Mailbox), a
//! parameter value, the VRFY argument) is a [`Text`](codec::text::Text): it dereferences
//! to `str` and is stored without a heap allocation up to 64 octets, which covers nearly
//! every real address and host name; `into_string()` gives a `String` where one is kept.
//!
//! ## Standards
//!
//! | RFC | What | Status |
//! |-----|------|--------|
//! | 5321 | SMTP: commands, replies, paths, DATA, limits (4.5.3), timeouts (4.5.3.2) | implemented; TURN, SEND/SOML/SAML and source-route *use* not (routes are parsed and dropped) |
//! | 1870 | SIZE | implemented (MAIL `SIZE=`, counted during DATA/BDAT) |
//! | 2920 | PIPELINING | implemented, with unauthorised-pipelining detection |
//! | 3207 | STARTTLS | implemented (buffer discarded and session reset at 220) |
//! | 3461 | DSN parameters RET, ENVID, NOTIFY, ORCPT | parsed, checked and carried; report generation is the application's |
//! | 3463 | Enhanced status codes | implemented (with RFC 2034 ENHANCEDSTATUSCODES) |
//! | 3030 | CHUNKING (BDAT), BINARYMIME | implemented; server: BINARYMIME advertised (with CHUNKING) when enabled, `BODY=BINARYMIME` then requires BDAT (DATA is 503 5.5.1); the client sends a streamed body as one BDAT per chunk |
//! | 4954 | AUTH, open mechanism set | implemented through postwerk-sasl on both sides (PLAIN RFC 4616, LOGIN, XOAUTH2, OAUTHBEARER RFC 7628, SCRAM-SHA-256(-PLUS) RFC 7677/9266, EXTERNAL, the application's own); AUTH= on MAIL carried; `*` cancels with 501. Client: the strongest offered |
//! | 6152 | 8BITMIME | implemented; the client downgrades 8-bit text parts to quoted-printable for a server without it (section 3), and fails what cannot be downgraded |
//! | 6531 | SMTPUTF8 | implemented for paths and parameters; RFC 6533 utf-8-xtext not |
//! | 2033 | LMTP (LHLO, one reply per recipient) | implemented (server and client) |
//! | 8689 | REQUIRETLS | client: MAIL `REQUIRETLS` only over TLS to a server that offers it, else the transaction fails before MAIL; server: advertised and accepted only under TLS when enabled, carried in the MAIL event |
//! | 6710 | MT-PRIORITY | server: `MT-PRIORITY=-9..9` parsed and carried when enabled (no priority profile advertised) |
//! | 4865 | FUTURERELEASE | server: `HOLDFOR`/`HOLDUNTIL` parsed, checked against the advertised limits and carried when enabled; the release is the application's |
//! | 2852 | DELIVERBY | server: `BY=time;R/N[T]` parsed, checked against the advertised minimum and carried when enabled |
//! | 5321 4.1.2 | extension parameters | client: caller-supplied MAIL/RCPT parameters, checked, sent when the keyword is advertised or forced; server: application-registered EHLO keywords and MAIL/RCPT parameters advertised, checked and carried, others 555 |
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The SMTP client machine: sends mail transactions over a session it drives from replies.
pub mod client;
pub mod codec;
pub mod server;

/// postwerk-sasl, whose client mechanisms the [`client`] logs in with.
pub use postwerk_sasl as sasl;
