//! The post office as an administrator runs it (issue 14), against the real binary: the
//! queue tools over the control socket, reload on SIGHUP, the metrics endpoint, systemd
//! readiness notification and socket activation.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;

/// Waits until `queue list` has a line containing every one of `needles`; returns it.
fn wait_for_line(office: &Office, needles: &[&str]) -> String {
    wait_for(
        &format!("a queue line with {needles:?}"),
        Duration::from_secs(60),
        || {
            queue_ok(office, &["list"])
                .lines()
                .find(|l| needles.iter().all(|n| l.contains(n)))
                .map(str::to_owned)
        },
    )
}

fn signal(office: &Office, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(office.pid().unwrap().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_for_log(office: &Office, text: &str, count: usize) {
    wait_for(
        &format!("{count} log line(s) with {text:?}"),
        Duration::from_secs(30),
        || (office.log().matches(text).count() >= count).then_some(()),
    );
}

/// An office of alpha.test with alice, whose DNS sends gamma.test to an address where
/// nothing listens, and which retries only after an hour (so every further attempt in
/// these tests is one the tools asked for).
fn unreachable_office(dns: &Dns) -> Office {
    Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice"],
        Ports::new(),
        Some(dns),
        "[queue]\nretry_schedule_secs = [3600]\n",
    )
}

#[test]
fn the_queue_tools_list_show_flush_hold_release_and_delete() {
    let dns = Dns::start(&[("gamma.test", "mx.gamma.test", "127.0.0.9")]);
    let mut a = unreachable_office(&dns);
    a.start_alone();
    submit(
        &a,
        "alice@alpha.test",
        &["x@gamma.test"],
        &message("alice@alpha.test", "x@gamma.test", "unreachable"),
    );

    // list: id, age, size, sender, recipients with state, next attempt, last error.
    let line = wait_for_line(&a, &["x@gamma.test (pending)", "attempts 1 "]);
    let id = line.split_whitespace().next().unwrap().to_owned();
    assert!(line.contains("from <alice@alpha.test>"), "{line}");
    assert!(line.contains(" size "), "{line}");
    assert!(line.contains(" age "), "{line}");
    assert!(line.contains("next in "), "{line}");
    let last_error = line.split("last error: ").nth(1).unwrap();
    assert!(last_error.contains("mx.gamma.test"), "{line}");
    let json = queue_ok(&a, &["list", "--json"]);
    let object = json.lines().next().unwrap();
    for field in [
        format!("\"id\":\"{id}\""),
        "\"sender\":\"alice@alpha.test\"".into(),
        "{\"address\":\"x@gamma.test\",\"state\":\"pending\",\"error\":\"".into(),
        "\"attempts\":1,".into(),
        "\"held\":false".into(),
        "\"last_error\":\"mx.gamma.test".into(),
    ] {
        assert!(object.contains(&field), "{field} in {object}");
    }

    // show: envelope, history, headers.
    let shown = queue_ok(&a, &["show", &id]);
    assert!(shown.contains("sender: <alice@alpha.test>"), "{shown}");
    assert!(
        shown.contains("  x@gamma.test: pending (mx.gamma.test"),
        "{shown}"
    );
    assert!(
        shown.contains("attempt 1 x@gamma.test deferred mx.gamma.test"),
        "{shown}"
    );
    assert!(shown.contains("  Subject: unreachable"), "{shown}");

    // flush retries it now.
    let out = queue_ok(&a, &["flush", &id]);
    assert!(out.contains("attempting now"), "{out}");
    wait_for_line(&a, &[&id, "attempts 2 "]);
    assert!(queue_ok(&a, &["show", &id]).contains("attempt 2 x@gamma.test deferred"));

    // hold: not attempted, not even by flush, and still held after a restart.
    assert!(queue_ok(&a, &["hold", &id]).contains("held"));
    wait_for_line(&a, &[&id, "next held"]);
    let out = queue(&a, &["flush", &id]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is held"),
        "{out:?}"
    );
    assert!(a.stop().success());
    a.start();
    wait_for_log(&a, "queue scanned", 2);
    wait_for_line(&a, &[&id, "next held", "attempts 2 "]);
    // Flushing everything reaches the held message, which is skipped.
    queue_ok(&a, &["flush"]);
    wait_for_log(&a, "held, not attempted", 1);
    assert!(queue_ok(&a, &["list"]).contains("attempts 2 "));

    // release: attempted again at once.
    assert!(queue_ok(&a, &["release", &id]).contains("released"));
    wait_for_line(&a, &[&id, "attempts 3 "]);
    let out = queue(&a, &["release", &id]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not held"));

    // delete: gone, files and all.
    assert!(queue_ok(&a, &["delete", &id]).contains("deleted"));
    assert_eq!(queue_ok(&a, &["list"]), "the queue is empty\n");
    assert_eq!(queue_ok(&a, &["list", "--json"]), "");
    let leftovers: Vec<_> = std::fs::read_dir(a.data().join("queue"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&id))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let out = queue(&a, &["show", &id]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("no message {id}")));
    // Ids are checked: no path tricks through the socket.
    let out = queue(&a, &["delete", "../users"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a queue id"));
}

#[test]
fn queue_bounce_returns_the_message_to_its_sender_with_a_dsn() {
    let dns = Dns::start(&[("gamma.test", "mx.gamma.test", "127.0.0.9")]);
    let mut a = unreachable_office(&dns);
    a.start_alone();
    submit(
        &a,
        "alice@alpha.test",
        &["x@gamma.test"],
        &message("alice@alpha.test", "x@gamma.test", "return me"),
    );
    let line = wait_for_line(&a, &["x@gamma.test (pending)", "attempts 1 "]);
    let id = line.split_whitespace().next().unwrap().to_owned();
    let out = queue_ok(&a, &["bounce", &id]);
    assert!(out.contains("returned to <alice@alpha.test>"), "{out}");
    let bounces = a.wait_for_mail("alice@alpha.test", 1, Duration::from_secs(30));
    let bounce = &bounces[0];
    assert!(
        bounce.contains("Final-Recipient: rfc822; x@gamma.test"),
        "{bounce}"
    );
    assert!(bounce.contains("Action: failed"), "{bounce}");
    assert!(bounce.contains("returned by the postmaster"), "{bounce}");
    assert!(bounce.contains("Subject: return me"), "{bounce}");
    wait_for("the queue to empty", Duration::from_secs(30), || {
        (queue_ok(&a, &["list"]) == "the queue is empty\n").then_some(())
    });
}

#[test]
fn queue_list_without_a_running_post_office_says_so() {
    let mut a = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice"],
        Ports::new(),
        None,
        "",
    );
    let out = queue(&a, &["list"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let socket = a.data().join("control.sock");
    assert!(
        stderr.contains(&format!(
            "no post office is running on {}",
            socket.display()
        )),
        "{stderr}"
    );
    // Running: the socket is owner-only, and it goes away with the post office.
    a.start_alone();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(queue_ok(&a, &["list"]), "the queue is empty\n");
    assert!(a.stop().success());
    assert!(!socket.exists());
    let out = queue(&a, &["flush"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no post office is running on"));
}

/// A POP3 session over a plain TCP connection (the office allows plaintext logins).
struct Pop3 {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Pop3 {
    fn login(office: &Office, user: &str) -> Pop3 {
        let tcp = TcpStream::connect((office.ip, office.ports.pop3)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut pop = Pop3 {
            reader: BufReader::new(tcp.try_clone().unwrap()),
            writer: tcp,
        };
        assert!(pop.line().starts_with("+OK"));
        assert!(pop.command(&format!("USER {user}")).starts_with("+OK"));
        let reply = pop.command(&format!("PASS {PASSWORD}"));
        assert!(reply.starts_with("+OK"), "{reply}");
        pop
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        line
    }

    fn command(&mut self, command: &str) -> String {
        self.writer
            .write_all(format!("{command}\r\n").as_bytes())
            .unwrap();
        self.line()
    }
}

/// Prepends top-level keys to an office's configuration.
fn prepend(office: &Office, text: &str) {
    let old = std::fs::read_to_string(&office.config).unwrap();
    std::fs::write(&office.config, format!("{text}{old}")).unwrap();
}

fn pop3_login_works(office: &Office, user: &str) -> bool {
    python(
        POPLIB_FETCH,
        &[
            office.ip,
            &office.ports.pop3.to_string(),
            user,
            PASSWORD,
            "keep",
        ],
    )
    .status
    .success()
}

#[test]
fn sighup_adds_a_user_while_an_open_pop3_session_keeps_working() {
    let mut a = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice"],
        Ports::new(),
        None,
        "[limits]\nlogin_penalty_ms = 0\n",
    );
    prepend(&a, "allow_plaintext_auth = true\n");
    a.start_alone();
    let mut session = Pop3::login(&a, "alice@alpha.test");
    assert!(session.command("STAT").starts_with("+OK 0 0"));
    assert!(
        !pop3_login_works(&a, "bob@alpha.test"),
        "bob before the reload"
    );
    let sales = ["MAIL FROM:<x@example.test>", "RCPT TO:<sales@alpha.test>"];
    let replies = dialogue(a.ip, a.ports.smtp, &sales);
    assert!(replies[1].starts_with("550"), "{replies:?}");

    // A new user and a new alias.
    let mut text = std::fs::read_to_string(&a.config).unwrap();
    text.push_str(&format!(
        "\n[[users]]\naddress = \"bob@alpha.test\"\npassword_hash = \"{}\"\n\
         [aliases]\n\"sales@alpha.test\" = \"bob@alpha.test\"\n",
        password_hash()
    ));
    std::fs::write(&a.config, text).unwrap();
    signal(&a, "HUP");
    wait_for_log(&a, "configuration reloaded", 1);
    assert!(
        pop3_login_works(&a, "bob@alpha.test"),
        "bob after the reload"
    );
    let replies = dialogue(a.ip, a.ports.smtp, &sales);
    assert!(replies[1].starts_with("250"), "{replies:?}");
    // The session opened before the reload goes on.
    assert!(session.command("STAT").starts_with("+OK 0 0"));
    assert!(session.command("NOOP").starts_with("+OK"));
    assert!(session.command("QUIT").starts_with("+OK"));
    // A changed listen address is reported, not applied.
    let text = std::fs::read_to_string(&a.config).unwrap().replace(
        &format!("\"127.0.0.2:{}\"", a.ports.pop3),
        &format!("\"127.0.0.2:{}\"", free_port()),
    );
    std::fs::write(&a.config, text).unwrap();
    signal(&a, "HUP");
    wait_for_log(&a, "configuration reloaded", 2);
    assert!(a.log().contains("take effect only after a restart"));
    assert!(a.log().contains("listen addresses"));
    assert!(pop3_login_works(&a, "alice@alpha.test"));
}

#[test]
fn a_broken_configuration_on_sighup_keeps_the_old_one() {
    let mut a = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice"],
        Ports::new(),
        None,
        "",
    );
    a.start_alone();
    let good = std::fs::read_to_string(&a.config).unwrap();
    // An unknown key, and a user that is not in the local domains.
    std::fs::write(&a.config, format!("bogus_key = 1\n{good}")).unwrap();
    signal(&a, "HUP");
    wait_for_log(&a, "reload failed; keeping the old configuration", 1);
    assert!(a.log().contains("bogus_key"), "{}", a.log());
    let text = good.replace("alice@alpha.test", "alice@elsewhere.test");
    std::fs::write(&a.config, text).unwrap();
    signal(&a, "HUP");
    wait_for_log(&a, "reload failed; keeping the old configuration", 2);
    assert!(a.log().contains("users[0].address"), "{}", a.log());
    // Still running, on the old configuration: alice logs in.
    assert!(pop3_login_works(&a, "alice@alpha.test"));
    assert!(!a.log().contains("configuration reloaded"));
    assert!(a.stop().success());
}

fn scrape(addr: &str) -> String {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.contains("Content-Type: text/plain; version=0.0.4"));
    response
}

fn sample(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn metrics_count_a_delivered_message_and_a_failed_login() {
    let port = free_port();
    let addr = format!("127.0.0.2:{port}");
    let mut a = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice"],
        Ports::new(),
        None,
        &format!("[metrics]\nlisten = [\"{addr}\"]\n[limits]\nlogin_penalty_ms = 0\n"),
    );
    a.start_alone();
    let before = scrape(&addr);
    assert_eq!(
        sample(&before, "postoffice_messages_delivered_total"),
        Some(0)
    );
    assert_eq!(sample(&before, "postoffice_failed_logins_total"), Some(0));
    assert_eq!(sample(&before, "postoffice_queue_messages"), Some(0));

    submit(
        &a,
        "alice@alpha.test",
        &["alice@alpha.test"],
        &message("alice@alpha.test", "alice@alpha.test", "counted"),
    );
    a.wait_for_mail("alice@alpha.test", 1, Duration::from_secs(30));
    let out = python(
        POPLIB_FETCH,
        &[
            a.ip,
            &a.ports.pop3.to_string(),
            "alice@alpha.test",
            "wrong password",
            "keep",
        ],
    );
    assert!(!out.status.success());
    let text = wait_for("the counters", Duration::from_secs(30), || {
        let text = scrape(&addr);
        (sample(&text, "postoffice_messages_delivered_total") == Some(1)
            && sample(&text, "postoffice_failed_logins_total") == Some(1))
        .then_some(text)
    });
    assert_eq!(sample(&text, "postoffice_messages_accepted_total"), Some(1));
    assert_eq!(
        sample(&text, "postoffice_connections_total{role=\"submission\"}"),
        Some(1),
        "{text}"
    );
    assert!(sample(&text, "postoffice_connections_total{role=\"pop3\"}").unwrap() >= 1);
    assert_eq!(sample(&text, "postoffice_queue_messages"), Some(0));
    // Anything but /metrics is not served.
    let mut tcp = TcpStream::connect(&addr).unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 404"), "{response}");
}

/// Outbound sessions are counted with and without TLS: A relays to B, whose MX port
/// offers STARTTLS with its self-signed certificate (opportunistic TLS takes it).
#[test]
fn metrics_count_an_outbound_session_over_tls() {
    let dns = Dns::start(&[("beta.test", "mx.beta.test", "127.0.0.3")]);
    let ports = Ports::new();
    let port = free_port();
    let addr = format!("127.0.0.2:{port}");
    let mut a = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice"],
        ports,
        Some(&dns),
        &format!("[metrics]\nlisten = [\"{addr}\"]\n"),
    );
    let mut b = Office::new("127.0.0.3", "beta.test", &["bob"], ports, Some(&dns), "");
    a.start();
    b.start();
    let before = scrape(&addr);
    assert_eq!(
        sample(&before, "postoffice_outbound_sessions_total{tls=\"yes\"}"),
        Some(0),
        "{before}"
    );
    submit(
        &a,
        "alice@alpha.test",
        &["bob@beta.test"],
        &message("alice@alpha.test", "bob@beta.test", "over tls"),
    );
    b.wait_for_mail("bob@beta.test", 1, Duration::from_secs(60));
    let text = wait_for("the outbound counter", Duration::from_secs(30), || {
        let text = scrape(&addr);
        (sample(&text, "postoffice_outbound_sessions_total{tls=\"yes\"}") == Some(1))
            .then_some(text)
    });
    assert_eq!(
        sample(&text, "postoffice_outbound_sessions_total{tls=\"no\"}"),
        Some(0),
        "{text}"
    );
}

#[test]
fn json_logs_are_one_object_per_line() {
    let mut a = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice"],
        Ports::new(),
        None,
        "",
    );
    prepend(&a, "log_format = \"json\"\n");
    a.start_alone();
    wait_for_log(&a, "queue scanned", 1);
    let log = a.log();
    let lines: Vec<&str> = log.lines().filter(|l| !l.is_empty()).collect();
    assert!(lines.len() >= 3, "{log}");
    for line in lines {
        assert!(
            line.starts_with('{') && line.ends_with('}') && line.contains("\"level\":"),
            "{line}"
        );
    }
}

/// Runs the binary with extra environment variables; kills it on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(office: &Office, program: &str, args: &[&str], env: &[(&str, &str)]) -> Running {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(office.dir.path().join("log.txt"))
        .unwrap();
    let mut command = Command::new(program);
    command
        .args(args)
        .arg("--config")
        .arg(&office.config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log);
    for (key, value) in env {
        command.env(key, value);
    }
    Running(command.spawn().unwrap_or_else(|e| panic!("{program}: {e}")))
}

fn receive(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 4096];
    let n = socket.recv(&mut buf).expect("a notification within 30 s");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn readiness_reload_and_stop_are_notified_to_notify_socket() {
    let a = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice"],
        Ports::new(),
        None,
        "",
    );
    let path = a.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let running = spawn(&a, BIN, &[], &[("NOTIFY_SOCKET", path.to_str().unwrap())]);
    let ready = receive(&socket);
    assert!(
        ready.lines().any(|l| l == "READY=1"),
        "{ready}\n{}",
        a.log()
    );
    // Ready means listening.
    TcpStream::connect((a.ip, a.ports.smtp)).unwrap();
    TcpStream::connect((a.ip, a.ports.pop3)).unwrap();
    let pid = running.0.id().to_string();
    Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    assert_eq!(receive(&socket), "RELOADING=1");
    assert_eq!(receive(&socket), "READY=1");
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert_eq!(receive(&socket), "STOPPING=1");
}

#[test]
fn socket_activation_uses_the_named_sockets() {
    let tool = "/usr/bin/systemd-socket-activate";
    assert!(
        std::path::Path::new(tool).exists(),
        "{tool} is missing: install the Debian package `systemd` (scripts/test does)"
    );
    let a = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice"],
        Ports::new(),
        None,
        "",
    );
    let activated = free_port();
    let listen = format!("127.0.0.2:{activated}");
    let _running = spawn(&a, tool, &["-l", &listen, "--fdname=smtp", BIN], &[]);
    // systemd-socket-activate starts the post office at the first connection.
    let tcp = wait_for("the activation socket", Duration::from_secs(10), || {
        TcpStream::connect(&listen).ok()
    });
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut greeting = String::new();
    BufReader::new(tcp).read_line(&mut greeting).unwrap();
    assert!(greeting.starts_with("220 "), "{greeting}\n{}", a.log());
    wait_for_log(&a, "listening (socket activation)", 1);
    // The configured SMTP address was not bound; the other listeners were.
    assert!(TcpStream::connect((a.ip, a.ports.smtp)).is_err());
    TcpStream::connect((a.ip, a.ports.pop3)).unwrap();
}

