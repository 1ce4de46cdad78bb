//! Interop: the client machine, driven over `std::net`, and the `client` example binary,
//! sending to Python's aiosmtpd (an independent SMTP server implementation).
//!
//! Each test starts its own aiosmtpd on a free loopback port (the script binds port 0 and
//! prints the port once it listens), which stores every message as `msgN.eml` plus
//! `msgN.json` (the envelope) in a temporary directory.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use postwerk_smtp::client::{
    Config, Connection, Credentials, Delivery, Event, Recipient, TlsPolicy, Transaction,
    TransactionResult,
};
use postwerk_smtp::codec::path::{ForwardPath, Mailbox, ReversePath};

const SERVER: &str = r#"
import asyncio, json, os, socket, sys
from aiosmtpd.smtp import SMTP, AuthResult

outdir = sys.argv[1]

class Handler:
    def __init__(self):
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return "550 5.1.1 No such user"
        if address.startswith("later"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(outdir, "msg%d" % self.count)
        meta = {
            "mail_from": envelope.mail_from,
            "mail_options": envelope.mail_options,
            "rcpt_tos": envelope.rcpt_tos,
            "auth": session.authenticated,
        }
        with open(base + ".json", "w") as f:
            json.dump(meta, f)
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".tmp", base + ".eml")
        return "250 2.0.0 Stored as msg%d" % self.count

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"alice" and auth_data.password == b"secret"
    return AuthResult(success=ok, handled=False)

async def main():
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    handler = Handler()
    server = await loop.create_server(
        lambda: SMTP(handler, enable_SMTPUTF8=True, hostname="aiosmtpd.test",
                     auth_require_tls=False, authenticator=authenticator, loop=loop),
        sock=sock)
    print(sock.getsockname()[1], flush=True)
    # Exit when the test closes our stdin (or dies).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()

asyncio.run(main())
"#;

