//! The example client against a real POP3 server: Dovecot, configured by
//! the test in a temporary directory on a free loopback port.

use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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

fn config(dir: &Path, port: u16) -> String {
    let d = dir.display();
    let (uid, gid) = mail_owner();
    let common = format!(
        "protocols = pop3\n\
         listen = 127.0.0.1\n\
         ssl = no\n\
         base_dir = {d}/run\n\
         state_dir = {d}/state\n\
         log_path = {d}/dovecot.log\n\
         info_log_path = {d}/dovecot.log\n\
         auth_mechanisms = plain\n\
         first_valid_uid = 0\n\
         first_valid_gid = 0\n\
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
        format!(
            "{common}\
             disable_plaintext_auth = no\n\
             mail_location = maildir:{d}/mail/%u\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {d}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={d}/home/%u\n}}\n"
        )
    }
}

fn wait_for_port(port: u16, child: &mut Child, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "dovecot exited {status}: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!(
        "dovecot did not listen: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

const MESSAGES: [&[u8]; 3] = [
    b"From: a@example.org\r\nTo: alice@example.org\r\nSubject: one\r\n\r\nHello.\r\n.leading dot\r\n",
    b"From: b@example.org\r\nSubject: two\r\n\r\nline\r\n..two dots\r\n.\r\nafter lone dot\r\n",
    b"From: c@example.org\r\nSubject: three\r\n\r\n",
];

#[test]
fn example_client_against_dovecot() {
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
    let (uid, gid) = mail_owner();
    chown_tree(&dir.join("mail"), uid, gid);
    chown_tree(&dir.join("home"), uid, gid);
    let port = free_port();
    let conf = dir.join("dovecot.conf");
    std::fs::write(&conf, config(dir, port)).unwrap();
    let log = dir.join("dovecot.log");
    let mut child = Command::new("/usr/sbin/dovecot")
        .arg("-F")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    wait_for_port(port, &mut child, &log);
    let _dovecot = Dovecot(child);

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
        std::fs::read_to_string(&log).unwrap_or_default()
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