/// The certificate served on the implicit-TLS POP3 port, as PEM.
fn served_certificate(office: &Office) -> String {
    let out = python(
        "import ssl, sys; print(ssl.get_server_certificate((sys.argv[1], int(sys.argv[2]))))",
        &[office.ip, &office.ports.pop3s.to_string()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn pem_body(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

#[test]
fn sighup_reloads_the_certificate() {
    let mut a = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice"],
        Ports::new(),
        None,
        "",
    );
    a.start_alone();
    let tls = a.data().join("tls");
    let first = served_certificate(&a);
    assert_eq!(
        pem_body(&first),
        pem_body(&std::fs::read_to_string(tls.join("cert.pem")).unwrap())
    );
    let fresh = rcgen::generate_simple_self_signed(vec!["mx.alpha.test".to_owned()]).unwrap();
    std::fs::write(tls.join("key.pem"), fresh.signing_key.serialize_pem()).unwrap();
    std::fs::write(tls.join("cert.pem"), fresh.cert.pem()).unwrap();
    signal(&a, "HUP");
    wait_for_log(&a, "configuration reloaded", 1);
    let second = served_certificate(&a);
    assert_ne!(pem_body(&first), pem_body(&second));
    assert_eq!(pem_body(&second), pem_body(&fresh.cert.pem()));
    // A key that does not load is refused, and the certificate in use stays.
    std::fs::write(tls.join("key.pem"), "not a key").unwrap();
    signal(&a, "HUP");
    wait_for_log(&a, "reload failed; keeping the old configuration", 1);
    assert_eq!(pem_body(&served_certificate(&a)), pem_body(&second));
}

#[test]
fn a_second_post_office_on_the_same_data_dir_is_refused() {
    let mut a = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice"],
        Ports::new(),
        None,
        "",
    );
    a.start_alone();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&a.config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("another post office is running on"),
        "{stderr}"
    );
    // The first one still answers on its socket.
    assert_eq!(queue_ok(&a, &["list"]), "the queue is empty\n");
}
