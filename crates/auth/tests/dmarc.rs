//! DMARC (RFC 9989): tree walks from the RFC's examples, alignment tables, policy
//! choice, several From fields and domains, limits (SECURITY.md 57, 58).

use std::collections::HashMap;

use postwerk_auth::dkim::{DkimStatus, Signer, SigningKey, Verifier, VerifierConfig};
use postwerk_auth::dmarc::{
    Config, Disposition, DkimIdentifier, DmarcError, DmarcResult, DmarcStatus, Evaluator,
    MultipleAuthors, Policy, PolicyTag, SpfIdentifier,
};
use postwerk_auth::dns::{Answer, Query, Record, RecordKind};
use postwerk_auth::results::AuthenticationResults;

/// A static DNS: `(name, kind)` → answer; anything else is NXDOMAIN.
#[derive(Default)]
struct Zone {
    answers: HashMap<(String, RecordKind), Answer>,
}

impl Zone {
    fn new() -> Self {
        Self::default()
    }

    /// A DMARC record at `_dmarc.<domain>`.
    fn dmarc(mut self, domain: &str, record: &str) -> Self {
        self.answers.insert(
            (format!("_dmarc.{domain}"), RecordKind::Txt),
            Answer::txt(record),
        );
        self
    }

    fn set(mut self, name: &str, kind: RecordKind, answer: Answer) -> Self {
        self.answers.insert((name.to_owned(), kind), answer);
        self
    }

    fn answer(&self, q: &Query) -> Answer {
        self.answers
            .get(&(q.name.clone(), q.kind))
            .cloned()
            .unwrap_or(Answer::NxDomain)
    }

    /// Runs the evaluator to the end; returns the result and the questions in the order
    /// asked.
    fn run(&self, mut e: Evaluator) -> (DmarcResult, Vec<String>) {
        let mut asked = Vec::new();
        for _ in 0..100 {
            let qs = e.queries();
            if qs.is_empty() {
                break;
            }
            for q in qs {
                asked.push(match q.kind {
                    RecordKind::Txt => q.name.clone(),
                    k => format!("{} {k}", q.name),
                });
                let a = self.answer(&q);
                e.supply(&q, a);
            }
        }
        let r = e.result().cloned().expect("done");
        (r, asked)
    }
}

fn eval(author: &str, spf: Option<(&str, bool)>, dkim: &[(&str, bool)]) -> Evaluator {
    let mut e = Evaluator::from_domain(author, Config::default());
    if let Some((d, pass)) = spf {
        e.set_spf(SpfIdentifier::new(d, pass));
    }
    for (d, pass) in dkim {
        e.add_dkim(DkimIdentifier::new(d, *pass));
    }
    e
}

// --- RFC 9989 4.10: the DNS Tree Walk ---------------------------------------------------

#[test]
fn rfc_4_10_example_walk_of_a_long_author_domain_is_eight_queries() {
    let (r, asked) = Zone::new().run(eval("a.b.c.d.e.f.g.h.i.j.mail.example.com", None, &[]));
    assert_eq!(r.status, DmarcStatus::None);
    assert_eq!(
        asked,
        [
            "_dmarc.a.b.c.d.e.f.g.h.i.j.mail.example.com",
            "_dmarc.g.h.i.j.mail.example.com",
            "_dmarc.h.i.j.mail.example.com",
            "_dmarc.i.j.mail.example.com",
            "_dmarc.j.mail.example.com",
            "_dmarc.mail.example.com",
            "_dmarc.example.com",
            "_dmarc.com",
        ]
    );
}

#[test]
fn rfc_b_4_1_simple_organizational_and_policy_example() {
    let zone = Zone::new()
        .dmarc("example.com", "v=DMARC1; p=reject")
        .dmarc("signing.example.com", "v=DMARC1; p=none");
    let (r, asked) = zone.run(eval(
        "example.com",
        Some(("example.com", true)),
        &[("signing.example.com", true)],
    ));
    assert_eq!(r.status, DmarcStatus::Pass);
    assert!(r.spf_aligned);
    assert_eq!(r.dkim_aligned, ["signing.example.com"]);
    assert_eq!(r.policy_domain.as_deref(), Some("example.com"));
    assert_eq!(r.organizational_domain.as_deref(), Some("example.com"));
    assert_eq!(r.policy, Some(Policy::Reject));
    assert_eq!(r.policy_tag, Some(PolicyTag::P));
    assert_eq!(
        asked,
        [
            "_dmarc.example.com",
            "_dmarc.com",
            "_dmarc.signing.example.com"
        ]
    );
}

