//! The client-side lines of SECURITY.md, each shown on the client machine.

use std::time::{Duration, Instant};

use bytes::Bytes;
use postwerk_smtp::client::{
    BODY_CHUNK, BareLineEndings, Config, Connection, ConnectionError, Credentials, Event,
    Extension, Phase, Recipient, TlsPolicy, Transaction, TransactionError,
};
use postwerk_smtp::codec::path::{ForwardPath, Mailbox, ReversePath};
use postwerk_smtp::codec::reply::ReplyError;
use proptest::prelude::*;

fn tx(body: &[u8]) -> Transaction {
    Transaction::new(
        ReversePath::Mailbox(Mailbox::new("alice", "example.org").unwrap()),
        Bytes::copy_from_slice(body),
    )
    .with_recipient(Recipient::new(ForwardPath::Mailbox(
        Mailbox::new("bob", "example.net").unwrap(),
    )))
}

/// Feeds `input` and returns everything the client wrote and every event.
fn feed(conn: &mut Connection, input: &[u8], now: Instant) -> (Vec<u8>, Vec<Event>) {
    conn.handle_input(input, now);
    drain(conn)
}

fn drain(conn: &mut Connection) -> (Vec<u8>, Vec<Event>) {
    let mut out = Vec::new();
    while let Some(c) = conn.poll_transmit() {
        out.extend_from_slice(&c);
    }
    let mut events = Vec::new();
    while let Some(e) = conn.poll_event() {
        events.push(e);
    }
    (out, events)
}

/// Runs a pipelining server script: greeting, EHLO, then MAIL/RCPT/DATA accepted.
fn send_body(body: &[u8], policy: BareLineEndings) -> (Vec<u8>, Vec<Event>) {
    let now = Instant::now();
    let mut config = Config::new("client.example");
    config.bare_line_endings = policy;
    let mut conn = Connection::new(config, now);
    conn.send(tx(body), now).unwrap();
    conn.quit(now);
    let mut out = Vec::new();
    let mut events = Vec::new();
    for input in [
        &b"220 mx ESMTP\r\n"[..],
        b"250-mx\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING\r\n",
        b"250 ok\r\n250 ok\r\n354 go\r\n",
        b"250 ok\r\n",
        b"221 bye\r\n",
    ] {
        let (o, e) = feed(&mut conn, input, now);
        out.extend(o);
        events.extend(e);
    }
    (out, events)
}

fn has_bare_line_ending(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().any(|(i, &b)| match b {
        b'\r' => bytes.get(i + 1) != Some(&b'\n'),
        b'\n' => i == 0 || bytes[i - 1] != b'\r',
        _ => false,
    })
}

proptest! {
    /// SECURITY.md 4: whatever the body, the client only ever writes CRLF line ends: a
    /// body with a bare CR or LF is refused (Reject) or normalised (Normalize).
    #[test]
    fn security_4_client_writes_only_crlf(
        body in proptest::collection::vec(
            prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'.'), any::<u8>()], 0..200),
        normalise in any::<bool>(),
    ) {
        let policy = if normalise { BareLineEndings::Normalize } else { BareLineEndings::Reject };
        let (out, events) = send_body(&body, policy);
        prop_assert!(!has_bare_line_ending(&out), "{:?}", String::from_utf8_lossy(&out));
        let done = events.iter().find_map(|e| match e {
            Event::TransactionDone(r) => Some(r.clone()),
            _ => None,
        }).unwrap();
        let bare = has_bare_line_ending(&body);
        if bare && !normalise {
            let refused = matches!(done.error(), Some(TransactionError::BareLineEnding { .. }));
            prop_assert!(refused);
            prop_assert!(!out.windows(4).any(|w| w == b"MAIL"));
        } else {
            prop_assert!(done.all_accepted(), "{:?}", done);
        }
    }
}

/// SECURITY.md 1 and 4: the smuggling payloads of line 1 in a body never end the client's
/// DATA early: with normalisation they become stuffed lines, and the only `CRLF . CRLF` on
/// the wire is the real end.
#[test]
fn security_1_smuggling_payloads_never_end_data() {
    let payloads: [&[u8]; 7] = [
        b"\n.\n",
        b"\n.\r\n",
        b"\r\n.\n",
        b"\r.\r",
        b"\r.\r\n",
        b"\r\r\n.\r\r\n",
        b"\r\n\0.\r\n",
    ];
    for payload in payloads {
        let mut body = b"Subject: x\r\n\r\nbefore".to_vec();
        body.extend_from_slice(payload);
        body.extend_from_slice(b"MAIL FROM:<evil@example.com>\r\n");
        let (out, _) = send_body(&body, BareLineEndings::Normalize);
        let data = out.windows(6).position(|w| w == b"DATA\r\n").unwrap() + 6;
        let ends: Vec<usize> = out[data - 2..]
            .windows(5)
            .enumerate()
            .filter(|(_, w)| *w == b"\r\n.\r\n")
            .map(|(i, _)| i)
            .collect();
        assert_eq!(ends.len(), 1, "payload {payload:?}");
        let end = data - 2 + ends[0] + 5;
        assert_eq!(&out[end..], b"QUIT\r\n", "payload {payload:?}");
    }
}

