#![no_main]
//! The POP3 server machine on arbitrary client input, with the
//! application's decisions (login answers, maildrop size, message bytes,
//! commit results, timeouts, chunk sizes) and the caller's draining of
//! output drawn from the same input.
//!
//! Invariants: pending output never exceeds `max_pending_output` plus one
//! unit (a listing chunk or a supplied message chunk, with a status line),
//! checked after every step, with a small mark; after EOF, answering what
//! is asked and honouring deadlines always ends the session.

use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

use postwerk_pop3::sasl::ScramCredentials;
use postwerk_pop3::sasl::server::{Answer, ServerMechanisms};
use postwerk_pop3::server::{
    ApopTimestamp, Config, Connection, Event, Expire, LoginDecision, MessageInfo, RequestId,
};

/// SCRAM keys, derived once (PBKDF2 per input would starve the fuzzer).
fn scram() -> ScramCredentials {
    static KEYS: OnceLock<ScramCredentials> = OnceLock::new();
    KEYS.get_or_init(|| ScramCredentials::derive("pencil", b"salt", 4096).unwrap())
        .clone()
}

/// One unit above the mark: the largest of a listing chunk (4096 octets of
/// lines, one line over, its status line and terminator) and a message
/// chunk (at most 255 octets here, doubled by stuffing in the worst case,
/// with its `+OK` line and the line end and terminator after it).
const UNIT: usize = 128 + 4096 + 83 + 3;

struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (a, b) = self.data.split_at(n);
        self.data = b;
        a
    }
}

struct App {
    mark: usize,
    /// The message being supplied: request id and chunks still to supply.
    streaming: Option<(RequestId, u8)>,
}

impl App {
    fn check(&self, conn: &Connection) {
        assert!(
            conn.pending_output() <= self.mark + UNIT,
            "pending output {} over the mark {} plus one unit",
            conn.pending_output(),
            self.mark
        );
    }

    /// Answer every event, with decisions drawn from the input, and supply
    /// message chunks while output is not full.
    fn answer(&mut self, conn: &mut Connection, input: &mut Input<'_>) {
        loop {
            while let Some(ev) = conn.poll_event() {
                self.event(conn, ev, input);
                self.check(conn);
            }
            let Some((id, left)) = self.streaming.as_mut() else {
                return;
            };
            if conn.is_output_full() {
                assert_eq!(conn.wants_message_chunk(), None);
                return;
            }
            assert_eq!(conn.wants_message_chunk(), Some(*id));
            if *left == 0 {
                let id = *id;
                self.streaming = None;
                conn.finish_message(id).unwrap();
            } else {
                *left -= 1;
                let len = usize::from(input.byte());
                let body = Bytes::copy_from_slice(input.take(len));
                conn.supply_message_chunk(*id, body).unwrap();
            }
            self.check(conn);
        }
    }

    fn event(&mut self, conn: &mut Connection, ev: Event, input: &mut Input<'_>) {
        let d = input.byte();
        match ev {
            Event::Login { id, .. } => {
                let decision = match d % 7 {
                    0 => LoginDecision::Reject,
                    1 => LoginDecision::InUse,
                    2 => LoginDecision::LoginDelay,
                    3 => LoginDecision::SysTemp,
                    6 => LoginDecision::SysPerm,
                    _ => {
                        // Sometimes a maildrop whose listings take several chunks.
                        let count = match d % 7 {
                            6 => 100 + usize::from(input.byte()) * 4,
                            k => usize::from(k),
                        };
                        let pad = "p".repeat(usize::from(input.byte() % 64));
                        let listing: Vec<MessageInfo> = (0..count)
                            .map(|i| (i as u64 * 100, format!("u{i}{pad}")).into())
                            .collect();
                        LoginDecision::Accept(listing)
                    }
                };
                conn.answer_login(id, decision).unwrap();
            }
            Event::SaslVerify { id, .. } => {
                let answer = match d % 6 {
                    0 => Answer::Accept,
                    1 => Answer::AcceptAs("alice".to_owned()),
                    2 => Answer::Reject,
                    3 => Answer::RejectWith(b"{\"status\":\"invalid_token\"}".to_vec()),
                    4 => Answer::ScramCredentials(scram()),
                    _ => Answer::UnknownUser,
                };
                // An answer that does not fit the request is a rejection.
                conn.answer_sasl(id, answer).unwrap();
                if d & 0x40 != 0 {
                    conn.set_expire(Some(Expire::Days(u32::from(d))));
                    conn.set_login_delay(Some(u32::from(d)));
                }
            }
            Event::MessageDone { id } => {
                // TOP ended early: supply nothing more for it.
                let streaming = self.streaming.take().map(|s| s.0);
                assert_eq!(streaming, Some(id));
                assert_ne!(conn.wants_message_chunk(), Some(id));
            }
            Event::MessageRequest { id, .. } => {
                assert!(self.streaming.is_none(), "a second message request");
                if d.is_multiple_of(5) {
                    conn.message_unavailable(id).unwrap();
                } else {
                    self.streaming = Some((id, d % 4));
                }
            }
            Event::Commit { id, .. } => conn.answer_commit(id, d & 1 == 0).unwrap(),
            // The session ended (e.g. pipelined input overflowed while a
            // message was being supplied): stop supplying.
            Event::Closed { .. } => self.streaming = None,
            _ => {}
        }
    }