#[test]
fn rfc_b_4_2_deep_tree_walk_example() {
    let author = "a.b.c.d.e.f.g.h.i.j.k.example.com";
    let zone = Zone::new()
        .dmarc("example.com", "v=DMARC1; p=none; sp=reject")
        .dmarc("signing.example.com", "v=DMARC1; p=none");
    let (r, asked) = zone.run(eval(
        author,
        Some(("example.com", true)),
        &[("signing.example.com", true)],
    ));
    assert_eq!(r.status, DmarcStatus::Pass);
    assert!(r.spf_aligned);
    assert_eq!(r.dkim_aligned, ["signing.example.com"]);
    assert_eq!(r.organizational_domain.as_deref(), Some("example.com"));
    assert_eq!(r.policy_domain.as_deref(), Some("example.com"));
    assert_eq!(
        asked,
        [
            "_dmarc.a.b.c.d.e.f.g.h.i.j.k.example.com",
            "_dmarc.g.h.i.j.k.example.com",
            "_dmarc.h.i.j.k.example.com",
            "_dmarc.i.j.k.example.com",
            "_dmarc.j.k.example.com",
            "_dmarc.k.example.com",
            "_dmarc.example.com",
            "_dmarc.com",
            "_dmarc.signing.example.com",
        ]
    );
    // Without an aligned identifier: the Organizational Domain's sp applies.
    let (r, _) = zone.run(eval(author, Some(("example.net", true)), &[]));
    assert_eq!(r.status, DmarcStatus::Fail);
    assert_eq!(r.policy, Some(Policy::Reject));
    assert_eq!(r.policy_tag, Some(PolicyTag::Sp));
    assert_eq!(r.disposition(), Disposition::Reject);
}

#[test]
fn rfc_b_4_3_example_with_a_psd_policy_record() {
    let zone = Zone::new()
        .dmarc("bank.example", "v=DMARC1; p=reject; psd=y")
        .dmarc("giant.bank.example", "v=DMARC1; p=quarantine");
    let (r, asked) = zone.run(eval(
        "giant.bank.example",
        Some(("mail.giant.bank.example", true)),
        &[("mail.mega.bank.example", true)],
    ));
    assert_eq!(r.status, DmarcStatus::Pass);
    assert!(
        r.spf_aligned,
        "same Organizational Domain giant.bank.example"
    );
    assert!(
        r.dkim_aligned.is_empty(),
        "mega.bank.example is another one"
    );
    assert_eq!(
        r.organizational_domain.as_deref(),
        Some("giant.bank.example")
    );
    assert_eq!(r.policy_domain.as_deref(), Some("giant.bank.example"));
    assert_eq!(r.policy, Some(Policy::Quarantine));
    // The author walk stops at psd=y: _dmarc.example is never asked. The DKIM domain is
    // not under giant.bank.example, so it needs no walk.
    assert_eq!(
        asked,
        [
            "_dmarc.giant.bank.example",
            "_dmarc.bank.example",
            "_dmarc.mail.giant.bank.example",
        ]
    );
}

#[test]
fn rfc_4_10_2_examples_of_organizational_domains() {
    // Records at mail.example.com and example.com: the fewest labels win.
    let zone = Zone::new()
        .dmarc("mail.example.com", "v=DMARC1; p=none")
        .dmarc("example.com", "v=DMARC1; p=reject; sp=quarantine");
    let (r, _) = zone.run(eval("a.mail.example.com", None, &[]));
    assert_eq!(r.organizational_domain.as_deref(), Some("example.com"));
    assert_eq!(r.policy_domain.as_deref(), Some("example.com"));
    assert_eq!(r.status, DmarcStatus::Fail);
    assert_eq!(r.policy, Some(Policy::Quarantine));

    // psd=n at mail.example.com: that is the Organizational Domain, the walk stops.
    let zone = Zone::new()
        .dmarc("mail.example.com", "v=DMARC1; p=none; sp=reject; psd=n")
        .dmarc("example.com", "v=DMARC1; p=quarantine");
    let (r, asked) = zone.run(eval("a.mail.example.com", None, &[]));
    assert_eq!(r.organizational_domain.as_deref(), Some("mail.example.com"));
    assert_eq!(r.policy_domain.as_deref(), Some("mail.example.com"));
    assert_eq!(r.policy, Some(Policy::Reject));
    assert_eq!(
        asked,
        ["_dmarc.a.mail.example.com", "_dmarc.mail.example.com"]
    );

    // Only _dmarc.com, with psd=y: example.com is the Organizational Domain and, having
    // no record, the PSD's record applies to its subdomain.
    let zone = Zone::new().dmarc("com", "v=DMARC1; p=none; sp=quarantine; psd=y");
    let (r, _) = zone.run(eval("a.mail.example.com", None, &[]));
    assert_eq!(r.organizational_domain.as_deref(), Some("example.com"));
    assert_eq!(r.policy_domain.as_deref(), Some("com"));
    assert_eq!(r.status, DmarcStatus::Fail);
    assert_eq!(r.policy, Some(Policy::Quarantine));
    assert_eq!(r.policy_tag, Some(PolicyTag::Sp));
}

