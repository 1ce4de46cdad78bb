//! The tokio `Resolver` of postwerk-mx against a real DNS server on loopback: hickory-server
//! 0.26 running in-process with an in-memory zone built in code, on UDP and TCP sockets
//! bound to 127.0.0.1 with a free port.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME, MX, NS, SOA};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_server::Server;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use postwerk_mx::Options;
use postwerk_mx::resolver::{Resolver, ResolverConfig};
use postwerk_mx::{RecordKind, RouteError};

fn name(s: &str) -> Name {
    Name::from_str(s).unwrap()
}

fn rec(owner: &str, ttl: u32, data: RData) -> Record {
    Record::from_rdata(name(owner), ttl, data)
}

fn a(owner: &str, ip: &str) -> Record {
    rec(owner, 300, RData::A(A(ip.parse().unwrap())))
}

fn mx(owner: &str, pref: u16, exchange: &str) -> Record {
    let exchange = if exchange == "." {
        Name::root()
    } else {
        name(exchange)
    };
    rec(owner, 300, RData::MX(MX::new(pref, exchange)))
}

/// The test zone `test.`.
fn zone() -> InMemoryZoneHandler {
    let mut z = InMemoryZoneHandler::empty(name("test."), ZoneType::Primary, AxfrPolicy::Deny);
    let soa = SOA::new(
        name("ns.test."),
        name("hostmaster.test."),
        1,
        3600,
        600,
        86400,
        120,
    );
    let mut records = vec![
        rec("test.", 3600, RData::SOA(soa)),
        // MX with preferences.
        mx("pref.test.", 20, "mx2.pref.test."),
        mx("pref.test.", 10, "mx1.pref.test."),
        a("mx1.pref.test.", "127.0.1.1"),
        a("mx2.pref.test.", "127.0.1.2"),
        a("pref.test.", "127.0.1.99"),
        // Implicit MX.
        a("implicit.test.", "127.0.2.1"),
        // Null MX.
        mx("null.test.", 0, "."),
        // CNAME to a domain with MX records.
        rec("alias.test.", 300, RData::CNAME(CNAME(name("pref.test.")))),
        // We are an MX.
        mx("ours.test.", 10, "mx1.pref.test."),
        mx("ours.test.", 20, "me.test."),
    ];
    for i in 0..5 {
        let host = format!("e{i}.eq.test.");
        records.push(mx("eq.test.", 10, &host));
        records.push(a(&host, &format!("127.0.3.{}", i + 1)));
    }
    // Forty exchangers: the MX answer cannot fit in a 512-octet UDP message.
    for i in 0..40 {
        let host = format!("host-number-{i:02}.big.test.");
        records.push(mx("big.test.", 10 + i, &host));
        records.push(a(&host, &format!("127.0.4.{}", i + 1)));
    }
    for r in records {
        assert!(z.upsert_mut(r, 1));
    }
    z
}

/// Starts hickory-server on 127.0.0.1 (UDP, and TCP on the same port when `tcp`).
async fn start_server(tcp: bool) -> SocketAddr {
    let mut catalog = Catalog::new();
    catalog.upsert(LowerName::from(name("test.")), vec![Arc::new(zone())]);
    let mut server = Server::new(catalog);
    // The UDP port is free; the same TCP port may be taken by another test: retry.
    let (udp, addr) = loop {
        let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = udp.local_addr().unwrap();
        if !tcp {
            break (udp, addr);
        }
        if let Ok(listener) = tokio::net::TcpListener::bind(addr).await {
            server.register_listener(listener, Duration::from_secs(5), 65_535);
            break (udp, addr);
        }
    };
    server.register_socket(udp);
    tokio::spawn(async move {
        let _ = server.block_until_done().await;
    });
    addr
}

fn resolver(server: SocketAddr, seed: u64, tweak: impl FnOnce(&mut Options)) -> Resolver {
    let mut config = ResolverConfig::new(vec![server]);
    config.seed = seed;
    config.options.timeout = Duration::from_millis(500);
    config.options.attempts = 3;
    tweak(&mut config.options);
    Resolver::new(config)
}

