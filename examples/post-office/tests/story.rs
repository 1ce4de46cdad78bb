//! The whole story across two post offices: submission at A, local delivery at A, relay
//! by MX to B, POP3 at both; and a bounce from B back to the sender at A.

mod common;

use std::time::Duration;

use common::*;

fn two_offices() -> (Dns, Office, Office) {
    let dns = Dns::start(&[
        ("alpha.test", "mx.alpha.test", "127.0.0.2"),
        ("beta.test", "mx.beta.test", "127.0.0.3"),
    ]);
    let ports = Ports::new();
    let mut a = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice", "carol"],
        ports,
        Some(&dns),
        "",
    );
    let mut b = Office::new("127.0.0.3", "beta.test", &["bob"], ports, Some(&dns), "");
    a.start();
    b.start();
    (dns, a, b)
}

#[test]
fn a_message_travels_to_a_local_and_a_remote_mailbox() {
    let (_dns, a, b) = two_offices();
    let text = message(
        "alice@alpha.test",
        "carol@alpha.test, bob@beta.test",
        "story",
    );
    submit(
        &a,
        "alice@alpha.test",
        &["carol@alpha.test", "bob@beta.test"],
        &text,
    );

    a.wait_for_mail("carol@alpha.test", 1, Duration::from_secs(60));
    b.wait_for_mail("bob@beta.test", 1, Duration::from_secs(60));

    let at_a = fetch(&a, "carol@alpha.test", true);
    let at_b = fetch(&b, "bob@beta.test", true);
    assert_eq!(at_a.len(), 1);
    assert_eq!(at_b.len(), 1);
    for (copy, hops) in [(&at_a[0], 1), (&at_b[0], 2)] {
        assert!(
            copy.starts_with("Return-Path: <alice@alpha.test>\n"),
            "{copy}"
        );
        assert_eq!(header_count(copy, "Return-Path"), 1, "{copy}");
        assert_eq!(header_count(copy, "Received"), hops, "{copy}");
        assert!(copy.contains("Subject: story\n"), "{copy}");
        assert!(copy.contains("\n\nHello from the tests.\n"), "{copy}");
    }
    assert!(
        at_a[0].contains("by mx.alpha.test with ESMTPSA"),
        "{}",
        at_a[0]
    );
    assert!(
        at_b[0].contains("by mx.beta.test with ESMTPS"),
        "{}",
        at_b[0]
    );
    // Deleted at QUIT: the mailboxes are empty now.
    assert!(a.maildir("carol@alpha.test").is_empty());
    assert!(b.maildir("bob@beta.test").is_empty());
}

#[test]
fn an_unknown_recipient_at_the_other_office_bounces_to_the_sender() {
    let (_dns, a, _b) = two_offices();
    let text = message("alice@alpha.test", "nobody@beta.test", "doomed");
    submit(&a, "alice@alpha.test", &["nobody@beta.test"], &text);

    let bounces = a.wait_for_mail("alice@alpha.test", 1, Duration::from_secs(60));
    let bounce = &bounces[0];
    assert!(bounce.starts_with("Return-Path: <>\r\n"), "{bounce}");
    assert!(bounce.contains("multipart/report"), "{bounce}");
    assert!(bounce.contains("report-type=delivery-status"), "{bounce}");
    assert!(
        bounce.contains("Final-Recipient: rfc822; nobody@beta.test"),
        "{bounce}"
    );
    assert!(bounce.contains("Action: failed"), "{bounce}");
    assert!(bounce.contains("Status: 5.1.1"), "{bounce}");
    assert!(
        bounce.contains("Subject: doomed"),
        "the original header is returned: {bounce}"
    );
    // Exactly one bounce, and nothing more is queued at A once it is delivered.
    wait_for("A's queue to drain", Duration::from_secs(60), || {
        let queue = std::fs::read_dir(a.data().join("queue"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .count();
        (queue == 0).then_some(())
    });
    assert_eq!(a.maildir("alice@alpha.test").len(), 1);
    let fetched = fetch(&a, "alice@alpha.test", false);
    assert_eq!(fetched.len(), 1);
    assert!(fetched[0].contains("nobody@beta.test"));
}