#[test]
fn psd_policy_is_not_used_when_the_organizational_domain_has_a_record() {
    let zone = Zone::new()
        .dmarc("com", "v=DMARC1; p=reject; psd=y")
        .dmarc("example.com", "v=DMARC1; p=none");
    let (r, _) = zone.run(eval("www.example.com", None, &[]));
    assert_eq!(r.policy_domain.as_deref(), Some("example.com"));
    assert_eq!(r.policy, Some(Policy::None));
    assert_eq!(r.disposition(), Disposition::Accept);
}

#[test]
fn author_domain_record_applies_with_p_even_below_an_organizational_domain() {
    let zone = Zone::new()
        .dmarc("news.example.com", "v=DMARC1; p=quarantine")
        .dmarc("example.com", "v=DMARC1; p=reject; sp=reject");
    let (r, asked) = zone.run(eval("news.example.com", None, &[]));
    assert_eq!(r.status, DmarcStatus::Fail);
    assert_eq!(r.policy_domain.as_deref(), Some("news.example.com"));
    assert_eq!(r.policy, Some(Policy::Quarantine));
    assert_eq!(r.policy_tag, Some(PolicyTag::P));
    assert_eq!(asked, ["_dmarc.news.example.com"], "no walk needed");
}

#[test]
fn several_dmarc_records_at_one_name_are_discarded() {
    let two = Answer::Records(vec![
        Record::Txt(b"v=DMARC1; p=reject".to_vec()),
        Record::Txt(b"v=DMARC1; p=none".to_vec()),
    ]);
    let zone = Zone::new().set("_dmarc.example.com", RecordKind::Txt, two.clone());
    let (r, asked) = zone.run(eval("example.com", None, &[]));
    assert_eq!(r.status, DmarcStatus::None);
    assert_eq!(asked, ["_dmarc.example.com", "_dmarc.com"]);
    // At the author's name they are discarded and the walk goes on to the parent.
    let zone = Zone::new()
        .set("_dmarc.news.example.com", RecordKind::Txt, two)
        .dmarc("example.com", "v=DMARC1; p=quarantine");
    let (r, _) = zone.run(eval("news.example.com", None, &[]));
    assert_eq!(r.policy_domain.as_deref(), Some("example.com"));
    assert_eq!(r.policy, Some(Policy::Quarantine));
}

#[test]
fn non_dmarc_txt_records_are_ignored() {
    let answer = Answer::Records(vec![
        Record::Txt(b"v=spf1 -all".to_vec()),
        Record::Txt(b"hello".to_vec()),
        Record::Txt(b"v=DMARC1; p=reject".to_vec()),
    ]);
    let zone = Zone::new().set("_dmarc.example.com", RecordKind::Txt, answer);
    let (r, _) = zone.run(eval("example.com", None, &[]));
    assert_eq!(r.status, DmarcStatus::Fail);
    assert_eq!(r.policy, Some(Policy::Reject));
}

// --- alignment -----------------------------------------------------------------------

#[test]
fn alignment_table_relaxed_and_strict_for_spf_and_dkim() {
    // (mode, identifier, aligned?) with the Author Domain example.com.
    let table = [
        ("r", "example.com", true),
        ("r", "EXAMPLE.com", true),
        ("r", "mail.example.com", true),
        ("r", "a.b.mail.example.com", true),
        ("r", "example.net", false),
        ("r", "badexample.com", false),
        ("s", "example.com", true),
        ("s", "Example.COM.", true),
        ("s", "mail.example.com", false),
        ("s", "example.net", false),
    ];
    for (mode, id, want) in table {
        let zone = Zone::new().dmarc(
            "example.com",
            &format!("v=DMARC1; p=reject; aspf={mode}; adkim={mode}"),
        );
        let (r, _) = zone.run(eval("example.com", Some((id, true)), &[]));
        assert_eq!(r.spf_aligned, want, "spf {mode} {id}");
        assert_eq!(r.status == DmarcStatus::Pass, want, "spf {mode} {id}");
        let (r, _) = zone.run(eval("example.com", None, &[(id, true)]));
        assert_eq!(!r.dkim_aligned.is_empty(), want, "dkim {mode} {id}");
        assert_eq!(r.status == DmarcStatus::Pass, want, "dkim {mode} {id}");
    }
}

