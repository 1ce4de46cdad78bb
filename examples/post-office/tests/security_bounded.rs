//! Hostile peers against the running post office: SECURITY.md lines 41–43, 46 and 50–52,
//! one test (or a few variants) per line, named after it. Each attack is the one that broke
//! the first wave (issue 10); memory is read from `/proc/PID/status` of the spawned binary.
//!
//! Lines proved elsewhere: 44, 45, 49, 53 and 54 in `security_outbound.rs` (tarpit MX,
//! lanes, loops, queue ids and permissions); 47 and 48 in the workspace's
//! `tests/mx_resolver.rs` (the resolver against a DNS server on loopback); 41 for the
//! machines themselves in `crates/pop3/tests/security.rs` and
//! `crates/smtp/tests/server_security.rs`.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::raw::{Raw, connect_from, rss_kib};
use common::*;

const LONG: Duration = Duration::from_secs(60);

/// An office on 127.0.0.2 for `alpha.test` with users alice and bob; `smtp` goes into the
/// `[smtp]` table, `root` before every table, `extra` after the tables.
fn office(smtp: &str, root: &str, extra: &str) -> Office {
    let mut office = Office::with_smtp(
        "127.0.0.2",
        "alpha.test",
        &["alice", "bob"],
        Ports::new(),
        None,
        smtp,
        extra,
    );
    if !root.is_empty() {
        let text = std::fs::read_to_string(&office.config).unwrap();
        std::fs::write(&office.config, format!("{root}\n{text}")).unwrap();
    }
    office.start_alone();
    office
}

/// Puts `count` messages of `size` octets (CRLF lines) into the Maildir of `address`, as a
/// previous delivery would have.
fn fill_maildrop(o: &Office, address: &str, count: usize, size: usize) {
    let new = o.data().join("mail").join(address).join("new");
    std::fs::create_dir_all(&new).unwrap();
    std::fs::create_dir_all(new.with_file_name("cur")).unwrap();
    std::fs::create_dir_all(new.with_file_name("tmp")).unwrap();
    let mut body = b"Subject: filler\r\n\r\n".to_vec();
    while body.len() + 80 <= size {
        body.extend_from_slice(&[b'x'; 78]);
        body.extend_from_slice(b"\r\n");
    }
    for i in 0..count {
        let name = format!("{:010}.M0P1Q{i}.test,S={}", 1_700_000_000 + i, body.len());
        std::fs::write(new.join(name), &body).unwrap();
    }
}

/// A cleartext POP3 session logged in as `user` (the office allows plaintext logins).
fn pop3_login(o: &Office, user: &str) -> Raw {
    let mut c = Raw::connect(o.ip, o.ports.pop3);
    assert!(c.line().starts_with("+OK"));
    c.send(format!("USER {user}\r\n").as_bytes());
    assert!(c.line().starts_with("+OK"));
    c.send(format!("PASS {PASSWORD}\r\n").as_bytes());
    let reply = c.line();
    assert!(reply.starts_with("+OK"), "PASS: {reply}");
    c
}

/// The largest resident size of `pid` over `window`, sampled every 50 ms (a measurement
/// window, not a synchronisation: the attack is already under way).
fn peak_rss_kib(pid: u32, window: Duration) -> u64 {
    let end = Instant::now() + window;
    let mut peak = rss_kib(pid);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
        peak = peak.max(rss_kib(pid));
    }
    peak
}

/// Reads a POP3 multi-line answer to its terminating `.` line; returns its lines.
fn read_multiline(stream: &mut TcpStream, pending: &mut Vec<u8>) -> Vec<Vec<u8>> {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut lines = Vec::new();
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        while let Some(i) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=i).collect();
            if line == b".\r\n" {
                return lines;
            }
            lines.push(line);
        }
        let n = stream.read(&mut chunk).expect("the rest of the answer");
        assert!(n > 0, "the server closed in the middle of an answer");
        pending.extend_from_slice(&chunk[..n]);
    }
}

