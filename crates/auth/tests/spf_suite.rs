//! The RFC 7208 conformance test suite (openspf.org, as kept by pyspf; see
//! tests/data/spf/README.md) run through the sans-IO SPF machine, with each scenario's
//! `zonedata` as the DNS; and its RFC 4408 predecessor, whose tests list the RFC 7208
//! results as alternatives where the two RFCs differ.
//!
//! Every test of every scenario runs. A test passes when the result is the expected one
//! or one of the alternatives the suite lists (`result: [a, b]`), and, when the test has
//! an `explanation`, the explanation is exactly that text (`DEFAULT`, the suite driver's
//! default explanation, stands for "none from `exp=`").

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use postwerk_auth::dns::{Answer, Query, Record, RecordKind};
use postwerk_auth::spf::{SpfCheck, SpfConfig, SpfResult};
use yaml_rust2::{Yaml, YamlLoader};

const RFC7208_SUITE: &str = include_str!("data/spf/rfc7208-tests.yml");
const RFC4408_SUITE: &str = include_str!("data/spf/rfc4408-tests.yml");
const NOW: u64 = 1_700_000_000;

/// One zonedata entry.
#[derive(Debug, Clone)]
enum Entry {
    Timeout,
    Txt(Vec<u8>),
    /// `TXT: NONE`: no TXT record, and no TXT generated from SPF entries.
    TxtNone,
    Spf(Vec<u8>),
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Mx(u16, String),
    Ptr(String),
    Cname(String),
}

#[derive(Debug, Default)]
struct Zone {
    names: HashMap<String, Vec<Entry>>,
}

