#![no_main]
//! The POP3 client machine on arbitrary server output, with a session's
//! worth of commands issued up front.

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use postwerk_pop3::client::{Config, Connection, Event};

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let now = Instant::now();
    let mut config = Config::default();
    config.max_line = 32 + usize::from(first) * 4;
    config.max_listing_lines = 64;
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
    let step = usize::from(first % 13) + 1;
    for chunk in rest.chunks(step) {
        conn.handle_input(chunk, now);
        while let Some(ev) = conn.poll_event() {
            if ev == Event::StartTls {
                conn.tls_established();
            }
        }
        while conn.poll_transmit().is_some() {}
    }
    conn.handle_eof(now);
    while conn.poll_event().is_some() {}
    assert!(conn.is_closed());
});
