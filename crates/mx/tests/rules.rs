//! One test per routing rule (RFC 5321 section 5.1, RFC 7505, RFC 2308), against DNS
//! answers built in the test with hickory-proto.

mod common;

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::*;
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::RecordType;
use postwerk_mx::{
    Families, Handled, Ignored, Lookup, Options, RecordKind, Rng, RouteError, Transport,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn basic_zone() -> Zone {
    Zone::new(vec![
        mx("example.test", 20, "b.mx.test"),
        mx("example.test", 10, "a.mx.test"),
        mx("example.test", 30, "c.mx.test"),
        a("a.mx.test", "192.0.2.1"),
        a("b.mx.test", "192.0.2.2"),
        a("c.mx.test", "192.0.2.3"),
        a("example.test", "192.0.2.99"),
    ])
}

#[test]
fn mx_hosts_sorted_by_preference() {
    let mut zone = basic_zone();
    let route = resolve(&mut zone, "example.test", Options::default(), 1).unwrap();
    assert_eq!(host_names(&route), ["a.mx.test", "b.mx.test", "c.mx.test"]);
    assert_eq!(
        route.hosts.iter().map(|h| h.preference).collect::<Vec<_>>(),
        [10, 20, 30]
    );
    assert_eq!(route.hosts[0].addresses, [ip("192.0.2.1")]);
    assert!(!route.implicit && !route.literal);
    // The domain's own A record is never used when MX records exist.
    assert!(route.addresses().all(|(_, a)| a != ip("192.0.2.99")));
}

#[test]
fn equal_preferences_shuffled_reproducibly() {
    let mut records = Vec::new();
    for i in 0..6 {
        records.push(mx("eq.test", 10, &format!("h{i}.eq.test")));
        records.push(a(&format!("h{i}.eq.test"), &format!("192.0.2.{}", i + 1)));
    }
    records.push(mx("eq.test", 5, "first.eq.test"));
    records.push(a("first.eq.test", "192.0.2.100"));
    let mut orders = HashSet::new();
    for seed in 0..20 {
        let mut zone = Zone::new(records.clone());
        let r1 = resolve(&mut zone, "eq.test", Options::default(), seed).unwrap();
        let r2 = resolve(&mut zone, "eq.test", Options::default(), seed).unwrap();
        assert_eq!(r1, r2, "same seed, same route");
        assert_eq!(r1.hosts[0].name, "first.eq.test");
        let names: Vec<String> = r1.hosts.iter().map(|h| h.name.clone()).collect();
        let mut sorted = names[1..].to_vec();
        sorted.sort();
        assert_eq!(
            sorted,
            (0..6).map(|i| format!("h{i}.eq.test")).collect::<Vec<_>>()
        );
        orders.insert(names);
    }
    assert!(
        orders.len() > 5,
        "equal preferences are shuffled: {} orders",
        orders.len()
    );
}

#[test]
fn nodata_means_implicit_mx() {
    let mut zone = Zone::new(vec![
        a("plain.test", "192.0.2.7"),
        aaaa("plain.test", "2001:db8::7"),
    ]);
    let route = resolve(&mut zone, "plain.test", Options::default(), 1).unwrap();
    assert!(route.implicit);
    assert_eq!(host_names(&route), ["plain.test"]);
    assert_eq!(route.hosts[0].preference, 0);
    assert_eq!(
        route.hosts[0].addresses,
        [ip("192.0.2.7"), ip("2001:db8::7")]
    );
}

#[test]
fn implicit_mx_without_addresses_is_permanent() {
    let mut zone = Zone::new(vec![soa("empty.test", 60, 60)]);
    let err = resolve(&mut zone, "empty.test", Options::default(), 1).unwrap_err();
    assert_eq!(
        err,
        RouteError::NoAddresses {
            domain: "empty.test".into()
        }
    );
    assert!(err.is_permanent());
}

#[test]
fn mx_present_never_falls_back_to_domain_addresses() {
    let mut zone = Zone::new(vec![
        mx("fallback.test", 10, "gone.fallback.test"),
        a("fallback.test", "192.0.2.50"),
    ]);
    let err = resolve(&mut zone, "fallback.test", Options::default(), 1).unwrap_err();
    assert_eq!(
        err,
        RouteError::NoAddresses {
            domain: "fallback.test".into()
        }
    );
    assert!(
        !zone
            .log
            .iter()
            .any(|(n, k, _)| n == "fallback.test" && *k != RecordKind::Mx)
    );
}

#[test]
fn nxdomain_is_permanent() {
    let mut zone = basic_zone();
    let err = resolve(&mut zone, "nowhere.test", Options::default(), 1).unwrap_err();
    assert_eq!(
        err,
        RouteError::NoSuchDomain {
            domain: "nowhere.test".into()
        }
    );
    assert!(err.is_permanent());
    assert_eq!(err.enhanced_status().to_string(), "5.1.2");
    assert_eq!(err.smtp_code(), 550);
}

#[test]
fn null_mx_alone_is_556_5_1_10() {
    let mut zone = Zone::new(vec![mx("null.test", 0, "."), a("null.test", "192.0.2.1")]);
    let err = resolve(&mut zone, "null.test", Options::default(), 1).unwrap_err();
    assert_eq!(
        err,
        RouteError::NullMx {
            domain: "null.test".into()
        }
    );
    assert!(err.is_permanent());
    assert_eq!(err.smtp_code(), 556);
    assert_eq!(err.enhanced_status().to_string(), "5.1.10");
    assert_eq!(zone.log.len(), 1, "no address lookups after a null MX");
}

#[test]
fn null_mx_mixed_is_a_misconfiguration() {
    let mut zone = Zone::new(vec![
        mx("mixed.test", 0, "."),
        mx("mixed.test", 10, "mx.mixed.test"),
        a("mx.mixed.test", "192.0.2.1"),
    ]);
    let err = resolve(&mut zone, "mixed.test", Options::default(), 1).unwrap_err();
    assert_eq!(
        err,
        RouteError::NullMxMixed {
            domain: "mixed.test".into()
        }
    );
    assert!(err.is_permanent());
}

#[test]
fn servfail_and_refused_are_temporary() {
    for refused in [false, true] {
        let mut zone = basic_zone();
        let key = ("example.test".to_string(), RecordType::MX);
        if refused {
            zone.refused.insert(key);
        } else {
            zone.servfail.insert(key);
        }
        let err = resolve(&mut zone, "example.test", Options::default(), 1).unwrap_err();
        let rcode = if refused { 5 } else { 2 };
        assert_eq!(
            err,
            RouteError::ServerFailure {
                name: "example.test".into(),
                record: RecordKind::Mx,
                rcode
            }
        );
        assert!(err.is_temporary());
        assert_eq!(err.enhanced_status().to_string(), "4.4.3");
        assert_eq!(err.smtp_code(), 451);
    }
}

#[test]
fn silence_is_retried_with_backoff_then_temporary() {
    let mut zone = basic_zone();
    zone.silent.insert(("example.test".into(), RecordType::MX));
    let mut options = Options::default();
    options.timeout = Duration::from_millis(100);
    options.attempts = 3;
    let start = Instant::now();
    let mut lookup = Lookup::new("example.test", options, Rng::new(3), start);
    let mut ids = Vec::new();
    let (result, took) = drive(&mut lookup, start, |q| {
        ids.push((q.id, q.attempt));
        zone.answer(q)
    });
    assert_eq!(
        result.unwrap_err(),
        RouteError::Timeout {
            name: "example.test".into(),
            record: RecordKind::Mx,
            attempts: 3
        }
    );
    assert_eq!(ids.len(), 3);
    assert!(
        ids.iter().all(|(id, _)| *id == ids[0].0),
        "retransmissions keep the id"
    );
    assert_eq!(ids.iter().map(|(_, n)| *n).collect::<Vec<_>>(), [0, 1, 2]);
    // 100 ms, then 200 ms, then 400 ms.
    assert_eq!(took, Duration::from_millis(700));
}

#[test]
fn truncated_answer_is_asked_again_over_tcp() {
    let mut records = Vec::new();
    for i in 0..40 {
        records.push(mx("big.test", 10 + i, &format!("mx{i:02}.big.test")));
        records.push(a(
            &format!("mx{i:02}.big.test"),
            &format!("198.51.100.{}", i + 1),
        ));
    }
    let mut zone = Zone::new(records);
    zone.truncate_udp_above = Some(5);
    let mut options = Options::default();
    options.max_hosts = 50;
    let route = resolve(&mut zone, "big.test", options, 1).unwrap();
    assert_eq!(route.hosts.len(), 40);
    assert_eq!(
        zone.log[..2],
        [
            ("big.test".to_string(), RecordKind::Mx, Transport::Udp),
            ("big.test".to_string(), RecordKind::Mx, Transport::Tcp)
        ]
    );
}

#[test]
fn truncated_without_tcp_answer_is_temporary() {
    let mut zone = basic_zone();
    zone.truncate_udp_above = Some(1);
    zone.tcp_silent = true;
    let mut options = Options::default();
    options.timeout = Duration::from_millis(10);
    let err = resolve(&mut zone, "example.test", options, 1).unwrap_err();
    assert_eq!(
        err,
        RouteError::Truncated {
            name: "example.test".into(),
            record: RecordKind::Mx
        }
    );
    assert!(err.is_temporary());
}

#[test]
fn cname_to_the_mx_in_one_answer() {
    let mut zone = basic_zone();
    zone.records.push(cname("alias.test", "example.test"));
    let route = resolve(&mut zone, "alias.test", Options::default(), 1).unwrap();
    assert_eq!(host_names(&route), ["a.mx.test", "b.mx.test", "c.mx.test"]);
    assert_eq!(zone.log.iter().filter(|l| l.1 == RecordKind::Mx).count(), 1);
}

#[test]
fn cname_without_chased_data_is_followed() {
    let mut zone = basic_zone();
    zone.records.push(cname("alias.test", "alias2.test"));
    zone.records.push(cname("alias2.test", "example.test"));
    zone.no_chase = true;
    let route = resolve(&mut zone, "alias.test", Options::default(), 1).unwrap();
    assert_eq!(route.hosts.len(), 3);
    let mx_queries: Vec<&str> = zone
        .log
        .iter()
        .filter(|l| l.1 == RecordKind::Mx)
        .map(|l| l.0.as_str())
        .collect();
    assert_eq!(mx_queries, ["alias.test", "alias2.test", "example.test"]);
}

#[test]
fn cname_to_nodata_is_implicit_mx_of_the_target() {
    let mut zone = Zone::new(vec![
        cname("www.test", "host.test"),
        a("host.test", "192.0.2.8"),
    ]);
    let route = resolve(&mut zone, "www.test", Options::default(), 1).unwrap();
    assert!(route.implicit);
    assert_eq!(host_names(&route), ["host.test"]);
}

#[test]
fn cname_chains_are_bounded() {
    for no_chase in [false, true] {
        let mut zone = Zone::new(vec![
            cname("loop1.test", "loop2.test"),
            cname("loop2.test", "loop1.test"),
        ]);
        zone.no_chase = no_chase;
        let err = resolve(&mut zone, "loop1.test", Options::default(), 1).unwrap_err();
        assert_eq!(
            err,
            RouteError::CnameChainTooLong {
                name: "loop1.test".into(),
                limit: 8
            }
        );
        assert!(err.is_temporary());
        assert!(zone.log.len() <= 10);
    }
}

#[test]
fn we_are_an_mx_keep_only_strictly_better() {
    let mut zone = Zone::new(vec![
        mx("ours.test", 10, "a.ours.test"),
        mx("ours.test", 20, "b.ours.test"),
        mx("ours.test", 20, "me.ours.test"),
        mx("ours.test", 30, "c.ours.test"),
        a("a.ours.test", "192.0.2.1"),
        a("b.ours.test", "192.0.2.2"),
        a("me.ours.test", "192.0.2.3"),
        a("c.ours.test", "192.0.2.4"),
    ]);
    let mut options = Options::default();
    options.local_hosts.push("ME.ours.test.".into());
    let route = resolve(&mut zone, "ours.test", options, 1).unwrap();
    assert_eq!(host_names(&route), ["a.ours.test"]);
}

#[test]
fn we_are_the_best_mx_is_a_loop() {
    let mut zone = Zone::new(vec![
        mx("loop.test", 10, "me.loop.test"),
        mx("loop.test", 10, "peer.loop.test"),
        mx("loop.test", 20, "backup.loop.test"),
        a("peer.loop.test", "192.0.2.2"),
    ]);
    let mut options = Options::default();
    options.local_hosts.push("me.loop.test".into());
    let err = resolve(&mut zone, "loop.test", options.clone(), 1).unwrap_err();
    assert_eq!(
        err,
        RouteError::Loop {
            domain: "loop.test".into()
        }
    );
    assert!(err.is_permanent());
    assert_eq!(err.enhanced_status().to_string(), "5.4.6");
    // The implicit MX being us is a loop too.
    let mut zone = Zone::new(vec![a("me.loop.test", "192.0.2.9")]);
    let err = resolve(&mut zone, "me.loop.test", options, 1).unwrap_err();
    assert_eq!(
        err,
        RouteError::Loop {
            domain: "me.loop.test".into()
        }
    );
}

#[test]
fn additional_section_addresses_are_used() {
    let mut zone = basic_zone();
    zone.additional = true;
    let mut options = Options::default();
    options.families = Families::Ipv4Only;
    let route = resolve(&mut zone, "example.test", options, 1).unwrap();
    assert_eq!(route.hosts.len(), 3);
    assert_eq!(zone.log.len(), 1, "only the MX query: {:?}", zone.log);
}

#[test]
fn hosts_without_addresses_are_skipped() {
    let mut zone = Zone::new(vec![
        mx("skip.test", 10, "gone.skip.test"),
        mx("skip.test", 20, "noaddr.skip.test"),
        mx("skip.test", 30, "ok.skip.test"),
        soa("noaddr.skip.test", 60, 60),
        a("ok.skip.test", "192.0.2.5"),
    ]);
    let route = resolve(&mut zone, "skip.test", Options::default(), 1).unwrap();
    assert_eq!(host_names(&route), ["ok.skip.test"]);
    let unresolved: Vec<(&str, bool)> = route
        .unresolved
        .iter()
        .map(|u| (u.name.as_str(), u.temporary))
        .collect();
    assert_eq!(
        unresolved,
        [("gone.skip.test", false), ("noaddr.skip.test", false)]
    );
    assert!(!route.has_temporary_gaps());
}

#[test]
fn no_addresses_with_a_temporary_failure_is_temporary() {
    let mut zone = Zone::new(vec![
        mx("tmp.test", 10, "gone.tmp.test"),
        mx("tmp.test", 20, "flaky.tmp.test"),
        a("flaky.tmp.test", "192.0.2.5"),
    ]);
    zone.servfail
        .insert(("flaky.tmp.test".into(), RecordType::A));
    let mut options = Options::default();
    options.families = Families::Ipv4Only;
    let err = resolve(&mut zone, "tmp.test", options.clone(), 1).unwrap_err();
    assert_eq!(
        err,
        RouteError::AddressesUnavailable {
            domain: "tmp.test".into()
        }
    );
    assert!(err.is_temporary());
    // With one host reachable, the route says a temporary gap exists.
    zone.records.push(mx("tmp.test", 30, "ok.tmp.test"));
    zone.records.push(a("ok.tmp.test", "192.0.2.6"));
    let route = resolve(&mut zone, "tmp.test", options, 1).unwrap();
    assert_eq!(host_names(&route), ["ok.tmp.test"]);
    assert!(route.has_temporary_gaps());
}

#[test]
fn families_order_and_caps() {
    let mut records = vec![];
    for h in ["h1.fam.test", "h2.fam.test", "h3.fam.test"] {
        records.push(mx("fam.test", 10, h));
        records.push(a(h, "192.0.2.1"));
        records.push(a(h, "192.0.2.2"));
        records.push(aaaa(h, "2001:db8::1"));
    }
    let mut options = Options::default();
    options.families = Families::Ipv6First;
    let route = resolve(
        &mut Zone::new(records.clone()),
        "fam.test",
        options.clone(),
        1,
    )
    .unwrap();
    for h in &route.hosts {
        assert_eq!(h.addresses[0], ip("2001:db8::1"));
        assert_eq!(h.addresses.len(), 3);
    }
    options.families = Families::Ipv4Only;
    options.max_hosts = 2;
    options.max_addresses_per_host = 1;
    let mut zone = Zone::new(records.clone());
    let route = resolve(&mut zone, "fam.test", options.clone(), 1).unwrap();
    assert_eq!(route.hosts.len(), 2);
    assert!(
        route
            .hosts
            .iter()
            .all(|h| h.addresses.len() == 1 && h.addresses[0].is_ipv4())
    );
    assert!(
        zone.log.iter().all(|l| l.1 != RecordKind::Aaaa),
        "no AAAA query when IPv4 only"
    );
    options.families = Families::Ipv6Only;
    let mut zone = Zone::new(records);
    let route = resolve(&mut zone, "fam.test", options, 1).unwrap();
    assert!(route.addresses().all(|(_, a)| a.is_ipv6()));
    assert!(zone.log.iter().all(|l| l.1 != RecordKind::A));
}

#[test]
fn mismatched_responses_are_ignored() {
    let start = Instant::now();
    let mut lookup = Lookup::new("example.test", Options::default(), Rng::new(9), start);
    let q = lookup.poll_query().unwrap();
    let good = {
        let mut zone = basic_zone();
        zone.additional = true;
        zone.answer(&q).unwrap()
    };
    let patched = |f: &dyn Fn(&mut Message)| {
        let mut m = Message::from_vec(&good).unwrap();
        f(&mut m);
        m.to_vec().unwrap()
    };
    let wrong_id = patched(&|m| m.metadata.id = m.metadata.id.wrapping_add(1));
    let not_response = patched(&|m| m.metadata.message_type = MessageType::Query);
    let wrong_opcode = patched(&|m| m.metadata.op_code = OpCode::Status);
    let wrong_name = patched(&|m| {
        m.queries[0].set_name(name("other.test"));
    });
    let wrong_type = patched(&|m| {
        m.queries[0].set_query_type(RecordType::A);
    });
    let no_question = patched(&|m| m.queries.clear());
    let mixed_case = patched(&|m| {
        m.queries[0].set_name(name("ExAmPlE.TeSt"));
    });
    assert_eq!(
        lookup.handle_response(&[], start),
        Handled::Ignored(Ignored::Malformed)
    );
    assert_eq!(
        lookup.handle_response(&wrong_id, start),
        Handled::Ignored(Ignored::UnknownId)
    );
    assert_eq!(
        lookup.handle_response(&not_response, start),
        Handled::Ignored(Ignored::NotResponse)
    );
    assert_eq!(
        lookup.handle_response(&wrong_opcode, start),
        Handled::Ignored(Ignored::Opcode)
    );
    assert_eq!(
        lookup.handle_response(&wrong_name, start),
        Handled::Ignored(Ignored::Question)
    );
    assert_eq!(
        lookup.handle_response(&wrong_type, start),
        Handled::Ignored(Ignored::Question)
    );
    assert_eq!(
        lookup.handle_response(&no_question, start),
        Handled::Ignored(Ignored::Question)
    );
    let truncated_bytes = &good[..good.len() - 3];
    assert_eq!(
        lookup.handle_response(truncated_bytes, start),
        Handled::Ignored(Ignored::Malformed)
    );
    assert!(!lookup.is_finished());
    // A 0x20-style mixed-case echo of the question is the genuine answer.
    assert!(matches!(
        lookup.handle_response(&mixed_case, start),
        Handled::Accepted { .. }
    ));
    let mut zone = basic_zone();
    let (route, _) = drive(&mut lookup, start, |q| zone.answer(q));
    assert_eq!(route.unwrap().hosts.len(), 3);
    assert_eq!(
        lookup.handle_response(&good, start),
        Handled::Ignored(Ignored::Finished)
    );
}

#[test]
fn error_answer_without_question_is_accepted() {
    let start = Instant::now();
    let m = |id| {
        let mut m = Message::new(id, MessageType::Response, OpCode::Query);
        m.metadata.response_code = ResponseCode::FormErr;
        m.to_vec().unwrap()
    };
    // With transmissions left, it moves the query on to the next server.
    let mut lookup = Lookup::new("example.test", Options::default(), Rng::new(9), start);
    let q = lookup.poll_query().unwrap();
    assert_eq!(lookup.handle_response(&m(q.id), start), Handled::Retrying);
    let again = lookup.poll_query().unwrap();
    assert_eq!((again.id, again.attempt), (q.id, 1));
    // On the last one, it ends the lookup.
    let mut options = Options::default();
    options.attempts = 1;
    let mut lookup = Lookup::new("example.test", options, Rng::new(9), start);
    let q = lookup.poll_query().unwrap();
    assert_eq!(
        lookup.handle_response(&m(q.id), start),
        Handled::Accepted { cache_ttl: None }
    );
    let err = lookup.result().unwrap().unwrap_err();
    assert!(matches!(err, RouteError::ServerFailure { rcode: 1, .. }));
}

#[test]
fn cache_ttls_follow_rfc_2308() {
    let start = Instant::now();
    let zone_records = vec![
        mx("ttl.test", 10, "mx.ttl.test"),
        a("mx.ttl.test", "192.0.2.1"),
    ];
    let mut zone = Zone::new(zone_records);
    // Positive: the smallest TTL of the records used.
    let mut lookup = Lookup::new("ttl.test", Options::default(), Rng::new(1), start);
    let q = lookup.poll_query().unwrap();
    let mut m = Message::from_vec(&zone.answer(&q).unwrap()).unwrap();
    m.answers[0].ttl = 42;
    assert_eq!(
        lookup.handle_response(&m.to_vec().unwrap(), start),
        Handled::Accepted {
            cache_ttl: Some(42)
        }
    );
    // NXDOMAIN: min(SOA TTL 600, MINIMUM 60).
    let mut lookup = Lookup::new("none.test", Options::default(), Rng::new(1), start);
    let q = lookup.poll_query().unwrap();
    let r = zone.answer(&q).unwrap();
    assert_eq!(
        lookup.handle_response(&r, start),
        Handled::Accepted {
            cache_ttl: Some(60)
        }
    );
    // A negative answer without SOA is not cached.
    let mut lookup = Lookup::new("none.test", Options::default(), Rng::new(1), start);
    let q = lookup.poll_query().unwrap();
    let mut m = Message::from_vec(&zone.answer(&q).unwrap()).unwrap();
    m.authorities.clear();
    assert_eq!(
        lookup.handle_response(&m.to_vec().unwrap(), start),
        Handled::Accepted { cache_ttl: None }
    );
    assert!(lookup.result().unwrap().unwrap_err().is_permanent());
}

#[test]
fn send_errors_retransmit() {
    let start = Instant::now();
    let mut lookup = Lookup::new("example.test", Options::default(), Rng::new(1), start);
    let q = lookup.poll_query().unwrap();
    lookup.handle_error(q.id, start);
    let again = lookup.poll_query().unwrap();
    assert_eq!((again.id, again.attempt), (q.id, 1));
}

#[test]
fn idn_domains_are_asked_as_a_labels() {
    let start = Instant::now();
    let mut lookup = Lookup::new("Bücher.test", Options::default(), Rng::new(1), start);
    assert_eq!(lookup.domain(), "xn--bcher-kva.test");
    let q = lookup.poll_query().unwrap();
    assert_eq!(q.name, "xn--bcher-kva.test");
    let m = Message::from_vec(&q.bytes).unwrap();
    assert_eq!(m.queries[0].name(), &name("xn--bcher-kva.test"));
    assert_eq!(m.metadata.id, q.id);
    assert!(m.metadata.recursion_desired);
}

#[test]
fn query_ids_come_from_the_seed() {
    let start = Instant::now();
    let id = |seed| {
        Lookup::new("example.test", Options::default(), Rng::new(seed), start)
            .poll_query()
            .unwrap()
            .id
    };
    assert_eq!(id(5), id(5));
    assert_ne!(id(5), id(6));
}

#[test]
fn address_literals_need_no_dns() {
    let start = Instant::now();
    for (input, expect) in [
        ("[192.0.2.1]", "192.0.2.1"),
        ("[IPv6:2001:db8::1]", "2001:db8::1"),
    ] {
        let mut lookup = Lookup::new(input, Options::default(), Rng::new(1), start);
        assert!(lookup.poll_query().is_none());
        assert!(lookup.poll_timeout().is_none());
        let route = lookup.result().unwrap().unwrap();
        assert!(route.literal);
        assert_eq!(route.hosts[0].addresses, [ip(expect)]);
        assert_eq!(route.hosts[0].name, input);
    }
    let mut options = Options::default();
    options.families = Families::Ipv6Only;
    let mut lookup = Lookup::new("[192.0.2.1]", options, Rng::new(1), start);
    assert!(lookup.result().unwrap().unwrap_err().is_permanent());
}

#[test]
fn invalid_domains_are_permanent() {
    let start = Instant::now();
    for input in ["", "a..b", "[300.1.1.1]", "exa mple.test", &"x".repeat(300)] {
        let mut lookup = Lookup::new(input, Options::default(), Rng::new(1), start);
        assert!(lookup.poll_query().is_none(), "{input}");
        let err = lookup.result().unwrap().unwrap_err();
        assert!(
            matches!(err, RouteError::InvalidDomain { .. }),
            "{input}: {err:?}"
        );
        assert!(err.is_permanent());
    }
}

#[test]
fn unspecified_and_duplicate_addresses_are_dropped() {
    let mut zone = Zone::new(vec![
        mx("dup.test", 10, "mx.dup.test"),
        a("mx.dup.test", "0.0.0.0"),
        a("mx.dup.test", "192.0.2.1"),
        a("mx.dup.test", "192.0.2.1"),
    ]);
    let mut options = Options::default();
    options.families = Families::Ipv4Only;
    let route = resolve(&mut zone, "dup.test", options, 1).unwrap();
    assert_eq!(route.hosts[0].addresses, [ip("192.0.2.1")]);
}

#[test]
fn exchanger_cnames_are_followed_for_addresses() {
    for no_chase in [false, true] {
        let mut zone = Zone::new(vec![
            mx("cn.test", 10, "alias.cn.test"),
            cname("alias.cn.test", "real.cn.test"),
            a("real.cn.test", "192.0.2.77"),
        ]);
        zone.no_chase = no_chase;
        let mut options = Options::default();
        options.families = Families::Ipv4Only;
        let route = resolve(&mut zone, "cn.test", options, 1).unwrap();
        assert_eq!(host_names(&route), ["alias.cn.test"]);
        assert_eq!(route.hosts[0].addresses, [ip("192.0.2.77")]);
    }
}

#[test]
fn truncated_address_answers_go_to_tcp() {
    let mut records = vec![mx("many.test", 10, "mx.many.test")];
    for i in 1..=20 {
        records.push(a("mx.many.test", &format!("198.51.100.{i}")));
    }
    let mut zone = Zone::new(records);
    zone.truncate_udp_above = Some(3);
    let mut options = Options::default();
    options.families = Families::Ipv4Only;
    options.max_addresses_per_host = 100;
    let route = resolve(&mut zone, "many.test", options, 1).unwrap();
    assert_eq!(route.hosts[0].addresses.len(), 20);
    assert!(
        zone.log
            .contains(&("mx.many.test".into(), RecordKind::A, Transport::Tcp))
    );
}

#[test]
fn huge_mx_sets_are_capped_and_deduplicated() {
    let mut records = Vec::new();
    for i in 0..600u16 {
        // Every exchanger appears twice, the second time with a worse preference.
        records.push(mx("huge.test", i % 50, &format!("h{i}.huge.test")));
        records.push(mx("huge.test", 100 + i % 50, &format!("h{i}.huge.test")));
        records.push(a(&format!("h{i}.huge.test"), "192.0.2.1"));
    }
    let mut zone = Zone::new(records);
    let route = resolve(&mut zone, "huge.test", Options::default(), 1).unwrap();
    assert_eq!(route.hosts.len(), 10, "max_hosts");
    assert!(route.hosts.iter().all(|h| h.preference == 0));
    let names: HashSet<&str> = host_names(&route).into_iter().collect();
    assert_eq!(names.len(), 10, "no exchanger twice");
    assert!(zone.log.len() <= 1 + 2 * 10, "{} queries", zone.log.len());
}

/// Answers the first `failing` transmissions of every query with `failure`, the rest
/// from `zone`.
fn failing_first<'a>(
    zone: &'a mut Zone,
    failing: u8,
    failure: impl Fn(&postwerk_mx::Query) -> Option<Vec<u8>> + 'a,
) -> impl FnMut(&postwerk_mx::Query) -> Option<Vec<u8>> + 'a {
    move |q| {
        if q.attempt < failing {
            zone.log.push((q.name.clone(), q.record, q.transport));
            failure(q)
        } else {
            zone.answer(q)
        }
    }
}

