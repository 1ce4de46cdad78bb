//! MX routing benchmarks (postwerk-mx).
//!
//! ```text
//! cargo bench --bench mx                      # all groups
//! cargo bench --bench mx -- route_from_answers
//! cargo bench --bench mx -- cache_hit
//! ```
//!
//! - `route_from_answers`: a sans-IO `Lookup` run to completion against pre-built DNS
//!   response bytes (MX answer, then A answers per exchanger; and an MX answer carrying
//!   the addresses in its additional section): parsing, validation, ordering, shuffling.
//! - `cache_hit`: the tokio `Resolver` answering from its route cache, through the sync
//!   `cached_route` and through `resolve_mx` (awaited on a current-thread runtime). The
//!   cache is filled once from a small UDP responder on loopback serving the same bytes.
//!
//! Throughput is in routes (lookups) per second.

use std::collections::HashMap;
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hickory_proto::op::{Message, MessageType, OpCode, Query as DnsQuery};
use hickory_proto::rr::rdata::{A, MX};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use postwerk_mx::resolver::{Resolver, ResolverConfig};
use postwerk_mx::{Families, Lookup, Options, RecordKind, Rng};

const DOMAIN: &str = "example.test";
const HOSTS: [(u16, &str, Ipv4Addr); 3] = [
    (10, "mx1.example.test", Ipv4Addr::new(192, 0, 2, 1)),
    (10, "mx2.example.test", Ipv4Addr::new(192, 0, 2, 2)),
    (20, "backup.example.test", Ipv4Addr::new(192, 0, 2, 3)),
];

fn name(s: &str) -> Name {
    Name::from_str(&format!("{s}.")).unwrap()
}

fn response(qname: &str, rtype: RecordType, additional: bool) -> Vec<u8> {
    let mut m = Message::new(0, MessageType::Response, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.metadata.recursion_available = true;
    m.add_query(DnsQuery::query(name(qname), rtype));
    match rtype {
        RecordType::MX => {
            for (pref, host, ip) in HOSTS {
                m.add_answer(Record::from_rdata(
                    name(qname),
                    3600,
                    RData::MX(MX::new(pref, name(host))),
                ));
                if additional {
                    m.add_additional(Record::from_rdata(name(host), 3600, RData::A(A(ip))));
                }
            }
        }
        _ => {
            let (_, _, ip) = HOSTS.iter().find(|h| h.1 == qname).unwrap();
            m.add_answer(Record::from_rdata(name(qname), 3600, RData::A(A(*ip))));
        }
    }
    m.to_vec().unwrap()
}

/// Answers by (name, kind), id 0 (patched per query).
fn answers(additional: bool) -> HashMap<(String, RecordKind), Vec<u8>> {
    let mut map = HashMap::new();
    map.insert(
        (DOMAIN.to_string(), RecordKind::Mx),
        response(DOMAIN, RecordType::MX, additional),
    );
    for (_, host, _) in HOSTS {
        map.insert(
            (host.to_string(), RecordKind::A),
            response(host, RecordType::A, false),
        );
    }
    map
}

fn run_lookup(
    options: &Arc<Options>,
    seed: u64,
    map: &HashMap<(String, RecordKind), Vec<u8>>,
    scratch: &mut Vec<u8>,
) -> usize {
    let now = Instant::now();
    let mut lookup = Lookup::new(DOMAIN, options.clone(), Rng::new(seed), now);
    while !lookup.is_finished() {
        let Some(q) = lookup.poll_query() else { break };
        let bytes = &map[&(q.name, q.record)];
        scratch.clear();
        scratch.extend_from_slice(bytes);
        scratch[..2].copy_from_slice(&q.id.to_be_bytes());
        lookup.handle_response(scratch, now);
    }
    lookup.result().unwrap().unwrap().hosts.len()
}

fn route_from_answers(c: &mut Criterion) {
    let mut options = Options::default();
    options.families = Families::Ipv4Only;
    let options = Arc::new(options);
    let mut group = c.benchmark_group("route_from_answers");
    group.throughput(Throughput::Elements(1));
    for (label, additional) in [("mx_then_a", false), ("mx_with_additional", true)] {
        let map = answers(additional);
        let mut scratch = Vec::new();
        let mut seed = 0u64;
        group.bench_function(label, |b| {
            b.iter(|| {
                seed += 1;
                black_box(run_lookup(&options, seed, &map, &mut scratch))
            })
        });
    }
    group.finish();
}

/// A UDP responder on loopback answering from the pre-built map (id patched).
fn spawn_responder() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    let map = answers(false);
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            let Ok(q) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let question = &q.queries[0];
            let kind = match question.query_type() {
                RecordType::MX => RecordKind::Mx,
                RecordType::A => RecordKind::A,
                _ => RecordKind::Aaaa,
            };
            let mut qname = question.name().to_ascii();
            qname.pop();
            if let Some(bytes) = map.get(&(qname, kind)) {
                let mut bytes = bytes.clone();
                bytes[..2].copy_from_slice(&buf[..2]);
                let _ = socket.send_to(&bytes, from);
            }
        }
    });
    addr
}

fn cache_hit(c: &mut Criterion) {
    let server = spawn_responder();
    let mut config = ResolverConfig::new(vec![server]);
    config.options.families = Families::Ipv4Only;
    config.options.timeout = Duration::from_millis(500);
    let resolver = Resolver::new(config);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let route = rt.block_on(resolver.resolve_mx(DOMAIN)).unwrap();
    assert_eq!(route.hosts.len(), 3);
    assert!(resolver.cached_route(DOMAIN).is_some());

    let mut group = c.benchmark_group("cache_hit");
    group.throughput(Throughput::Elements(1));
    group.bench_function("cached_route", |b| {
        b.iter(|| black_box(resolver.cached_route(black_box(DOMAIN))))
    });
    group.bench_function("resolve_mx", |b| {
        b.iter(|| black_box(rt.block_on(resolver.resolve_mx(black_box(DOMAIN)))))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = route_from_answers, cache_hit
}
criterion_main!(benches);