/// SECURITY.md 10: after `220` to STARTTLS the client drops what it had buffered, ignores
/// cleartext input until the handshake, says EHLO again and forgets the cleartext
/// capabilities.
#[test]
fn security_10_starttls_drops_buffer_and_forgets_capabilities() {
    let now = Instant::now();
    let mut conn = Connection::new(Config::new("client.example"), now);
    conn.send(tx(b"x\r\n"), now).unwrap();
    drain(&mut conn);
    feed(&mut conn, b"220 mx\r\n", now);
    feed(
        &mut conn,
        b"250-mx\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 STARTTLS\r\n",
        now,
    );
    assert!(conn.capabilities().unwrap().has(Extension::Pipelining));
    // The 220 and an injected reply in one segment, then more injected bytes.
    let (out, events) = feed(&mut conn, b"220 go\r\n250 injected\r\n", now);
    assert!(out.is_empty());
    assert_eq!(events, [Event::StartTls]);
    assert_eq!(conn.buffered_input(), 0);
    assert!(conn.capabilities().is_none());
    let (out, events) = feed(&mut conn, b"250 more injected\r\n", now);
    assert!(out.is_empty() && events.is_empty());
    conn.tls_established(now);
    let (out, _) = drain(&mut conn);
    assert_eq!(out, b"EHLO client.example\r\n");
    assert!(conn.is_tls_active());
    // Inside TLS the server offers nothing: no pipelining any more.
    let (out, _) = feed(&mut conn, b"250 mx\r\n", now);
    assert_eq!(out, b"MAIL FROM:<alice@example.org>\r\n");
    assert!(!conn.capabilities().unwrap().has(Extension::Pipelining));
}

/// SECURITY.md 11: credentials are never sent in cleartext unless explicitly allowed, even
/// when the server offers PLAIN and no STARTTLS.
#[test]
fn security_11_no_credentials_in_cleartext() {
    let now = Instant::now();
    let mut config = Config::new("client.example");
    config.credentials = Some(Credentials::new("alice", "secret"));
    let mut conn = Connection::new(config, now);
    conn.send(tx(b"x\r\n"), now).unwrap();
    feed(&mut conn, b"220 mx\r\n", now);
    let (out, events) = feed(&mut conn, b"250-mx\r\n250 AUTH PLAIN LOGIN\r\n", now);
    assert_eq!(out, b"QUIT\r\n");
    let Event::TransactionDone(result) = &events[0] else {
        panic!("{events:?}");
    };
    assert_eq!(
        result.error(),
        Some(&TransactionError::Connection(ConnectionError::AuthNeedsTls))
    );
}

/// RFC 3207 with TLS required: a refused STARTTLS is a failure, never a cleartext
/// fallback.
#[test]
fn required_tls_never_falls_back_to_cleartext() {
    let now = Instant::now();
    let mut config = Config::new("client.example");
    config.tls = TlsPolicy::Required;
    let mut conn = Connection::new(config, now);
    conn.send(tx(b"x\r\n"), now).unwrap();
    feed(&mut conn, b"220 mx\r\n", now);
    feed(&mut conn, b"250-mx\r\n250 STARTTLS\r\n", now);
    let (out, events) = feed(&mut conn, b"454 4.7.0 TLS not available\r\n", now);
    assert_eq!(out, b"QUIT\r\n");
    assert!(matches!(
        events[0],
        Event::TransactionDone(ref r)
            if matches!(r.error(), Some(TransactionError::Connection(ConnectionError::TlsRefused(_))))
    ));
}