/// A referral: NOERROR, nothing in the answer section, NS records (no SOA) in the
/// authority section.
fn referral(query: &[u8]) -> Vec<u8> {
    use hickory_proto::rr::rdata::NS;
    use hickory_proto::rr::{RData, Record};
    let mut r = reply_to(query);
    r.metadata.recursion_available = false;
    r.add_authority(Record::from_rdata(
        name("test"),
        300,
        RData::NS(NS(name("ns1.elsewhere.example"))),
    ));
    r.to_vec().unwrap()
}

#[test]
fn security_48_servfail_and_refused_move_on_to_the_next_server() {
    for rcode in [ResponseCode::ServFail, ResponseCode::Refused] {
        let mut zone = basic_zone();
        let mut options = Options::default();
        options.servers = 2;
        options.attempts = 1;
        let start = Instant::now();
        let mut lookup = Lookup::new("example.test", options, Rng::new(1), start);
        let (result, took) = drive(
            &mut lookup,
            start,
            failing_first(&mut zone, 1, |q| Some(error_reply(&q.bytes, rcode))),
        );
        let route = result.unwrap();
        assert_eq!(host_names(&route), ["a.mx.test", "b.mx.test", "c.mx.test"]);
        assert_eq!(
            took,
            Duration::ZERO,
            "{rcode}: moved on at once, no timeout"
        );
    }
    // Every server failing, every round: a temporary failure with the last code.
    let mut zone = basic_zone();
    zone.servfail
        .insert(("example.test".into(), RecordType::MX));
    let mut options = Options::default();
    options.servers = 3;
    options.attempts = 2;
    let start = Instant::now();
    let mut lookup = Lookup::new("example.test", options, Rng::new(1), start);
    let mut sent = Vec::new();
    let (result, _) = drive(&mut lookup, start, |q| {
        sent.push(q.attempt);
        zone.answer(q)
    });
    assert_eq!(sent, [0, 1, 2, 3, 4, 5], "every server, every round");
    let err = result.unwrap_err();
    assert_eq!(
        err,
        RouteError::ServerFailure {
            name: "example.test".into(),
            record: RecordKind::Mx,
            rcode: 2
        }
    );
    assert!(err.is_temporary());
}

