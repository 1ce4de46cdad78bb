//! Python's poplib (an independent client) against the example server.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

#[path = "../../../tests/support/example_bin.rs"]
mod example_bin;

fn example(name: &str) -> PathBuf {
    let usage = match name {
        "client" => "usage: client ADDR USER PASS OUTDIR",
        _ => "usage: server ADDR MAILDIR USER PASS",
    };
    example_bin::example_binary("postwerk-pop3", name, usage)
}

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(maildir: &Path) -> Server {
    let mut child = Command::new(example("server"))
        .args(["127.0.0.1:0", maildir.to_str().unwrap(), "alice", "s3cret"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .expect("first line names the address")
        .to_owned();
    Server { child, addr }
}

fn maildir_with(messages: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
    }
    for (name, body) in messages {
        std::fs::write(dir.path().join(name), body).unwrap();
    }
    dir
}

fn python(script: &str, addr: &str) -> String {
    let (host, port) = addr.rsplit_once(':').unwrap();
    let out = Command::new("python3")
        .args(["-c", script, host, port])
        .output()
        .expect("python3 is missing: install the Debian package `python3`");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

const M1: &[u8] =
    b"From: a@example.org\r\nSubject: first\r\n\r\nline one\r\n.dotted\r\nline three\r\n";
const M2: &[u8] = b"From: b@example.org\nSubject: second\n\nbare lf body\n";

#[test]
fn poplib_session() {
    let md = maildir_with(&[("new/1000.A.host", M1), ("cur/1001.B.host:2,S", M2)]);
    let server = start_server(md.path());
    let script = r#"
import poplib, sys
p = poplib.POP3(sys.argv[1], int(sys.argv[2]), timeout=20)
print("welcome", p.getwelcome().decode())
p.user("alice")
p.pass_("s3cret")
count, size = p.stat()
print("stat", count, size)
resp, listing, _ = p.list()
print("list", [l.decode() for l in listing])
resp, uids, _ = p.uidl()
print("uidl", [u.decode() for u in uids])
print("uidl1", p.uidl(1).decode())
resp, lines, _ = p.top(1, 1)
print("top", [l.decode() for l in lines])
resp, lines, octets = p.retr(1)
print("retr1", [l.decode() for l in lines], octets)
resp, lines, octets = p.retr(2)
print("retr2", [l.decode() for l in lines], octets)
print("dele", p.dele(2).decode())
print("quit", p.quit().decode())
"#;
    let out = python(script, &server.addr);
    let m1_size = M1.len();
    let m2_size = M2.len() + 4;
    assert!(out.contains("welcome +OK POP3 server ready"), "{out}");
    assert!(
        out.contains(&format!("stat 2 {}", m1_size + m2_size)),
        "{out}"
    );
    assert!(
        out.contains(&format!("list ['1 {m1_size}', '2 {m2_size}']")),
        "{out}"
    );
    assert!(
        out.contains("uidl ['1 1000.A.host', '2 1001.B.host']"),
        "{out}"
    );
    assert!(out.contains("uidl1 +OK 1 1000.A.host"), "{out}");
    assert!(
        out.contains("top ['From: a@example.org', 'Subject: first', '', 'line one']"),
        "{out}"
    );
    assert!(
        out.contains("retr1 ['From: a@example.org', 'Subject: first', '', 'line one', '.dotted', 'line three']"),
        "{out}"
    );
    assert!(
        out.contains("retr2 ['From: b@example.org', 'Subject: second', '', 'bare lf body']"),
        "{out}"
    );
    assert!(out.contains("dele +OK message 2 deleted"), "{out}");
    assert!(out.contains("quit +OK bye"), "{out}");
    // DELE took effect at QUIT.
    assert!(md.path().join("new/1000.A.host").exists());
    assert!(!md.path().join("cur/1001.B.host:2,S").exists());
}

#[test]
fn poplib_dropped_connection_deletes_nothing() {
    let md = maildir_with(&[("new/1.x", M1), ("new/2.y", M2)]);
    let server = start_server(md.path());
    let script = r#"
import poplib, sys
p = poplib.POP3(sys.argv[1], int(sys.argv[2]), timeout=20)
p.user("alice")
p.pass_("s3cret")
print(p.dele(1).decode(), p.dele(2).decode())
import socket
p.sock.shutdown(socket.SHUT_RDWR)
p.sock.close()
# The mailbox is free again once the server saw the drop; then log in again.
import time
for _ in range(100):
    q = poplib.POP3(sys.argv[1], int(sys.argv[2]), timeout=20)
    q.user("alice")
    try:
        q.pass_("s3cret")
        break
    except poplib.error_proto as e:
        assert b"IN-USE" in e.args[0], e
        q.quit()
        time.sleep(0.05)
else:
    raise SystemExit("mailbox stayed locked")
print("stat", q.stat())
q.quit()
"#;
    let out = python(script, &server.addr);
    assert!(
        out.contains("+OK message 1 deleted +OK message 2 deleted"),
        "{out}"
    );
    assert!(out.contains("stat (2,"), "{out}");
    assert!(md.path().join("new/1.x").exists());
    assert!(md.path().join("new/2.y").exists());
}

#[test]
fn poplib_wrong_password() {
    let md = maildir_with(&[]);
    let server = start_server(md.path());
    let script = r#"
import poplib, sys
p = poplib.POP3(sys.argv[1], int(sys.argv[2]), timeout=20)
p.user("alice")
try:
    p.pass_("wrong")
    print("accepted")
except poplib.error_proto as e:
    print("refused", e.args[0].decode())
"#;
    let out = python(script, &server.addr);
    assert!(
        out.contains("refused -ERR [AUTH] authentication failed"),
        "{out}"
    );
}

/// AUTH PLAIN (with `*` cancel and malformed base64 first) and a
/// SCRAM-SHA-256 exchange computed in Python with hashlib/hmac, through
/// poplib's `_shortcmd`, against the example server.
#[test]
fn poplib_sasl_plain_and_scram_sha_256() {
    let md = maildir_with(&[("new/1000.A.host", M1)]);
    let server = start_server(md.path());
    let script = r#"
import base64, hashlib, hmac, os, poplib, sys

def b64(b):
    return base64.b64encode(b).decode()

host, port = sys.argv[1], int(sys.argv[2])
p = poplib.POP3(host, port, timeout=20)
print("sasl", p.capa().get("SASL"))
print("cont", p._shortcmd("AUTH PLAIN").decode())
try:
    p._shortcmd("*")
except poplib.error_proto as e:
    print("cancel", e.args[0].decode())
try:
    p._shortcmd("AUTH PLAIN !!!")
except poplib.error_proto as e:
    print("b64", e.args[0].decode())
try:
    p._shortcmd("AUTH PLAIN " + b64(b"\0alice\0wrong"))
except poplib.error_proto as e:
    print("wrong", e.args[0].decode())
print("plain", p._shortcmd("AUTH PLAIN " + b64(b"\0alice\0s3cret")).decode())
print("stat", p.stat())
p.quit()

def scram(password):
    p = poplib.POP3(host, port, timeout=20)
    nonce = b64(os.urandom(18))
    bare = "n=alice,r=" + nonce
    resp = p._shortcmd("AUTH SCRAM-SHA-256 " + b64(b"n,," + bare.encode()))
    server_first = base64.b64decode(resp[2:]).decode()
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    assert attrs["r"].startswith(nonce), server_first
    salt, iterations = base64.b64decode(attrs["s"]), int(attrs["i"])
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    without_proof = "c=biws,r=" + attrs["r"]
    auth_message = ",".join([bare, server_first, without_proof]).encode()
    signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    server_signature = hmac.new(server_key, auth_message, hashlib.sha256).digest()
    try:
        resp = p._shortcmd(b64((without_proof + ",p=" + b64(proof)).encode()))
    except poplib.error_proto as e:
        print("scram refused", e.args[0].decode())
        p.quit()
        return
    final = base64.b64decode(resp[2:]).decode()
    print("server proven", final == "v=" + b64(server_signature))
    print("scram", p._shortcmd("").decode())
    print("scram stat", p.stat())
    p.quit()

scram("s3cret")
scram("wrong")
"#;
    let out = python(script, &server.addr);
    assert!(
        out.contains("sasl ['SCRAM-SHA-256', 'PLAIN', 'LOGIN']"),
        "{out}"
    );
    assert!(out.contains("cont + "), "{out}");
    assert!(
        out.contains("cancel -ERR authentication cancelled"),
        "{out}"
    );
    assert!(
        out.contains("b64 -ERR invalid base64 in authentication response"),
        "{out}"
    );
    assert!(
        out.contains("wrong -ERR [AUTH] authentication failed"),
        "{out}"
    );
    assert!(out.contains("plain +OK maildrop has 1 messages"), "{out}");
    assert!(out.contains("stat (1, "), "{out}");
    assert!(out.contains("server proven True"), "{out}");
    assert!(out.contains("scram +OK maildrop has 1 messages"), "{out}");
    assert!(out.contains("scram stat (1, "), "{out}");
    assert!(
        out.contains("scram refused -ERR [AUTH] authentication failed"),
        "{out}"
    );
}

/// Serves `connections` connections one after the other with the server machine over a
/// loopback socket (the example server has no bearer tokens): XOAUTH2 and OAUTHBEARER
/// offered, one fixed token accepted as the identity the client named, any other refused
/// with the RFC 7628 error JSON. Returns what the application saw: every token request
/// (`verify MECH user host port`) and every login (`login MECH identity`).
fn serve_bearer(listener: std::net::TcpListener, connections: usize) -> Vec<String> {
    use postwerk_pop3::sasl::Mechanism;
    use postwerk_pop3::sasl::server::{Answer, ServerMechanisms, Verify};
    use postwerk_pop3::server::{
        Config, Connection, Credentials, Event, LoginDecision, MessageInfo,
    };
    use std::io::{Read, Write};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    let mut mechanisms = ServerMechanisms::new();
    mechanisms.add_builtin(Mechanism::OAuthBearer);
    mechanisms.add_builtin(Mechanism::XOAuth2);
    let mechanisms = Arc::new(mechanisms);
    let mut seen = Vec::new();
    for _ in 0..connections {
        let (mut socket, _) = listener.accept().unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut config = Config::default();
        config.sasl = Arc::clone(&mechanisms);
        // This small driver does not wait for deadlines: no delayed failure replies.
        config.auth_failure_delay = Duration::ZERO;
        let mut conn = Connection::new(config, Instant::now());
        let mut buf = [0u8; 4096];
        loop {
            loop {
                while let Some(event) = conn.poll_event() {
                    match event {
                        Event::SaslVerify { id, request } => {
                            let answer = match request {
                                Verify::Token {
                                    mechanism,
                                    user,
                                    token,
                                    host,
                                    port,
                                } => {
                                    let user = user.unwrap_or_default();
                                    seen.push(format!(
                                        "verify {mechanism} {user} {} {}",
                                        host.unwrap_or_default(),
                                        port.unwrap_or_default()
                                    ));
                                    if token.expose() == "ya29.token" {
                                        Answer::AcceptAs(user)
                                    } else {
                                        Answer::RejectWith(
                                            br#"{"status":"invalid_token","scope":"mail"}"#
                                                .to_vec(),
                                        )
                                    }
                                }
                                _ => Answer::Reject,
                            };
                            conn.answer_sasl(id, answer).unwrap();
                        }
                        Event::Login { id, credentials } => {
                            let Credentials::Sasl { mechanism, .. } = &credentials else {
                                panic!("not a SASL login: {:?}", credentials.identity())
                            };
                            seen.push(format!("login {mechanism} {}", credentials.identity()));
                            let listing = vec![MessageInfo {
                                size: 42,
                                uid: "u1".into(),
                            }];
                            conn.answer_login(id, LoginDecision::Accept(listing))
                                .unwrap();
                        }
                        Event::Commit { id, .. } => conn.answer_commit(id, true).unwrap(),
                        _ => {}
                    }
                }
                match conn.poll_transmit() {
                    Some(bytes) => socket.write_all(&bytes).unwrap(),
                    None => break,
                }
            }
            if conn.is_closed() {
                break;
            }
            match socket.read(&mut buf) {
                Ok(0) | Err(_) => conn.handle_eof(Instant::now()),
                Ok(n) => conn.handle_input(&buf[..n], Instant::now()),
            }
        }
    }
    seen
}

/// poplib (which has no AUTH helper for them) logs in with XOAUTH2 and OAUTHBEARER through
/// `_shortcmd`: a bad token first (the server's `+ ` error challenge carries the JSON
/// status; the client answers it, RFC 7628 3.2.3, and gets `-ERR`), then the good one, and
/// STAT on the maildrop the application listed.
#[test]
fn poplib_sasl_xoauth2_and_oauthbearer() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || serve_bearer(listener, 2));
    let script = r#"
import base64, json, poplib, sys

host, port = sys.argv[1], int(sys.argv[2])

def b64(s):
    return base64.b64encode(s.encode()).decode()

def login(p, mech, message, answer):
    try:
        resp = p._shortcmd("AUTH %s %s" % (mech, b64(message)))
    except poplib.error_proto as e:
        return "refused at once " + e.args[0].decode()
    if resp.startswith(b"+OK"):
        return resp.decode()
    # "+ <base64 JSON>": the error challenge; answer it and expect -ERR.
    error = json.loads(base64.b64decode(resp[2:]))
    print(mech, "challenge", json.dumps(error, sort_keys=True))
    try:
        return "accepted after error " + p._shortcmd(answer).decode()
    except poplib.error_proto as e:
        return "refused " + e.args[0].decode()

def session(mech, make, answer):
    p = poplib.POP3(host, port, timeout=20)
    print(mech, "sasl", p.capa().get("SASL"))
    print(mech, "bad", login(p, mech, make("expired"), answer))
    print(mech, "good", login(p, mech, make("ya29.token"), answer))
    print(mech, "stat", p.stat())
    p.quit()

session("XOAUTH2",
        lambda token: "user=alice@example.org\x01auth=Bearer %s\x01\x01" % token,
        "")
session("OAUTHBEARER",
        lambda token: "n,a=alice@example.org,\x01host=%s\x01port=%d\x01auth=Bearer %s\x01\x01"
            % (host, port, token),
        b64("\x01"))
"#;
    let out = python(script, &addr);
    let seen = server.join().unwrap();
    for mech in ["XOAUTH2", "OAUTHBEARER"] {
        assert!(
            out.contains(&format!("{mech} sasl ['OAUTHBEARER', 'XOAUTH2']")),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                r#"{mech} challenge {{"scope": "mail", "status": "invalid_token"}}"#
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!("{mech} bad refused -ERR [AUTH]")),
            "{out}"
        );
        assert!(out.contains(&format!("{mech} good +OK")), "{out}");
        assert!(out.contains(&format!("{mech} stat (1, 42)")), "{out}");
    }
    let port = addr.rsplit_once(':').unwrap().1;
    assert_eq!(
        seen,
        [
            "verify XOAUTH2 alice@example.org  0".to_owned(),
            "verify XOAUTH2 alice@example.org  0".to_owned(),
            "login XOAUTH2 alice@example.org".to_owned(),
            format!("verify OAUTHBEARER alice@example.org 127.0.0.1 {port}"),
            format!("verify OAUTHBEARER alice@example.org 127.0.0.1 {port}"),
            "login OAUTHBEARER alice@example.org".to_owned(),
        ],
        "{out}"
    );
}
