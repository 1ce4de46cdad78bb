//! The two blocking examples talking to each other over loopback, as other tooling runs
//! them: `server ADDR MAILDIR` and `client ADDR FROM TO... < MSG`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

#[path = "../../../tests/support/example_bin.rs"]
mod example_bin;

fn example(name: &str) -> PathBuf {
    let usage = match name {
        "client" => "usage: client ADDR FROM TO... < MSG",
        _ => "usage: server ADDR MAILDIR",
    };
    example_bin::example_binary("postwerk-smtp", name, usage)
}

struct Server {
    child: Child,
    addr: String,
    maildir: PathBuf,
}

impl Server {
    fn start(name: &str) -> Server {
        let maildir = std::env::temp_dir().join(format!(
            "postwerk-client-example-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&maildir);
        let mut child = Command::new(example("server"))
            .arg("127.0.0.1:0")
            .arg(&maildir)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // Readiness: the server prints `listening on ADDR` once it is bound.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Server {
            child,
            addr,
            maildir,
        }
    }

    fn messages(&self) -> Vec<Vec<u8>> {
        let mut paths: Vec<_> = std::fs::read_dir(self.maildir.join("new"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

fn client(addr: &str, args: &[&str], message: &[u8]) -> (bool, String) {
    let mut child = Command::new(example("client"))
        .arg(addr)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(message).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn example_client_to_example_server() {
    let server = Server::start("basic");
    let message = "Subject: Grüße\r\n\r\n.leading dot\r\n..two\r\n.\r\nÄ 8-bit line\r\n";
    let (ok, stdout) = client(
        &server.addr,
        &["alice@example.org", "bob@example.net", "<jörg@example.net>"],
        message.as_bytes(),
    );
    assert!(ok, "{stdout}");
    // Every reply line is printed: the greeting, the EHLO lines, 354, the final 250, 221.
    assert!(stdout.starts_with("S: 220 localhost"), "{stdout}");
    assert!(stdout.contains("S: 250-localhost"), "{stdout}");
    assert!(stdout.contains("S: 250 "), "{stdout}");
    assert!(stdout.contains("S: 354 "), "{stdout}");
    assert!(
        stdout.lines().last().unwrap().starts_with("S: 221"),
        "{stdout}"
    );
    assert_eq!(server.messages(), [message.as_bytes()]);
}

#[test]
fn example_client_fails_on_refused_recipient_syntax() {
    let server = Server::start("bad");
    // A path the client cannot even send: usage error, non-zero, nothing stored.
    let (ok, _) = client(
        &server.addr,
        &["alice@example.org", "not an address"],
        b"x\r\n",
    );
    assert!(!ok);
    assert!(server.messages().is_empty());
    assert!(Path::new(&server.maildir).join("new").exists());
}