    /// Take up to `n` chunks of output, answering between them.
    fn drain(&mut self, conn: &mut Connection, input: &mut Input<'_>, n: usize) {
        for _ in 0..n {
            self.answer(conn, input);
            if conn.poll_transmit().is_none() {
                break;
            }
            self.check(conn);
        }
        self.answer(conn, input);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input { data };
    let flags = input.byte();
    let mut config = Config::default();
    config.allow_plaintext_auth = flags & 1 != 0;
    config.stls = flags & 2 != 0;
    config.tls_active = flags & 4 != 0;
    config.utf8 = flags & 8 != 0;
    if flags & 16 != 0 {
        // Every built-in mechanism, SCRAM with a nonce.
        config.sasl = Arc::new(ServerMechanisms::builtin());
        config.sasl_nonce = Some("fuzz-nonce".to_owned());
        config.expire = Some(Expire::Never);
        config.login_delay = Some(900);
    }
    config.max_line = 16 + usize::from(input.byte());
    config.max_pending_input = 256 + usize::from(input.byte()) * 16;
    config.auth_failure_delay = Duration::from_millis(u64::from(flags >> 6) * 100);
    config.max_pending_output = usize::from(input.byte()) * 8;
    if flags & 32 != 0 {
        config.apop = ApopTimestamp::new("<1.2@fuzz>").ok();
    }
    let mut app = App {
        mark: config.max_pending_output,
        streaming: None,
    };
    let mut now = Instant::now();
    let mut conn = Connection::new(config, now);
    app.check(&conn);
    while !input.data.is_empty() {
        let n = usize::from(input.byte() % 64) + 1;
        let chunk = input.take(n);
        conn.handle_input(chunk, now);
        app.check(&conn);
        app.answer(&mut conn, &mut input);
        // The caller drains at moments and by amounts of the input's choosing.
        let drain = match input.byte() % 8 {
            0..=2 => 0,
            3..=5 => 1,
            6 => 3,
            _ => usize::MAX,
        };
        app.drain(&mut conn, &mut input, drain);
        if input.byte().is_multiple_of(16)
            && let Some(t) = conn.poll_timeout()
        {
            now = t;
            conn.handle_timeout(now);
            app.check(&conn);
        }
    }
    // Invariant: after EOF, answering what is asked, draining, and
    // honouring deadlines always ends the session.
    conn.handle_eof(now);
    app.check(&conn);
    for _ in 0..10_000 {
        app.drain(&mut conn, &mut input, usize::MAX);
        if conn.is_closed() {
            break;
        }
        if conn.pending_output() > 0 || app.streaming.is_some() {
            // An event answered after the last `poll_transmit` queued more.
            continue;
        }
        match conn.poll_timeout() {
            Some(t) => {
                now = t.max(now);
                conn.handle_timeout(now);
                app.check(&conn);
            }
            None => panic!("stuck after EOF: nothing pending, no deadline"),
        }
    }
    assert!(conn.is_closed());
    assert!(conn.poll_timeout().is_none());
});
