//! The outbound side of the second wave (SECURITY.md 44, 45, 49, 53, 54): a test per line,
//! named after it, against the real binary. Remote mail servers are small fake MX hosts on
//! other loopback addresses (127.0.0.5 and up), found through dnsmasq like in `story.rs`.
//!
//! A tiny `LD_PRELOAD` library, compiled here with the system C compiler, freezes the
//! wall clock (to step it back across a restart) and logs every `fsync` with its path.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::raw::Raw;
use common::*;

const LONG: Duration = Duration::from_secs(60);

// ---- a fake MX ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// Accepts every message.
    Accept,
    /// Answers DATA with 354, then never reads again (a tarpit).
    Tarpit,
    /// Reads the whole message, then never answers.
    SilentAfterData,
    /// Offers STARTTLS, answers 220, then never takes part in the handshake.
    TlsStall,
    /// Offers STARTTLS, answers 220, then sends garbage instead of a handshake.
    TlsGarbage,
}

#[derive(Default)]
struct MxState {
    connections: AtomicUsize,
    stalled: AtomicUsize,
    messages: Mutex<Vec<String>>,
    stop: AtomicBool,
}

struct FakeMx {
    addr: SocketAddr,
    state: Arc<MxState>,
}

impl FakeMx {
    fn start(ip: &str, port: u16, mode: Mode) -> FakeMx {
        let addr: SocketAddr = format!("{ip}:{port}").parse().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(async {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.set_reuseaddr(true).unwrap();
            if mode == Mode::Tarpit {
                // A small window: the sender's writes block soon after the 354.
                socket.set_recv_buffer_size(4096).unwrap();
            }
            socket.bind(addr).expect("bind the fake MX");
            socket.listen(64).unwrap().into_std().unwrap()
        });
        listener.set_nonblocking(false).unwrap();
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

    fn stalled(&self) -> usize {
        self.state.stalled.load(Ordering::SeqCst)
    }

    fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    fn messages(&self) -> Vec<String> {
        self.state.messages.lock().unwrap().clone()
    }
}

impl Drop for FakeMx {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

/// Keeps a connection open without reading until the test ends.
fn hold(state: &MxState) {
    while !state.stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn session(stream: TcpStream, mode: Mode, state: &MxState) {
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    let offer_tls = matches!(mode, Mode::TlsStall | Mode::TlsGarbage);
    if w.write_all(b"220 fake.test ESMTP\r\n").is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let cmd = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if cmd.starts_with("EHLO") {
            if offer_tls {
                b"250-fake.test\r\n250 STARTTLS\r\n"
            } else {
                b"250 fake.test\r\n"
            }
        } else if cmd == "STARTTLS" {
            let _ = w.write_all(b"220 2.0.0 go ahead\r\n");
            if mode == Mode::TlsGarbage {
                let _ = w.write_all(b"this is not a TLS handshake\r\n\r\n");
            } else {
                hold(state);
            }
            return;
        } else if cmd.starts_with("MAIL") || cmd.starts_with("RCPT") || cmd == "RSET" {
            b"250 2.0.0 ok\r\n"
        } else if cmd == "DATA" {
            let _ = w.write_all(b"354 go ahead\r\n");
            if mode == Mode::Tarpit {
                state.stalled.fetch_add(1, Ordering::SeqCst);
                hold(state);
                return;
            }
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
            if mode == Mode::SilentAfterData {
                state.stalled.fetch_add(1, Ordering::SeqCst);
                hold(state);
                return;
            }
            state.messages.lock().unwrap().push(message);
            b"250 2.0.0 queued\r\n"
        } else if cmd == "QUIT" {
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

// ---- offices, queue files, the preload library -------------------------------------------

/// An office for alpha.test on 127.0.0.2 with `outbound` keys added to its `[outbound]`.
fn office(dns: Option<&Dns>, outbound: &str, extra: &str) -> Office {
    let o = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice", "bob"],
        Ports::new(),
        dns,
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

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Writes a queue file in the post office's format, as if it had been accepted earlier.
fn queue_message(o: &Office, id: &str, from: &str, rcpts: &[String], content: &[u8]) {
    let dir = o.data().join("queue");
    std::fs::create_dir_all(&dir).unwrap();
    let mut bytes = format!(
        "postwerk-queue 1\nreceived-at {}\nfrom <{from}>\n",
        unix_now()
    );
    for rcpt in rcpts {
        bytes.push_str(&format!("rcpt <{rcpt}>\n"));
    }
    bytes.push_str("data\n");
    let mut bytes = bytes.into_bytes();
    bytes.extend_from_slice(content);
    let trailer = format!("\nend {:020} {:016x}\n", content.len(), fnv(&bytes));
    bytes.extend_from_slice(trailer.as_bytes());
    std::fs::write(dir.join(format!("{id}.msg")), bytes).unwrap();
}

/// Free octets on the file system holding `dir` (as the post office's queue measures them).
fn free_bytes(dir: &Path) -> u64 {
    let stat = rustix::fs::statvfs(dir).expect("statvfs of the test's data directory");
    stat.f_bavail.saturating_mul(stat.f_frsize)
}

/// A message of about `size` octets.
fn big_message(subject: &str, size: usize) -> Vec<u8> {
    let mut m = format!("From: alice@alpha.test\r\nSubject: {subject}\r\n\r\n").into_bytes();
    let line = format!("{}\r\n", "x".repeat(76));
    while m.len() < size {
        m.extend_from_slice(line.as_bytes());
    }
    m
}

/// Sends a local message over the MX port and returns when the 250 came.
fn send_local(o: &Office, to: &str, subject: &str) {
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    assert!(c.cmd("MAIL FROM:<x@example.org>").starts_with("250"));
    assert!(c.cmd(&format!("RCPT TO:<{to}>")).starts_with("250"));
    assert!(c.cmd("DATA").starts_with("354"));
    c.send(format!("Subject: {subject}\r\n\r\nhello\r\n.\r\n").as_bytes());
    let reply = c.reply();
    assert!(reply.starts_with("250"), "{reply}");
    c.cmd("QUIT");
}

/// The preload library: `FAKE_REALTIME=<secs>` freezes CLOCK_REALTIME, `FSYNC_LOG=<file>`
/// appends the path of every fsync'd descriptor to that file.
fn preload() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("po-preload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let src = dir.join("preload.c");
        std::fs::write(
            &src,
            r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
int clock_gettime(clockid_t id, struct timespec *ts) {
    static int (*real)(clockid_t, struct timespec *);
    if (!real) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    const char *fake = getenv("FAKE_REALTIME");
    if (fake && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) {
        ts->tv_sec = atoll(fake);
        ts->tv_nsec = 0;
        return 0;
    }
    return real(id, ts);
}
int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    const char *log = getenv("FSYNC_LOG");
    if (log) {
        char link[64], target[4097];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, 4096);
        if (n > 0) {
            target[n] = '\n';
            int f = open(log, O_WRONLY | O_APPEND | O_CREAT, 0600);
            if (f >= 0) { write(f, target, (size_t)n + 1); close(f); }
        }
    }
    return real(fd);
}
"#,
        )
        .unwrap();
        let lib = dir.join("preload.so");
        let status = Command::new("cc")
            .args(["-shared", "-fPIC", "-O1", "-o"])
            .arg(&lib)
            .arg(&src)
            .arg("-ldl")
            .status()
            .expect("a C compiler");
        assert!(status.success(), "compiling the preload library");
        lib
    })
}

/// The office's binary with extra environment variables.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_with_env(o: &Office, env: &[(&str, String)]) -> Running {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(o.dir.path().join("log.txt"))
        .unwrap();
    let mut cmd = Command::new(BIN);
    cmd.arg("--config")
        .arg(&o.config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut running = Running(cmd.spawn().unwrap());
    let addr: SocketAddr = format!("{}:{}", o.ip, o.ports.smtp).parse().unwrap();
    wait_for("the post office to listen", Duration::from_secs(30), || {
        if let Some(status) = running.0.try_wait().unwrap() {
            panic!("post-office exited with {status}:\n{}", o.log());
        }
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()
    });
    running
}

fn queue_files(o: &Office) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(o.data().join("queue"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "msg"));
    files.sort();
    files
}

// ---- 44: every outbound step has a deadline -----------------------------------------------

/// SECURITY.md 44: "Every outbound step (connect, greeting, TLS handshake, each write, each
/// read) has a deadline (RFC 5321 4.5.3.2); a stalled peer frees its slot at the deadline."
/// A tarpit answers 354 and stops reading: each write of the body has the data-block
/// deadline, and the attempts end there (not earlier, not never).
#[test]
fn security_44_writes_to_a_tarpit_end_at_the_data_block_deadline() {
    let dns = Dns::start(&[("tarpit.test", "mx.tarpit.test", "127.0.0.5")]);
    let o = office(
        Some(&dns),
        "data_block_timeout_secs = 3\ndata_end_timeout_secs = 30",
        "",
    );
    let tarpit = FakeMx::start("127.0.0.5", o.ports.smtp, Mode::Tarpit);
    for i in 0..3 {
        queue_message(
            &o,
            &format!("00000000000000{i:02}"),
            "alice@alpha.test",
            &[format!("t{i}@tarpit.test")],
            &big_message("tarpit", 6 << 20),
        );
    }
    let mut o = o;
    o.start();
    wait_for("3 stalled sessions", LONG, || {
        (tarpit.stalled() == 3).then_some(())
    });
    let stalled_at = Instant::now();
    let ended = |log: &str| {
        log.lines()
            .filter(|l| l.contains("delivery attempt failed") && l.contains("write timed out"))
            .count()
    };
    wait_for(
        "the stalled attempts to end",
        Duration::from_secs(20),
        || (ended(&o.log()) == 3).then_some(()),
    );
    assert!(
        stalled_at.elapsed() >= Duration::from_secs(1),
        "the attempts ended at the deadline, not before:\n{}",
        o.log()
    );
    // The failure is logged first, then the recipients are deferred.
    wait_for("the recipients to be deferred", LONG, || {
        o.log().contains("deferred").then_some(())
    });
}

/// SECURITY.md 44: the end-of-data reply has its own deadline, counted from the moment
/// the body has been written (RFC 5321 4.5.3.2.6).
#[test]
fn security_44_an_mx_silent_after_the_data_times_out_at_the_end_of_data_deadline() {
    let dns = Dns::start(&[("silent.test", "mx.silent.test", "127.0.0.7")]);
    let mut o = office(Some(&dns), "data_end_timeout_secs = 2", "");
    let silent = FakeMx::start("127.0.0.7", o.ports.smtp, Mode::SilentAfterData);
    o.start();
    submit(
        &o,
        "alice@alpha.test",
        &["x@silent.test"],
        &message("alice@alpha.test", "x@silent.test", "silent"),
    );
    wait_for("the body to arrive", LONG, || {
        (silent.stalled() == 1).then_some(())
    });
    let started = Instant::now();
    // The timeout is logged first, then the recipient is deferred.
    wait_for("the end-of-data timeout", Duration::from_secs(20), || {
        let log = o.log();
        (log.contains("DataEnd") && log.contains("deferred")).then_some(())
    });
    assert!(started.elapsed() < Duration::from_secs(15));
}

/// SECURITY.md 44: a TLS handshake that never progresses ends at its deadline; the attempt
/// then goes on in cleartext (opportunistic TLS, as Postfix's `may`).
#[test]
fn security_44_a_stalled_tls_handshake_ends_at_its_deadline_then_falls_back_to_cleartext() {
    let dns = Dns::start(&[("stall.test", "mx.stall.test", "127.0.0.8")]);
    let mut o = office(Some(&dns), "tls_handshake_timeout_secs = 2", "");
    let mx = FakeMx::start("127.0.0.8", o.ports.smtp, Mode::TlsStall);
    o.start();
    submit(
        &o,
        "alice@alpha.test",
        &["x@stall.test"],
        &message("alice@alpha.test", "x@stall.test", "stalled-tls"),
    );
    wait_for("delivery in cleartext", Duration::from_secs(30), || {
        (!mx.messages().is_empty()).then_some(())
    });
    assert!(mx.messages()[0].contains("Subject: stalled-tls"));
    assert_eq!(mx.connections(), 2, "one TLS try, one cleartext");
    assert!(o.log().contains("retrying in cleartext"), "{}", o.log());
}

/// A failed STARTTLS handshake falls back to cleartext for that attempt (issue 10, Build 4).
#[test]
fn security_44_a_failed_tls_handshake_falls_back_to_cleartext() {
    let dns = Dns::start(&[("garbage.test", "mx.garbage.test", "127.0.0.9")]);
    let mut o = office(Some(&dns), "", "");
    let mx = FakeMx::start("127.0.0.9", o.ports.smtp, Mode::TlsGarbage);
    o.start();
    submit(
        &o,
        "alice@alpha.test",
        &["x@garbage.test"],
        &message("alice@alpha.test", "x@garbage.test", "bad-tls"),
    );
    wait_for("delivery in cleartext", Duration::from_secs(30), || {
        (!mx.messages().is_empty()).then_some(())
    });
    assert!(mx.messages()[0].contains("Subject: bad-tls"));
}

// ---- 45: lanes and per-destination slots --------------------------------------------------

/// SECURITY.md 45: "Local delivery never waits behind remote delivery; a remote
/// destination holds at most its own concurrency slots." The attack of issue 10: 25
/// messages for a tarpit MX (354, then it stops reading). The tarpit gets exactly its 20
/// slots; local mail is in its Maildir within 2 s; another remote destination is served
/// at once; the stalled attempts end at their deadline. (A destination's window starts at
/// `initial_destination_concurrency`, 5 by default, and grows only with deliveries that
/// worked: here it starts at its limit, 20, to load the tarpit fully.)
#[test]
fn security_45_local_mail_and_other_destinations_pass_a_tarpit_holding_its_slots() {
    let dns = Dns::start(&[
        ("tarpit.test", "mx.tarpit.test", "127.0.0.5"),
        ("other.test", "mx.other.test", "127.0.0.6"),
    ]);
    let deadline = 12;
    let o = office(
        Some(&dns),
        &format!(
            "data_block_timeout_secs = {deadline}\ndata_end_timeout_secs = {deadline}\n\
             initial_destination_concurrency = 20"
        ),
        "",
    );
    let tarpit = FakeMx::start("127.0.0.5", o.ports.smtp, Mode::Tarpit);
    let other = FakeMx::start("127.0.0.6", o.ports.smtp, Mode::Accept);
    for i in 0..25 {
        queue_message(
            &o,
            &format!("00000000000001{i:02}"),
            "alice@alpha.test",
            &[format!("t{i}@tarpit.test")],
            &big_message("tarpit", 1 << 20),
        );
    }
    let mut o = o;
    o.start();
    wait_for("20 stalled sessions at the tarpit", LONG, || {
        (tarpit.stalled() == 20).then_some(())
    });
    let stalled_at = Instant::now();

    send_local(&o, "bob@alpha.test", "local-while-tarpit");
    let sent = Instant::now();
    o.wait_for_mail("bob@alpha.test", 1, Duration::from_secs(2));
    assert!(sent.elapsed() <= Duration::from_secs(2));

    submit(
        &o,
        "alice@alpha.test",
        &["y@other.test"],
        &message("alice@alpha.test", "y@other.test", "other-destination"),
    );
    wait_for("the other destination", Duration::from_secs(5), || {
        (!other.messages().is_empty()).then_some(())
    });
    if stalled_at.elapsed() < Duration::from_secs(deadline - 2) {
        assert_eq!(
            tarpit.connections(),
            20,
            "the tarpit holds at most its 20 slots"
        );
    }
    // The stalled attempts end at their deadline and free their slots: the 5 waiting
    // messages get their turn.
    wait_for("the waiting messages to reach the tarpit", LONG, || {
        (tarpit.stalled() == 25).then_some(())
    });
    assert!(stalled_at.elapsed() >= Duration::from_secs(deadline - 2));
    assert!(
        o.log().contains("write timed out") || o.log().contains("DataEnd"),
        "{}",
        o.log()
    );
}

// ---- 49: loops and undialable addresses ---------------------------------------------------

/// SECURITY.md 49: "A remote domain whose MX resolves to one of our own listening addresses
/// is a loop ("mail for D loops back to myself", 5.4.6)".
#[test]
fn security_49_an_mx_on_our_own_address_bounces_with_5_4_6() {
    let dns = Dns::start(&[("loop.test", "mx.loop.test", "127.0.0.2")]);
    let mut o = office(Some(&dns), "", "");
    o.start();
    submit(
        &o,
        "alice@alpha.test",
        &["x@loop.test"],
        &message("alice@alpha.test", "x@loop.test", "looping"),
    );
    let bounces = o.wait_for_mail("alice@alpha.test", 1, LONG);
    let bounce = &bounces[0];
    assert!(
        bounce.contains("Final-Recipient: rfc822; x@loop.test"),
        "{bounce}"
    );
    assert!(bounce.contains("Status: 5.4.6"), "{bounce}");
    assert!(bounce.contains("loops back to myself"), "{bounce}");
}

/// SECURITY.md 49: "unspecified, broadcast and multicast addresses are never dialled".
/// `0.0.0.0` would reach a listener on 127.0.0.1; nothing may connect to it.
#[test]
fn security_49_unspecified_broadcast_and_multicast_mx_addresses_are_never_dialled() {
    let dns = Dns::start(&[
        ("zero.test", "mx.zero.test", "0.0.0.0"),
        ("bcast.test", "mx.bcast.test", "255.255.255.255"),
        ("mcast.test", "mx.mcast.test", "224.0.0.1"),
    ]);
    let mut o = office(Some(&dns), "", "");
    let local = FakeMx::start("127.0.0.1", o.ports.smtp, Mode::Accept);
    o.start();
    for domain in ["zero.test", "bcast.test", "mcast.test"] {
        let to = format!("x@{domain}");
        submit(
            &o,
            "alice@alpha.test",
            &[&to],
            &message("alice@alpha.test", &to, domain),
        );
    }
    wait_for("the three attempts", LONG, || {
        let log = o.log();
        let done = log
            .lines()
            .filter(|l| l.contains("deferred") || l.contains("finished"))
            .count();
        (done >= 3).then_some(())
    });
    assert_eq!(local.connections(), 0, "0.0.0.0 was dialled");
    assert!(local.messages().is_empty());
    let log = o.log();
    // Refused before any connect: no connection attempt is made (and so none fails).
    assert!(
        !log.lines()
            .any(|l| l.contains("delivery attempt failed") && l.contains("cast.test")),
        "{log}"
    );
    assert!(log.contains("not dialled"), "{log}");
}

// ---- 53: queue ids ------------------------------------------------------------------------

/// SECURITY.md 53: "Queue ids stay unique when the clock steps back; an existing queue file
/// is never overwritten." The wall clock is frozen at the same second for two runs: the
/// message queued in the second run must not replace the one from the first.
#[test]
fn security_53_queue_ids_stay_unique_when_the_clock_steps_back() {
    let o = office(None, "", "");
    let frozen = ("FAKE_REALTIME", "1700000000".to_owned());
    let lib = ("LD_PRELOAD", preload().display().to_string());
    for (run, subject) in ["first-run", "second-run"].iter().enumerate() {
        let _running = start_with_env(&o, &[frozen.clone(), lib.clone()]);
        submit(
            &o,
            "alice@alpha.test",
            &["x@gamma.test"],
            &message("alice@alpha.test", "x@gamma.test", subject),
        );
        wait_for("the attempt", LONG, || {
            (o.log().matches("deferred").count() > run).then_some(())
        });
    }
    let files = queue_files(&o);
    assert_eq!(files.len(), 2, "{files:?}");
    let texts: Vec<String> = files
        .iter()
        .map(|f| String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned())
        .collect();
    assert!(texts.iter().any(|t| t.contains("Subject: first-run")));
    assert!(texts.iter().any(|t| t.contains("Subject: second-run")));
}

// ---- 54: file modes and directory fsync ---------------------------------------------------

/// SECURITY.md 54: "Queue and mail files are readable by their owner only (0600,
/// directories 0700); a new directory is fsync'd into its parent."
#[test]
fn security_54_queue_and_mail_are_owner_only_and_new_directories_are_fsynced() {
    let o = office(None, "", "");
    let fsync_log = o.dir.path().join("fsync.log");
    let _running = start_with_env(
        &o,
        &[
            ("LD_PRELOAD", preload().display().to_string()),
            ("FSYNC_LOG", fsync_log.display().to_string()),
        ],
    );
    send_local(&o, "bob@alpha.test", "private");
    o.wait_for_mail("bob@alpha.test", 1, LONG);
    submit(
        &o,
        "alice@alpha.test",
        &["x@gamma.test"],
        &message("alice@alpha.test", "x@gamma.test", "queued"),
    );
    wait_for("the deferral", LONG, || {
        o.log().contains("deferred").then_some(())
    });
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let data = o.data();
    for dir in [
        data.clone(),
        data.join("queue"),
        data.join("mail"),
        data.join("mail/bob@alpha.test"),
        data.join("mail/bob@alpha.test/new"),
        data.join("mail/bob@alpha.test/cur"),
        data.join("mail/bob@alpha.test/tmp"),
    ] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    let queued = queue_files(&o);
    assert_eq!(queued.len(), 1);
    assert_eq!(mode(&queued[0]), 0o600);
    assert_eq!(mode(&queued[0].with_extension("state")), 0o600);
    for mail in o.maildir("bob@alpha.test") {
        assert_eq!(mode(&mail), 0o600, "{}", mail.display());
    }
    let synced = std::fs::read_to_string(&fsync_log).unwrap_or_default();
    let data = data.canonicalize().unwrap();
    for parent in [
        data.join("mail"),
        data.join("mail/bob@alpha.test"),
        data.clone(),
    ] {
        assert!(
            synced.lines().any(|l| Path::new(l) == parent),
            "{} never fsync'd after a directory was made in it:\n{synced}",
            parent.display()
        );
    }
}

// ---- durability of progress -----------------------------------------------------------------

/// Issue 10, Build 9: "per-recipient state written right after each remote 250, so a crash
/// re-sends at most the transaction in flight." A message for a good MX and a tarpit: the
/// good MX accepts, the office is killed while the tarpit holds the other transaction,
/// and after the restart the good MX is not sent the message again.
#[test]
fn a_crash_re_sends_at_most_the_transaction_in_flight() {
    let dns = Dns::start(&[
        ("tarpit.test", "mx.tarpit.test", "127.0.0.5"),
        ("other.test", "mx.other.test", "127.0.0.6"),
    ]);
    let o = office(Some(&dns), "", "[queue]\nretry_schedule_secs = [1]\n");
    let tarpit = FakeMx::start("127.0.0.5", o.ports.smtp, Mode::Tarpit);
    let good = FakeMx::start("127.0.0.6", o.ports.smtp, Mode::Accept);
    queue_message(
        &o,
        "0000000000000300",
        "alice@alpha.test",
        &["t@tarpit.test".to_owned(), "g@other.test".to_owned()],
        &big_message("two-destinations", 1 << 20),
    );
    let mut o = o;
    o.start();
    wait_for("both transactions", LONG, || {
        (tarpit.stalled() == 1 && good.messages().len() == 1).then_some(())
    });
    // The MX has the bytes before the office has its 250: until the office has written
    // the recipient's progress, that transaction is still the one in flight.
    let state = o.data().join("queue").join("0000000000000300.state");
    wait_for("the 250 of the good MX recorded", LONG, || {
        std::fs::read_to_string(&state)
            .ok()
            .filter(|s| s.contains("delivered"))
            .map(|_| ())
    });
    o.kill();
    o.start();
    wait_for("the retry at the tarpit", LONG, || {
        (tarpit.stalled() == 2).then_some(())
    });
    assert_eq!(
        good.messages().len(),
        1,
        "the accepted transaction was re-sent"
    );
}

// ---- start-up ------------------------------------------------------------------------------

/// Issue 10, Build 9: "listeners bind before the queue scan, and the scan reads envelopes
/// and state only (100,000 queued messages must not delay the listeners)".
#[test]
fn a_hundred_thousand_queued_messages_do_not_delay_the_listeners() {
    const COUNT: usize = 100_000;
    let o = office(None, "", "");
    let dir = o.data().join("queue");
    std::fs::create_dir_all(&dir).unwrap();
    // 200,000 files of at most one 4 KiB block each, with room for the rest of the suite.
    let need: u64 = 1 << 30;
    let free = free_bytes(&dir);
    assert!(
        free >= need,
        "this test writes 100,000 queued messages (about 800 MB) under {}: it needs {} MB \
         free there and has {} MB (free some disk or point TMPDIR elsewhere)",
        dir.display(),
        need >> 20,
        free >> 20
    );
    // Every message waits for a retry far in the future: the start-up only reads them.
    let next = unix_now() + 86_400;
    let mut state = format!("attempts 1\nnext {next}\npending\n");
    state.push_str(&format!("end {:016x}\n", fnv(state.as_bytes())));
    let content = big_message("queued", 2048);
    for i in 0..COUNT {
        let id = format!("{i:016X}");
        queue_message(
            &o,
            &id,
            "alice@alpha.test",
            &["x@gamma.test".into()],
            &content,
        );
        std::fs::write(dir.join(format!("{id}.state")), &state).unwrap();
    }
    let started = Instant::now();
    let _running = start_with_env(&o, &[]);
    let listening = started.elapsed();
    assert!(
        listening < Duration::from_secs(5),
        "listening after {listening:?}"
    );
    wait_for("the scan", Duration::from_secs(300), || {
        o.log().contains("queue scanned").then_some(())
    });
    assert!(
        o.log().contains(&format!("queued={COUNT}")),
        "{}",
        o.log().lines().last().unwrap_or_default()
    );
}
