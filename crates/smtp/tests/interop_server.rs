//! Interop: real clients (Python's smtplib, swaks) against `examples/server.rs`, checking
//! the stored Maildir files byte for byte.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[path = "../../../tests/support/example_bin.rs"]
mod example_bin;

fn example_binary() -> PathBuf {
    example_bin::example_binary("postwerk-smtp", "server", "usage: server ADDR MAILDIR")
}

struct Server {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

fn start_server(tag: &str) -> Server {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let maildir = std::env::temp_dir().join(format!(
        "postwerk-smtp-{tag}-{}-{nanos}",
        std::process::id()
    ));
    let mut child = Command::new(example_binary())
        .arg("127.0.0.1:0")
        .arg(&maildir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn example server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("read listening line");
    let port = line
        .trim()
        .strip_prefix("listening on 127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    Server {
        child,
        port,
        maildir,
    }
}

/// The stored messages, oldest first by name, waiting up to 10 s for `n` of them.
fn stored(maildir: &Path, n: usize) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut names: Vec<_> = std::fs::read_dir(maildir.join("new"))
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        if names.len() >= n || Instant::now() > deadline {
            names.sort_by_key(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                // the counter after 'Q' orders messages of one server process
                name.rsplit_once('Q')
                    .and_then(|(_, r)| r.split('.').next()?.parse::<u64>().ok())
                    .unwrap_or(0)
            });
            return names.iter().map(|p| std::fs::read(p).unwrap()).collect();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn python_smtplib_sends_several_messages_with_dot_lines_and_rset() {
    let server = start_server("smtplib");
    let script = format!(
        r#"
import smtplib
s = smtplib.SMTP('127.0.0.1', {port}, timeout=20)
code, caps = s.ehlo('client.example')
assert code == 250, code
assert s.has_extn('pipelining') and s.has_extn('size') and s.has_extn('8bitmime')
s.sendmail('alice@client.example', ['bob@mx.example'],
           b'Subject: one\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n')
s.mail('carol@client.example')
s.rcpt('dave@mx.example')
s.rset()
refused = s.sendmail('alice@client.example', ['bob@mx.example', 'eve@mx.example'],
                     b'Subject: two\r\n\r\nno final line end')
assert refused == {{}}, refused
code, _ = s.noop()
assert code == 250
s.quit()
print('ok')
"#,
        port = server.port
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("python3 is missing: install the Debian package `python3`");
    assert!(
        out.status.success(),
        "smtplib failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
    let msgs = stored(&server.maildir, 2);
    assert_eq!(msgs.len(), 2);
    assert_eq!(
        msgs[0],
        b"Subject: one\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n".to_vec()
    );
    assert_eq!(
        msgs[1],
        b"Subject: two\r\n\r\nno final line end\r\n".to_vec()
    );
}

#[test]
fn swaks_delivers_a_message() {
    let server = start_server("swaks");
    let out = Command::new("swaks")
        .args([
            "--server",
            &format!("127.0.0.1:{}", server.port),
            "--helo",
            "client.example",
            "--from",
            "alice@client.example",
            "--to",
            "bob@mx.example",
            "--header",
            "Subject: from swaks",
            "--body",
            "first line\n.dot line\nlast line",
            "--timeout",
            "20",
        ])
        .output()
        .expect("swaks is missing: install the Debian package `swaks`");
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "swaks failed:\n{transcript}");
    assert!(
        transcript.contains("<-  250 2.0.0 Message accepted"),
        "{transcript}"
    );
    let msgs = stored(&server.maildir, 1);
    assert_eq!(msgs.len(), 1);
    let text = String::from_utf8(msgs[0].clone()).unwrap();
    assert!(text.contains("Subject: from swaks\r\n"), "{text}");
    assert!(
        text.contains("\r\n\r\nfirst line\r\n.dot line\r\nlast line\r\n"),
        "{text:?}"
    );
    assert!(!text.contains("..dot"), "dot not unstuffed: {text:?}");
    assert!(!text.replace("\r\n", "").contains('\n'), "bare LF stored");
}

#[test]
fn swaks_pipelines_a_transaction_to_two_recipients() {
    let server = start_server("swaks-pipe");
    let out = Command::new("swaks")
        .args([
            "--server",
            &format!("127.0.0.1:{}", server.port),
            "--pipeline",
            "--from",
            "alice@client.example",
            "--to",
            "bob@mx.example,carol@mx.example",
            "--body",
            "pipelined",
            "--timeout",
            "20",
        ])
        .output()
        .expect("swaks is missing: install the Debian package `swaks`");
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "swaks failed:\n{transcript}");
    let msgs = stored(&server.maildir, 1);
    assert_eq!(msgs.len(), 1);
    assert!(String::from_utf8_lossy(&msgs[0]).contains("\r\n\r\npipelined\r\n"));
    assert!(
        transcript.contains("<-  250 2.1.5 Recipient OK"),
        "{transcript}"
    );
}
