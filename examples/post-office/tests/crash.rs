//! Crash safety (SECURITY.md 29): messages are sent in a loop while the post office is
//! killed with SIGKILL at random moments (seeded) and restarted on the same data
//! directory. Every message acknowledged with 250 must be delivered — exactly once for
//! local delivery, at least once through an outbound relay — and nothing half-written is
//! ever delivered.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::raw::Raw;
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const LONG: Duration = Duration::from_secs(90);
const KILLS: usize = 22;

/// What the sender saw.
#[derive(Default)]
struct Tally {
    acked: BTreeSet<u64>,
    attempted: u64,
}

/// A message numbered `n` whose body ends with a known trailer line.
fn crash_message(n: u64, to: &str) -> Vec<u8> {
    let mut m = format!(
        "From: alice@alpha.test\r\nTo: {to}\r\nSubject: crash {n}\r\nMessage-ID: <{n}@crash.test>\r\n\r\n"
    )
    .into_bytes();
    for i in 0..40 {
        m.extend_from_slice(format!("line {i} of message {n}: {}\r\n", "x".repeat(60)).as_bytes());
    }
    m.extend_from_slice(format!("TRAILER {n}\r\n.\r\n").as_bytes());
    m
}

/// Runs one SMTP session for as many messages as it survives; returns when the
/// connection breaks or `stop` is set.
fn send_loop(
    ip: &'static str,
    port: u16,
    login: Option<String>,
    to: &'static str,
    next: &mut u64,
    tally: &Mutex<Tally>,
    stop: &AtomicBool,
) {
    let Ok(stream) = std::net::TcpStream::connect((ip, port)) else {
        return;
    };
    let mut c = Raw::from_stream(stream);
    let ok = |r: Option<String>, code: &str| r.is_some_and(|r| r.starts_with(code));
    let short = Duration::from_secs(20);
    if !ok(c.reply_within(short), "220") {
        return;
    }
    if !c.try_send(b"EHLO crash.example\r\n") || !ok(c.reply_within(short), "250") {
        return;
    }
    if let Some(plain) = &login
        && (!c.try_send(format!("AUTH PLAIN {plain}\r\n").as_bytes())
            || !ok(c.reply_within(short), "235"))
    {
        return;
    }
    while !stop.load(Ordering::Relaxed) {
        let n = *next;
        *next += 1;
        tally.lock().unwrap().attempted += 1;
        let steps: [(Vec<u8>, &str); 3] = [
            (b"MAIL FROM:<alice@alpha.test>\r\n".to_vec(), "250"),
            (format!("RCPT TO:<{to}>\r\n").into_bytes(), "250"),
            (b"DATA\r\n".to_vec(), "354"),
        ];
        for (line, code) in steps {
            if !c.try_send(&line) || !ok(c.reply_within(short), code) {
                return;
            }
        }
        if !c.try_send(&crash_message(n, to)) {
            return;
        }
        match c.reply_within(short) {
            Some(r) if r.starts_with("250") => {
                tally.lock().unwrap().acked.insert(n);
            }
            _ => return,
        }
    }
}

/// Starts the sender thread.
fn sender(
    ip: &'static str,
    port: u16,
    login: Option<String>,
    to: &'static str,
    tally: Arc<Mutex<Tally>>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut next = 1;
        while !stop.load(Ordering::Relaxed) {
            send_loop(ip, port, login.clone(), to, &mut next, &tally, &stop);
            // The server is restarting: poll until it accepts again.
            let deadline = Instant::now() + LONG;
            while !stop.load(Ordering::Relaxed)
                && Instant::now() < deadline
                && std::net::TcpStream::connect((ip, port)).is_err()
            {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    })
}

/// Kills and restarts `office` `KILLS` times at random moments while the sender runs.
fn kill_repeatedly(office: &mut Office, rng: &mut StdRng, tally: &Mutex<Tally>) {
    for _ in 0..KILLS {
        let before = tally.lock().unwrap().acked.len();
        // Let at least one message through between kills, then kill a little later.
        wait_for("a message acknowledged", LONG, || {
            (tally.lock().unwrap().acked.len() > before).then_some(())
        });
        std::thread::sleep(Duration::from_millis(rng.random_range(0..300)));
        office.kill();
        office.start();
    }
}

/// Per message number: how many complete copies, and whether any copy was torn.
fn delivered(files: &[String]) -> (BTreeMap<u64, usize>, usize) {
    let mut copies = BTreeMap::new();
    let mut torn = 0;
    for text in files {
        let n = text
            .split("Message-ID: <")
            .nth(1)
            .and_then(|rest| rest.split('@').next())
            .and_then(|n| n.parse::<u64>().ok());
        let Some(n) = n else {
            torn += 1;
            continue;
        };
        if !text.ends_with(&format!("TRAILER {n}\r\n"))
            && !text.ends_with(&format!("TRAILER {n}\n"))
        {
            torn += 1;
            continue;
        }
        *copies.entry(n).or_insert(0) += 1;
    }
    (copies, torn)
}