#[test]
fn security_48_timeouts_move_on_to_the_next_server_then_back_off() {
    let mut zone = basic_zone();
    zone.silent.insert(("example.test".into(), RecordType::MX));
    let mut options = Options::default();
    options.servers = 2;
    options.attempts = 2;
    options.timeout = Duration::from_millis(100);
    let start = Instant::now();
    let mut lookup = Lookup::new("example.test", options, Rng::new(1), start);
    let mut sent = Vec::new();
    let (result, took) = drive(&mut lookup, start, |q| {
        sent.push(q.attempt);
        zone.answer(q)
    });
    assert_eq!(sent, [0, 1, 2, 3]);
    // Round one: 100 ms per server; round two: 200 ms per server.
    assert_eq!(took, Duration::from_millis(600));
    assert_eq!(
        result.unwrap_err(),
        RouteError::Timeout {
            name: "example.test".into(),
            record: RecordKind::Mx,
            attempts: 4
        }
    );
    // A silent first server and a working second one: one timeout for the MX query, one
    // for the (concurrent) address queries.
    let mut zone = basic_zone();
    let mut options = Options::default();
    options.servers = 2;
    options.timeout = Duration::from_millis(100);
    let mut lookup = Lookup::new("example.test", options, Rng::new(1), start);
    let (result, took) = drive(&mut lookup, start, failing_first(&mut zone, 1, |_| None));
    assert_eq!(result.unwrap().hosts.len(), 3);
    assert_eq!(took, Duration::from_millis(200));
}