/// SECURITY.md 41: "Every machine bounds its pending output: while more than a high-water
/// mark waits to be written, it takes no further buffered command. Pipelined
/// LIST/UIDL/RETR/TOP/NOOP floods never grow memory with the number of commands or the
/// size of the maildrop."
///
/// The attack of issue 10: pipelined `RETR` of a 2 MiB message without reading the
/// answers grew the server by 737 MiB. Here 64 of them must grow it by less than 16 MiB,
/// and every answer must still arrive, whole, once the client reads.
#[test]
fn security_41_pop3_retr_flood_without_reading_stays_under_16_mib() {
    let o = office("auth = true\n", "allow_plaintext_auth = true", "");
    fill_maildrop(&o, "alice@alpha.test", 1, 2 * 1024 * 1024);
    let pid = o.pid().unwrap();
    let mut c = pop3_login(&o, "alice@alpha.test");
    c.send(b"STAT\r\n");
    let stat = c.line();
    assert!(stat.starts_with("+OK 1 "), "{stat}");
    let base = rss_kib(pid);

    const FLOOD: usize = 64;
    c.send("RETR 1\r\n".repeat(FLOOD).as_bytes());
    let peak = peak_rss_kib(pid, Duration::from_secs(3));
    let grown_mib = peak.saturating_sub(base) / 1024;
    assert!(
        grown_mib < 16,
        "{FLOOD} pipelined RETR of 2 MiB grew the server by {grown_mib} MiB"
    );

    // Nothing is lost: every answer arrives whole.
    let mut pending = Vec::new();
    for i in 0..FLOOD {
        let lines = read_multiline(&mut c.stream, &mut pending);
        let status = String::from_utf8_lossy(lines.first().map_or(&[][..], |l| l));
        assert!(status.starts_with("+OK"), "answer {i}: {status}");
        let octets: usize = lines.iter().skip(1).map(Vec::len).sum();
        assert!(
            octets >= 2 * 1024 * 1024 - 100,
            "answer {i} has {octets} octets"
        );
    }
    c.stream.write_all(b"QUIT\r\n").unwrap();
    pending.clear();
    let mut rest = String::new();
    c.stream.read_to_string(&mut rest).unwrap();
    assert!(rest.starts_with("+OK"), "{rest}");
}

/// SECURITY.md 41, the second attack of issue 10: 64 KiB of pipelined `LIST` over a
/// 3,000-message maildrop grew the server by 92 MiB.
#[test]
fn security_41_pop3_list_flood_over_3000_messages_stays_under_16_mib() {
    let o = office("auth = true\n", "allow_plaintext_auth = true", "");
    fill_maildrop(&o, "alice@alpha.test", 3000, 300);
    let pid = o.pid().unwrap();
    let mut c = pop3_login(&o, "alice@alpha.test");
    c.send(b"STAT\r\n");
    let stat = c.line();
    assert!(stat.starts_with("+OK 3000 "), "{stat}");
    let base = rss_kib(pid);

    let flood = "LIST\r\nUIDL\r\n".repeat(64 * 1024 / 12);
    let mut writer = c.stream.try_clone().unwrap();
    writer
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The server stops reading once its output is full, so this write may block: do it
    // from a thread, and let it end with the connection.
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(flood.as_bytes());
    });
    let peak = peak_rss_kib(pid, Duration::from_secs(3));
    let grown_mib = peak.saturating_sub(base) / 1024;
    assert!(
        grown_mib < 16,
        "64 KiB of pipelined LIST/UIDL over 3,000 messages grew the server by {grown_mib} MiB"
    );

    // The answers are whole listings, in order.
    let mut pending = Vec::new();
    for i in 0..4 {
        let lines = read_multiline(&mut c.stream, &mut pending);
        assert_eq!(lines.len(), 3001, "answer {i}");
        assert!(lines[0].starts_with(b"+OK"));
        assert!(lines[3000].starts_with(b"3000 "), "answer {i}");
    }
    drop(c);
    sender.join().unwrap();
}

/// AUTH PLAIN's initial response for `user` and `password`.
fn plain(user: &str, password: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"))
}

