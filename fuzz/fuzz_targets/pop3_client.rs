#![no_main]
//! The POP3 client machine on arbitrary server output, with a session's
//! worth of commands issued up front, and the caller's draining of output
//! drawn from the input.
//!
//! Invariant: pending output never exceeds `max_pending_output` plus one
//! unit (one command line; the longest here is the AUTH PLAIN response
//! sent after the server's `+ `), checked after every step, with a small
//! mark.

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use postwerk_pop3::client::{Config, Connection, Event};
use postwerk_pop3::sasl::{Credentials, Mechanism};

/// The longest command line this target makes the client send: the base64
/// of "\0alice\0" and a 300-octet password (412 octets) with CRLF.
const UNIT: usize = 512;

fn check(conn: &Connection, mark: usize) {
    assert!(
        conn.pending_output() <= mark + UNIT,
        "pending output {} over the mark {mark} plus one unit",
        conn.pending_output()
    );
}

fuzz_target!(|data: &[u8]| {
    let [first, second, rest @ ..] = data else {
        return;
    };
    let (first, second) = (*first, *second);
    let now = Instant::now();
    let mut config = Config::default();
    config.max_line = 32 + usize::from(first) * 4;
    config.max_listing_lines = 64;
    config.max_pending_output = usize::from(second & 0x3f) * 4;
    let mark = config.max_pending_output;
    let mut conn = Connection::new(config, now);
    let _ = conn.capa();
    if first & 1 != 0 {
        let _ = conn.stls();
    }
    let _ = conn.user("alice");
    let _ = conn.pass("secret");
    if first & 2 != 0 {
        let _ = conn.auth_plain("", "alice", &"x".repeat(300));
    }
    // SASL through postwerk-sasl: challenges come from the input.
    let creds = Credentials::password("alice", "pencil").with_oauth_token("token");
    match (first >> 2) & 3 {
        1 => drop(conn.auth_with(Mechanism::ScramSha256, &creds, "fuzz-nonce")),
        2 => drop(conn.auth_with(Mechanism::Login, &creds, "")),
        3 => drop(conn.auth_with(Mechanism::XOAuth2, &creds, "")),
        _ => {}
    }
    let _ = conn.lang(None);
    let _ = conn.lang(Some("de"));
    let _ = conn.stat();
    let _ = conn.list(None);
    let _ = conn.list(Some(1));
    let _ = conn.uidl(None);
    let _ = conn.uidl(Some(2));
    let _ = conn.retr(1);
    let _ = conn.top(1, 3);
    let _ = conn.auth_mechanisms();
    let _ = conn.dele(1);
    let _ = conn.rset();
    let _ = conn.noop();
    let _ = conn.quit();
    check(&conn, mark);
    let step = usize::from(first % 13) + 1;
    // Every chunk of server output is preceded by one control byte: how
    // many chunks of the client's output the caller takes first.
    for chunk in rest.chunks(step + 1) {
        let (ctrl, chunk) = chunk.split_first().unwrap_or((&0, &[]));
        let drain = match ctrl % 8 {
            0..=2 => 0,
            3..=5 => 1,
            6 => 2,
            _ => usize::MAX,
        };
        for _ in 0..drain {
            while let Some(ev) = conn.poll_event() {
                if ev == Event::StartTls {
                    conn.tls_established(now);
                    check(&conn, mark);
                }
            }
            if conn.poll_transmit().is_none() {
                break;
            }
            check(&conn, mark);
        }
        conn.handle_input(chunk, now);
        check(&conn, mark);
        while let Some(ev) = conn.poll_event() {
            if ev == Event::StartTls {
                conn.tls_established(now);
                check(&conn, mark);
            }
        }
    }
    while conn.poll_transmit().is_some() {
        check(&conn, mark);
    }
    conn.handle_eof(now);
    while conn.poll_event().is_some() {}
    assert!(conn.is_closed());
});