/// SECURITY.md 22 and 27: 1 MiB without a line end, or an endless multi-line reply, never
/// grows the client's buffer past its bounds; the connection fails with a typed error.
#[test]
fn security_27_reply_bounds_keep_memory_flat() {
    let now = Instant::now();
    let config = Config::new("client.example");
    let max_line = config.reply_limits.max_line_len;
    let mut conn = Connection::new(config, now);
    let mut closed = None;
    let chunk = [b'x'; 1024];
    let mut fed = 0;
    conn.handle_input(b"220 ", now);
    while fed < 1024 * 1024 && !conn.is_closed() {
        conn.handle_input(&chunk, now);
        fed += chunk.len();
        assert!(conn.buffered_input() <= max_line + chunk.len());
    }
    for e in drain(&mut conn).1 {
        if let Event::Closed { error } = e {
            closed = error;
        }
    }
    assert_eq!(
        closed,
        Some(ConnectionError::BadReply(ReplyError::LineTooLong(max_line)))
    );
    assert!(fed <= max_line + chunk.len());

    let mut conn = Connection::new(Config::new("client.example"), now);
    let mut lines = 0;
    while !conn.is_closed() && lines < 100_000 {
        conn.handle_input(b"220-endless greeting\r\n", now);
        lines += 1;
    }
    let events = drain(&mut conn).1;
    assert!(events.contains(&Event::Closed {
        error: Some(ConnectionError::BadReply(ReplyError::TooManyLines(100)))
    }));
    assert!(lines <= 101);
}

/// SECURITY.md 23: the client has the RFC 5321 4.5.3.2 deadline for each phase.
#[test]
fn security_23_phase_deadlines() {
    let now = Instant::now();
    let minutes = |m: u64| now + Duration::from_secs(60 * m);
    let mut conn = Connection::new(Config::new("client.example"), now);
    assert_eq!(conn.poll_timeout(), Some(minutes(5)), "greeting");
    conn.send(tx(b"x\r\n"), now).unwrap();
    feed(&mut conn, b"220 mx\r\n", now);
    feed(&mut conn, b"250 mx\r\n", now);
    assert_eq!(conn.poll_timeout(), Some(minutes(5)), "MAIL");
    feed(&mut conn, b"250 ok\r\n", now);
    assert_eq!(conn.poll_timeout(), Some(minutes(5)), "RCPT");
    feed(&mut conn, b"250 ok\r\n", now);
    assert_eq!(conn.poll_timeout(), Some(minutes(2)), "DATA");
    feed(&mut conn, b"354 go\r\n", now);
    // The body is handed out, not yet reported written: the data-block deadline.
    assert_eq!(conn.poll_timeout(), Some(minutes(3)), "data block");
    conn.handle_written(now);
    assert_eq!(conn.poll_timeout(), Some(minutes(10)), "end of data");
    conn.handle_timeout(minutes(10) - Duration::from_millis(1));
    assert!(!conn.is_closed());
    conn.handle_timeout(minutes(10));
    assert!(conn.is_closed());
    let events = drain(&mut conn).1;
    assert!(events.contains(&Event::Closed {
        error: Some(ConnectionError::Timeout(Phase::DataEnd))
    }));
}

/// SECURITY.md 41: a server that answers everything ahead (200 queued transactions of
/// 64 KiB, every reply sent before the client wrote anything) never makes the client
/// queue more than the mark plus one transaction; the rest waits in the input buffer and
/// runs as the driver writes.
#[test]
fn security_41_client_output_is_bounded() {
    let now = Instant::now();
    let config = Config::new("client.example");
    let mark = config.max_pending_output;
    let mut conn = Connection::new(config, now);
    let line = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n";
    let body = line.repeat(64 * 1024 / line.len());
    let unit = body.len() + 1024;
    const N: usize = 200;
    for _ in 0..N {
        conn.send(tx(&body), now).unwrap();
    }
    conn.quit(now);
    let mut script = b"220 mx\r\n250-mx\r\n250 PIPELINING\r\n".to_vec();
    for _ in 0..N {
        script.extend_from_slice(b"250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n");
    }
    script.extend_from_slice(b"221 bye\r\n");
    conn.handle_input(&script, now);
    assert!(conn.is_output_full());
    assert!(
        conn.pending_output() <= mark + unit,
        "pending {} > {}",
        conn.pending_output(),
        mark + unit
    );
    let mut done = 0;
    let mut written = 0usize;
    loop {
        while let Some(e) = conn.poll_event() {
            if let Event::TransactionDone(r) = e {
                assert!(r.all_accepted(), "{r:?}");
                done += 1;
            }
        }
        let Some(chunk) = conn.poll_transmit() else {
            break;
        };
        assert!(chunk.len() <= BODY_CHUNK);
        assert!(
            conn.pending_output() <= mark + unit,
            "pending {}",
            conn.pending_output()
        );
        written += chunk.len();
        conn.handle_written(now);
    }
    assert_eq!(done, N);
    assert!(written > N * body.len());
    assert!(conn.is_closed());
}