#[test]
fn alignment_table_author_below_the_organizational_domain() {
    // Author news.example.com, policy from example.com.
    let table = [
        ("r", "example.com", true),
        ("r", "news.example.com", true),
        ("r", "other.example.com", true),
        ("r", "example.org", false),
        ("s", "example.com", false),
        ("s", "news.example.com", true),
        ("s", "other.example.com", false),
    ];
    for (mode, id, want) in table {
        let zone = Zone::new().dmarc(
            "example.com",
            &format!("v=DMARC1; p=reject; aspf={mode}; adkim={mode}"),
        );
        let (r, _) = zone.run(eval("news.example.com", Some((id, true)), &[]));
        assert_eq!(r.spf_aligned, want, "spf {mode} {id}");
        let (r, _) = zone.run(eval("news.example.com", None, &[(id, true)]));
        assert_eq!(!r.dkim_aligned.is_empty(), want, "dkim {mode} {id}");
    }
}

#[test]
fn modes_are_separate_for_spf_and_dkim() {
    let zone = Zone::new().dmarc("example.com", "v=DMARC1; p=reject; aspf=s; adkim=r");
    let (r, _) = zone.run(eval(
        "example.com",
        Some(("mail.example.com", true)),
        &[("mail.example.com", true)],
    ));
    assert!(!r.spf_aligned);
    assert_eq!(r.dkim_aligned, ["mail.example.com"]);
    assert_eq!(r.status, DmarcStatus::Pass);
}

#[test]
fn failing_spf_and_dkim_do_not_align() {
    let zone = Zone::new().dmarc("example.com", "v=DMARC1; p=reject");
    let (r, _) = zone.run(eval(
        "example.com",
        Some(("example.com", false)),
        &[("example.com", false)],
    ));
    assert_eq!(r.status, DmarcStatus::Fail);
    assert!(!r.spf_aligned);
    assert_eq!(r.spf_domain, None);
    assert!(r.dkim_aligned.is_empty());
    assert_eq!(r.disposition(), Disposition::Reject);
}

#[test]
fn a_psd_n_record_splits_organizational_domains() {
    // mail.example.com declares itself an Organizational Domain: example.com's other
    // subdomains are not aligned with it.
    let zone = Zone::new()
        .dmarc("example.com", "v=DMARC1; p=reject")
        .dmarc("mail.example.com", "v=DMARC1; p=reject; psd=n");
    let (r, _) = zone.run(eval("example.com", Some(("mail.example.com", true)), &[]));
    assert!(!r.spf_aligned);
    assert_eq!(r.status, DmarcStatus::Fail);
    let (r, _) = zone.run(eval(
        "x.mail.example.com",
        Some(("mail.example.com", true)),
        &[],
    ));
    assert!(r.spf_aligned);
}

#[test]
fn dkim_results_straight_from_the_verifier() {
    let key = SigningKey::ed25519_from_seed(&[7u8; 32]).unwrap();
    let key_record = key.dns_record();
    let signer = Signer::new(key, "mail.example.com", "sel").unwrap();
    let message = b"From: Alice <alice@example.com>\r\nTo: bob@example.net\r\n\
                    Subject: hi\r\n\r\nHello.\r\n";
    let field = signer.sign(message, 1_700_000_000).unwrap();
    let signed = [field.as_bytes(), message].concat();
    let mut v = Verifier::new(VerifierConfig::default());
    v.update(&signed);
    v.end_of_message();
    for q in v.key_queries() {
        v.supply_key(&q.name, Answer::txt(&key_record));
    }
    let dkim = v.finish(1_700_000_000);
    assert_eq!(dkim[0].status, DkimStatus::Pass);

    let mut e = Evaluator::from_message(&signed, Config::default());
    e.add_dkim_results(&dkim);
    let zone = Zone::new().dmarc("example.com", "v=DMARC1; p=reject");
    let (r, _) = zone.run(e);
    assert_eq!(r.status, DmarcStatus::Pass);
    assert_eq!(r.dkim_aligned, ["mail.example.com"]);
}

// --- policy --------------------------------------------------------------------------

#[test]
fn np_applies_to_a_non_existent_author_domain() {
    let zone = Zone::new().dmarc("example.com", "v=DMARC1; p=none; sp=quarantine; np=reject");
    let (r, asked) = zone.run(eval("ghost.example.com", None, &[]));
    assert_eq!(r.status, DmarcStatus::Fail);
    assert_eq!(r.policy, Some(Policy::Reject));
    assert_eq!(r.policy_tag, Some(PolicyTag::Np));
    assert_eq!(
        asked,
        [
            "_dmarc.ghost.example.com",
            "_dmarc.example.com",
            "_dmarc.com",
            "ghost.example.com A"
        ]
    );
    // It exists (NODATA for A is enough: any record makes a name exist).
    let zone = zone.set("ghost.example.com", RecordKind::A, Answer::NoData);
    let (r, _) = zone.run(eval("ghost.example.com", None, &[]));
    assert_eq!(r.policy, Some(Policy::Quarantine));
    assert_eq!(r.policy_tag, Some(PolicyTag::Sp));
}

