#![no_main]
//! The server machine on arbitrary input, split into chunks, every event answered with a
//! decision chosen from the data, output drained at points chosen from the data. No
//! panic, bounded buffering, it always answers, and pending output never exceeds the
//! mark plus one unit (SECURITY.md 41), with a small mark so that the bound is reached.
//! A second flags byte turns on the optional decision points (connect, HELO/EHLO,
//! DATA/BDAT, STARTTLS), the extensions with typed MAIL parameters, registered
//! parameters, and SASL through postwerk-sasl (every built-in mechanism); RCPT decisions
//! are deferred at points chosen from the data and answered in reverse order, so several
//! are outstanding at once.
use std::time::{Duration, Instant};

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use postwerk_smtp::codec::DateTime3339;
use postwerk_smtp::codec::reply::Reply;
use postwerk_smtp::sasl::ScramCredentials;
use postwerk_smtp::sasl::server::{Answer, ServerMechanisms, Verify};
use postwerk_smtp::server::{
    BareLineEndings, Config, Connection, Decision, Event, FutureReleaseLimits, ParamRule,
    ParamValue, PipeliningPolicy, RequestId, UsageError,
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
    let Some((&flags2, rest)) = rest.split_first() else {
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
    config.decisions.connect = flags2 & 1 == 1;
    config.decisions.hello = flags2 & 2 == 2;
    config.decisions.data = flags2 & 4 == 4;
    config.decisions.starttls = flags2 & 8 == 8;
    if flags2 & 16 == 16 {
        let ext = &mut config.extensions;
        ext.binarymime = true;
        ext.requiretls = true;
        ext.mt_priority = true;
        ext.deliver_by = Some(60);
        ext.future_release = Some(FutureReleaseLimits {
            max_interval: 86_400,
            max_date_time: DateTime3339::parse("2030-01-01T00:00:00Z").unwrap(),
        });
        config
            .mail_parameters
            .push(ParamRule::new("XA", ParamValue::None));
        config
            .mail_parameters
            .push(ParamRule::new("XB", ParamValue::Required));
        config
            .rcpt_parameters
            .push(ParamRule::new("XC", ParamValue::Optional));
        config.ehlo_keywords.push("XA".into());
    }
    if flags2 & 32 == 32 {
        config.sasl = Arc::new(ServerMechanisms::builtin());
    }
    config.limits.max_outstanding_decisions = 1 + usize::from(flags2 >> 6) * 5;
    let mut now = Instant::now();
    let mut conn = Connection::new(config, now);
    conn.settings_mut().sasl_nonce = Some("fuzznonce".into());
    // Derived once: 4096 PBKDF2 rounds per run would make the target 20x slower.
    static SCRAM: std::sync::OnceLock<ScramCredentials> = std::sync::OnceLock::new();
    let scram = SCRAM
        .get_or_init(|| ScramCredentials::derive("pencil", b"salt", 4096).unwrap())
        .clone();
    // RCPT decisions held back, answered later in reverse order.
    let mut deferred: Vec<(RequestId, Decision)> = Vec::new();
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
                // One batch at a time: a Closing event in the batch means the requests
                // before it are gone (e.g. an early talker while the Connect decision is
                // pending), and answering them is a usage error, nothing else.
                let batch: Vec<Event> = std::iter::from_fn(|| conn.poll_event()).collect();
                let closing = batch.iter().any(|e| matches!(e, Event::Closing(_)));
                let ok = |r: Result<(), UsageError>| assert!(r.is_ok() || closing, "{r:?}");
                for ev in batch {
                    let p = pick();
                    let decision = match p % 5 {
                        0 | 1 => Decision::Accept,
                        2 => Decision::Reject(Reply::mailbox_unavailable()),
                        3 => Decision::AcceptWith(Reply::ok()),
                        _ => Decision::Reject(Reply::auth_invalid_credentials()),
                    };
                    match ev {
                        Event::Rcpt { id, .. } if p & 0x20 == 0x20 => {
                            deferred.push((id, decision));
                        }
                        Event::Mail { id, .. }
                        | Event::Rcpt { id, .. }
                        | Event::Vrfy { id, .. } => {
                            ok(conn.respond(id, decision, now));
                        }
                        Event::Connect { id }
                        | Event::HelloCommand { id, .. }
                        | Event::DataCommand { id, .. }
                        | Event::StartTlsCommand { id } => {
                            let d = match decision {
                                Decision::AcceptWith(_) => Decision::Accept,
                                other => other,
                            };
                            ok(conn.respond(id, d, now));
                        }
                        Event::SaslVerify { id, request } => {
                            let answer = match (request, p % 4) {
                                (_, 0) => Answer::Reject,
                                (Verify::ScramCredentials { .. }, 1) => Answer::UnknownUser,
                                (Verify::ScramCredentials { .. }, _) => {
                                    Answer::ScramCredentials(scram.clone())
                                }
                                (Verify::Token { .. }, 1) => Answer::RejectWith(b"{}".to_vec()),
                                (Verify::Token { .. }, _) => Answer::AcceptAs("tok".into()),
                                _ => Answer::Accept,
                            };
                            if p % 7 == 6 {
                                let tmp = Decision::Reject(Reply::auth_temporary_failure());
                                ok(conn.respond(id, tmp, now));
                            } else {
                                ok(conn.answer_sasl(id, answer, now));
                            }
                        }
                        Event::Login { id, .. } => {
                            conn.settings_mut().max_message_size = 8192;
                            let d = match decision {
                                Decision::AcceptWith(_) => Decision::Authenticated(format!("u{p}")),
                                other => other,
                            };
                            ok(conn.respond(id, d, now));
                        }
                        Event::DataEnd { id, envelope, .. } => {
                            if conn.config().lmtp && p % 2 == 0 {
                                let replies =
                                    envelope.recipients.iter().map(|_| Reply::ok()).collect();
                                ok(conn.respond_per_recipient(id, replies, now));
                            } else {
                                ok(conn.respond(id, decision, now));
                            }
                        }
                        Event::StartTls => {
                            ok(conn.tls_established(now));
                        }
                        _ => {}
                    }
                    check(&conn);
                }
                // Answer the deferred RCPTs, last first, when the data says so or when
                // nothing else can move.
                if !deferred.is_empty() && (pick() & 3 == 0 || offered.is_empty() || taken == 0) {
                    while let Some((id, d)) = deferred.pop() {
                        // Gone when the session closed meanwhile.
                        let _ = conn.respond(id, d, now);
                        check(&conn);
                    }
                    continue;
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
    while let Some((id, d)) = deferred.pop() {
        let _ = conn.respond(id, d, now);
        check(&conn);
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
