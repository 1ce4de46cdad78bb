//! The control socket and the `post-office queue ...` commands that talk to it.
//!
//! A running post office listens on the unix socket `data_dir/control.sock`, mode 0600 in
//! the owner-only data directory, and answers only peers with its own user id (or root).
//! A request is one line (`list [json]`, `show ID`, `flush [ID]`, `delete ID`, `hold ID`,
//! `release ID`, `bounce ID`); the answer is `ok` or `error MESSAGE` on the first line, then
//! the text to print, then the server closes the connection.
//!
//! Reading commands (`list`, `show`) read the queue files; the others go through the
//! queue runner ([`crate::scheduler::Command`]), so a delete or bounce never races a
//! delivery attempt of the same message: it waits for the attempt in flight to finish.
//! A hold is a marker file next to the message (`<id>.hold`), so it survives a restart.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{info, warn};

use crate::clock::unix_now;
use crate::delivery::Deliverer;
use crate::queue::{Envelope, Failure, QueueStore, RcptState, State};
use crate::scheduler::Command;

/// The control socket of the post office whose data directory is `data_dir`.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("control.sock")
}

/// What the control socket works with.
#[derive(Debug)]
pub struct Control {
    /// The queue.
    pub store: Arc<QueueStore>,
    /// The queue runner's command channel.
    pub commands: mpsc::Sender<Command>,
    /// Hands a released message back to the runner.
    pub queue_tx: mpsc::UnboundedSender<String>,
}