#[test]
fn np_existence_is_known_from_the_dmarc_name() {
    // NODATA at _dmarc.www.example.com proves www.example.com exists: no A question.
    let zone = Zone::new()
        .dmarc("example.com", "v=DMARC1; p=none; np=reject")
        .set("_dmarc.www.example.com", RecordKind::Txt, Answer::NoData);
    let (r, asked) = zone.run(eval("www.example.com", None, &[]));
    assert_eq!(r.policy, Some(Policy::None));
    assert_eq!(r.policy_tag, Some(PolicyTag::P));
    assert!(asked.iter().all(|q| !q.ends_with(" A")), "{asked:?}");
}

#[test]
fn np_unknown_existence_takes_the_stricter_policy() {
    let zone = Zone::new()
        .dmarc("example.com", "v=DMARC1; p=none; np=reject")
        .set("www.example.com", RecordKind::A, Answer::TempFail);
    let (r, _) = zone.run(eval("www.example.com", None, &[]));
    assert_eq!(r.status, DmarcStatus::Fail);
    assert_eq!(r.policy, Some(Policy::Reject));
}

#[test]
fn np_is_not_asked_about_when_it_cannot_change_the_policy() {
    for record in [
        "v=DMARC1; p=reject",
        "v=DMARC1; p=none; sp=reject; np=reject",
    ] {
        let zone = Zone::new().dmarc("example.com", record);
        let (_, asked) = zone.run(eval("www.example.com", None, &[]));
        assert!(
            asked.iter().all(|q| !q.ends_with(" A")),
            "{record}: {asked:?}"
        );
    }
}

#[test]
fn testing_mode_applies_one_level_below() {
    let zone = Zone::new().dmarc("example.com", "v=DMARC1; p=reject; t=y");
    let (r, _) = zone.run(eval("example.com", None, &[]));
    assert_eq!(r.status, DmarcStatus::Fail);
    assert!(r.testing);
    assert_eq!(r.policy, Some(Policy::Reject));
    assert_eq!(r.applied_policy(), Some(Policy::Quarantine));
    assert_eq!(r.disposition(), Disposition::Quarantine);
    let zone = Zone::new().dmarc("example.com", "v=DMARC1; p=quarantine; t=y");
    let (r, _) = zone.run(eval("example.com", None, &[]));
    assert_eq!(r.applied_policy(), Some(Policy::None));
    assert_eq!(r.disposition(), Disposition::Accept);
}

#[test]
fn invalid_p_with_valid_rua_is_monitoring() {
    let zone = Zone::new().dmarc(
        "example.com",
        "v=DMARC1; p=rejectt; rua=mailto:r@example.com",
    );
    let (r, _) = zone.run(eval("example.com", None, &[]));
    assert_eq!(r.status, DmarcStatus::Fail);
    assert_eq!(r.policy, Some(Policy::None));
    assert_eq!(r.disposition(), Disposition::Accept);
    assert_eq!(r.record.as_ref().unwrap().problems.len(), 1);
}

#[test]
fn invalid_p_without_rua_is_permerror_without_policy() {
    let zone = Zone::new().dmarc("example.com", "v=DMARC1; p=rejectt");
    let (r, _) = zone.run(eval("example.com", Some(("example.com", true)), &[]));
    assert_eq!(r.status, DmarcStatus::PermError);
    assert_eq!(
        r.error,
        Some(DmarcError::InvalidPolicyRecord {
            domain: "example.com".into()
        })
    );
    assert_eq!(r.policy, None);
    assert_eq!(r.disposition(), Disposition::Accept);
}

#[test]
fn a_record_without_p_is_p_none() {
    let zone = Zone::new().dmarc("example.com", "v=DMARC1; rua=mailto:r@example.com");
    let (r, _) = zone.run(eval("example.com", None, &[]));
    assert_eq!(r.status, DmarcStatus::Fail);
    assert_eq!(r.policy, Some(Policy::None));
}

#[test]
fn authentication_results_entry() {
    let zone = Zone::new().dmarc("example.com", "v=DMARC1; p=reject; t=y");
    let (r, _) = zone.run(eval("example.com", None, &[]));
    let mut ar = AuthenticationResults::new("mx.example.net").unwrap();
    ar.push(r.method_result());
    assert_eq!(
        ar.to_field(),
        "Authentication-Results: mx.example.net; dmarc=fail header.from=example.com\r\n \
         policy.dmarc=quarantine\r\n"
    );
}

