//! The POP3 lines of SECURITY.md as machine tests, named after the line.

use std::time::{Duration, Instant};

use bytes::Bytes;
use postwerk_pop3::server::{
    ApopTimestamp, Config, Connection, Credentials, Event, LoginDecision, MessageInfo,
};

fn output(conn: &mut Connection) -> String {
    let mut out = Vec::new();
    while let Some(b) = conn.poll_transmit() {
        out.extend_from_slice(&b);
    }
    String::from_utf8(out).unwrap()
}

fn events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

fn logged_in(config: Config, now: Instant) -> Connection {
    let mut conn = Connection::new(config, now);
    conn.handle_input(b"USER u\r\nPASS p\r\n", now);
    let Some(Event::Login { id, .. }) = conn.poll_event() else {
        panic!("no login event")
    };
    conn.answer_login(
        id,
        LoginDecision::Accept(vec![(10, "a").into(), (20, "b").into()]),
    )
    .unwrap();
    output(&mut conn);
    conn
}

fn cleartext() -> Config {
    let mut c = Config::default();
    c.allow_plaintext_auth = true;
    c
}

#[test]
fn security_09_stls_discards_buffered_input() {
    let now = Instant::now();
    let mut config = Config::default();
    config.stls = true;
    let mut conn = Connection::new(config, now);
    output(&mut conn);
    conn.handle_input(b"STLS\r\nCAPA\r\nUSER injected\r\n", now);
    assert_eq!(output(&mut conn), "+OK begin TLS negotiation\r\n");
    assert_eq!(events(&mut conn), vec![Event::StartTls]);
    assert!(conn.stls_accepted());
    // Inside TLS: nothing of the injected commands was kept.
    conn.handle_input(b"PASS x\r\n", now);
    assert_eq!(output(&mut conn), "-ERR USER first\r\n");
    // A second STLS is refused.
    conn.handle_input(b"STLS\r\n", now);
    assert_eq!(output(&mut conn), "-ERR STLS not available\r\n");
    assert!(events(&mut conn).is_empty());
}

#[test]
fn security_09_stls_forgets_user() {
    let now = Instant::now();
    let mut config = Config::default();
    config.stls = true;
    config.allow_plaintext_auth = true;
    let mut conn = Connection::new(config, now);
    conn.handle_input(b"USER mallory\r\nSTLS\r\n", now);
    output(&mut conn);
    conn.handle_input(b"PASS secret\r\n", now);
    assert!(output(&mut conn).ends_with("-ERR USER first\r\n"));
}

#[test]
fn security_11_no_cleartext_password_without_tls() {
    let now = Instant::now();
    let mut conn = Connection::new(Config::default(), now);
    conn.handle_input(b"CAPA\r\n", now);
    let capa = output(&mut conn);
    assert!(!capa.contains("\r\nUSER\r\n") && !capa.contains("SASL"));
    for line in [
        &b"USER alice\r\n"[..],
        b"PASS secret\r\n",
        b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n",
        b"AUTH PLAIN\r\n",
    ] {
        conn.handle_input(line, now);
        assert_eq!(
            output(&mut conn),
            "-ERR [AUTH] plaintext authentication is disallowed without TLS\r\n"
        );
    }
    assert!(events(&mut conn).is_empty(), "no login reached the app");

    // Explicitly allowed by the operator: accepted.
    let mut conn = Connection::new(cleartext(), now);
    conn.handle_input(b"USER alice\r\nPASS secret\r\n", now);
    assert!(matches!(conn.poll_event(), Some(Event::Login { .. })));
}

#[test]
fn security_12_auth_in_transaction_refused() {
    let now = Instant::now();
    let mut conn = logged_in(cleartext(), now);
    conn.handle_input(
        b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nUSER x\r\nPASS y\r\n",
        now,
    );
    assert_eq!(
        output(&mut conn),
        "-ERR command not valid in this state\r\n".repeat(3)
    );
    assert!(events(&mut conn).is_empty());
}

#[test]
fn security_12_star_cancels_auth() {
    let now = Instant::now();
    let mut config = Config::default();
    config.tls_active = true;
    let mut conn = Connection::new(config, now);
    output(&mut conn);
    conn.handle_input(b"AUTH PLAIN\r\n*\r\n", now);
    assert_eq!(output(&mut conn), "+ \r\n-ERR authentication cancelled\r\n");
    assert!(events(&mut conn).is_empty());
}

