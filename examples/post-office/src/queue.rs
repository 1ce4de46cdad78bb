//! The durable queue under `data_dir/queue`.
//!
//! Each accepted message is one immutable file `<id>.msg`: a short text header with the
//! envelope, the message, and a fixed-size trailer with the content length and an FNV-1a
//! checksum of everything before it. It is written in `tmp/`, fsync'd, renamed into place
//! and the directory fsync'd before the SMTP 250 is sent. Delivery progress (attempts, the
//! next attempt time, the state of each recipient) lives next to it in `<id>.state`,
//! replaced atomically (write, fsync, rename, fsync the directory) after every attempt, so
//! the retry schedule survives restarts. A file whose trailer or checksum does not match is
//! moved to `corrupt/` and logged, never delivered.
//!
//! The functions here block; the async code calls them through `spawn_blocking`, except
//! for [`Incoming::write`], a buffered write of one DATA chunk.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::maildir::sync_dir;

const MAGIC: &str = "postwerk-queue 1\n";
/// `\nend <20 digits> <16 hex>\n`
const TRAILER_LEN: usize = 1 + 4 + 20 + 1 + 16 + 1;

/// The sender and recipients of a queued message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse path without brackets; empty for the null sender `<>`.
    pub from: String,
    /// Forward paths without brackets.
    pub recipients: Vec<String>,
    /// When the message was accepted (seconds since the epoch).
    pub received_at: u64,
}

/// What happened to one recipient so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RcptState {
    /// Not delivered yet; the last temporary error, if any.
    Pending(Option<String>),
    /// Delivered.
    Delivered,
    /// Failed for good; the reply or reason, for the bounce.
    Failed(String),
}

/// Delivery progress of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Attempts made.
    pub attempts: u32,
    /// Not before this time (seconds since the epoch).
    pub next_attempt: u64,
    /// One per envelope recipient, same order.
    pub recipients: Vec<RcptState>,
}

impl State {
    /// The state of a message never tried.
    pub fn new(recipients: usize) -> State {
        State {
            attempts: 0,
            next_attempt: 0,
            recipients: vec![RcptState::Pending(None); recipients],
        }
    }

    /// Is any recipient still waiting?
    pub fn has_pending(&self) -> bool {
        self.recipients
            .iter()
            .any(|r| matches!(r, RcptState::Pending(_)))
    }
}

/// A queued message as found on disk.
#[derive(Debug, Clone)]
pub struct Queued {
    /// The queue id.
    pub id: String,
    /// Its progress.
    pub state: State,
}

/// What [`QueueStore::scan`] found: the good messages, and `(id, reason)` of the corrupt
/// ones it moved aside.
pub type Scan = (Vec<Queued>, Vec<(String, String)>);

/// The queue directory.
#[derive(Debug)]
pub struct QueueStore {
    dir: PathBuf,
    counter: AtomicU64,
}

/// A message being received: the envelope is written, DATA chunks follow.
#[derive(Debug)]
pub struct Incoming {
    id: String,
    tmp: PathBuf,
    file: BufWriter<File>,
    hash: Fnv,
    content_len: u64,
}

impl QueueStore {
    /// Opens (creating) `dir` and its `tmp/` and `corrupt/` subdirectories. Leftovers in
    /// `tmp/` were never acknowledged and are removed.
    pub fn open(dir: PathBuf) -> io::Result<QueueStore> {
        fs::create_dir_all(dir.join("tmp"))?;
        fs::create_dir_all(dir.join("corrupt"))?;
        for item in fs::read_dir(dir.join("tmp"))? {
            let _ = fs::remove_file(item?.path());
        }
        Ok(QueueStore {
            dir,
            counter: AtomicU64::new(0),
        })
    }

    /// A fresh queue id: time in microseconds and a counter, in hex.
    pub fn new_id(&self) -> String {
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros();
        let counter = self.counter.fetch_add(1, Ordering::Relaxed) & 0xfff;
        format!("{micros:013X}{counter:03X}")
    }

