//! Local delivery by LMTP into a real Dovecot (`[delivery] lmtp`): each recipient gets
//! Dovecot's own reply after the data, so one recipient over quota (Dovecot's `552 5.2.2`)
//! bounces with that very status while the others are delivered; a catch-all alias of the
//! domain reaches its user through Dovecot too.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;

struct Dovecot {
    child: Child,
    dir: PathBuf,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Dovecot {
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default()
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("run/lmtp")
    }

    /// The messages in `user`'s Dovecot Maildir (new/ and cur/).
    fn mail(&self, user: &str) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let dir = self.dir.join("mail").join(user).join(sub);
            if let Ok(entries) = std::fs::read_dir(&dir) {
                for e in entries {
                    out.push(std::fs::read_to_string(e.unwrap().path()).unwrap());
                }
            }
        }
        out
    }
}

/// The output of `id FLAG`.
fn id(flag: &str) -> String {
    let out = Command::new("id")
        .arg(flag)
        .output()
        .expect("id is missing: install the Debian package `coreutils`");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn is_root() -> bool {
    id("-u") == "0"
}

/// uid and gid of the mail processes: the `dovecot` user as root (Dovecot refuses to run
/// mail processes as root), else our own.
fn mail_owner() -> (u32, u32) {
    if !is_root() {
        return (id("-u").parse().unwrap(), id("-g").parse().unwrap());
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&"dovecot"))
        .map(|f| (f[2].parse().unwrap(), f[3].parse().unwrap()))
        .expect("no dovecot user in /etc/passwd (install the Debian package `dovecot-core`)")
}

/// Gives `path` and everything under it to `uid:gid` (the mail processes' owner).
fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    if path.is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            chown_tree(&e.unwrap().path(), uid, gid);
        }
    }
}

/// Dovecot with only LMTP, on a Unix socket under `dir/run`, users from a passwd-file;
/// `carol` has a 1 KiB quota.
fn dovecot(dir: &Path) -> Dovecot {
    assert!(
        Path::new("/usr/lib/dovecot/lmtp").exists(),
        "Dovecot's LMTP server is missing: install the Debian package `dovecot-lmtpd`"
    );
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = dir.display();
    let (uid, gid) = mail_owner();
    let mut passwd = String::new();
    for user in ["alice", "bob", "carol"] {
        let extra = if user == "carol" {
            "userdb_quota_rule=*:storage=1K"
        } else {
            ""
        };
        passwd.push_str(&format!(
            "{user}@alpha.test:{{PLAIN}}x:{uid}:{gid}::{d}/home/{user}::{extra}\n"
        ));
        std::fs::create_dir_all(dir.join("home").join(user)).unwrap();
    }
    std::fs::write(dir.join("passwd"), passwd).unwrap();
    std::fs::create_dir_all(dir.join("mail")).unwrap();
    for sub in ["mail", "home"] {
        chown_tree(&dir.join(sub), uid, gid);
    }
    let mut conf = format!(
        "protocols = lmtp\n\
         ssl = no\n\
         base_dir = {d}/run\n\
         state_dir = {d}/state\n\
         log_path = {d}/dovecot.log\n\
         info_log_path = {d}/dovecot.log\n\
         first_valid_uid = 0\n\
         first_valid_gid = 0\n\
         mail_location = maildir:{d}/mail/%u\n\
         mail_plugins = quota\n\
         plugin {{\n  quota = maildir:User quota\n}}\n\
         passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {d}/passwd\n}}\n\
         userdb {{\n  driver = passwd-file\n  args = {d}/passwd\n}}\n\
         service lmtp {{\n  unix_listener lmtp {{\n    mode = 0666\n  }}\n}}\n"
    );
    if !is_root() {
        let (user, group) = (id("-un"), id("-gn"));
        conf.push_str(&format!(
            "default_login_user = {user}\n\
             default_internal_user = {user}\n\
             default_internal_group = {group}\n\
             service anvil {{\n  chroot =\n}}\n"
        ));
    }
    let path = dir.join("dovecot.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new("/usr/sbin/dovecot")
        .arg("-F")
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "dovecot is missing: install the Debian packages `dovecot-core` and `dovecot-lmtpd`",
        );
    let dovecot = Dovecot {
        child,
        dir: dir.to_owned(),
    };
    wait_for("Dovecot's LMTP socket", Duration::from_secs(20), || {
        dovecot.socket().exists().then_some(())
    });
    dovecot
}

/// Waits up to 60 s for `check`; on timeout, fails with both logs.
fn wait_logged<T>(
    what: &str,
    dovecot: &Dovecot,
    office: &Office,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}\n--- post office log:\n{}\n--- Dovecot log:\n{}",
            office.log(),
            dovecot.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn local_mail_goes_to_dovecot_by_lmtp_with_one_reply_per_recipient() {
    let dtmp = tempfile::tempdir().unwrap();
    let dovecot = dovecot(dtmp.path());
    let extra = format!(
        "[delivery]\nlmtp = \"unix:{}\"\n[aliases]\n\"@alpha.test\" = \"bob@alpha.test\"\n",
        dovecot.socket().display()
    );
    let mut a = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice", "bob", "carol"],
        Ports::new(),
        None,
        &extra,
    );
    a.start();
    let body = "A line of text that makes this message larger than carol's quota.\r\n".repeat(40);
    let text = format!(
        "From: alice@alpha.test\r\nTo: bob@alpha.test, carol@alpha.test\r\n\
         Subject: by lmtp\r\nMessage-ID: <lmtp1@test>\r\n\r\n{body}"
    );
    submit(
        &a,
        "alice@alpha.test",
        &["bob@alpha.test", "carol@alpha.test", "whoever@alpha.test"],
        &text,
    );
    // bob is addressed twice (his own address and the catch-all's) in one LMTP
    // transaction: Dovecot stores one copy and accepts both; carol's is refused by quota.
    let bob = wait_logged("bob's mail in Dovecot", &dovecot, &a, || {
        let m = dovecot.mail("bob@alpha.test");
        (!m.is_empty()).then_some(m)
    });
    for m in &bob {
        assert!(m.contains("Subject: by lmtp"), "{m}");
        assert!(m.contains("Return-Path: <alice@alpha.test>"), "{m}");
    }
    // The bounce comes back to alice, by LMTP too, with Dovecot's status.
    let bounce = wait_logged("alice's bounce in Dovecot", &dovecot, &a, || {
        dovecot.mail("alice@alpha.test").into_iter().next()
    });
    assert!(
        bounce.contains("Final-Recipient: rfc822; carol@alpha.test"),
        "{bounce}"
    );
    assert!(bounce.contains("Status: 5.2.2"), "{bounce}");
    assert!(bounce.contains("552"), "{bounce}");
    assert!(
        !bounce.contains("Final-Recipient: rfc822; bob@alpha.test"),
        "{bounce}"
    );
    assert!(
        !bounce.contains("Final-Recipient: rfc822; whoever@alpha.test"),
        "{bounce}"
    );
    assert!(dovecot.mail("carol@alpha.test").is_empty());
    // Nothing went to the post office's own Maildirs.
    assert!(a.maildir("bob@alpha.test").is_empty());
    assert!(
        dovecot.log().contains("lmtp"),
        "Dovecot logged nothing about LMTP:\n{}",
        dovecot.log()
    );
}
