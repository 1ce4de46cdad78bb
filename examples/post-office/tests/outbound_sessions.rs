//! Outbound delivery at scale (issue 15): sessions cached between messages, destinations
//! with their own concurrency window and backoff. Remote servers are a second post office
//! (which counts its connections in its metrics) or small fake MX hosts on other loopback
//! addresses, found through dnsmasq as in `story.rs`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

const LONG: Duration = Duration::from_secs(120);

// ---- a fake MX ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// Accepts every message, any number per session.
    Accept,
    /// Accepts the connection and never says a word (no greeting).
    Silent,
    /// Greets with 421 and closes.
    Busy,
    /// Accepts one message per session; a second MAIL gets 421 and the connection closes
    /// (as a server that timed the idle session out would answer).
    OnePerSession,
}

#[derive(Default)]
struct MxState {
    connections: AtomicUsize,
    quits: AtomicUsize,
    /// The most messages one session carried.
    most_per_session: AtomicUsize,
    messages: Mutex<Vec<String>>,
    held: Mutex<Vec<TcpStream>>,
    stop: AtomicBool,
}

struct FakeMx {
    addr: SocketAddr,
    state: Arc<MxState>,
}

impl FakeMx {
    fn start(ip: &str, port: u16, mode: Mode) -> FakeMx {
        let addr: SocketAddr = format!("{ip}:{port}").parse().unwrap();
        let listener = TcpListener::bind(addr).expect("bind the fake MX");
        let state = Arc::new(MxState::default());
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if shared.stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                shared.connections.fetch_add(1, Ordering::SeqCst);
                let state = shared.clone();
                std::thread::spawn(move || session(stream, mode, &state));
            }
        });
        FakeMx { addr, state }
    }

    fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    fn quits(&self) -> usize {
        self.state.quits.load(Ordering::SeqCst)
    }

    fn messages(&self) -> Vec<String> {
        self.state.messages.lock().unwrap().clone()
    }
}

impl Drop for FakeMx {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Relaxed);
        self.state.held.lock().unwrap().clear();
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn session(stream: TcpStream, mode: Mode, state: &MxState) {
    match mode {
        Mode::Silent => {
            state.held.lock().unwrap().push(stream);
            return;
        }
        Mode::Busy => {
            let mut w = stream;
            let _ = w.write_all(b"421 4.3.2 busy, try later\r\n");
            // Wait for the client to close (it reads the 421 and goes).
            let _ = w.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = w.read(&mut [0u8; 64]);
            return;
        }
        _ => {}
    }
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    if w.write_all(b"220 fake.test ESMTP\r\n").is_err() {
        return;
    }
    let mut carried = 0usize;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let cmd = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if cmd.starts_with("EHLO") {
            b"250-fake.test\r\n250 8BITMIME\r\n"
        } else if cmd.starts_with("MAIL") {
            if mode == Mode::OnePerSession && carried > 0 {
                let _ = w.write_all(b"421 4.4.2 idle too long, closing\r\n");
                return;
            }
            b"250 2.1.0 ok\r\n"
        } else if cmd.starts_with("RCPT") || cmd == "RSET" || cmd == "NOOP" {
            b"250 2.0.0 ok\r\n"
        } else if cmd == "DATA" {
            let _ = w.write_all(b"354 go ahead\r\n");
            let mut message = String::new();
            loop {
                let mut l = String::new();
                if r.read_line(&mut l).unwrap_or(0) == 0 {
                    return;
                }
                if l == ".\r\n" {
                    break;
                }
                message.push_str(&l);
            }
            state.messages.lock().unwrap().push(message);
            carried += 1;
            state.most_per_session.fetch_max(carried, Ordering::SeqCst);
            b"250 2.0.0 queued\r\n"
        } else if cmd == "QUIT" {
            state.quits.fetch_add(1, Ordering::SeqCst);
            let _ = w.write_all(b"221 2.0.0 bye\r\n");
            return;
        } else {
            b"500 5.5.1 unknown\r\n"
        };
        if w.write_all(reply).is_err() {
            return;
        }
    }
}

// ---- helpers ------------------------------------------------------------------------------

/// An office for alpha.test on 127.0.0.2 with `outbound` keys added to its `[outbound]`.
fn office(dns: &Dns, outbound: &str, extra: &str) -> Office {
    office_with_ports(dns, Ports::new(), outbound, extra)
}