// --- the From field ------------------------------------------------------------------

fn from_message(header: &[u8]) -> (DmarcResult, Vec<String>) {
    let zone = Zone::new()
        .dmarc("example.com", "v=DMARC1; p=reject")
        .dmarc("example.net", "v=DMARC1; p=quarantine")
        .dmarc("example.org", "v=DMARC1; p=none");
    let mut e = Evaluator::from_message(header, Config::default());
    e.set_spf(SpfIdentifier::new("example.com", true));
    zone.run(e)
}

#[test]
fn one_from_field_passes() {
    let (r, _) = from_message(b"From: Alice <alice@example.com>\r\n\r\n");
    assert_eq!(r.status, DmarcStatus::Pass);
    assert_eq!(r.header_from(), "example.com");
}

#[test]
fn security_58_several_from_fields_never_pass() {
    for header in [
        &b"From: alice@example.com\r\nFrom: alice@example.com\r\n\r\n"[..],
        b"From: mallory@evil.example\r\nFrom: alice@example.com\r\n\r\n",
        b"From: alice@example.com\r\nfROM : alice@example.com\r\n\r\n",
        b"Subject: x\nFrom: alice@example.com\nTo: b@example.org\nFrom: alice@example.com\n\n",
    ] {
        let (r, asked) = from_message(header);
        assert_eq!(r.status, DmarcStatus::PermError, "{header:?}");
        assert!(
            matches!(r.error, Some(DmarcError::MultipleFromFields(2))),
            "{:?}",
            r.error
        );
        assert_eq!(r.disposition(), Disposition::Reject);
        assert!(asked.is_empty());
        assert_eq!(r.header_from(), "");
    }
}

#[test]
fn security_58_several_author_domains_take_the_strictest_failure() {
    // SPF passes for example.com only: example.net fails under quarantine.
    let (r, _) = from_message(b"From: alice@example.com, bob@example.net\r\n\r\n");
    assert_eq!(r.status, DmarcStatus::Fail);
    assert_eq!(r.author_domain, "example.net");
    assert_eq!(r.disposition(), Disposition::Quarantine);
    assert_eq!(r.per_author.len(), 2);
    assert_eq!(r.per_author[0].status, DmarcStatus::Pass);
    // The spoofed domain first, the attacker's own passing domain second: still fail.
    let (r, _) = from_message(b"From: ceo@example.net, x@example.com\r\n\r\n");
    assert_eq!(r.status, DmarcStatus::Fail);
    // Two failing domains: the stricter policy decides.
    let mut e = Evaluator::from_message(
        b"From: a@example.org, b@example.com, c@example.net\r\n\r\n",
        Config::default(),
    );
    e.set_spf(SpfIdentifier::new("elsewhere.example", true));
    let zone = Zone::new()
        .dmarc("example.com", "v=DMARC1; p=reject")
        .dmarc("example.net", "v=DMARC1; p=quarantine")
        .dmarc("example.org", "v=DMARC1; p=none");
    let (r, _) = zone.run(e);
    assert_eq!(r.author_domain, "example.com");
    assert_eq!(r.disposition(), Disposition::Reject);
}

#[test]
fn security_58_a_passing_domain_does_not_cover_one_without_policy() {
    let (r, _) = from_message(b"From: a@example.com, b@nopolicy.example\r\n\r\n");
    assert_eq!(r.status, DmarcStatus::None);
    assert_ne!(r.status, DmarcStatus::Pass);
}

#[test]
fn security_58_several_addresses_of_one_domain_are_one_author_domain() {
    let (r, _) = from_message(b"From: a@example.com, B <b@Example.COM>\r\n\r\n");
    assert_eq!(r.status, DmarcStatus::Pass);
    assert!(r.per_author.is_empty());
}

#[test]
fn security_58_several_author_domains_refused_or_capped() {
    let mut cfg = Config::default();
    cfg.multiple_authors = MultipleAuthors::Refuse;
    let e = Evaluator::from_message(b"From: a@example.com, b@example.net\r\n\r\n", cfg);
    let r = e.result().unwrap();
    assert_eq!(r.status, DmarcStatus::PermError);
    assert_eq!(r.error, Some(DmarcError::MultipleAuthorDomains(2)));
    assert_eq!(r.disposition(), Disposition::Reject);
    assert!(e.queries().is_empty());

    let many: String = (0..5)
        .map(|i| format!("u@d{i}.example"))
        .collect::<Vec<_>>()
        .join(", ");
    let header = format!("From: {many}\r\n\r\n");
    let e = Evaluator::from_message(header.as_bytes(), Config::default());
    let r = e.result().unwrap();
    assert_eq!(r.error, Some(DmarcError::TooManyAuthorDomains(5)));
    assert_eq!(r.disposition(), Disposition::Reject);
}