#[test]
fn security_48_a_referral_is_a_temporary_error_never_nodata() {
    // Before: read as NODATA, so the implicit MX, the domain's own A record 192.0.2.99.
    let mut zone = basic_zone();
    let start = Instant::now();
    let mut lookup = Lookup::new("example.test", Options::default(), Rng::new(1), start);
    let (result, _) = drive(&mut lookup, start, |q| Some(referral(&q.bytes)));
    let err = result.unwrap_err();
    assert_eq!(
        err,
        RouteError::LameAnswer {
            name: "example.test".into(),
            record: RecordKind::Mx
        }
    );
    assert!(err.is_temporary());
    assert_eq!(
        (err.smtp_code(), err.enhanced_status().to_string()),
        (451, "4.4.3".to_string())
    );
    // A lame first server and a good second one: the real answer.
    let mut options = Options::default();
    options.servers = 2;
    let mut lookup = Lookup::new("example.test", options, Rng::new(1), start);
    let (result, _) = drive(
        &mut lookup,
        start,
        failing_first(&mut zone, 1, |q| Some(referral(&q.bytes))),
    );
    assert_eq!(result.unwrap().hosts.len(), 3);
    // A referral is never cached and never answers with Accepted data.
    let mut options = Options::default();
    options.attempts = 1;
    let mut lookup = Lookup::new("example.test", options, Rng::new(1), start);
    let q = lookup.poll_query().unwrap();
    assert_eq!(
        lookup.handle_response(&referral(&q.bytes), start),
        Handled::Accepted { cache_ttl: None }
    );
    assert!(matches!(
        lookup.result(),
        Some(Err(RouteError::LameAnswer { .. }))
    ));
}