fn names(route: &postwerk_mx::Route) -> Vec<&str> {
    route.hosts.iter().map(|h| h.name.as_str()).collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[tokio::test]
async fn mx_with_preferences() {
    let server = start_server(true).await;
    let r = resolver(server, 1, |_| {});
    let route = r.resolve_mx("pref.test").await.unwrap();
    assert_eq!(names(&route), ["mx1.pref.test", "mx2.pref.test"]);
    assert_eq!(route.hosts[0].addresses, [ip("127.0.1.1")]);
    assert_eq!(route.hosts[1].addresses, [ip("127.0.1.2")]);
    assert!(!route.implicit);
}

#[tokio::test]
async fn equal_preferences_are_shuffled_and_seed_reproducible() {
    let server = start_server(true).await;
    let mut orders = HashSet::new();
    for seed in 0..12 {
        let first = resolver(server, seed, |_| {})
            .resolve_mx("eq.test")
            .await
            .unwrap();
        let again = resolver(server, seed, |_| {})
            .resolve_mx("eq.test")
            .await
            .unwrap();
        assert_eq!(first, again, "seed {seed} reproduces the route");
        let mut sorted: Vec<&str> = names(&first);
        sorted.sort();
        assert_eq!(
            sorted,
            [
                "e0.eq.test",
                "e1.eq.test",
                "e2.eq.test",
                "e3.eq.test",
                "e4.eq.test"
            ]
        );
        orders.insert(names(&first).join(","));
    }
    assert!(orders.len() > 3, "shuffled: {orders:?}");
}

#[tokio::test]
async fn implicit_mx() {
    let server = start_server(true).await;
    let route = resolver(server, 1, |_| {})
        .resolve_mx("implicit.test")
        .await
        .unwrap();
    assert!(route.implicit);
    assert_eq!(names(&route), ["implicit.test"]);
    assert_eq!(route.hosts[0].addresses, [ip("127.0.2.1")]);
}

#[tokio::test]
async fn null_mx() {
    let server = start_server(true).await;
    let err = resolver(server, 1, |_| {})
        .resolve_mx("null.test")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        RouteError::NullMx {
            domain: "null.test".into()
        }
    );
    assert_eq!(
        (err.smtp_code(), err.enhanced_status().to_string()),
        (556, "5.1.10".into())
    );
}

#[tokio::test]
async fn nxdomain_is_permanent_and_cached() {
    let server = start_server(true).await;
    let r = resolver(server, 1, |_| {});
    let err = r.resolve_mx("missing.test").await.unwrap_err();
    assert_eq!(
        err,
        RouteError::NoSuchDomain {
            domain: "missing.test".into()
        }
    );
    assert!(err.is_permanent());
    // The negative answer is cached (SOA minimum 120 s), so no query is needed again.
    assert_eq!(r.cached_route("missing.test"), Some(Err(err)));
    assert!(r.cache_len().0 >= 1);
}

#[tokio::test]
async fn cname_to_the_mx() {
    let server = start_server(true).await;
    let route = resolver(server, 1, |_| {})
        .resolve_mx("alias.test")
        .await
        .unwrap();
    assert_eq!(names(&route), ["mx1.pref.test", "mx2.pref.test"]);
}

#[tokio::test]
async fn we_are_an_mx() {
    let server = start_server(true).await;
    let r = resolver(server, 1, |o| o.local_hosts.push("me.test".into()));
    let route = r.resolve_mx("ours.test").await.unwrap();
    assert_eq!(names(&route), ["mx1.pref.test"]);
    let r = resolver(server, 1, |o| o.local_hosts.push("mx1.pref.test".into()));
    let err = r.resolve_mx("ours.test").await.unwrap_err();
    assert_eq!(
        err,
        RouteError::Loop {
            domain: "ours.test".into()
        }
    );
}

