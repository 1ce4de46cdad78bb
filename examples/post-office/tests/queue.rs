//! The queue over real processes: retries and expiry towards an unreachable MX, and a
//! restart (kill -9) with acknowledged messages still queued.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn an_unreachable_mx_is_retried_then_bounced_at_expiry() {
    // mx.gamma.test resolves to an address where nothing listens.
    let dns = Dns::start(&[("gamma.test", "mx.gamma.test", "127.0.0.9")]);
    let extra = "[queue]\nretry_schedule_secs = [1]\nexpiry_secs = 4\n";
    let mut a = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice"],
        Ports::new(),
        Some(&dns),
        extra,
    );
    a.start();
    submit(
        &a,
        "alice@alpha.test",
        &["x@gamma.test"],
        &message("alice@alpha.test", "x@gamma.test", "unreachable"),
    );

    let bounces = a.wait_for_mail("alice@alpha.test", 1, Duration::from_secs(60));
    let bounce = &bounces[0];
    assert!(
        bounce.contains("Final-Recipient: rfc822; x@gamma.test"),
        "{bounce}"
    );
    assert!(bounce.contains("Action: failed"), "{bounce}");
    assert!(bounce.contains("Status: 5.4.7"), "{bounce}");
    assert!(
        bounce.contains("mx.gamma.test"),
        "the last error is reported: {bounce}"
    );
    let attempts = a.log().matches("delivery attempt failed").count();
    assert!(
        attempts >= 2,
        "retried before expiry: {attempts} attempts\n{}",
        a.log()
    );
    assert!(a.log().contains("deferred"), "{}", a.log());
}

#[test]
fn acknowledged_messages_survive_kill_9() {
    let dns = Dns::start(&[
        ("alpha.test", "mx.alpha.test", "127.0.0.2"),
        ("beta.test", "mx.beta.test", "127.0.0.3"),
    ]);
    let ports = Ports::new();
    let extra = "[queue]\nretry_schedule_secs = [1]\n";
    let mut a = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice"],
        ports,
        Some(&dns),
        extra,
    );
    let mut b = Office::new("127.0.0.3", "beta.test", &["bob"], ports, Some(&dns), "");
    a.start();
    // B is down: the message is acknowledged by A (250) and stays queued.
    submit(
        &a,
        "alice@alpha.test",
        &["bob@beta.test"],
        &message("alice@alpha.test", "bob@beta.test", "survivor"),
    );
    wait_for("a failed attempt", Duration::from_secs(60), || {
        a.log().contains("delivery attempt failed").then_some(())
    });
    a.kill();
    let queued: Vec<_> = std::fs::read_dir(a.data().join("queue"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "msg"))
        .collect();
    assert_eq!(queued.len(), 1, "the message is on disk");
    // A torn queue file (cut short by a crash) is moved aside at start, never delivered.
    let torn = std::fs::read(queued[0].path()).unwrap();
    std::fs::write(
        a.data().join("queue/0000000000000001.msg"),
        &torn[..torn.len() / 2],
    )
    .unwrap();

    b.start();
    a.start();
    let mail = b.wait_for_mail("bob@beta.test", 1, Duration::from_secs(60));
    assert!(mail[0].contains("Subject: survivor"), "{}", mail[0]);
    assert!(
        a.data()
            .join("queue/corrupt/0000000000000001.msg")
            .is_file()
    );
    assert!(a.log().contains("corrupt queue file"), "{}", a.log());
    wait_for("the queue to drain", Duration::from_secs(60), || {
        let left = std::fs::read_dir(a.data().join("queue"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .count();
        (left == 0).then_some(())
    });
    assert_eq!(
        b.maildir("bob@beta.test").len(),
        1,
        "delivered exactly once"
    );
    assert!(a.stop().success(), "SIGTERM stops the post office cleanly");
}
