//! The story with the checks real providers make: A signs what its users submit (DKIM,
//! keys published from `post-office dkim-record`), B checks SPF, DKIM and DMARC on its MX
//! port and records them in `Authentication-Results:`; a forged From of A's domain sent
//! to B directly is refused because A publishes `p=reject`.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

/// `post-office dkim-record DOMAIN` of `office`: the zone lines it prints.
fn dkim_records(office: &Office, domain: &str) -> Vec<String> {
    let out = Command::new(BIN)
        .args(["dkim-record", domain, "--config"])
        .arg(&office.config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A zone line `NAME. IN TXT "a" "b"` as a dnsmasq option.
fn txt_option(line: &str) -> String {
    let (name, rest) = line.split_once(". IN TXT ").expect(line);
    let strings: Vec<&str> = rest.split('"').skip(1).step_by(2).collect();
    format!("--txt-record={name},{}", strings.join(","))
}

struct World {
    _dns: Dns,
    a: Office,
    b: Office,
}

/// A and B with DNS: MX, SPF (A's mail leaves from 127.0.0.1), A's DKIM keys and
/// `p=reject` DMARC policy. `b_extra` is appended to B's configuration.
fn world(b_extra: &str) -> World {
    let ports = Ports::new();
    let a = Office::new("127.0.0.2", "alpha.test", &["alice"], ports, None, "");
    let b = Office::new("127.0.0.3", "beta.test", &["bob"], ports, None, b_extra);
    let records = dkim_records(&a, "alpha.test");
    assert_eq!(records.len(), 2, "{records:?}");
    assert!(records.iter().any(|r| r.contains("k=ed25519")));
    assert!(records.iter().any(|r| r.contains("k=rsa")));
    let mut extra: Vec<String> = records.iter().map(|r| txt_option(r)).collect();
    extra.extend([
        "--txt-record=alpha.test,v=spf1 ip4:127.0.0.1 -all".to_owned(),
        "--txt-record=_dmarc.alpha.test,v=DMARC1; p=reject".to_owned(),
        // Authoritative answers (with an SOA) for the test zones: NXDOMAIN and NODATA
        // are definite, as from a real name server.
        "--auth-server=ns.test,127.0.0.1".to_owned(),
        "--auth-zone=alpha.test,127.0.0.0/8".to_owned(),
        "--auth-zone=beta.test,127.0.0.0/8".to_owned(),
    ]);
    let dns = Dns::start_with(
        &[
            ("alpha.test", "mx.alpha.test", "127.0.0.2"),
            ("beta.test", "mx.beta.test", "127.0.0.3"),
        ],
        &extra,
    );
    let (mut a, mut b) = (a, b);
    a.set_dns(&dns);
    b.set_dns(&dns);
    a.start();
    b.start();
    World { _dns: dns, a, b }
}

/// The unfolded `Authentication-Results` fields of a stored message.
fn results_fields(message: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in message.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.push(' ');
                last.push_str(line.trim());
            }
        } else if line
            .to_ascii_lowercase()
            .starts_with("authentication-results:")
        {
            out.push(line.to_owned());
        } else if let Some(last) = out.last_mut() {
            // Another field ends an A-R field's continuation.
            if !last.ends_with('\u{0}') {
                last.push('\u{0}');
            }
        }
    }
    out.into_iter()
        .map(|f| f.trim_end_matches('\u{0}').to_owned())
        .collect()
}