/// SECURITY.md 42: "Password verification has a budget: a bounded number of hash
/// computations at once; the failed logins of one client address (one /64 for IPv6) are
/// delayed increasingly, up to a cap, without slowing other clients' logins."
///
/// The attack of issue 10: 160 parallel failing `AUTH PLAIN` from 8 client addresses grew
/// the server by 2.9 GiB. Here it must stay under 128 MiB, and a good login from another
/// address must be answered within 5 s while the flood goes on.
#[test]
fn security_42_a_failed_login_flood_is_budgeted_and_does_not_slow_others() {
    let o = office("auth = true\n", "allow_plaintext_auth = true", "");
    let pid = o.pid().unwrap();
    let port = o.ports.submission;
    // Warm up with one good login, so that the baseline includes a verification.
    let mut warm = Raw::ehlo(o.ip, port);
    let reply = warm.cmd(&format!("AUTH PLAIN {}", plain("bob@alpha.test", PASSWORD)));
    assert!(reply.starts_with("235"), "{reply}");
    drop(warm);
    let base = rss_kib(pid);

    let (sent_tx, sent) = mpsc::channel::<()>();
    let (done_tx, done) = mpsc::channel::<String>();
    let mut attackers = Vec::new();
    for i in 0..160 {
        let src = format!("127.0.0.{}", 10 + i % 8);
        let ip = o.ip;
        let sent_tx = sent_tx.clone();
        let done_tx = done_tx.clone();
        attackers.push(std::thread::spawn(move || {
            let mut c = Raw::from_stream(connect_from(&src, ip, port));
            let greeting = c.reply();
            assert!(greeting.starts_with("220"), "{greeting}");
            assert!(c.cmd("EHLO attacker.example").starts_with("250"));
            c.send(format!("AUTH PLAIN {}\r\n", plain("alice@alpha.test", "wrong")).as_bytes());
            sent_tx.send(()).unwrap();
            // The answer comes late (penalties) or not at all before the office stops.
            let reply = c.reply_within(LONG).unwrap_or_default();
            let _ = done_tx.send(reply);
        }));
    }
    drop(sent_tx);
    drop(done_tx);
    for _ in 0..160 {
        sent.recv_timeout(LONG)
            .expect("every attacker got to send AUTH");
    }

    let started = Instant::now();
    let mut good = Raw::from_stream(connect_from("127.0.0.50", o.ip, port));
    assert!(good.reply().starts_with("220"));
    assert!(good.cmd("EHLO good.example").starts_with("250"));
    let reply = good.cmd(&format!("AUTH PLAIN {}", plain("bob@alpha.test", PASSWORD)));
    let waited = started.elapsed();
    assert!(reply.starts_with("235"), "the good login got {reply}");
    assert!(
        waited < Duration::from_secs(5),
        "the good login waited {waited:?} behind the flood"
    );

    let peak = peak_rss_kib(pid, Duration::from_secs(2));
    let grown_mib = peak.saturating_sub(base) / 1024;
    assert!(
        grown_mib < 128,
        "160 failing logins grew the server by {grown_mib} MiB"
    );
    // The answers that came were refusals (535) or "try later" (454), never a success.
    let mut o = o;
    o.kill();
    for a in attackers {
        a.join().unwrap();
    }
    for reply in done.iter() {
        assert!(
            reply.is_empty() || reply.starts_with("535") || reply.starts_with("454"),
            "{reply}"
        );
    }
}

