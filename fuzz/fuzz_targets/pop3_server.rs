#![no_main]
//! The POP3 server machine on arbitrary client input, with the
//! application's decisions (login answers, message bytes, commit results,
//! timeouts, chunk sizes) drawn from the same input.

use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use postwerk_pop3::server::{ApopTimestamp, Config, Connection, Event, LoginDecision};

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

/// Answer every event, with decisions drawn from the input.
fn answer(conn: &mut Connection, input: &mut Input<'_>) {
    while let Some(ev) = conn.poll_event() {
        let d = input.byte();
        match ev {
            Event::Login { id, .. } => {
                let decision = match d % 6 {
                    0 => LoginDecision::Reject,
                    1 => LoginDecision::InUse,
                    2 => LoginDecision::LoginDelay,
                    3 => LoginDecision::SysTemp,
                    _ => LoginDecision::Accept(
                        (0..d % 7)
                            .map(|i| (u64::from(i) * 100, format!("u{i}")).into())
                            .collect(),
                    ),
                };
                conn.answer_login(id, decision).unwrap();
            }
            Event::MessageRequest { id, .. } => {
                if d % 5 == 0 {
                    conn.message_unavailable(id).unwrap();
                } else {
                    for _ in 0..d % 4 {
                        let len = usize::from(input.byte());
                        let body = Bytes::copy_from_slice(input.take(len));
                        conn.supply_message_chunk(id, body).unwrap();
                    }
                    conn.finish_message(id).unwrap();
                }
            }
            Event::Commit { id, .. } => conn.answer_commit(id, d & 1 == 0).unwrap(),
            _ => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input { data };
    let flags = input.byte();
    let mut config = Config::default();
    config.allow_cleartext = flags & 1 != 0;
    config.stls = flags & 2 != 0;
    config.tls_active = flags & 4 != 0;
    config.utf8 = flags & 8 != 0;
    config.sasl_plain = flags & 16 == 0;
    config.max_line = 16 + usize::from(input.byte());
    config.max_input_buffer = 256 + usize::from(input.byte()) * 16;
    config.login_failure_delay = Duration::from_millis(u64::from(flags >> 6) * 100);
    if flags & 32 != 0 {
        config.apop = ApopTimestamp::new("<1.2@fuzz>").ok();
    }
    let mut now = Instant::now();
    let mut conn = Connection::new(config, now);
    while !input.data.is_empty() {
        let n = usize::from(input.byte() % 64) + 1;
        let chunk = input.take(n);
        conn.handle_input(chunk, now);
        answer(&mut conn, &mut input);
        while conn.poll_transmit().is_some() {}
        if input.byte() % 16 == 0
            && let Some(t) = conn.poll_timeout()
        {
            now = t;
            conn.handle_timeout(now);
        }
    }
    // Invariant: after EOF, answering what is asked and honouring deadlines
    // always ends the session.
    conn.handle_eof(now);
    for _ in 0..10_000 {
        answer(&mut conn, &mut input);
        while conn.poll_transmit().is_some() {}
        if conn.is_closed() {
            break;
        }
        match conn.poll_timeout() {
            Some(t) => {
                now = t.max(now);
                conn.handle_timeout(now);
            }
            None => panic!("stuck after EOF: nothing pending, no deadline"),
        }
    }
    assert!(conn.is_closed());
    assert!(conn.poll_timeout().is_none());
});
