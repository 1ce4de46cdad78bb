//! The example client against a real POP3 server: Dovecot, configured by
//! the test in a temporary directory on a free loopback port. Passwords come
//! from a passwd-file (PLAIN, SCRAM-SHA-256); bearer tokens (OAUTHBEARER,
//! XOAUTH2) from Dovecot's oauth2 passdb validating HS256 JWTs locally with a
//! key the test writes, the tokens minted by the test.

use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

#[path = "../../../tests/support/example_bin.rs"]
mod example_bin;

fn example(name: &str) -> PathBuf {
    let usage = match name {
        "client" => "usage: client ADDR USER PASS OUTDIR",
        _ => "usage: server ADDR MAILDIR USER PASS",
    };
    example_bin::example_binary("postwerk-pop3", name, usage)
}

struct Dovecot(Child);

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn dovecot_version() -> (u32, u32) {
    let out = Command::new("/usr/sbin/dovecot")
        .arg("--version")
        .output()
        .expect("dovecot is installed (dovecot-core, dovecot-pop3d)");
    let v = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut parts = v.split(|c: char| !c.is_ascii_digit());
    let major = parts.next().unwrap().parse().unwrap();
    let minor = parts.next().unwrap().parse().unwrap();
    (major, minor)
}

/// The output of `id FLAG` (this process's user or group, as a number or a name).
fn id(flag: &str) -> String {
    let out = Command::new("id")
        .arg(flag)
        .output()
        .expect("id is missing: install the Debian package `coreutils`");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Are we root? Then Dovecot runs as usual (mail processes as the `dovecot` user, login
/// processes chrooted); otherwise everything runs as our own user, the way Dovecot's
/// "running as non-root" setup does it.
fn is_root() -> bool {
    id("-u") == "0"
}

/// uid and gid the mail processes run as: the `dovecot` system user as root (Dovecot
/// refuses to run mail processes as root), else our own.
fn mail_owner() -> (u32, u32) {
    if !is_root() {
        return (id("-u").parse().unwrap(), id("-g").parse().unwrap());
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    for line in passwd.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.first() == Some(&"dovecot") {
            return (f[2].parse().unwrap(), f[3].parse().unwrap());
        }
    }
    panic!("no dovecot user in /etc/passwd (install the Debian package `dovecot-core`)");
}

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    if path.is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            chown_tree(&e.unwrap().path(), uid, gid);
        }
    }
}

/// The Dovecot configuration; with `oauth`, the oauth2 passdb (local JWT validation with
/// the HMAC key under `dir/keys`) instead of the passwd-file, offering OAUTHBEARER and
/// XOAUTH2.
fn config(dir: &Path, port: u16, greeting: &str, oauth: bool) -> String {
    let d = dir.display();
    let (uid, gid) = mail_owner();
    // With oauth, auth_verbose logs why a token was refused.
    let (mechanisms, verbose) = if oauth {
        ("oauthbearer xoauth2", "yes")
    } else {
        ("plain scram-sha-256", "no")
    };
    let common = format!(
        "protocols = pop3\n\
         listen = 127.0.0.1\n\
         ssl = no\n\
         base_dir = {d}/run\n\
         state_dir = {d}/state\n\
         log_path = /dev/stderr\n\
         info_log_path = /dev/stderr\n\
         auth_mechanisms = {mechanisms}\n\
         auth_verbose = {verbose}\n\
         first_valid_uid = 0\n\
         first_valid_gid = 0\n\
         login_greeting = {greeting}\n\
         service pop3-login {{\n  inet_listener pop3 {{\n    port = {port}\n  }}\n}}\n"
    );
    // As an ordinary user: every process runs as us, and nothing chroots.
    let common = if is_root() {
        common
    } else {
        let (user, group) = (id("-un"), id("-gn"));
        format!(
            "{common}default_login_user = {user}\n\
             default_internal_user = {user}\n\
             default_internal_group = {group}\n\
             service pop3-login {{\n  chroot =\n}}\n\
             service anvil {{\n  chroot =\n}}\n"
        )
    };
    if dovecot_version() >= (2, 4) {
        // 2.4 moved token validation out of the passdb into `oauth2_*` settings; this
        // test's oauth2 configuration is written for 2.3's oauth2 passdb.
        assert!(
            !oauth,
            "the oauth2 configuration of this test is written for Dovecot 2.3 \
             (passdb oauth2 with args); Dovecot {:?} needs the 2.4 oauth2 settings",
            dovecot_version()
        );
        format!(
            "dovecot_config_version = 2.4.0\n\
             dovecot_storage_version = 2.4.0\n\
             {common}\
             auth_allow_cleartext = yes\n\
             mail_driver = maildir\n\
             mail_path = {d}/mail/%{{user}}\n\
             passdb passwd-file {{\n  passwd_file_path = {d}/passwd\n}}\n\
             userdb static {{\n  fields {{\n    uid = {uid}\n    gid = {gid}\n    home = {d}/home/%{{user}}\n  }}\n}}\n"
        )
    } else {
        let passdb = if oauth {
            format!(
                "passdb {{\n  driver = oauth2\n  mechanisms = oauthbearer xoauth2\n  \
                 args = {d}/oauth2.conf.ext\n}}\n"
            )
        } else {
            format!("passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {d}/passwd\n}}\n")
        };
        format!(
            "{common}\
             disable_plaintext_auth = no\n\
             mail_location = maildir:{d}/mail/%u\n\
             {passdb}\
             userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={d}/home/%u\n}}\n"
        )
    }
}

