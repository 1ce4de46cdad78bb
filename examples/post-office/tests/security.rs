//! The adversarial suite: one test (or several variants) per line of
//! `shared/SECURITY.md` that needs a running server, each named after its line and quoting
//! it. Every test starts its own post office on free ports, so they run in parallel.
//!
//! Lines already proved elsewhere, over the same kind of socket: 14 (`policy.rs`
//! `a_user_may_only_send_as_themselves`), 17 (`policy.rs`
//! `submission_needs_a_login_before_mail`), 26 (`policy.rs`
//! `a_nearly_full_disk_refuses_new_mail`), 29 (`crash.rs`, `queue.rs`
//! `acknowledged_messages_survive_kill_9`), 32 (`clients.rs`
//! `pop3_locks_the_maildrop_and_deletes_only_at_quit`); the tests here add variants.

mod common;

use std::time::{Duration, Instant};

use common::raw::{Raw, connect_from, rss_kib, walk};
use common::*;

const LONG: Duration = Duration::from_secs(60);

fn office(extra: &str) -> Office {
    let mut office = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice", "bob"],
        Ports::new(),
        None,
        extra,
    );
    office.start_alone();
    office
}

fn wait_queue_empty(o: &Office) {
    wait_for("the queue to drain", LONG, || {
        (o.queued() == 0).then_some(())
    });
}

