//! Independent clients against one post office: swaks (STARTTLS and implicit TLS), the
//! lettre crate, Python's poplib over STLS and over implicit TLS; POP3 session rules.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{SmtpTransport, Transport};

fn office() -> Office {
    let mut office = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice", "bob"],
        Ports::new(),
        None,
        "",
    );
    office.start();
    office
}

fn swaks(office: &Office, port: u16, tls: &str, subject: &str) -> std::process::Output {
    Command::new("swaks")
        .args(["--server", &format!("{}:{port}", office.ip), tls])
        .args([
            "--auth",
            "PLAIN",
            "--auth-user",
            "alice@alpha.test",
            "--auth-password",
            PASSWORD,
        ])
        .args(["--from", "alice@alpha.test", "--to", "bob@alpha.test"])
        .args([
            "--header",
            &format!("Subject: {subject}"),
            "--timeout",
            "30",
        ])
        .output()
        .expect("swaks is missing: install the Debian package `swaks`")
}

#[test]
fn swaks_submits_over_starttls_and_implicit_tls() {
    let o = office();
    let out = swaks(&o, o.ports.submission, "--tls", "via starttls");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = swaks(&o, o.ports.submissions, "--tlsc", "via implicit tls");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mail = o.wait_for_mail("bob@alpha.test", 2, Duration::from_secs(60));
    let all = mail.join("\n");
    assert!(all.contains("Subject: via starttls"), "{all}");
    assert!(all.contains("Subject: via implicit tls"), "{all}");
    assert_eq!(
        mail.iter().filter(|m| m.contains("with ESMTPSA")).count(),
        2,
        "{all}"
    );
}

#[test]
fn lettre_submits_with_starttls_and_login() {
    let o = office();
    let tls = TlsParameters::builder("mx.alpha.test".to_owned())
        .dangerous_accept_invalid_certs(true)
        .build_rustls()
        .unwrap();
    let mailer = SmtpTransport::builder_dangerous(o.ip)
        .port(o.ports.submission)
        .tls(Tls::Required(tls))
        .credentials(Credentials::new(
            "alice@alpha.test".to_owned(),
            PASSWORD.to_owned(),
        ))
        .timeout(Some(Duration::from_secs(60)))
        .build();
    let email = lettre::Message::builder()
        .from("Alice <alice@alpha.test>".parse::<Mailbox>().unwrap())
        .to("Bob <bob@alpha.test>".parse::<Mailbox>().unwrap())
        .subject("from lettre")
        .body("Sent by the lettre crate.\r\n".to_owned())
        .unwrap();
    let response = mailer.send(&email).unwrap();
    assert!(response.is_positive());
    let mail = o.wait_for_mail("bob@alpha.test", 1, Duration::from_secs(60));
    assert!(mail[0].contains("Subject: from lettre"), "{}", mail[0]);
    assert!(mail[0].contains("Sent by the lettre crate."), "{}", mail[0]);

    // Without a login, submission refuses the sender.
    let anonymous = SmtpTransport::builder_dangerous(o.ip)
        .port(o.ports.submission)
        .tls(Tls::Required(
            TlsParameters::builder("mx.alpha.test".to_owned())
                .dangerous_accept_invalid_certs(true)
                .build_rustls()
                .unwrap(),
        ))
        .build();
    let err = anonymous.send(&email).unwrap_err();
    assert!(
        err.to_string().contains("530") || err.status().is_some_and(|c| c.to_string() == "530"),
        "{err}"
    );
}

const POP3_RULES: &str = r#"
import poplib, ssl, sys
host, port, tls_port, user, password = sys.argv[1:6]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
# Cleartext USER/PASS is refused before STLS.
p = poplib.POP3(host, int(port), timeout=30)
try:
    p.user(user); p.pass_(password); print("cleartext: accepted")
except poplib.error_proto as e:
    print("cleartext:", e)
p.quit()
# First session holds the maildrop; a second one gets [IN-USE].
first = poplib.POP3(host, int(port), timeout=30); first.stls(ctx); first.user(user); first.pass_(password)
print("stat:", first.stat())
second = poplib.POP3_SSL(host, int(tls_port), context=ctx, timeout=30); second.user(user)
try:
    second.pass_(password); print("second: accepted")
except poplib.error_proto as e:
    print("second:", e)
second.quit()
# DELE then drop the connection: nothing is deleted.
first.dele(1)
import socket
first.sock.shutdown(socket.SHUT_RDWR); first.sock.close()
# The server notices the dropped connection and releases the lock: poll for it.
import time
deadline = time.time() + 20
while True:
    again = poplib.POP3_SSL(host, int(tls_port), context=ctx, timeout=30)
    again.user(user)
    try:
        again.pass_(password); break
    except poplib.error_proto as e:
        again.quit()
        if b"IN-USE" not in e.args[0] or time.time() > deadline: raise
        time.sleep(0.05)
print("after drop:", again.stat())
again.dele(1); again.quit()
last = poplib.POP3_SSL(host, int(tls_port), context=ctx, timeout=30)
last.user(user); last.pass_(password)
print("after quit:", last.stat())
last.quit()
"#;

#[test]
fn pop3_locks_the_maildrop_and_deletes_only_at_quit() {
    let o = office();
    submit(
        &o,
        "alice@alpha.test",
        &["bob@alpha.test"],
        &message("alice@alpha.test", "bob@alpha.test", "pop"),
    );
    o.wait_for_mail("bob@alpha.test", 1, Duration::from_secs(60));
    let out = python(
        POP3_RULES,
        &[
            o.ip,
            &o.ports.pop3.to_string(),
            &o.ports.pop3s.to_string(),
            "bob@alpha.test",
            PASSWORD,
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("cleartext: b'-ERR"), "{stdout}");
    assert!(lines[1].starts_with("stat: (1, "), "{stdout}");
    assert!(lines[2].contains("[IN-USE]"), "{stdout}");
    assert!(lines[3].starts_with("after drop: (1, "), "{stdout}");
    assert_eq!(lines[4], "after quit: (0, 0)", "{stdout}");
    assert!(o.maildir("bob@alpha.test").is_empty());
}