/// Waits until the Dovecot in `child` greets on `port` with `greeting`. An error when it
/// exits first or another server answers there: the port, free a moment ago, was taken
/// in between (by a Dovecot of a test running alongside), so the caller tries another.
fn wait_for_dovecot(port: u16, greeting: &str, child: &mut Child, log: &Log) -> Result<(), String> {
    use std::io::{BufRead, BufReader};
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("dovecot exited {status}: {}", log.text()));
        }
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut line = String::new();
            let _ = BufReader::new(stream).read_line(&mut line);
            return if line.trim_end() == format!("+OK {greeting}") {
                Ok(())
            } else {
                Err(format!("another server on port {port}: {line:?}"))
            };
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(format!("dovecot did not listen: {}", log.text()))
}

/// Dovecot's log (`log_path = /dev/stderr`, its standard error piped here), read by a
/// thread as it is written. Dovecot's log process writes the lines of its login and
/// mail processes in its own time, so a line about a session may come after the session
/// has ended on our side: [`Log::wait_for`] waits for it.
#[derive(Clone, Default)]
struct Log(Arc<(Mutex<String>, Condvar)>);

impl Log {
    fn follow(mut from: impl std::io::Read + Send + 'static) -> Log {
        let log = Log::default();
        let shared = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = from.read(&mut buf) {
                let (text, changed) = &*shared.0;
                text.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
                changed.notify_all();
            }
        });
        log
    }

    fn text(&self) -> String {
        self.0.0.lock().unwrap().clone()
    }

    /// The log once it holds `needle`; all of it after 20 s without.
    fn wait_for(&self, needle: &str) -> String {
        let (text, changed) = &*self.0;
        let (text, _) = changed
            .wait_timeout_while(text.lock().unwrap(), Duration::from_secs(20), |t| {
                !t.contains(needle)
            })
            .unwrap();
        text.clone()
    }
}

const MESSAGES: [&[u8]; 3] = [
    b"From: a@example.org\r\nTo: alice@example.org\r\nSubject: one\r\n\r\nHello.\r\n.leading dot\r\n",
    b"From: b@example.org\r\nSubject: two\r\n\r\nline\r\n..two dots\r\n.\r\nafter lone dot\r\n",
    b"From: c@example.org\r\nSubject: three\r\n\r\n",
];

/// A running Dovecot serving alice's maildir with `MESSAGES`.
struct Running {
    _dovecot: Dovecot,
    tmp: tempfile::TempDir,
    port: u16,
    log: Log,
}

impl Running {
    fn dir(&self) -> &Path {
        self.tmp.path()
    }
}

fn start_dovecot() -> Running {
    start_dovecot_with(None)
}

