//! A blocking POP3 server over `std::net`, one thread per connection,
//! serving one Maildir to one user: the driver-loop tutorial.
//!
//! ```text
//! cargo run -p postwerk-pop3 --example server -- ADDR MAILDIR USER PASS
//! ```
//!
//! Messages are the files of `MAILDIR/new` and `MAILDIR/cur`; a message's
//! unique id is its file name before `:2,`. Cleartext login is allowed (this
//! is an example without TLS): USER/PASS, and AUTH with SCRAM-SHA-256,
//! PLAIN and LOGIN (the SCRAM keys are derived from PASS at start; a real
//! server stores only those). Deletions are applied at QUIT by unlinking.

use std::io::{BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use postwerk_pop3::codec::{is_valid_uid, wire_size};
use postwerk_pop3::sasl::server::{Answer, ServerMechanisms, Verify};
use postwerk_pop3::sasl::{Mechanism, ScramCredentials};
use postwerk_pop3::server::{
    Config, Connection, Credentials, Event, LoginDecision, MessageInfo, RequestId,
};

struct Mailbox {
    dir: PathBuf,
    user: String,
    pass: String,
    /// The SCRAM-SHA-256 keys of the password.
    scram: ScramCredentials,
    /// The mechanisms offered.
    mechanisms: Arc<ServerMechanisms>,
    /// One session per mailbox at a time (RFC 1939 section 8).
    locked: AtomicBool,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, dir, user, pass] = args.as_slice() else {
        eprintln!("usage: server ADDR MAILDIR USER PASS");
        std::process::exit(2);
    };
    let listener = TcpListener::bind(addr).expect("bind");
    println!(
        "listening on {}",
        listener.local_addr().expect("local address")
    );
    std::io::stdout().flush().ok();
    let mut mechanisms = ServerMechanisms::new();
    for m in [Mechanism::ScramSha256, Mechanism::Plain, Mechanism::Login] {
        mechanisms.add_builtin(m);
    }
    let mailbox = Arc::new(Mailbox {
        dir: PathBuf::from(dir),
        user: user.clone(),
        pass: pass.clone(),
        scram: ScramCredentials::derive(pass, &random_bytes(), 4096).expect("SASLprep'd password"),
        mechanisms: Arc::new(mechanisms),
        locked: AtomicBool::new(false),
    });
    for stream in listener.incoming().flatten() {
        let mailbox = Arc::clone(&mailbox);
        std::thread::spawn(move || {
            if let Err(e) = serve(stream, &mailbox) {
                eprintln!("connection error: {e}");
            }
        });
    }
}

/// The driver loop: feed input and time, answer events, write output.
fn serve(stream: TcpStream, mailbox: &Mailbox) -> std::io::Result<()> {
    let mut config = Config::default();
    config.allow_plaintext_auth = true;
    config.implementation = Some("postwerk-pop3 example".to_owned());
    config.auth_failure_delay = Duration::from_secs(1);
    config.sasl = Arc::clone(&mailbox.mechanisms);
    // A fresh nonce per connection, from the operating system's random source.
    config.sasl_nonce = Some(random_bytes().iter().map(|b| format!("{b:02x}")).collect());
    let mut conn = Connection::new(config, Instant::now());
    let mut reader = stream.try_clone()?;
    let mut writer = BufWriter::new(stream);
    let mut session = Session {
        mailbox,
        files: Vec::new(),
        holds_lock: false,
        streaming: None,
        chunk: vec![0u8; 64 * 1024],
    };
    let mut buf = vec![0u8; 16 * 1024];
    let mut eof = false;
    loop {
        loop {
            while let Some(event) = conn.poll_event() {
                session.handle(&mut conn, event);
            }
            // Feed the message being sent, one chunk at a time, only while
            // the machine's output is below its mark.
            session.supply(&mut conn);
            match conn.poll_transmit() {
                Some(chunk) => writer.write_all(&chunk)?,
                None => break,
            }
        }
        writer.flush()?;
        if conn.is_closed() {
            return Ok(());
        }
        let now = Instant::now();
        let wait = conn
            .poll_timeout()
            .map(|t| t.saturating_duration_since(now));
        // A deadline already passed: handle it now (a zero read timeout is
        // refused by set_read_timeout, and None would block forever).
        if wait.is_some_and(|d| d.is_zero()) {
            conn.handle_timeout(now);
            continue;
        }
        // After EOF the socket has nothing more to give: sleep until the
        // machine's next deadline (a delayed reply is held) instead of
        // re-reading it in a busy loop.
        if eof {
            match wait {
                Some(d) => std::thread::sleep(d),
                None => return Ok(()),
            }
            conn.handle_timeout(Instant::now());
            continue;
        }
        reader.set_read_timeout(wait)?;
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
            Err(_) => {
                eof = true;
                conn.handle_eof(Instant::now());
            }
        }
    }
}

/// The application side: credentials, the maildrop, commits.
struct Session<'a> {
    mailbox: &'a Mailbox,
    files: Vec<PathBuf>,
    holds_lock: bool,
    /// The message being sent: its request and its file.
    streaming: Option<(RequestId, std::fs::File)>,
    /// Read buffer for message chunks.
    chunk: Vec<u8>,
}

