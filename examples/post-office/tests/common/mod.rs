//! Helpers for the end-to-end tests: the real `post-office` binary with a generated
//! configuration, dnsmasq as the DNS server, Python's smtplib/poplib as clients.
//!
//! Waiting is always readiness polling with a deadline (a port that accepts, a file that
//! appears), never a fixed sleep used as synchronisation.
#![allow(dead_code)]

pub mod raw;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

#[path = "../../../../tests/support/dns_probe.rs"]
mod dns_probe;

pub const PASSWORD: &str = "correct horse battery";
pub const BIN: &str = env!("CARGO_BIN_EXE_post-office");

/// `post-office queue ARGS --config <office's>`.
pub fn queue(office: &Office, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("queue")
        .args(args)
        .arg("--config")
        .arg(&office.config)
        .output()
        .unwrap()
}

/// Like [`queue`], asserting success; returns stdout.
pub fn queue_ok(office: &Office, args: &[&str]) -> String {
    let out = queue(office, args);
    assert!(
        out.status.success(),
        "queue {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A port free on 127.0.0.1 right now (and, in practice, on the other loopback addresses).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The argon2 hash of [`PASSWORD`], made once by `post-office hash-password`.
pub fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let mut child = Command::new(BIN)
            .arg("hash-password")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{PASSWORD}\n").as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let hash = text.lines().last().unwrap().trim().to_owned();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        hash
    })
}

/// Calls `check` until it returns `Some`, or panics after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// dnsmasq serving MX records on 127.0.0.1.
pub struct Dns {
    child: Child,
    pub addr: SocketAddr,
}

impl Dns {
    /// `mx` is `(domain, mx host, ip)`.
    pub fn start(mx: &[(&str, &str, &str)]) -> Dns {
        Dns::start_with(mx, &[])
    }

    /// Like [`Dns::start`], with more dnsmasq options (`--txt-record=...`,
    /// `--auth-zone=...` for answers with an SOA).
    pub fn start_with(mx: &[(&str, &str, &str)], extra: &[String]) -> Dns {
        // The port is free when picked, but another process may take it before dnsmasq
        // binds it; then dnsmasq exits, and a fresh port is tried.
        for _ in 0..5 {
            let port = UdpSocket::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut cmd = Command::new("/usr/sbin/dnsmasq");
            cmd.args([
                "-d",
                "-C",
                "/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
            ])
            .arg(format!("--port={port}"))
            .arg("--listen-address=127.0.0.1");
            for (domain, host, ip) in mx {
                cmd.arg(format!("--mx-host={domain},{host},10"));
                cmd.arg(format!("--host-record={host},{ip}"));
            }
            cmd.args(extra);
            let probe = dns_probe::Probe::new(extra);
            cmd.arg(probe.arg());
            let child = cmd
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("dnsmasq is missing: install the Debian package `dnsmasq-base`");
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let mut dns = Dns { child, addr };
            let up = wait_for("dnsmasq", Duration::from_secs(30), || {
                if dns.child.try_wait().ok().flatten().is_some() {
                    return Some(false);
                }
                dns.answers(&probe).then_some(true)
            });
            if up {
                return dns;
            }
        }
        panic!("dnsmasq exited five times right after its start (ports taken?)");
    }

    /// Waits briefly for this dnsmasq's answer to `probe` (not another's on its port).
    fn answers(&self, probe: &dns_probe::Probe) -> bool {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        probe.answered_by(&socket, self.addr)
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Ports shared by the offices of one test (same numbers on 127.0.0.2 and 127.0.0.3).
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    pub smtp: u16,
    pub submission: u16,
    pub pop3: u16,
    pub submissions: u16,
    pub pop3s: u16,
}

impl Ports {
    /// Five distinct free ports: all five are held while they are picked (a port released
    /// by one `bind(0)` is often handed out again by the next, which once gave pop3s the
    /// submissions port).
    pub fn new() -> Ports {
        let held: Vec<TcpListener> = (0..5)
            .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let port = |i: usize| held[i].local_addr().unwrap().port();
        Ports {
            smtp: port(0),
            submission: port(1),
            pop3: port(2),
            submissions: port(3),
            pop3s: port(4),
        }
    }
}

/// One running post office.
pub struct Office {
    pub dir: tempfile::TempDir,
    pub ip: &'static str,
    pub ports: Ports,
    pub config: PathBuf,
    child: Option<Child>,
}

/// The `[smtp]` settings of every test office made by [`Office::new`]: AUTH on the MX
/// port (the suites test it there; the default, off, is tested by `security_bounded.rs`)
/// and no early-talker greeting pause (it would slow every test's first connection; its
/// default is tested by `security_bounded.rs` too).
pub const TEST_SMTP: &str = "auth = true\npregreet_delay_ms = 0\n";

impl Office {
    /// Writes a configuration for `domain` on `ip`: users `users` (local parts), extra TOML
    /// appended as is; `[smtp]` gets [`TEST_SMTP`].
    pub fn new(
        ip: &'static str,
        domain: &str,
        users: &[&str],
        ports: Ports,
        dns: Option<&Dns>,
        extra: &str,
    ) -> Office {
        Office::with_smtp(ip, domain, users, ports, dns, TEST_SMTP, extra)
    }