/// Dovecot with, given an HMAC key, the oauth2 passdb validating HS256 JWTs locally (RFC
/// 7519): the key base64 in the fs dict at `keys/<azp>/<ALG>/<kid>` (Dovecot looks up
/// `default` for a missing `azp` and `kid`), the user name taken from `sub`.
fn start_dovecot_with(oauth_key: Option<&[u8]>) -> Running {
    use base64::Engine;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Dovecot's unprivileged login processes must reach base_dir.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let maildir = dir.join("mail/alice");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    std::fs::create_dir_all(dir.join("home/alice")).unwrap();
    for (i, m) in MESSAGES.iter().enumerate() {
        std::fs::write(maildir.join(format!("new/100{i}.M1P1.test")), m).unwrap();
    }
    std::fs::write(
        dir.join("passwd"),
        format!(
            "alice:{{PLAIN}}wonderland:::{}/home/alice::\n",
            dir.display()
        ),
    )
    .unwrap();
    if let Some(key) = oauth_key {
        let keys = dir.join("keys/default/HS256");
        std::fs::create_dir_all(&keys).unwrap();
        std::fs::write(
            keys.join("default"),
            base64::engine::general_purpose::STANDARD.encode(key),
        )
        .unwrap();
        std::fs::write(
            dir.join("oauth2.conf.ext"),
            format!(
                "introspection_mode = local\n\
                 local_validation_key_dict = fs:posix:prefix={}/keys/\n\
                 username_attribute = sub\n\
                 debug = yes\n",
                dir.display()
            ),
        )
        .unwrap();
    }
    let (uid, gid) = mail_owner();
    chown_tree(&dir.join("mail"), uid, gid);
    chown_tree(&dir.join("home"), uid, gid);
    // Our own greeting, so that a server of another test that took the port between
    // `free_port` and Dovecot's bind is never mistaken for ours.
    let greeting = format!("postwerk test {}", nonce());
    let conf = dir.join("dovecot.conf");
    let mut why = Vec::new();
    for _ in 0..5 {
        let port = free_port();
        std::fs::write(&conf, config(dir, port, &greeting, oauth_key.is_some())).unwrap();
        let mut child = Command::new("/usr/sbin/dovecot")
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Log::follow(child.stderr.take().unwrap());
        let started = wait_for_dovecot(port, &greeting, &mut child, &log);
        // Dropped (killed and reaped) unless it is ours and listening.
        let dovecot = Dovecot(child);
        match started {
            Ok(()) => {
                return Running {
                    _dovecot: dovecot,
                    tmp,
                    port,
                    log,
                };
            }
            Err(e) => why.push(e),
        }
    }
    panic!("dovecot did not start: {why:#?}");
}

#[test]
fn example_client_against_dovecot() {
    let running = start_dovecot();
    let (dir, port) = (running.dir(), running.port);
    let maildir = dir.join("mail/alice");

    let out = dir.join("out");
    let status = Command::new(example("client"))
        .args([
            &format!("127.0.0.1:{port}"),
            "alice",
            "wonderland",
            out.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(
        status.success(),
        "client failed; dovecot log:\n{}",
        running.log.text()
    );

    // The example client picked the strongest mechanism Dovecot offers.
    let logged = running.log.wait_for("user=<alice>, method=SCRAM-SHA-256");
    assert!(
        logged.contains("user=<alice>, method=SCRAM-SHA-256"),
        "{logged}"
    );

    let mut got = BTreeSet::new();
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(path.extension().unwrap(), "eml");
        got.insert(std::fs::read(&path).unwrap());
    }
    let want: BTreeSet<Vec<u8>> = MESSAGES.iter().map(|m| m.to_vec()).collect();
    assert_eq!(got, want);

    // Nothing was deleted (Dovecot may have moved them from new/ to cur/).
    let remaining: usize = ["new", "cur"]
        .iter()
        .map(|s| std::fs::read_dir(maildir.join(s)).unwrap().count())
        .sum();
    assert_eq!(remaining, MESSAGES.len());

    // A wrong password makes the client fail.
    let status = Command::new(example("client"))
        .args([
            &format!("127.0.0.1:{port}"),
            "alice",
            "wrong",
            dir.join("out2").to_str().unwrap(),
        ])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success());
}

