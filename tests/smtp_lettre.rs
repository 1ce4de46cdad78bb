//! Interop: the lettre crate's SMTP transport (an independent client) sending to the
//! postwerk SMTP server machine, driven over a loopback `std::net` socket by the small
//! server loop below.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use lettre::message::Mailbox;
use lettre::{Message, SmtpTransport, Transport};
use postwerk::smtp::server::{Config, Connection, Decision, Envelope, Event};

/// What the server stored: the envelope as text and the message bytes.
#[derive(Debug)]
struct Stored {
    from: String,
    to: Vec<String>,
    body: Vec<u8>,
}

fn envelope_text(envelope: &Envelope) -> (String, Vec<String>) {
    (
        envelope.from.to_string(),
        envelope
            .recipients
            .iter()
            .map(|(to, _)| to.to_string())
            .collect(),
    )
}

/// Serves one connection with the server machine; sends each accepted message on `tx`.
fn serve(mut socket: TcpStream, tx: mpsc::Sender<Stored>) {
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut conn = Connection::new(Config::new("mx.postwerk.test"), Instant::now());
    let mut body = Vec::new();
    let mut buf = [0u8; 8192];
    let mut unread: Vec<u8> = Vec::new();
    loop {
        while let Some(out) = conn.poll_transmit() {
            socket.write_all(&out).unwrap();
        }
        while let Some(event) = conn.poll_event() {
            let now = Instant::now();
            match event {
                Event::Mail { id, .. } | Event::Rcpt { id, .. } => {
                    conn.respond(id, Decision::Accept, now).unwrap();
                }
                Event::DataStart => body.clear(),
                Event::BodyChunk(chunk) => body.extend_from_slice(&chunk),
                Event::DataEnd { id, envelope, .. } => {
                    let (from, to) = envelope_text(&envelope);
                    let body = std::mem::take(&mut body);
                    tx.send(Stored { from, to, body }).unwrap();
                    conn.respond(id, Decision::Accept, now).unwrap();
                }
                _ => {}
            }
        }
        while let Some(out) = conn.poll_transmit() {
            socket.write_all(&out).unwrap();
        }
        if conn.is_closed() {
            return;
        }
        if !unread.is_empty() {
            let n = conn.handle_input(&unread, Instant::now());
            unread.drain(..n);
            continue;
        }
        match socket.read(&mut buf) {
            Ok(0) | Err(_) => {
                conn.handle_eof(Instant::now());
            }
            Ok(n) => {
                let taken = conn.handle_input(&buf[..n], Instant::now());
                unread.extend_from_slice(&buf[taken..n]);
            }
        }
    }
}

/// Starts a listener on a free loopback port serving every connection in a thread.
fn start_server() -> (u16, mpsc::Receiver<Stored>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(socket) = socket else { return };
            let tx = tx.clone();
            thread::spawn(move || serve(socket, tx));
        }
    });
    (port, rx)
}

fn with_final_crlf(mut formatted: Vec<u8>) -> Vec<u8> {
    formatted.extend_from_slice(b"\r\n");
    formatted
}

fn transport(port: u16) -> SmtpTransport {
    SmtpTransport::builder_dangerous("127.0.0.1")
        .port(port)
        .timeout(Some(Duration::from_secs(20)))
        .build()
}

#[test]
fn lettre_sends_to_the_server_machine() {
    let (port, stored) = start_server();
    let message = Message::builder()
        .from("Alice <alice@example.org>".parse::<Mailbox>().unwrap())
        .to("Bob <bob@example.net>".parse::<Mailbox>().unwrap())
        .cc("carol@example.net".parse::<Mailbox>().unwrap())
        .subject("Interop with lettre")
        .body(String::from(
            "First line\r\n.a line starting with a dot\r\n..two dots\r\n.\r\nlast\r\n",
        ))
        .unwrap();
    let response = transport(port).send(&message).expect("lettre delivery");
    assert!(response.is_positive());

    let got = stored.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(got.from, "<alice@example.org>");
    assert_eq!(got.to, ["<bob@example.net>", "<carol@example.net>"]);
    // The server hands the application exactly what lettre formatted, unstuffed (lettre
    // always ends the data with CRLF "." CRLF after the message, so one CRLF is added).
    assert_eq!(got.body, with_final_crlf(message.formatted()));
    let text = String::from_utf8(got.body).unwrap();
    assert!(text.contains("Subject: Interop with lettre\r\n"), "{text}");
    assert!(
        text.contains("\r\n.a line starting with a dot\r\n..two dots\r\n.\r\nlast\r\n"),
        "{text}"
    );
}

#[test]
fn lettre_sends_utf8_content_and_several_messages() {
    let (port, stored) = start_server();
    let transport = transport(port);
    for i in 0..3 {
        let message = Message::builder()
            .from("alice@example.org".parse::<Mailbox>().unwrap())
            .to("dörte@example.net".parse::<Mailbox>().unwrap())
            .subject(format!("Grüße {i}"))
            .body(format!("Schöne Grüße, Nachricht {i}\r\n"))
            .unwrap();
        transport.send(&message).expect("lettre delivery");
        let got = stored.recv_timeout(Duration::from_secs(20)).unwrap();
        assert_eq!(got.body, with_final_crlf(message.formatted()));
        assert_eq!(got.to.len(), 1);
    }
}

#[path = "support/example_bin.rs"]
mod example_bin;

/// The blocking example server (`cargo run -p postwerk-smtp --example server -- ADDR
/// MAILDIR`), killed when dropped.
struct ExampleServer(std::process::Child);

impl Drop for ExampleServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn lettre_sends_to_the_example_server() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let maildir = tempfile::tempdir().unwrap();
    let binary =
        example_bin::example_binary("postwerk-smtp", "server", "usage: server ADDR MAILDIR");
    let mut child = Command::new(binary)
        .arg("127.0.0.1:0")
        .arg(maildir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the example server");
    let stdout = child.stdout.take().unwrap();
    let server = ExampleServer(child);
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .expect("address line");
    let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();

    let message = Message::builder()
        .from("alice@example.org".parse::<Mailbox>().unwrap())
        .to("bob@example.net".parse::<Mailbox>().unwrap())
        .subject("lettre to the example server")
        .body(String::from("hello\r\n.dot line\r\n"))
        .unwrap();
    assert!(transport(port).send(&message).unwrap().is_positive());

    // The example server stores the message before its 250, so it is there now.
    let new = maildir.path().join("new");
    let files: Vec<_> = std::fs::read_dir(&new).unwrap().collect();
    assert_eq!(files.len(), 1, "one message in {}", new.display());
    let stored = std::fs::read(files[0].as_ref().unwrap().path()).unwrap();
    let stored = String::from_utf8(stored).unwrap();
    assert!(
        stored.contains("Subject: lettre to the example server\r\n"),
        "{stored}"
    );
    assert!(stored.contains("\r\nhello\r\n.dot line\r\n"), "{stored}");
    drop(server);
}
