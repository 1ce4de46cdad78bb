//! The SMTP client machine fed arbitrary server output, split into chunks by the input,
//! with three transactions queued, the last with a streamed 8-bit body (pipelining,
//! chunking, LMTP, the bare line-end policy and credentials chosen by the input too). Must never panic; memory stays bounded by the reply limits, and pending
//! output never exceeds the mark plus one unit (SECURITY.md 41), with a small mark so
//! that the bound is reached.
#![no_main]
use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use postwerk_smtp::client::{
    BareLineEndings, Config, Connection, Credentials, Event, Recipient, Transaction,
};
use postwerk_smtp::codec::path::{ForwardPath, Mailbox, ReversePath};

/// A small high-water mark, so that the fuzzer reaches it.
const MARK: usize = 64;
/// The largest unit: the commands and the body of one transaction (RSET, MAIL with its
/// parameters, two RCPTs, DATA or BDAT, a body of under 40 octets), or an AUTH line.
const UNIT: usize = 512;

fn check(conn: &Connection) {
    assert!(
        conn.pending_output() <= MARK + UNIT,
        "pending output {} > {MARK} + {UNIT}",
        conn.pending_output()
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut config = Config::new("fuzz.example");
    config.pipelining = flags & 1 != 0;
    config.chunking = flags & 2 != 0;
    config.lmtp = flags & 4 != 0;
    config.tls_active = flags & 8 != 0;
    if flags & 16 != 0 {
        config.credentials = Some(Credentials::new("user", "pass"));
    }
    if flags & 32 != 0 {
        config.bare_line_endings = BareLineEndings::Normalize;
    }
    config.reply_limits.max_line_len = 512;
    config.reply_limits.max_lines = 16;
    config.max_pending_output = MARK;
    let now = Instant::now();
    let mut conn = Connection::new(config, now);
    let from = ReversePath::Mailbox(Mailbox::new("a", "example.org").unwrap());
    for body in [&b"Subject: x\r\n\r\n.dot\r\n"[..], "Grüße\r\n".as_bytes()] {
        let tx = Transaction::new(from.clone(), Bytes::copy_from_slice(body))
            .with_recipient(Recipient::new(ForwardPath::Postmaster))
            .with_recipient(Recipient::new(ForwardPath::Mailbox(
                Mailbox::new("b", "example.net").unwrap(),
            )));
        let _ = conn.send(tx, now);
    }
    let streamed = Transaction::streaming(from.clone())
        .with_8bit()
        .with_recipient(Recipient::new(ForwardPath::Postmaster));
    let _ = conn.send(streamed, now);
    // The streamed body, one piece per BodyWanted, then the end.
    let mut pieces = [
        &b"Content-Type: text/plain\r\n\r\n"[..],
        "Gr\u{fc}\u{df}e\r\n.dot\r".as_bytes(),
        b"\n\nbare\r\n",
    ]
    .into_iter();
    conn.quit(now);
    check(&conn);
    let mut t = now;
    // Chunks: a length byte, then that many bytes. Length 0 means an event instead.
    // Bit 0x80 of a length: the driver does not write this time.
    let mut input = rest;
    while let Some((&len, tail)) = input.split_first() {
        let mut write = true;
        if len == 0 {
            match tail.first() {
                Some(0) => conn.tls_established(t),
                Some(1) => conn.handle_eof(t),
                Some(2) => conn.handle_written(t),
                _ => {
                    t += Duration::from_secs(301);
                    conn.handle_timeout(t);
                }
            }
            input = tail.get(1..).unwrap_or_default();
        } else {
            write = len & 0x80 == 0;
            let n = usize::from(len & 0x7f).min(tail.len());
            conn.handle_input(&tail[..n], t);
            input = &tail[n..];
        }
        check(&conn);
        loop {
            while let Some(event) = conn.poll_event() {
                if let Event::BodyWanted { id } = event {
                    let _ = match pieces.next() {
                        Some(p) => conn.body_chunk(id, Bytes::from_static(p), t),
                        None => conn.body_end(id, t),
                    };
                    check(&conn);
                }
            }
            if !write {
                break;
            }
            match conn.poll_transmit() {
                Some(_) => check(&conn),
                None => break,
            }
        }
    }
    conn.handle_eof(t);
    while conn.poll_event().is_some() {}
    assert!(conn.is_closed());
});