    /// Like [`Office::new`], with `smtp` (TOML keys) in the `[smtp]` table instead of
    /// [`TEST_SMTP`]; `""` keeps the post office's defaults.
    pub fn with_smtp(
        ip: &'static str,
        domain: &str,
        users: &[&str],
        ports: Ports,
        dns: Option<&Dns>,
        smtp: &str,
        extra: &str,
    ) -> Office {
        let dir = tempfile::tempdir().unwrap();
        let mut text = format!(
            "hostname = \"mx.{domain}\"\ndomains = [\"{domain}\"]\ndata_dir = \"data\"\n\
             [smtp]\nlisten = [\"{ip}:{}\"]\n{smtp}[submission]\nlisten = [\"{ip}:{}\"]\n\
             [submissions]\nlisten = [\"{ip}:{}\"]\n[pop3]\nlisten = [\"{ip}:{}\"]\n\
             [pop3s]\nlisten = [\"{ip}:{}\"]\n[outbound]\nport = {}\nconnect_timeout_secs = 5\n",
            ports.smtp, ports.submission, ports.submissions, ports.pop3, ports.pop3s, ports.smtp
        );
        let servers = match dns {
            Some(dns) => format!("\"{}\"", dns.addr),
            // Nothing answers here: remote routing fails temporarily.
            None => format!("\"127.0.0.1:{}\"", free_port()),
        };
        text.push_str(&format!("[dns]\nservers = [{servers}]\n"));
        text.push_str(extra);
        for user in users {
            text.push_str(&format!(
                "\n[[users]]\naddress = \"{user}@{domain}\"\npassword_hash = \"{}\"\n",
                password_hash()
            ));
        }
        let config = dir.path().join("post-office.toml");
        std::fs::write(&config, text).unwrap();
        Office {
            dir,
            ip,
            ports,
            config,
            child: None,
        }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Points the configuration at `dns` (for offices written before their DNS server
    /// could start, e.g. to publish their DKIM keys in it).
    pub fn set_dns(&self, dns: &Dns) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        let start = text.find("[dns]\nservers = [").unwrap();
        let list = start + "[dns]\nservers = [".len();
        let end = list + text[list..].find("]\n").unwrap() + 2;
        let text = format!(
            "{}[dns]\nservers = [\"{}\"]\n{}",
            &text[..start],
            dns.addr,
            &text[end..]
        );
        std::fs::write(&self.config, text).unwrap();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log.txt")).unwrap_or_default()
    }

    /// How many times the log says "post office HOST ready" (text or JSON logs).
    fn ready_lines(&self) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains("post office ") && l.contains(" ready"))
            .count()
    }

    /// Starts the binary and waits until it says it is ready (every listener bound) and
    /// the SMTP port accepts. Panics with the log if it exits first (a port taken between
    /// its pick and the bind shows as "Address already in use" there).
    pub fn start(&mut self) {
        let readies = self.ready_lines();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("log.txt"))
            .unwrap();
        let child = Command::new(BIN)
            .arg("--config")
            .arg(&self.config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let addr: SocketAddr = format!("{}:{}", self.ip, self.ports.smtp).parse().unwrap();
        wait_for("the post office to listen", Duration::from_secs(30), || {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("post-office exited with {status}:\n{}", self.log());
            }
            if self.ready_lines() <= readies {
                return None;
            }
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()
        });
    }

    /// Like [`Office::start`], for an office that shares no ports with another: when a
    /// port picked by [`free_port`] was taken by someone else in the meantime ("Address
    /// already in use"), picks new ports, rewrites the configuration and tries again.
    pub fn start_alone(&mut self) {
        for _ in 0..5 {
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.start())) {
                Ok(()) => return,
                Err(_) if self.log().contains("Address already in use") => {
                    self.kill();
                    let old = self.ports;
                    let new = Ports::new();
                    let mut text = std::fs::read_to_string(&self.config).unwrap();
                    for (o, n) in [
                        (old.smtp, new.smtp),
                        (old.submission, new.submission),
                        (old.pop3, new.pop3),
                        (old.submissions, new.submissions),
                        (old.pop3s, new.pop3s),
                    ] {
                        text = text
                            .replace(&format!(":{o}\""), &format!(":{n}\""))
                            .replace(&format!("port = {o}\n"), &format!("port = {n}\n"));
                    }
                    std::fs::write(&self.config, text).unwrap();
                    std::fs::write(self.dir.path().join("log.txt"), b"").unwrap();
                    self.ports = new;
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        panic!("no free ports after 5 tries");
    }

    /// The process id of the running binary.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// kill -9.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, and wait for a clean exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        wait_for("the post office to stop", Duration::from_secs(30), || {
            child.try_wait().unwrap()
        })
    }

    /// Files in the Maildir `new/` of `address`.
    pub fn maildir(&self, address: &str) -> Vec<PathBuf> {
        let dir = self.data().join("mail").join(address).join("new");
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        files
    }

    /// Messages in the running office's queue, as `post-office queue list --json` reports
    /// them over the control socket: the journal's records and the per-message files (a
    /// count of `*.msg` files misses the messages committed to the journal).
    pub fn queued(&self) -> usize {
        queue_ok(self, &["list", "--json"])
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count()
    }

    /// Waits until `address` has at least `n` messages; returns their contents.
    pub fn wait_for_mail(&self, address: &str, n: usize, timeout: Duration) -> Vec<String> {
        wait_for(
            &format!("{n} message(s) for {address} at {}", self.ip),
            timeout,
            || {
                let files = self.maildir(address);
                (files.len() >= n).then(|| {
                    files
                        .iter()
                        .map(|f| String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned())
                        .collect()
                })
            },
        )
    }
}

