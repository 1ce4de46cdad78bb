//! A tiny SMTP server on blocking `std::net`, one thread per connection: the driver-loop
//! tutorial for `postwerk_smtp::server`.
//!
//! ```text
//! cargo run -p postwerk-smtp --example server -- ADDR MAILDIR
//! ```
//!
//! It accepts any mail and stores each message in `MAILDIR/new` (written to `MAILDIR/tmp`,
//! fsync'd, then renamed). It prints `listening on ADDR` first, so ADDR may use port 0.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use postwerk_smtp::codec::Leniency;
use postwerk_smtp::server::{Config, Connection, Decision, Event};

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, addr, maildir] = args.as_slice() else {
        eprintln!("usage: server ADDR MAILDIR");
        std::process::exit(2);
    };
    let maildir = PathBuf::from(maildir);
    for sub in ["tmp", "new", "cur"] {
        fs::create_dir_all(maildir.join(sub))?;
    }
    let mut config = Config::new("localhost");
    config.leniency = Leniency::all(); // be liberal in what real clients send
    let config = Arc::new(config);

    let listener = TcpListener::bind(addr)?;
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;
    for stream in listener.incoming() {
        let stream = stream?;
        let (config, maildir) = (config.clone(), maildir.clone());
        std::thread::spawn(move || {
            if let Err(e) = serve(stream, config, &maildir) {
                eprintln!("connection error: {e}");
            }
        });
    }
    Ok(())
}

/// The driver loop: output out, events handled, input in, until the machine is done.
fn serve(mut socket: TcpStream, config: Arc<Config>, maildir: &Path) -> io::Result<()> {
    let mut conn = Connection::new(config, Instant::now());
    let mut message: Option<(File, PathBuf)> = None;
    let mut buf = vec![0u8; 16 * 1024];
    let mut pending: Vec<u8> = Vec::new(); // input the machine has not taken yet
    loop {
        // 1. Events (decisions and body chunks), then output one chunk at a time:
        //    `poll_transmit` resumes commands held while output was full (pending output
        //    never exceeds the mark plus one reply), which may raise events.
        loop {
            while let Some(event) = conn.poll_event() {
                let now = Instant::now();
                match event {
                    Event::Mail { id, .. } | Event::Rcpt { id, .. } => {
                        conn.respond(id, Decision::Accept, now)
                            .expect("pending request");
                    }
                    Event::DataStart => message = Some(create_tmp(maildir)?),
                    Event::BodyChunk(chunk) => {
                        if let Some((file, _)) = &mut message {
                            file.write_all(&chunk)?;
                        }
                    }
                    Event::DataEnd { id, .. } => {
                        // Acknowledge only once the message is safely on disk.
                        let decision = match message.take().map(|m| deliver(m, maildir)) {
                            Some(Ok(())) => Decision::Accept,
                            _ => Decision::Reject(postwerk_smtp::codec::Reply::local_error()),
                        };
                        conn.respond(id, decision, now).expect("pending request");
                    }
                    Event::DataAborted(_) => {
                        if let Some((_, tmp)) = message.take() {
                            let _ = fs::remove_file(tmp);
                        }
                    }
                    _ => {}
                }
            }
            // 2. Output.
            match conn.poll_transmit() {
                Some(bytes) => socket.write_all(&bytes)?,
                None => break,
            }
        }
        if conn.is_closed() {
            return Ok(());
        }
        // 3. Input the machine could not take yet (it was waiting for a decision, or
        //    its output was full).
        if !pending.is_empty() {
            let n = conn.handle_input(&pending, Instant::now());
            pending.drain(..n);
            continue;
        }
        // 4. Wait for input or the next deadline.
        let timeout = conn.poll_timeout().map(|t| {
            t.saturating_duration_since(Instant::now())
                .max(std::time::Duration::from_millis(1))
        });
        socket.set_read_timeout(timeout)?;
        match socket.read(&mut buf) {
            Ok(0) => conn.handle_eof(Instant::now()),
            Ok(n) => {
                let taken = conn.handle_input(&buf[..n], Instant::now());
                pending.extend_from_slice(&buf[taken..n]);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                conn.handle_timeout(Instant::now());
            }
            Err(e) => return Err(e),
        }
    }
}

/// A unique Maildir name: time, pid, counter, host.
fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{}.{}_{}.P{}Q{n}.localhost",
        t.as_secs(),
        t.subsec_micros(),
        n,
        std::process::id()
    )
}

fn create_tmp(maildir: &Path) -> io::Result<(File, PathBuf)> {
    let path = maildir.join("tmp").join(unique_name());
    Ok((File::create_new(&path)?, path))
}

/// fsync the file, move it to `new/`, fsync the directory.
fn deliver((file, tmp): (File, PathBuf), maildir: &Path) -> io::Result<()> {
    file.sync_all()?;
    drop(file);
    let name = tmp.file_name().expect("file name");
    fs::rename(&tmp, maildir.join("new").join(name))?;
    File::open(maildir.join("new"))?.sync_all()
}
