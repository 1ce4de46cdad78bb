//! Server machine bugs found in review (issue 10), each shown by a test that failed before
//! the fix: RSET/EHLO/STARTTLS during BDAT, the identity of an application-run SASL
//! exchange, and deadlines from configured durations that cannot be represented.

mod server_support;

use std::time::{Duration, Instant};

use postwerk_smtp::codec::reply::Reply;
use std::sync::Arc;

use postwerk_smtp::sasl::Failure;
use postwerk_smtp::sasl::server::{
    Answer, Requirement, Secret, ServerMechanism, ServerMechanisms, ServerStep, Success, Verify,
};
use postwerk_smtp::server::{
    AbortReason, Config, Connection, Credentials, Decision, Event, UsageError,
};
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

/// The application's own mechanism: the client sends a token, the application says
/// whom it identifies.
#[derive(Debug)]
struct XToken;

impl ServerMechanism for XToken {
    fn name(&self) -> &str {
        "X-TOKEN"
    }

    fn step(&mut self, response: Option<&[u8]>) -> ServerStep {
        match response {
            None => ServerStep::Challenge(Vec::new()),
            Some(token) => ServerStep::Verify(Verify::Custom {
                mechanism: "X-TOKEN".into(),
                authcid: String::new(),
                authzid: None,
                secret: Secret::new(String::from_utf8_lossy(token)),
            }),
        }
    }

    fn answer(&mut self, answer: Answer) -> ServerStep {
        match answer {
            Answer::AcceptAs(who) => ServerStep::Success(Success::new(who, None)),
            _ => ServerStep::Failure(Failure::Rejected),
        }
    }
}

/// A session with an application-registered mechanism, waiting for the verification of
/// its first response.
fn exchange() -> (Harness, postwerk_smtp::server::RequestId) {
    let mut c = test_config();
    let mut mechs = ServerMechanisms::new();
    mechs
        .register(
            "X-TOKEN",
            Requirement::None,
            Box::new(|_| Ok(Box::new(XToken))),
        )
        .unwrap();
    c.sasl = Arc::new(mechs);
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
    let Event::SaslVerify {
        id,
        request: Verify::Custom { secret, .. },
    } = h.pending.remove(0)
    else {
        panic!("no exchange: {:?}", h.events)
    };
    assert_eq!(secret.expose(), "token-of-carol");
    (h, id)
}

#[test]
fn sasl_exchange_records_the_identity_the_application_confirmed() {
    let (mut h, id) = exchange();
    let now = h.now;
    h.conn
        .answer_sasl(id, Answer::AcceptAs("carol@example.org".into()), now)
        .unwrap();
    h.drain();
    let Event::Login { id, credentials } = h.pending.remove(0) else {
        panic!("{:?}", h.events)
    };
    assert_eq!(
        credentials,
        Credentials::Sasl {
            mechanism: "X-TOKEN".into(),
            authcid: "carol@example.org".into(),
            authzid: None
        }
    );
    h.conn.respond(id, Decision::Accept, now).unwrap();
    h.drain();
    assert_eq!(h.take_output(), "235 2.7.0 Authentication successful\r\n");
    assert_eq!(h.conn.authenticated(), Some("carol@example.org"));
    // The submission policy sees the same identity at MAIL.
    h.feed(b"MAIL FROM:<carol@example.org>\r\n");
    assert!(matches!(h.pending.remove(0), Event::Mail { .. }));
    assert_eq!(h.conn.authenticated(), Some("carol@example.org"));
}

#[test]
fn sasl_verification_is_answered_with_answer_sasl_or_rejected() {
    let (mut h, id) = exchange();
    let now = h.now;
    // A bare Accept through `respond` names nobody: refused.
    let answer = h.conn.respond(id, Decision::Accept, now);
    assert_eq!(answer, Err(UsageError::InvalidDecision(id)));
    assert_eq!(h.conn.authenticated(), None);
    let with = Decision::AcceptWith(Reply::auth_succeeded());
    assert_eq!(
        h.conn.respond(id, with, now),
        Err(UsageError::InvalidDecision(id))
    );
    // A temporary failure of the application's is a reply of its own.
    h.conn
        .respond(id, Decision::Reject(Reply::auth_temporary_failure()), now)
        .unwrap();
    h.drain();
    assert_eq!(
        h.take_output(),
        "454 4.7.0 Temporary authentication failure\r\n"
    );
    assert_eq!(h.conn.authenticated(), None);
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
    let Event::SaslVerify {
        id,
        request: Verify::Password { authcid, .. },
    } = h.pending.remove(0)
    else {
        panic!()
    };
    assert_eq!(authcid, "Alice");
    let now = h.now;
    h.conn.answer_sasl(id, Answer::Accept, now).unwrap();
    h.drain();
    let Event::Login { id, .. } = h.pending.remove(0) else {
        panic!()
    };
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
        let _ = conn.handle_input(input, now);
        while let Some(ev) = conn.poll_event() {
            match ev {
                Event::Mail { id, .. } | Event::Rcpt { id, .. } | Event::DataEnd { id, .. } => {
                    conn.respond(id, Decision::Accept, now).unwrap();
                }
                Event::SaslVerify { id, .. } => {
                    conn.answer_sasl(id, Answer::Reject, now).unwrap();
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
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| session_with(c, step)));
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
