//! The POP3 listener: the driver loop around `postwerk_pop3::server::Connection`, and the
//! policy: logins against the user table, one session per mailbox (`[IN-USE]`), the
//! Maildir as maildrop, deletions only when the machine reports a commit at QUIT.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use postwerk_pop3::sasl::server::{Answer, Verify};
use postwerk_pop3::server::{
    Config, Connection, Credentials, Event, LoginDecision, MessageInfo, RequestId,
};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::driver::{Driver, Step};
use crate::listen::{App, Slot, lock};
use crate::login_budget::Verdict;
use crate::maildir::Entry;
use crate::net::Stream;

/// The mailbox lock of one session, released on drop.
struct Locked {
    app: Arc<App>,
    user: String,
    entries: Vec<Entry>,
}

impl Drop for Locked {
    fn drop(&mut self) {
        lock(&self.app.pop3_locks).remove(&self.user);
    }
}

/// Serves one POP3 connection to its end. `slot` (the connection's place under the caps)
/// is given back as soon as the session is closing, before its last reply is written.
pub async fn session(
    app: Arc<App>,
    mut stream: Stream,
    peer: SocketAddr,
    slot: Slot,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut slot = Some(slot);
    let implicit = stream.is_tls();
    let mut config = Config::default();
    config.greeting = format!("{} POP3 ready", app.config.hostname);
    config.stls = !implicit;
    config.tls_active = implicit;
    config.allow_plaintext_auth = app.config.allow_plaintext_auth;
    // RFC 1939 section 3: the autologout timer is at least 10 minutes.
    config.idle_timeout = Duration::from_secs(app.config.limits.command_timeout_secs.max(600));
    config.max_errors = u32::try_from(app.config.limits.max_errors).unwrap_or(u32::MAX);
    let mut conn = Connection::new(config, Instant::now());
    let mut locked: Option<Locked> = None;
    let write_limit = Duration::from_secs(app.config.limits.command_timeout_secs);
    let mut driver = Driver::new(16 * 1024, write_limit);
    let mut committed = false;
    // The message being sent, read from its file one chunk at a time.
    let mut streaming: Option<Streaming> = None;
    // What a SASL exchange's password check found, for its login event.
    let mut sasl_verdict: Option<Result<String, LoginDecision>> = None;
    info!(%peer, tls = implicit, "pop3 connection");
    loop {
        // The next chunk of a message goes to the machine only once its output has
        // drained: a session holds at most the output mark plus one chunk, whatever the
        // maildrop size and however many commands are pipelined.
        let idle = streaming.is_some() && !conn.is_output_full();
        let event = match driver
            .step(&mut conn, &mut stream, idle, Some(&mut shutdown))
            .await
        {
            Step::Event(event) => event,
            Step::Idle => {
                if let Some(st) = &mut streaming {
                    let id = st.id;
                    match st.next().await {
                        Ok(Some(chunk)) => {
                            let _ = conn.supply_message_chunk(id, chunk);
                        }
                        Ok(None) => {
                            streaming = None;
                            let _ = conn.finish_message(id);
                        }
                        Err(e) => {
                            warn!(%peer, error = %e, "cannot read a message");
                            streaming = None;
                            let _ = conn.message_unavailable(id);
                        }
                    }
                }
                continue;
            }
            Step::Closed | Step::Stopped | Step::Failed(_) => break,
        };
        {
            match event {
                Event::Login { id, credentials } => {
                    let verdict = match credentials {
                        Credentials::User { user, password } => {
                            check_password(&app, peer, user, password).await
                        }
                        // Checked at the SaslVerify event.
                        Credentials::Sasl { .. } => {
                            sasl_verdict.take().unwrap_or(Err(LoginDecision::Reject))
                        }
                        // APOP is never offered (it needs the plaintext password).
                        _ => Err(LoginDecision::Reject),
                    };
                    let decision = match verdict {
                        Ok(user) => open_maildrop(&app, user, &mut locked).await,
                        Err(decision) => decision,
                    };
                    let _ = conn.answer_login(id, decision);
                }
                Event::SaslVerify { id, request } => {
                    let answer = match request {
                        // Other identities than one's own are not supported.
                        Verify::Password {
                            authcid,
                            authzid,
                            password,
                            ..
                        } if authzid.as_deref().is_none_or(|z| z == authcid) => {
                            match check_password(&app, peer, authcid, password.expose().to_owned())
                                .await
                            {
                                Err(LoginDecision::Reject) => Answer::Reject,
                                // Good, or not checked (busy): the login event
                                // decides (a refusal then says why).
                                verdict => {
                                    sasl_verdict = Some(verdict);
                                    Answer::Accept
                                }
                            }
                        }
                        _ => Answer::Reject,
                    };
                    let _ = conn.answer_sasl(id, answer);
                }
                // TOP: the lines asked for are out; read no further.
                Event::MessageDone { id } if streaming.as_ref().is_some_and(|st| st.id == id) => {
                    streaming = None;
                }
                Event::MessageRequest { id, index, .. } => {
                    match locked.as_ref().and_then(|l| l.entries.get(index)) {
                        Some(entry) => streaming = Some(Streaming::new(id, entry.path.clone())),
                        None => {
                            let _ = conn.message_unavailable(id);
                        }
                    }
                }
                Event::Commit { id, deletions } => {
                    let ok = match &locked {
                        Some(l) => {
                            let doomed: Vec<Entry> = deletions
                                .iter()
                                .filter_map(|d| l.entries.get(d.index).cloned())
                                .collect();
                            let maildirs = app.maildirs.clone();
                            let user = l.user.clone();
                            let count = doomed.len();
                            let result = tokio::task::spawn_blocking(move || {
                                let refs: Vec<&Entry> = doomed.iter().collect();
                                maildirs.delete(&user, &refs)
                            })
                            .await;
                            info!(%peer, user = l.user, deleted = count, "pop3 commit");
                            matches!(result, Ok(Ok(())))
                        }
                        None => false,
                    };
                    committed = ok;
                    let _ = conn.answer_commit(id, ok);
                }
                Event::StartTls => {
                    if let Err(e) = driver
                        .accept_tls(&mut conn, &mut stream, app.tls.clone())
                        .await
                    {
                        info!(%peer, error = %e, "pop3 STLS handshake failed");
                        break;
                    }
                }
                Event::Closed { .. } => {
                    // The slot is free before the last reply reaches the client.
                    slot = None;
                }
                _ => {}
            }
        }
    }
    drop(slot);
    let _ = stream.shutdown().await;
    info!(%peer, user = locked.as_ref().map(|l| l.user.as_str()).unwrap_or("-"), committed, "pop3 connection closed");
}

