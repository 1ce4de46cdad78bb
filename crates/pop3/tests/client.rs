//! The client machine against scripted server output: typed results,
//! errors, and what a misbehaving server cannot do to it.

use std::time::{Duration, Instant};

use postwerk_pop3::client::{
    CloseReason, Config, Connection, Event, Reply, ScanListing, UidListing, Violation,
};
use postwerk_pop3::codec::ResponseCode;

fn events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

fn sent(conn: &mut Connection) -> String {
    let mut out = Vec::new();
    while let Some(b) = conn.poll_transmit() {
        out.extend_from_slice(&b);
    }
    String::from_utf8(out).unwrap()
}

fn greeted(now: Instant) -> Connection {
    let mut conn = Connection::new(Config::default(), now);
    conn.handle_input(b"+OK hello <123.456@host>\r\n", now);
    assert_eq!(
        events(&mut conn),
        vec![Event::Greeting {
            apop_timestamp: Some("<123.456@host>".into()),
            text: "hello <123.456@host>".into()
        }]
    );
    conn
}

#[test]
fn nothing_is_sent_before_the_greeting() {
    let now = Instant::now();
    let mut conn = Connection::new(Config::default(), now);
    conn.noop().unwrap();
    assert_eq!(sent(&mut conn), "");
    conn.handle_input(b"+OK ready\r\n", now);
    assert_eq!(sent(&mut conn), "NOOP\r\n");
}

#[test]
fn negative_greeting_closes() {
    let now = Instant::now();
    let mut conn = Connection::new(Config::default(), now);
    conn.handle_input(b"-ERR [SYS/TEMP] go away\r\n", now);
    let ev = events(&mut conn);
    let [
        Event::Closed {
            reason: CloseReason::GreetingRejected(r),
        },
    ] = ev.as_slice()
    else {
        panic!("{ev:?}")
    };
    assert_eq!(r.code, Some(ResponseCode::SysTemp));
    assert!(conn.is_closed());
    assert_eq!(conn.stat(), Err(postwerk_pop3::UsageError::Closed));
}

#[test]
fn typed_results() {
    let now = Instant::now();
    let mut conn = greeted(now);
    let stat = conn.stat().unwrap();
    conn.handle_input(b"+OK 2 320\r\n", now);
    let list1 = conn.list(Some(1)).unwrap();
    conn.handle_input(b"+OK 1 120\r\n", now);
    let list = conn.list(None).unwrap();
    conn.handle_input(b"+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n", now);
    let uidl = conn.uidl(None).unwrap();
    conn.handle_input(
        b"+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n",
        now,
    );
    let uidl1 = conn.uidl(Some(2)).unwrap();
    conn.handle_input(b"+OK 2 QhdPYR:00WBw1Ph7x7\r\n", now);
    let mechs = conn.auth_mechanisms().unwrap();
    conn.handle_input(b"+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n", now);
    let dele = conn.dele(9).unwrap();
    conn.handle_input(b"-ERR no such message\r\n", now);
    let ev = events(&mut conn);
    let reply = |id| {
        ev.iter()
            .find_map(|e| match e {
                Event::Reply { id: i, result } if *i == id => Some(result.clone()),
                _ => None,
            })
            .unwrap()
    };
    assert_eq!(
        reply(stat),
        Ok(Reply::Stat {
            count: 2,
            octets: 320
        })
    );
    assert_eq!(
        reply(list1),
        Ok(Reply::List(vec![ScanListing {
            msg: 1,
            octets: 120
        }]))
    );
    assert_eq!(
        reply(list),
        Ok(Reply::List(vec![
            ScanListing {
                msg: 1,
                octets: 120
            },
            ScanListing {
                msg: 2,
                octets: 200
            }
        ]))
    );
    let Ok(Reply::Uidl(u)) = reply(uidl) else {
        panic!()
    };
    assert_eq!(u.len(), 2);
    assert_eq!(
        reply(uidl1),
        Ok(Reply::Uidl(vec![UidListing {
            msg: 2,
            uid: "QhdPYR:00WBw1Ph7x7".into()
        }]))
    );
    assert_eq!(
        reply(mechs),
        Ok(Reply::Mechanisms(vec!["PLAIN".into(), "LOGIN".into()]))
    );
    assert!(reply(dele).is_err());
    assert_eq!(
        sent(&mut conn),
        "STAT\r\nLIST 1\r\nLIST\r\nUIDL\r\nUIDL 2\r\nAUTH\r\nDELE 9\r\n"
    );
}

