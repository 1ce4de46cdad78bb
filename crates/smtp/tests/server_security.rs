//! SECURITY.md, sections "Line endings", "Pipelining", the SMTP parts of "TLS and
//! authentication" and "Limits": one machine test per line, named after it.

mod server_support;

use std::time::{Duration, Instant};

use postwerk_smtp::codec::Leniency;
use postwerk_smtp::codec::reply::Reply;
use postwerk_smtp::sasl::server::{Answer, Verify};
use postwerk_smtp::server::{
    BareLineEndings, CloseReason, Config, Connection, Decision, Event, PipeliningPolicy,
};
use server_support::{App, Harness, test_config};

const EHLO: &[u8] = b"EHLO c.example\r\n";

fn session(config: Config) -> Harness {
    let mut h = Harness::new(config, App::default());
    h.feed(EHLO);
    h.take_output();
    h
}

fn in_data(config: Config) -> Harness {
    let mut h = session(config);
    h.feed(b"MAIL FROM:<a@c.example>\r\n");
    h.feed(b"RCPT TO:<b@mx.test>\r\n");
    h.feed(b"DATA\r\n");
    let out = h.take_output();
    assert!(
        out.ends_with("354 Start mail input; end with <CRLF>.<CRLF>\r\n"),
        "{out}"
    );
    h
}

fn count(h: &Harness, prefix: &str) -> usize {
    h.events.iter().filter(|e| e.starts_with(prefix)).count()
}

#[test]
fn security_01_only_crlf_dot_crlf_ends_data() {
    let fakes: [&[u8]; 7] = [
        b"\n.\n",
        b"\n.\r\n",
        b"\r\n.\n",
        b"\r.\r",
        b"\r.\r\n",
        b"\r\r\n.\r\r\n",
        b"\r\n\0.\r\n",
    ];
    for fake in fakes {
        for policy in [BareLineEndings::Reject, BareLineEndings::Normalize] {
            let mut c = test_config();
            c.bare_line_endings = policy;
            let mut h = in_data(c);
            let mut input = b"hello".to_vec();
            input.extend_from_slice(fake);
            input.extend_from_slice(b"MAIL FROM:<evil@x.example>\r\nRCPT TO:<v@mx.test>\r\n");
            h.feed(&input);
            assert_eq!(count(&h, "data-end"), 0, "{fake:?} ended the data");
            assert_eq!(h.take_output(), "", "{fake:?} produced replies");
            h.feed(b"\r\n.\r\n");
            assert_eq!(
                count(&h, "mail "),
                1,
                "{fake:?} started a second transaction"
            );
            let out = h.take_output();
            let bare = fake != b"\r\n\0.\r\n";
            if bare && policy == BareLineEndings::Reject {
                assert_eq!(out, "554 5.6.0 Message contains bare CR or bare LF\r\n");
            } else {
                assert_eq!(out, "250 2.0.0 Message accepted\r\n", "{fake:?}");
                let body = String::from_utf8_lossy(&h.body).into_owned();
                assert!(body.contains("MAIL FROM:<evil@x.example>"), "{body:?}");
            }
        }
    }
}

#[test]
fn security_02_bare_line_endings_follow_the_policy() {
    // Reject (default): the message is read to its end, then refused; never cut short.
    let mut h = in_data(test_config());
    h.feed(b"a\nb\r\nc\r\n");
    assert_eq!(h.take_output(), "");
    h.feed(b".\r\n");
    assert_eq!(
        h.take_output(),
        "554 5.6.0 Message contains bare CR or bare LF\r\n"
    );
    assert!(h.events.iter().any(|e| e == "data-aborted BareLineEnding"));
    assert_eq!(count(&h, "data-end"), 0);
    // In a command line.
    h.feed(b"NOOP\n");
    assert_eq!(
        h.take_output(),
        "500 5.5.2 Command line contains bare CR or bare LF\r\n"
    );

    // Normalize: stored with CRLF.
    let mut c = test_config();
    c.bare_line_endings = BareLineEndings::Normalize;
    let mut h = in_data(c);
    h.feed(b"a\nb\rc\r\n.\r\n");
    assert_eq!(h.take_output(), "250 2.0.0 Message accepted\r\n");
    assert_eq!(h.body, b"a\r\nb\r\nc\r\n");

    // Close: 421 and closed.
    let mut c = test_config();
    c.bare_line_endings = BareLineEndings::Close;
    let mut h = in_data(c);
    h.feed(b"a\nb");
    assert_eq!(
        h.take_output(),
        "421 4.5.0 mx.test Protocol error: bare CR or LF, closing connection\r\n"
    );
    assert!(h.conn.is_closed());
    assert!(h.events.iter().any(|e| e == "closing BareLineEnding"));
}

