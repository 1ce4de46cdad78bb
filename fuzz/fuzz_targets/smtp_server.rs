#![no_main]
//! The server machine on arbitrary input, split into chunks, every event answered with a
//! decision chosen from the data, output drained at points chosen from the data. No
//! panic, bounded buffering, it always answers, and pending output never exceeds the
//! mark plus one unit (SECURITY.md 41), with a small mark so that the bound is reached.
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use postwerk_smtp::codec::reply::Reply;
use postwerk_smtp::server::{
    BareLineEndings, Config, Connection, Decision, Event, PipeliningPolicy,
};

/// A small high-water mark, so that the fuzzer reaches it.
const MARK: usize = 200;
/// The largest unit: the EHLO reply (about 200 octets), or the per-recipient replies to
/// one LMTP end of data (16 recipients here, each reply at most 40 octets).
const UNIT: usize = 1024;

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
    let mut config = Config::new("mx.fuzz");
    config.lmtp = flags & 1 == 1;
    config.extensions.starttls = flags & 2 == 2;
    config.allow_plaintext_auth = flags & 4 == 4;
    config.bare_line_endings = match (flags >> 3) & 3 {
        0 => BareLineEndings::Reject,
        1 => BareLineEndings::Normalize,
        _ => BareLineEndings::Close,
    };
    config.pipelining_policy = if flags & 32 == 32 {
        PipeliningPolicy::Reject
    } else {
        PipeliningPolicy::Allow
    };
    config.vrfy_events = flags & 64 == 64;
    config.auth_required = flags & 128 == 128;
    config.limits.max_message_size = 4096;
    config.timeouts.auth_failure_delay = Duration::ZERO;
    config.limits.max_recipients = 16;
    config.max_pending_output = MARK;
    let mut now = Instant::now();
    let mut conn = Connection::new(config, now);
    let mut out = Vec::new();
    while let Some(b) = conn.poll_transmit() {
        out.extend_from_slice(&b);
    }
    let mut choice = rest.iter().copied().cycle();
    let mut pick = move || choice.next().unwrap_or(0);
    // Chunks: a length byte, then that many bytes. Bit 0x40 of the length byte: the
    // client does not read this time (output is not drained after the first feed).
    let mut input = rest;
    while let Some((&len, tail)) = input.split_first() {
        let n = (len as usize % 64).min(tail.len());
        let (chunk, next) = tail.split_at(n);
        input = next;
        let mut offered = chunk;
        let mut guard = 0;
        let mut read = len & 0x40 == 0;
        loop {
            let taken = conn.handle_input(offered, now);
            check(&conn);
            offered = &offered[taken..];
            loop {
                while let Some(ev) = conn.poll_event() {
                    let p = pick();
                    let decision = match p % 5 {
                        0 | 1 => Decision::Accept,
                        2 => Decision::Reject(Reply::mailbox_unavailable()),
                        3 => Decision::AcceptWith(Reply::ok()),
                        _ => Decision::Reject(Reply::auth_invalid_credentials()),
                    };
                    match ev {
                        Event::Mail { id, .. }
                        | Event::Rcpt { id, .. }
                        | Event::Auth { id, .. }
                        | Event::Vrfy { id, .. } => {
                            conn.respond(id, decision, now).unwrap();
                        }
                        Event::AuthExchange { id, .. } => {
                            // Success names the identity (a plain Accept is refused).
                            let d = match decision {
                                _ if p % 2 == 0 => Decision::Challenge(vec![p]),
                                Decision::Accept | Decision::AcceptWith(_) => {
                                    Decision::Authenticated(format!("user{p}"))
                                }
                                other => other,
                            };
                            conn.respond(id, d, now).unwrap();
                        }
                        Event::DataEnd { id, envelope, .. } => {
                            if conn.config().lmtp && p % 2 == 0 {
                                let replies =
                                    envelope.recipients.iter().map(|_| Reply::ok()).collect();
                                conn.respond_per_recipient(id, replies, now).unwrap();
                            } else {
                                conn.respond(id, decision, now).unwrap();
                            }
                        }
                        Event::StartTls => {
                            conn.tls_established(now).unwrap();
                        }
                        _ => {}
                    }
                    check(&conn);
                }
                if !read {
                    break;
                }
                match conn.poll_transmit() {
                    Some(b) => {
                        check(&conn);
                        out.extend_from_slice(&b);
                    }
                    None => break,
                }
            }
            // The next round reads (else a full machine would never take the rest).
            read = true;
            assert!(conn.buffered_input() <= 64 * 1024 + 16 * 1024);
            if offered.is_empty() || conn.is_closed() {
                break;
            }
            guard += 1;
            assert!(guard < 10_000, "machine stopped taking input");
        }
        if len & 0x80 == 0x80 {
            now += Duration::from_secs(u64::from(len & 0x3f) * 10);
            conn.handle_timeout(now);
            check(&conn);
        }
    }
    conn.handle_eof(now);
    while conn.poll_event().is_some() {}
    while let Some(b) = conn.poll_transmit() {
        out.extend_from_slice(&b);
    }
    assert!(conn.is_closed());
    // Every line we wrote is a well-formed reply line.
    for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        assert!(
            line.ends_with(b"\r") && line.len() >= 4,
            "{:?}",
            String::from_utf8_lossy(line)
        );
        assert!((b'2'..=b'5').contains(&line[0]));
    }
});