#[tokio::test]
async fn server_that_never_answers_is_a_bounded_temporary_failure() {
    // A socket that reads every datagram and drops it.
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let sink = tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        let mut seen = 0u32;
        while let Ok((_, _)) = silent.recv_from(&mut buf).await {
            seen += 1;
        }
        seen
    });
    let r = resolver(addr, 1, |o| {
        o.timeout = Duration::from_millis(100);
        o.attempts = 2;
    });
    let start = Instant::now();
    let err = r.resolve_mx("pref.test").await.unwrap_err();
    let took = start.elapsed();
    assert_eq!(
        err,
        RouteError::Timeout {
            name: "pref.test".into(),
            record: RecordKind::Mx,
            attempts: 2
        }
    );
    assert!(err.is_temporary());
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(
        r.cached_route("pref.test"),
        None,
        "temporary failures are not cached"
    );
    sink.abort();
}

#[tokio::test]
async fn truncated_udp_answer_is_retried_over_tcp() {
    let server = start_server(true).await;
    // No EDNS: UDP answers are limited to 512 octets, forty MX records are not.
    let r = resolver(server, 1, |o| {
        o.udp_payload = 512;
        o.max_hosts = 100;
    });
    let route = r.resolve_mx("big.test").await.unwrap();
    assert_eq!(route.hosts.len(), 40, "the complete answer came over TCP");
    assert_eq!(route.hosts[0].name, "host-number-00.big.test");
    assert_eq!(route.hosts[39].addresses, [ip("127.0.4.40")]);

    // The same server without a TCP listener: truncated and no TCP answer is temporary.
    let udp_only = start_server(false).await;
    let r = resolver(udp_only, 1, |o| {
        o.udp_payload = 512;
        o.timeout = Duration::from_millis(100);
        o.attempts = 2;
    });
    let err = r.resolve_mx("big.test").await.unwrap_err();
    assert_eq!(
        err,
        RouteError::Truncated {
            name: "big.test".into(),
            record: RecordKind::Mx
        }
    );
    assert!(err.is_temporary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_lookups_and_cache_hits() {
    let server = start_server(true).await;
    let r = resolver(server, 7, |_| {});
    let mut tasks = Vec::new();
    for i in 0..24 {
        let r = r.clone();
        let domain = ["pref.test", "eq.test", "implicit.test", "alias.test"][i % 4];
        tasks.push(tokio::spawn(async move { r.resolve_mx(domain).await }));
    }
    for t in tasks {
        assert!(!t.await.unwrap().unwrap().hosts.is_empty());
    }
    let (answers, routes) = r.cache_len();
    assert!(answers >= 4 && routes == 4, "{answers} {routes}");
    let hit = r.cached_route("eq.test").unwrap().unwrap();
    assert_eq!(hit.hosts.len(), 5);
}

#[tokio::test]
async fn shared_exchangers_come_from_the_answer_cache() {
    let server = start_server(true).await;
    let r = resolver(server, 3, |_| {});
    r.resolve_mx("pref.test").await.unwrap();
    let (answers_before, _) = r.cache_len();
    // alias.test's MX answer is new; its exchangers' addresses are already cached.
    let route = r.resolve_mx("alias.test").await.unwrap();
    assert_eq!(names(&route), ["mx1.pref.test", "mx2.pref.test"]);
    let (answers_after, routes) = r.cache_len();
    assert_eq!(answers_after, answers_before + 1);
    assert_eq!(routes, 2);
}

#[tokio::test]
async fn name_servers_from_a_resolv_conf_file() {
    let server = start_server(true).await;
    let mut file = tempfile::NamedTempFile::new().unwrap();
    use std::io::Write;
    writeln!(
        file,
        "# test\nsearch test\nnameserver 127.0.0.1\noptions timeout:1 attempts:2"
    )
    .unwrap();
    let r = Resolver::from_resolv_conf(file.path(), Options::default()).unwrap();
    assert_eq!(r.servers(), ["127.0.0.1:53".parse::<SocketAddr>().unwrap()]);
    // resolv.conf has no port; point a config at our server's port with the same parse.
    let text = std::fs::read_to_string(file.path()).unwrap();
    let conf = postwerk_mx::resolver::parse_resolv_conf(&text);
    let servers: Vec<SocketAddr> = conf
        .servers
        .iter()
        .map(|s| SocketAddr::new(s.ip(), server.port()))
        .collect();
    let mut config = ResolverConfig::new(servers);
    config.options.timeout = conf.timeout.unwrap();
    let route = Resolver::new(config).resolve_mx("pref.test").await.unwrap();
    assert_eq!(route.hosts.len(), 2);
}

#[tokio::test]
async fn literals_and_missing_servers() {
    let r = Resolver::new(ResolverConfig::new(Vec::new()));
    let route = r.resolve_mx("[127.0.0.5]").await.unwrap();
    assert_eq!(route.hosts[0].addresses, [ip("127.0.0.5")]);
    assert_eq!(
        r.resolve_mx("pref.test").await.unwrap_err(),
        RouteError::NoNameServers
    );
}

#[test]
fn resolver_is_shareable() {
    fn shareable<T: Clone + Send + Sync + 'static>(value: &T) -> T {
        value.clone()
    }
    let r = Resolver::new(ResolverConfig::new(vec!["127.0.0.1:53".parse().unwrap()]));
    assert_eq!(shareable(&r).servers(), r.servers());
}

// ----- SECURITY.md 47 and 48: a raw UDP server that can misbehave -----

/// One query as a raw test server saw it.
#[derive(Debug, Clone)]
struct Seen {
    from: SocketAddr,
    id: u16,
    name: String,
    kind: RecordType,
}

/// A datagram the raw server sends back: from its own socket, or from a second socket
/// (another port) that a test may list as another name server.
enum Reply {
    Own(Vec<u8>),
    Other(Vec<u8>),
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// A UDP server on 127.0.0.1 that logs every query and answers with `handler(query,
/// how many times this name and type were asked before)`. Returns its address, the
/// address of its second socket, and the log.
async fn raw_server<F>(handler: F) -> (SocketAddr, SocketAddr, Log)
where
    F: Fn(&Message, usize) -> Vec<Reply> + Send + 'static,
{
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let other = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let other_addr = other.local_addr().unwrap();
    let log: Log = Arc::default();
    let seen = log.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let Some(q) = query.queries.first() else {
                continue;
            };
            let (name, kind) = (q.name().to_ascii().to_ascii_lowercase(), q.query_type());
            let before = {
                let mut log = seen.lock().unwrap();
                let before = log
                    .iter()
                    .filter(|s| s.name == name && s.kind == kind)
                    .count();
                log.push(Seen {
                    from,
                    id: query.metadata.id,
                    name,
                    kind,
                });
                before
            };
            for reply in handler(&query, before) {
                let _ = match reply {
                    Reply::Own(bytes) => socket.send_to(&bytes, from).await,
                    Reply::Other(bytes) => other.send_to(&bytes, from).await,
                };
            }
        }
    });
    (addr, other_addr, log)
}