#[test]
fn security_03_dot_unstuffing_removes_exactly_one_dot() {
    let mut h = in_data(test_config());
    h.feed(b"..\r\n...two\r\n.x\r\n x.\r\n.\r\n");
    assert_eq!(h.take_output(), "250 2.0.0 Message accepted\r\n");
    assert_eq!(h.body, b".\r\n..two\r\nx\r\n x.\r\n");
}

#[test]
fn security_05_early_talker_gets_554_and_close() {
    // Input before the greeting was handed to the driver.
    let mut c = test_config();
    c.timeouts.greeting_delay = Duration::from_secs(3);
    let mut h = Harness::new(c, App::default());
    assert_eq!(h.take_output(), "");
    h.feed(EHLO);
    assert_eq!(
        h.take_output(),
        "554 Protocol error: client sent data before the greeting\r\n"
    );
    assert!(h.conn.is_closed());
    assert!(h.events.iter().any(|e| e == "closing EarlyTalker"));

    // Without a delay: the greeting is queued but not yet taken by the driver.
    let now = std::time::Instant::now();
    let mut conn = postwerk_smtp::server::Connection::new(test_config(), now);
    let _ = conn.handle_input(EHLO, now);
    let out = conn.poll_transmit().unwrap();
    assert_eq!(
        &out[..],
        b"554 Protocol error: client sent data before the greeting\r\n"
    );
    assert!(conn.is_closed());

    // A patient client is served after the delay.
    let mut c = test_config();
    c.timeouts.greeting_delay = Duration::from_secs(3);
    let mut h = Harness::new(c, App::default());
    h.advance(Duration::from_secs(3));
    assert_eq!(h.take_output(), "220 mx.test ESMTP postwerk\r\n");
    h.feed(b"HELO c.example\r\n");
    assert_eq!(h.take_output(), "250 mx.test\r\n");

    // With the check off, early input waits for the greeting; nothing is answered first.
    let mut c = test_config();
    c.timeouts.greeting_delay = Duration::from_secs(3);
    c.reject_early_talkers = false;
    let mut h = Harness::new(c, App::default());
    h.feed(b"HELO c.example\r\n");
    assert_eq!(h.take_output(), "");
    h.advance(Duration::from_secs(3));
    assert_eq!(
        h.take_output(),
        "220 mx.test ESMTP postwerk\r\n250 mx.test\r\n"
    );
}