#[test]
fn a_lame_address_answer_is_a_temporary_gap_not_an_absent_host() {
    let mut zone = Zone::new(vec![
        mx("gap.test", 10, "lame.gap.test"),
        mx("gap.test", 20, "ok.gap.test"),
        a("lame.gap.test", "192.0.2.7"),
        a("ok.gap.test", "192.0.2.8"),
    ]);
    let mut options = Options::default();
    options.families = Families::Ipv4Only;
    options.attempts = 1;
    let start = Instant::now();
    let mut lookup = Lookup::new("gap.test", options, Rng::new(1), start);
    let (result, _) = drive(&mut lookup, start, |q| {
        if q.name == "lame.gap.test" {
            Some(referral(&q.bytes))
        } else {
            zone.answer(q)
        }
    });
    let route = result.unwrap();
    assert_eq!(host_names(&route), ["ok.gap.test"]);
    assert!(route.has_temporary_gaps(), "{route:?}");
}

#[test]
fn nodata_with_an_soa_is_still_the_implicit_mx() {
    let mut zone = Zone::new(vec![a("plain.test", "192.0.2.50")]);
    let route = resolve(&mut zone, "plain.test", Options::default(), 1).unwrap();
    assert!(route.implicit);
    assert_eq!(route.hosts[0].addresses, [ip("192.0.2.50")]);
}

#[test]
fn huge_timeouts_do_not_panic() {
    let mut options = Options::default();
    options.timeout = Duration::MAX;
    options.attempts = 2;
    let start = Instant::now();
    let mut lookup = Lookup::new("example.test", options, Rng::new(1), start);
    let q = lookup.poll_query().unwrap();
    let deadline = lookup.poll_timeout().unwrap();
    assert!(deadline > start);
    lookup.handle_timeout(deadline);
    assert_eq!(lookup.poll_query().unwrap().attempt, q.attempt + 1);
    let deadline = lookup.poll_timeout().unwrap();
    lookup.handle_timeout(deadline);
    assert!(lookup.is_finished());
}