#[test]
fn security_58_from_errors_are_named_and_never_pass() {
    let cases: [(&[u8], DmarcError); 5] = [
        (b"To: a@example.com\r\n\r\n", DmarcError::NoFromField),
        (b"From: \r\n\r\n", DmarcError::NoAuthorAddress),
        (b"From: alice\r\n\r\n", DmarcError::MissingAuthorDomain),
        (
            b"From: alice@example.com, bob\r\n\r\n",
            DmarcError::MissingAuthorDomain,
        ),
        (
            b"From: a@[192.0.2.1]\r\n\r\n",
            DmarcError::InvalidAuthorDomain("[192.0.2.1]".into()),
        ),
    ];
    for (header, want) in cases {
        let (r, asked) = from_message(header);
        assert_eq!(r.status, DmarcStatus::PermError, "{header:?}");
        assert_eq!(r.error.as_ref(), Some(&want), "{header:?}");
        assert!(r.error.as_ref().unwrap().is_author_error());
        assert_eq!(r.disposition(), Disposition::Reject);
        assert!(asked.is_empty());
    }
    let (r, _) = from_message(b"From: a@exa mple.com\r\n\r\n");
    assert_eq!(r.status, DmarcStatus::PermError);
}

#[test]
fn internationalized_author_domain_is_looked_up_as_a_label() {
    let zone = Zone::new().dmarc("xn--bcher-kva.example", "v=DMARC1; p=reject");
    let e = Evaluator::from_message(
        "From: a@Bücher.example\r\n\r\n".as_bytes(),
        Config::default(),
    );
    let (r, asked) = zone.run(e);
    assert_eq!(asked[0], "_dmarc.xn--bcher-kva.example");
    assert_eq!(r.policy, Some(Policy::Reject));
    assert_eq!(r.header_from(), "xn--bcher-kva.example");
}

// --- SECURITY.md 57: limits and DNS errors ---------------------------------------------

#[test]
fn security_57_dmarc_tree_walk_never_exceeds_eight_queries() {
    for n in [1usize, 2, 7, 8, 9, 20, 120] {
        let author = vec!["x"; n].join(".");
        let (r, asked) = Zone::new().run(eval(&author, None, &[]));
        assert!(asked.len() <= 8, "{n} labels: {} queries", asked.len());
        assert_eq!(asked.len(), n.min(8));
        assert_eq!(r.status, DmarcStatus::None);
    }
}

#[test]
fn security_57_dmarc_hostile_identifiers_stay_within_the_query_bound() {
    // A deep author domain under an Organizational Domain, and many distinct deep DKIM
    // domains under the same one: every walk is capped, and so is their number.
    let zone = Zone::new().dmarc("example.com", "v=DMARC1; p=reject");
    let author = format!("{}.example.com", vec!["a"; 30].join("."));
    let mut e = eval(&author, Some((&format!("s.{author}"), true)), &[]);
    for i in 0..40 {
        e.add_dkim(DkimIdentifier::new(
            &format!("{}.k{i}.example.com", vec!["b"; 20].join(".")),
            true,
        ));
    }
    let (r, asked) = zone.run(e);
    let cfg = Config::default();
    assert!(asked.len() <= cfg.max_queries(), "{} queries", asked.len());
    assert!(r.identifier_limit_reached);
    assert_eq!(
        r.status,
        DmarcStatus::Pass,
        "the SPF domain is walked first"
    );
}

#[test]
fn security_57_dmarc_dns_error_in_policy_discovery_is_temperror_never_pass() {
    for failing in ["_dmarc.example.com", "_dmarc.com"] {
        let zone = Zone::new().dmarc("example.com", "v=DMARC1; p=reject").set(
            failing,
            RecordKind::Txt,
            Answer::TempFail,
        );
        // Strictly aligned SPF, but the policy cannot be discovered.
        let (r, _) = zone.run(eval(
            "news.example.com",
            Some(("news.example.com", true)),
            &[],
        ));
        assert_eq!(r.status, DmarcStatus::TempError, "{failing}");
        assert_eq!(
            r.error,
            Some(DmarcError::DnsTempFail {
                name: failing.into()
            })
        );
        assert_eq!(r.disposition(), Disposition::TempFail);
    }
}