/// Binds the control socket: refuses when another post office answers on it, replaces a
/// stale one, and makes it owner-only (0600).
pub fn bind(data_dir: &Path) -> io::Result<UnixListener> {
    let path = socket_path(data_dir);
    if std::os::unix::net::UnixStream::connect(&path).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!(
                "another post office is running on {} (its control socket answers)",
                path.display()
            ),
        ));
    }
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    }
    let listener = UnixListener::bind(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Answers requests on `listener` until `shutdown`, then removes the socket file.
pub async fn serve(
    listener: UnixListener,
    path: PathBuf,
    control: Arc<Control>,
    mut shutdown: watch::Receiver<bool>,
) {
    // Our user id is the owner of the socket we just created.
    let me = std::fs::metadata(&path).map(|m| m.uid()).ok();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        match accepted {
            Ok((stream, _)) => {
                let uid = stream.peer_cred().ok().map(|c| c.uid());
                if uid.is_none() || (uid != me && uid != Some(0)) {
                    warn!(peer_uid = ?uid, "control socket: refused a peer with another user id");
                    continue;
                }
                tokio::spawn(answer(stream, control.clone()));
            }
            Err(e) => {
                warn!(error = %e, "control socket: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let _ = std::fs::remove_file(&path);
}

async fn answer(stream: UnixStream, control: Arc<Control>) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(read.take(1024));
    let got = tokio::time::timeout(Duration::from_secs(10), reader.read_line(&mut line)).await;
    let reply = match got {
        Ok(Ok(_)) if line.ends_with('\n') => match handle(line.trim_end(), &control).await {
            Ok(text) => format!("ok\n{text}"),
            Err(message) => format!("error {message}\n"),
        },
        _ => "error the request is one line\n".to_owned(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(30), async {
        let _ = write.write_all(reply.as_bytes()).await;
        let _ = write.shutdown().await;
    })
    .await;
}

/// Queue ids are hex digits, with a `B` per bounce generation.
fn valid_id(id: &str) -> Result<&str, String> {
    if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(id)
    } else {
        Err(format!("`{id}` is not a queue id"))
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| e.to_string())?
}

async fn handle(request: &str, control: &Arc<Control>) -> Result<String, String> {
    let mut words = request.split(' ');
    let verb = words.next().unwrap_or_default();
    let arg = words.next();
    if words.next().is_some() {
        return Err("too many words".into());
    }
    let store = control.store.clone();
    let need_id = || {
        arg.ok_or_else(|| format!("`{verb}` needs a queue id"))
            .and_then(valid_id)
    };
    match verb {
        "list" => {
            let json = match arg {
                None => false,
                Some("json") => true,
                Some(other) => return Err(format!("unknown option `{other}`")),
            };
            blocking(move || list(&store, json)).await
        }
        "show" => {
            let id = need_id()?.to_owned();
            blocking(move || show(&store, &id)).await
        }
        "flush" => {
            let id = arg.map(valid_id).transpose()?.map(str::to_owned);
            if let Some(id) = &id {
                let (s, owned) = (store.clone(), id.clone());
                blocking(move || exists(&s, &owned)).await?;
                if store.is_held(id) {
                    return Err(format!("{id} is held; `queue release {id}` first"));
                }
            }
            let (tx, rx) = oneshot::channel();
            send(control, Command::Flush(id.clone(), tx)).await?;
            let count = rx
                .await
                .map_err(|_| "the queue runner stopped".to_owned())?;
            Ok(match (id, count) {
                (Some(id), 0) => format!("{id} is being attempted right now\n"),
                (Some(id), _) => format!("{id}: attempting now\n"),
                (None, n) => format!("{n} message(s): attempting now\n"),
            })
        }
        "hold" => {
            let id = need_id()?.to_owned();
            let owned = id.clone();
            blocking(move || store.hold(&owned).map_err(|e| io_error(&owned, e))).await?;
            info!(queue_id = id, "held by the administrator");
            Ok(format!("{id}: held\n"))
        }
        "release" => {
            let id = need_id()?.to_owned();
            let owned = id.clone();
            let was_held =
                blocking(move || store.release(&owned).map_err(|e| io_error(&owned, e))).await?;
            if !was_held {
                let (s, owned) = (control.store.clone(), id.clone());
                blocking(move || exists(&s, &owned)).await?;
                return Err(format!("{id} is not held"));
            }
            info!(queue_id = id, "released by the administrator");
            let _ = control.queue_tx.send(id.clone());
            Ok(format!("{id}: released\n"))
        }
        "delete" => {
            let id = need_id()?.to_owned();
            exclusive(control, id.clone(), move |_deliverer, reply| {
                Box::pin(async move {
                    let owned = id.clone();
                    let result =
                        blocking(move || store.remove(&owned).map_err(|e| io_error(&owned, e)))
                            .await;
                    if result.is_ok() {
                        info!(queue_id = id, "deleted by the administrator");
                    }
                    let _ = reply.send(result.map(|()| format!("{id}: deleted\n")));
                    None
                })
            })
            .await
        }
        "bounce" => {
            let id = need_id()?.to_owned();
            exclusive(control, id.clone(), move |deliverer, reply| {
                Box::pin(async move {
                    let (result, next) = bounce(&deliverer, &id).await;
                    let _ = reply.send(result);
                    next
                })
            })
            .await
        }
        "" => Err("empty request".into()),
        other => Err(format!("unknown request `{other}`")),
    }
}

async fn send(control: &Control, command: Command) -> Result<(), String> {
    control
        .commands
        .send(command)
        .await
        .map_err(|_| "the queue runner stopped".to_owned())
}

type Reply = oneshot::Sender<Result<String, String>>;

/// Runs `job` through the queue runner (after any attempt in flight on `id`), and waits
/// for its answer.
async fn exclusive(
    control: &Control,
    id: String,
    job: impl FnOnce(Arc<Deliverer>, Reply) -> crate::scheduler::BoxFuture + Send + 'static,
) -> Result<String, String> {
    let store = control.store.clone();
    let owned = id.clone();
    blocking(move || exists(&store, &owned)).await?;
    let (tx, rx) = oneshot::channel();
    let job: crate::scheduler::Job = Box::new(move |deliverer| job(deliverer, tx));
    send(control, Command::Exclusive(id, job)).await?;
    rx.await
        .map_err(|_| "the queue runner stopped before answering".to_owned())?
}

fn exists(store: &QueueStore, id: &str) -> Result<(), String> {
    if store.contains(id) {
        Ok(())
    } else {
        Err(format!("no message {id} in the queue"))
    }
}

fn io_error(id: &str, e: io::Error) -> String {
    if e.kind() == io::ErrorKind::NotFound {
        format!("no message {id} in the queue")
    } else {
        format!("{id}: {e}")
    }
}

/// Returns a message to its sender now: every recipient still pending fails, the bounce
/// (RFC 3464, [`crate::bounce`]) is queued, and the message leaves the queue. The second
/// value is when to attempt the message next when it stays.
async fn bounce(deliverer: &Arc<Deliverer>, id: &str) -> (Result<String, String>, Option<u64>) {
    let store = deliverer.store.clone();
    let owned = id.to_owned();
    let loaded = blocking(move || {
        let (envelope, content) = store.read(&owned).map_err(|e| io_error(&owned, e))?;
        let state = store
            .read_state(&owned, envelope.recipients.len())
            .map_err(|e| io_error(&owned, e))?;
        Ok((envelope, content, state))
    })
    .await;
    let (envelope, content, mut state) = match loaded {
        Ok(loaded) => loaded,
        // Gone, or unreadable: an attempt now finds out (and moves a damaged file aside).
        Err(e) => return (Err(e), Some(unix_now())),
    };
    let keep = Some(state.next_attempt);
    let mut returned = 0;
    for rcpt in &mut state.recipients {
        if let RcptState::Pending(last) = rcpt {
            let last = last.as_deref().unwrap_or("not attempted yet");
            *rcpt = RcptState::Failed(Failure::new(
                "5.3.0",
                None,
                format!("returned by the postmaster; last error: {last}"),
            ));
            returned += 1;
        }
    }
    let content = Bytes::from(content);
    if let Err(e) = crate::bounce::queue_bounce(deliverer, id, &envelope, &content, &state).await {
        return (Err(format!("{id}: could not queue the bounce: {e}")), keep);
    }
    let store = deliverer.store.clone();
    let owned = id.to_owned();
    if let Err(e) = blocking(move || store.remove(&owned).map_err(|e| io_error(&owned, e))).await {
        return (Err(e), None);
    }
    crate::metrics::count(&crate::metrics::METRICS.bounced);
    info!(
        queue_id = id,
        returned, "returned to the sender by the administrator"
    );
    let text = if envelope.from.is_empty() {
        format!("{id}: removed ({returned} recipient(s); null sender, no bounce)\n")
    } else {
        format!(
            "{id}: returned to <{}> ({returned} recipient(s))\n",
            envelope.from
        )
    };
    (Ok(text), None)
}

/// One queued message as the tools show it.
struct Entry {
    id: String,
    envelope: Envelope,
    state: State,
    size: u64,
    held: bool,
}

fn load(store: &QueueStore, id: &str) -> io::Result<Entry> {
    let envelope = store.read_envelope(id)?;
    let state = store.read_state(id, envelope.recipients.len())?;
    let (size, _) = store.file_info(id)?;
    Ok(Entry {
        id: id.to_owned(),
        held: store.is_held(id),
        envelope,
        state,
        size,
    })
}

fn state_word(state: &RcptState) -> (&'static str, Option<String>) {
    match state {
        RcptState::Pending(last) => ("pending", last.clone()),
        RcptState::Delivered => ("delivered", None),
        RcptState::Failed(failure) => ("failed", Some(failure.to_string())),
    }
}

fn last_error(state: &State) -> Option<String> {
    state.recipients.iter().rev().find_map(|r| match r {
        RcptState::Pending(Some(why)) => Some(why.clone()),
        RcptState::Failed(failure) => Some(failure.to_string()),
        _ => None,
    })
}

/// `3d4h`, `2m10s`, `7s`.
fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m{s:02}s"),
        (0, _, _) => format!("{h}h{m:02}m"),
        _ => format!("{d}d{h:02}h"),
    }
}

fn next_text(entry: &Entry, now: u64) -> String {
    if entry.held {
        "held".into()
    } else if entry.state.next_attempt <= now {
        "now".into()
    } else {
        format!("in {}", duration(entry.state.next_attempt - now))
    }
}

fn list(store: &QueueStore, json: bool) -> Result<String, String> {
    let ids = store.ids().map_err(|e| format!("reading the queue: {e}"))?;
    let now = unix_now();
    let mut out = String::new();
    for id in ids {
        let Ok(entry) = load(store, &id) else {
            continue; // finished or moved aside since the directory was read
        };
        let age = now.saturating_sub(entry.envelope.received_at);
        if json {
            out.push_str(&json_line(&entry, age));
            out.push('\n');
            continue;
        }
        let recipients: Vec<String> = entry
            .envelope
            .recipients
            .iter()
            .zip(&entry.state.recipients)
            .map(|(r, s)| format!("{r} ({})", state_word(s).0))
            .collect();
        let _ = writeln!(
            out,
            "{}  age {}  size {}  from <{}>  to {}  attempts {}  next {}  last error: {}",
            entry.id,
            duration(age),
            entry.size,
            entry.envelope.from,
            recipients.join(", "),
            entry.state.attempts,
            next_text(&entry, now),
            last_error(&entry.state).as_deref().unwrap_or("-"),
        );
    }
    if out.is_empty() && !json {
        out.push_str("the queue is empty\n");
    }
    Ok(out)
}

fn json_line(entry: &Entry, age: u64) -> String {
    let recipients: Vec<String> = entry
        .envelope
        .recipients
        .iter()
        .zip(&entry.state.recipients)
        .map(|(r, s)| {
            let (word, why) = state_word(s);
            format!(
                "{{\"address\":{},\"state\":\"{word}\",\"error\":{}}}",
                json_str(r),
                json_opt(why.as_deref())
            )
        })
        .collect();
    let next = if entry.held || entry.state.next_attempt == 0 {
        "null".to_owned()
    } else {
        entry.state.next_attempt.to_string()
    };
    format!(
        "{{\"id\":{},\"age_secs\":{age},\"received_at\":{},\"size\":{},\"sender\":{},\"recipients\":[{}],\"attempts\":{},\"next_attempt\":{next},\"held\":{},\"last_error\":{}}}",
        json_str(&entry.id),
        entry.envelope.received_at,
        entry.size,
        json_str(&entry.envelope.from),
        recipients.join(","),
        entry.state.attempts,
        entry.held,
        json_opt(last_error(&entry.state).as_deref()),
    )
}

fn json_opt(text: Option<&str>) -> String {
    text.map(json_str).unwrap_or_else(|| "null".into())
}

/// A JSON string literal.
fn json_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn date(secs: u64) -> String {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    postwerk_message::DateTime::from_unix(secs, 0).to_string()
}

fn show(store: &QueueStore, id: &str) -> Result<String, String> {
    let entry = load(store, id).map_err(|e| io_error(id, e))?;
    let now = unix_now();
    let mut out = String::new();
    let _ = writeln!(out, "id: {}", entry.id);
    let _ = writeln!(
        out,
        "received: {} ({} ago)",
        date(entry.envelope.received_at),
        duration(now.saturating_sub(entry.envelope.received_at))
    );
    let _ = writeln!(out, "size: {}", entry.size);
    let _ = writeln!(out, "sender: <{}>", entry.envelope.from);
    let _ = writeln!(out, "attempts: {}", entry.state.attempts);
    let _ = writeln!(out, "next attempt: {}", next_text(&entry, now));
    let _ = writeln!(out, "held: {}", if entry.held { "yes" } else { "no" });
    out.push_str("recipients:\n");
    for (rcpt, state) in entry
        .envelope
        .recipients
        .iter()
        .zip(&entry.state.recipients)
    {
        match state_word(state) {
            (word, Some(why)) => {
                let _ = writeln!(out, "  {rcpt}: {word} ({why})");
            }
            (word, None) => {
                let _ = writeln!(out, "  {rcpt}: {word}");
            }
        }
    }
    out.push_str("history:\n");
    let history = store.read_history(id).map_err(|e| io_error(id, e))?;
    if history.is_empty() {
        out.push_str("  (no attempt yet)\n");
    }
    for line in history.lines() {
        // `SECS attempt N RCPT RESULT TEXT`
        match line.split_once(' ') {
            Some((secs, rest)) => {
                let when = secs.parse().map(date).unwrap_or_else(|_| secs.to_owned());
                let _ = writeln!(out, "  {when}  {rest}");
            }
            None => {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    out.push_str("headers:\n");
    let (_, content) = store.read(id).map_err(|e| io_error(id, e))?;
    let end = content
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| content.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(content.len())
        .min(64 * 1024);
    for line in String::from_utf8_lossy(content.get(..end).unwrap_or_default()).lines() {
        let _ = writeln!(out, "  {}", printable(line));
    }
    Ok(out)
}

/// The header comes from whoever sent the message: no control characters (terminal
/// escape sequences) reach the administrator's terminal.
fn printable(line: &str) -> String {
    line.chars()
        .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
        .collect()
}

/// `post-office queue ...`: sends `request` to the post office running on `data_dir` and
/// returns what it printed, or the error to show.
pub fn request(data_dir: &Path, request: &str) -> Result<String, String> {
    let path = socket_path(data_dir);
    let mut stream = match std::os::unix::net::UnixStream::connect(&path) {
        Ok(stream) => stream,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(format!(
                "no post office is running on {} ({e})",
                path.display()
            ));
        }
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let io = |e: io::Error| format!("{}: {e}", path.display());
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .map_err(io)?;
    stream
        .write_all(format!("{request}\n").as_bytes())
        .map_err(io)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(io)?;
    let (status, text) = answer.split_once('\n').unwrap_or((answer.as_str(), ""));
    if status == "ok" {
        Ok(text.to_owned())
    } else if let Some(message) = status.strip_prefix("error ") {
        Err(message.to_owned())
    } else {
        Err(format!(
            "{}: the post office closed the connection without an answer",
            path.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cannot_name_other_files() {
        assert!(valid_id("18A2B3C4D5E6F0001ABCDEF12B").is_ok());
        for bad in ["", "../x", "a/b", "a.msg", "a b", &"A".repeat(65)] {
            assert!(valid_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn header_lines_lose_their_control_characters() {
        assert_eq!(
            printable("Subject: \u{1b}[31mred\tx\r"),
            "Subject: ?[31mred\tx?"
        );
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_str("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(7), "7s");
        assert_eq!(duration(130), "2m10s");
        assert_eq!(duration(3 * 3600 + 60), "3h01m");
        assert_eq!(duration(2 * 86400 + 3600), "2d01h");
    }

    #[test]
    fn without_a_post_office_the_error_names_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let err = request(dir.path(), "list").unwrap_err();
        assert!(err.starts_with("no post office is running on "), "{err}");
        assert!(err.contains("control.sock"), "{err}");
    }
}
