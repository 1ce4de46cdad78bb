//! Deadlines, EOF with a held reply, and configuration durations that would
//! overflow `Instant` (issue 10).

use std::time::{Duration, Instant};

use postwerk_pop3::client;
use postwerk_pop3::server::{Config, Connection, Event, LoginDecision, SessionState};

fn output(conn: &mut Connection) -> String {
    let mut out = Vec::new();
    while let Some(b) = conn.poll_transmit() {
        out.extend_from_slice(&b);
    }
    String::from_utf8(out).unwrap()
}

fn cleartext() -> Config {
    let mut c = Config::default();
    c.allow_plaintext_auth = true;
    c
}

#[test]
fn eof_with_held_reply_keeps_the_deadline_then_sends_and_closes() {
    let now = Instant::now();
    let mut config = cleartext();
    config.auth_failure_delay = Duration::from_secs(2);
    let mut conn = Connection::new(config, now);
    output(&mut conn);
    conn.handle_input(b"USER u\r\nPASS bad\r\n", now);
    let Some(Event::Login { id, .. }) = conn.poll_event() else {
        panic!("no login event")
    };
    conn.answer_login(id, LoginDecision::Reject).unwrap();
    assert_eq!(output(&mut conn), "+OK send PASS\r\n");
    // The client half-closes right after PASS.
    let t1 = now + Duration::from_millis(10);
    conn.handle_eof(t1);
    assert!(!conn.is_closed(), "closed before the held reply was sent");
    assert_eq!(output(&mut conn), "");
    let release = now + Duration::from_secs(2);
    assert_eq!(conn.poll_timeout(), Some(release));
    // Too early: nothing happens, the deadline stays.
    conn.handle_timeout(now + Duration::from_secs(1));
    assert_eq!(output(&mut conn), "");
    assert_eq!(conn.poll_timeout(), Some(release));
    // At the deadline: the reply goes out, then the session ends.
    conn.handle_timeout(release);
    assert_eq!(output(&mut conn), "-ERR [AUTH] authentication failed\r\n");
    assert!(conn.is_closed());
    assert_eq!(conn.poll_timeout(), None);
    let events: Vec<Event> = std::iter::from_fn(|| conn.poll_event()).collect();
    assert_eq!(events, vec![Event::Closed { committed: false }]);
}

#[test]
fn eof_with_held_reply_then_pipelined_commands_are_answered() {
    let now = Instant::now();
    let mut conn = Connection::new(cleartext(), now);
    output(&mut conn);
    conn.handle_input(b"USER u\r\nPASS bad\r\nNOOP\r\n", now);
    let Some(Event::Login { id, .. }) = conn.poll_event() else {
        panic!("no login event")
    };
    conn.answer_login(id, LoginDecision::Reject).unwrap();
    conn.handle_eof(now);
    let release = conn.poll_timeout().expect("deadline");
    assert!(release > now);
    conn.handle_timeout(release);
    let out = output(&mut conn);
    assert!(out.contains("-ERR [AUTH]"), "{out}");
    assert!(
        out.ends_with("-ERR command not valid in this state\r\n"),
        "{out}"
    );
    assert!(conn.is_closed());
}

#[test]
fn idle_timeout_duration_max_does_not_panic() {
    let now = Instant::now();
    let mut config = cleartext();
    config.idle_timeout = Duration::MAX;
    config.auth_failure_delay = Duration::MAX;
    let mut conn = Connection::new(config, now);
    output(&mut conn);
    assert!(conn.poll_timeout().is_some_and(|t| t > now));
    conn.handle_input(b"NOOP\r\n", now);
    conn.handle_timeout(now + Duration::from_secs(3600));
    assert!(!conn.is_closed());
    // A failed login held "for ever" does not panic either.
    conn.handle_input(b"USER u\r\nPASS bad\r\n", now);
    let Some(Event::Login { id, .. }) = conn.poll_event() else {
        panic!("no login event")
    };
    conn.answer_login(id, LoginDecision::Reject).unwrap();
    assert!(conn.poll_timeout().is_some_and(|t| t > now));
    conn.handle_eof(now);
    assert_eq!(conn.state(), SessionState::Authorization);
}

#[test]
fn client_response_timeout_duration_max_does_not_panic() {
    let now = Instant::now();
    let mut config = client::Config::default();
    config.response_timeout = Duration::MAX;
    let mut conn = client::Connection::new(config, now);
    assert!(conn.poll_timeout().is_some_and(|t| t > now));
    conn.handle_input(b"+OK hi\r\n", now);
    conn.noop().unwrap();
    assert!(conn.poll_timeout().is_some_and(|t| t > now));
    conn.handle_timeout(now + Duration::from_secs(3600));
    assert!(!conn.is_closed());
}

#[test]
fn passed_deadline_is_reported_not_lost() {
    // A driver computing `deadline - now` after the deadline gets zero; the
    // machine still reports the deadline and acts on handle_timeout.
    let now = Instant::now();
    let mut config = cleartext();
    config.idle_timeout = Duration::from_secs(1);
    let mut conn = Connection::new(config, now);
    output(&mut conn);
    let late = now + Duration::from_secs(5);
    let deadline = conn.poll_timeout().expect("idle deadline");
    assert!(deadline.saturating_duration_since(late).is_zero());
    conn.handle_timeout(late);
    assert!(conn.is_closed());
}