fn office_with_ports(dns: &Dns, ports: Ports, outbound: &str, extra: &str) -> Office {
    let o = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice"],
        ports,
        Some(dns),
        extra,
    );
    let text = std::fs::read_to_string(&o.config).unwrap().replacen(
        "connect_timeout_secs = 5\n",
        &format!("connect_timeout_secs = 5\n{outbound}\n"),
        1,
    );
    std::fs::write(&o.config, text).unwrap();
    o
}

/// smtplib: one submission session that sends `count` messages, each to the recipients
/// given (comma-separated), subjects `PREFIX-0`, `PREFIX-1`, ...
const SUBMIT_MANY: &str = r#"
import smtplib, ssl, sys
host, port, user, password, rcpts, count, prefix = sys.argv[1:8]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP(host, int(port), timeout=60)
s.starttls(context=ctx)
s.login(user, password)
for i in range(int(count)):
    msg = "From: %s\r\nTo: %s\r\nSubject: %s-%d\r\nMessage-ID: <%s-%d@test>\r\n\r\nHello number %d.\r\n" % (user, rcpts, prefix, i, prefix, i, i)
    refused = s.sendmail(user, rcpts.split(","), msg.encode())
    assert not refused, refused
s.quit()
print("sent", count)
"#;

fn submit_many(o: &Office, rcpts: &[&str], count: usize, prefix: &str) {
    let out = python(
        SUBMIT_MANY,
        &[
            o.ip,
            &o.ports.submission.to_string(),
            "alice@alpha.test",
            PASSWORD,
            &rcpts.join(","),
            &count.to_string(),
            prefix,
        ],
    );
    assert!(
        out.status.success(),
        "smtplib failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn scrape(addr: &str) -> String {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).unwrap();
    response
}

fn sample(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Writes a queue file in the post office's format, as if it had been accepted earlier
/// (as `security_outbound.rs` does).
fn queue_message(o: &Office, id: &str, rcpt: &str, subject: &str) {
    let dir = o.data().join("queue");
    std::fs::create_dir_all(&dir).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let content = format!("From: alice@alpha.test\r\nSubject: {subject}\r\n\r\nhello\r\n");
    let mut bytes = format!(
        "postwerk-queue 1\nreceived-at {now}\nfrom <alice@alpha.test>\nrcpt <{rcpt}>\ndata\n"
    )
    .into_bytes();
    bytes.extend_from_slice(content.as_bytes());
    let trailer = format!("\nend {:020} {:016x}\n", content.len(), fnv(&bytes));
    bytes.extend_from_slice(trailer.as_bytes());
    std::fs::write(dir.join(format!("{id}.msg")), bytes).unwrap();
}

fn count_lines(log: &str, all: &[&str]) -> usize {
    log.lines()
        .filter(|l| all.iter().all(|w| l.contains(w)))
        .count()
}

// ---- the session cache --------------------------------------------------------------------

/// Issue 15: "100 messages to one remote domain go over a handful of cached sessions
/// (count them at the receiving server), not 100 connections." The receiving server is a
/// second post office; its metrics count the connections to its MX port.
#[test]
fn a_hundred_messages_to_one_domain_go_over_a_few_cached_sessions() {
    const COUNT: usize = 100;
    let dns = Dns::start(&[("beta.test", "mx.beta.test", "127.0.0.3")]);
    let ports = Ports::new();
    let mut a = office_with_ports(&dns, ports, "", "");
    let metrics = format!("127.0.0.3:{}", free_port());
    let mut b = Office::new(
        "127.0.0.3",
        "beta.test",
        &["bob"],
        ports,
        Some(&dns),
        &format!("[metrics]\nlisten = [\"{metrics}\"]\n"),
    );
    b.start();
    a.start();
    let started = Instant::now();
    submit_many(&a, &["bob@beta.test"], COUNT, "bulk");
    let submitted = started.elapsed();
    b.wait_for_mail("bob@beta.test", COUNT, LONG);
    let delivered = started.elapsed();
    let text = scrape(&metrics);
    let connections = sample(&text, "postoffice_connections_total{role=\"smtp\"}").unwrap();
    eprintln!(
        "{COUNT} messages: submitted in {submitted:?}, delivered in {delivered:?}, \
         over {connections} connection(s) to the receiving MX"
    );
    assert!(
        connections <= 10,
        "{connections} connections for {COUNT} messages"
    );
    // Each message arrived once, and B's queue and A's are empty.
    let mut subjects: Vec<String> = b
        .wait_for_mail("bob@beta.test", COUNT, LONG)
        .iter()
        .filter_map(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("Subject: "))
                .map(str::to_owned)
        })
        .collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), COUNT);
    wait_for("A's queue to drain", LONG, || {
        (a.queued() == 0).then_some(())
    });
}