#[test]
fn security_06_pipelined_commands_are_answered_in_order_never_out_of_turn() {
    let mut h = Harness::new(
        test_config(),
        App {
            manual: true,
            ..App::default()
        },
    );
    h.feed(EHLO);
    h.take_output();
    h.feed(b"MAIL FROM:<a@c.example>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\nbody\r\n");
    // Only the MAIL decision is asked for; nothing later has run.
    assert_eq!(h.pending.len(), 1);
    assert!(matches!(h.pending[0], Event::Mail { .. }));
    assert_eq!(h.take_output(), "");
    let now = h.now;
    let Event::Mail { id, .. } = h.pending.remove(0) else {
        unreachable!()
    };
    h.conn.respond(id, Decision::Accept, now).unwrap();
    h.drain();
    assert_eq!(h.take_output(), "250 2.1.0 Sender OK\r\n");
    let Event::Rcpt { id, .. } = h.pending.remove(0) else {
        unreachable!()
    };
    h.conn.respond(id, Decision::Accept, now).unwrap();
    h.drain();
    assert_eq!(
        h.take_output(),
        "250 2.1.5 Recipient OK\r\n354 Start mail input; end with <CRLF>.<CRLF>\r\n"
    );

    // Under the Reject policy, input behind a command that must end a group closes.
    for (setup, input) in [
        (
            &b""[..],
            &b"EHLO c.example\r\nMAIL FROM:<a@c.example>\r\n"[..],
        ),
        (EHLO, b"NOOP\r\nNOOP\r\n"),
        (
            EHLO,
            b"MAIL FROM:<a@c.example>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\nbody\r\n",
        ),
        (
            b"HELO c.example\r\n",
            b"MAIL FROM:<a@c.example>\r\nRCPT TO:<b@mx.test>\r\n",
        ),
    ] {
        let mut c = test_config();
        c.pipelining_policy = PipeliningPolicy::Reject;
        let mut h = Harness::new(c, App::default());
        h.feed(setup);
        h.take_output();
        h.feed(input);
        let out = h.take_output();
        assert!(
            out.ends_with("554 5.5.0 Protocol error: pipelining not allowed\r\n")
                || out.ends_with("554 Protocol error: pipelining not allowed\r\n"),
            "{input:?}: {out}"
        );
        assert!(h.conn.is_closed());
        assert!(
            h.events
                .iter()
                .any(|e| e == "closing UnauthorizedPipelining")
        );
    }
    // The same policy lets a proper RFC 2920 group through.
    let mut c = test_config();
    c.pipelining_policy = PipeliningPolicy::Reject;
    let mut h = session(c);
    h.feed(b"MAIL FROM:<a@c.example>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\n");
    assert!(!h.conn.is_closed());
    assert!(
        h.take_output()
            .ends_with("354 Start mail input; end with <CRLF>.<CRLF>\r\n")
    );
}

#[test]
fn security_07_out_of_sequence_commands_get_503() {
    let mut h = session(test_config());
    h.feed(b"RCPT TO:<b@mx.test>\r\n");
    assert!(h.take_output().starts_with("503 5.5.1"));
    h.feed(b"DATA\r\n");
    assert!(h.take_output().starts_with("503 5.5.1"));
    h.feed(b"MAIL FROM:<a@c.example>\r\n");
    assert_eq!(h.take_output(), "250 2.1.0 Sender OK\r\n");
    h.feed(b"DATA\r\n");
    assert_eq!(h.take_output(), "503 5.5.1 No valid recipients\r\n");
    h.feed(b"MAIL FROM:<a@c.example>\r\n");
    assert!(h.take_output().starts_with("503 5.5.1"));
}

#[test]
fn security_08_argument_syntax_is_strict_with_a_named_lenient_setting() {
    let mut h = session(test_config());
    for bad in [
        &b"MAIL FROM:<>>>>>\r\n"[..],
        b"MAIL FROM:<a@c.example>junk\r\n",
        b"MAIL FROM: <a@c.example>\r\n",
        b"MAIL FROM:<a@c.example> SIZE=1 \r\n",
    ] {
        h.feed(bad);
        assert!(h.take_output().starts_with("501 "), "{bad:?}");
    }
    assert_eq!(count(&h, "mail "), 0);
    let mut c = test_config();
    c.leniency = Leniency {
        space_after_colon: true,
        ..Leniency::default()
    };
    let mut h = session(c);
    h.feed(b"MAIL FROM: <a@c.example>\r\n");
    assert_eq!(h.take_output(), "250 2.1.0 Sender OK\r\n");
}

#[test]
fn security_09_starttls_discards_buffered_input_and_resets_state() {
    let mut c = test_config();
    c.extensions.starttls = true;
    let mut h = session(c);
    h.feed(b"MAIL FROM:<a@c.example>\r\n");
    h.take_output();
    h.feed(b"STARTTLS\r\nNOOP\r\n");
    assert_eq!(h.take_output(), "220 2.0.0 Ready to start TLS\r\n");
    assert!(h.events.iter().any(|e| e == "starttls"));
    // Bytes arriving before the handshake completes are not commands either.
    h.feed(b"NOOP\r\n");
    h.tls_established();
    assert_eq!(
        h.take_output(),
        "",
        "the NOOP must not be answered inside TLS"
    );
    assert!(h.conn.is_tls_active());
    // The EHLO and the transaction are forgotten.
    h.feed(b"RCPT TO:<b@mx.test>\r\n");
    assert!(h.take_output().starts_with("503 "));
    h.feed(EHLO);
    let ehlo = h.take_output();
    assert!(!ehlo.contains("STARTTLS"));
    h.feed(b"STARTTLS\r\n");
    assert_eq!(h.take_output(), "503 5.5.1 TLS already active\r\n");
}

