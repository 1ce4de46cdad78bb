//! Server machine bugs found in review (issue 10), each shown by a test that failed before
//! the fix: RSET/EHLO/STARTTLS during BDAT, the identity of an application-run SASL
//! exchange, and deadlines from configured durations that cannot be represented.

mod server_support;

use std::time::{Duration, Instant};

use postwerk_smtp::codec::reply::Reply;
use postwerk_smtp::codec::sasl::Mechanism;
use postwerk_smtp::server::{AbortReason, Config, Connection, Decision, Event, UsageError};
use server_support::{App, Harness, test_config};

const EHLO: &[u8] = b"EHLO c.example\r\n";

/// A session inside a BDAT transaction: one chunk received, no LAST yet.
fn in_bdat(config: Config) -> Harness {
    let mut h = Harness::new(config, App::default());
    h.feed(EHLO);
    h.feed(b"MAIL FROM:<a@c.example>\r\nRCPT TO:<b@mx.test>\r\n");
    h.feed(b"BDAT 5\r\nhello");
    let out = h.take_output();
    assert!(out.ends_with("250 2.0.0 5 octets received\r\n"), "{out}");
    assert!(h.events.iter().any(|e| e == "data-start"));
    h
}

#[test]
fn rset_during_bdat_aborts_the_partial_body() {
    let mut h = in_bdat(test_config());
    h.feed(b"RSET\r\n");
    assert_eq!(h.take_output(), "250 2.0.0 Reset OK\r\n");
    let aborted: Vec<&String> = h
        .events
        .iter()
        .filter(|e| e.starts_with("data-aborted"))
        .collect();
    assert_eq!(aborted.len(), 1, "{:?}", h.events);
    assert_eq!(
        aborted[0],
        &format!("data-aborted {:?}", AbortReason::Reset)
    );
    // The harness drops the partial body when told: nothing of "hello" is left.
    assert!(h.body.is_empty(), "{:?}", h.body);
    // The aborted event comes before Reset, and a new transaction starts clean.
    let pos = |name: &str| h.events.iter().position(|e| e.starts_with(name));
    assert!(pos("data-aborted") < pos("reset"));
    h.feed(b"MAIL FROM:<a@c.example>\r\nRCPT TO:<b@mx.test>\r\nBDAT 3 LAST\r\nnew");
    assert!(h.take_output().ends_with("250 2.0.0 Message accepted\r\n"));
    assert_eq!(h.body, b"new");
}

#[test]
fn ehlo_and_helo_during_bdat_abort_the_partial_body() {
    for hello in [&b"EHLO again.example\r\n"[..], b"HELO again.example\r\n"] {
        let mut h = in_bdat(test_config());
        h.feed(hello);
        assert!(
            h.events
                .iter()
                .any(|e| *e == format!("data-aborted {:?}", AbortReason::Reset)),
            "{hello:?}: {:?}",
            h.events
        );
        assert!(h.body.is_empty());
        // BDAT LAST now has no transaction.
        h.take_output();
        h.feed(b"BDAT 1 LAST\r\nx");
        let out = h.take_output();
        assert!(out.starts_with("503 ") || out.starts_with("502 "), "{out}");
        assert_eq!(
            h.events
                .iter()
                .filter(|e| e.starts_with("data-end"))
                .count(),
            0,
            "{:?}",
            h.events
        );
    }
}

#[test]
fn starttls_during_bdat_aborts_the_partial_body() {
    let mut c = test_config();
    c.extensions.starttls = true;
    let mut h = in_bdat(c);
    h.feed(b"STARTTLS\r\n");
    assert_eq!(h.take_output(), "220 2.0.0 Ready to start TLS\r\n");
    assert!(
        h.events
            .iter()
            .any(|e| *e == format!("data-aborted {:?}", AbortReason::Reset)),
        "{:?}",
        h.events
    );
}