/// 100 messages already queued at start all become due at once: the destination's window
/// grows from 5 with each delivery, up to its limit, and no further; each delivery slot
/// reuses a parked session.
#[test]
fn a_burst_of_queued_messages_stays_within_the_destination_limit() {
    const COUNT: usize = 100;
    let dns = Dns::start(&[("fake.test", "mx.fake.test", "127.0.0.11")]);
    let o = office(&dns, "", "");
    let mx = FakeMx::start("127.0.0.11", o.ports.smtp, Mode::Accept);
    for i in 0..COUNT {
        queue_message(
            &o,
            &format!("00000000000015{i:02}"),
            "x@fake.test",
            &format!("burst-{i}"),
        );
    }
    let mut o = o;
    let started = Instant::now();
    o.start();
    wait_for("100 messages", LONG, || {
        (mx.messages().len() == COUNT).then_some(())
    });
    eprintln!(
        "{COUNT} queued messages: delivered in {:?} over {} connection(s)",
        started.elapsed(),
        mx.connections()
    );
    assert!(
        mx.connections() <= 20,
        "{} connections for {COUNT} messages",
        mx.connections()
    );
    wait_for("the queue to drain", LONG, || {
        (o.queued() == 0).then_some(())
    });
}

/// Parked sessions end with QUIT when their idle time is over, and a session carries at
/// most `session_max_messages` messages. One delivery at a time, so the count is exact.
#[test]
fn sessions_carry_at_most_their_message_limit_and_end_with_quit_when_idle() {
    let dns = Dns::start(&[("fake.test", "mx.fake.test", "127.0.0.5")]);
    let mut o = office(
        &dns,
        "destination_concurrency = 1\nsession_max_messages = 2\nsession_idle_secs = 1",
        "",
    );
    let mx = FakeMx::start("127.0.0.5", o.ports.smtp, Mode::Accept);
    o.start();
    submit_many(&o, &["x@fake.test"], 5, "limited");
    wait_for("5 messages", LONG, || {
        (mx.messages().len() == 5).then_some(())
    });
    assert!(
        mx.state.most_per_session.load(Ordering::SeqCst) <= 2,
        "a session carried more than 2 messages"
    );
    assert!(mx.connections() >= 3, "{} connections", mx.connections());
    assert!(mx.connections() < 5, "no session was reused");
    // Every session ends with QUIT: at the limit, or when its idle second is over.
    wait_for("every session to say QUIT", Duration::from_secs(30), || {
        (mx.quits() == mx.connections()).then_some(())
    });
}

/// At shutdown, parked sessions end with QUIT (their idle time here is far away).
#[test]
fn parked_sessions_say_quit_at_shutdown() {
    let dns = Dns::start(&[("fake.test", "mx.fake.test", "127.0.0.12")]);
    let mut o = office(&dns, "session_idle_secs = 600", "");
    let mx = FakeMx::start("127.0.0.12", o.ports.smtp, Mode::Accept);
    o.start();
    submit_many(&o, &["x@fake.test"], 2, "parked");
    wait_for("2 messages", LONG, || {
        (mx.messages().len() == 2).then_some(())
    });
    wait_for("the queue to drain", LONG, || {
        (o.queued() == 0).then_some(())
    });
    assert_eq!(mx.quits(), 0, "a session ended before its idle time");
    assert!(o.stop().success());
    wait_for("QUIT on every session", Duration::from_secs(10), || {
        (mx.quits() == mx.connections()).then_some(())
    });
    assert!(mx.connections() >= 1);
}

/// A parked session the server has ended (its next MAIL gets 421) is replaced by a new
/// one at once: no attempt fails, nothing is deferred.
#[test]
fn a_cached_session_the_server_ended_is_replaced_without_a_failed_attempt() {
    let dns = Dns::start(&[("fake.test", "mx.fake.test", "127.0.0.6")]);
    let mut o = office(
        &dns,
        "destination_concurrency = 1\nsession_idle_secs = 60",
        "",
    );
    let mx = FakeMx::start("127.0.0.6", o.ports.smtp, Mode::OnePerSession);
    o.start();
    submit_many(&o, &["x@fake.test"], 3, "renewed");
    wait_for("3 messages", LONG, || {
        (mx.messages().len() == 3).then_some(())
    });
    wait_for("the queue to drain", LONG, || {
        (o.queued() == 0).then_some(())
    });
    let log = o.log();
    assert!(!log.contains("deferred"), "{log}");
    assert!(log.contains("a cached session had ended"), "{log}");
    assert_eq!(mx.connections(), 3);
}