#[test]
fn security_12_failed_logins_delayed_then_closed() {
    let now = Instant::now();
    let mut config = cleartext();
    config.auth_failure_delay = Duration::from_secs(3);
    config.max_auth_failures = 2;
    let mut conn = Connection::new(config, now);
    output(&mut conn);
    conn.handle_input(b"USER u\r\nPASS bad\r\nUSER u\r\n", now);
    let Some(Event::Login { id, credentials }) = conn.poll_event() else {
        panic!()
    };
    assert_eq!(credentials.identity(), "u");
    conn.answer_login(id, LoginDecision::Reject).unwrap();
    // Nothing before the deadline, and later commands wait too.
    assert_eq!(output(&mut conn), "+OK send PASS\r\n");
    assert_eq!(conn.poll_timeout(), Some(now + Duration::from_secs(3)));
    conn.handle_timeout(now + Duration::from_secs(2));
    assert_eq!(output(&mut conn), "");
    let later = now + Duration::from_secs(3);
    conn.handle_timeout(later);
    assert_eq!(
        output(&mut conn),
        "-ERR [AUTH] authentication failed\r\n+OK send PASS\r\n"
    );
    conn.handle_input(b"PASS bad2\r\n", later);
    let Some(Event::Login { id, .. }) = conn.poll_event() else {
        panic!()
    };
    conn.answer_login(id, LoginDecision::Reject).unwrap();
    conn.handle_timeout(later + Duration::from_secs(3));
    assert_eq!(
        output(&mut conn),
        "-ERR [AUTH] too many failed logins, closing\r\n"
    );
    assert!(conn.is_closed());
    assert_eq!(events(&mut conn), vec![Event::Closed { committed: false }]);
}

