//! Relay control and submission policy over real sockets (SECURITY.md 14, 16–20, 26, 35).

mod common;

use std::time::Duration;

use common::*;

fn office(extra: &str) -> Office {
    let mut office = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice", "bob"],
        Ports::new(),
        None,
        extra,
    );
    office.start();
    office
}

fn code(reply: &str) -> &str {
    reply.split(' ').next().unwrap_or("")
}

#[test]
fn the_mx_listener_refuses_to_relay_without_login() {
    let o = office("");
    let replies = dialogue(
        o.ip,
        o.ports.smtp,
        &[
            "MAIL FROM:<x@example.org>",
            "RCPT TO:<someone@example.net>",
            "RCPT TO:<alice@alpha.test>",
        ],
    );
    assert_eq!(code(&replies[0]), "250", "{replies:?}");
    assert!(replies[1].starts_with("554 5.7.1"), "{replies:?}");
    assert_eq!(code(&replies[2]), "250", "{replies:?}");
}

#[test]
fn unknown_users_and_routing_tricks_are_refused_at_rcpt() {
    let o = office("");
    let replies = dialogue(
        o.ip,
        o.ports.smtp,
        &[
            "MAIL FROM:<x@example.org>",
            "RCPT TO:<nobody@alpha.test>",
            "RCPT TO:<alice%example.net@alpha.test>",
            "RCPT TO:<example.net!alice@alpha.test>",
            "RCPT TO:<\"alice@example.net\"@alpha.test>",
            "RCPT TO:<@alpha.test:alice@example.net>",
            "RCPT TO:<../alice@alpha.test>",
            "RCPT TO:<Alice+tag@ALPHA.test>",
        ],
    );
    assert_eq!(code(&replies[0]), "250", "{replies:?}");
    assert!(replies[1].starts_with("550 5.1.1"), "{replies:?}");
    for reply in &replies[2..7] {
        assert!(reply.starts_with('5'), "{replies:?}");
    }
    assert!(
        replies[5].starts_with("554 5.7.1"),
        "the source route is dropped, leaving a relay: {replies:?}"
    );
    assert_eq!(code(&replies[7]), "250", "{replies:?}");
}

#[test]
fn submission_needs_a_login_before_mail() {
    let o = office("");
    let replies = dialogue(o.ip, o.ports.submission, &["MAIL FROM:<alice@alpha.test>"]);
    assert!(replies[0].starts_with("530 5.7.0"), "{replies:?}");
    // No plaintext AUTH is offered or accepted before STARTTLS.
    let replies = dialogue(
        o.ip,
        o.ports.submission,
        &["AUTH PLAIN AGFsaWNlQGFscGhhLnRlc3QAeA=="],
    );
    assert!(replies[0].starts_with('5'), "{replies:?}");
}

const SEND_AS: &str = r#"
import smtplib, ssl, sys
host, port, user, password, sender, rcpt = sys.argv[1:7]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP(host, int(port), timeout=30)
s.starttls(context=ctx)
s.login(user, password)
s.ehlo()
print(*s.docmd("MAIL FROM:<%s>" % sender))
s.rset()
s.close()
"#;

#[test]
fn a_user_may_only_send_as_themselves() {
    let o = office("");
    let port = o.ports.submission.to_string();
    let own = python(
        SEND_AS,
        &[
            o.ip,
            &port,
            "alice@alpha.test",
            PASSWORD,
            "alice+list@alpha.test",
            "x@example.net",
        ],
    );
    assert!(
        String::from_utf8_lossy(&own.stdout).starts_with("250"),
        "{own:?}"
    );
    let other = python(
        SEND_AS,
        &[
            o.ip,
            &port,
            "alice@alpha.test",
            PASSWORD,
            "bob@alpha.test",
            "x@example.net",
        ],
    );
    assert!(
        String::from_utf8_lossy(&other.stdout).starts_with("553"),
        "{other:?}"
    );
    let bad = python(
        SEND_AS,
        &[
            o.ip,
            &port,
            "alice@alpha.test",
            "wrong",
            "alice@alpha.test",
            "x@example.net",
        ],
    );
    assert!(!bad.status.success(), "a wrong password must fail");
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("535"),
        "{bad:?}"
    );
}