/// How much of a message file is read at a time.
const MESSAGE_CHUNK: usize = 64 * 1024;

/// A message file being sent: read in [`MESSAGE_CHUNK`]s, bare LF turned into CRLF (as
/// `MaildirStore::read` does for whole files) across chunk boundaries. Opening the file
/// and reading each chunk is one trip to the blocking pool; a message smaller than a
/// chunk takes one trip in all.
struct Streaming {
    id: RequestId,
    file: MessageFile,
}

impl Streaming {
    fn new(id: RequestId, path: PathBuf) -> Streaming {
        Streaming {
            id,
            file: MessageFile::new(path),
        }
    }

    /// The next chunk, `None` at the end of the file.
    async fn next(&mut self) -> std::io::Result<Option<Bytes>> {
        self.file.next().await
    }
}

/// The reading side of [`Streaming`].
struct MessageFile {
    /// The file to open on the first read.
    path: Option<PathBuf>,
    /// The open file, while more of it may follow.
    file: Option<std::fs::File>,
    previous: u8,
}

impl MessageFile {
    fn new(path: PathBuf) -> MessageFile {
        MessageFile {
            path: Some(path),
            file: None,
            previous: 0,
        }
    }

    /// The next chunk, `None` at the end of the file.
    async fn next(&mut self) -> std::io::Result<Option<Bytes>> {
        let (path, file) = (self.path.take(), self.file.take());
        if path.is_none() && file.is_none() {
            return Ok(None);
        }
        let (file, chunk) = tokio::task::spawn_blocking(move || read_chunk(path, file))
            .await
            .map_err(std::io::Error::other)??;
        // A full chunk may have more behind it; a short one ends the file.
        if chunk.len() == MESSAGE_CHUNK {
            self.file = Some(file);
        }
        if chunk.is_empty() {
            return Ok(None);
        }
        Ok(Some(to_crlf(&chunk, &mut self.previous)))
    }
}