#[test]
fn security_11_no_plaintext_mechanism_in_cleartext_unless_allowed() {
    let mut c = test_config();
    c.extensions.starttls = true;
    let mut h = Harness::new(c.clone(), App::default());
    h.feed(EHLO);
    let ehlo = h.take_output();
    assert!(!ehlo.contains("AUTH"), "{ehlo}");
    for cmd in [&b"AUTH PLAIN AGEAYg==\r\n"[..], b"AUTH LOGIN\r\n"] {
        h.feed(cmd);
        assert_eq!(
            h.take_output(),
            "538 5.7.11 Encryption required for requested authentication mechanism\r\n"
        );
    }
    assert_eq!(count(&h, "auth"), 0);
    c.allow_plaintext_auth = true;
    let mut h = Harness::new(c, App::default());
    h.feed(EHLO);
    assert!(h.take_output().contains("250-AUTH PLAIN LOGIN\r\n"));
}

#[test]
fn security_12_auth_rules_and_failure_limits() {
    let mut c = test_config();
    c.allow_plaintext_auth = true;
    c.timeouts.auth_failure_delay = Duration::from_secs(2);
    let app = App {
        password: Some("secret".into()),
        ..App::default()
    };
    // `*` cancels with 501.
    let mut h = Harness::new(c.clone(), app.clone());
    h.feed(EHLO);
    h.take_output();
    h.feed(b"AUTH PLAIN\r\n");
    assert_eq!(h.take_output(), "334 \r\n");
    h.feed(b"*\r\n");
    assert_eq!(h.take_output(), "501 5.7.0 Authentication cancelled\r\n");
    // Bad credentials: 535 5.7.8, after the delay.
    h.feed(b"AUTH PLAIN AGFsaWNlAHdyb25n\r\n");
    assert_eq!(h.take_output(), "");
    assert_eq!(h.conn.poll_timeout(), Some(h.now + Duration::from_secs(2)));
    h.advance(Duration::from_secs(2));
    assert_eq!(
        h.take_output(),
        "535 5.7.8 Authentication credentials invalid\r\n"
    );
    // In a transaction: 503.
    h.feed(b"MAIL FROM:<a@c.example>\r\n");
    h.take_output();
    h.feed(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
    assert_eq!(h.take_output(), "503 5.5.1 Bad sequence of commands\r\n");
    h.feed(b"RSET\r\n");
    h.take_output();
    // Success, then twice: 503.
    h.feed(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
    assert_eq!(h.take_output(), "235 2.7.0 Authentication successful\r\n");
    assert_eq!(h.conn.authenticated(), Some("alice"));
    h.feed(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
    assert_eq!(h.take_output(), "503 5.5.1 Bad sequence of commands\r\n");

    // A few failures close the connection.
    c.timeouts.auth_failure_delay = Duration::ZERO;
    let mut h = Harness::new(c, app);
    h.feed(EHLO);
    h.take_output();
    for _ in 0..3 {
        h.feed(b"AUTH PLAIN AGFsaWNlAHdyb25n\r\n");
    }
    let out = h.take_output();
    assert_eq!(out.matches("535 5.7.8").count(), 3);
    assert!(out.ends_with(
        "421 4.7.0 mx.test Too many failed authentication attempts, closing connection\r\n"
    ));
    assert!(h.conn.is_closed());
}

#[test]
fn security_17_submission_requires_login_before_mail() {
    let mut c = test_config();
    c.auth_required = true;
    c.allow_plaintext_auth = true;
    let mut h = Harness::new(
        c,
        App {
            password: Some("secret".into()),
            ..App::default()
        },
    );
    h.feed(EHLO);
    h.take_output();
    h.feed(b"MAIL FROM:<alice@c.example>\r\n");
    assert_eq!(h.take_output(), "530 5.7.0 Authentication required\r\n");
    h.feed(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
    h.take_output();
    h.feed(b"MAIL FROM:<alice@c.example>\r\n");
    assert_eq!(h.take_output(), "250 2.1.0 Sender OK\r\n");
}

#[test]
fn security_18_source_routes_are_dropped_before_the_application_sees_them() {
    let mut h = session(test_config());
    h.feed(b"MAIL FROM:<a@c.example>\r\nRCPT TO:<@mx.test:u@x.example>\r\n");
    assert!(
        h.events.iter().any(|e| e.starts_with("rcpt <u@x.example>")),
        "{:?}",
        h.events
    );
    // Quoted `@` stays in the local part; the domain the application checks is ours.
    h.feed(b"RCPT TO:<\"u@x\"@mx.test>\r\n");
    assert!(
        h.events
            .iter()
            .any(|e| e.starts_with("rcpt <\"u@x\"@mx.test>"))
    );
}

#[test]
fn security_21_limits_answer_with_the_right_codes() {
    let mut c = test_config();
    c.limits.max_message_size = 64 * 1024;
    c.limits.max_recipients = 100;
    // 500 line too long.
    let mut h = session(c.clone());
    let long = format!("NOOP {}\r\n", "x".repeat(4000));
    h.feed(long.as_bytes());
    assert_eq!(h.take_output(), "500 5.5.2 Line too long\r\n");
    // 512-octet lines and 64/255-octet parts are accepted.
    let local = "l".repeat(64);
    let domain = format!(
        "{}.{}.{}.{}",
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(63)
    );
    assert_eq!(domain.len(), 255);
    h.feed(format!("MAIL FROM:<{local}@{domain}>\r\n").as_bytes());
    assert_eq!(h.take_output(), "250 2.1.0 Sender OK\r\n");
    h.feed(format!("RCPT TO:<{local}l@{domain}>\r\n").as_bytes());
    assert!(h.take_output().starts_with("501 5.1.3"));
    // 452 4.5.3 past 100 recipients, earlier ones kept.
    for i in 0..101 {
        h.feed(format!("RCPT TO:<r{i}@mx.test>\r\n").as_bytes());
    }
    let out = h.take_output();
    assert_eq!(out.matches("250 2.1.5").count(), 100);
    assert!(out.ends_with("452 4.5.3 Too many recipients\r\n"));
    // 552 5.3.4 for SIZE= and while counting DATA (64 KiB messages pass).
    h.feed(b"DATA\r\n");
    h.feed(&vec![b'x'; 998]);
    for _ in 0..64 {
        h.feed(b"\r\n");
        h.feed(&[b'y'; 998]);
    }
    h.feed(b"\r\n.\r\n");
    assert!(h.take_output().ends_with("250 2.0.0 Message accepted\r\n"));
    h.feed(b"MAIL FROM:<a@c.example> SIZE=65537\r\n");
    assert_eq!(
        h.take_output(),
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    );
    h.feed(b"MAIL FROM:<a@c.example>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\n");
    h.take_output();
    h.feed(&vec![b'z'; 70 * 1024]);
    h.feed(b"\r\n.\r\n");
    assert!(
        h.take_output()
            .ends_with("552 5.3.4 Message size exceeds fixed maximum message size\r\n")
    );
    assert!(h.events.iter().any(|e| e == "data-aborted TooBig"));
    // ...and during BDAT.
    h.feed(b"MAIL FROM:<a@c.example>\r\nRCPT TO:<b@mx.test>\r\n");
    h.take_output();
    h.feed(format!("BDAT {} LAST\r\n", 70 * 1024).as_bytes());
    h.feed(&vec![b'z'; 70 * 1024]);
    assert_eq!(
        h.take_output(),
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    );
}

#[test]
fn security_22_memory_stays_flat_under_endless_input() {
    // 1 MiB without a line end.
    let mut h = session(test_config());
    let chunk = vec![b'a'; 64 * 1024];
    for _ in 0..16 {
        h.feed(&chunk);
        assert!(h.conn.buffered_input() < 16 * 1024);
    }
    h.feed(b"\r\nNOOP\r\n");
    assert_eq!(
        h.take_output(),
        "500 5.5.2 Line too long\r\n250 2.0.0 OK\r\n"
    );
    // An endless DATA: streamed out, nothing kept.
    let mut h = in_data(test_config());
    let line = b"0123456789012345678901234567890123456789\r\n".repeat(1000);
    for _ in 0..100 {
        h.feed(&line);
        assert_eq!(h.conn.buffered_input(), 0);
    }
    // An endless SASL line.
    let mut c = test_config();
    c.allow_plaintext_auth = true;
    let mut h = session(c);
    h.feed(b"AUTH LOGIN\r\n");
    h.take_output();
    for _ in 0..16 {
        h.feed(&chunk);
        assert!(h.conn.buffered_input() <= 16 * 1024);
    }
    h.feed(b"\r\n");
    assert_eq!(
        h.take_output(),
        "500 5.5.6 Authentication Exchange line is too long\r\n"
    );
    // Pipelined input while a decision is pending is bounded too.
    let mut h = Harness::new(
        test_config(),
        App {
            manual: true,
            ..App::default()
        },
    );
    h.feed(EHLO);
    h.feed(b"MAIL FROM:<a@c.example>\r\n");
    let big = vec![b'x'; 1024 * 1024];
    let taken = h.conn.handle_input(&big, h.now);
    assert!(taken < big.len());
    assert!(h.conn.buffered_input() <= h.conn.config().limits.max_pending_input);
}

#[test]
fn security_23_timeouts_close_idle_and_slow_sessions() {
    let mut h = session(test_config());
    let deadline = h.conn.poll_timeout().unwrap();
    assert_eq!(deadline, h.now + Duration::from_secs(300));
    // Dribbling bytes does not extend the command timeout.
    h.advance(Duration::from_secs(200));
    h.feed(b"NO");
    h.advance(Duration::from_secs(99));
    assert_eq!(h.take_output(), "");
    h.advance(Duration::from_secs(1));
    assert_eq!(
        h.take_output(),
        "421 4.4.2 mx.test Timeout, closing connection\r\n"
    );
    assert!(h.conn.is_closed());
    // In DATA: the timeout runs from the last input; the message is dropped.
    let mut h = in_data(test_config());
    h.advance(Duration::from_secs(250));
    h.feed(b"more\r\n");
    h.advance(Duration::from_secs(250));
    assert_eq!(h.take_output(), "");
    h.advance(Duration::from_secs(50));
    assert!(h.take_output().starts_with("421 4.4.2"));
    assert!(
        h.events
            .iter()
            .any(|e| e == "data-aborted ConnectionClosed")
    );
    // While the application decides, no timeout runs.
    let mut h = Harness::new(
        test_config(),
        App {
            manual: true,
            ..App::default()
        },
    );
    h.feed(EHLO);
    h.feed(b"MAIL FROM:<a@c.example>\r\n");
    assert_eq!(h.conn.poll_timeout(), None);
}

#[test]
fn security_24_too_many_errors_close_with_421() {
    let mut h = session(test_config());
    for _ in 0..19 {
        h.feed(b"BOGUS\r\n");
    }
    assert_eq!(h.take_output().matches("500 5.5.1").count(), 19);
    h.feed(b"BOGUS\r\n");
    assert_eq!(
        h.take_output(),
        "421 4.7.0 mx.test Too many errors, closing connection\r\n"
    );
    assert!(h.conn.is_closed());
    assert!(h.events.iter().any(|e| e == "closing TooManyErrors"));
}

#[test]
fn application_decisions_are_checked() {
    let mut h = Harness::new(
        test_config(),
        App {
            manual: true,
            ..App::default()
        },
    );
    h.feed(EHLO);
    h.feed(b"MAIL FROM:<a@c.example>\r\n");
    let Event::Mail { id, .. } = h.pending.remove(0) else {
        unreachable!()
    };
    let now = h.now;
    assert!(
        h.conn
            .respond(id, Decision::Reject(Reply::ok()), now)
            .is_err()
    );
    assert!(
        h.conn
            .respond(id, Decision::Authenticated("x".into()), now)
            .is_err()
    );
    h.conn
        .respond(
            id,
            Decision::Close(Reply::service_unavailable("mx.test")),
            now,
        )
        .unwrap();
    assert!(h.conn.respond(id, Decision::Accept, now).is_err());
    h.drain();
    assert!(h.conn.is_closed());
    assert!(
        h.events
            .iter()
            .any(|e| *e == format!("closing {:?}", CloseReason::Application))
    );
}

#[test]
fn security_14_application_sees_the_authenticated_identity_at_mail() {
    let mut c = test_config();
    c.allow_plaintext_auth = true;
    c.auth_required = true;
    let mut h = Harness::new(
        c,
        App {
            manual: true,
            ..App::default()
        },
    );
    h.feed(EHLO);
    h.feed(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
    let Event::SaslVerify {
        id,
        request: Verify::Password { authcid, .. },
    } = h.pending.remove(0)
    else {
        unreachable!()
    };
    assert_eq!(authcid, "alice");
    let now = h.now;
    h.conn.answer_sasl(id, Answer::Accept, now).unwrap();
    h.drain();
    let Event::Login { id, credentials } = h.pending.remove(0) else {
        unreachable!()
    };
    assert_eq!(credentials.identity(), "alice");
    h.conn.respond(id, Decision::Accept, now).unwrap();
    h.drain();
    h.take_output();
    // The submission policy (own addresses only) is the application's, with what the
    // machine tells it: the sender and the authenticated identity.
    h.feed(b"MAIL FROM:<mallory@c.example>\r\n");
    let Event::Mail { id, from, .. } = h.pending.remove(0) else {
        unreachable!()
    };
    let own = h.conn.authenticated() == from.mailbox().map(|m| m.local_part());
    assert!(!own);
    let refuse = Reply::new(
        553,
        "5.7.1".parse().ok(),
        "Sender address not owned by user",
    );
    h.conn.respond(id, Decision::Reject(refuse), now).unwrap();
    h.drain();
    assert_eq!(
        h.take_output(),
        "553 5.7.1 Sender address not owned by user\r\n"
    );
}

#[test]
fn security_26_refusing_mail_when_storage_is_full() {
    let mut h = Harness::new(
        test_config(),
        App {
            manual: true,
            ..App::default()
        },
    );
    h.feed(EHLO);
    h.take_output();
    h.feed(b"MAIL FROM:<a@c.example>\r\n");
    let Event::Mail { id, .. } = h.pending.remove(0) else {
        unreachable!()
    };
    let now = h.now;
    h.conn
        .respond(id, Decision::Reject(Reply::insufficient_storage()), now)
        .unwrap();
    h.drain();
    assert_eq!(h.take_output(), "452 4.3.1 Insufficient system storage\r\n");
    // No transaction was started.
    h.feed(b"RCPT TO:<b@mx.test>\r\n");
    assert!(h.take_output().starts_with("503 "));
}

/// Feeds `input` the way a driver that never writes would: as much as the machine takes,
/// no output drained. Returns how much was taken.
fn feed_undrained(conn: &mut Connection, input: &[u8], now: Instant) -> usize {
    let mut taken = 0;
    loop {
        let n = conn.handle_input(&input[taken..], now);
        taken += n;
        // Events are the application's; answering them does not drain output.
        while conn.poll_event().is_some() {}
        if n == 0 || taken == input.len() {
            return taken;
        }
    }
}

/// SECURITY.md 41: 100,000 pipelined NOOP/RSET/EHLO from a client that never reads the
/// answers. The machine stops taking commands while more than the mark waits to be
/// written, buffers at most `max_pending_input` of further input, and resumes inside
/// `poll_transmit`: every command is answered, in order, and pending output never
/// exceeds the mark plus one reply.
#[test]
fn security_41_pipelined_noop_flood_is_bounded() {
    let now = Instant::now();
    let mut config = test_config(); // pipelining policy Allow: NOOP may be pipelined
    config.extensions.starttls = true;
    let mark = config.max_pending_output;
    let max_input = config.limits.max_pending_input;
    let ehlo_reply = {
        let mut c = Connection::new(config.clone(), now);
        c.poll_transmit();
        let _ = c.handle_input(EHLO, now);
        c.poll_transmit().unwrap()
    };
    let ehlo_reply_len = ehlo_reply.len();
    let ehlo_lines = ehlo_reply.windows(2).filter(|w| w == b"\r\n").count();
    let bound = mark + ehlo_reply_len;
    let mut conn = Connection::new(config, now);
    assert!(conn.poll_transmit().is_some());
    let group = b"NOOP\r\nRSET\r\nEHLO c.example\r\n";
    let flood = group.repeat(100_000 / 3 + 1);
    let commands = 3 * (100_000 / 3 + 1);
    // The client sends everything before reading anything.
    let mut taken = feed_undrained(&mut conn, &flood, now);
    assert!(taken < flood.len(), "the whole flood was taken");
    assert!(conn.is_output_full());
    assert!(
        conn.pending_output() <= bound,
        "pending {} > {bound}",
        conn.pending_output()
    );
    assert!(conn.buffered_input() <= max_input);
    // Now it reads, one chunk at a time, and keeps sending what was not taken.
    let mut answers = 0usize;
    let mut last = bytes::Bytes::new();
    while let Some(chunk) = conn.poll_transmit() {
        assert!(chunk.len() <= bound, "chunk of {}", chunk.len());
        assert!(conn.pending_output() <= bound);
        answers += chunk.windows(2).filter(|w| w == b"\r\n").count();
        last = chunk;
        while conn.poll_event().is_some() {}
        if taken < flood.len() {
            taken += feed_undrained(&mut conn, &flood[taken..], now);
            assert!(
                conn.pending_output() <= bound,
                "pending {} > {bound}",
                conn.pending_output()
            );
            assert!(conn.buffered_input() <= max_input);
        }
    }
    assert_eq!(taken, flood.len());
    assert!(!conn.is_closed());
    // NOOP and RSET answer one line each, EHLO several; the last answer is an EHLO's.
    assert!(last.ends_with(b"250 DSN\r\n"));
    assert_eq!(answers, commands / 3 * (2 + ehlo_lines));

    // Default policy (Reject): a legal RSET flood after EHLO is bounded the same way.
    let config = Config::new("mx.test");
    let mut conn = Connection::new(config, now);
    conn.poll_transmit();
    let _ = conn.handle_input(EHLO, now);
    conn.poll_transmit();
    let flood = b"RSET\r\n".repeat(100_000);
    let mut taken = feed_undrained(&mut conn, &flood, now);
    assert!(conn.pending_output() <= mark + 64);
    let mut answers = 0;
    while let Some(chunk) = conn.poll_transmit() {
        assert!(conn.pending_output() <= mark + 64);
        answers += chunk.windows(2).filter(|w| w == b"\r\n").count();
        while conn.poll_event().is_some() {}
        if taken < flood.len() {
            taken += feed_undrained(&mut conn, &flood[taken..], now);
        }
    }
    assert_eq!(answers, 100_000);
    assert!(!conn.is_closed());
}

/// SECURITY.md 41: the mark is a configuration value; a small one holds, too, and a
/// delayed drain resumes exactly where the machine stopped.
#[test]
fn security_41_small_mark_resumes_in_order() {
    let now = Instant::now();
    let mut config = test_config();
    config.max_pending_output = 100;
    let mut conn = Connection::new(config, now);
    conn.poll_transmit();
    let _ = conn.handle_input(EHLO, now);
    conn.poll_transmit();
    let mut input = Vec::new();
    for i in 0..50 {
        input.extend_from_slice(format!("VRFY user{i}\r\nNOOP\r\n").as_bytes());
    }
    assert_eq!(conn.handle_input(&input, now), input.len());
    // "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery"
    // (over 70 octets) and "250 2.0.0 OK": the machine stopped past 100.
    assert!(conn.is_output_full());
    assert!(conn.pending_output() <= 100 + 80);
    assert!(conn.buffered_input() > 0);
    let mut out = Vec::new();
    while let Some(chunk) = conn.poll_transmit() {
        assert!(chunk.len() <= 180);
        out.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("252 ").count(), 50);
    assert_eq!(text.matches("250 2.0.0 OK\r\n").count(), 50);
    assert_eq!(conn.buffered_input(), 0);
}
