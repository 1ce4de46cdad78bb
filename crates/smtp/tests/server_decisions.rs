//! Issue 12: several application decisions outstanding at once (pipelined RCPTs answered
//! in any order, replies in command order, a cap on outstanding decisions), per-session
//! settings changed at decision points, and the must-use input count.

mod server_support;

use postwerk_smtp::codec::reply::Reply;
use postwerk_smtp::server::{Decision, Event, RequestId, UsageError};
use server_support::{App, Harness, test_config};

const EHLO: &[u8] = b"EHLO c.example\r\n";

fn manual(config: postwerk_smtp::server::Config) -> Harness {
    let mut h = Harness::new(
        config,
        App {
            manual: true,
            ..App::default()
        },
    );
    h.feed(EHLO);
    h.take_output();
    h
}

/// MAIL accepted, then the pending list emptied.
fn in_transaction(h: &mut Harness) {
    h.feed(b"MAIL FROM:<a@c.example>\r\n");
    let Event::Mail { id, .. } = h.pending.remove(0) else {
        panic!("{:?}", h.events)
    };
    let now = h.now;
    h.conn.respond(id, Decision::Accept, now).unwrap();
    h.drain();
    assert_eq!(h.take_output(), "250 2.1.0 Sender OK\r\n");
}

fn rcpt_ids(h: &mut Harness) -> Vec<RequestId> {
    h.pending
        .drain(..)
        .map(|e| match e {
            Event::Rcpt { id, .. } => id,
            other => panic!("not an RCPT: {other:?}"),
        })
        .collect()
}

fn rcpts(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| format!("RCPT TO:<r{i}@mx.test>\r\n").into_bytes())
        .collect()
}