/// Our client machine over a blocking socket: issue `commands`, then run
/// until the session closes; every event, in order.
fn session(
    port: u16,
    commands: impl FnOnce(&mut postwerk_pop3::client::Connection),
) -> Vec<postwerk_pop3::client::Event> {
    use postwerk_pop3::client::{Config, Connection};
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut conn = Connection::new(Config::default(), Instant::now());
    commands(&mut conn);
    let mut events = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        while let Some(ev) = conn.poll_event() {
            events.push(ev);
        }
        if let Some(b) = conn.poll_transmit() {
            stream.write_all(&b).unwrap();
            continue;
        }
        if conn.is_closed() {
            return events;
        }
        let n = stream.read(&mut buf).unwrap_or_else(|e| {
            panic!(
                "reading from dovecot: {e} ({:?}) after {events:?}",
                e.kind()
            )
        });
        match n {
            0 => conn.handle_eof(Instant::now()),
            n => conn.handle_input(&buf[..n], Instant::now()),
        }
    }
}

fn nonce() -> String {
    use std::io::Read;
    let mut b = [0u8; 18];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut b)
        .unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Dovecot (with `{PLAIN}` passwords it does SCRAM-SHA-256 as well) as the
/// server for our client's AUTH SCRAM-SHA-256 (server signature checked)
/// and AUTH PLAIN, and a wrong password through SCRAM.
#[test]
fn client_sasl_scram_sha_256_and_plain_against_dovecot() {
    use postwerk_pop3::client::{CloseReason, Event, Reply};
    use postwerk_pop3::sasl::{Credentials, Mechanism};
    let running = start_dovecot();
    let reply = |events: &[Event], id| {
        events
            .iter()
            .find_map(|e| match e {
                Event::Reply { id: i, result } if *i == id => Some(result.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no reply in {events:?}\n{}", running.log.text()))
    };

    let (mut capa, mut auth, mut stat) = (None, None, None);
    let events = session(running.port, |c| {
        capa = Some(c.capa().unwrap());
        let creds = Credentials::password("alice", "wonderland");
        auth = Some(
            c.auth_with(Mechanism::ScramSha256, &creds, &nonce())
                .unwrap(),
        );
        stat = Some(c.stat().unwrap());
        c.quit().unwrap();
    });
    let Ok(Reply::Capabilities(caps)) = reply(&events, capa.unwrap()) else {
        panic!("CAPA: {events:?}")
    };
    assert!(caps.supports_sasl("SCRAM-SHA-256"), "{caps:?}");
    assert!(caps.supports_sasl("PLAIN"), "{caps:?}");
    assert!(
        matches!(reply(&events, auth.unwrap()), Ok(Reply::Ok(_))),
        "SCRAM: {events:?}\n{}",
        running.log.text()
    );
    assert!(!events.iter().any(|e| matches!(e, Event::SaslError { .. })));
    assert_eq!(
        reply(&events, stat.unwrap()),
        Ok(Reply::Stat {
            count: 3,
            octets: MESSAGES.iter().map(|m| m.len() as u64).sum()
        })
    );
    assert!(matches!(
        events.last(),
        Some(Event::Closed {
            reason: CloseReason::Quit
        })
    ));

    let (mut auth, mut stat) = (None, None);
    let events = session(running.port, |c| {
        auth = Some(c.auth_plain("", "alice", "wonderland").unwrap());
        stat = Some(c.stat().unwrap());
        c.quit().unwrap();
    });
    assert!(
        matches!(reply(&events, auth.unwrap()), Ok(Reply::Ok(_))),
        "PLAIN: {events:?}"
    );
    assert!(matches!(
        reply(&events, stat.unwrap()),
        Ok(Reply::Stat { count: 3, .. })
    ));

    let mut auth = None;
    let events = session(running.port, |c| {
        let creds = Credentials::password("alice", "wrong");
        auth = Some(
            c.auth_with(Mechanism::ScramSha256, &creds, &nonce())
                .unwrap(),
        );
        c.quit().unwrap();
    });
    assert!(
        reply(&events, auth.unwrap()).is_err(),
        "wrong password accepted: {events:?}"
    );
}

/// A JWT (RFC 7519) signed with HS256 under `key`: `sub` is the user, `exp` is `lifetime`
/// seconds from now (negative: already expired).
fn mint_jwt(key: &[u8], sub: &str, lifetime: i64) -> String {
    use base64::Engine;
    use hmac::{Hmac, KeyInit, Mac};
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let header = b64(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = b64(format!(
        r#"{{"sub":"{sub}","iat":{},"exp":{}}}"#,
        now - 60,
        now + lifetime
    )
    .as_bytes());
    let signed = format!("{header}.{claims}");
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(signed.as_bytes());
    format!("{signed}.{}", b64(&mac.finalize().into_bytes()))
}

/// Dovecot's oauth2 passdb (local JWT validation) as the server for our client's AUTH
/// OAUTHBEARER (RFC 7628) and XOAUTH2 with a token the test minted, then STAT; an expired
/// token and one signed with another key are refused (the client answers Dovecot's error
/// challenge instead of cancelling), and Dovecot's log says why.
#[test]
fn client_sasl_oauthbearer_and_xoauth2_against_dovecot() {
    use postwerk_pop3::client::{CloseReason, Event, Reply};
    use postwerk_pop3::codec::ResponseCode;
    use postwerk_pop3::sasl::{Credentials, Mechanism};
    const KEY: &[u8] = b"postwerk interop HS256 key, 32 o";
    let running = start_dovecot_with(Some(KEY));
    let reply = |events: &[Event], id| {
        events
            .iter()
            .find_map(|e| match e {
                Event::Reply { id: i, result } if *i == id => Some(result.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no reply in {events:?}\n{}", running.log.text()))
    };
    let good = mint_jwt(KEY, "alice", 3600);

    for mechanism in [Mechanism::OAuthBearer, Mechanism::XOAuth2] {
        let (mut capa, mut auth, mut stat) = (None, None, None);
        let events = session(running.port, |c| {
            capa = Some(c.capa().unwrap());
            let creds = Credentials::oauth("alice", good.as_str());
            auth = Some(c.auth_with(mechanism, &creds, &nonce()).unwrap());
            stat = Some(c.stat().unwrap());
            c.quit().unwrap();
        });
        let Ok(Reply::Capabilities(caps)) = reply(&events, capa.unwrap()) else {
            panic!("CAPA: {events:?}")
        };
        assert!(caps.supports_sasl(mechanism.name()), "{caps:?}");
        assert!(
            matches!(reply(&events, auth.unwrap()), Ok(Reply::Ok(_))),
            "{}: {events:?}\n{}",
            mechanism.name(),
            running.log.text()
        );
        assert!(!events.iter().any(|e| matches!(e, Event::SaslError { .. })));
        assert_eq!(
            reply(&events, stat.unwrap()),
            Ok(Reply::Stat {
                count: 3,
                octets: MESSAGES.iter().map(|m| m.len() as u64).sum()
            })
        );
        assert!(matches!(
            events.last(),
            Some(Event::Closed {
                reason: CloseReason::Quit
            })
        ));
        let login = format!("Login: user=<alice>, method={}", mechanism.name());
        let log = running.log.wait_for(&login);
        assert!(log.contains(&login), "{log}");
    }

    let refused = [
        (
            Mechanism::OAuthBearer,
            mint_jwt(KEY, "alice", -3600),
            "Token has expired",
        ),
        (
            Mechanism::XOAuth2,
            mint_jwt(b"some other key", "alice", 3600),
            "Incorrect JWT signature",
        ),
    ];
    for (mechanism, token, why) in refused {
        let mut auth = None;
        let events = session(running.port, |c| {
            let creds = Credentials::oauth("alice", token.as_str());
            auth = Some(c.auth_with(mechanism, &creds, &nonce()).unwrap());
            c.quit().unwrap();
        });
        let result = reply(&events, auth.unwrap());
        assert!(
            matches!(&result, Err(e) if e.code == Some(ResponseCode::Auth)),
            "{}: bad token not refused with [AUTH]: {events:?}",
            mechanism.name()
        );
        // The error challenge was answered (RFC 7628 3.2.3), not cancelled with `*`.
        assert!(
            !events.iter().any(|e| matches!(e, Event::SaslError { .. })),
            "{events:?}"
        );
        let log = running.log.wait_for(why);
        assert!(log.contains(why), "{}: {log}", mechanism.name());
    }
}