#[test]
fn rset_without_bdat_does_not_report_an_abort() {
    let mut h = Harness::new(test_config(), App::default());
    h.feed(EHLO);
    h.feed(b"MAIL FROM:<a@c.example>\r\nRCPT TO:<b@mx.test>\r\nRSET\r\n");
    assert!(h.events.iter().any(|e| e == "reset"));
    assert!(!h.events.iter().any(|e| e.starts_with("data-aborted")));
}

/// A session with an application-run mechanism, waiting for the decision on its first
/// response.
fn exchange() -> (Harness, postwerk_smtp::server::RequestId) {
    let mut c = test_config();
    c.auth_mechanisms = vec![Mechanism::Other("X-TOKEN".into())];
    c.auth_required = true;
    let mut h = Harness::new(
        c,
        App {
            manual: true,
            ..App::default()
        },
    );
    h.feed(EHLO);
    assert!(h.take_output().contains("250-AUTH X-TOKEN\r\n"));
    // "token-of-carol" in base64.
    h.feed(b"AUTH X-TOKEN dG9rZW4tb2YtY2Fyb2w=\r\n");
    let Event::AuthExchange { id, response, .. } = h.pending.remove(0) else {
        panic!("no exchange: {:?}", h.events)
    };
    assert_eq!(response, b"token-of-carol");
    (h, id)
}

#[test]
fn sasl_exchange_records_the_identity_the_application_confirmed() {
    let (mut h, id) = exchange();
    let now = h.now;
    h.conn
        .respond(id, Decision::Authenticated("carol@example.org".into()), now)
        .unwrap();
    h.drain();
    assert_eq!(h.take_output(), "235 2.7.0 Authentication successful\r\n");
    assert_eq!(h.conn.authenticated(), Some("carol@example.org"));
    // The submission policy sees the same identity at MAIL.
    h.feed(b"MAIL FROM:<carol@example.org>\r\n");
    assert!(matches!(h.pending.remove(0), Event::Mail { .. }));
    assert_eq!(h.conn.authenticated(), Some("carol@example.org"));
}

#[test]
fn sasl_exchange_is_never_authenticated_as_the_mechanism_name() {
    let (mut h, id) = exchange();
    let now = h.now;
    // A bare Accept names nobody: the machine cannot know who logged in.
    let answer = h.conn.respond(id, Decision::Accept, now);
    assert_ne!(h.conn.authenticated(), Some("X-TOKEN"));
    assert_eq!(answer, Err(UsageError::InvalidDecision(id)));
    assert_eq!(h.conn.authenticated(), None);
    let with = Decision::AcceptWith(Reply::auth_succeeded());
    assert_eq!(
        h.conn.respond(id, with, now),
        Err(UsageError::InvalidDecision(id))
    );
    // The request is still open and can be answered properly.
    h.conn
        .respond(id, Decision::Authenticated("carol".into()), now)
        .unwrap();
    assert_eq!(h.conn.authenticated(), Some("carol"));
}

#[test]
fn plain_login_can_be_recorded_under_a_canonical_identity() {
    let mut c = test_config();
    c.allow_plaintext_auth = true;
    let mut h = Harness::new(
        c,
        App {
            manual: true,
            ..App::default()
        },
    );
    h.feed(EHLO);
    // authcid "Alice", password "secret"
    h.feed(b"AUTH PLAIN AEFsaWNlAHNlY3JldA==\r\n");
    let Event::Auth { id, authcid, .. } = h.pending.remove(0) else {
        panic!()
    };
    assert_eq!(authcid, "Alice");
    let now = h.now;
    h.conn
        .respond(id, Decision::Authenticated("alice@example.org".into()), now)
        .unwrap();
    assert_eq!(h.conn.authenticated(), Some("alice@example.org"));
    // Not an answer to MAIL.
    h.drain();
    h.take_output();
    h.feed(b"MAIL FROM:<a@c.example>\r\n");
    let Event::Mail { id, .. } = h.pending.remove(0) else {
        panic!()
    };
    assert_eq!(
        h.conn.respond(id, Decision::Authenticated("x".into()), now),
        Err(UsageError::InvalidDecision(id))
    );
}