/// A response to `query` (same id and question) with `rcode`.
fn respond(query: &Message, rcode: ResponseCode) -> Message {
    let mut r = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
    r.metadata.recursion_desired = true;
    r.metadata.recursion_available = true;
    r.metadata.response_code = rcode;
    r.add_queries(query.queries.clone());
    r
}

fn soa_record() -> Record {
    let soa = SOA::new(
        name("ns.test."),
        name("hostmaster.test."),
        1,
        3600,
        600,
        86400,
        120,
    );
    rec("test.", 3600, RData::SOA(soa))
}

/// The raw server's zone, answered like a recursive resolver: `*.raw.test`, `lame.test`
/// (a referral for MX, an address for A) and `evil.test` (what spoofers point to).
fn raw_answer(query: &Message) -> Vec<u8> {
    let q = &query.queries[0];
    let qname = q.name().to_ascii().to_ascii_lowercase();
    let mut r = respond(query, ResponseCode::NoError);
    match (qname.as_str(), q.query_type()) {
        ("lame.test.", RecordType::MX) => {
            // A referral: no answer, NS records and no SOA in the authority section.
            r.metadata.recursion_available = false;
            r.add_authority(rec("test.", 300, RData::NS(NS(name("ns.elsewhere.")))));
        }
        ("lame.test.", RecordType::A) => {
            r.add_answer(a("lame.test.", "127.0.7.7"));
        }
        (n, RecordType::MX) if n.ends_with("raw.test.") => {
            r.add_answer(mx(n, 10, "mx.raw.test."));
        }
        ("mx.raw.test.", RecordType::A) => {
            r.add_answer(a("mx.raw.test.", "127.0.5.1"));
        }
        ("evil.test.", RecordType::A) => {
            r.add_answer(a("evil.test.", "127.0.6.6"));
        }
        _ => {
            r.add_authority(soa_record());
        }
    }
    r.to_vec().unwrap()
}

