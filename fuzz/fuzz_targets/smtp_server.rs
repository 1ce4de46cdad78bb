#![no_main]
//! The server machine on arbitrary input, split into chunks, every event answered with a
//! decision chosen from the data. No panic, bounded buffering, and it always answers.
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use postwerk_smtp::codec::reply::Reply;
use postwerk_smtp::server::{
    BareLineEndings, Config, Connection, Decision, Event, PipeliningPolicy,
};

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
    let mut now = Instant::now();
    let mut conn = Connection::new(config, now);
    let mut out = Vec::new();
    while let Some(b) = conn.poll_transmit() {
        out.extend_from_slice(&b);
    }
    let mut choice = rest.iter().copied().cycle();
    let mut pick = move || choice.next().unwrap_or(0);
    // Chunks: a length byte, then that many bytes.
    let mut input = rest;
    while let Some((&len, tail)) = input.split_first() {
        let n = (len as usize % 64).min(tail.len());
        let (chunk, next) = tail.split_at(n);
        input = next;
        let mut offered = chunk;
        let mut guard = 0;
        loop {
            let taken = conn.handle_input(offered, now);
            offered = &offered[taken..];
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
                        let d = if p % 2 == 0 {
                            Decision::Challenge(vec![p])
                        } else {
                            decision
                        };
                        conn.respond(id, d, now).unwrap();
                    }
                    Event::DataEnd { id, envelope, .. } => {
                        if conn.config().lmtp && p % 2 == 0 {
                            let replies = envelope.recipients.iter().map(|_| Reply::ok()).collect();
                            conn.respond_per_recipient(id, replies, now).unwrap();
                        } else {
                            conn.respond(id, decision, now).unwrap();
                        }
                    }
                    Event::StartTls => {
                        conn.tls_started(now).unwrap();
                    }
                    _ => {}
                }
            }
            while let Some(b) = conn.poll_transmit() {
                out.extend_from_slice(&b);
            }
            assert!(conn.buffered_input() <= 64 * 1024 + 16 * 1024);
            if offered.is_empty() || conn.is_closed() {
                break;
            }
            guard += 1;
            assert!(guard < 10_000, "machine stopped taking input");
        }
        if len & 0x80 == 0x80 {
            now += Duration::from_secs(u64::from(len & 0x7f) * 10);
            conn.handle_timeout(now);
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