#[test]
fn security_57_dmarc_dns_error_in_an_identifier_walk_is_temperror_unless_another_aligns() {
    let zone = Zone::new().dmarc("example.com", "v=DMARC1; p=reject").set(
        "_dmarc.mail.example.com",
        RecordKind::Txt,
        Answer::TempFail,
    );
    let (r, _) = zone.run(eval("example.com", Some(("mail.example.com", true)), &[]));
    assert_eq!(r.status, DmarcStatus::TempError);
    assert!(!r.spf_aligned);
    // An identifier aligned without that walk still passes.
    let (r, _) = zone.run(eval(
        "example.com",
        Some(("mail.example.com", true)),
        &[("example.com", true)],
    ));
    assert_eq!(r.status, DmarcStatus::Pass);
}

#[test]
fn security_57_dmarc_time_budget_spent_gives_temperror() {
    let mut e = eval("example.com", Some(("example.com", true)), &[]);
    assert_eq!(e.queries().len(), 1);
    assert!(e.result().is_none());
    e.give_up();
    let r = e.result().unwrap();
    assert_eq!(r.status, DmarcStatus::TempError);
    assert_eq!(
        r.error,
        Some(DmarcError::Unanswered {
            name: "_dmarc.example.com".into()
        })
    );
    assert!(e.queries().is_empty());
}

#[test]
fn answers_to_questions_not_asked_are_ignored_and_the_first_answer_counts() {
    let mut e = eval("example.com", None, &[]);
    e.supply(
        &Query::new("_dmarc.example.com", RecordKind::A),
        Answer::NxDomain,
    );
    e.supply(
        &Query::new("_dmarc.other.example", RecordKind::Txt),
        Answer::txt("v=DMARC1; p=none"),
    );
    assert_eq!(e.queries().len(), 1);
    let q = e.queries().remove(0);
    e.supply(&q, Answer::txt("v=DMARC1; p=reject"));
    e.supply(&q, Answer::txt("v=DMARC1; p=none"));
    let r = e.result().unwrap();
    assert_eq!(r.policy, Some(Policy::Reject));
    assert_eq!(e.asked().len(), 1);
}

// --- properties ----------------------------------------------------------------------

mod props {
    use super::*;
    use postwerk_auth::dmarc::{AuthorDomains, PolicyRecord};
    use proptest::prelude::*;

    fn answer() -> impl Strategy<Value = Answer> {
        prop_oneof![
            Just(Answer::NxDomain),
            Just(Answer::NoData),
            Just(Answer::TempFail),
            "(v=DMARC1; ?)?(p=(none|reject|quarantine|x); )?(sp=reject; )?(np=reject; )?(psd=[ynu]; )?(adkim=[rs]; )?(t=y)?"
                .prop_map(|s| Answer::txt(&s)),
            proptest::collection::vec(any::<u8>(), 0..64)
                .prop_map(|b| Answer::Records(vec![Record::Txt(b)])),
        ]
    }

    proptest! {
        #[test]
        fn record_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = PolicyRecord::parse(&bytes);
            let mut with = b"v=DMARC1;".to_vec();
            with.extend_from_slice(&bytes);
            let _ = PolicyRecord::parse(&with);
        }

        #[test]
        fn record_parser_never_panics_on_tag_soup(s in "v=DMARC1(;[ \\t]*[a-z]{0,6}[ ]*=?[ -~]{0,20}){0,12};?") {
            let r = PolicyRecord::parse(s.as_bytes());
            prop_assert!(r.is_ok());
        }

        #[test]
        fn author_extraction_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut msg = b"From: ".to_vec();
            msg.extend_from_slice(&bytes);
            let _ = AuthorDomains::from_message(&msg);
            let _ = AuthorDomains::from_message(&bytes);
        }

        #[test]
        fn evaluator_always_ends_within_the_query_bound(
            author in "([a-c]{1,3}\\.){0,11}[a-c]{1,3}",
            spf in proptest::option::of("([a-c]{1,3}\\.){0,4}[a-c]{1,3}"),
            dkim in proptest::collection::vec("([a-c]{1,3}\\.){0,4}[a-c]{1,3}", 0..6),
            answers in proptest::collection::vec(answer(), 64),
        ) {
            let mut e = Evaluator::from_domain(&author, Config::default());
            if let Some(s) = &spf {
                e.set_spf(SpfIdentifier::new(s, true));
            }
            for d in &dkim {
                e.add_dkim(DkimIdentifier::new(d, true));
            }
            let mut i = 0;
            while !e.is_done() {
                let qs = e.queries();
                prop_assert!(!qs.is_empty());
                for q in qs {
                    e.supply(&q, answers[i % answers.len()].clone());
                    i += 1;
                }
                prop_assert!(i <= Config::default().max_queries());
            }
            prop_assert!(e.asked().len() <= Config::default().max_queries());
            let r = e.result().unwrap();
            if r.status == DmarcStatus::Pass {
                prop_assert!(r.spf_aligned || !r.dkim_aligned.is_empty());
            }
        }
    }
}