#[test]
fn signed_at_a_checked_at_b_and_forgeries_refused() {
    let w = world("");
    // A message without Date and Message-ID: A adds them and signs them.
    let text = "From: Alice <alice@alpha.test>\r\nTo: bob@beta.test\r\nSubject: checked\r\n\
                \r\nHello Bob.\r\n";
    submit(&w.a, "alice@alpha.test", &["bob@beta.test"], text);
    let got =
        w.b.wait_for_mail("bob@beta.test", 1, Duration::from_secs(60));
    let stored = &got[0];
    assert!(stored.contains("\nDate: "), "{stored}");
    assert!(stored.contains("\nMessage-ID: <"), "{stored}");
    assert_eq!(header_count(stored, "DKIM-Signature"), 2, "{stored}");
    let fields = results_fields(stored);
    assert_eq!(fields.len(), 1, "{fields:?}\n{stored}");
    let ar = &fields[0];
    assert!(
        ar.starts_with("Authentication-Results: mx.beta.test;"),
        "{ar}"
    );
    // The SPF result as a trace field too, above B's Received (RFC 7208 9.1).
    let spf_at = stored.find("Received-SPF: pass (mx.beta.test: domain of alice@alpha.test");
    let received_at = stored.find("Received: from");
    assert!(spf_at.is_some() && spf_at < received_at, "{stored}");
    for expected in [
        "dkim=pass",
        "header.d=alpha.test",
        "spf=pass",
        "smtp.mailfrom=alice@alpha.test",
        "dmarc=pass",
        "header.from=alpha.test",
    ] {
        assert!(ar.contains(expected), "{expected} missing in {ar}");
    }
    assert!(!ar.contains("dkim=fail"), "{ar}");

    // The same From, sent to B directly from an address outside A's SPF record and
    // without A's signature: DMARC fails under p=reject, so B refuses it at DATA.
    let forged = "From: alice@alpha.test\r\nTo: bob@beta.test\r\nSubject: forged\r\n\
                  Authentication-Results: mx.beta.test; dmarc=pass\r\n\r\nPay me.\r\n";
    let replies = forge(&w.b, "alice@alpha.test", forged);
    assert!(
        replies.contains("data 550") && replies.contains("5.7.1"),
        "{replies}"
    );
    // A second From field of a domain without policy does not dodge A's p=reject.
    let two_froms = "From: alice@alpha.test\r\nFrom: someone@elsewhere.test\r\n\
                     To: bob@beta.test\r\nSubject: two authors\r\n\r\nPay me.\r\n";
    let replies = forge(&w.b, "someone@elsewhere.test", two_froms);
    assert!(
        replies.contains("data 550") && replies.contains("5.7.1"),
        "{replies}"
    );
    // Nothing more arrived for bob.
    assert_eq!(w.b.maildir("bob@beta.test").len(), 1);
}

#[test]
fn security_56_forged_results_claiming_our_host_are_removed_in_record_mode() {
    let w = world("[auth]\ndmarc = \"record\"\n");
    let forged = "From: alice@alpha.test\r\nTo: bob@beta.test\r\nSubject: forged\r\n\
                  Authentication-Results: mx.beta.test; dkim=pass; dmarc=pass\r\n\r\nPay me.\r\n";
    let replies = forge(&w.b, "alice@alpha.test", forged);
    assert!(replies.contains("data 250"), "{replies}");
    let got =
        w.b.wait_for_mail("bob@beta.test", 1, Duration::from_secs(60));
    let fields = results_fields(&got[0]);
    assert_eq!(fields.len(), 1, "the forged field is gone: {fields:?}");
    let ar = &fields[0];
    for expected in ["spf=fail", "dmarc=fail", "header.from=alpha.test"] {
        assert!(ar.contains(expected), "{expected} missing in {ar}");
    }
}

#[test]
fn reject_fail_refuses_spf_failures_at_mail_from() {
    let w = world("[auth]\nspf = \"reject-fail\"\n");
    let replies = forge(
        &w.b,
        "alice@alpha.test",
        "From: alice@alpha.test\r\n\r\nx\r\n",
    );
    assert!(replies.contains("mail 550"), "{replies}");
    assert!(replies.contains("5.7.23"), "{replies}");
}

