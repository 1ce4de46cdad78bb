//! A blocking POP3 client over `std::net`: download every message.
//!
//! ```text
//! cargo run -p postwerk-pop3 --example client -- ADDR USER PASS OUTDIR
//! ```
//!
//! Logs in with the strongest mechanism the server offers that a password
//! allows without TLS (SCRAM-SHA-256 through postwerk-sasl, checking the
//! server's proof), else USER/PASS; lists unique ids, writes each message
//! to `OUTDIR/<uid>.eml` (the uid sanitized for a file name), deletes
//! nothing.

use std::collections::HashMap;
use std::io::{BufWriter, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Instant;

use postwerk_pop3::client::{CloseReason, CommandId, Config, Connection, Event, Reply};
use postwerk_pop3::sasl::{Credentials, choose_mechanism};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, user, pass, outdir] = args.as_slice() else {
        eprintln!("usage: client ADDR USER PASS OUTDIR");
        std::process::exit(2);
    };
    match run(addr, user, pass, &PathBuf::from(outdir)) {
        Ok(n) => println!("retrieved {n} messages"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

fn run(addr: &str, user: &str, pass: &str, outdir: &std::path::Path) -> Result<usize, String> {
    std::fs::create_dir_all(outdir).map_err(|e| e.to_string())?;
    let stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    let mut reader = stream.try_clone().map_err(|e| e.to_string())?;
    let mut writer = BufWriter::new(stream);

    let mut conn = Connection::new(Config::default(), Instant::now());
    let capa = conn.capa().map_err(|e| e.to_string())?;
    // Login and UIDL go out once CAPA told us what the server offers.
    let mut login = None;
    let mut uidl = None;

    // Message bodies arrive as chunks; each is collected per command.
    let mut pending: HashMap<CommandId, (String, Vec<u8>)> = HashMap::new();
    let mut saved = 0;
    let mut buf = vec![0u8; 16 * 1024];
    let mut eof = false;
    loop {
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Reply { id, result } if id == capa => {
                    let offered = match &result {
                        Ok(Reply::Capabilities(caps)) => caps.sasl.clone(),
                        _ => Vec::new(),
                    };
                    let creds = Credentials::password(user, pass);
                    // Cleartext: SCRAM only; PLAIN and LOGIN would send the password.
                    let chosen =
                        choose_mechanism(offered.iter().map(String::as_str), &creds, false);
                    login = Some(match chosen {
                        Some(mechanism) => conn
                            .auth_with(mechanism, &creds, &nonce()?)
                            .map_err(|e| e.to_string())?,
                        None => {
                            conn.user(user).map_err(|e| e.to_string())?;
                            conn.pass(pass).map_err(|e| e.to_string())?
                        }
                    });
                    uidl = Some(conn.uidl(None).map_err(|e| e.to_string())?);
                }
                Event::SaslError { error, .. } => {
                    return Err(format!("authentication: {error}"));
                }
                Event::Reply {
                    id,
                    result: Err(resp),
                } if Some(id) == login || Some(id) == uidl => {
                    return Err(format!("server refused: {}", resp.text));
                }
                Event::Reply {
                    id,
                    result: Ok(Reply::Uidl(list)),
                } if Some(id) == uidl => {
                    for entry in list {
                        let retr = conn.retr(entry.msg).map_err(|e| e.to_string())?;
                        pending.insert(retr, (entry.uid, Vec::new()));
                    }
                    conn.quit().map_err(|e| e.to_string())?;
                }
                Event::MessageData { id, chunk } => {
                    if let Some((_, body)) = pending.get_mut(&id) {
                        body.extend_from_slice(&chunk);
                    }
                }
                Event::Reply {
                    id,
                    result: Ok(Reply::Message { .. }),
                } => {
                    if let Some((uid, body)) = pending.remove(&id) {
                        let path = outdir.join(format!("{}.eml", sanitize(&uid)));
                        std::fs::write(&path, body).map_err(|e| e.to_string())?;
                        saved += 1;
                    }
                }
                Event::Reply {
                    result: Err(resp), ..
                } => eprintln!("-ERR {}", resp.text),
                Event::Closed { reason } => {
                    return if pending.is_empty() && reason == CloseReason::Quit {
                        Ok(saved)
                    } else {
                        Err(format!("closed early: {reason:?}"))
                    };
                }
                _ => {}
            }
        }
        // poll_transmit may resume replies held while output was full;
        // their events are handled on the next round.
        if let Some(chunk) = conn.poll_transmit() {
            writer.write_all(&chunk).map_err(|e| e.to_string())?;
            continue;
        }
        writer.flush().map_err(|e| e.to_string())?;
        if conn.is_closed() {
            return Err("closed".to_owned());
        }
        let now = Instant::now();
        let wait = conn
            .poll_timeout()
            .map(|t| t.saturating_duration_since(now));
        // A deadline already passed: handle it now (None would block forever).
        if wait.is_some_and(|d| d.is_zero()) {
            conn.handle_timeout(now);
            continue;
        }
        // After EOF never read again: sleep until the deadline, if any.
        if eof {
            match wait {
                Some(d) => std::thread::sleep(d),
                None => return Err("connection closed".to_owned()),
            }
            conn.handle_timeout(Instant::now());
            continue;
        }
        reader.set_read_timeout(wait).map_err(|e| e.to_string())?;
        match reader.read(&mut buf) {
            Ok(0) => {
                eof = true;
                conn.handle_eof(Instant::now());
            }
            Ok(n) => conn.handle_input(&buf[..n], Instant::now()),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                conn.handle_timeout(Instant::now())
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// A SCRAM client nonce from the operating system's random source.
fn nonce() -> Result<String, String> {
    let mut b = [0u8; 18];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| e.to_string())?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// A file name from a unique id: only `[A-Za-z0-9._-]`, never starting with a dot.
fn sanitize(uid: &str) -> String {
    let mut s: String = uid
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with('.') {
        s.replace_range(..1, "_");
    }
    s
}
