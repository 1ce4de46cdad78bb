//! Sends one message over SMTP with the sans-IO client machine and blocking `std::net`.
//!
//! ```text
//! cargo run -p postwerk-smtp --example client -- ADDR FROM TO... < MSG
//! ```
//!
//! Reads the message (header and body, CRLF or LF line ends: they are normalised to CRLF)
//! from stdin, prints every server reply line as `S: ...`, and exits 0 only if the server
//! accepted the message for every recipient. Partial acceptance (some recipients refused)
//! exits 1, like a failure; the replies show which recipients failed.
//!
//! This example has no TLS: STARTTLS is disabled, so a server offering it is used in
//! cleartext. A real client sets `TlsPolicy::Opportunistic` or `Required` and runs the
//! handshake (for example with rustls) when the machine emits `Event::StartTls`, then calls
//! `tls_established`.
//!
//! The loop below is the whole driver contract: feed what the socket gives, write what the
//! machine hands out, handle its events, and honour its deadline.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Instant;

use bytes::Bytes;
use postwerk_smtp::client::{
    BareLineEndings, Config, Connection, Event, Recipient, TlsPolicy, Transaction,
};
use postwerk_smtp::codec::path::{PathOptions, parse_forward_path, parse_reverse_path};

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("client: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, from, to @ ..] = args.as_slice() else {
        return Err("usage: client ADDR FROM TO... < MSG".into());
    };
    if to.is_empty() {
        return Err("usage: client ADDR FROM TO... < MSG".into());
    }

    // The envelope: paths with or without angle brackets, UTF-8 allowed.
    let opts = PathOptions {
        utf8: true,
        unbracketed: true,
    };
    let from = if from.is_empty() { "<>" } else { from.as_str() };
    let (from, _) = parse_reverse_path(from.as_bytes(), opts).map_err(|e| format!("FROM: {e}"))?;
    let mut message = Vec::new();
    std::io::stdin().read_to_end(&mut message)?;
    let mut tx = Transaction::new(from, Bytes::from(message));
    for rcpt in to {
        let (path, _) =
            parse_forward_path(rcpt.as_bytes(), opts).map_err(|e| format!("TO {rcpt}: {e}"))?;
        tx = tx.with_recipient(Recipient::new(path));
    }

    let mut config = Config::new("localhost");
    config.tls = TlsPolicy::Disabled;
    config.bare_line_endings = BareLineEndings::Normalize;
    config.report_replies = true;

    let mut socket = TcpStream::connect(addr.as_str())?;
    let mut conn = Connection::new(config, Instant::now());
    conn.send(tx, Instant::now())?;
    conn.quit(Instant::now());

    let mut accepted = false;
    let mut buf = [0u8; 16 * 1024];
    loop {
        // 1. Write everything the machine wants sent, one chunk at a time, and say so:
        //    the end-of-data timer starts once the body is written.
        while let Some(chunk) = conn.poll_transmit() {
            socket.write_all(&chunk)?;
            conn.handle_written(Instant::now());
        }
        // 2. Handle its events.
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Reply(reply) => {
                    let last = reply.lines().len().saturating_sub(1);
                    for (i, line) in reply.lines().iter().enumerate() {
                        let sep = if i == last { ' ' } else { '-' };
                        match reply.enhanced() {
                            Some(e) => println!("S: {}{sep}{e} {line}", reply.code()),
                            None => println!("S: {}{sep}{line}", reply.code()),
                        }
                    }
                }
                Event::TransactionDone(result) => {
                    accepted = result.all_accepted();
                    for r in result.recipients() {
                        eprintln!("{} {:?}", r.path(), r.delivery());
                        if let Some(e) = r.error() {
                            eprintln!("  {e}");
                        }
                    }
                }
                Event::Closed { error: Some(e) } => eprintln!("connection failed: {e}"),
                _ => {}
            }
        }
        if conn.is_closed() {
            return Ok(accepted);
        }
        // 3. Wait for input no longer than the machine's next deadline.
        let timeout = conn
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()));
        socket.set_read_timeout(timeout.map(|t| t.max(std::time::Duration::from_millis(1))))?;
        match socket.read(&mut buf) {
            Ok(0) => conn.handle_eof(Instant::now()),
            Ok(n) => conn.handle_input(&buf[..n], Instant::now()),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                conn.handle_timeout(Instant::now());
            }
            Err(e) => return Err(e.into()),
        }
    }
}
