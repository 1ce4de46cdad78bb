//! Property tests: the dot-stuffing round trip through both machines, and
//! split invariance of the server machine.

mod common;

use bytes::Bytes;
use common::format_event;
use common::pair::{Pair, normalized};
use postwerk_pop3::client::{Event, Reply};
use postwerk_pop3::codec::{DotStuffer, DotUnstuffer};
use postwerk_pop3::server::Config;
use postwerk_pop3::server::{Connection, Event as ServerEvent, LoginDecision};
use proptest::prelude::*;
use std::time::Instant;

fn message_bytes() -> impl Strategy<Value = Vec<u8>> {
    // Biased towards the interesting octets.
    proptest::collection::vec(
        prop_oneof![
            Just(b'.'),
            Just(b'\r'),
            Just(b'\n'),
            Just(b'a'),
            any::<u8>()
        ],
        0..400,
    )
}

proptest! {
    #[test]
    fn retr_round_trip(msg in message_bytes(), supply in 1usize..50, wire in 1usize..50) {
        let mut config = Config::default();
        config.allow_plaintext_auth = true;
        let mut p = Pair::new(config, vec![&msg]);
        p.supply_chunk = supply;
        p.wire_chunk = wire;
        p.client.user("u").unwrap();
        p.client.pass("secret").unwrap();
        let id = p.client.retr(1).unwrap();
        let after = p.client.noop().unwrap();
        p.run();
        let want = normalized(&msg);
        prop_assert_eq!(p.body(id), want.clone());
        prop_assert_eq!(p.reply(id), Ok(Reply::Message { octets: want.len() as u64 }));
        prop_assert!(matches!(p.reply(after), Ok(Reply::Ok(_))));
        let closed = p.client_events.iter().any(|e| matches!(e, Event::Closed { .. }));
        prop_assert!(!closed);
    }

    #[test]
    fn stuff_unstuff_codec(msg in message_bytes(), cut in any::<prop::sample::Index>()) {
        let mut wire = Vec::new();
        let mut s = DotStuffer::new();
        s.push(Bytes::from(msg.clone()), |b| wire.extend_from_slice(&b));
        s.finish(|b| wire.extend_from_slice(&b));
        wire.extend_from_slice(b"+OK next");
        let k = cut.index(wire.len());
        let mut u = DotUnstuffer::new();
        let mut out = Vec::new();
        let a = Bytes::copy_from_slice(&wire[..k]);
        let b = Bytes::copy_from_slice(&wire[k..]);
        let end = match u.feed(&a, |c| out.extend_from_slice(&c)) {
            Some(n) => n,
            None => k + u.feed(&b, |c| out.extend_from_slice(&c)).unwrap(),
        };
        prop_assert_eq!(out, normalized(&msg));
        prop_assert_eq!(&wire[end..], b"+OK next");
    }

    #[test]
    fn server_split_invariance(
        cmds in proptest::collection::vec(
            prop_oneof![
                Just("STAT"), Just("LIST"), Just("LIST 2"), Just("UIDL"), Just("UIDL 9"),
                Just("RETR 1"), Just("TOP 2 1"), Just("DELE 1"), Just("RSET"), Just("NOOP"),
                Just("CAPA"), Just("BOGUS"), Just("RETR x"), Just("QUIT"),
            ],
            0..20,
        ),
        cuts in proptest::collection::vec(1usize..30, 1..10),
    ) {
        let mut input = b"USER u\r\nPASS p\r\n".to_vec();
        for c in &cmds {
            input.extend_from_slice(c.as_bytes());
            input.extend_from_slice(b"\r\n");
        }
        let reference = run_server(&[input.clone()]);
        let mut chunks = Vec::new();
        let mut at = 0;
        let mut i = 0;
        while at < input.len() {
            let n = cuts[i % cuts.len()].min(input.len() - at);
            chunks.push(input[at..at + n].to_vec());
            at += n;
            i += 1;
        }
        prop_assert_eq!(run_server(&chunks), reference);
    }
}

/// Run the server on `chunks` with a fixed application policy; return the
/// output and the events.
fn run_server(chunks: &[Vec<u8>]) -> (Vec<u8>, Vec<String>) {
    let now = Instant::now();
    let mut config = Config::default();
    config.allow_plaintext_auth = true;
    config.max_errors = 100;
    let mut conn = Connection::new(config, now);
    let mut out = Vec::new();
    let mut events = Vec::new();
    for chunk in chunks {
        conn.handle_input(chunk, now);
        while let Some(ev) = conn.poll_event() {
            events.push(format_event(&ev));
            match ev {
                ServerEvent::Login { id, .. } => conn
                    .answer_login(
                        id,
                        LoginDecision::Accept(vec![(10, "a").into(), (20, "b").into()]),
                    )
                    .unwrap(),
                ServerEvent::MessageRequest { id, .. } => conn
                    .supply_message(id, Bytes::from_static(b"H: v\r\n\r\n.x\r\ny\r\n"))
                    .unwrap(),
                ServerEvent::Commit { id, .. } => conn.answer_commit(id, true).unwrap(),
                _ => {}
            }
        }
        while let Some(b) = conn.poll_transmit() {
            out.extend_from_slice(&b);
        }
    }
    (out, events)
}
