//! A fake DNS server for table tests: a zone answered like a recursive resolver would,
//! built with hickory-proto, plus a driver loop with a simulated clock.
#![allow(dead_code)]

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use postwerk_mx::{Lookup, Options, Query, RecordKind, Rng, Route, RouteError, Transport};

pub fn name(s: &str) -> Name {
    Name::from_str(&format!("{}.", s.trim_end_matches('.'))).unwrap()
}

pub fn mx(owner: &str, pref: u16, exchange: &str) -> Record {
    let exchange = if exchange == "." {
        Name::root()
    } else {
        name(exchange)
    };
    Record::from_rdata(name(owner), 300, RData::MX(MX::new(pref, exchange)))
}

pub fn a(owner: &str, ip: &str) -> Record {
    Record::from_rdata(
        name(owner),
        300,
        RData::A(A(Ipv4Addr::from_str(ip).unwrap())),
    )
}

pub fn aaaa(owner: &str, ip: &str) -> Record {
    Record::from_rdata(
        name(owner),
        300,
        RData::AAAA(AAAA(Ipv6Addr::from_str(ip).unwrap())),
    )
}

pub fn cname(owner: &str, target: &str) -> Record {
    Record::from_rdata(name(owner), 300, RData::CNAME(CNAME(name(target))))
}

pub fn soa(zone: &str, ttl: u32, minimum: u32) -> Record {
    let soa = SOA::new(
        name("ns.test"),
        name("hostmaster.test"),
        1,
        3600,
        600,
        86400,
        minimum,
    );
    Record::from_rdata(name(zone), ttl, RData::SOA(soa))
}

/// The response skeleton for a query: same id and question, QR set, RD/RA set.
pub fn reply_to(query: &[u8]) -> Message {
    let q = Message::from_vec(query).unwrap();
    let mut r = Message::new(q.metadata.id, MessageType::Response, q.metadata.op_code);
    r.metadata.recursion_desired = true;
    r.metadata.recursion_available = true;
    r.add_queries(q.queries.clone());
    r
}

pub fn error_reply(query: &[u8], rcode: ResponseCode) -> Vec<u8> {
    let mut r = reply_to(query);
    r.metadata.response_code = rcode;
    r.to_vec().unwrap()
}

/// A zone answered like a recursive resolver: CNAMEs chased into the answer section,
/// NODATA and NXDOMAIN with an SOA, optional additional records and UDP truncation.
#[derive(Default)]
pub struct Zone {
    pub records: Vec<Record>,
    /// Put the exchangers' A/AAAA records in the additional section of MX answers.
    pub additional: bool,
    /// Do not chase CNAMEs (answer with the CNAME alone).
    pub no_chase: bool,
    /// Answer with TC over UDP when the answer has more than this many records.
    pub truncate_udp_above: Option<usize>,
    /// Never answer over TCP.
    pub tcp_silent: bool,
    /// (name, type) answered SERVFAIL.
    pub servfail: HashSet<(String, RecordType)>,
    /// (name, type) answered REFUSED.
    pub refused: HashSet<(String, RecordType)>,
    /// (name, type) never answered.
    pub silent: HashSet<(String, RecordType)>,
    /// Every query seen: (name, kind, transport).
    pub log: Vec<(String, RecordKind, Transport)>,
}

impl Zone {
    pub fn new(records: Vec<Record>) -> Self {
        Self {
            records,
            ..Self::default()
        }
    }

    fn exists(&self, n: &Name) -> bool {
        self.records.iter().any(|r| r.name == *n)
    }

    pub fn answer(&mut self, query: &Query) -> Option<Vec<u8>> {
        self.log
            .push((query.name.clone(), query.record, query.transport));
        let q = Message::from_vec(&query.bytes).unwrap();
        let question = q.queries[0].clone();
        let key = (query.name.clone(), question.query_type());
        if self.silent.contains(&key) || (self.tcp_silent && query.transport == Transport::Tcp) {
            return None;
        }
        if self.servfail.contains(&key) {
            return Some(error_reply(&query.bytes, ResponseCode::ServFail));
        }
        if self.refused.contains(&key) {
            return Some(error_reply(&query.bytes, ResponseCode::Refused));
        }
        let mut r = reply_to(&query.bytes);
        let mut current = question.name().clone();
        for _ in 0..16 {
            let next = self.records.iter().find_map(|rec| match &rec.data {
                RData::CNAME(c) if rec.name == current => Some((rec.clone(), c.0.clone())),
                _ => None,
            });
            match next {
                Some((rec, target)) => {
                    r.add_answer(rec);
                    current = target;
                    if self.no_chase {
                        return Some(r.to_vec().unwrap());
                    }
                }
                None => break,
            }
        }
        let data: Vec<Record> = self
            .records
            .iter()
            .filter(|rec| rec.name == current && rec.record_type() == question.query_type())
            .cloned()
            .collect();
        if data.is_empty() {
            if !self.exists(&current) {
                r.metadata.response_code = ResponseCode::NXDomain;
            }
            r.add_authority(soa("test", 600, 60));
        } else {
            if self.additional && question.query_type() == RecordType::MX {
                for rec in &data {
                    if let RData::MX(m) = &rec.data {
                        for extra in self.records.iter().filter(|x| {
                            x.name == m.exchange
                                && matches!(x.record_type(), RecordType::A | RecordType::AAAA)
                        }) {
                            r.add_additional(extra.clone());
                        }
                    }
                }
            }
            if let Some(limit) = self.truncate_udp_above
                && query.transport == Transport::Udp
                && data.len() > limit
            {
                r.metadata.truncation = true;
                return Some(r.to_vec().unwrap());
            }
            r.add_answers(data);
        }
        Some(r.to_vec().unwrap())
    }
}

/// Runs `lookup` to the end with `server`, advancing a simulated clock on timeouts.
/// Returns the result and the simulated time it took.
pub fn drive(
    lookup: &mut Lookup,
    start: Instant,
    mut server: impl FnMut(&Query) -> Option<Vec<u8>>,
) -> (Result<Route, RouteError>, Duration) {
    let mut now = start;
    for _ in 0..10_000 {
        while let Some(q) = lookup.poll_query() {
            if let Some(bytes) = server(&q) {
                lookup.handle_response(&bytes, now);
            }
        }
        if lookup.is_finished() {
            return (
                lookup.result().expect("a finished lookup has a result"),
                now - start,
            );
        }
        now = lookup
            .poll_timeout()
            .expect("an unfinished lookup has a deadline");
        lookup.handle_timeout(now);
    }
    panic!("lookup did not finish");
}

/// Looks `domain` up in `zone` with `options` and `seed`.
pub fn resolve(
    zone: &mut Zone,
    domain: &str,
    options: Options,
    seed: u64,
) -> Result<Route, RouteError> {
    let start = Instant::now();
    let mut lookup = Lookup::new(domain, options, Rng::new(seed), start);
    drive(&mut lookup, start, |q| zone.answer(q)).0
}

pub fn host_names(route: &Route) -> Vec<&str> {
    route.hosts.iter().map(|h| h.name.as_str()).collect()
}