#[test]
fn security_13_apop_off_by_default() {
    let now = Instant::now();
    let mut conn = Connection::new(cleartext(), now);
    assert_eq!(output(&mut conn), "+OK POP3 server ready\r\n");
    conn.handle_input(b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n", now);
    assert_eq!(output(&mut conn), "-ERR APOP not available\r\n");
    assert!(events(&mut conn).is_empty());

    let mut config = Config::default();
    config.apop = Some(ApopTimestamp::new("<7.8@host>").unwrap());
    let mut conn = Connection::new(config, now);
    assert_eq!(output(&mut conn), "+OK POP3 server ready <7.8@host>\r\n");
    conn.handle_input(b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n", now);
    assert!(matches!(
        conn.poll_event(),
        Some(Event::Login {
            credentials: Credentials::Apop { .. },
            ..
        })
    ));
    assert!(ApopTimestamp::new("no brackets").is_err());
}

#[test]
fn security_32_dele_only_at_quit() {
    let now = Instant::now();
    // Dropped connection: no commit.
    let mut conn = logged_in(cleartext(), now);
    conn.handle_input(b"DELE 1\r\n", now);
    conn.handle_eof(now);
    assert_eq!(events(&mut conn), vec![Event::Closed { committed: false }]);

    // Idle timeout: no commit.
    let mut conn = logged_in(cleartext(), now);
    conn.handle_input(b"DELE 1\r\n", now);
    let deadline = conn.poll_timeout().unwrap();
    assert_eq!(deadline, now + Duration::from_secs(600));
    conn.handle_timeout(deadline);
    assert_eq!(events(&mut conn), vec![Event::Closed { committed: false }]);

    // Too many errors: no commit.
    let mut config = cleartext();
    config.max_errors = 2;
    let mut conn = logged_in(config, now);
    conn.handle_input(b"DELE 1\r\nBAD\r\nBAD\r\n", now);
    assert_eq!(events(&mut conn), vec![Event::Closed { committed: false }]);

    // QUIT: the deletion is reported, and committed once confirmed.
    let mut conn = logged_in(cleartext(), now);
    conn.handle_input(b"DELE 2\r\nQUIT\r\n", now);
    let Some(Event::Commit { id, deletions }) = conn.poll_event() else {
        panic!()
    };
    assert_eq!(deletions.len(), 1);
    assert_eq!((deletions[0].index, deletions[0].uid.as_str()), (1, "b"));
    conn.answer_commit(id, true).unwrap();
    assert_eq!(events(&mut conn), vec![Event::Closed { committed: true }]);
}

#[test]
fn security_32_one_session_per_mailbox() {
    let now = Instant::now();
    let mut conn = Connection::new(cleartext(), now);
    conn.handle_input(b"USER u\r\nPASS p\r\n", now);
    let Some(Event::Login { id, .. }) = conn.poll_event() else {
        panic!()
    };
    conn.answer_login(id, LoginDecision::InUse).unwrap();
    assert!(output(&mut conn).ends_with("-ERR [IN-USE] maildrop is locked by another session\r\n"));
}

#[test]
fn caller_errors() {
    let now = Instant::now();
    let mut conn = Connection::new(cleartext(), now);
    conn.handle_input(b"USER u\r\nPASS p\r\n", now);
    let Some(Event::Login { id, .. }) = conn.poll_event() else {
        panic!()
    };
    use postwerk_pop3::UsageError as Error;
    assert_eq!(
        conn.accept_login(id, vec![(1, "has space").into()]),
        Err(Error::InvalidUid { index: 0 })
    );
    assert_eq!(
        conn.accept_login(id, vec![(1, "x".repeat(71)).into()]),
        Err(Error::InvalidUid { index: 0 })
    );
    assert_eq!(
        conn.accept_login(id, vec![(1, "a").into(), (2, "a").into()]),
        Err(Error::DuplicateUid { index: 1 })
    );
    assert_eq!(conn.answer_commit(id, true), Err(Error::WrongAnswer));
    conn.accept_login(id, vec![(1, "a").into()]).unwrap();
    assert_eq!(conn.reject_login(id), Err(Error::UnknownRequest));
}

#[test]
fn memory_bounded_without_line_end() {
    let now = Instant::now();
    let mut conn = Connection::new(cleartext(), now);
    output(&mut conn);
    let junk = vec![b'a'; 64 * 1024];
    for _ in 0..16 {
        conn.handle_input(&junk, now);
    }
    assert_eq!(output(&mut conn), "-ERR line too long\r\n");
    conn.handle_input(b"\r\nNOOP\r\n", now);
    assert_eq!(
        output(&mut conn),
        "-ERR command not valid in this state\r\n"
    );
}

#[test]
fn pipelined_backlog_is_bounded() {
    let now = Instant::now();
    let mut config = cleartext();
    config.max_pending_input = 1024;
    let mut conn = logged_in(config, now);
    conn.handle_input(b"RETR 1\r\n", now);
    let noops = b"NOOP\r\n".repeat(400);
    conn.handle_input(&noops, now);
    assert!(conn.is_closed());
    assert!(output(&mut conn).ends_with("-ERR too much pipelined input, closing\r\n"));
}

// ----- SECURITY.md line 41: bounded output -----

/// Log in with `listing` and drain the login output.
fn logged_in_with(config: Config, now: Instant, listing: Vec<MessageInfo>) -> Connection {
    let mut conn = Connection::new(config, now);
    conn.handle_input(b"USER u\r\nPASS p\r\n", now);
    let Some(Event::Login { id, .. }) = conn.poll_event() else {
        panic!("no login event")
    };
    conn.accept_login(id, listing).unwrap();
    output(&mut conn);
    conn
}

#[test]
fn security_41_pipelined_list_flood_is_bounded() {
    let now = Instant::now();
    let listing: Vec<MessageInfo> = (0..3000)
        .map(|i| (4_000_000_000u64 + i, format!("uid-{i:0>60}")).into())
        .collect();
    let mut conn = logged_in_with(cleartext(), now, listing);
    let mark = Config::default().max_pending_output;
    // One listing chunk plus a status line.
    let bound = mark + 8 * 1024;
    // 10,000 pipelined LIST/UIDL (60 KB of input), never read by the client.
    let flood = "LIST\r\nUIDL\r\n".repeat(5000);
    conn.handle_input(flood.as_bytes(), now);
    assert!(
        conn.pending_output() <= bound,
        "pending {} after the flood",
        conn.pending_output()
    );
    assert!(conn.is_output_full());
    // The client now reads slowly: one chunk at a time, 16 MiB in all.
    let mut drained = 0usize;
    let mut terminators = 0usize;
    while drained < 16 << 20 {
        assert!(conn.poll_event().is_none());
        let chunk = conn.poll_transmit().expect("more output");
        assert!(chunk.len() <= bound, "chunk of {}", chunk.len());
        assert!(
            conn.pending_output() <= bound,
            "pending {}",
            conn.pending_output()
        );
        terminators += chunk.windows(3).filter(|w| w == b".\r\n").count();
        drained += chunk.len();
    }
    // Listings were really produced (3000 × ~16 or ~70 octets each).
    assert!(terminators > 50, "{terminators} listings");
    assert!(!conn.is_closed());
}

#[test]
fn security_41_pipelined_retr_flood_is_bounded() {
    let now = Instant::now();
    let message: Vec<u8> = b"Subject: big\r\n\r\n"
        .iter()
        .copied()
        .chain(
            b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n"
                .iter()
                .copied()
                .cycle()
                .take(2 << 20),
        )
        .collect();
    let size = message.len() as u64;
    let mut conn = logged_in_with(cleartext(), now, vec![(size, "big").into()]);
    let mark = Config::default().max_pending_output;
    const CHUNK: usize = 64 * 1024;
    // One message chunk (stuffing cannot grow this text) plus a status line.
    let bound = mark + CHUNK + 512;
    conn.handle_input("RETR 1\r\n".repeat(5000).as_bytes(), now);
    let mut streaming: Option<(postwerk_pop3::server::RequestId, usize)> = None;
    let mut requests = 0;
    let mut drained = 0usize;
    while drained < 24 << 20 {
        while let Some(event) = conn.poll_event() {
            match event {
                Event::MessageRequest { id, .. } => {
                    assert!(streaming.is_none(), "a second request while streaming");
                    requests += 1;
                    streaming = Some((id, 0));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        // The application supplies chunks only while output is not full.
        while let Some((id, offset)) = streaming.as_mut() {
            if conn.is_output_full() {
                break;
            }
            let end = (*offset + CHUNK).min(message.len());
            if *offset == end {
                conn.finish_message(*id).unwrap();
                streaming = None;
            } else {
                let chunk = Bytes::copy_from_slice(&message[*offset..end]);
                conn.supply_message_chunk(*id, chunk).unwrap();
                *offset = end;
            }
            assert!(
                conn.pending_output() <= bound,
                "pending {}",
                conn.pending_output()
            );
        }
        let chunk = conn.poll_transmit().expect("more output");
        assert!(chunk.len() <= bound, "chunk of {}", chunk.len());
        assert!(
            conn.pending_output() <= bound,
            "pending {}",
            conn.pending_output()
        );
        drained += chunk.len();
    }
    assert!(requests >= 10, "{requests} messages sent");
    assert!(!conn.is_closed());
}

#[test]
fn security_41_input_while_output_full_stays_capped() {
    let now = Instant::now();
    let listing: Vec<MessageInfo> = (0..3000)
        .map(|i| (4_000_000_000u64 + i, format!("u{i}")).into())
        .collect();
    let mut conn = logged_in_with(cleartext(), now, listing);
    let flood = "LIST\r\n".repeat(10_000);
    conn.handle_input(flood.as_bytes(), now);
    assert!(conn.is_output_full());
    // More pipelined commands while nothing is read: the backlog limit
    // (max_pending_input) ends the session instead of buffering without end.
    conn.handle_input(flood.as_bytes(), now);
    let events = events(&mut conn);
    assert!(matches!(
        events.last(),
        Some(Event::Closed { committed: false })
    ));
    assert!(conn.is_closed());
}

// ----- SECURITY.md line 22: an endless SASL exchange -----

/// A mechanism that never stops asking.
#[derive(Debug)]
struct Endless;

impl postwerk_pop3::sasl::server::ServerMechanism for Endless {
    fn name(&self) -> &str {
        "X-ENDLESS"
    }
    fn step(&mut self, _: Option<&[u8]>) -> postwerk_pop3::sasl::server::ServerStep {
        postwerk_pop3::sasl::server::ServerStep::Challenge(b"more".to_vec())
    }
    fn answer(
        &mut self,
        _: postwerk_pop3::sasl::server::Answer,
    ) -> postwerk_pop3::sasl::server::ServerStep {
        postwerk_pop3::sasl::server::ServerStep::Failure(postwerk_pop3::sasl::Failure::Rejected)
    }
}

fn endless_config() -> Config {
    use postwerk_pop3::sasl::server::{Requirement, ServerMechanisms};
    let mut m = ServerMechanisms::new();
    m.register(
        "X-ENDLESS",
        Requirement::None,
        Box::new(|_| Ok(Box::new(Endless))),
    )
    .unwrap();
    let mut c = Config::default();
    c.sasl = std::sync::Arc::new(m);
    c
}

#[test]
fn security_22_endless_sasl_exchange_memory_stays_flat() {
    let now = Instant::now();
    let mut config = endless_config();
    // Never closed for errors: the exchange itself must end, and memory
    // must stay flat however long the peer goes on.
    config.max_errors = u32::MAX;
    let steps = config.max_sasl_steps;
    let mut conn = Connection::new(config, now);
    output(&mut conn);
    conn.handle_input(b"AUTH X-ENDLESS\r\n", now);
    assert_eq!(output(&mut conn), "+ bW9yZQ==\r\n");
    let response = b"eHh4\r\n".repeat(64);
    let (mut fed, mut peak, mut challenges, mut too_many) = (0usize, 0usize, 0usize, 0usize);
    let mut first = String::new();
    while fed < 1 << 20 {
        conn.handle_input(&response, now);
        fed += response.len();
        peak = peak.max(conn.buffered_input() + conn.pending_output());
        let out = output(&mut conn);
        if first.is_empty() {
            first = out.clone();
        }
        challenges += out.matches("+ bW9yZQ==").count();
        too_many += out.matches("round trips").count();
        assert!(events(&mut conn).is_empty());
    }
    assert!(!conn.is_closed());
    // The exchange ended after the configured number of responses, with an
    // -ERR naming why; the rest were refused as commands.
    assert_eq!(challenges, steps - 1);
    assert_eq!(too_many, 1);
    assert!(
        first.contains(&format!(
            "-ERR the exchange exceeded {steps} round trips\r\n"
        )),
        "{first}"
    );
    assert!(peak <= 64 * 1024, "peak {peak} octets for 1 MiB of input");

    // Restarting the exchange again and again closes the session after
    // the error limit (default 20).
    let mut conn = Connection::new(endless_config(), now);
    output(&mut conn);
    let mut round = b"AUTH X-ENDLESS\r\n".to_vec();
    round.extend_from_slice(&b"eHh4\r\n".repeat(steps));
    let mut rounds = 0;
    while !conn.is_closed() && rounds < 1000 {
        conn.handle_input(&round, now);
        assert!(conn.buffered_input() + conn.pending_output() <= 64 * 1024);
        output(&mut conn);
        rounds += 1;
    }
    assert!(conn.is_closed());
    assert!(rounds <= 20, "{rounds} exchanges before closing");
}

#[test]
fn security_22_endless_sasl_response_line_memory_stays_flat() {
    let now = Instant::now();
    let mut conn = Connection::new(endless_config(), now);
    output(&mut conn);
    conn.handle_input(b"AUTH X-ENDLESS\r\n", now);
    output(&mut conn);
    let junk = vec![b'A'; 64 * 1024];
    let max_line = Config::default().max_sasl_line;
    for _ in 0..16 {
        conn.handle_input(&junk, now);
        assert!(conn.buffered_input() <= max_line);
    }
    assert_eq!(output(&mut conn), "-ERR line too long\r\n");
    // The exchange is over: the next line is a command again.
    conn.handle_input(b"\r\nCAPA\r\n", now);
    assert!(output(&mut conn).starts_with("+OK capability list follows\r\n"));
}

#[test]
fn security_12_sasl_bad_credentials_are_delayed_auth_errors() {
    use postwerk_pop3::sasl::server::Answer;
    let now = Instant::now();
    let mut config = Config::default();
    config.tls_active = true;
    config.max_auth_failures = 2;
    let delay = config.auth_failure_delay;
    let mut conn = Connection::new(config, now);
    output(&mut conn);
    for round in 0..2 {
        conn.handle_input(b"AUTH PLAIN AGFsaWNlAHdyb25n\r\n", now);
        let Some(Event::SaslVerify { id, .. }) = conn.poll_event() else {
            panic!("no verify event")
        };
        conn.answer_sasl(id, Answer::Reject).unwrap();
        assert_eq!(output(&mut conn), "", "the failure is delayed");
        assert_eq!(conn.poll_timeout(), Some(now + delay));
        conn.handle_timeout(now + delay);
        let out = output(&mut conn);
        if round == 0 {
            assert_eq!(out, "-ERR [AUTH] authentication failed\r\n");
        } else {
            assert_eq!(out, "-ERR [AUTH] too many failed logins, closing\r\n");
        }
    }
    assert!(conn.is_closed());
}

#[test]
fn security_13_apop_digest_helper_on_both_sides() {
    let now = Instant::now();
    let ts = "<1896.697170952@dbc.mtview.ca.us>";
    let mut config = Config::default();
    config.apop = Some(ApopTimestamp::new(ts).unwrap());
    let mut conn = Connection::new(config, now);
    output(&mut conn);
    let digest = postwerk_pop3::apop_digest(ts, "tanstaaf");
    assert_eq!(digest, "c4c9334bac560ecc979e58001b3e22fb");
    conn.handle_input(format!("APOP mrose {digest}\r\n").as_bytes(), now);
    let Some(Event::Login {
        id,
        credentials: Credentials::Apop {
            digest, timestamp, ..
        },
    }) = conn.poll_event()
    else {
        panic!("no APOP login")
    };
    // The application recomputes the digest from its stored secret.
    assert_eq!(digest, postwerk_pop3::apop_digest(&timestamp, "tanstaaf"));
    assert_ne!(digest, postwerk_pop3::apop_digest(&timestamp, "tanstaag"));
    conn.accept_login(id, Vec::new()).unwrap();
    assert!(output(&mut conn).starts_with("+OK"));
    assert_eq!(conn.authenticated(), Some("mrose"));
}