// ---- destinations -------------------------------------------------------------------------

/// Issue 15: "a destination that stalls or fails does not slow the others." One MX
/// accepts connections and never greets; the other works. Messages for both, each
/// message to both: the working destination has them all long before the stalled
/// greeting could time out, while the stalled recipients are still pending.
#[test]
fn a_stalled_destination_does_not_slow_a_working_one() {
    const COUNT: usize = 10;
    let dns = Dns::start(&[
        ("stall.test", "mx.stall.test", "127.0.0.7"),
        ("good.test", "mx.good.test", "127.0.0.8"),
    ]);
    let mut o = office(&dns, "greeting_timeout_secs = 120", "");
    let stalled = FakeMx::start("127.0.0.7", o.ports.smtp, Mode::Silent);
    let good = FakeMx::start("127.0.0.8", o.ports.smtp, Mode::Accept);
    o.start();
    let started = Instant::now();
    submit_many(&o, &["x@stall.test", "y@good.test"], COUNT, "mixed");
    wait_for("the working destination", Duration::from_secs(30), || {
        (good.messages().len() == COUNT).then_some(())
    });
    let took = started.elapsed();
    eprintln!("{COUNT} messages at the working destination after {took:?}");
    assert!(took < Duration::from_secs(30));
    // The stalled destination holds only its own window of connections, and its
    // recipients are still pending: every message is still queued.
    assert!(stalled.connections() >= 1);
    assert!(
        stalled.connections() <= 5,
        "{} connections to the stalled MX",
        stalled.connections()
    );
    assert_eq!(o.queued(), COUNT);
    assert!(stalled.messages().is_empty());
}

/// Issue 15: "a destination that fails backs off as a whole (no retry storm)." Its MX
/// greets with 421: after a few connection-level failures the destination is down, and
/// the rest of 30 queued messages are deferred without a connection.
#[test]
fn a_failing_destination_is_backed_off_as_a_whole() {
    const COUNT: usize = 30;
    let dns = Dns::start(&[("busy.test", "mx.busy.test", "127.0.0.9")]);
    let mut o = office(&dns, "destination_backoff_secs = 600", "");
    let busy = FakeMx::start("127.0.0.9", o.ports.smtp, Mode::Busy);
    o.start();
    submit_many(&o, &["x@busy.test"], COUNT, "busy");
    wait_for("every message deferred", LONG, || {
        (count_lines(&o.log(), &["deferred", "next_attempt_in"]) >= COUNT).then_some(())
    });
    let log = o.log();
    eprintln!(
        "{COUNT} messages to a failing destination: {} connection(s)",
        busy.connections()
    );
    assert!(
        busy.connections() <= 5,
        "{} connections for {COUNT} messages:\n{log}",
        busy.connections()
    );
    assert!(log.contains("destination down"), "{log}");
    assert!(
        count_lines(&log, &["deferred without connecting"]) >= COUNT - 5,
        "{log}"
    );
    // The reason is recorded with the message, for `queue list`.
    let listed = std::process::Command::new(BIN)
        .args(["queue", "list", "--config"])
        .arg(&o.config)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("backed off"), "{listed}");
}

/// The same with nothing listening at all (connection refused): the attempts are counted
/// in the log, one line per failed connection.
#[test]
fn a_refusing_destination_gets_few_connection_attempts() {
    const COUNT: usize = 30;
    let dns = Dns::start(&[("refused.test", "mx.refused.test", "127.0.0.10")]);
    let mut o = office(&dns, "destination_backoff_secs = 600", "");
    o.start();
    submit_many(&o, &["x@refused.test"], COUNT, "refused");
    wait_for("every message deferred", LONG, || {
        (count_lines(&o.log(), &["deferred", "next_attempt_in"]) >= COUNT).then_some(())
    });
    let log = o.log();
    let attempts = count_lines(&log, &["delivery attempt failed", "127.0.0.10"]);
    eprintln!("{COUNT} messages to a refusing destination: {attempts} connection attempt(s)");
    assert!(attempts >= 1, "{log}");
    assert!(attempts <= 5, "{attempts} connection attempts:\n{log}");
}