impl Session<'_> {
    /// Supply chunks of the message being sent while output is not full:
    /// at most the mark plus one chunk is ever buffered.
    fn supply(&mut self, conn: &mut Connection) {
        while let Some((id, file)) = self.streaming.as_mut() {
            if conn.is_output_full() {
                return;
            }
            let id = *id;
            let (result, done) = match file.read(&mut self.chunk) {
                Ok(0) => (conn.finish_message(id), true),
                Ok(n) => {
                    let bytes = Bytes::copy_from_slice(self.chunk.get(..n).unwrap_or_default());
                    (conn.supply_message_chunk(id, bytes), false)
                }
                Err(_) => (conn.message_unavailable(id), true),
            };
            result.expect("answering the pending request");
            if done {
                self.streaming = None;
            }
        }
    }

    fn handle(&mut self, conn: &mut Connection, event: Event) {
        match event {
            Event::Login { id, credentials } => {
                let decision = self.login(&credentials);
                conn.answer_login(id, decision).expect("valid listing");
            }
            Event::SaslVerify { id, request } => {
                let answer = self.verify(&request);
                conn.answer_sasl(id, answer).expect("answering the request");
            }
            Event::MessageRequest { id, index, .. } => {
                match self.files.get(index).map(std::fs::File::open) {
                    Some(Ok(file)) => self.streaming = Some((id, file)),
                    _ => conn
                        .message_unavailable(id)
                        .expect("answering the pending request"),
                }
            }
            Event::Commit { id, deletions } => {
                let ok = deletions.iter().all(|d| {
                    self.files
                        .get(d.index)
                        .is_some_and(|p| std::fs::remove_file(p).is_ok())
                });
                conn.answer_commit(id, ok).expect("answering the commit");
            }
            Event::Closed { .. } => {
                self.streaming = None;
                self.unlock();
            }
            _ => {}
        }
    }

    /// SASL: check a password, or hand SCRAM the stored keys.
    fn verify(&self, request: &Verify) -> Answer {
        let own = |authzid: &Option<String>| {
            authzid
                .as_deref()
                .is_none_or(|a| a.is_empty() || a == self.mailbox.user)
        };
        match request {
            Verify::Password {
                authcid,
                authzid,
                password,
                ..
            } if own(authzid)
                && same(authcid, &self.mailbox.user)
                    & same(password.expose(), &self.mailbox.pass) =>
            {
                Answer::Accept
            }
            Verify::ScramCredentials {
                authcid, authzid, ..
            } if *authcid == self.mailbox.user && own(authzid) => {
                Answer::ScramCredentials(self.mailbox.scram.clone())
            }
            Verify::ScramCredentials { .. } => Answer::UnknownUser,
            _ => Answer::Reject,
        }
    }

    fn login(&mut self, credentials: &Credentials) -> LoginDecision {
        match credentials {
            Credentials::User { user, password } => {
                let good = same(user, &self.mailbox.user) & same(password, &self.mailbox.pass);
                if !good {
                    return LoginDecision::Reject;
                }
            }
            // Verified by `verify`; the identity is the mailbox's own.
            Credentials::Sasl { .. } if credentials.identity() == self.mailbox.user => {}
            _ => return LoginDecision::Reject,
        }
        if self.mailbox.locked.swap(true, Ordering::SeqCst) {
            return LoginDecision::InUse;
        }
        self.holds_lock = true;
        match scan(&self.mailbox.dir) {
            Ok((files, listing)) => {
                self.files = files;
                LoginDecision::Accept(listing)
            }
            Err(_) => {
                self.unlock();
                LoginDecision::SysTemp
            }
        }
    }

    fn unlock(&mut self) {
        if std::mem::take(&mut self.holds_lock) {
            self.mailbox.locked.store(false, Ordering::SeqCst);
        }
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        self.unlock();
    }
}

/// 16 octets from the operating system's random source.
fn random_bytes() -> [u8; 16] {
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .expect("reading /dev/urandom");
    b
}

/// Compare secrets without an early exit.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The messages of `new/` and `cur/`, sorted by name, with their listing.
fn scan(dir: &Path) -> std::io::Result<(Vec<PathBuf>, Vec<MessageInfo>)> {
    let mut files = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                files.push(entry.path());
            }
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    let mut listing = Vec::with_capacity(files.len());
    for path in &files {
        let size = wire_size(&std::fs::read(path)?);
        listing.push(MessageInfo {
            size,
            uid: uid_of(path),
        });
    }
    Ok((files, listing))
}

/// The maildir unique name (before `:2,`), or a hash of it when it is not a
/// valid POP3 unique-id.
fn uid_of(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let base = name.split(":2,").next().unwrap_or_default();
    if is_valid_uid(base) {
        return base.to_owned();
    }
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut h = DefaultHasher::new();
    base.hash(&mut h);
    format!("h{:016x}", h.finish())
}
