//! The server machine and the client machine talking to each other in memory.

mod common;

use common::pair::{Pair, normalized};
use postwerk_pop3::client::{Event, Reply, ScanListing, UidListing};
use postwerk_pop3::server::Config;

fn cleartext() -> Config {
    let mut c = Config::default();
    c.allow_plaintext_auth = true;
    c
}

const MESSAGES: [&[u8]; 3] = [
    b"From: a@example.org\r\nSubject: one\r\n\r\nHello.\r\n.\r\n..two dots\r\n",
    b"Subject: bare lf\n\nline\n.line\nno end",
    b"",
];

#[test]
fn full_session() {
    let mut p = Pair::new(cleartext(), MESSAGES.to_vec());
    p.wire_chunk = 7;
    p.supply_chunk = 5;
    let capa = p.client.capa().unwrap();
    let user = p.client.user("alice").unwrap();
    let pass = p.client.pass("secret").unwrap();
    let stat = p.client.stat().unwrap();
    let list = p.client.list(None).unwrap();
    let list2 = p.client.list(Some(2)).unwrap();
    let uidl = p.client.uidl(None).unwrap();
    let retr: Vec<_> = (1..=3).map(|n| p.client.retr(n).unwrap()).collect();
    let top = p.client.top(1, 1).unwrap();
    let dele = p.client.dele(2).unwrap();
    let dele_again = p.client.dele(2).unwrap();
    let noop = p.client.noop().unwrap();
    let quit = p.client.quit().unwrap();
    p.run();

    assert!(matches!(p.client_events[0], Event::Greeting { .. }));
    let Ok(Reply::Capabilities(caps)) = p.reply(capa) else {
        panic!("capa")
    };
    assert!(caps.pipelining && caps.user && caps.top && caps.uidl);
    assert!(matches!(p.reply(user), Ok(Reply::Ok(_))));
    assert!(matches!(p.reply(pass), Ok(Reply::Ok(_))));
    let sizes: Vec<u64> = MESSAGES
        .iter()
        .map(|m| normalized(m).len() as u64)
        .collect();
    assert_eq!(
        p.reply(stat),
        Ok(Reply::Stat {
            count: 3,
            octets: sizes.iter().sum()
        })
    );
    let expect_list: Vec<_> = sizes
        .iter()
        .enumerate()
        .map(|(i, s)| ScanListing {
            msg: i as u32 + 1,
            octets: *s,
        })
        .collect();
    assert_eq!(p.reply(list), Ok(Reply::List(expect_list.clone())));
    assert_eq!(p.reply(list2), Ok(Reply::List(vec![expect_list[1]])));
    let Ok(Reply::Uidl(uids)) = p.reply(uidl) else {
        panic!("uidl")
    };
    assert_eq!(
        uids[0],
        UidListing {
            msg: 1,
            uid: "uid-0".into()
        }
    );
    for (i, id) in retr.iter().enumerate() {
        let want = normalized(MESSAGES[i]);
        assert_eq!(p.body(*id), want, "message {i}");
        assert_eq!(
            p.reply(*id),
            Ok(Reply::Message {
                octets: want.len() as u64
            })
        );
    }
    assert_eq!(
        p.body(top),
        b"From: a@example.org\r\nSubject: one\r\n\r\nHello.\r\n"
    );
    assert!(matches!(p.reply(dele), Ok(Reply::Ok(_))));
    assert!(p.reply(dele_again).is_err());
    assert!(matches!(p.reply(noop), Ok(Reply::Ok(_))));
    assert!(matches!(p.reply(quit), Ok(Reply::Ok(_))));
    assert_eq!(p.committed, Some(vec![1]));
    assert_eq!(p.server_closed, Some(true));
    assert!(p.client.is_closed());
}

#[test]
fn pipelining_sends_commands_together() {
    let mut p = Pair::new(cleartext(), MESSAGES.to_vec());
    p.client.capa().unwrap();
    p.client.user("alice").unwrap();
    p.client.pass("secret").unwrap();
    p.run();
    let ids: Vec<_> = (1..=3).map(|n| p.client.retr(n).unwrap()).collect();
    let sent = p.client.poll_transmit().unwrap();
    assert_eq!(&sent[..], b"RETR 1\r\nRETR 2\r\nRETR 3\r\n");
    p.server.handle_input(&sent, p.now);
    p.run();
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(p.body(*id), normalized(MESSAGES[i]));
    }
}

#[test]
fn without_pipelining_one_at_a_time() {
    let mut p = Pair::new(cleartext(), MESSAGES.to_vec());
    p.client.user("alice").unwrap();
    p.client.pass("secret").unwrap();
    p.run();
    p.client.stat().unwrap();
    p.client.noop().unwrap();
    // CAPA never ran, so PIPELINING is unknown: only the first is sent.
    let sent = p.client.poll_transmit().unwrap();
    assert_eq!(&sent[..], b"STAT\r\n");
    p.server.handle_input(&sent, p.now);
    p.run();
    assert_eq!(p.client_events.len(), 5);
}