/// An answer to `query` pointing the domain's mail at `evil.test`.
fn evil_answer(query: &Message) -> Message {
    let mut r = respond(query, ResponseCode::NoError);
    let owner = query.queries[0].name().clone();
    r.add_answer(Record::from_rdata(
        owner,
        300,
        RData::MX(MX::new(10, name("evil.test."))),
    ));
    r
}

fn seen(log: &Log) -> Vec<Seen> {
    log.lock().unwrap().clone()
}

#[tokio::test]
async fn security_47_query_ids_are_unpredictable_and_source_ports_fresh() {
    let (server, _, log) = raw_server(|q, _| vec![Reply::Own(raw_answer(q))]).await;
    // Twelve fresh resolvers (no cache between them): six with the same explicit seed,
    // six with the defaults. Each asks MX, then A and AAAA of the exchanger.
    let mut lookups: Vec<Vec<Seen>> = Vec::new();
    for i in 0..12 {
        let r = if i % 2 == 0 {
            resolver(server, 1, |_| {})
        } else {
            Resolver::new(ResolverConfig::new(vec![server]))
        };
        let before = seen(&log).len();
        let route = r.resolve_mx("ids.raw.test").await.unwrap();
        assert_eq!(route.hosts[0].addresses, [ip("127.0.5.1")]);
        lookups.push(seen(&log)[before..].to_vec());
    }
    for queries in &lookups {
        assert_eq!(queries.len(), 3, "{queries:?}");
        let ports: HashSet<u16> = queries.iter().map(|s| s.from.port()).collect();
        assert_eq!(ports.len(), 3, "a fresh source port per query: {queries:?}");
    }
    // The same seed (or the default config) does not give the same ids on the wire.
    let id_runs: HashSet<Vec<u16>> = lookups
        .iter()
        .map(|q| q.iter().map(|s| s.id).collect())
        .collect();
    assert_eq!(id_runs.len(), lookups.len(), "{id_runs:?}");
    let all: Vec<&Seen> = lookups.iter().flatten().collect();
    let ids: HashSet<u16> = all.iter().map(|s| s.id).collect();
    assert!(ids.len() >= all.len() - 2, "{} of {}", ids.len(), all.len());
    let steps: HashSet<u16> = all
        .windows(2)
        .map(|w| w[1].id.wrapping_sub(w[0].id))
        .collect();
    assert!(steps.len() > all.len() / 2, "ids are not a fixed sequence");
    let ports: HashSet<u16> = all.iter().map(|s| s.from.port()).collect();
    assert!(
        ports.len() >= all.len() - 2,
        "{} of {}",
        ports.len(),
        all.len()
    );

    // A retransmission is a new query: new id, new port.
    let (server, _, log) = raw_server(|q, before| {
        if before == 0 {
            Vec::new()
        } else {
            vec![Reply::Own(raw_answer(q))]
        }
    })
    .await;
    let r = resolver(server, 1, |o| o.timeout = Duration::from_millis(100));
    r.resolve_mx("again.raw.test").await.unwrap();
    let mx: Vec<Seen> = seen(&log)
        .into_iter()
        .filter(|s| s.kind == RecordType::MX)
        .collect();
    assert_eq!(mx.len(), 2, "{mx:?}");
    assert_ne!(mx[0].id, mx[1].id, "{mx:?}");
    assert_ne!(mx[0].from.port(), mx[1].from.port(), "{mx:?}");
}