#[test]
fn retr_body_unstuffed_in_chunks() {
    let now = Instant::now();
    let mut conn = greeted(now);
    let id = conn.retr(1).unwrap();
    let wire = b"+OK 30 octets\r\nA: b\r\n\r\n..x\r\n.\r\n";
    for b in wire {
        conn.handle_input(&[*b], now);
    }
    let mut body = Vec::new();
    let mut done = false;
    for e in events(&mut conn) {
        match e {
            Event::MessageData { id: i, chunk } if i == id => body.extend_from_slice(&chunk),
            Event::Reply {
                id: i,
                result: Ok(Reply::Message { octets }),
            } if i == id => {
                assert_eq!(octets, 12);
                done = true;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(done);
    assert_eq!(body, b"A: b\r\n\r\n.x\r\n");
}

#[test]
fn violations_close() {
    let now = Instant::now();
    let cases: [(&[u8], Violation); 4] = [
        (b"HELLO\r\n", Violation::BadStatusLine),
        (b"+OK 1 1\r\n+OK extra\r\n", Violation::Unexpected),
        (b"+OK not numbers\r\n", Violation::BadListing),
        (&[b'x'; 2000], Violation::LineTooLong),
    ];
    for (input, violation) in cases {
        let mut conn = greeted(now);
        conn.stat().unwrap();
        conn.handle_input(input, now);
        assert_eq!(
            events(&mut conn).last(),
            Some(&Event::Closed {
                reason: CloseReason::Violation(violation)
            }),
            "{input:?}"
        );
    }
}

#[test]
fn listing_lines_bounded() {
    let now = Instant::now();
    let mut config = Config::default();
    config.max_listing_lines = 3;
    let mut conn = Connection::new(config, now);
    conn.handle_input(b"+OK\r\n", now);
    conn.list(None).unwrap();
    conn.handle_input(b"+OK\r\n1 1\r\n2 2\r\n3 3\r\n4 4\r\n.\r\n", now);
    assert_eq!(
        events(&mut conn).last(),
        Some(&Event::Closed {
            reason: CloseReason::Violation(Violation::TooManyLines)
        })
    );
}

#[test]
fn stls_drops_buffered_input_and_capabilities() {
    let now = Instant::now();
    let mut conn = greeted(now);
    conn.capa().unwrap();
    conn.handle_input(b"+OK\r\nSTLS\r\nPIPELINING\r\nUSER\r\n.\r\n", now);
    assert!(conn.capabilities().unwrap().stls);
    conn.stls().unwrap();
    let noop = conn.noop().unwrap();
    assert_eq!(sent(&mut conn), "CAPA\r\nSTLS\r\n");
    // An injected answer right behind the +OK must be ignored.
    conn.handle_input(b"+OK go ahead\r\n+OK injected\r\n", now);
    let ev = events(&mut conn);
    assert_eq!(ev.last(), Some(&Event::StartTls));
    assert!(conn.capabilities().is_none());
    assert_eq!(sent(&mut conn), "", "nothing sent before the handshake");
    conn.tls_established(now);
    assert!(conn.is_tls_active());
    assert_eq!(sent(&mut conn), "NOOP\r\n");
    conn.handle_input(b"+OK real\r\n", now);
    let ev = events(&mut conn);
    let Some(Event::Reply {
        id,
        result: Ok(Reply::Ok(r)),
    }) = ev.first()
    else {
        panic!("{ev:?}")
    };
    assert_eq!((*id, r.text.as_ref()), (noop, "real"));
    assert_eq!(conn.stls(), Err(postwerk_pop3::UsageError::WrongState));
}

#[test]
fn auth_plain_continuation_and_cancel() {
    let now = Instant::now();
    let mut conn = greeted(now);
    let long = "p".repeat(300);
    let id = conn.auth_plain("", "alice", &long).unwrap();
    assert_eq!(sent(&mut conn), "AUTH PLAIN\r\n");
    conn.handle_input(b"+ \r\n", now);
    let answer = sent(&mut conn);
    assert!(answer.ends_with("\r\n") && answer.len() > 300);
    // A second challenge: PLAIN has no answer, the client cancels and
    // says why.
    conn.handle_input(b"+ \r\n", now);
    assert_eq!(sent(&mut conn), "*\r\n");
    conn.handle_input(b"-ERR [AUTH] cancelled\r\n", now);
    assert!(matches!(
        events(&mut conn).as_slice(),
        [
            Event::SaslError { id: e, error: postwerk_pop3::sasl::ClientError::UnexpectedChallenge { .. } },
            Event::Reply { id: i, result: Err(_) },
        ] if *i == id && *e == id
    ));
    assert!(!conn.is_authenticated());
}

#[test]
fn quit_and_timeouts() {
    let now = Instant::now();
    let mut conn = greeted(now);
    conn.quit().unwrap();
    assert_eq!(conn.noop(), Err(postwerk_pop3::UsageError::WrongState));
    conn.handle_input(b"+OK bye\r\n", now);
    assert_eq!(
        events(&mut conn).last(),
        Some(&Event::Closed {
            reason: CloseReason::Quit
        })
    );

    let mut conn = greeted(now);
    assert_eq!(conn.poll_timeout(), None, "nothing outstanding");
    conn.noop().unwrap();
    let deadline = conn.poll_timeout().unwrap();
    assert_eq!(deadline, now + Duration::from_secs(600));
    conn.handle_timeout(deadline);
    assert_eq!(
        events(&mut conn).last(),
        Some(&Event::Closed {
            reason: CloseReason::Timeout
        })
    );
}

#[test]
fn arguments_checked() {
    let now = Instant::now();
    let mut conn = greeted(now);
    use postwerk_pop3::UsageError::InvalidArgument;
    assert_eq!(conn.user("a b"), Err(InvalidArgument));
    assert_eq!(conn.user(""), Err(InvalidArgument));
    assert_eq!(conn.pass("x\r\nDELE 1"), Err(InvalidArgument));
    assert_eq!(conn.retr(0), Err(InvalidArgument));
    assert!(conn.pass("with space").is_ok());
}
