//! The tokio `Resolver` of postwerk-mx against a real DNS server on loopback: hickory-server
//! 0.26 running in-process with an in-memory zone built in code, on UDP and TCP sockets
//! bound to 127.0.0.1 with a free port.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::rr::rdata::{A, CNAME, MX, SOA};
use hickory_proto::rr::{LowerName, Name, RData, Record};
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