fn norm(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// A TXT/SPF value: one string, or a list of strings joined without separator (RFC 7208
/// 3.3).
fn txt_bytes(v: &Yaml) -> Vec<u8> {
    match v {
        Yaml::String(s) => s.as_bytes().to_vec(),
        Yaml::Array(parts) => parts
            .iter()
            .flat_map(|p| p.as_str().expect("TXT part").as_bytes().to_vec())
            .collect(),
        other => panic!("TXT value {other:?}"),
    }
}

impl Zone {
    fn load(zonedata: &Yaml) -> Self {
        let mut zone = Zone::default();
        let Some(hash) = zonedata.as_hash() else {
            return zone;
        };
        for (name, entries) in hash {
            let name = norm(name.as_str().expect("zone name"));
            let mut list = Vec::new();
            for e in entries.as_vec().expect("zone entries") {
                if e.as_str() == Some("TIMEOUT") {
                    list.push(Entry::Timeout);
                    continue;
                }
                let h = e.as_hash().expect("zone entry");
                for (t, v) in h {
                    let entry = match t.as_str().expect("type") {
                        "TXT" if v.as_str() == Some("NONE") => Entry::TxtNone,
                        "TXT" => Entry::Txt(txt_bytes(v)),
                        "SPF" => Entry::Spf(txt_bytes(v)),
                        "A" => Entry::A(v.as_str().unwrap().parse().unwrap()),
                        "AAAA" => Entry::Aaaa(v.as_str().unwrap().parse().unwrap()),
                        "MX" => {
                            let mx = v.as_vec().unwrap();
                            Entry::Mx(
                                u16::try_from(mx[0].as_i64().unwrap()).unwrap(),
                                norm(mx[1].as_str().unwrap()),
                            )
                        }
                        "PTR" => Entry::Ptr(norm(v.as_str().unwrap())),
                        "CNAME" => Entry::Cname(norm(v.as_str().unwrap())),
                        other => panic!("unknown zone type {other}"),
                    };
                    list.push(entry);
                }
            }
            // The suite's rule (its header, and pyspf's test driver): SPF-type entries
            // are duplicated as TXT records when the name has no TXT entry.
            if !list
                .iter()
                .any(|e| matches!(e, Entry::Txt(_) | Entry::TxtNone))
            {
                let generated: Vec<Entry> = list
                    .iter()
                    .filter_map(|e| match e {
                        Entry::Spf(t) => Some(Entry::Txt(t.clone())),
                        _ => None,
                    })
                    .collect();
                list.extend(generated);
            }
            zone.names.entry(name).or_default().extend(list);
        }
        zone
    }

    fn answer(&self, q: &Query) -> Answer {
        self.resolve(&q.name, q.kind, 0)
    }

    fn resolve(&self, name: &str, kind: RecordKind, depth: usize) -> Answer {
        let Some(entries) = self.names.get(name) else {
            return Answer::NxDomain;
        };
        if let Some(target) = entries.iter().find_map(|e| match e {
            Entry::Cname(t) => Some(t),
            _ => None,
        }) {
            if depth >= 8 {
                return Answer::TempFail; // CNAME loop
            }
            return self.resolve(target, kind, depth + 1);
        }
        let records: Vec<Record> = entries
            .iter()
            .filter_map(|e| match (e, kind) {
                (Entry::Txt(t), RecordKind::Txt) => Some(Record::Txt(t.clone())),
                (Entry::A(a), RecordKind::A) => Some(Record::A(*a)),
                (Entry::Aaaa(a), RecordKind::Aaaa) => Some(Record::Aaaa(*a)),
                (Entry::Mx(p, x), RecordKind::Mx) => Some(Record::Mx {
                    preference: *p,
                    exchange: x.clone(),
                }),
                (Entry::Ptr(p), RecordKind::Ptr) => Some(Record::Ptr(p.clone())),
                _ => None,
            })
            .collect();
        if !records.is_empty() {
            Answer::Records(records)
        } else if entries.iter().any(|e| matches!(e, Entry::Timeout)) {
            Answer::TempFail
        } else {
            Answer::NoData
        }
    }
}

struct Outcome {
    result: SpfResult,
    explanation: Option<String>,
    questions: usize,
}

fn run(zone: &Zone, host: IpAddr, mailfrom: &str, helo: &str) -> Outcome {
    let mut check = SpfCheck::mail_from(SpfConfig::default(), host, mailfrom, helo, NOW);
    let mut questions = 0;
    for _round in 0..1000 {
        if let Some(out) = check.result() {
            return Outcome {
                result: out.result,
                explanation: out.explanation.clone(),
                questions,
            };
        }
        let queries = check.queries();
        assert!(!queries.is_empty(), "no result and no question");
        for q in queries {
            questions += 1;
            check.supply(&q, zone.answer(&q));
        }
    }
    panic!("no result after 1000 rounds");
}

fn expected_results(v: &Yaml) -> Vec<String> {
    match v {
        Yaml::String(s) => vec![s.clone()],
        Yaml::Array(a) => a.iter().map(|r| r.as_str().unwrap().to_owned()).collect(),
        other => panic!("result {other:?}"),
    }
}

fn yaml_str(v: &Yaml) -> String {
    match v {
        Yaml::String(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Real(r) => r.clone(),
        other => panic!("string {other:?}"),
    }
}

/// Runs every test of a suite file; returns (scenarios, tests, explanations checked) and
/// the tests that passed on a non-preferred alternative.
fn run_suite(file: &str, text: &str) -> ((usize, usize, usize), Vec<String>) {
    let docs = YamlLoader::load_from_str(text).expect("suite parses");
    let mut scenarios = 0;
    let mut tests = 0;
    let mut passed = 0;
    let mut alternatives = Vec::new();
    let mut explanations_checked = 0;
    let mut failures = Vec::new();
    for doc in &docs {
        let description = doc["description"].as_str().unwrap_or("?");
        let zone = Zone::load(&doc["zonedata"]);
        scenarios += 1;
        for (id, t) in doc["tests"].as_hash().expect("tests") {
            let id = id.as_str().unwrap();
            tests += 1;
            let host: IpAddr = t["host"].as_str().unwrap().parse().unwrap();
            let mailfrom = yaml_str(&t["mailfrom"]);
            let helo = yaml_str(&t["helo"]);
            let want = expected_results(&t["result"]);
            let out = run(&zone, host, &mailfrom, &helo);
            let got = out.result.as_str();
            let mut ok = want.iter().any(|w| w == got);
            if ok && want[0] != got {
                alternatives.push(format!("{id}: {got} (preferred {})", want[0]));
            }
            if let Some(exp) = t["explanation"].as_str() {
                explanations_checked += 1;
                let got_exp = out.explanation.as_deref().unwrap_or("DEFAULT");
                if got_exp != exp {
                    ok = false;
                    failures.push(format!(
                        "{description} / {id}: explanation {got_exp:?}, want {exp:?}"
                    ));
                }
            }
            assert!(
                out.questions <= 200,
                "{id}: {} DNS questions",
                out.questions
            );
            if want.iter().all(|w| w != got) {
                failures.push(format!(
                    "{description} / {id} ({}): result {got}, want {want:?}",
                    yaml_str(&t["spec"])
                ));
            }
            if ok {
                passed += 1;
            }
        }
    }
    println!(
        "{file}: {scenarios} scenarios, {tests} tests, {passed} passed, \
         {explanations_checked} explanations checked"
    );
    for a in &alternatives {
        println!("  passed on a listed alternative result: {a}");
    }
    for f in &failures {
        println!("  FAILED {f}");
    }
    assert!(failures.is_empty(), "{file}: {} failures", failures.len());
    assert_eq!(passed, tests);
    ((scenarios, tests, explanations_checked), alternatives)
}

#[test]
fn rfc7208_conformance_suite() {
    let (counts, alternatives) = run_suite("rfc7208-tests.yml", RFC7208_SUITE);
    // The 2014.04 release with the 2019.08 additions: every scenario and test ran, and
    // every result is the suite's preferred one.
    assert_eq!(counts, (16, 203, 22));
    assert_eq!(alternatives, Vec::<String>::new());
}

#[test]
fn rfc4408_conformance_suite() {
    let (counts, alternatives) = run_suite("rfc4408-tests.yml", RFC4408_SUITE);
    assert_eq!(counts, (15, 191, 22));
    // Where RFC 7208 changed the rules, the 2009.10 suite prefers the RFC 4408 result and
    // lists the RFC 7208 one as an alternative: type SPF records are no longer asked
    // (spfonly, txttimeout, spfoverride, multitxt1, multispf2), mx-limit and DNS errors in
    // exists are permerror/temperror, names no DNS query can carry do not match.
    let mut ids: Vec<&str> = alternatives
        .iter()
        .map(|a| a.split(':').next().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "exists-dnserr",
            "invalid-domain-empty-label",
            "invalid-domain-long",
            "invalid-domain-long-via-macro",
            "multispf2",
            "multitxt1",
            "mx-limit",
            "spfonly",
            "spfoverride",
            "txttimeout",
        ]
    );
}