/// SECURITY.md 42, the penalty: the failures of one address delay its next attempt
/// increasingly (2 s after the first failure by default), and another address is not
/// delayed.
#[test]
fn security_42_failed_logins_of_one_address_are_delayed_increasingly() {
    let o = office("auth = true\n", "allow_plaintext_auth = true", "");
    let port = o.ports.submission;
    let mut bad = Raw::from_stream(connect_from("127.0.0.30", o.ip, port));
    assert!(bad.reply().starts_with("220"));
    assert!(bad.cmd("EHLO bad.example").starts_with("250"));
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let reply = bad.cmd(&format!(
            "AUTH PLAIN {}",
            plain("alice@alpha.test", "wrong")
        ));
        times.push(t.elapsed());
        assert!(reply.starts_with("535"), "{reply}");
    }
    assert!(
        times[1] >= Duration::from_millis(1900),
        "the second attempt came after {:?}",
        times[1]
    );
    assert!(
        times[2] >= Duration::from_millis(3900),
        "the third attempt came after {:?}",
        times[2]
    );
    let t = Instant::now();
    let mut other = Raw::from_stream(connect_from("127.0.0.31", o.ip, port));
    assert!(other.reply().starts_with("220"));
    assert!(other.cmd("EHLO other.example").starts_with("250"));
    let reply = other.cmd(&format!(
        "AUTH PLAIN {}",
        plain("alice@alpha.test", PASSWORD)
    ));
    assert!(reply.starts_with("235"), "{reply}");
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
}

/// SECURITY.md 43: "AUTH is not offered on the MX port unless the operator turns it on."
#[test]
fn security_43_auth_is_off_on_the_mx_port_by_default() {
    let o = office("pregreet_delay_ms = 0\n", "allow_plaintext_auth = true", "");
    let mut mx = Raw::smtp(o.ip, o.ports.smtp);
    let ehlo = mx.cmd("EHLO client.example");
    assert!(ehlo.starts_with("250"), "{ehlo}");
    assert!(
        !ehlo.contains("AUTH"),
        "AUTH offered on the MX port: {ehlo}"
    );
    let reply = mx.cmd(&format!(
        "AUTH PLAIN {}",
        plain("alice@alpha.test", PASSWORD)
    ));
    assert!(reply.starts_with('5'), "AUTH on the MX port got {reply}");
    // Submission offers it (plaintext is allowed in this configuration).
    let mut sub = Raw::smtp(o.ip, o.ports.submission);
    let ehlo = sub.cmd("EHLO client.example");
    assert!(ehlo.contains("AUTH"), "{ehlo}");
    // And the operator can turn it on.
    let on = office(
        "auth = true\npregreet_delay_ms = 0\n",
        "allow_plaintext_auth = true",
        "",
    );
    let mut mx = Raw::smtp(on.ip, on.ports.smtp);
    assert!(mx.cmd("EHLO client.example").contains("AUTH"));
}

/// Sends `message` to alice on the MX port; returns the reply to the end of data.
fn send_mx(o: &Office, message: &str) -> String {
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    assert!(c.cmd("MAIL FROM:<x@example.org>").starts_with("250"));
    assert!(c.cmd("RCPT TO:<alice@alpha.test>").starts_with("250"));
    assert!(c.cmd("DATA").starts_with("354"));
    c.send(message.as_bytes());
    c.cmd(".")
}

/// SECURITY.md 46: "Limits fail closed: a message whose header exceeds the field limit is
/// refused, and `Received:` fields are counted even when the rest of the header cannot be
/// parsed."
///
/// The message of issue 10: 60 `Received:` among 1,100 header fields was accepted.
#[test]
fn security_46_the_header_field_limit_and_the_hop_count_fail_closed() {
    let o = office("pregreet_delay_ms = 0\n", "", "");
    let mut looping = String::new();
    for i in 0..60 {
        looping.push_str(&format!(
            "Received: from h{i}.example by h{}.example; Sat, 28 Nov 2026 20:51:10 +0000\r\n",
            i + 1
        ));
    }
    for i in 0..1040 {
        looping.push_str(&format!("X-Filler-{i}: {i}\r\n"));
    }
    looping.push_str("Subject: loop\r\n\r\nbody\r\n");
    let reply = send_mx(&o, &looping);
    assert!(
        reply.starts_with("55"),
        "60 Received: in 1,100 fields got {reply}"
    );

    // Over the field limit without any Received: refused as well.
    let mut wide = String::new();
    for i in 0..1100 {
        wide.push_str(&format!("X-Filler-{i}: {i}\r\n"));
    }
    wide.push_str("Subject: wide\r\n\r\nbody\r\n");
    let reply = send_mx(&o, &wide);
    assert!(
        reply.starts_with("552") || reply.starts_with("554"),
        "1,101 header fields got {reply}"
    );
    assert!(
        reply.contains("5.3.4") || reply.contains("5.6.0"),
        "{reply}"
    );

    // Within the limits the same shape is accepted, and only it is delivered.
    let mut fine = String::new();
    for i in 0..900 {
        fine.push_str(&format!("X-Filler-{i}: {i}\r\n"));
    }
    fine.push_str("Subject: fine\r\n\r\nbody\r\n");
    let reply = send_mx(&o, &fine);
    assert!(reply.starts_with("250"), "{reply}");
    let mail = o.wait_for_mail("alice@alpha.test", 1, LONG);
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("Subject: fine"));
}