/// Runs a whole session on `config`, with time moving by `step` between inputs, and lets
/// every deadline pass: nothing may panic.
fn session_with(config: Config, step: Duration) {
    let start = Instant::now();
    let mut now = start;
    let mut conn = Connection::new(config, now);
    let _ = conn.poll_timeout();
    let feed = |conn: &mut Connection, input: &[u8], now: Instant| {
        let _ = conn.poll_transmit();
        conn.handle_input(input, now);
        while let Some(ev) = conn.poll_event() {
            match ev {
                Event::Mail { id, .. } | Event::Rcpt { id, .. } | Event::DataEnd { id, .. } => {
                    conn.respond(id, Decision::Accept, now).unwrap();
                }
                Event::Auth { id, .. } => {
                    let reject = Decision::Reject(Reply::auth_invalid_credentials());
                    conn.respond(id, reject, now).unwrap();
                }
                _ => {}
            }
        }
        let _ = conn.poll_timeout();
        conn.handle_timeout(now);
        let _ = conn.poll_transmit();
    };
    now = now.checked_add(step).unwrap_or(now);
    conn.handle_timeout(now);
    for input in [
        &b"EHLO c.example\r\n"[..],
        b"AUTH PLAIN AGFsaWNlAHdyb25n\r\n",
        b"MAIL FROM:<a@c.example>\r\n",
        b"RCPT TO:<b@mx.test>\r\n",
        b"DATA\r\n",
        b"body\r\n",
        b".\r\n",
        b"BDAT 3\r\nabc",
    ] {
        feed(&mut conn, input, now);
        now = now.checked_add(step).unwrap_or(now);
        conn.handle_timeout(now);
    }
    // Far in the future, every deadline that exists has passed.
    let later = start + Duration::from_secs(100 * 365 * 24 * 3600);
    conn.handle_timeout(later);
    let _ = conn.poll_timeout();
    let _ = conn.poll_transmit();
}

#[test]
fn duration_max_in_any_server_timeout_never_panics() {
    type Set = fn(&mut Config);
    let setters: [(&str, Set); 4] = [
        ("command", |c| c.timeouts.command = Duration::MAX),
        ("data", |c| c.timeouts.data = Duration::MAX),
        ("greeting_delay", |c| {
            c.timeouts.greeting_delay = Duration::MAX
        }),
        ("auth_failure_delay", |c| {
            c.timeouts.auth_failure_delay = Duration::MAX
        }),
    ];
    for (name, set) in setters {
        for step in [Duration::ZERO, Duration::from_secs(400)] {
            let mut c = test_config();
            c.allow_plaintext_auth = true;
            c.reject_early_talkers = false;
            set(&mut c);
            let result = std::panic::catch_unwind(|| session_with(c, step));
            assert!(result.is_ok(), "Duration::MAX in timeouts.{name} panicked");
        }
    }
}

#[test]
fn unrepresentable_deadlines_mean_no_deadline() {
    let now = Instant::now();
    // No greeting deadline that cannot be represented, and no panic computing it.
    let mut c = Config::new("mx.test");
    c.timeouts.command = Duration::MAX;
    let mut conn = Connection::new(c, now);
    assert!(conn.poll_transmit().is_some());
    assert_eq!(conn.poll_timeout(), None);
    conn.handle_timeout(now + Duration::from_secs(3600));
    assert!(!conn.is_closed());
    // A failed-AUTH delay that cannot be represented holds the reply; the command
    // timeout still ends the session.
    let mut c = test_config();
    c.allow_plaintext_auth = true;
    c.timeouts.auth_failure_delay = Duration::MAX;
    let mut h = Harness::new(c, App::default());
    h.feed(EHLO);
    h.take_output();
    h.feed(b"AUTH PLAIN AGFsaWNlAHdyb25n\r\n");
    assert_eq!(h.take_output(), "");
    assert_eq!(
        h.conn.poll_timeout(),
        Some(h.now + Duration::from_secs(300))
    );
    h.advance(Duration::from_secs(300));
    assert!(h.take_output().starts_with("421 4.4.2"));
    assert!(h.conn.is_closed());
}