/// Starts a transaction for alice and enters DATA.
fn into_data(c: &mut Raw) {
    assert!(c.cmd("MAIL FROM:<x@example.org>").starts_with("250"));
    assert!(c.cmd("RCPT TO:<alice@alpha.test>").starts_with("250"));
    assert!(c.cmd("DATA").starts_with("354"));
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

// ---- 1: smuggling ----------------------------------------------------------------------

/// Sends a message whose body hides a second transaction behind `fake_end`, then checks
/// that no second transaction was started: bob (the hidden recipient) gets nothing, and
/// alice gets either nothing (refused) or exactly one message holding the hidden text.
fn smuggle(fake_end: &[u8]) {
    let o = office("");
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    into_data(&mut c);
    let mut body = b"Subject: first\r\n\r\nbefore".to_vec();
    body.extend_from_slice(fake_end);
    body.extend_from_slice(
        b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<bob@alpha.test>\r\nDATA\r\n\
          Subject: smuggled\r\n\r\nevil\r\n.\r\n",
    );
    c.send(&body);
    let end = c.reply();
    let quit = c.cmd("QUIT");
    assert!(
        quit.starts_with("221"),
        "exactly one reply to the data, then QUIT: {end} / {quit}"
    );
    if end.starts_with("250") {
        let mail = o.wait_for_mail("alice@alpha.test", 1, LONG);
        assert_eq!(mail.len(), 1);
        assert!(
            mail[0].contains("MAIL FROM:<evil@example.org>") && mail[0].contains("evil"),
            "the hidden text is body: {}",
            mail[0]
        );
        wait_queue_empty(&o);
    } else {
        assert!(end.starts_with('5'), "{end}");
        assert_eq!(o.queued(), 0);
        assert!(o.maildir("alice@alpha.test").is_empty());
    }
    assert!(
        o.maildir("bob@alpha.test").is_empty(),
        "a second transaction was smuggled"
    );
}

/// SECURITY.md 1: "End of DATA is exactly `CRLF . CRLF`. None of these ends a message:
/// `LF . LF` ... over a socket, a second `MAIL FROM` hidden behind one of them must never
/// start a second transaction."
#[test]
fn security_01_smuggling_lf_dot_lf_does_not_end_data() {
    smuggle(b"\n.\n");
}

/// SECURITY.md 1: `LF . CRLF` does not end a message.
#[test]
fn security_01_smuggling_lf_dot_crlf_does_not_end_data() {
    smuggle(b"\n.\r\n");
}

/// SECURITY.md 1: `CRLF . LF` does not end a message.
#[test]
fn security_01_smuggling_crlf_dot_lf_does_not_end_data() {
    smuggle(b"\r\n.\n");
}

/// SECURITY.md 1: `CR . CR` does not end a message.
#[test]
fn security_01_smuggling_cr_dot_cr_does_not_end_data() {
    smuggle(b"\r.\r");
}

/// SECURITY.md 1: `CR . CRLF` does not end a message.
#[test]
fn security_01_smuggling_cr_dot_crlf_does_not_end_data() {
    smuggle(b"\r.\r\n");
}

/// SECURITY.md 1: `CR CR LF . CR CR LF` does not end a message.
#[test]
fn security_01_smuggling_cr_cr_lf_dot_cr_cr_lf_does_not_end_data() {
    smuggle(b"\r\r\n.\r\r\n");
}

/// SECURITY.md 1: `CRLF NUL . CRLF` does not end a message.
#[test]
fn security_01_smuggling_crlf_nul_dot_crlf_does_not_end_data() {
    smuggle(b"\r\n\0.\r\n");
}

// ---- 2: bare CR / LF -------------------------------------------------------------------

/// SECURITY.md 2: "A bare CR or bare LF in a command line or in DATA follows the configured
/// policy; the default rejects (5xx after the data, or 421 and close), and never cuts the
/// message short." — command lines.
#[test]
fn security_02_bare_cr_and_lf_in_commands_are_rejected() {
    let o = office("");
    for glue in [&b"\r"[..], b"\n"] {
        let mut c = Raw::ehlo(o.ip, o.ports.smtp);
        let mut line = b"MAIL FROM:<x@example.org>".to_vec();
        line.extend_from_slice(glue);
        line.extend_from_slice(b"RCPT TO:<alice@alpha.test>\r\n");
        c.send(&line);
        let reply = c.reply();
        assert!(reply.starts_with('5'), "{glue:?}: {reply}");
        if reply.starts_with("421") {
            assert!(c.closed_within(LONG).0);
            continue;
        }
        // The hidden RCPT did not run, and no transaction was started.
        let next = c.cmd("RCPT TO:<alice@alpha.test>");
        assert!(next.starts_with("503"), "{glue:?}: {next}");
    }
}

/// SECURITY.md 2: bare CR and bare LF in DATA are refused after the real end of data, and
/// do not cut the message short.
#[test]
fn security_02_bare_cr_and_lf_in_data_are_rejected_after_the_real_end() {
    let o = office("");
    for glue in [&b"\r"[..], b"\n"] {
        let mut c = Raw::ehlo(o.ip, o.ports.smtp);
        into_data(&mut c);
        let mut part = b"Subject: bare\r\n\r\nline one".to_vec();
        part.extend_from_slice(glue);
        part.extend_from_slice(b"line two\r\n");
        c.send(&part);
        assert_eq!(
            c.reply_within(Duration::from_millis(700)),
            None,
            "no reply before the real end of data"
        );
        c.send(b"more\r\n.\r\n");
        let reply = c.reply();
        assert!(reply.starts_with('5'), "{glue:?}: {reply}");
        if !reply.starts_with("421") {
            assert!(c.cmd("NOOP").starts_with("250"));
        }
    }
    assert_eq!(o.queued(), 0);
    assert!(o.maildir("alice@alpha.test").is_empty());
}

// ---- 5–8: sequencing --------------------------------------------------------------------

/// SECURITY.md 5: "A client that talks before the 220 greeting is answered 554 and
/// closed." (`[limits] greeting_delay_ms` makes the post office wait before greeting.)
#[test]
fn security_05_pregreet_talker_gets_554_and_is_closed() {
    let o = office("[limits]\ngreeting_delay_ms = 1500\n");
    let mut c = Raw::connect(o.ip, o.ports.smtp);
    c.send(b"EHLO hasty.example\r\n");
    let reply = c.reply();
    assert!(reply.starts_with("554"), "{reply}");
    assert!(c.closed_within(LONG).0, "closed after 554");
    // A patient client is greeted.
    let mut c = Raw::smtp(o.ip, o.ports.smtp);
    assert!(c.cmd("EHLO patient.example").starts_with("250"));
}

/// SECURITY.md 6: "Commands are answered in order; commands after one that must wait
/// (EHLO, DATA, AUTH, STARTTLS, QUIT, NOOP) in the same segment are not run out of turn."
#[test]
fn security_06_pipelined_commands_are_answered_in_order() {
    let o = office("");
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    c.send(
        b"MAIL FROM:<x@example.org>\r\nRCPT TO:<nobody@alpha.test>\r\n\
          RCPT TO:<alice@alpha.test>\r\nDATA\r\n",
    );
    let replies: Vec<String> = (0..4).map(|_| c.reply()).collect();
    assert!(replies[0].starts_with("250"), "{replies:?}");
    assert!(replies[1].starts_with("550 5.1.1"), "{replies:?}");
    assert!(replies[2].starts_with("250"), "{replies:?}");
    assert!(replies[3].starts_with("354"), "{replies:?}");
    c.send(b"Subject: piped\r\n\r\nbody\r\n.\r\n");
    assert!(c.reply().starts_with("250"));
    o.wait_for_mail("alice@alpha.test", 1, LONG);

    // Commands behind one that must end a group: either answered in order, or the
    // session is ended (554/421) — never a MAIL reply before the EHLO reply.
    let mut c = Raw::smtp(o.ip, o.ports.smtp);
    c.send(b"EHLO client.example\r\nMAIL FROM:<x@example.org>\r\nNOOP\r\n");
    let first = c.reply();
    if first.starts_with("250") {
        assert!(
            first.contains("250-"),
            "the multi-line EHLO reply first: {first}"
        );
        let second = c.reply_within(LONG);
        if let Some(second) = second {
            assert!(
                second.starts_with("250") || second.starts_with("554") || second.starts_with("421"),
                "{second}"
            );
        }
    } else {
        assert!(
            first.starts_with("554") || first.starts_with("421"),
            "{first}"
        );
        assert!(c.closed_within(LONG).0);
    }
}

/// SECURITY.md 7: "RCPT before MAIL, DATA before any accepted RCPT, MAIL inside a
/// transaction: 503."
#[test]
fn security_07_out_of_sequence_commands_get_503() {
    let o = office("");
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    assert!(c.cmd("RCPT TO:<alice@alpha.test>").starts_with("503"));
    assert!(c.cmd("DATA").starts_with("503"));
    assert!(c.cmd("MAIL FROM:<x@example.org>").starts_with("250"));
    assert!(c.cmd("DATA").starts_with("503"), "DATA before any RCPT");
    assert!(c.cmd("RCPT TO:<nobody@alpha.test>").starts_with("550"));
    let data = c.cmd("DATA");
    assert!(
        data.starts_with("503") || data.starts_with("554"),
        "DATA with no accepted RCPT: {data}"
    );
    assert!(c.cmd("MAIL FROM:<y@example.org>").starts_with("503"));
    // MAIL before EHLO too.
    let mut c = Raw::smtp(o.ip, o.ports.smtp);
    assert!(c.cmd("MAIL FROM:<x@example.org>").starts_with("503"));
}

/// SECURITY.md 8: "Argument syntax is strict and complete: trailing junk after a path or a
/// parameter is a 501, not silently ignored (`MAIL FROM:<>>>>>` is an error)."
#[test]
fn security_08_trailing_junk_after_a_path_is_501() {
    let o = office("");
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    for bad in [
        "MAIL FROM:<>>>>>",
        "MAIL FROM:<x@example.org>>",
        "MAIL FROM:<x@example.org>junk",
        "MAIL FROM:<x@example.org> SIZE=10junk",
        "MAIL FROM:x@example.org",
    ] {
        let reply = c.cmd(bad);
        assert!(reply.starts_with("501"), "{bad}: {reply}");
    }
    assert!(c.cmd("MAIL FROM:<x@example.org>").starts_with("250"));
    for bad in [
        "RCPT TO:<alice@alpha.test>>",
        "RCPT TO:<alice@alpha.test>x",
        "RCPT TO:<<alice@alpha.test>",
    ] {
        let reply = c.cmd(bad);
        assert!(reply.starts_with("501"), "{bad}: {reply}");
    }
}

// ---- 9, 11, 12: TLS and authentication -----------------------------------------------

const STARTTLS_INJECTION: &str = r#"
import socket, ssl, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((host, port), 30)
def reader(sock):
    buf = b""
    def line():
        nonlocal buf
        while b"\n" not in buf:
            d = sock.recv(4096)
            if not d: return None
            buf += d
        l, buf = buf.split(b"\n", 1)
        return l.decode().rstrip("\r")
    def reply():
        lines = []
        while True:
            l = line()
            if l is None: return "EOF " + " | ".join(lines)
            lines.append(l)
            if len(l) < 4 or l[3] != "-": return " | ".join(lines)
    return reply, lambda: buf
reply, left = reader(s)
print(reply())
s.sendall(b"EHLO client.example\r\n"); print(reply())
s.sendall(b"STARTTLS\r\nNOOP\r\n")
r = reply(); print(r)
print("cleartext left:", repr(left()))
if r.startswith("220"):
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(s, server_hostname="mx.alpha.test")
    t.settimeout(1.5)
    try:
        d = t.recv(4096); print("INJECTED", repr(d))
    except (socket.timeout, TimeoutError):
        print("SILENT")
    t.settimeout(30)
    treply, _ = reader(t)
    t.sendall(b"EHLO client.example\r\n"); print(treply())
    t.sendall(b"STARTTLS\r\n"); print(treply())
"#;

/// SECURITY.md 9: "After `220 Ready to start TLS` ... every byte already buffered is
/// discarded and the session state is reset; `STARTTLS\r\nNOOP\r\n` in one segment must
/// not produce a NOOP reply inside TLS. A second STARTTLS is refused."
#[test]
fn security_09_starttls_injection_gets_no_reply_inside_tls() {
    let o = office("");
    for port in [o.ports.smtp, o.ports.submission] {
        let out = python(STARTTLS_INJECTION, &[o.ip, &port.to_string()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        let ctx = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{ctx}");
        assert_eq!(lines[3], "cleartext left: b''", "{ctx}");
        if lines[2].starts_with("220") {
            assert_eq!(lines[4], "SILENT", "{ctx}");
            assert!(
                lines[5].starts_with("250-"),
                "a fresh EHLO inside TLS: {ctx}"
            );
            assert!(
                lines[5].contains("AUTH") && !lines[5].contains("STARTTLS"),
                "{ctx}"
            );
            assert!(lines[6].starts_with("503"), "second STARTTLS: {ctx}");
        } else {
            // Refusing the illegal pipelining outright is also safe.
            assert!(lines[2].starts_with("554"), "{ctx}");
        }
    }
}

const STLS_INJECTION: &str = r#"
import socket, ssl, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((host, port), 30)
def readline(sock):
    b = b""
    while not b.endswith(b"\n"):
        d = sock.recv(1)
        if not d: return "EOF " + b.decode()
        b += d
    return b.decode().rstrip("\r\n")
print(readline(s))
s.sendall(b"STLS\r\nNOOP\r\nCAPA\r\n")
r = readline(s); print(r)
if r.startswith("+OK"):
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(s, server_hostname="mx.alpha.test")
    t.settimeout(1.5)
    try:
        d = t.recv(4096); print("INJECTED", repr(d))
    except (socket.timeout, TimeoutError):
        print("SILENT")
    t.settimeout(30)
    t.sendall(b"STLS\r\n"); print(readline(t))
"#;

/// SECURITY.md 9 (POP3): after `+OK` to STLS, `NOOP`/`CAPA` pipelined behind it in
/// cleartext get no reply inside TLS; a second STLS is refused.
#[test]
fn security_09_stls_injection_gets_no_reply_inside_tls() {
    let o = office("");
    let out = python(STLS_INJECTION, &[o.ip, &o.ports.pop3.to_string()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let ctx = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{ctx}");
    assert!(lines[0].starts_with("+OK"), "{ctx}");
    if lines[1].starts_with("+OK") {
        assert_eq!(lines[2], "SILENT", "{ctx}");
        assert!(lines[3].starts_with("-ERR"), "second STLS: {ctx}");
    } else {
        assert!(lines[1].starts_with("-ERR"), "{ctx}");
    }
}

/// SECURITY.md 11: "In cleartext, no plaintext-password mechanism is advertised or
/// accepted (SMTP AUTH PLAIN/LOGIN, POP3 USER/PASS/AUTH PLAIN) unless the operator
/// explicitly allows it." — SMTP, on both listeners.
#[test]
fn security_11_smtp_cleartext_auth_is_neither_advertised_nor_accepted() {
    let o = office("");
    let plain = b64(b"\0alice@alpha.test\0correct horse battery");
    for port in [o.ports.smtp, o.ports.submission] {
        let mut c = Raw::smtp(o.ip, port);
        let ehlo = c.cmd("EHLO client.example");
        assert!(ehlo.contains("STARTTLS"), "{ehlo}");
        assert!(
            !ehlo.contains("PLAIN") && !ehlo.contains("LOGIN"),
            "advertised in cleartext: {ehlo}"
        );
        let reply = c.cmd(&format!("AUTH PLAIN {plain}"));
        assert!(reply.starts_with('5'), "{reply}");
        let reply = c.cmd("AUTH LOGIN");
        assert!(reply.starts_with('5'), "{reply}");
        assert!(
            !c.cmd("MAIL FROM:<alice@alpha.test>").starts_with("250") || port == o.ports.smtp,
            "not logged in"
        );
    }
}

/// SECURITY.md 11 — POP3: USER/PASS and AUTH PLAIN are refused before STLS.
#[test]
fn security_11_pop3_cleartext_user_pass_is_refused() {
    let o = office("");
    let mut c = Raw::connect(o.ip, o.ports.pop3);
    assert!(c.line().starts_with("+OK"));
    c.send(b"CAPA\r\n");
    let mut capa = Vec::new();
    assert!(c.line().starts_with("+OK"));
    loop {
        let l = c.line();
        if l == "." {
            break;
        }
        capa.push(l);
    }
    assert!(capa.iter().any(|l| l == "STLS"), "{capa:?}");
    assert!(
        !capa.iter().any(|l| l == "USER" || l.contains("PLAIN")),
        "{capa:?}"
    );
    c.send(b"USER alice@alpha.test\r\n");
    assert!(c.line().starts_with("-ERR"));
    c.send(format!("PASS {PASSWORD}\r\n").as_bytes());
    assert!(c.line().starts_with("-ERR"));
    let plain = b64(format!("\0alice@alpha.test\0{PASSWORD}").as_bytes());
    c.send(format!("AUTH PLAIN {plain}\r\n").as_bytes());
    assert!(c.line().starts_with("-ERR"));
    c.send(b"STAT\r\n");
    assert!(c.line().starts_with("-ERR"), "not logged in");
}

const AUTH_RULES: &str = r#"
import smtplib, ssl, sys, time, base64
host, port, mx, password = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
def plain(user, pw):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode()).decode()
def show(tag, r):
    print(tag, r[0], r[1].decode().replace("\n", " "))
s = smtplib.SMTP(host, port, timeout=30); s.starttls(context=ctx); s.ehlo()
print("advertised", "PLAIN" in s.esmtp_features.get("auth", ""))
show("login-then-star", s.docmd("AUTH LOGIN"))
show("star", s.docmd("*"))
show("good", s.docmd("AUTH PLAIN " + plain("alice@alpha.test", password)))
show("twice", s.docmd("AUTH PLAIN " + plain("alice@alpha.test", password)))
s.close()
# AUTH inside a transaction (MX listener, not logged in).
s = smtplib.SMTP(host, mx, timeout=30); s.starttls(context=ctx); s.ehlo()
show("mail", s.docmd("MAIL FROM:<x@example.org>"))
show("in-transaction", s.docmd("AUTH PLAIN " + plain("alice@alpha.test", password)))
s.close()
# Brute force: each failure delayed; the connection closed after a few.
s = smtplib.SMTP(host, port, timeout=30); s.starttls(context=ctx); s.ehlo()
for i in range(6):
    t = time.time()
    try:
        r = s.docmd("AUTH PLAIN " + plain("alice@alpha.test", "wrong%d" % i))
    except smtplib.SMTPServerDisconnected:
        print("closed after", i, "failures"); break
    print("bad %.2f" % (time.time() - t), r[0], r[1].decode())
    if r[0] == 421:
        try:
            s.docmd("NOOP"); print("still open")
        except smtplib.SMTPServerDisconnected:
            print("closed after", i + 1, "failures")
        break
"#;

/// SECURITY.md 12: "AUTH twice, AUTH inside a transaction: 503. `*` cancels with 501.
/// Bad credentials: 535 5.7.8 / `-ERR [AUTH]`. Failed logins are delayed, and a connection
/// is closed after a few failures." — SMTP.
#[test]
fn security_12_smtp_auth_rules_and_brute_force() {
    let o = office("");
    let out = python(
        AUTH_RULES,
        &[
            o.ip,
            &o.ports.submission.to_string(),
            &o.ports.smtp.to_string(),
            PASSWORD,
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let ctx = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{ctx}");
    let find = |tag: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{tag} ")))
            .unwrap_or_else(|| panic!("{tag}: {ctx}"))
            .to_owned()
    };
    assert_eq!(find("advertised"), "advertised True", "{ctx}");
    assert!(
        find("login-then-star").starts_with("login-then-star 334"),
        "{ctx}"
    );
    assert!(find("star").starts_with("star 501"), "{ctx}");
    assert!(find("good").starts_with("good 235"), "{ctx}");
    assert!(find("twice").starts_with("twice 503"), "{ctx}");
    assert!(find("mail").starts_with("mail 250"), "{ctx}");
    assert!(
        find("in-transaction").starts_with("in-transaction 503"),
        "{ctx}"
    );
    let bad: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("bad ") && l.contains(" 535 "))
        .collect();
    assert!(bad.len() >= 2, "{ctx}");
    for line in &bad {
        assert!(line.contains(" 535 5.7.8"), "{ctx}");
    }
    // Every failure that leaves the connection open is answered only after a delay (the
    // last one, which closes the connection, is answered at once by the machine).
    for line in &bad[..bad.len() - 1] {
        let secs: f64 = line.split(' ').nth(1).unwrap().parse().unwrap();
        assert!(secs >= 0.9, "failed logins are delayed: {ctx}");
    }
    let closed = find("closed");
    let after: usize = closed.split(' ').nth(2).unwrap().parse().unwrap();
    assert!(
        (1..=5).contains(&after),
        "closed after a few failures: {ctx}"
    );
}

const POP3_BAD_LOGIN: &str = r#"
import poplib, ssl, sys
host, port = sys.argv[1], int(sys.argv[2])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3(host, port, timeout=30)
p.stls(ctx)
p.user("alice@alpha.test")
try:
    p.pass_("wrong"); print("accepted")
except poplib.error_proto as e:
    print(e.args[0].decode())
"#;

/// SECURITY.md 12 — POP3: bad credentials get `-ERR [AUTH]`.
#[test]
fn security_12_pop3_bad_credentials_get_err_auth() {
    let o = office("");
    let out = python(POP3_BAD_LOGIN, &[o.ip, &o.ports.pop3.to_string()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("-ERR [AUTH]"), "{stdout}{out:?}");
}

// ---- 16–20: relay control --------------------------------------------------------------

/// SECURITY.md 16: "The SMTP (MX) listener accepts RCPT only for local domains; any other
/// destination without login is refused (554 5.7.1). Tested from loopback too: no address
/// is trusted by default." — every form of relay attempt, from 127.0.0.1.
#[test]
fn security_16_every_relay_attempt_from_loopback_is_refused() {
    let o = office("");
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    assert!(c.cmd("MAIL FROM:<x@example.org>").starts_with("250"));
    let relays = [
        "RCPT TO:<victim@example.net>",
        "RCPT TO:<alice@alpha.test.example.net>",
        "RCPT TO:<alice@example.net>",
        "RCPT TO:<victim@ALPHA.TEST.example.net>",
        "RCPT TO:<victim@[192.0.2.1]>",
    ];
    for rcpt in relays {
        let reply = c.cmd(rcpt);
        assert!(reply.starts_with("554 5.7.1"), "{rcpt}: {reply}");
    }
    let tricks = [
        "RCPT TO:<victim@example.net.>",
        "RCPT TO:alice@alpha.test <victim@example.net>",
        "RCPT TO:<victim%example.net@alpha.test>",
        "RCPT TO:<example.net!victim@alpha.test>",
        "RCPT TO:<@alpha.test:victim@example.net>",
        "RCPT TO:<\"victim@example.net\"@alpha.test>",
        "RCPT TO:<victim@example.net@alpha.test>",
    ];
    for rcpt in tricks {
        let reply = c.cmd(rcpt);
        assert!(reply.starts_with('5'), "{rcpt}: {reply}");
    }
    // Local domains in other spellings are local: accepted for a real user.
    for rcpt in ["RCPT TO:<alice@ALPHA.TEST>", "RCPT TO:<ALICE@alpha.test>"] {
        let reply = c.cmd(rcpt);
        assert!(reply.starts_with("250"), "{rcpt}: {reply}");
    }
    let reply = c.cmd("RCPT TO:<alice@alpha.test.>");
    assert!(
        reply.starts_with("250") || reply.starts_with("5"),
        "trailing dot: {reply}"
    );
    assert!(c.cmd("DATA").starts_with("354"));
    c.send(b"Subject: local only\r\n\r\nbody\r\n.\r\n");
    assert!(c.reply().starts_with("250"));
    o.wait_for_mail("alice@alpha.test", 1, LONG);
    wait_queue_empty(&o);
    assert!(
        !o.log().contains("delivery attempt failed"),
        "nothing was relayed: {}",
        o.log()
    );
}

/// SECURITY.md 18: "Source routes and other routing tricks to local domains are refused:
/// `u%x@ours`, `x!u@ours`, `@ours:u@x` (the route is dropped as RFC 5321 says),
/// `"u@x"@ours`." — upper-case and quoted variants.
#[test]
fn security_18_routing_tricks_in_other_spellings_are_refused() {
    let o = office("");
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    assert!(c.cmd("MAIL FROM:<x@example.org>").starts_with("250"));
    for rcpt in [
        "RCPT TO:<ALICE%EXAMPLE.NET@ALPHA.TEST>",
        "RCPT TO:<alice%alpha.test@alpha.test>",
        "RCPT TO:<EXAMPLE.NET!ALICE@ALPHA.TEST>",
        "RCPT TO:<@ALPHA.TEST,@alpha.test:alice@example.net>",
        "RCPT TO:<\"ALICE@EXAMPLE.NET\"@alpha.test>",
        "RCPT TO:<\"alice%example.net\"@alpha.test>",
    ] {
        let reply = c.cmd(rcpt);
        assert!(reply.starts_with('5'), "{rcpt}: {reply}");
    }
    // A source route to a local mailbox is dropped, leaving the mailbox.
    let reply = c.cmd("RCPT TO:<@example.net:alice@alpha.test>");
    assert!(reply.starts_with("250"), "{reply}");
}

/// SECURITY.md 19: "Local parts never become paths by concatenation: `../`, `/`, NUL,
/// control characters cannot escape a mailbox directory."
#[test]
fn security_19_path_escapes_in_local_parts_create_nothing() {
    let o = office("");
    let root = o.dir.path().to_path_buf();
    let before: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let mail_before = walk(&o.data().join("mail"));
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    assert!(c.cmd("MAIL FROM:<x@example.org>").starts_with("250"));
    let attempts: [&[u8]; 10] = [
        b"RCPT TO:<../../escape@alpha.test>\r\n",
        b"RCPT TO:<\"../../escape\"@alpha.test>\r\n",
        b"RCPT TO:<\"/tmp/escape\"@alpha.test>\r\n",
        b"RCPT TO:<a/b@alpha.test>\r\n",
        b"RCPT TO:<..@alpha.test>\r\n",
        b"RCPT TO:<\"..\"@alpha.test>\r\n",
        b"RCPT TO:<\"alice\x00x\"@alpha.test>\r\n",
        b"RCPT TO:<\"al\x01ice\"@alpha.test>\r\n",
        b"RCPT TO:<\"alice\\\x7f\"@alpha.test>\r\n",
        b"RCPT TO:<alice@../../alpha.test>\r\n",
    ];
    for line in attempts {
        c.send(line);
        let reply = c.reply();
        assert!(
            reply.starts_with('5'),
            "{}: {reply}",
            String::from_utf8_lossy(line)
        );
    }
    assert!(c.cmd("RCPT TO:<alice@alpha.test>").starts_with("250"));
    assert!(c.cmd("DATA").starts_with("354"));
    c.send(b"Subject: ok\r\n\r\nbody\r\n.\r\n");
    assert!(c.reply().starts_with("250"));
    o.wait_for_mail("alice@alpha.test", 1, LONG);
    let after: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let mut expect = before.clone();
    if !expect.iter().any(|n| n == "log.txt") {
        expect.push("log.txt".into());
    }
    let mut got = after.clone();
    got.sort();
    expect.sort();
    assert_eq!(got, expect, "nothing new beside the data dir");
    for path in walk(&o.data().join("mail")) {
        if mail_before.contains(&path) {
            continue;
        }
        let rel = path.strip_prefix(o.data().join("mail")).unwrap();
        let first = rel.components().next().unwrap().as_os_str();
        assert_eq!(
            first, "alice@alpha.test",
            "unexpected mailbox path {path:?}"
        );
    }
    assert!(!std::path::Path::new("/tmp/escape").exists());
}

/// SECURITY.md 20: "Unknown local users are refused at RCPT with 550 5.1.1 (no backscatter
/// later)." — mixed with a real user: the real one gets the message, no bounce is queued.
#[test]
fn security_20_unknown_users_are_refused_at_rcpt_without_backscatter() {
    let o = office("");
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    assert!(c.cmd("MAIL FROM:<x@example.org>").starts_with("250"));
    assert!(
        c.cmd("RCPT TO:<nobody@alpha.test>")
            .starts_with("550 5.1.1")
    );
    assert!(c.cmd("RCPT TO:<alice@alpha.test>").starts_with("250"));
    assert!(
        c.cmd("RCPT TO:<Nobody+x@ALPHA.test>")
            .starts_with("550 5.1.1")
    );
    assert!(c.cmd("DATA").starts_with("354"));
    c.send(b"Subject: mixed\r\n\r\nbody\r\n.\r\n");
    assert!(c.reply().starts_with("250"));
    o.wait_for_mail("alice@alpha.test", 1, LONG);
    wait_queue_empty(&o);
    assert!(!o.log().contains("bounce queued"), "{}", o.log());
}

// ---- 21–25: limits and denial of service -----------------------------------------------

/// SECURITY.md 21: "500 line too long" for a command line over the limit; the session
/// goes on.
#[test]
fn security_21_overlong_command_line_gets_500() {
    let o = office("");
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    let line = format!("NOOP {}\r\n", "x".repeat(4000));
    c.send(line.as_bytes());
    let reply = c.reply();
    assert!(reply.starts_with("500"), "{reply}");
    assert!(c.cmd("NOOP").starts_with("250"));
    // A 513-octet MAIL line is still fine (the limit grows with SIZE/DSN/AUTH), but one
    // far beyond any extension increment is not.
    let long_local = "a".repeat(2000);
    let reply = c.cmd(&format!("MAIL FROM:<{long_local}@example.org>"));
    assert!(reply.starts_with("500"), "{reply}");
}

/// SECURITY.md 21: "At least: 512-octet command lines, 1000-octet text lines, 64-octet
/// local parts, 255-octet domains" — the RFC minimums themselves are accepted.
#[test]
fn security_21_rfc_minimum_sizes_are_accepted() {
    let o = office("");
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    let local = "l".repeat(64);
    let domain = ["a", "b", "c", "d"].map(|l| l.repeat(63)).join(".");
    assert_eq!(domain.len(), 255);
    let reply = c.cmd(&format!("MAIL FROM:<{local}@{domain}>"));
    assert!(reply.starts_with("250"), "{reply}");
    let reply = c.cmd(&format!("RCPT TO:<{local}@alpha.test>"));
    assert!(
        reply.starts_with("550 5.1.1"),
        "an unknown user, not a syntax error: {reply}"
    );
    let padded = format!("NOOP {}", "p".repeat(512 - 5 - 2));
    assert_eq!(padded.len() + 2, 512);
    assert!(
        c.cmd(&padded).starts_with("250"),
        "a 512-octet command line"
    );
    assert!(c.cmd("RCPT TO:<alice@alpha.test>").starts_with("250"));
    assert!(c.cmd("DATA").starts_with("354"));
    let body = format!("Subject: long line\r\n\r\n{}\r\n.\r\n", "t".repeat(998));
    c.send(body.as_bytes());
    let reply = c.reply();
    assert!(reply.starts_with("250"), "a 1000-octet text line: {reply}");
    let mail = o.wait_for_mail("alice@alpha.test", 1, LONG);
    assert!(mail[0].contains(&"t".repeat(998)));
}

/// SECURITY.md 21: "552 5.3.4 message too big (SIZE= and counted during DATA/BDAT)".
#[test]
fn security_21_oversized_messages_get_552_5_3_4() {
    let o = office("[limits]\nmax_message_size = 65536\n");
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    let reply = c.cmd("MAIL FROM:<x@example.org> SIZE=100000");
    assert!(reply.starts_with("552 5.3.4"), "{reply}");
    // DATA, no SIZE given.
    into_data(&mut c);
    let line = format!("{}\r\n", "y".repeat(70));
    let mut body = b"Subject: big\r\n\r\n".to_vec();
    while body.len() < 100_000 {
        body.extend_from_slice(line.as_bytes());
    }
    body.extend_from_slice(b".\r\n");
    c.send(&body);
    let reply = c.reply();
    assert!(reply.starts_with("552 5.3.4"), "{reply}");
    // BDAT.
    assert!(c.cmd("MAIL FROM:<x@example.org>").starts_with("250"));
    assert!(c.cmd("RCPT TO:<alice@alpha.test>").starts_with("250"));
    let chunk = &body[..body.len() - 3];
    c.send(format!("BDAT {} LAST\r\n", chunk.len()).as_bytes());
    c.send(chunk);
    let reply = c.reply();
    assert!(reply.starts_with("552 5.3.4"), "{reply}");
    assert!(c.cmd("NOOP").starts_with("250"));
    assert_eq!(o.queued(), 0);
    assert!(o.maildir("alice@alpha.test").is_empty());
}

/// SECURITY.md 21: "452 4.5.3 too many recipients (never 552, never dropping earlier
/// ones)" — the 101st recipient; the message goes to the first 100.
#[test]
fn security_21_the_101st_recipient_gets_452_4_5_3() {
    let o = office("");
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    assert!(c.cmd("MAIL FROM:<x@example.org>").starts_with("250"));
    for i in 0..100 {
        let user = if i % 2 == 0 { "alice" } else { "bob" };
        let reply = c.cmd(&format!("RCPT TO:<{user}+{i}@alpha.test>"));
        assert!(reply.starts_with("250"), "{i}: {reply}");
    }
    let reply = c.cmd("RCPT TO:<alice+100@alpha.test>");
    assert!(reply.starts_with("452 4.5.3"), "{reply}");
    assert!(c.cmd("DATA").starts_with("354"));
    c.send(b"Subject: many\r\n\r\nbody\r\n.\r\n");
    assert!(c.reply().starts_with("250"));
    let alice = o.wait_for_mail("alice@alpha.test", 1, LONG);
    let bob = o.wait_for_mail("bob@alpha.test", 1, LONG);
    assert!(alice[0].contains("Subject: many") && bob[0].contains("Subject: many"));
}

/// SECURITY.md 21: text lines over 1000 octets in DATA are refused after the data.
#[test]
fn security_21_overlong_text_line_is_refused_after_the_data() {
    let o = office("");
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    into_data(&mut c);
    let body = format!("Subject: long\r\n\r\n{}\r\nend\r\n.\r\n", "z".repeat(1500));
    c.send(body.as_bytes());
    let reply = c.reply();
    assert!(reply.starts_with('5'), "{reply}");
    assert!(c.cmd("NOOP").starts_with("250"));
    assert_eq!(o.queued(), 0);
}

/// SECURITY.md 22: "Memory stays flat when a peer sends 1 MiB without a line end, an
/// endless DATA, or an endless SASL exchange."
#[test]
fn security_22_endless_input_keeps_memory_flat() {
    let mut o = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice", "bob"],
        Ports::new(),
        None,
        "[limits]\nmax_message_size = 1048576\n",
    );
    // SASL needs a plaintext mechanism in cleartext here: a root-level key, put first.
    let text = std::fs::read_to_string(&o.config).unwrap();
    std::fs::write(&o.config, format!("allow_plaintext_auth = true\n{text}")).unwrap();
    o.start_alone();
    let pid = o.pid().unwrap();
    // Warm up: one ordinary session.
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    assert!(c.cmd("QUIT").starts_with("221"));
    let base = rss_kib(pid);
    let mib = vec![b'A'; 1024 * 1024];

    // 1 MiB (and more) without a line end, as a command.
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    let mut sent = 0;
    while sent < 4 && c.try_send(&mib) {
        sent += 1;
    }
    let _ = c.try_send(b"\r\n");
    let reply = c.reply_within(LONG).unwrap_or_default();
    assert!(
        reply.is_empty() || reply.starts_with('5') || reply.starts_with("421"),
        "{reply}"
    );

    // Endless DATA: 24 MiB of lines, far beyond the message size.
    let mut d = Raw::ehlo(o.ip, o.ports.smtp);
    into_data(&mut d);
    let mut lines = Vec::with_capacity(1024 * 1024);
    while lines.len() < 1024 * 1024 - 80 {
        lines.extend_from_slice(&[b'd'; 78]);
        lines.extend_from_slice(b"\r\n");
    }
    for _ in 0..24 {
        if !d.try_send(&lines) {
            break;
        }
    }
    let _ = d.try_send(b".\r\n");
    let reply = d.reply_within(LONG).unwrap_or_default();
    assert!(
        reply.is_empty() || reply.starts_with("552") || reply.starts_with("421"),
        "{reply}"
    );

    // Endless SASL: a response line without end.
    let mut s = Raw::ehlo(o.ip, o.ports.smtp);
    let reply = s.cmd("AUTH LOGIN");
    assert!(reply.starts_with("334"), "{reply}");
    let mut sent = 0;
    while sent < 4 && s.try_send(&mib) {
        sent += 1;
    }
    let _ = s.try_send(b"\r\n");
    let reply = s.reply_within(LONG).unwrap_or_default();
    assert!(
        reply.is_empty() || reply.starts_with('5') || reply.starts_with("421"),
        "{reply}"
    );

    let peak = rss_kib(pid);
    assert!(
        peak.saturating_sub(base) < 32 * 1024,
        "RSS grew from {base} KiB to {peak} KiB"
    );
    // Still serving.
    let t = Instant::now();
    let mut n = Raw::ehlo(o.ip, o.ports.smtp);
    assert!(n.cmd("NOOP").starts_with("250"));
    assert!(t.elapsed() < Duration::from_secs(10));
    assert_eq!(o.queued(), 0);
}

/// SECURITY.md 23: "Timeouts: the server waits at least 5 minutes for a command
/// (configurable), closes idle and too-slow sessions, and a stalled peer never hangs a
/// worker forever." — with a 2-second command and data timeout.
#[test]
fn security_23_silent_and_stalled_clients_are_closed_with_421() {
    let o = office("[limits]\ncommand_timeout_secs = 2\ndata_timeout_secs = 2\n");
    let mut silent = Raw::smtp(o.ip, o.ports.smtp);
    let mut stalled = Raw::ehlo(o.ip, o.ports.smtp);
    into_data(&mut stalled);
    stalled.send(b"Subject: half\r\n\r\nhalf a li");
    let t = Instant::now();
    let reply = silent.reply();
    assert!(reply.starts_with("421"), "{reply}");
    assert!(silent.closed_within(LONG).0);
    assert!(
        t.elapsed() >= Duration::from_millis(1500),
        "not before the timeout"
    );
    let reply = stalled.reply();
    assert!(reply.starts_with("421"), "{reply}");
    assert!(stalled.closed_within(LONG).0);
    // Meanwhile and afterwards, others are served; the half message was not kept.
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    assert!(c.cmd("NOOP").starts_with("250"));
    assert_eq!(o.queued(), 0);
    assert!(o.maildir("alice@alpha.test").is_empty());
}

/// SECURITY.md 23: "a stalled peer never hangs a worker forever" — a client that pipelines
/// commands and never reads the replies is closed once the write timeout passes.
#[test]
fn security_23_a_peer_that_never_reads_is_closed() {
    let o = office("[limits]\ncommand_timeout_secs = 2\ndata_timeout_secs = 2\n");
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    let batch = b"RSET\r\n".repeat(10_000);
    let start = Instant::now();
    let mut written = 0usize;
    let closed = loop {
        if start.elapsed() > LONG {
            break false;
        }
        c.stream
            .set_write_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        match std::io::Write::write(&mut c.stream, &batch) {
            Ok(n) => written += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break true,
        }
    };
    assert!(
        closed,
        "the server kept a non-reading peer for {:?} ({written} octets written)",
        start.elapsed()
    );
    // Others are still served.
    let mut n = Raw::ehlo(o.ip, o.ports.smtp);
    assert!(n.cmd("NOOP").starts_with("250"));
}

/// SECURITY.md 24: "After too many errors in one session (e.g. 20) the server replies 421
/// and closes."
#[test]
fn security_24_too_many_errors_get_421_and_close() {
    let o = office("");
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    let mut replies = Vec::new();
    for _ in 0..30 {
        if !c.try_send(b"XYZZY\r\n") {
            break;
        }
        match c.reply_within(LONG) {
            Some(r) => {
                let done = r.starts_with("421");
                replies.push(r);
                if done {
                    break;
                }
            }
            None => break,
        }
    }
    let last = replies.last().cloned().unwrap_or_default();
    assert!(last.starts_with("421"), "{replies:?}");
    assert!(
        (2..=21).contains(&replies.len()),
        "closed after ~20 errors: {}",
        replies.len()
    );
    assert!(c.closed_within(LONG).0);
}

/// SECURITY.md 25: "Many slow connections (slowloris) do not stop the server from serving
/// a new client" — 1,000 connections trickle a byte per second while new clients get
/// their 220 and EHLO reply in under a second.
#[test]
fn security_25_slowloris_does_not_starve_new_clients() {
    let o = office("[limits]\nmax_connections = 1100\nmax_connections_per_ip = 1100\n");
    let mut slow = Vec::new();
    for i in 0..1000 {
        let s = std::net::TcpStream::connect((o.ip, o.ports.smtp))
            .unwrap_or_else(|e| panic!("connection {i}: {e}"));
        s.set_nodelay(true).unwrap();
        slow.push(s);
    }
    let pattern = b"EHLO slowloris.example\r\nMAIL FROM:<x@example.org>\r\n";
    let start = Instant::now();
    let mut worst = Duration::ZERO;
    let mut probes = 0;
    let mut tick = 0;
    while start.elapsed() < Duration::from_secs(7) {
        let byte = [pattern[tick % pattern.len()]];
        for s in &mut slow {
            let _ = std::io::Write::write_all(s, &byte);
        }
        tick += 1;
        let t = Instant::now();
        let mut c = Raw::smtp(o.ip, o.ports.smtp);
        let reply = c.cmd("EHLO probe.example");
        assert!(reply.starts_with("250"), "{reply}");
        worst = worst.max(t.elapsed());
        probes += 1;
        // The trickle is one byte per connection per second.
        let next = start + Duration::from_secs(tick as u64);
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    assert!(probes >= 5);
    assert!(
        worst < Duration::from_secs(1),
        "a new client waited {worst:?} for 220 + EHLO"
    );
}

/// SECURITY.md 25: "concurrent connections are capped, per client address too" — the
/// overall cap, with clients on different loopback addresses.
#[test]
fn security_25_overall_connection_cap_gets_421() {
    let o = office("[limits]\nmax_connections = 3\nmax_connections_per_ip = 10\n");
    let mut held = Vec::new();
    for src in ["127.0.0.11", "127.0.0.12", "127.0.0.13"] {
        let mut r = Raw::from_stream(connect_from(src, o.ip, o.ports.smtp));
        assert!(r.reply().starts_with("220"));
        held.push(r);
    }
    let mut fourth = Raw::from_stream(connect_from("127.0.0.14", o.ip, o.ports.smtp));
    let reply = fourth.reply();
    assert!(reply.starts_with("421 4.7.0"), "{reply}");
    assert!(fourth.closed_within(LONG).0);
    drop(held);
    wait_for("a free slot", LONG, || {
        let mut c = Raw::connect(o.ip, o.ports.smtp);
        c.reply_within(LONG).filter(|r| r.starts_with("220"))
    });
}

// ---- 26, 30, 33, 35: queue and delivery ------------------------------------------------

/// SECURITY.md 26: "Refuse new mail with 452 4.3.1 when the disk is too full to store it."
/// — on the submission listener after login, too.
#[test]
fn security_26_disk_full_refuses_with_452_4_3_1() {
    let o = office("[limits]\nmin_free_bytes = 18446744073709551615\n");
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    for from in ["MAIL FROM:<x@example.org>", "MAIL FROM:<>"] {
        let reply = c.cmd(from);
        assert!(reply.starts_with("452 4.3.1"), "{from}: {reply}");
    }
    assert!(c.cmd("RCPT TO:<alice@alpha.test>").starts_with("503"));
}

/// SECURITY.md 30: "Queue files are self-checking (complete marker / length); a torn or
/// corrupt file is moved aside and logged, never delivered half." — garbage and an empty
/// file left in the queue before start.
#[test]
fn security_30_corrupt_queue_files_are_moved_aside() {
    let mut o = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice"],
        Ports::new(),
        None,
        "",
    );
    let queue = o.data().join("queue");
    std::fs::create_dir_all(&queue).unwrap();
    std::fs::write(
        queue.join("0000000000000007.msg"),
        b"from x@example.org\nto alice@alpha.test\n\nSubject: forged\r\n\r\nno marker\r\n",
    )
    .unwrap();
    std::fs::write(queue.join("0000000000000008.msg"), b"").unwrap();
    o.start_alone();
    wait_for("corrupt files moved aside", LONG, || {
        (queue.join("corrupt/0000000000000007.msg").is_file()
            && queue.join("corrupt/0000000000000008.msg").is_file())
        .then_some(())
    });
    assert_eq!(o.queued(), 0);
    assert!(o.maildir("alice@alpha.test").is_empty());
    assert!(o.log().contains("corrupt queue file"), "{}", o.log());
}

/// SECURITY.md 33: "Bounces: RFC 3464 report to the reverse path on permanent failure or
/// queue expiry ..., one report listing all failed recipients; never a bounce to `<>`."
#[test]
fn security_33_one_bounce_for_all_failed_recipients_and_none_to_null() {
    let dns = Dns::start(&[("gamma.test", "mx.gamma.test", "127.0.0.9")]);
    let mut o = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice", "bob"],
        Ports::new(),
        Some(&dns),
        "[queue]\nretry_schedule_secs = [1]\nexpiry_secs = 3\n",
    );
    o.start_alone();
    submit(
        &o,
        "alice@alpha.test",
        &["x@gamma.test", "y@gamma.test", "z@gamma.test"],
        &message("alice@alpha.test", "x@gamma.test", "three"),
    );
    let bounces = o.wait_for_mail("alice@alpha.test", 1, LONG);
    let bounce = &bounces[0];
    for rcpt in ["x@gamma.test", "y@gamma.test", "z@gamma.test"] {
        assert!(
            bounce.contains(&format!("Final-Recipient: rfc822; {rcpt}")),
            "{bounce}"
        );
    }
    wait_queue_empty(&o);
    assert_eq!(o.maildir("alice@alpha.test").len(), 1, "one report");

    // A message from <> that cannot be delivered (bob's Maildir is blocked by a file)
    // expires without a bounce.
    std::fs::create_dir_all(o.data().join("mail")).unwrap();
    std::fs::write(o.data().join("mail/bob@alpha.test"), b"in the way").unwrap();
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    assert!(c.cmd("MAIL FROM:<>").starts_with("250"));
    assert!(c.cmd("RCPT TO:<bob@alpha.test>").starts_with("250"));
    assert!(c.cmd("DATA").starts_with("354"));
    c.send(b"Subject: from null\r\n\r\nbody\r\n.\r\n");
    assert!(c.reply().starts_with("250"));
    wait_for("the null-sender message to expire", LONG, || {
        o.log()
            .contains("not bouncing a message from the null sender")
            .then_some(())
    });
    wait_queue_empty(&o);
    assert_eq!(
        o.maildir("alice@alpha.test").len(),
        1,
        "no further bounce anywhere"
    );
    assert_eq!(o.log().matches("bounce queued").count(), 1, "{}", o.log());
}

/// SECURITY.md 35: "The server adds a `Received:` field on every hop and refuses or
/// bounces a message with more than a configured number of them (mail loop, default 50
/// or more)." — default configuration, 50 fields.
#[test]
fn security_35_fifty_received_fields_are_refused_by_default() {
    let o = office("");
    let mut c = Raw::ehlo(o.ip, o.ports.smtp);
    into_data(&mut c);
    let mut text = String::new();
    for i in 0..50 {
        text.push_str(&format!(
            "Received: from h{i}.example by h{}.example; Sat, 28 Nov 2026 20:51:10 +0000\r\n",
            i + 1
        ));
    }
    text.push_str("Subject: loop\r\n\r\nbody\r\n.\r\n");
    c.send(text.as_bytes());
    let reply = c.reply();
    assert!(reply.starts_with("554 5.4.6"), "{reply}");
    // A normal message gets one Received field added.
    into_data(&mut c);
    c.send(b"Subject: one hop\r\n\r\nbody\r\n.\r\n");
    assert!(c.reply().starts_with("250"));
    let mail = o.wait_for_mail("alice@alpha.test", 1, LONG);
    assert_eq!(header_count(&mail[0], "Received"), 1, "{}", mail[0]);
}