#[test]
fn hundred_pipelined_rcpts_are_decided_at_once_and_answered_in_order() {
    let mut h = manual(test_config());
    in_transaction(&mut h);
    let mut input = rcpts(100);
    input.extend_from_slice(b"DATA\r\n");
    h.feed(&input);
    // All 100 reach the application before any is answered; DATA waits.
    let ids = rcpt_ids(&mut h);
    assert_eq!(ids.len(), 100);
    assert_eq!(h.conn.outstanding().count(), 100);
    assert_eq!(h.take_output(), "");
    let now = h.now;
    // Answered last first: nothing goes out until the first is answered.
    for (i, id) in ids.iter().enumerate().rev() {
        let decision = if i % 10 == 3 {
            Decision::Reject(Reply::new(550, "5.1.1".parse().ok(), format!("no r{i}")))
        } else {
            Decision::AcceptWith(Reply::new(250, "2.1.5".parse().ok(), format!("ok r{i}")))
        };
        h.conn.respond(*id, decision, now).unwrap();
        if i > 0 {
            h.drain();
            assert_eq!(h.take_output(), "", "reply before RCPT #0 was answered");
        }
    }
    h.drain();
    let out = h.take_output();
    let expected: String = (0..100)
        .map(|i| {
            if i % 10 == 3 {
                format!("550 5.1.1 no r{i}\r\n")
            } else {
                format!("250 2.1.5 ok r{i}\r\n")
            }
        })
        .chain(["354 Start mail input; end with <CRLF>.<CRLF>\r\n".to_string()])
        .collect();
    assert_eq!(out, expected);
    // The accepted recipients reach the end of data in command order.
    h.feed(b"x\r\n.\r\n");
    let Event::DataEnd { envelope, .. } = h.pending.remove(0) else {
        panic!("{:?}", h.events)
    };
    let got: Vec<String> = envelope
        .recipients
        .iter()
        .map(|(to, _)| to.mailbox().unwrap().local_part().to_string())
        .collect();
    let want: Vec<String> = (0..100)
        .filter(|i| i % 10 != 3)
        .map(|i| format!("r{i}"))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn answering_twice_or_an_unknown_id_is_a_usage_error() {
    let mut h = manual(test_config());
    in_transaction(&mut h);
    h.feed(&rcpts(3));
    let ids = rcpt_ids(&mut h);
    let now = h.now;
    h.conn.respond(ids[2], Decision::Accept, now).unwrap();
    assert_eq!(
        h.conn.respond(ids[2], Decision::Accept, now),
        Err(UsageError::UnknownRequest(ids[2]))
    );
    assert_eq!(
        h.conn.respond(ids[1], Decision::Reject(Reply::ok()), now),
        Err(UsageError::InvalidDecision(ids[1]))
    );
    assert_eq!(h.conn.outstanding().collect::<Vec<_>>(), ids[..2].to_vec());
}

#[test]
fn outstanding_decisions_are_capped() {
    let mut c = test_config();
    c.limits.max_outstanding_decisions = 10;
    let mut h = manual(c);
    in_transaction(&mut h);
    h.feed(&rcpts(25));
    let now = h.now;
    let mut seen = 0;
    loop {
        let ids = rcpt_ids(&mut h);
        if ids.is_empty() {
            break;
        }
        assert!(ids.len() <= 10, "{} outstanding", ids.len());
        assert!(h.conn.outstanding().count() <= 10);
        seen += ids.len();
        for id in ids.into_iter().rev() {
            h.conn.respond(id, Decision::Accept, now).unwrap();
        }
        h.drain();
    }
    assert_eq!(seen, 25);
    assert_eq!(h.take_output().matches("250 2.1.5").count(), 25);
}

#[test]
fn recipient_limit_counts_the_outstanding_ones() {
    let mut c = test_config();
    c.limits.max_recipients = 5;
    let mut h = manual(c);
    in_transaction(&mut h);
    h.feed(&rcpts(8));
    let ids = rcpt_ids(&mut h);
    // Five may still be accepted; the sixth waits for them.
    assert_eq!(ids.len(), 5);
    let now = h.now;
    for id in ids[1..].iter().rev() {
        h.conn.respond(*id, Decision::Accept, now).unwrap();
    }
    // The first refused: one slot is free again for the sixth.
    h.conn
        .respond(ids[0], Decision::Reject(Reply::mailbox_unavailable()), now)
        .unwrap();
    h.drain();
    let sixth = rcpt_ids(&mut h);
    assert_eq!(sixth.len(), 1);
    h.conn.respond(sixth[0], Decision::Accept, now).unwrap();
    h.drain();
    let out = h.take_output();
    assert_eq!(
        out,
        "550 5.1.1 Mailbox unavailable\r\n\
         250 2.1.5 Recipient OK\r\n\
         250 2.1.5 Recipient OK\r\n\
         250 2.1.5 Recipient OK\r\n\
         250 2.1.5 Recipient OK\r\n\
         250 2.1.5 Recipient OK\r\n\
         452 4.5.3 Too many recipients\r\n\
         452 4.5.3 Too many recipients\r\n"
    );
}

#[test]
fn errors_behind_outstanding_rcpts_wait_their_turn() {
    let mut h = manual(test_config());
    in_transaction(&mut h);
    h.feed(
        b"RCPT TO:<a@mx.test>\r\nRCPT TO:<b@mx.test> BOGUS=1\r\nNOOP\r\nRCPT TO:<c@mx.test>\r\n",
    );
    let ids = rcpt_ids(&mut h);
    assert_eq!(ids.len(), 1, "the faulty RCPT waits behind the first");
    let now = h.now;
    h.conn.respond(ids[0], Decision::Accept, now).unwrap();
    h.drain();
    let ids = rcpt_ids(&mut h);
    assert_eq!(ids.len(), 1);
    h.conn.respond(ids[0], Decision::Accept, now).unwrap();
    h.drain();
    assert_eq!(
        h.take_output(),
        "250 2.1.5 Recipient OK\r\n\
         555 5.5.4 Unsupported parameter BOGUS\r\n\
         250 2.0.0 OK\r\n\
         250 2.1.5 Recipient OK\r\n"
    );
}

#[test]
fn close_answered_out_of_order_takes_effect_in_order() {
    let mut h = manual(test_config());
    in_transaction(&mut h);
    h.feed(&rcpts(3));
    let ids = rcpt_ids(&mut h);
    let now = h.now;
    let close = Decision::Close(Reply::service_unavailable("mx.test"));
    h.conn.respond(ids[1], close, now).unwrap();
    assert!(!h.conn.is_closed());
    h.conn.respond(ids[0], Decision::Accept, now).unwrap();
    h.drain();
    let out = h.take_output();
    assert!(out.starts_with("250 2.1.5 Recipient OK\r\n421"), "{out}");
    assert!(h.conn.is_closed());
    assert_eq!(
        h.conn.respond(ids[2], Decision::Accept, now),
        Err(UsageError::UnknownRequest(ids[2]))
    );
}

#[test]
fn input_stays_bounded_while_decisions_are_outstanding() {
    let mut c = test_config();
    c.limits.max_pending_input = 4096;
    c.limits.max_outstanding_decisions = 4;
    let mut h = manual(c);
    in_transaction(&mut h);
    let flood = rcpts(2000);
    let now = h.now;
    let taken = h.conn.handle_input(&flood, now);
    assert!(taken < flood.len());
    assert!(h.conn.buffered_input() <= 4096);
    h.drain();
    assert_eq!(rcpt_ids(&mut h).len(), 4);
}

#[test]
fn settings_changed_in_a_decision_apply_to_the_next_command() {
    let mut c = test_config();
    c.limits.max_message_size = 100;
    let mut h = manual(c);
    h.feed(b"MAIL FROM:<a@c.example> SIZE=50\r\nRCPT TO:<b@mx.test>\r\n");
    let Event::Mail { id, .. } = h.pending.remove(0) else {
        panic!()
    };
    let now = h.now;
    // This sender may send less.
    h.conn.settings_mut().max_message_size = 10;
    h.conn.respond(id, Decision::Accept, now).unwrap();
    h.drain();
    let ids = rcpt_ids(&mut h);
    h.conn.respond(ids[0], Decision::Accept, now).unwrap();
    h.drain();
    h.take_output();
    h.feed(b"DATA\r\n0123456789ABCDEF\r\n.\r\n");
    let out = h.take_output();
    assert!(out.ends_with("552 5.3.4 Message size exceeds fixed maximum message size\r\n"));
    assert_eq!(h.conn.settings().max_message_size, 10);
    assert_eq!(h.conn.config().limits.max_message_size, 100);
}

#[test]
fn decisions_at_hello_data_and_starttls_hold_later_input() {
    let mut c = test_config();
    c.decisions.hello = true;
    c.decisions.data = true;
    c.decisions.starttls = true;
    c.extensions.starttls = true;
    let mut h = Harness::new(
        c,
        App {
            manual: true,
            ..App::default()
        },
    );
    h.take_output();
    h.feed(b"EHLO c.example\r\n");
    let Event::HelloCommand {
        id,
        domain,
        extended,
    } = h.pending.remove(0)
    else {
        panic!("{:?}", h.events)
    };
    assert_eq!((domain.as_str(), extended), ("c.example", true));
    let now = h.now;
    // AcceptWith is refused: the machine writes the EHLO reply.
    assert_eq!(
        h.conn.respond(id, Decision::AcceptWith(Reply::ok()), now),
        Err(UsageError::InvalidDecision(id))
    );
    // Settings changed in the decision show in this very EHLO reply.
    h.conn.settings_mut().extensions.mt_priority = true;
    h.conn.respond(id, Decision::Accept, now).unwrap();
    h.drain();
    assert!(h.take_output().contains("250 MT-PRIORITY\r\n"));
    h.feed(b"STARTTLS\r\n");
    let Event::StartTlsCommand { id } = h.pending.remove(0) else {
        panic!("{:?}", h.events)
    };
    h.conn
        .respond(id, Decision::Reject(Reply::tls_not_available()), now)
        .unwrap();
    h.drain();
    assert_eq!(
        h.take_output(),
        "454 4.7.0 TLS not available due to temporary reason\r\n"
    );
}

#[test]
fn handle_input_is_must_use() {
    // Compile-time property; here the count is used as the attribute demands.
    let mut h = manual(test_config());
    let now = h.now;
    let n = h.conn.handle_input(b"NOOP\r\n", now);
    assert_eq!(n, 6);
}

#[test]
fn typed_and_registered_parameters_reach_the_mail_and_rcpt_events() {
    use postwerk_smtp::codec::{ByMode, DateTime3339, FutureRelease};
    use postwerk_smtp::server::{FutureReleaseLimits, ParamRule, ParamValue};
    let mut c = test_config();
    c.extensions.mt_priority = true;
    c.extensions.deliver_by = Some(0);
    c.extensions.future_release = Some(FutureReleaseLimits {
        max_interval: 3600,
        max_date_time: DateTime3339::parse("2030-01-01T00:00:00Z").unwrap(),
    });
    c.mail_parameters
        .push(ParamRule::new("XA", ParamValue::None));
    c.rcpt_parameters
        .push(ParamRule::new("XC", ParamValue::Required));
    let mut h = manual(c);
    h.feed(b"MAIL FROM:<a@c.example> MT-PRIORITY=-3 BY=600;NT HOLDFOR=10 xa SIZE=5\r\n");
    let Event::Mail {
        id,
        params,
        extensions,
        ..
    } = h.pending.remove(0)
    else {
        panic!("{:?}", h.events)
    };
    assert_eq!(params.other, vec![("xa".into(), None)]);
    assert_eq!(params.size, Some(5));
    assert_eq!(extensions.mt_priority.map(|p| p.get()), Some(-3));
    let by = extensions.deliver_by.unwrap();
    assert_eq!((by.seconds, by.mode, by.trace), (600, ByMode::Notify, true));
    assert_eq!(extensions.future_release, Some(FutureRelease::HoldFor(10)));
    assert!(!extensions.require_tls);
    let now = h.now;
    h.conn.respond(id, Decision::Accept, now).unwrap();
    h.drain();
    h.feed(b"RCPT TO:<b@mx.test> XC=42\r\n");
    let Event::Rcpt { id, params, .. } = h.pending.remove(0) else {
        panic!("{:?}", h.events)
    };
    assert_eq!(params.other, vec![("XC".into(), Some("42".into()))]);
    h.conn.respond(id, Decision::Accept, now).unwrap();
    h.drain();
    h.feed(b"DATA\r\nx\r\n.\r\n");
    let Event::DataEnd { envelope, .. } = h.pending.remove(0) else {
        panic!("{:?}", h.events)
    };
    assert_eq!(
        envelope.mail_extensions.mt_priority.map(|p| p.get()),
        Some(-3)
    );
}