struct Aiosmtpd {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Aiosmtpd {
    fn start(name: &str) -> Aiosmtpd {
        let dir =
            std::env::temp_dir().join(format!("postwerk-aiosmtpd-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("server.py");
        std::fs::write(&script, SERVER).unwrap();
        let out = dir.join("out");
        std::fs::create_dir_all(&out).unwrap();
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(&out)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 is missing: install the Debian package `python3` (and `pip install aiosmtpd`)");
        // Readiness: the script prints the port after it listens.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("port from aiosmtpd script");
        Aiosmtpd {
            child,
            port,
            dir: out,
        }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn message(&self, n: usize) -> Vec<u8> {
        std::fs::read(self.dir.join(format!("msg{n}.eml"))).unwrap()
    }

    fn envelope(&self, n: usize) -> String {
        std::fs::read_to_string(self.dir.join(format!("msg{n}.json"))).unwrap()
    }

    fn count(&self) -> usize {
        std::fs::read_dir(&self.dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "eml")
            })
            .count()
    }
}

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mailbox(s: &str) -> Mailbox {
    let (local, domain) = s.rsplit_once('@').unwrap();
    Mailbox::new(local, domain).unwrap()
}

/// Drives `conn` over a socket until it closes; returns the transaction results.
fn drive(addr: &str, mut conn: Connection) -> (Vec<TransactionResult>, Option<String>) {
    let mut socket = TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut results = Vec::new();
    let mut failure = None;
    let mut buf = [0u8; 4096];
    loop {
        while let Some(chunk) = conn.poll_transmit() {
            socket.write_all(&chunk).unwrap();
        }
        while let Some(event) = conn.poll_event() {
            match event {
                Event::TransactionDone(r) => results.push(r),
                Event::Closed { error } => failure = error.map(|e| e.to_string()),
                Event::StartTls => panic!("no TLS in this test"),
                _ => {}
            }
        }
        if conn.is_closed() {
            return (results, failure);
        }
        let n = socket.read(&mut buf).expect("aiosmtpd answers in time");
        if n == 0 {
            conn.handle_eof(Instant::now());
        } else {
            conn.handle_input(&buf[..n], Instant::now());
        }
    }
}

fn config() -> Config {
    let mut config = Config::new("client.test");
    config.tls = TlsPolicy::Disabled;
    config
}

#[test]
fn machine_sends_dot_lines_and_8bit_content() {
    let server = Aiosmtpd::start("machine");
    let body = "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nGrüße, 8-bit\r\n\r\n"
        .as_bytes()
        .to_vec();
    let tx = Transaction::new(
        ReversePath::Mailbox(mailbox("alice@example.org")),
        Bytes::from(body.clone()),
    )
    .with_recipient(Recipient::new(ForwardPath::Mailbox(mailbox(
        "bob@example.net",
    ))))
    .with_recipient(Recipient::new(ForwardPath::Mailbox(mailbox(
        "reject@example.net",
    ))))
    .with_recipient(Recipient::new(ForwardPath::Mailbox(mailbox(
        "later@example.net",
    ))))
    .with_recipient(Recipient::new(ForwardPath::Mailbox(mailbox(
        "carol@example.net",
    ))));
    let mut conn = Connection::new(config(), Instant::now());
    conn.send(tx, Instant::now()).unwrap();
    conn.quit(Instant::now());
    let (results, failure) = drive(&server.addr(), conn);
    assert_eq!(failure, None);
    assert_eq!(results.len(), 1);
    let deliveries: Vec<Delivery> = results[0]
        .recipients()
        .iter()
        .map(|r| r.delivery())
        .collect();
    assert_eq!(
        deliveries,
        [
            Delivery::Accepted,
            Delivery::PermanentFailure,
            Delivery::TemporaryFailure,
            Delivery::Accepted
        ]
    );
    let rejected = results[0].recipients()[1].rcpt_reply().unwrap();
    assert_eq!(rejected.code(), 550);
    assert_eq!(rejected.enhanced().unwrap().to_string(), "5.1.1");
    assert_eq!(server.count(), 1);
    assert_eq!(server.message(1), body);
    let envelope = server.envelope(1);
    assert!(
        envelope.contains(r#""mail_from": "alice@example.org""#),
        "{envelope}"
    );
    assert!(
        envelope.contains(r#""rcpt_tos": ["bob@example.net", "carol@example.net"]"#),
        "{envelope}"
    );
    // aiosmtpd offers SIZE and 8BITMIME: both were declared.
    assert!(envelope.contains("BODY=8BITMIME"), "{envelope}");
    assert!(
        envelope.contains(&format!("SIZE={}", body.len())),
        "{envelope}"
    );
}

#[test]
fn machine_sends_two_transactions_and_smtputf8() {
    let server = Aiosmtpd::start("two");
    let first = Transaction::new(
        ReversePath::Null,
        Bytes::from_static(b"Subject: one\r\n\r\nfirst\r\n"),
    )
    .with_recipient(Recipient::new(ForwardPath::Mailbox(mailbox(
        "reject@example.net",
    ))));
    let second = Transaction::new(
        ReversePath::Mailbox(mailbox("jösé@exämple.org")),
        Bytes::from("Subject: zwei\r\n\r\nzweite\r\n".as_bytes()),
    )
    .with_recipient(Recipient::new(ForwardPath::Mailbox(mailbox(
        "dörte@example.net",
    ))));
    let mut conn = Connection::new(config(), Instant::now());
    conn.send(first, Instant::now()).unwrap();
    conn.send(second, Instant::now()).unwrap();
    conn.quit(Instant::now());
    let (results, failure) = drive(&server.addr(), conn);
    assert_eq!(failure, None);
    assert_eq!(results.len(), 2);
    assert!(!results[0].all_accepted());
    assert!(results[1].all_accepted(), "{:?}", results[1]);
    assert_eq!(server.count(), 1);
    assert_eq!(server.message(1), b"Subject: zwei\r\n\r\nzweite\r\n");
    let envelope = server.envelope(1);
    assert!(envelope.contains("SMTPUTF8"), "{envelope}");
    assert!(envelope.contains("d\\u00f6rte@example.net"), "{envelope}");
}

fn auth_attempt(server: &Aiosmtpd, password: &str) -> (Vec<TransactionResult>, Option<String>) {
    let mut config = config();
    config.credentials = Some(Credentials::new("alice", password));
    config.allow_plaintext_auth = true;
    let tx = Transaction::new(
        ReversePath::Mailbox(mailbox("alice@example.org")),
        Bytes::from_static(b"Subject: auth\r\n\r\nhi\r\n"),
    )
    .with_recipient(Recipient::new(ForwardPath::Mailbox(mailbox(
        "bob@example.net",
    ))));
    let mut conn = Connection::new(config, Instant::now());
    conn.send(tx, Instant::now()).unwrap();
    conn.quit(Instant::now());
    drive(&server.addr(), conn)
}

#[test]
fn machine_authenticates() {
    let server = Aiosmtpd::start("auth");
    let (results, failure) = auth_attempt(&server, "secret");
    assert_eq!(failure, None);
    assert!(results[0].all_accepted());
    assert!(server.envelope(1).contains(r#""auth": true"#));

    let (results, failure) = auth_attempt(&server, "wrong");
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0].recipients()[0].delivery(),
        Delivery::PermanentFailure
    );
    assert!(failure.unwrap().contains("535"));
    assert_eq!(server.count(), 1);
}

#[path = "../../../tests/support/example_bin.rs"]
mod example_bin;

fn example_client() -> PathBuf {
    example_bin::example_binary(
        "postwerk-smtp",
        "client",
        "usage: client ADDR FROM TO... < MSG",
    )
}

fn run_example(addr: &str, args: &[&str], message: &[u8]) -> (bool, String) {
    let mut child = Command::new(example_client())
        .arg(addr)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(message).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn example_client_sends_a_message() {
    let server = Aiosmtpd::start("example");
    // LF line ends on stdin: the example normalises them to CRLF.
    let message = b"Subject: from the example\n\n.dot line\nbody\n";
    let (ok, stdout) = run_example(
        &server.addr(),
        &[
            "alice@example.org",
            "bob@example.net",
            "<carol@example.net>",
        ],
        message,
    );
    assert!(ok, "{stdout}");
    assert!(stdout.starts_with("S: 220 aiosmtpd.test"), "{stdout}");
    assert!(stdout.contains("S: 250-aiosmtpd.test"), "{stdout}");
    assert!(stdout.contains("S: 354"), "{stdout}");
    assert!(stdout.contains("S: 250 2.0.0 Stored as msg1"), "{stdout}");
    assert!(stdout.trim_end().ends_with("S: 221 Bye"), "{stdout}");
    assert_eq!(
        server.message(1),
        b"Subject: from the example\r\n\r\n.dot line\r\nbody\r\n"
    );
    let envelope = server.envelope(1);
    assert!(
        envelope.contains(r#"["bob@example.net", "carol@example.net"]"#),
        "{envelope}"
    );
}

#[test]
fn example_client_exits_non_zero_on_partial_acceptance() {
    let server = Aiosmtpd::start("partial");
    let (ok, stdout) = run_example(
        &server.addr(),
        &["alice@example.org", "bob@example.net", "reject@example.net"],
        b"Subject: partial\r\n\r\nx\r\n",
    );
    assert!(!ok, "{stdout}");
    assert!(stdout.contains("S: 550 5.1.1 No such user"), "{stdout}");
    // Delivered to bob all the same.
    assert_eq!(server.count(), 1);
    assert!(Path::new(&server.dir).join("msg1.eml").exists());
}