#[tokio::test]
async fn security_47_spoofed_responses_with_wrong_id_or_question_are_ignored() {
    let (server, other, log) = raw_server(|q, _| {
        if q.queries[0].query_type() != RecordType::MX {
            return vec![Reply::Own(raw_answer(q))];
        }
        let mut wrong_id = evil_answer(q);
        wrong_id.metadata.id ^= 0x5a5a;
        let mut wrong_name = evil_answer(q);
        wrong_name.queries = vec![Query::query(name("other.raw.test."), RecordType::MX)];
        let mut wrong_type = evil_answer(q);
        wrong_type.queries = vec![Query::query(q.queries[0].name().clone(), RecordType::A)];
        let mut wrong_class = evil_answer(q);
        let mut in_chaos = Query::query(q.queries[0].name().clone(), RecordType::MX);
        in_chaos.set_query_class(hickory_proto::rr::DNSClass::CH);
        wrong_class.queries = vec![in_chaos];
        let mut not_a_response = evil_answer(q);
        not_a_response.metadata.message_type = MessageType::Query;
        // The genuine answer echoes the name in another case (RFC 4343: still a match).
        let mut genuine = Message::from_vec(&raw_answer(q)).unwrap();
        let upper = Name::from_ascii(q.queries[0].name().to_ascii().to_uppercase()).unwrap();
        genuine.queries = vec![Query::query(upper, RecordType::MX)];
        vec![
            Reply::Own(wrong_id.to_vec().unwrap()),
            Reply::Own(wrong_name.to_vec().unwrap()),
            Reply::Own(wrong_type.to_vec().unwrap()),
            Reply::Own(wrong_class.to_vec().unwrap()),
            Reply::Own(not_a_response.to_vec().unwrap()),
            Reply::Own(b"\x00\x01 not dns".to_vec()),
            // Right id and question, but from another port (another configured server).
            Reply::Other(evil_answer(q).to_vec().unwrap()),
            Reply::Own(genuine.to_vec().unwrap()),
        ]
    })
    .await;
    let mut config = ResolverConfig::new(vec![server, other]);
    config.options.timeout = Duration::from_secs(2);
    let route = Resolver::new(config)
        .resolve_mx("spoof.raw.test")
        .await
        .unwrap();
    assert_eq!(names(&route), ["mx.raw.test"]);
    assert_eq!(route.hosts[0].addresses, [ip("127.0.5.1")]);
    let log = seen(&log);
    assert!(
        log.iter().all(|s| s.name != "evil.test."),
        "a spoofed answer was used: {log:?}"
    );
    assert_eq!(
        log.iter().filter(|s| s.kind == RecordType::MX).count(),
        1,
        "the genuine answer was taken from the first transmission: {log:?}"
    );
}

#[tokio::test]
async fn security_48_servfail_or_refused_from_the_first_server_moves_to_the_second() {
    let good = start_server(true).await;
    for rcode in [ResponseCode::ServFail, ResponseCode::Refused] {
        let (bad, _, log) =
            raw_server(move |q, _| vec![Reply::Own(respond(q, rcode).to_vec().unwrap())]).await;
        let mut config = ResolverConfig::new(vec![bad, good]);
        config.options.timeout = Duration::from_secs(5);
        let r = Resolver::new(config);
        let start = Instant::now();
        let route = r.resolve_mx("pref.test").await.unwrap();
        assert_eq!(names(&route), ["mx1.pref.test", "mx2.pref.test"]);
        assert_eq!(route.hosts[0].addresses, [ip("127.0.1.1")]);
        let took = start.elapsed();
        assert!(
            took < Duration::from_millis(2500),
            "{rcode}: no timeout waited: {took:?}"
        );
        assert!(
            seen(&log).iter().any(|s| s.kind == RecordType::MX),
            "the first server was asked first"
        );
    }
    // A silent first server: the second answers after one per-try timeout.
    let (silent, _, _) = raw_server(|_, _| Vec::new()).await;
    let mut config = ResolverConfig::new(vec![silent, good]);
    config.options.timeout = Duration::from_millis(200);
    let route = Resolver::new(config).resolve_mx("pref.test").await.unwrap();
    assert_eq!(names(&route), ["mx1.pref.test", "mx2.pref.test"]);
    // Every server failing: a temporary failure, not cached.
    let (bad1, _, _) = raw_server(|q, _| {
        vec![Reply::Own(
            respond(q, ResponseCode::ServFail).to_vec().unwrap(),
        )]
    })
    .await;
    let (bad2, _, log2) = raw_server(|q, _| {
        vec![Reply::Own(
            respond(q, ResponseCode::Refused).to_vec().unwrap(),
        )]
    })
    .await;
    let mut config = ResolverConfig::new(vec![bad1, bad2]);
    config.options.attempts = 2;
    let r = Resolver::new(config);
    let err = r.resolve_mx("pref.test").await.unwrap_err();
    assert!(
        matches!(err, RouteError::ServerFailure { rcode: 2 | 5, .. }),
        "{err:?}"
    );
    assert!(err.is_temporary());
    assert_eq!(seen(&log2).len(), 2, "two rounds over both servers");
    assert_eq!(r.cached_route("pref.test"), None);
}