#[test]
fn a_login_on_the_mx_port_allows_relaying_and_messages_are_queued() {
    let o = office("");
    // Logged in on port 25 style: relaying is allowed (the route fails temporarily here,
    // the message stays queued).
    let out = python(
        SMTPLIB_SUBMIT,
        &[
            o.ip,
            &o.ports.smtp.to_string(),
            "alice@alpha.test",
            PASSWORD,
            "alice@alpha.test",
            "x@example.net",
            &message("alice@alpha.test", "x@example.net", "relay"),
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let queued = wait_for(
        "a queued message",
        std::time::Duration::from_secs(60),
        || {
            let n = o.queued();
            (n > 0).then_some(n)
        },
    );
    assert_eq!(queued, 1);
}

#[test]
fn a_mail_loop_is_refused() {
    let o = office("[queue]\nmax_received = 3\n");
    let mut text = String::new();
    for i in 0..3 {
        text.push_str(&format!(
            "Received: from h{i}.example by h{}.example; Sat, 28 Nov 2026 20:51:10 +0000\r\n",
            i + 1
        ));
    }
    text.push_str(&message("x@example.org", "alice@alpha.test", "loop"));
    const SEND: &str = r#"
import smtplib, sys
host, port, message = sys.argv[1:4]
s = smtplib.SMTP(host, int(port), timeout=30)
try:
    s.sendmail("x@example.org", ["alice@alpha.test"], message.encode())
    print("accepted")
except smtplib.SMTPDataError as e:
    print(e.smtp_code, e.smtp_error.decode())
s.quit()
"#;
    let out = python(SEND, &[o.ip, &o.ports.smtp.to_string(), &text]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("554 5.4.6"),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Two hops are fine.
    let text = text.split_once("\r\n").unwrap().1.to_owned();
    let out = python(SEND, &[o.ip, &o.ports.smtp.to_string(), &text]);
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("accepted"),
        "{out:?}"
    );
    o.wait_for_mail("alice@alpha.test", 1, std::time::Duration::from_secs(60));
}

#[test]
fn a_nearly_full_disk_refuses_new_mail() {
    let o = office("[limits]\nmin_free_bytes = 18446744073709551615\n");
    let replies = dialogue(o.ip, o.ports.smtp, &["MAIL FROM:<x@example.org>"]);
    assert!(replies[0].starts_with("452 4.3.1"), "{replies:?}");
}

#[test]
fn connections_over_the_per_address_cap_get_421() {
    let o = office("[limits]\nmax_connections_per_ip = 2\n");
    // The connection that saw the office listening holds a slot until its session ends.
    wait_for(
        "the start probe's session to end",
        Duration::from_secs(30),
        || o.log().contains("smtp connection closed").then_some(()),
    );
    let addr = format!("{}:{}", o.ip, o.ports.smtp);
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        let mut line = [0u8; 3];
        std::io::Read::read_exact(&mut s, &mut line).unwrap();
        assert_eq!(&line, b"220");
        held.push(s);
    }
    let mut third = std::net::TcpStream::connect(&addr).unwrap();
    let mut reply = String::new();
    std::io::Read::read_to_string(&mut third, &mut reply).unwrap();
    assert!(reply.starts_with("421 4.7.0"), "{reply}");
    drop(held);
    // Slots are given back when connections close.
    wait_for("a free slot", std::time::Duration::from_secs(60), || {
        let mut s = std::net::TcpStream::connect(&addr).ok()?;
        let mut line = [0u8; 3];
        std::io::Read::read_exact(&mut s, &mut line).ok()?;
        (&line == b"220").then_some(())
    });
}

const SMUGGLE: &str = r#"
import socket, sys
host, port = sys.argv[1:3]
s = socket.create_connection((host, int(port)), 30)
f = s.makefile("rb")
def reply():
    lines = []
    while True:
        line = f.readline().decode()
        lines.append(line.strip())
        if len(line) < 4 or line[3] != "-":
            return " | ".join(lines)
print(reply())
for cmd in ["EHLO client.example", "MAIL FROM:<x@example.org>", "RCPT TO:<alice@alpha.test>", "DATA"]:
    s.sendall(cmd.encode() + b"\r\n")
    print(reply())
s.sendall(b"Subject: first\r\n\r\nbefore\n.\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<alice@alpha.test>\r\n"
          b"DATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n")
print(reply())
s.sendall(b"QUIT\r\n")
print(reply())
"#;

#[test]
fn a_bare_lf_dot_never_ends_the_data_nor_smuggles_a_second_message() {
    let o = office("");
    let out = python(SMUGGLE, &[o.ip, &o.ports.smtp.to_string()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let replies: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        replies.len(),
        7,
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(replies[4].starts_with("354"), "{stdout}");
    // One reply to the one real end of data, refusing the bare LF, then QUIT.
    assert!(replies[5].starts_with('5'), "{stdout}");
    assert!(replies[6].starts_with("221"), "{stdout}");
    assert_eq!(o.queued(), 0, "nothing was accepted");
    assert!(o.maildir("alice@alpha.test").is_empty());
}