#[test]
fn wrong_password_and_auth_plain() {
    let mut config = Config::default();
    config.tls_active = true;
    config.auth_failure_delay = std::time::Duration::ZERO;
    let mut p = Pair::new(config, MESSAGES.to_vec());
    let bad = p.client.auth_plain("", "alice", "nope").unwrap();
    let good = p.client.auth_plain("", "alice", "secret").unwrap();
    let stat = p.client.stat().unwrap();
    p.run();
    let Err(resp) = p.reply(bad) else {
        panic!("bad password accepted")
    };
    assert_eq!(resp.code, Some(postwerk_pop3::codec::ResponseCode::Auth));
    assert!(matches!(p.reply(good), Ok(Reply::Ok(_))));
    assert!(matches!(p.reply(stat), Ok(Reply::Stat { count: 3, .. })));
}

#[test]
fn long_auth_plain_uses_continuation() {
    let mut config = Config::default();
    config.tls_active = true;
    let mut p = Pair::new(config, MESSAGES.to_vec());
    p.password = "p".repeat(300);
    let pw = p.password.clone();
    let id = p.client.auth_plain("", "alice", &pw).unwrap();
    p.run();
    assert!(matches!(p.reply(id), Ok(Reply::Ok(_))));
}

#[test]
fn stls_restarts_session() {
    let mut config = Config::default();
    config.stls = true;
    let mut p = Pair::new(config, MESSAGES.to_vec());
    p.client.capa().unwrap();
    p.run();
    assert!(p.client.capabilities().unwrap().stls);
    assert!(!p.client.capabilities().unwrap().user);
    let stls = p.client.stls().unwrap();
    let capa = p.client.capa().unwrap();
    p.run();
    assert!(matches!(p.reply(stls), Ok(Reply::Ok(_))));
    assert!(p.server_tls && p.client_tls);
    let Ok(Reply::Capabilities(caps)) = p.reply(capa) else {
        panic!("capa after tls")
    };
    assert!(caps.user && !caps.stls);
    let user = p.client.user("alice").unwrap();
    let pass = p.client.pass("secret").unwrap();
    p.run();
    assert!(matches!(p.reply(user), Ok(Reply::Ok(_))));
    assert!(matches!(p.reply(pass), Ok(Reply::Ok(_))));
}

#[test]
fn apop_timestamp_reaches_client() {
    let mut config = Config::default();
    config.apop = Some(postwerk_pop3::server::ApopTimestamp::new("<1.2@host>").unwrap());
    let mut p = Pair::new(config, vec![]);
    p.run();
    assert_eq!(
        p.client_events[0],
        Event::Greeting {
            apop_timestamp: Some("<1.2@host>".into()),
            text: "POP3 server ready <1.2@host>".into()
        }
    );
}

#[test]
fn lang_utf8_and_policies_between_our_machines() {
    use postwerk_pop3::server::{Expire, Language};
    let mut c = cleartext();
    c.utf8 = true;
    c.languages = vec![
        Language::new("en", "English"),
        Language::new("de", "Deutsch"),
    ];
    c.expire = Some(Expire::Days(0));
    c.login_delay = Some(300);
    let mut p = Pair::new(c, MESSAGES.to_vec());
    let capa = p.client.capa().unwrap();
    let langs = p.client.lang(None).unwrap();
    let de = p.client.lang(Some("de")).unwrap();
    let xx = p.client.lang(Some("xx")).unwrap();
    let utf8 = p.client.utf8().unwrap();
    p.run();
    let Ok(Reply::Capabilities(caps)) = p.reply(capa) else {
        panic!("capa")
    };
    assert!(caps.lang && caps.utf8 && caps.utf8_user);
    assert_eq!(caps.expire_days(), Some(Some(0)));
    assert_eq!(caps.login_delay_seconds(), Some(300));
    assert_eq!(
        p.reply(langs),
        Ok(Reply::Languages(vec![
            ("en".to_owned(), "English".to_owned()),
            ("de".to_owned(), "Deutsch".to_owned())
        ]))
    );
    let Ok(Reply::Ok(r)) = p.reply(de) else {
        panic!("LANG de")
    };
    assert!(r.text.starts_with("de "));
    assert_eq!(p.server.language(), Some("de"));
    assert!(p.reply(xx).is_err());
    assert!(p.reply(utf8).is_ok());
    assert!(p.server.utf8_enabled());
}

#[test]
fn top_stops_asking_for_chunks() {
    // A message of many small chunks: TOP 1 0 takes only the header's.
    let mut body = b"Subject: big\r\n\r\n".to_vec();
    body.extend_from_slice(&b"a body line\r\n".repeat(10_000));
    let mut p = Pair::new(cleartext(), vec![body.as_slice()]);
    p.supply_chunk = 8;
    p.client.user("alice").unwrap();
    p.client.pass("secret").unwrap();
    let top = p.client.top(1, 0).unwrap();
    let noop = p.client.noop().unwrap();
    p.run();
    assert_eq!(p.body(top), b"Subject: big\r\n\r\n");
    assert!(p.reply(noop).is_ok());
    assert!(
        p.chunks_supplied < 10,
        "{} chunks supplied for a 16-octet header",
        p.chunks_supplied
    );
}