#[tokio::test]
async fn security_48_a_referral_or_lame_answer_is_temporary_not_nodata() {
    let (server, _, log) = raw_server(|q, _| vec![Reply::Own(raw_answer(q))]).await;
    let r = resolver(server, 1, |_| {});
    let err = r.resolve_mx("lame.test").await.unwrap_err();
    assert_eq!(
        err,
        RouteError::LameAnswer {
            name: "lame.test".into(),
            record: RecordKind::Mx
        }
    );
    assert!(err.is_temporary());
    assert_eq!(err.smtp_code(), 451);
    let log = seen(&log);
    assert!(
        log.iter().all(|s| s.kind == RecordType::MX),
        "no fallback to the domain's own address: {log:?}"
    );
    assert_eq!(log.len(), 3, "asked again on every attempt");
    assert_eq!(r.cached_route("lame.test"), None, "not cached");
}

#[tokio::test]
async fn lookup_deadline_ends_a_lookup_whatever_the_servers_do() {
    let (silent, _, _) = raw_server(|_, _| Vec::new()).await;
    let mut config = ResolverConfig::new(vec![silent]);
    config.options.timeout = Duration::from_millis(200);
    config.options.attempts = 5; // 200 + 400 + 800 + 1600 + 3200 ms without a deadline
    config.lookup_deadline = Duration::from_millis(500);
    let start = Instant::now();
    let err = Resolver::new(config)
        .resolve_mx("slow.raw.test")
        .await
        .unwrap_err();
    let took = start.elapsed();
    assert_eq!(
        err,
        RouteError::DeadlineExceeded {
            domain: "slow.raw.test".into(),
            limit: Duration::from_millis(500)
        }
    );
    assert!(err.is_temporary());
    assert!(took >= Duration::from_millis(500), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // Duration::MAX means no deadline, and must not panic.
    let mut config = ResolverConfig::new(vec![silent]);
    config.options.timeout = Duration::from_millis(50);
    config.options.attempts = 1;
    config.lookup_deadline = Duration::MAX;
    let err = Resolver::new(config)
        .resolve_mx("slow.raw.test")
        .await
        .unwrap_err();
    assert!(matches!(err, RouteError::Timeout { .. }), "{err:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn identical_lookups_in_flight_are_shared() {
    let (server, _, log) = raw_server(|q, _| vec![Reply::Own(raw_answer(q))]).await;
    let r = resolver(server, 1, |_| {});
    let (a, b, c, d, e, f, g, h) = tokio::join!(
        r.resolve_mx("shared.raw.test"),
        r.resolve_mx("shared.raw.test"),
        r.resolve_mx("Shared.Raw.Test"),
        r.resolve_mx("shared.raw.test"),
        r.resolve_mx("SHARED.raw.test"),
        r.resolve_mx("shared.raw.test"),
        r.resolve_mx("shared.raw.test"),
        r.resolve_mx("shared.raw.test"),
    );
    for result in [a, b, c, d, e, f, g, h] {
        assert_eq!(result.unwrap().hosts[0].addresses, [ip("127.0.5.1")]);
    }
    let log = seen(&log);
    let count = |kind| log.iter().filter(|s| s.kind == kind).count();
    assert_eq!(
        (
            count(RecordType::MX),
            count(RecordType::A),
            count(RecordType::AAAA)
        ),
        (1, 1, 1),
        "one query each on the wire for eight callers: {log:?}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn identical_questions_in_flight_are_shared() {
    // Twenty sessions checking the SPF record of one sender domain at once ask once.
    let (server, _, log) = raw_server(|q, _| vec![Reply::Own(raw_answer(q))]).await;
    let r = resolver(server, 1, |_| {});
    let names = [
        "spf.raw.test",
        "SPF.raw.test",
        "spf.RAW.test",
        "spf.raw.test",
    ];
    let results = futures_join_all(
        names
            .iter()
            .map(|n| r.query(n, postwerk_mx::RecordKind::Txt)),
    )
    .await;
    for result in &results {
        let bytes = result.as_ref().unwrap();
        let msg = Message::from_vec(bytes).unwrap();
        assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
    }
    let txt = seen(&log)
        .iter()
        .filter(|s| s.kind == RecordType::TXT)
        .count();
    assert_eq!(txt, 1, "one TXT query on the wire for four callers");
    // A different question is not folded into it.
    r.query("spf.raw.test", postwerk_mx::RecordKind::A)
        .await
        .unwrap();
    assert_eq!(seen(&log).len(), 2);
}

/// Runs the futures concurrently on this task and returns their outputs in order.
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut set: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in set.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|v| v.unwrap()).collect()
}

#[tokio::test(flavor = "current_thread")]
async fn a_shared_lookup_survives_its_first_caller_being_cancelled() {
    use std::future::Future;
    use std::task::Poll;
    let (server, _, log) = raw_server(|q, _| vec![Reply::Own(raw_answer(q))]).await;
    let r = resolver(server, 1, |_| {});
    let mut first = Box::pin(r.resolve_mx("cancel.raw.test"));
    let mut second = Box::pin(r.resolve_mx("cancel.raw.test"));
    // Poll both once: the first starts the lookup, the second waits on it.
    std::future::poll_fn(|cx| {
        assert!(first.as_mut().poll(cx).is_pending());
        assert!(second.as_mut().poll(cx).is_pending());
        Poll::Ready(())
    })
    .await;
    drop(first);
    let route = second.await.unwrap();
    assert_eq!(route.hosts[0].addresses, [ip("127.0.5.1")]);
    assert!(
        seen(&log)
            .iter()
            .filter(|s| s.kind == RecordType::MX)
            .count()
            <= 2,
        "the waiting caller took over"
    );
}

#[tokio::test]
async fn answers_to_questions_are_kept_for_their_ttl_and_failures_are_not() {
    use postwerk_mx::RecordKind;
    let (server, _, log) = raw_server(|q, _| {
        let qname = q.queries[0].name().to_ascii().to_ascii_lowercase();
        if qname == "broken.raw.test." {
            vec![Reply::Own(
                respond(q, ResponseCode::ServFail).to_vec().unwrap(),
            )]
        } else {
            vec![Reply::Own(raw_answer(q))]
        }
    })
    .await;
    let r = resolver(server, 1, |_| {});
    assert!(r.cached_query("mx.raw.test", RecordKind::A).is_none());
    let first = r.query("mx.raw.test", RecordKind::A).await.unwrap();
    // Asked again, in any case: read from the cache without a lookup.
    assert_eq!(
        r.cached_query("MX.raw.test", RecordKind::A),
        Some(first.clone())
    );
    assert_eq!(r.query("mx.RAW.test", RecordKind::A).await.unwrap(), first);
    // A negative answer with an SOA is an answer too.
    let nodata = r.query("spf.raw.test", RecordKind::Txt).await.unwrap();
    assert_eq!(
        r.cached_query("spf.raw.test", RecordKind::Txt),
        Some(nodata)
    );
    // SERVFAIL is a temporary failure: never kept, asked again.
    assert!(r.query("broken.raw.test", RecordKind::Txt).await.is_err());
    assert!(r.cached_query("broken.raw.test", RecordKind::Txt).is_none());
    let before = seen(&log).len();
    assert!(r.query("broken.raw.test", RecordKind::Txt).await.is_err());
    assert!(seen(&log).len() > before, "asked the server again");
    let asked = |n: &str| seen(&log).iter().filter(|s| s.name == n).count();
    assert_eq!(asked("mx.raw.test."), 1);
    assert_eq!(asked("spf.raw.test."), 1);
}