/// SECURITY.md 50: "`postmaster@` every local domain is accepted (RFC 5321 4.5.1)."
/// Delivered to the first user by default, to `postmaster = "..."` when configured; the
/// bare `<Postmaster>` of RFC 5321 4.5.1 too.
#[test]
fn security_50_postmaster_is_accepted_at_every_local_domain() {
    let mut o = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice", "bob"],
        Ports::new(),
        None,
        "",
    );
    let text = std::fs::read_to_string(&o.config).unwrap();
    std::fs::write(
        &o.config,
        text.replace(
            "domains = [\"alpha.test\"]",
            "domains = [\"alpha.test\", \"beta.test\"]",
        ),
    )
    .unwrap();
    o.start_alone();
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    assert!(c.cmd("MAIL FROM:<x@example.org>").starts_with("250"));
    for rcpt in [
        "<postmaster@alpha.test>",
        "<POSTMASTER@beta.test>",
        "<Postmaster>",
    ] {
        let reply = c.cmd(&format!("RCPT TO:{rcpt}"));
        assert!(reply.starts_with("250"), "RCPT TO:{rcpt} got {reply}");
    }
    assert!(c.cmd("DATA").starts_with("354"));
    c.send(b"Subject: to the postmaster\r\n\r\nhello\r\n");
    assert!(c.cmd(".").starts_with("250"));
    let mail = o.wait_for_mail("alice@alpha.test", 1, LONG);
    assert!(mail[0].contains("Subject: to the postmaster"));
    assert!(o.maildir("bob@alpha.test").is_empty());

    // A configured postmaster gets it instead.
    let mut o = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice", "bob"],
        Ports::new(),
        None,
        "",
    );
    let text = std::fs::read_to_string(&o.config).unwrap();
    std::fs::write(
        &o.config,
        format!("postmaster = \"bob@alpha.test\"\n{text}"),
    )
    .unwrap();
    o.start_alone();
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    assert!(c.cmd("MAIL FROM:<x@example.org>").starts_with("250"));
    assert!(c.cmd("RCPT TO:<postmaster@alpha.test>").starts_with("250"));
    assert!(c.cmd("DATA").starts_with("354"));
    c.send(b"Subject: configured\r\n\r\nhello\r\n");
    assert!(c.cmd(".").starts_with("250"));
    let mail = o.wait_for_mail("bob@alpha.test", 1, LONG);
    assert!(mail[0].contains("Subject: configured"));
}

/// How long the SMTP greeting took to arrive from `src`.
fn greeting_time(src: &str, ip: &str, port: u16) -> (Duration, Raw) {
    let t = Instant::now();
    let mut c = Raw::from_stream(connect_from(src, ip, port));
    let greeting = c.reply();
    assert!(greeting.starts_with("220"), "{greeting}");
    (t.elapsed(), c)
}

