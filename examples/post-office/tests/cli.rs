//! The command line: hash-password, check-config, and the first start without users.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

#[test]
fn hash_password_prints_an_argon2id_phc_string_last() {
    let hash = password_hash();
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    let out = Command::new(BIN)
        .arg("hash-password")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "an empty password is refused");
}

#[test]
fn check_config_accepts_the_default_and_names_bad_keys() {
    let out = Command::new(BIN).arg("check-config").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "hostname = \"a.test\"\ndomains = [\"a.test\"]\ndata_dir = \"d\"\n[smtp]\nlisten = [\"127.0.0.1:1\"]\nlistne = 3\n").unwrap();
    let out = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml") && err.contains("listne"), "{err}");
    let out = Command::new(BIN)
        .arg("--config")
        .arg(dir.path().join("missing.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

#[test]
fn the_first_start_creates_the_postmaster_and_prints_the_password_once() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("po.toml");
    std::fs::write(
        &config,
        format!("hostname = \"localhost\"\ndomains = [\"localhost\"]\ndata_dir = \"data\"\n[pop3]\nlisten = [\"127.0.0.1:{port}\"]\n"),
    )
    .unwrap();
    let start = || {
        let mut child = Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for("the POP3 port", Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert!(child.wait().unwrap().success());
        out
    };
    let first = start();
    let password = first
        .split_whitespace()
        .skip_while(|w| *w != "password")
        .nth(1)
        .unwrap_or_else(|| panic!("no password in {first:?}"))
        .to_owned();
    assert!(first.contains("postmaster@localhost"), "{first}");
    let stored = std::fs::read_to_string(dir.path().join("data/users.toml")).unwrap();
    assert!(stored.contains("$argon2id$") && !stored.contains(&password));
    let second = start();
    assert!(!second.contains(&password), "printed only once: {second}");
}