/// Opens `path` (when given) or continues `file`, and fills one chunk (short only at the
/// end of the file).
fn read_chunk(
    path: Option<PathBuf>,
    file: Option<std::fs::File>,
) -> std::io::Result<(std::fs::File, Vec<u8>)> {
    use std::io::Read;
    let mut file = match (file, path) {
        (Some(file), _) => file,
        (None, Some(path)) => std::fs::File::open(path)?,
        (None, None) => return Err(std::io::Error::other("nothing to read")),
    };
    let mut chunk = vec![0u8; MESSAGE_CHUNK];
    let mut filled = 0;
    while let Some(rest) = chunk.get_mut(filled..).filter(|r| !r.is_empty()) {
        match file.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    chunk.truncate(filled);
    Ok((file, chunk))
}

/// `bytes` with every bare LF made CRLF; `previous` is the byte before `bytes` (carried
/// from chunk to chunk).
fn to_crlf(bytes: &[u8], previous: &mut u8) -> Bytes {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32);
    for &b in bytes {
        if b == b'\n' && *previous != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        *previous = b;
    }
    Bytes::from(out)
}

/// Checks a password against the user table under the login budget: the
/// user's canonical name, or the refusal to answer.
async fn check_password(
    app: &Arc<App>,
    peer: SocketAddr,
    user: String,
    password: String,
) -> Result<String, LoginDecision> {
    let users = app.users.clone();
    let checked = app
        .login
        .check(peer.ip(), move || users.verify(&user, password.as_bytes()))
        .await;
    match checked {
        Verdict::Accepted(user) => Ok(user),
        Verdict::Rejected => Err(LoginDecision::Reject),
        Verdict::Busy => {
            info!(%peer, "login budget exhausted");
            Err(LoginDecision::SysTemp)
        }
    }
}

/// Locks and lists the maildrop of a user whose credentials were checked.
async fn open_maildrop(app: &Arc<App>, user: String, locked: &mut Option<Locked>) -> LoginDecision {
    if !lock(&app.pop3_locks).insert(user.clone()) {
        return LoginDecision::InUse;
    }
    let mut guard = Locked {
        app: app.clone(),
        user: user.clone(),
        entries: Vec::new(),
    };
    let maildirs = app.maildirs.clone();
    let listed = tokio::task::spawn_blocking(move || maildirs.list(&user)).await;
    match listed {
        Ok(Ok(entries)) => {
            let listing = entries
                .iter()
                .map(|e| MessageInfo::from((e.size, e.uid.clone())))
                .collect();
            guard.entries = entries;
            *locked = Some(guard);
            LoginDecision::Accept(listing)
        }
        _ => {
            warn!(user = guard.user, "cannot list the maildir");
            LoginDecision::SysTemp
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a whole file through `Streaming`, chunk by chunk.
    async fn stream_all(path: PathBuf) -> std::io::Result<(Vec<u8>, usize)> {
        let mut st = MessageFile::new(path);
        let (mut out, mut chunks) = (Vec::new(), 0);
        while let Some(chunk) = st.next().await? {
            assert!(chunk.len() <= 2 * MESSAGE_CHUNK);
            out.extend_from_slice(&chunk);
            chunks += 1;
        }
        Ok((out, chunks))
    }

    #[tokio::test]
    async fn files_stream_in_chunks_whatever_their_size() {
        let dir = tempfile::tempdir().unwrap();
        for size in [
            0,
            1,
            100,
            MESSAGE_CHUNK - 1,
            MESSAGE_CHUNK,
            MESSAGE_CHUNK + 1,
            3 * MESSAGE_CHUNK + 7,
        ] {
            // Bare LF every 10 octets, so a CR is inserted across chunk boundaries too.
            let text: Vec<u8> = (0..size)
                .map(|i| if i % 10 == 9 { b'\n' } else { b'a' })
                .collect();
            let path = dir.path().join(format!("m{size}"));
            std::fs::write(&path, &text).unwrap();
            let (out, chunks) = stream_all(path).await.unwrap();
            let mut previous = 0;
            assert_eq!(out, to_crlf(&text, &mut previous).to_vec(), "size {size}");
            assert_eq!(chunks, size.div_ceil(MESSAGE_CHUNK), "size {size}");
        }
        assert!(stream_all(dir.path().join("missing")).await.is_err());
    }

    #[test]
    fn bare_lf_becomes_crlf_across_chunks() {
        let text: &[u8] = b"a\nb\r\nc\n\nd\r\n";
        let mut whole = Vec::new();
        let mut previous = 0;
        whole.extend_from_slice(&to_crlf(text, &mut previous));
        assert_eq!(whole, b"a\r\nb\r\nc\r\n\r\nd\r\n");
        for i in 0..=text.len() {
            let (x, y) = text.split_at(i);
            let mut previous = 0;
            let mut out = to_crlf(x, &mut previous).to_vec();
            out.extend_from_slice(&to_crlf(y, &mut previous));
            assert_eq!(out, whole, "split at {i}");
        }
    }
}