/// SECURITY.md 51: "Early talkers on the MX port are detected by default (a greeting pause
/// for client addresses not seen recently, with a pass cache), without delaying known
/// clients."
#[test]
fn security_51_early_talkers_are_caught_by_default_and_known_clients_pass() {
    // The `[smtp]` defaults, but for AUTH (irrelevant here).
    let o = office("", "", "");
    // A client that talks before the greeting is refused and closed.
    let mut talker = Raw::from_stream(connect_from("127.0.0.40", o.ip, o.ports.smtp));
    talker.send(b"EHLO spam.example\r\n");
    let (closed, said) = talker.closed_within(LONG);
    assert!(closed, "the early talker was not closed: {said}");
    assert!(said.contains("554"), "the early talker got: {said}");

    // A new address that waits is greeted after the pause ...
    let (first, mut c) = greeting_time("127.0.0.41", o.ip, o.ports.smtp);
    assert!(
        first >= Duration::from_millis(500),
        "no greeting pause for a new client: {first:?}"
    );
    assert!(c.cmd("EHLO good.example").starts_with("250"));
    assert!(c.cmd("QUIT").starts_with("221"));
    // ... and is known afterwards: no pause on the next connection.
    let (again, _c) = greeting_time("127.0.0.41", o.ip, o.ports.smtp);
    assert!(
        again < Duration::from_millis(500),
        "a known client waited {again:?} for the greeting"
    );
    // Submission never pauses.
    let (sub, _s) = greeting_time("127.0.0.42", o.ip, o.ports.submission);
    assert!(
        sub < Duration::from_millis(500),
        "submission paused {sub:?} for a new client"
    );
}

/// SECURITY.md 52: "A closed session frees its connection slot at once: a client that
/// keeps N sessions and reconnects is never refused at a per-address cap of N."
#[test]
fn security_52_reconnecting_sessions_never_hit_their_own_cap() {
    let o = office(
        "auth = true\npregreet_delay_ms = 0\n",
        "",
        "[limits]\nmax_connections_per_ip = 5\n",
    );
    // The start-up readiness probe's own session may still hold a slot for a moment:
    // wait until five sessions at once are greeted before the reconnecting starts.
    wait_for("five free slots", Duration::from_secs(10), || {
        let held: Vec<Raw> = (0..5).map(|_| Raw::connect(o.ip, o.ports.smtp)).collect();
        let ok = held.into_iter().all(|mut c| {
            let greeting = c.reply();
            greeting.starts_with("220") && c.cmd("QUIT").starts_with("221")
        });
        ok.then_some(())
    });
    let mut workers = Vec::new();
    for _ in 0..5 {
        let (ip, port) = (o.ip, o.ports.smtp);
        workers.push(std::thread::spawn(move || {
            for round in 0..30 {
                let mut c = Raw::connect(ip, port);
                let greeting = c.reply();
                assert!(greeting.starts_with("220"), "round {round}: {greeting}");
                assert!(c.cmd("QUIT").starts_with("221"));
            }
        }));
    }
    for w in workers {
        w.join().unwrap();
    }
    // The cap itself still holds: a sixth concurrent session is refused.
    let held: Vec<Raw> = (0..5).map(|_| Raw::smtp(o.ip, o.ports.smtp)).collect();
    let mut sixth = Raw::connect(o.ip, o.ports.smtp);
    let reply = sixth.reply();
    assert!(reply.starts_with("421"), "{reply}");
    drop(held);
}

/// SECURITY.md 52 with Postfix's load generator, the run of issue 10: `smtp-source -s 20`
/// (20 sessions, a new connection per message) at a per-address cap of 20 gets no 421,
/// and every message arrives.
#[test]
fn security_52_smtp_source_with_20_sessions_gets_no_421() {
    let tool = ["/usr/sbin/smtp-source", "/usr/bin/smtp-source"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("smtp-source is missing: install the Debian package `postfix`");
    let o = office(
        "auth = true\npregreet_delay_ms = 0\n",
        "",
        "[limits]\nmax_connections_per_ip = 20\n",
    );
    let out = Command::new(tool)
        .args([
            "-s",
            "20",
            "-m",
            "200",
            "-f",
            "load@example.org",
            "-t",
            "alice@alpha.test",
            &format!("{}:{}", o.ip, o.ports.smtp),
        ])
        .output()
        .expect("run smtp-source");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "smtp-source failed: {stderr}");
    assert!(!stderr.contains("421"), "smtp-source saw a 421: {stderr}");
    let mail = o.wait_for_mail("alice@alpha.test", 200, LONG);
    assert_eq!(mail.len(), 200);
}