/// SECURITY.md 44 (RFC 5321 4.5.3.2.5, 4.5.3.2.6): the end-of-data timer starts when the
/// body's last octets are reported written, not when they were queued; while the body is
/// written, each write has the data-block deadline. A slow writer does not eat the
/// server's ten minutes.
#[test]
fn security_44_end_of_data_timer_starts_when_body_written() {
    let start = Instant::now();
    let minutes = |t: Instant, m: u64| t + Duration::from_secs(60 * m);
    let mut conn = Connection::new(Config::new("client.example"), start);
    let body = b"x"
        .repeat(62)
        .iter()
        .chain(b"\r\n")
        .copied()
        .collect::<Vec<u8>>();
    let body = body.repeat(3 * BODY_CHUNK / 64);
    conn.send(tx(&body), start).unwrap();
    for input in [
        &b"220 mx\r\n"[..],
        b"250 mx\r\n",
        b"250 ok\r\n",
        b"250 ok\r\n",
    ] {
        feed(&mut conn, input, start);
    }
    conn.handle_input(b"354 go\r\n", start);
    // Queued, nothing written yet: the data-block deadline.
    assert_eq!(conn.poll_timeout(), Some(minutes(start, 3)));
    // Each chunk takes two minutes to write: more than data_block in all, less for each.
    let mut t = start;
    let mut chunks = 0;
    while let Some(chunk) = conn.poll_transmit() {
        assert!(chunk.len() <= BODY_CHUNK);
        chunks += 1;
        t = minutes(t, 2);
        conn.handle_timeout(t);
        assert!(!conn.is_closed(), "timed out while writing chunk {chunks}");
        conn.handle_written(t);
        if conn.pending_output() > 0 {
            assert_eq!(conn.poll_timeout(), Some(minutes(t, 3)), "chunk {chunks}");
        }
    }
    assert!(chunks >= 4, "{chunks} chunks");
    // The whole body is written at `t`: the server has ten minutes from now, not from
    // the 354.
    assert_eq!(conn.poll_timeout(), Some(minutes(t, 10)));
    conn.handle_timeout(minutes(start, 10));
    conn.handle_timeout(minutes(t, 10) - Duration::from_millis(1));
    assert!(!conn.is_closed());
    let (_, events) = feed(&mut conn, b"250 queued\r\n", minutes(t, 9));
    assert!(matches!(&events[0], Event::TransactionDone(r) if r.all_accepted()));

    // A writer that stalls: the data-block deadline ends it, in its own phase.
    let mut conn = Connection::new(Config::new("client.example"), start);
    conn.send(tx(&body), start).unwrap();
    for input in [
        &b"220 mx\r\n"[..],
        b"250 mx\r\n",
        b"250 ok\r\n",
        b"250 ok\r\n",
    ] {
        feed(&mut conn, input, start);
    }
    conn.handle_input(b"354 go\r\n", start);
    assert!(conn.poll_transmit().is_some());
    conn.handle_written(minutes(start, 1));
    // Reporting again with nothing new handed out is no progress.
    conn.handle_written(minutes(start, 2));
    // The second chunk is never written.
    assert!(conn.poll_transmit().is_some());
    conn.handle_timeout(minutes(start, 4) - Duration::from_millis(1));
    assert!(!conn.is_closed());
    conn.handle_timeout(minutes(start, 4));
    assert!(conn.is_closed());
    let events = drain(&mut conn).1;
    assert!(
        events.contains(&Event::Closed {
            error: Some(ConnectionError::Timeout(Phase::Body))
        }),
        "{events:?}"
    );
}

/// SECURITY.md 27 (and issue 10): a server that trickles a maximal multi-line reply one
/// byte at a time costs the client linear work. The old parser rescanned the whole
/// buffer for every read: about a minute for this reply in a debug build. The exact
/// bound (every byte searched once) is a unit test of the scanner in `client/read.rs`.
#[test]
fn trickled_maximal_reply_costs_linear_work() {
    let now = Instant::now();
    let mut config = Config::new("client.example");
    config.report_replies = true;
    let limits = config.reply_limits;
    let mut conn = Connection::new(config, now);
    let mut reply = Vec::new();
    let width = limits.max_line_len - 6;
    for _ in 0..limits.max_lines - 1 {
        reply.extend_from_slice(b"220-");
        reply.extend(std::iter::repeat_n(b'x', width));
        reply.extend_from_slice(b"\r\n");
    }
    reply.extend_from_slice(b"220 end\r\n");
    let t = Instant::now();
    for b in &reply {
        conn.handle_input(std::slice::from_ref(b), now);
    }
    let elapsed = t.elapsed();
    let (out, events) = drain(&mut conn);
    assert_eq!(out, b"EHLO client.example\r\n");
    assert!(matches!(&events[0], Event::Reply(r) if r.lines().len() == limits.max_lines));
    assert!(
        elapsed < Duration::from_secs(10),
        "{} bytes took {elapsed:?}",
        reply.len()
    );
}