    fn msg_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.msg"))
    }

    fn state_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.state"))
    }

    /// Is a message with this id queued?
    pub fn contains(&self, id: &str) -> bool {
        self.msg_path(id).exists()
    }

    /// Starts writing a message with a new id.
    pub fn begin(&self, envelope: &Envelope) -> io::Result<Incoming> {
        self.begin_with_id(self.new_id(), envelope)
    }

    /// Starts writing a message with a chosen id (bounces use the id of their original,
    /// which makes sending one idempotent).
    pub fn begin_with_id(&self, id: String, envelope: &Envelope) -> io::Result<Incoming> {
        let mut header = String::from(MAGIC);
        let _ = writeln!(header, "received-at {}", envelope.received_at);
        let _ = writeln!(header, "from <{}>", clean(&envelope.from));
        for rcpt in &envelope.recipients {
            let _ = writeln!(header, "rcpt <{}>", clean(rcpt));
        }
        header.push_str("data\n");
        let tmp = self.dir.join("tmp").join(format!("{id}.msg"));
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        let mut incoming = Incoming {
            id,
            tmp,
            file: BufWriter::with_capacity(64 * 1024, file),
            hash: Fnv::new(),
            content_len: 0,
        };
        incoming.file.write_all(header.as_bytes())?;
        incoming.hash.update(header.as_bytes());
        Ok(incoming)
    }

    /// Makes `incoming` durable: trailer, fsync, rename, fsync the directory. After this
    /// returns `Ok`, the message may be acknowledged.
    pub fn commit(&self, mut incoming: Incoming) -> io::Result<String> {
        let trailer = format!(
            "\nend {:020} {:016x}\n",
            incoming.content_len, incoming.hash.0
        );
        debug_assert_eq!(trailer.len(), TRAILER_LEN);
        let result = (|| {
            incoming.file.write_all(trailer.as_bytes())?;
            let file = incoming.file.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            fs::rename(&incoming.tmp, self.msg_path(&incoming.id))?;
            sync_dir(&self.dir)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&incoming.tmp);
        }
        result.map(|()| incoming.id)
    }

    /// Writes a whole message at once (bounces).
    pub fn enqueue(&self, id: String, envelope: &Envelope, content: &[u8]) -> io::Result<String> {
        let mut incoming = self.begin_with_id(id, envelope)?;
        incoming.write(content)?;
        self.commit(incoming)
    }

    /// Reads and checks a message: its envelope and content.
    pub fn read(&self, id: &str) -> io::Result<(Envelope, Vec<u8>)> {
        let bytes = fs::read(self.msg_path(id))?;
        parse_message(bytes).map_err(|why| io::Error::new(io::ErrorKind::InvalidData, why))
    }

    /// Reads the progress of a message; a message without a state file was never tried.
    pub fn read_state(&self, id: &str, recipients: usize) -> io::Result<State> {
        match fs::read_to_string(self.state_path(id)) {
            Ok(text) => parse_state(&text, recipients)
                .map_err(|why| io::Error::new(io::ErrorKind::InvalidData, why)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(State::new(recipients)),
            Err(e) => Err(e),
        }
    }

    /// Replaces the progress of a message durably.
    pub fn write_state(&self, id: &str, state: &State) -> io::Result<()> {
        let mut text = format!("attempts {}\nnext {}\n", state.attempts, state.next_attempt);
        for rcpt in &state.recipients {
            match rcpt {
                RcptState::Pending(None) => text.push_str("pending\n"),
                RcptState::Pending(Some(why)) => {
                    let _ = writeln!(text, "pending {}", clean(why));
                }
                RcptState::Delivered => text.push_str("delivered\n"),
                RcptState::Failed(why) => {
                    let _ = writeln!(text, "failed {}", clean(why));
                }
            }
        }
        let _ = writeln!(text, "end {:016x}", fnv(text.as_bytes()));
        let tmp = self.dir.join("tmp").join(format!("{id}.state"));
        let mut file = File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&tmp, self.state_path(id))?;
        sync_dir(&self.dir)
    }

    /// Removes a finished message.
    pub fn remove(&self, id: &str) -> io::Result<()> {
        fs::remove_file(self.msg_path(id))?;
        match fs::remove_file(self.state_path(id)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        sync_dir(&self.dir)
    }

    /// Moves a message and its state to `corrupt/`.
    pub fn quarantine(&self, id: &str) -> io::Result<()> {
        for path in [self.msg_path(id), self.state_path(id)] {
            if let Some(name) = path.file_name() {
                match fs::rename(&path, self.dir.join("corrupt").join(name)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        sync_dir(&self.dir)
    }

    /// Everything queued, after a start. Corrupt messages are moved aside and reported in
    /// the second list; state files without a message are removed.
    pub fn scan(&self) -> io::Result<Scan> {
        let mut found = Vec::new();
        let mut corrupt = Vec::new();
        let mut names: Vec<String> = fs::read_dir(&self.dir)?
            .filter_map(|item| item.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        for name in &names {
            if let Some(id) = name.strip_suffix(".state") {
                if !names.iter().any(|n| n.strip_suffix(".msg") == Some(id)) {
                    let _ = fs::remove_file(self.dir.join(name));
                }
                continue;
            }
            let Some(id) = name.strip_suffix(".msg") else {
                continue;
            };
            let loaded = self.read(id).and_then(|(envelope, _)| {
                let state = self.read_state(id, envelope.recipients.len())?;
                Ok(Queued {
                    id: id.to_owned(),
                    state,
                })
            });
            match loaded {
                Ok(queued) => found.push(queued),
                Err(e) => {
                    self.quarantine(id)?;
                    corrupt.push((id.to_owned(), e.to_string()));
                }
            }
        }
        Ok((found, corrupt))
    }
}

impl Incoming {
    /// The queue id this message will have.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Appends message bytes.
    pub fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.file.write_all(chunk)?;
        self.hash.update(chunk);
        self.content_len += chunk.len() as u64;
        Ok(())
    }

    /// Octets of content so far.
    pub fn len(&self) -> u64 {
        self.content_len
    }

    /// Drops the partial message.
    pub fn abort(self) {
        let _ = fs::remove_file(&self.tmp);
    }
}

fn parse_message(mut bytes: Vec<u8>) -> Result<(Envelope, Vec<u8>), String> {
    let body_end = bytes
        .len()
        .checked_sub(TRAILER_LEN)
        .ok_or("shorter than the trailer")?;
    let trailer = std::str::from_utf8(&bytes[body_end..]).map_err(|_| "trailer is not text")?;
    let fields: Vec<&str> = trailer.trim().split(' ').collect();
    let (Some(&"end"), Some(len), Some(sum)) = (fields.first(), fields.get(1), fields.get(2))
    else {
        return Err("no complete-marker: the file is torn".into());
    };
    let len: usize = len.parse().map_err(|_| "bad length in trailer")?;
    let sum = u64::from_str_radix(sum, 16).map_err(|_| "bad checksum in trailer")?;
    if fnv(&bytes[..body_end]) != sum {
        return Err("checksum mismatch".into());
    }
    if !bytes.starts_with(MAGIC.as_bytes()) {
        return Err("not a queue file".into());
    }
    let header_end = body_end
        .checked_sub(len)
        .ok_or("length larger than the file")?;
    let header = std::str::from_utf8(&bytes[..header_end]).map_err(|_| "header is not text")?;
    let mut envelope = Envelope {
        from: String::new(),
        recipients: Vec::new(),
        received_at: 0,
    };
    let mut saw_from = false;
    let mut lines = header.lines().skip(1);
    for line in lines.by_ref() {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "received-at" => envelope.received_at = value.parse().map_err(|_| "bad received-at")?,
            "from" => {
                envelope.from = bracketed(value)?;
                saw_from = true;
            }
            "rcpt" => envelope.recipients.push(bracketed(value)?),
            "data" => break,
            _ => return Err(format!("unknown header line {key:?}")),
        }
    }
    if !header.ends_with("data\n") || !saw_from || envelope.recipients.is_empty() {
        return Err("incomplete envelope".into());
    }
    bytes.truncate(body_end);
    bytes.drain(..header_end);
    Ok((envelope, bytes))
}

fn bracketed(value: &str) -> Result<String, String> {
    value
        .strip_prefix('<')
        .and_then(|v| v.strip_suffix('>'))
        .map(str::to_owned)
        .ok_or_else(|| format!("bad path {value:?}"))
}

fn parse_state(text: &str, recipients: usize) -> Result<State, String> {
    let body_end = text
        .trim_end()
        .rfind('\n')
        .map(|i| i + 1)
        .ok_or("empty state")?;
    let sum = text[body_end..]
        .trim()
        .strip_prefix("end ")
        .ok_or("state is torn")?;
    let sum = u64::from_str_radix(sum, 16).map_err(|_| "bad state checksum")?;
    if fnv(&text.as_bytes()[..body_end]) != sum {
        return Err("state checksum mismatch".into());
    }
    let mut state = State {
        attempts: 0,
        next_attempt: 0,
        recipients: Vec::new(),
    };
    for line in text[..body_end].lines() {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "attempts" => state.attempts = value.parse().map_err(|_| "bad attempts")?,
            "next" => state.next_attempt = value.parse().map_err(|_| "bad next")?,
            "pending" if value.is_empty() => state.recipients.push(RcptState::Pending(None)),
            "pending" => state
                .recipients
                .push(RcptState::Pending(Some(value.to_owned()))),
            "delivered" => state.recipients.push(RcptState::Delivered),
            "failed" => state.recipients.push(RcptState::Failed(value.to_owned())),
            _ => return Err(format!("unknown state line {key:?}")),
        }
    }
    if state.recipients.len() != recipients {
        return Err("state does not match the envelope".into());
    }
    Ok(state)
}

/// Keeps a value on one line.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// FNV-1a, 64 bits: detects torn and damaged files (not an integrity check against
/// someone who can write the queue directory).
#[derive(Debug)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut hash = Fnv::new();
    hash.update(bytes);
    hash.0
}

