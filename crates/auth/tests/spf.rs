//! The SPF check machine: limits (RFC 7208 4.6.4), DNS errors, the driving contract
//! (several questions at once, unasked answers ignored, time budget), identities and
//! macros that need inputs (`%{r}`, `%{t}`, `%{p}`).

use std::collections::HashMap;
use std::net::IpAddr;

use postwerk_auth::dns::{Answer, Query, Record, RecordKind};
use postwerk_auth::spf::{
    Identity, SpfCheck, SpfConfig, SpfError, SpfOutput, SpfRecord, SpfResult,
};
use proptest::prelude::*;

const NOW: u64 = 1_700_000_000;

/// A DNS made of (name, kind) -> answer; anything else is NXDOMAIN.
#[derive(Default)]
struct Dns {
    map: HashMap<(String, RecordKind), Answer>,
    asked: Vec<Query>,
}

impl Dns {
    fn txt(mut self, name: &str, text: &str) -> Self {
        self.map
            .insert((name.to_owned(), RecordKind::Txt), Answer::txt(text));
        self
    }
    fn a(mut self, name: &str, addrs: &[&str]) -> Self {
        let records = addrs
            .iter()
            .map(|a| match a.parse::<IpAddr>().unwrap() {
                IpAddr::V4(v4) => Record::A(v4),
                IpAddr::V6(v6) => Record::Aaaa(v6),
            })
            .collect::<Vec<_>>();
        let kind = match records[0] {
            Record::A(_) => RecordKind::A,
            _ => RecordKind::Aaaa,
        };
        self.map
            .insert((name.to_owned(), kind), Answer::Records(records));
        self
    }
    fn set(mut self, name: &str, kind: RecordKind, answer: Answer) -> Self {
        self.map.insert((name.to_owned(), kind), answer);
        self
    }
    fn answer(&mut self, q: &Query) -> Answer {
        self.asked.push(q.clone());
        self.map
            .get(&(q.name.clone(), q.kind))
            .cloned()
            .unwrap_or(Answer::NxDomain)
    }
}

