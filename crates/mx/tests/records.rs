//! `Lookup::records`: one question of any kind (TXT, PTR, …) with the route lookup's
//! transmissions, checks and TCP fallback, answered by the table-test zone.

mod common;
use common::*;

use std::time::Instant;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::{PTR, TXT};
use hickory_proto::rr::{RData, Record};
use postwerk_mx::{Lookup, Options, RecordKind, Rng, RouteError, Transport};

fn txt(owner: &str, text: &str) -> Record {
    Record::from_rdata(name(owner), 300, RData::TXT(TXT::new(vec![text.into()])))
}

/// Runs a records lookup against `zone`, advancing a simulated clock on timeouts.
fn ask(zone: &mut Zone, qname: &str, kind: RecordKind) -> Result<Message, RouteError> {
    let mut now = Instant::now();
    let mut lookup = Lookup::records(qname, kind, Options::default(), Rng::new(7), now);
    for _ in 0..1000 {
        while let Some(q) = lookup.poll_query() {
            if let Some(bytes) = zone.answer(&q) {
                lookup.handle_response(&bytes, now);
            }
        }
        if lookup.is_finished() {
            let bytes = lookup
                .take_response()
                .expect("a finished lookup has a response")?;
            assert!(lookup.result().is_none(), "no route from a records lookup");
            return Ok(Message::from_vec(&bytes).unwrap());
        }
        now = lookup
            .poll_timeout()
            .expect("an unfinished lookup has a deadline");
        lookup.handle_timeout(now);
    }
    panic!("lookup did not finish");
}

fn texts(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(t) => Some(t.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn txt_records_with_underscore_labels() {
    let mut zone = Zone::new(vec![txt("_dmarc.example.test", "v=DMARC1; p=reject")]);
    let m = ask(&mut zone, "_DMARC.Example.test.", RecordKind::Txt).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(texts(&m), ["v=DMARC1; p=reject"]);
    assert_eq!(
        zone.log,
        [(
            "_dmarc.example.test".to_string(),
            RecordKind::Txt,
            Transport::Udp
        )]
    );
}

#[test]
fn nxdomain_and_nodata_are_responses_not_errors() {
    let mut zone = Zone::new(vec![a("example.test", "192.0.2.1")]);
    let nx = ask(&mut zone, "missing.example.test", RecordKind::Txt).unwrap();
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
    let nodata = ask(&mut zone, "example.test", RecordKind::Txt).unwrap();
    assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
    assert!(nodata.answers.is_empty());
}

#[test]
fn ptr_records() {
    let rev = "1.2.0.192.in-addr.arpa";
    let mut zone = Zone::new(vec![Record::from_rdata(
        name(rev),
        300,
        RData::PTR(PTR(name("mail.example.test"))),
    )]);
    let m = ask(&mut zone, rev, RecordKind::Ptr).unwrap();
    assert!(matches!(&m.answers[0].data, RData::PTR(p) if p.0 == name("mail.example.test")));
}

#[test]
fn cname_without_chased_data_is_followed() {
    let mut zone = Zone::new(vec![
        cname("sel._domainkey.example.test", "keys.provider.test"),
        txt("keys.provider.test", "v=DKIM1; p=abc"),
    ]);
    zone.no_chase = true;
    let m = ask(&mut zone, "sel._domainkey.example.test", RecordKind::Txt).unwrap();
    assert_eq!(texts(&m), ["v=DKIM1; p=abc"]);
    assert_eq!(zone.log.len(), 2);
    assert_eq!(zone.log[1].0, "keys.provider.test");
}

#[test]
fn truncated_answers_are_asked_again_over_tcp() {
    let records = (0..20)
        .map(|i| txt("big.test", &format!("record {i}")))
        .collect();
    let mut zone = Zone::new(records);
    zone.truncate_udp_above = Some(5);
    let m = ask(&mut zone, "big.test", RecordKind::Txt).unwrap();
    assert_eq!(texts(&m).len(), 20);
    assert_eq!(zone.log[1].2, Transport::Tcp);
}

#[test]
fn failures_are_errors_naming_the_question() {
    let mut zone = Zone::new(vec![txt("example.test", "x")]);
    zone.servfail
        .insert(("example.test".into(), hickory_proto::rr::RecordType::TXT));
    match ask(&mut zone, "example.test", RecordKind::Txt) {
        Err(RouteError::ServerFailure { name, record, .. }) => {
            assert_eq!((name.as_str(), record), ("example.test", RecordKind::Txt));
        }
        other => panic!("expected a server failure, got {other:?}"),
    }
    let mut silent = Zone::new(vec![]);
    silent
        .silent
        .insert(("quiet.test".into(), hickory_proto::rr::RecordType::TXT));
    assert!(matches!(
        ask(&mut silent, "quiet.test", RecordKind::Txt),
        Err(RouteError::Timeout { .. })
    ));
}

#[test]
fn invalid_names_fail_without_a_query() {
    for bad in ["", ".", &"a".repeat(300), "a..b"] {
        let mut lookup = Lookup::records(
            bad,
            RecordKind::Txt,
            Options::default(),
            Rng::new(1),
            Instant::now(),
        );
        assert!(lookup.poll_query().is_none(), "{bad:?}");
        assert!(
            matches!(
                lookup.take_response(),
                Some(Err(RouteError::InvalidDomain { .. }))
            ),
            "{bad:?}"
        );
    }
}