/// Free bytes available to us on the file system holding `path`.
pub fn free_bytes(path: &Path) -> io::Result<u64> {
    let stat = rustix::fs::statvfs(path)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope {
        Envelope {
            from: "alice@alpha.test".into(),
            recipients: vec!["bob@beta.test".into(), "carol@alpha.test".into()],
            received_at: 1_700_000_000,
        }
    }

    fn store() -> (tempfile::TempDir, QueueStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = QueueStore::open(dir.path().join("queue")).unwrap();
        (dir, store)
    }

    #[test]
    fn a_committed_message_reads_back() {
        let (_dir, store) = store();
        let mut incoming = store.begin(&envelope()).unwrap();
        incoming.write(b"Subject: hi\r\n\r\n").unwrap();
        incoming.write(b"body\nend 5 00\r\n").unwrap();
        let id = store.commit(incoming).unwrap();
        let (env, content) = store.read(&id).unwrap();
        assert_eq!(env, envelope());
        assert_eq!(content, b"Subject: hi\r\n\r\nbody\nend 5 00\r\n");
        let (found, corrupt) = store.scan().unwrap();
        assert!(corrupt.is_empty());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].state, State::new(2));
    }

    #[test]
    fn the_null_sender_round_trips() {
        let (_dir, store) = store();
        let mut env = envelope();
        env.from.clear();
        let id = store
            .enqueue(format!("{}B", store.new_id()), &env, b"x")
            .unwrap();
        assert!(id.ends_with('B'));
        assert_eq!(store.read(&id).unwrap().0.from, "");
    }

    #[test]
    fn ids_are_unique() {
        let (_dir, store) = store();
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| store.new_id()).collect();
        assert_eq!(ids.len(), 1000);
    }

    #[test]
    fn torn_and_damaged_files_are_moved_aside() {
        let (dir, store) = store();
        let good = store
            .enqueue(store.new_id(), &envelope(), b"Subject: ok\r\n\r\n")
            .unwrap();
        let torn = store
            .enqueue(store.new_id(), &envelope(), b"Subject: torn\r\n\r\nlong")
            .unwrap();
        let flipped = store
            .enqueue(store.new_id(), &envelope(), b"Subject: flip\r\n\r\n")
            .unwrap();
        let qdir = dir.path().join("queue");
        let bytes = fs::read(qdir.join(format!("{torn}.msg"))).unwrap();
        fs::write(qdir.join(format!("{torn}.msg")), &bytes[..bytes.len() - 10]).unwrap();
        let mut bytes = fs::read(qdir.join(format!("{flipped}.msg"))).unwrap();
        bytes[60] ^= 1;
        fs::write(qdir.join(format!("{flipped}.msg")), &bytes).unwrap();
        fs::write(qdir.join("0000000000000000.msg"), b"").unwrap();
        let (found, corrupt) = store.scan().unwrap();
        assert_eq!(
            found.iter().map(|q| q.id.as_str()).collect::<Vec<_>>(),
            [good.as_str()]
        );
        assert_eq!(corrupt.len(), 3);
        assert!(qdir.join("corrupt").join(format!("{torn}.msg")).is_file());
        assert!(
            qdir.join("corrupt")
                .join(format!("{flipped}.msg"))
                .is_file()
        );
        assert!(!qdir.join(format!("{torn}.msg")).exists());
    }

    #[test]
    fn uncommitted_data_disappears_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = QueueStore::open(dir.path().to_path_buf()).unwrap();
        let mut incoming = store.begin(&envelope()).unwrap();
        incoming.write(b"half").unwrap();
        drop(incoming);
        let store = QueueStore::open(dir.path().to_path_buf()).unwrap();
        assert!(store.scan().unwrap().0.is_empty());
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn state_persists_and_is_checked() {
        let (dir, store) = store();
        let id = store.enqueue(store.new_id(), &envelope(), b"x").unwrap();
        let state = State {
            attempts: 3,
            next_attempt: 1_700_000_900,
            recipients: vec![
                RcptState::Pending(Some("451 4.4.1 no answer\nfrom host".into())),
                RcptState::Failed("550 5.1.1 unknown".into()),
            ],
        };
        store.write_state(&id, &state).unwrap();
        let mut expected = state.clone();
        expected.recipients[0] = RcptState::Pending(Some("451 4.4.1 no answer from host".into()));
        assert_eq!(store.read_state(&id, 2).unwrap(), expected);
        assert!(store.read_state(&id, 3).is_err());
        let path = dir.path().join("queue").join(format!("{id}.state"));
        let text = fs::read_to_string(&path)
            .unwrap()
            .replace("attempts 3", "attempts 0");
        fs::write(&path, text).unwrap();
        assert!(store.read_state(&id, 2).is_err());
        let (found, corrupt) = store.scan().unwrap();
        assert!(found.is_empty());
        assert_eq!(corrupt.len(), 1);
    }

    #[test]
    fn removal_takes_the_state_too() {
        let (dir, store) = store();
        let id = store.enqueue(store.new_id(), &envelope(), b"x").unwrap();
        store.write_state(&id, &State::new(2)).unwrap();
        store.remove(&id).unwrap();
        assert!(!store.contains(&id));
        assert_eq!(fs::read_dir(dir.path().join("queue")).unwrap().count(), 2);
    }

    #[test]
    fn free_space_is_measured() {
        let dir = tempfile::tempdir().unwrap();
        assert!(free_bytes(dir.path()).unwrap() > 0);
    }
}