fn read_all(office: &Office, address: &str) -> Vec<String> {
    office
        .maildir(address)
        .iter()
        .map(|f| String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned())
        .collect()
}

#[test]
fn crash_kill_9_during_local_delivery_loses_and_duplicates_nothing() {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(0x5eed_0029);
    let mut o = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice"],
        Ports::new(),
        None,
        "[queue]\nretry_schedule_secs = [1]\n",
    );
    o.start_alone();
    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let thread = sender(
        "127.0.0.2",
        o.ports.smtp,
        None,
        "alice@alpha.test",
        tally.clone(),
        stop.clone(),
    );
    kill_repeatedly(&mut o, &mut rng, &tally);
    stop.store(true, Ordering::Relaxed);
    thread.join().unwrap();
    wait_for("the queue to drain", LONG, || {
        (o.queued() == 0).then_some(())
    });
    let tally = tally.lock().unwrap();
    let files = read_all(&o, "alice@alpha.test");
    let (copies, torn) = delivered(&files);
    let lost: Vec<u64> = tally
        .acked
        .iter()
        .copied()
        .filter(|n| !copies.contains_key(n))
        .collect();
    let duplicates: usize = copies.values().map(|c| c - 1).sum();
    let unacked_delivered = copies.keys().filter(|n| !tally.acked.contains(n)).count();
    println!(
        "local crash test: {KILLS} kills, {} attempted, {} acknowledged, {} files delivered, \
         {} lost, {duplicates} duplicates, {torn} torn, {unacked_delivered} delivered without \
         a 250 (killed before the reply), {:?}",
        tally.attempted,
        tally.acked.len(),
        files.len(),
        lost.len(),
        started.elapsed()
    );
    assert!(tally.acked.len() >= KILLS, "enough traffic");
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert_eq!(torn, 0, "half-written messages delivered");
    assert_eq!(
        duplicates, 0,
        "local delivery duplicated messages: {copies:?}"
    );
}

#[test]
fn crash_kill_9_during_outbound_relay_loses_nothing() {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(0x5eed_0030);
    let dns = Dns::start(&[
        ("alpha.test", "mx.alpha.test", "127.0.0.2"),
        ("beta.test", "mx.beta.test", "127.0.0.3"),
    ]);
    let ports = Ports::new();
    let mut a = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice"],
        ports,
        Some(&dns),
        "[queue]\nretry_schedule_secs = [1]\n",
    );
    // The sender logs in on the MX port in cleartext (a root-level key, put first).
    let text = std::fs::read_to_string(&a.config).unwrap();
    std::fs::write(&a.config, format!("allow_plaintext_auth = true\n{text}")).unwrap();
    let mut b = Office::new("127.0.0.3", "beta.test", &["bob"], ports, Some(&dns), "");
    b.start();
    a.start();
    let plain = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("\0alice@alpha.test\0{PASSWORD}"))
    };
    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let thread = sender(
        "127.0.0.2",
        ports.smtp,
        Some(plain),
        "bob@beta.test",
        tally.clone(),
        stop.clone(),
    );
    kill_repeatedly(&mut a, &mut rng, &tally);
    stop.store(true, Ordering::Relaxed);
    thread.join().unwrap();
    wait_for("A's queue to drain", LONG, || {
        (a.queued() == 0).then_some(())
    });
    wait_for("B's queue to drain", LONG, || {
        (b.queued() == 0).then_some(())
    });
    let tally = tally.lock().unwrap();
    let files = read_all(&b, "bob@beta.test");
    let (copies, torn) = delivered(&files);
    let lost: Vec<u64> = tally
        .acked
        .iter()
        .copied()
        .filter(|n| !copies.contains_key(n))
        .collect();
    let duplicates: usize = copies.values().map(|c| c - 1).sum();
    println!(
        "relay crash test: {KILLS} kills of A, {} attempted, {} acknowledged by A, {} files at \
         B, {} lost, {duplicates} duplicates (allowed: at least once), {torn} torn, {:?}",
        tally.attempted,
        tally.acked.len(),
        files.len(),
        lost.len(),
        started.elapsed()
    );
    assert!(tally.acked.len() >= KILLS, "enough traffic");
    assert!(
        lost.is_empty(),
        "acknowledged by A but never reached B: {lost:?}"
    );
    assert_eq!(torn, 0, "half-written messages delivered");
}