impl Drop for Office {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs a Python script with arguments; returns its output.
pub fn python(script: &str, args: &[&str]) -> Output {
    Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 is missing: install the Debian package `python3`")
}

/// Python smtplib: STARTTLS, login, send. Prints the reply to the end of data.
pub const SMTPLIB_SUBMIT: &str = r#"
import smtplib, ssl, sys
host, port, user, password, sender, rcpts, message = sys.argv[1:8]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP(host, int(port), timeout=30)
s.starttls(context=ctx)
s.login(user, password)
refused = s.sendmail(sender, rcpts.split(","), message.encode())
print("refused:", refused)
s.quit()
"#;

/// Python poplib over STLS: prints every message, separated by a marker line, and
/// deletes them when the last argument is `delete`.
pub const POPLIB_FETCH: &str = r#"
import poplib, ssl, sys
host, port, user, password, mode = sys.argv[1:6]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3(host, int(port), timeout=30)
p.stls(ctx)
p.user(user)
p.pass_(password)
count, size = p.stat()
for i in range(1, count + 1):
    resp, lines, octets = p.retr(i)
    sys.stdout.write("=====MESSAGE=====\n" + "\n".join(l.decode("utf-8", "replace") for l in lines) + "\n")
    if mode == "delete":
        p.dele(i)
p.quit()
"#;

/// Submits a message with smtplib to the submission port of `office`.
pub fn submit(office: &Office, user: &str, rcpts: &[&str], message: &str) {
    let out = python(
        SMTPLIB_SUBMIT,
        &[
            office.ip,
            &office.ports.submission.to_string(),
            user,
            PASSWORD,
            user,
            &rcpts.join(","),
            message,
        ],
    );
    assert!(
        out.status.success(),
        "smtplib failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("refused: {}"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Fetches every message of `user` over POP3 with STLS.
pub fn fetch(office: &Office, user: &str, delete: bool) -> Vec<String> {
    let out = python(
        POPLIB_FETCH,
        &[
            office.ip,
            &office.ports.pop3.to_string(),
            user,
            PASSWORD,
            if delete { "delete" } else { "keep" },
        ],
    );
    assert!(
        out.status.success(),
        "poplib failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split("=====MESSAGE=====\n")
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Header fields named `name` (case-insensitive) at the start of lines of the header.
pub fn header_count(message: &str, name: &str) -> usize {
    let header = message.split("\n\n").next().unwrap_or("");
    let header = header.split("\r\n\r\n").next().unwrap_or(header);
    header
        .lines()
        .filter(|l| {
            l.len() > name.len()
                && l[..name.len()].eq_ignore_ascii_case(name)
                && l.as_bytes()[name.len()] == b':'
        })
        .count()
}

/// Raw SMTP dialogue with Python's smtplib: runs `commands` (after EHLO) with `docmd` and
/// prints `code text` per command.
pub const SMTPLIB_DIALOGUE: &str = r#"
import smtplib, sys
host, port = sys.argv[1:3]
s = smtplib.SMTP(host, int(port), timeout=30)
s.ehlo("client.example")
for cmd in sys.argv[3:]:
    code, text = s.docmd(cmd)
    print(code, text.decode().replace("\n", " "))
s.close()
"#;

/// Replies (`code text`) to `commands` sent after EHLO to `port` on `ip`.
pub fn dialogue(ip: &str, port: u16, commands: &[&str]) -> Vec<String> {
    let out = python(
        SMTPLIB_DIALOGUE,
        &[&[ip, &port.to_string()], commands].concat(),
    );
    assert!(
        out.status.success(),
        "smtplib failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A small message from `from` to `to`.
pub fn message(from: &str, to: &str, subject: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@test>\r\n\r\nHello from the tests.\r\n"
    )
}