fn drive(mut check: SpfCheck, dns: &mut Dns) -> SpfOutput {
    for _ in 0..500 {
        if let Some(out) = check.result() {
            return out.clone();
        }
        let queries = check.queries();
        assert!(!queries.is_empty(), "neither a result nor a question");
        for q in queries {
            let a = dns.answer(&q);
            check.supply(&q, a);
        }
    }
    panic!("no result");
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn mail_from(client: &str, from: &str, dns: &mut Dns) -> SpfOutput {
    let check = SpfCheck::mail_from(
        SpfConfig::default(),
        ip(client),
        from,
        "mail.example.org",
        NOW,
    );
    drive(check, dns)
}

#[test]
fn security_57_spf_limits_and_dns_errors_never_pass() {
    // 10 DNS-querying terms are allowed; the 11th is permerror, even before a +all.
    let ten = format!("v=spf1 {} +all", ["a:x.example.com"; 10].join(" "));
    let mut dns = Dns::default()
        .txt("example.com", &ten)
        .a("x.example.com", &["192.0.2.99"]);
    let out = mail_from("192.0.2.1", "a@example.com", &mut dns);
    assert_eq!(out.result, SpfResult::Pass);
    assert_eq!(out.dns_lookups, 10);
    let eleven = format!("v=spf1 {} +all", ["a:x.example.com"; 11].join(" "));
    let mut dns = Dns::default()
        .txt("example.com", &eleven)
        .a("x.example.com", &["192.0.2.99"]);
    let out = mail_from("192.0.2.1", "a@example.com", &mut dns);
    assert_eq!(out.result, SpfResult::PermError);
    assert_eq!(out.problem, Some(SpfError::TooManyDnsLookups(10)));
    assert_eq!(out.dns_lookups, 11);

    // include and redirect loops count toward the 10.
    let mut dns = Dns::default()
        .txt("loop.example.com", "v=spf1 include:loop2.example.com +all")
        .txt("loop2.example.com", "v=spf1 include:loop.example.com");
    let out = mail_from("192.0.2.1", "a@loop.example.com", &mut dns);
    assert_eq!(out.result, SpfResult::PermError);
    assert_eq!(out.problem, Some(SpfError::TooManyDnsLookups(10)));
    let mut dns = Dns::default().txt("r.example.com", "v=spf1 redirect=r.example.com");
    let out = mail_from("192.0.2.1", "a@r.example.com", &mut dns);
    assert_eq!(out.problem, Some(SpfError::TooManyDnsLookups(10)));
    assert!(dns.asked.len() <= 12, "{} questions", dns.asked.len());

    // Two void lookups are allowed, the third is permerror.
    let mut dns = Dns::default().txt(
        "void.example.com",
        "v=spf1 a:n1.example.com mx:n2.example.com exists:n3.example.com +all",
    );
    let out = mail_from("192.0.2.1", "a@void.example.com", &mut dns);
    assert_eq!(out.result, SpfResult::PermError);
    assert_eq!(out.problem, Some(SpfError::TooManyVoidLookups(2)));
    assert_eq!(out.void_lookups, 3);

    // More than 10 MX names: permerror.
    let mxs = (0..11)
        .map(|i| Record::Mx {
            preference: i,
            exchange: format!("mx{i}.example.com"),
        })
        .collect();
    let mut dns = Dns::default().txt("mx.example.com", "v=spf1 mx +all").set(
        "mx.example.com",
        RecordKind::Mx,
        Answer::Records(mxs),
    );
    let out = mail_from("192.0.2.1", "a@mx.example.com", &mut dns);
    assert_eq!(out.result, SpfResult::PermError);
    assert_eq!(
        out.problem,
        Some(SpfError::TooManyMxRecords("mx.example.com".into()))
    );

    // A DNS error gives temperror, never pass: the record itself, an include's record,
    // an a: lookup in front of +all, an MX address, an exists.
    let cases: Vec<(&str, Dns)> = vec![
        (
            "a@t1.example.com",
            Dns::default().set("t1.example.com", RecordKind::Txt, Answer::TempFail),
        ),
        (
            "a@t2.example.com",
            Dns::default()
                .txt("t2.example.com", "v=spf1 include:inc.example.com +all")
                .set("inc.example.com", RecordKind::Txt, Answer::TempFail),
        ),
        (
            "a@t3.example.com",
            Dns::default()
                .txt("t3.example.com", "v=spf1 a:x.example.com +all")
                .set("x.example.com", RecordKind::A, Answer::TempFail),
        ),
        (
            "a@t4.example.com",
            Dns::default()
                .txt("t4.example.com", "v=spf1 mx +all")
                .set(
                    "t4.example.com",
                    RecordKind::Mx,
                    Answer::Records(vec![Record::Mx {
                        preference: 0,
                        exchange: "m.example.com".into(),
                    }]),
                )
                .set("m.example.com", RecordKind::A, Answer::TempFail),
        ),
        (
            "a@t5.example.com",
            Dns::default()
                .txt("t5.example.com", "v=spf1 exists:%{i}.bl.example.com +all")
                .set("192.0.2.1.bl.example.com", RecordKind::A, Answer::TempFail),
        ),
    ];
    for (from, mut dns) in cases {
        let out = mail_from("192.0.2.1", from, &mut dns);
        assert_eq!(out.result, SpfResult::TempError, "{from}");
        assert!(
            matches!(out.problem, Some(SpfError::DnsTempFail(_))),
            "{from}"
        );
    }

    // The time budget: a check still waiting at its deadline is temperror.
    let mut check = SpfCheck::mail_from(
        SpfConfig::default(),
        ip("192.0.2.1"),
        "a@slow.example.com",
        "h.example.com",
        NOW,
    );
    assert_eq!(check.deadline(), Some(NOW + 20));
    check.handle_timeout(NOW + 19);
    assert!(check.result().is_none());
    check.handle_timeout(NOW + 20);
    let out = check.result().unwrap();
    assert_eq!(out.result, SpfResult::TempError);
    assert_eq!(out.problem, Some(SpfError::TimeBudget(20)));
    assert!(check.queries().is_empty());
    assert_eq!(check.deadline(), None);
}

#[test]
fn ptr_names_beyond_ten_are_ignored() {
    let names: Vec<Record> = (0..11)
        .map(|i| Record::Ptr(format!("h{i}.example.com")))
        .collect();
    let mut dns = Dns::default()
        .txt("example.com", "v=spf1 ptr:h10.example.com -all")
        .set(
            "1.2.0.192.in-addr.arpa",
            RecordKind::Ptr,
            Answer::Records(names),
        )
        .a("h10.example.com", &["192.0.2.1"]);
    let out = mail_from("192.0.2.1", "a@example.com", &mut dns);
    assert_eq!(out.result, SpfResult::Fail);
    assert!(!dns.asked.iter().any(|q| q.name == "h10.example.com"));
}

#[test]
fn several_questions_at_once_in_any_order() {
    let mxs = ["m1", "m2", "m3"]
        .iter()
        .enumerate()
        .map(|(i, n)| Record::Mx {
            preference: i as u16,
            exchange: format!("{n}.example.com"),
        })
        .collect();
    let mut check = SpfCheck::mail_from(
        SpfConfig::default(),
        ip("2001:db8::5"),
        "a@example.com",
        "h.example.com",
        NOW,
    );
    let q = check.queries();
    assert_eq!(q, vec![Query::new("example.com", RecordKind::Txt)]);
    check.supply(&q[0], Answer::txt("v=spf1 mx -all"));
    let q = check.queries();
    assert_eq!(q, vec![Query::new("example.com", RecordKind::Mx)]);
    check.supply(&q[0], Answer::Records(mxs));
    let q = check.queries();
    assert_eq!(q.len(), 3, "{q:?}");
    assert!(q.iter().all(|q| q.kind == RecordKind::Aaaa));
    // An answer nobody asked for is ignored; so is a repeated one.
    check.supply(
        &Query::new("evil.example.com", RecordKind::Txt),
        Answer::txt("v=spf1 +all"),
    );
    assert_eq!(check.queries().len(), 3);
    check.supply(&q[2], Answer::NoData);
    check.supply(&q[2], Answer::TempFail);
    assert_eq!(check.queries().len(), 2);
    check.supply(
        &q[1],
        Answer::Records(vec![Record::Aaaa("2001:db8::5".parse().unwrap())]),
    );
    assert!(check.result().is_none());
    check.supply(&q[0], Answer::NoData);
    let out = check.result().unwrap();
    assert_eq!(out.result, SpfResult::Pass);
    assert_eq!(out.mechanism.as_deref(), Some("mx"));
    // Done: further answers change nothing.
    check.supply(&q[0], Answer::TempFail);
    assert_eq!(check.result().unwrap().result, SpfResult::Pass);
}

#[test]
fn helo_identity_and_null_sender() {
    let mut dns = Dns::default()
        .txt("mail.example.org", "v=spf1 a -all exp=why.example.org")
        .a("mail.example.org", &["192.0.2.7"])
        .txt("why.example.org", "%{l} at %{o} via %{h} (%{s})");
    let check = SpfCheck::helo(
        SpfConfig::default(),
        ip("192.0.2.7"),
        "mail.example.org",
        NOW,
    );
    let out = drive(check, &mut dns);
    assert_eq!(
        (out.result, out.identity),
        (SpfResult::Pass, Identity::Helo)
    );
    assert_eq!(out.domain, "mail.example.org");

    // The null sender is checked as postmaster@HELO (RFC 7208 2.4).
    let check = SpfCheck::mail_from(
        SpfConfig::default(),
        ip("192.0.2.8"),
        "",
        "mail.example.org",
        NOW,
    );
    let out = drive(check, &mut dns);
    assert_eq!(
        (out.result, out.identity),
        (SpfResult::Fail, Identity::MailFrom)
    );
    assert_eq!(
        out.explanation.as_deref(),
        Some("postmaster at mail.example.org via mail.example.org (postmaster@mail.example.org)")
    );

    // No valid domain (RFC 7208 4.3): none, without asking anything.
    for bad in ["foo@[192.0.2.1]", "foo@localhost", "foo@a..example.com"] {
        let check = SpfCheck::mail_from(SpfConfig::default(), ip("192.0.2.8"), bad, "h", NOW);
        assert_eq!(check.result().unwrap().result, SpfResult::None, "{bad}");
        assert!(check.queries().is_empty());
    }
}

#[test]
fn explanation_macros_take_inputs() {
    let mut dns = Dns::default()
        .txt("example.com", "v=spf1 -all exp=exp.example.com")
        .txt(
            "exp.example.com",
            "%{c} is not one of %{d}'s servers (checked by %{r} at %{t}; %{p})",
        )
        .set(
            "9.2.0.192.in-addr.arpa",
            RecordKind::Ptr,
            Answer::Records(vec![Record::Ptr("mx.example.com".into())]),
        )
        .a("mx.example.com", &["192.0.2.9"]);
    let check = SpfCheck::mail_from(
        SpfConfig::with_receiver("mx.receiver.example"),
        ip("192.0.2.9"),
        "a@example.com",
        "h.example.com",
        NOW,
    );
    let out = drive(check, &mut dns);
    assert_eq!(out.result, SpfResult::Fail);
    assert_eq!(out.mechanism.as_deref(), Some("-all"));
    assert_eq!(
        out.explanation.as_deref(),
        Some(
            "192.0.2.9 is not one of example.com's servers (checked by mx.receiver.example at 1700000000; mx.example.com)"
        )
    );
}

#[test]
fn record_selection() {
    // TXT records that are not SPF are ignored; two SPF records are permerror.
    let mut dns = Dns::default().set(
        "example.com",
        RecordKind::Txt,
        Answer::Records(vec![
            Record::Txt(b"google-site-verification=x".to_vec()),
            Record::Txt(vec![0xff, 0xfe]),
            Record::Txt(b"v=spf1 -all".to_vec()),
        ]),
    );
    assert_eq!(
        mail_from("192.0.2.1", "a@example.com", &mut dns).result,
        SpfResult::Fail
    );
    let mut dns = Dns::default().set(
        "example.com",
        RecordKind::Txt,
        Answer::Records(vec![
            Record::Txt(b"v=spf1 -all".to_vec()),
            Record::Txt(b"V=SPF1 +all".to_vec()),
        ]),
    );
    let out = mail_from("192.0.2.1", "a@example.com", &mut dns);
    assert_eq!(out.result, SpfResult::PermError);
    assert_eq!(
        out.problem,
        Some(SpfError::MultipleRecords("example.com".into()))
    );
    let mut dns = Dns::default().txt("example.com", "v=spf1 ip4:192.0.2.0/24 moo -all");
    let out = mail_from("192.0.2.1", "a@example.com", &mut dns);
    assert_eq!(out.result, SpfResult::PermError);
    assert!(matches!(out.problem, Some(SpfError::Record { .. })));
    let mut dns = Dns::default();
    assert_eq!(
        mail_from("192.0.2.1", "a@example.com", &mut dns).result,
        SpfResult::None
    );
}

#[test]
fn hostile_sizes_stay_bounded() {
    // A long record of cheap terms, a long sender, an explanation of many macros.
    let record = format!(
        "v=spf1 {} -all exp=e.example.com",
        vec!["ip4:198.51.100.0/24"; 5000].join(" ")
    );
    let sender = format!("{}@example.com", "x".repeat(10_000));
    let mut dns = Dns::default()
        .txt("example.com", &record)
        .txt("e.example.com", &"%{s}%{l}%{S}".repeat(200));
    let out = mail_from("192.0.2.1", &sender, &mut dns);
    assert_eq!(out.result, SpfResult::Fail);
    assert!(out.explanation.unwrap().len() <= 1024);
    // A name built from a long macro value keeps its right-most 253 octets.
    let mut dns = Dns::default().txt(
        "example.com",
        "v=spf1 exists:%{l}.%{l}.%{l}.bl.example.com -all",
    );
    let sender = format!("{}@example.com", vec!["abcdefgh"; 200].join("."));
    let out = mail_from("192.0.2.1", &sender, &mut dns);
    assert_eq!(out.result, SpfResult::Fail);
    let exists = dns.asked.iter().find(|q| q.kind == RecordKind::A).unwrap();
    assert!(exists.name.len() <= 253 && exists.name.ends_with(".bl.example.com"));
}

proptest! {
    #[test]
    fn record_parse_never_panics(s in "\\PC{0,200}") {
        let _ = SpfRecord::parse(&s);
        let _ = SpfRecord::parse(&format!("v=spf1 {s}"));
    }

    #[test]
    fn spf_like_records_never_panic(
        terms in prop::collection::vec(
            prop::sample::select(vec![
                "all", "-all", "~all", "?all", "a", "a:", "a/", "a//", "a/24//64", "mx:%{d}",
                "ptr", "ptr:", "ip4:1.2.3.4/", "ip4:1.2.3.4/33", "ip6:::1/", "ip6:::/0",
                "include:", "include:%{l2r-}.x.com", "exists:%{i}.%{v}.%{", "redirect=",
                "exp=%{", "%", "%{", "%{d999999999999}", "x=%{d}", "=", ":", "/", "//", "%-",
                "%%", "%_", "v=spf1",
            ]),
            0..12,
        ),
        seps in prop::collection::vec(prop::sample::select(vec!["", " ", "  ", "/", ":", "="]), 12),
    ) {
        let mut s = String::from("v=spf1 ");
        for (t, sep) in terms.iter().zip(seps.iter()) {
            s.push_str(t);
            s.push_str(sep);
        }
        let _ = SpfRecord::parse(&s);
    }
}