#[test]
fn a_send_only_office_signs_for_its_users_and_stores_nothing() {
    let ports = Ports::new();
    let mut a = Office::new("127.0.0.2", "sender.test", &["alice"], ports, None, "");
    // No local domains: alice@sender.test only submits here; sender.test's mail is
    // received elsewhere.
    let text = std::fs::read_to_string(&a.config).unwrap();
    let text = text.replace("domains = [\"sender.test\"]", "domains = []");
    std::fs::write(&a.config, text).unwrap();
    let mut b = Office::new("127.0.0.3", "beta.test", &["bob"], ports, None, "");
    // The keys are generated for the users' domain and printed for publishing.
    let records = dkim_records(&a, "sender.test");
    assert_eq!(records.len(), 2, "{records:?}");
    let mut extra: Vec<String> = records.iter().map(|r| txt_option(r)).collect();
    extra.extend([
        "--txt-record=sender.test,v=spf1 ip4:127.0.0.1 -all".to_owned(),
        "--txt-record=_dmarc.sender.test,v=DMARC1; p=reject".to_owned(),
        "--auth-server=ns.test,127.0.0.1".to_owned(),
        "--auth-zone=sender.test,127.0.0.0/8".to_owned(),
        "--auth-zone=beta.test,127.0.0.0/8".to_owned(),
    ]);
    let dns = Dns::start_with(&[("beta.test", "mx.beta.test", "127.0.0.3")], &extra);
    a.set_dns(&dns);
    b.set_dns(&dns);
    a.start();
    b.start();
    let text = "From: Alice <alice@sender.test>\r\nTo: bob@beta.test\r\nSubject: from a \
                send-only host\r\n\r\nHello Bob.\r\n";
    submit(&a, "alice@sender.test", &["bob@beta.test"], text);
    let got = b.wait_for_mail("bob@beta.test", 1, Duration::from_secs(60));
    let fields = results_fields(&got[0]);
    let ar = fields.first().expect("an Authentication-Results field");
    for expected in [
        "dkim=pass",
        "header.d=sender.test",
        "spf=pass",
        "dmarc=pass",
    ] {
        assert!(ar.contains(expected), "{expected} missing in {ar}");
    }
    // A's MX port takes no mail for anyone (nothing is local), not even its users'.
    let replies = dialogue(
        a.ip,
        a.ports.smtp,
        &[
            "MAIL FROM:<x@elsewhere.test>",
            "RCPT TO:<alice@sender.test>",
        ],
    );
    assert!(replies[0].starts_with("250"), "{replies:?}");
    assert!(replies[1].starts_with("55"), "{replies:?}");
    assert!(!a.data().join("mail").join("alice@sender.test").exists());
}

#[test]
fn the_helo_identity_is_checked_too() {
    // Record mode: a HELO name whose SPF does not allow 127.0.0.9 is recorded as
    // `spf=fail smtp.helo=...` beside the MAIL FROM result.
    let w = world("[auth]\ndmarc = \"record\"\n");
    let text = "From: someone@elsewhere.test\r\nTo: bob@beta.test\r\nSubject: helo\r\n\r\nx\r\n";
    let replies = forge_with_helo(&w.b, "someone@elsewhere.test", text, "alpha.test");
    assert!(replies.contains("data 250"), "{replies}");
    let got =
        w.b.wait_for_mail("bob@beta.test", 1, Duration::from_secs(60));
    let fields = results_fields(&got[0]);
    let ar = fields.first().expect("an Authentication-Results field");
    assert!(ar.contains("spf=fail smtp.helo=alpha.test"), "{ar}");
    // reject-fail: the failing HELO identity is refused at MAIL, whatever the sender.
    let w = world("[auth]\nspf = \"reject-fail\"\n");
    let replies = forge_with_helo(&w.b, "someone@elsewhere.test", text, "alpha.test");
    assert!(replies.contains("mail 550"), "{replies}");
    assert!(replies.contains("5.7.23"), "{replies}");
    // A HELO name without SPF records changes nothing.
    let replies = forge_with_helo(&w.b, "someone@elsewhere.test", text, "forger.example");
    assert!(replies.contains("data 250"), "{replies}");
}

/// Sends `message` from `sender` to bob@beta.test at `office`'s MX port from 127.0.0.9
/// with [`FORGE`]; its output (the replies to MAIL and DATA).
fn forge(office: &Office, sender: &str, message: &str) -> String {
    forge_with_helo(office, sender, message, "forger.example")
}

/// Like [`forge`], saying `helo` in EHLO.
fn forge_with_helo(office: &Office, sender: &str, message: &str, helo: &str) -> String {
    let out = python(
        FORGE,
        &[
            office.ip,
            &office.ports.smtp.to_string(),
            sender,
            "bob@beta.test",
            message,
            helo,
        ],
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Python smtplib from 127.0.0.9 (outside A's SPF record) to an MX port: prints
/// `mail CODE TEXT` and `data CODE TEXT`.
const FORGE: &str = r#"
import smtplib, sys
host, port, sender, rcpt, message = sys.argv[1:6]
helo = sys.argv[6] if len(sys.argv) > 6 else "forger.example"
s = smtplib.SMTP(host, int(port), timeout=60, source_address=("127.0.0.9", 0))
s.ehlo(helo)
code, text = s.mail(sender)
print("mail", code, text.decode())
if code == 250:
    code, text = s.rcpt(rcpt)
    print("rcpt", code, text.decode())
    code, text = s.data(message.encode())
    print("data", code, text.decode())
s.quit()
"#;
