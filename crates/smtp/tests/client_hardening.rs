//! Client machine deadlines from configured durations that cannot be represented
//! (issue 10): `Duration::MAX` in any timeout never panics, the deadline just never comes.

use std::time::{Duration, Instant};

use bytes::Bytes;
use postwerk_smtp::client::{Config, Connection, Recipient, Timeouts, Transaction};
use postwerk_smtp::codec::path::{ForwardPath, Mailbox, ReversePath};

fn tx() -> Transaction {
    Transaction::new(
        ReversePath::Mailbox(Mailbox::new("alice", "example.org").unwrap()),
        Bytes::from_static(b"Subject: x\r\n\r\nbody\r\n"),
    )
    .with_recipient(Recipient::new(ForwardPath::Mailbox(
        Mailbox::new("bob", "example.net").unwrap(),
    )))
}

/// A whole session (STARTTLS, DATA, then BDAT) with every deadline checked and passed.
fn session(config: Config) {
    let start = Instant::now();
    let later = start + Duration::from_secs(100 * 365 * 24 * 3600);
    let mut conn = Connection::new(config, start);
    conn.send(tx(), start).unwrap();
    conn.send(tx(), start).unwrap();
    conn.quit(start);
    let script: [&[u8]; 12] = [
        b"220 mx\r\n",
        b"250-mx\r\n250-STARTTLS\r\n250 CHUNKING\r\n",
        b"220 go\r\n",
        b"",
        b"250-mx\r\n250 CHUNKING\r\n",
        b"250 ok\r\n",
        b"250 ok\r\n",
        b"354 go\r\n",
        b"250 ok\r\n",
        b"250 ok\r\n250 ok\r\n",
        b"250 ok\r\n",
        b"221 bye\r\n",
    ];
    for input in script {
        if input.is_empty() {
            let _ = conn.poll_timeout();
            conn.tls_established(start);
        } else {
            conn.handle_input(input, start);
        }
        while conn.poll_transmit().is_some() {
            let _ = conn.poll_timeout();
            conn.handle_written(start);
        }
        while conn.poll_event().is_some() {}
        let _ = conn.poll_timeout();
        conn.handle_timeout(start + Duration::from_secs(1));
    }
    conn.handle_timeout(later);
    let _ = conn.poll_timeout();
}

#[test]
fn duration_max_in_any_client_timeout_never_panics() {
    type Set = fn(&mut Timeouts);
    let setters: [(&str, Set); 8] = [
        ("greeting", |t| t.greeting = Duration::MAX),
        ("command", |t| t.command = Duration::MAX),
        ("mail", |t| t.mail = Duration::MAX),
        ("rcpt", |t| t.rcpt = Duration::MAX),
        ("data_init", |t| t.data_init = Duration::MAX),
        ("data_block", |t| t.data_block = Duration::MAX),
        ("data_end", |t| t.data_end = Duration::MAX),
        ("tls_handshake", |t| t.tls_handshake = Duration::MAX),
    ];
    for (name, set) in setters {
        for chunking in [false, true] {
            let mut config = Config::new("client.example");
            config.chunking = chunking;
            set(&mut config.timeouts);
            let result = std::panic::catch_unwind(|| session(config));
            assert!(result.is_ok(), "Duration::MAX in timeouts.{name} panicked");
        }
    }
}

#[test]
fn unrepresentable_client_deadline_is_none() {
    let now = Instant::now();
    let mut config = Config::new("client.example");
    config.timeouts.greeting = Duration::MAX;
    let mut conn = Connection::new(config, now);
    assert_eq!(conn.poll_timeout(), None);
    conn.handle_timeout(now + Duration::from_secs(3600));
    assert!(!conn.is_closed());
    // The data block deadline too.
    let mut config = Config::new("client.example");
    config.timeouts.data_block = Duration::MAX;
    let mut conn = Connection::new(config, now);
    conn.send(tx(), now).unwrap();
    for input in [
        &b"220 mx\r\n"[..],
        b"250 mx\r\n",
        b"250 ok\r\n",
        b"250 ok\r\n",
        b"354 go\r\n",
    ] {
        conn.handle_input(input, now);
        while conn.poll_transmit().is_some() {}
    }
    assert_eq!(conn.poll_timeout(), None);
    conn.handle_written(now);
    assert_eq!(
        conn.poll_timeout(),
        Some(now + Duration::from_secs(600)),
        "end of data from the write"
    );
}
