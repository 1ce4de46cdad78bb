//! Delivery status notifications done right (RFC 3461, RFC 3464): NOTIFY, RET, ENVID and
//! ORCPT honoured; one delay notice once a message waits past `queue.delay_warning_secs`;
//! a last attempt at expiry; success notices (`delivered`) when asked for.

mod common;

use std::time::Duration;

use common::*;

/// smtplib submission with ESMTP options: MAIL options and RCPT options, `|`-separated.
const SUBMIT_WITH_OPTIONS: &str = r#"
import smtplib, ssl, sys
host, port, user, password, sender, rcpts, mail_opts, rcpt_opts, message = sys.argv[1:10]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP(host, int(port), timeout=30)
s.starttls(context=ctx)
s.login(user, password)
refused = s.sendmail(sender, rcpts.split(","), message.encode(),
                     [o for o in mail_opts.split("|") if o], [o for o in rcpt_opts.split("|") if o])
print("refused:", refused)
s.quit()
"#;

fn submit_with(office: &Office, rcpt: &str, mail_opts: &str, rcpt_opts: &str, text: &str) {
    let out = python(
        SUBMIT_WITH_OPTIONS,
        &[
            office.ip,
            &office.ports.submission.to_string(),
            "alice@alpha.test",
            PASSWORD,
            "alice@alpha.test",
            rcpt,
            mail_opts,
            rcpt_opts,
            text,
        ],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("refused: {}"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An office whose remote attempts to gamma.test fail (nothing listens at its MX).
fn office(dns: &Dns, queue: &str) -> Office {
    let mut a = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice", "carol"],
        Ports::new(),
        Some(dns),
        &format!("[queue]\n{queue}"),
    );
    a.start();
    a
}

fn queue_is_empty(a: &Office) -> bool {
    std::fs::read_dir(a.data().join("queue"))
        .unwrap()
        .filter_map(|e| e.ok())
        .all(|e| !e.path().is_file())
}

#[test]
fn one_delay_notice_then_the_failure_with_envid_orcpt_and_headers_only() {
    let dns = Dns::start(&[("gamma.test", "mx.gamma.test", "127.0.0.9")]);
    let a = office(
        &dns,
        "retry_schedule_secs = [1]\nexpiry_secs = 8\ndelay_warning_secs = 2\n",
    );
    let text = "From: alice@alpha.test\r\nTo: x@gamma.test\r\nSubject: slow one\r\n\
                \r\nSECRET BODY TEXT\r\n";
    submit_with(
        &a,
        "x@gamma.test",
        "RET=HDRS|ENVID=QQ314",
        "NOTIFY=FAILURE,DELAY|ORCPT=rfc822;x+2Bold@gamma.test",
        text,
    );
    let got = a.wait_for_mail("alice@alpha.test", 2, Duration::from_secs(60));
    let delay: Vec<&String> = got
        .iter()
        .filter(|m| m.contains("Action: delayed"))
        .collect();
    let failed: Vec<&String> = got
        .iter()
        .filter(|m| m.contains("Action: failed"))
        .collect();
    assert_eq!((delay.len(), failed.len()), (1, 1), "{got:#?}");
    for report in [delay[0], failed[0]] {
        assert!(report.contains("Original-Envelope-Id: QQ314"), "{report}");
        assert!(report.contains("Original-Recipient: rfc822;"), "{report}");
        assert!(
            report.contains("x+old@gamma.test"),
            "ORCPT xtext decoded: {report}"
        );
        assert!(
            report.contains("Final-Recipient: rfc822; x@gamma.test"),
            "{report}"
        );
        assert!(report.contains("Subject: slow one"), "{report}");
        assert!(
            !report.contains("SECRET BODY TEXT"),
            "RET=HDRS returns the header only: {report}"
        );
    }
    assert!(delay[0].contains("Will-Retry-Until:"), "{}", delay[0]);
    assert!(delay[0].contains("Status: 4."), "{}", delay[0]);
    assert!(failed[0].contains("Status: 5.4.7"), "{}", failed[0]);
    // The last attempt happened at expiry, not later than a retry after it.
    wait_for("the queue to drain", Duration::from_secs(30), || {
        queue_is_empty(&a).then_some(())
    });
    assert_eq!(
        a.maildir("alice@alpha.test").len(),
        2,
        "one delay notice only"
    );
}

#[test]
fn notify_never_gets_no_report_and_notify_success_gets_delivered() {
    let dns = Dns::start(&[("gamma.test", "mx.gamma.test", "127.0.0.9")]);
    let a = office(&dns, "retry_schedule_secs = [1]\nexpiry_secs = 3\n");
    submit_with(
        &a,
        "x@gamma.test",
        "",
        "NOTIFY=NEVER",
        "From: alice@alpha.test\r\nSubject: quiet\r\n\r\nx\r\n",
    );
    submit_with(
        &a,
        "carol@alpha.test",
        "ENVID=OK1",
        "NOTIFY=SUCCESS",
        "From: alice@alpha.test\r\nSubject: tell me\r\n\r\nx\r\n",
    );
    let got = a.wait_for_mail("alice@alpha.test", 1, Duration::from_secs(60));
    assert!(got[0].contains("Action: delivered"), "{}", got[0]);
    assert!(
        got[0].contains("Final-Recipient: rfc822; carol@alpha.test"),
        "{}",
        got[0]
    );
    assert!(got[0].contains("Original-Envelope-Id: OK1"), "{}", got[0]);
    wait_for("the queue to drain", Duration::from_secs(60), || {
        queue_is_empty(&a).then_some(())
    });
    assert!(
        a.log().contains("delivery time expired") || a.log().contains("finished"),
        "{}",
        a.log()
    );
    // The expired NOTIFY=NEVER message left no bounce: alice has only the success notice.
    assert_eq!(a.maildir("alice@alpha.test").len(), 1);
    assert_eq!(a.maildir("carol@alpha.test").len(), 1);
}
