//! The tokio driver against a real DNS server (dnsmasq on 127.0.0.1): DKIM keys, TXT
//! answers with several strings, NXDOMAIN, NODATA and PTR, through postwerk-mx's resolver.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use postwerk_auth::dkim::{DkimStatus, Signer, SigningKey, Verifier, VerifierConfig};
use postwerk_auth::dns::{Answer, Query, Record, RecordKind};
use postwerk_auth::driver;
use postwerk_mx::resolver::{Resolver, ResolverConfig};

#[path = "../../../tests/support/dns_probe.rs"]
mod dns_probe;

struct Dnsmasq {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dnsmasq(args: &[String]) -> Dnsmasq {
    // The port is free when picked, but another process may take it before dnsmasq binds
    // it; then dnsmasq exits at once, and a fresh port is tried.
    for _ in 0..5 {
        if let Some(dns) = dnsmasq_on_a_free_port(args) {
            return dns;
        }
    }
    panic!("dnsmasq exited five times right after its start (ports taken?)");
}

fn dnsmasq_on_a_free_port(args: &[String]) -> Option<Dnsmasq> {
    let probe = dns_probe::Probe::new(args);
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("/usr/sbin/dnsmasq")
        .args([
            "-d",
            "-C",
            "/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
        ])
        .arg(format!("--port={port}"))
        .arg("--listen-address=127.0.0.1")
        .arg(probe.arg())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dnsmasq is missing: install the Debian package `dnsmasq-base`");
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut dns = Dnsmasq { child, addr };
    // Readiness: poll until this dnsmasq answers (bounded).
    let deadline = Instant::now() + Duration::from_secs(30);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    loop {
        if dns.child.try_wait().ok().flatten().is_some() {
            return None;
        }
        if probe.answered_by(&socket, addr) {
            return Some(dns);
        }
        assert!(
            Instant::now() < deadline,
            "dnsmasq did not answer within 30 s"
        );
    }
}

fn resolver(addr: SocketAddr) -> Resolver {
    let mut config = ResolverConfig::new(vec![addr]);
    config.lookup_deadline = Duration::from_secs(5);
    Resolver::new(config)
}

#[test]
fn dkim_keys_and_record_kinds_through_a_real_name_server() {
    let key = SigningKey::ed25519_from_seed(&[7u8; 32]).unwrap();
    let record = key.dns_record();
    let signer = Signer::new(key, "alpha.test", "sel").unwrap();
    let message = b"From: a@alpha.test\r\nTo: b@beta.test\r\nSubject: hi\r\n\r\nbody\r\n";
    let field = signer.sign(message, 1_700_000_000).unwrap();
    let signed = [field.as_bytes(), &message[..]].concat();

    // dnsmasq splits long TXT data into 255-octet strings, as a real zone would.
    let dns = dnsmasq(&[
        format!("--txt-record=sel._domainkey.alpha.test,{record}"),
        "--auth-zone=alpha.test,192.0.2.0/24".into(),
        "--auth-server=ns.alpha.test,127.0.0.1".into(),
        "--local=/alpha.test/".into(),
        "--txt-record=alpha.test,v=spf1 -all".into(),
        "--host-record=mx.alpha.test,192.0.2.25".into(),
        "--ptr-record=25.2.0.192.in-addr.arpa,mx.alpha.test".into(),
    ]);
    let resolver = resolver(dns.addr);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut verifier = Verifier::new(VerifierConfig::default());
        verifier.update(&signed);
        driver::supply_dkim_keys(&resolver, &mut verifier).await;
        let results = verifier.finish(1_700_000_000);
        assert_eq!(results[0].status, DkimStatus::Pass, "{results:?}");

        let questions = [
            Query::new("alpha.test", RecordKind::Txt),
            Query::new("nowhere.alpha.test", RecordKind::Txt),
            Query::new("mx.alpha.test", RecordKind::Txt),
            Query::new("mx.alpha.test", RecordKind::A),
            Query::new("25.2.0.192.in-addr.arpa", RecordKind::Ptr),
            Query::new("bad..name", RecordKind::Txt),
        ];
        let answers = driver::answers(&resolver, &questions).await;
        let got: Vec<&Answer> = answers.iter().map(|(_, a)| a).collect();
        assert_eq!(got[0], &Answer::txt("v=spf1 -all"));
        assert!(got[1].is_not_found(), "{:?}", got[1]);
        assert_eq!(got[2], &Answer::NoData);
        assert_eq!(got[3].records(), &[Record::A(Ipv4Addr::new(192, 0, 2, 25))]);
        assert_eq!(
            got[4].records(),
            &[Record::Ptr("mx.alpha.test".into())],
            "{:?}",
            got[4]
        );
        assert_eq!(got[5], &Answer::NxDomain);
    });
}

#[test]
fn a_silent_server_is_a_temporary_failure_within_the_deadline() {
    // A bound UDP socket that never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut config = ResolverConfig::new(vec![silent.local_addr().unwrap()]);
    config.lookup_deadline = Duration::from_millis(800);
    let resolver = Resolver::new(config);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    let a = rt.block_on(driver::answer(
        &resolver,
        &Query::new("alpha.test", RecordKind::Txt),
    ));
    assert_eq!(a, Answer::TempFail);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
