//! The durable queue under `data_dir/queue`.
//!
//! Each accepted message is one immutable file `<id>.msg`: a short text header with the
//! envelope, the message, and a fixed-size trailer with the content length and an FNV-1a
//! checksum of everything before it. A message of up to 256 KiB is held in memory while it
//! arrives (all messages together at most 64 MiB; beyond that, or when larger, it streams to
//! its file in `tmp/`), so the fields added at the end of DATA cost no second copy. At the
//! commit the file is written, linked into place, and made durable by a group-commit
//! barrier ([`crate::durable`]) shared with every other session committing at the same
//! time, before the SMTP 250 is sent. Delivery progress (attempts, the next attempt time,
//! the state of each recipient) lives next to it in `<id>.state`, replaced atomically
//! (write, barrier, rename, barrier) after an attempt that leaves work, so the retry
//! schedule survives restarts. A file whose trailer or checksum does not match is moved to
//! `corrupt/` and logged, never delivered.
//!
//! Queue ids are the time in microseconds, a counter and a random part. A new message is
//! written under an id whose file does not exist yet (`O_EXCL`) and linked into place with
//! a hard link, which fails rather than replace: an existing queue file is never
//! overwritten, even when the clock steps back (SECURITY.md 53). Files are created 0600 and
//! directories 0700, new directories fsync'd into their parent (SECURITY.md 54).
//!
//! The start-up scan reads only the envelope (the text header) and the trailer of each
//! message, plus its state file; the message itself is read, and its checksum checked, when
//! it is delivered.
//!
//! The functions here block; the async code calls them through `spawn_blocking`, except
//! for [`Incoming::write`] (memory, or a buffered write of one DATA chunk) and
//! [`QueueStore::commit_async`], which waits for its barrier without a thread.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use postwerk_smtp::codec::params::{Notify, Ret};

use crate::durable::Syncer;
use crate::maildir::{create_dir_durable, create_private};

/// The largest envelope header the scan reads (1,000 recipients of 256 octets fit).
const MAX_HEADER: u64 = 512 * 1024;

const MAGIC: &str = "postwerk-queue 1\n";
/// `\nend <20 digits> <16 hex>\n`
const TRAILER_LEN: usize = 1 + 4 + 20 + 1 + 16 + 1;

/// The sender and recipients of a queued message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Envelope {
    /// The reverse path without brackets; empty for the null sender `<>`.
    pub from: String,
    /// Forward paths without brackets.
    pub recipients: Vec<String>,
    /// When the message was accepted (seconds since the epoch).
    pub received_at: u64,
    /// RFC 3461 `RET`: what a report returns of the message (absent or `HDRS`: its header
    /// section; `FULL`: all of it).
    pub ret: Option<Ret>,
    /// RFC 3461 `ENVID` (xtext as received).
    pub envid: Option<String>,
    /// RFC 3461 `NOTIFY` and `ORCPT` per recipient, same order as `recipients`; shorter
    /// (or empty) means none for the rest.
    pub rcpt_dsn: Vec<RcptDsn>,
}

/// The DSN parameters of one recipient (RFC 3461 4.1, 4.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RcptDsn {
    /// `NOTIFY`; absent: failures (and, here, delays) are reported.
    pub notify: Option<Notify>,
    /// `ORCPT`: address type and address (decoded from xtext).
    pub orcpt: Option<(String, String)>,
}

impl Envelope {
    /// The DSN parameters of recipient `i`.
    pub fn dsn(&self, i: usize) -> RcptDsn {
        self.rcpt_dsn.get(i).cloned().unwrap_or_default()
    }

    /// Does recipient `i` want a report of this kind (RFC 3461 4.1: without NOTIFY,
    /// failures are reported and delays may be)?
    pub fn wants(&self, i: usize, kind: Report) -> bool {
        match self.dsn(i).notify {
            None => matches!(kind, Report::Failure | Report::Delay),
            Some(Notify::Never) => false,
            Some(Notify::On {
                success,
                failure,
                delay,
            }) => match kind {
                Report::Success => success,
                Report::Failure => failure,
                Report::Delay => delay,
            },
        }
    }
}

/// The kinds of delivery status notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// Delivered (or relayed to a server without DSN).
    Success,
    /// Failed for good.
    Failure,
    /// Still not delivered after the delay-warning time.
    Delay,
}

/// What happened to one recipient so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RcptState {
    /// Not delivered yet; the last temporary error, if any.
    Pending(Option<String>),
    /// Delivered.
    Delivered,
    /// Failed for good: what the bounce reports.
    Failed(Failure),
}

/// Why a recipient failed for good, as a delivery status notification reports it
/// (RFC 3464 `Status`, `Remote-MTA`, `Diagnostic-Code`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The enhanced status code (`5.1.1`; `4.4.7` for an expired message, reported as a
    /// permanent `5.4.7`).
    pub status: String,
    /// The server that refused, when one did.
    pub remote: Option<String>,
    /// Its reply, or why we gave up.
    pub diagnostic: String,
}

impl Failure {
    /// A failure with `status`, the refusing server `remote` and `diagnostic`.
    pub fn new(status: &str, remote: Option<&str>, diagnostic: impl Into<String>) -> Failure {
        Failure {
            status: status.to_owned(),
            remote: remote.map(str::to_owned),
            diagnostic: diagnostic.into(),
        }
    }

    /// Reads the state file's form, `STATUS REMOTE-OR-DASH DIAGNOSTIC`.
    fn parse(text: &str) -> Failure {
        let mut parts = text.splitn(3, ' ');
        let status = parts.next().filter(|s| !s.is_empty()).unwrap_or("5.0.0");
        let remote = parts.next().filter(|r| *r != "-");
        Failure::new(status, remote, parts.next().unwrap_or_default())
    }
}

/// The state file's form (also what `queue show` prints).
impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let remote = self.remote.as_deref().unwrap_or("-");
        write!(f, "{} {remote} {}", self.status, self.diagnostic)
    }
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
    /// The delay notice has been queued (it is sent once per message).
    pub delay_notified: bool,
    /// Success notices have been queued for these recipients (indexes).
    pub success_notified: Vec<usize>,
}

impl State {
    /// The state of a message never tried.
    pub fn new(recipients: usize) -> State {
        State {
            attempts: 0,
            next_attempt: 0,
            recipients: vec![RcptState::Pending(None); recipients],
            delay_notified: false,
            success_notified: Vec::new(),
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
#[cfg(test)]
pub type Scan = (Vec<Queued>, Vec<(String, String)>);

/// A message as a delivery attempt reads it: envelope, progress, and the content when
/// it was small enough to read at once.
pub type Loaded = (Envelope, State, Option<Vec<u8>>);

/// The queue directory.
#[derive(Debug)]
pub struct QueueStore {
    dir: PathBuf,
    counter: AtomicU64,
    /// Group commit: the barrier every durable step of the queue waits for.
    syncer: Syncer,
    /// The last measure of free space: when, and how much.
    free: std::sync::Mutex<Option<(std::time::Instant, u64)>>,
}

/// How long a measure of free space is used before the next `statvfs`.
const FREE_SPACE_AGE: std::time::Duration = std::time::Duration::from_millis(250);

/// A message being received is kept in memory up to this size, and written to its queue
/// file only at the commit: one write, no second copy when fields are added at the end
/// of DATA. Larger messages go to a file in `tmp/` as they arrive.
const MEMORY_MESSAGE: usize = 256 * 1024;

/// All messages being received at once keep at most this much content in memory; past it,
/// the next ones go to files (bounded memory however many sessions send at once).
const MEMORY_BUDGET: usize = 64 * 1024 * 1024;

/// Octets of content held in memory by all [`Incoming`] messages.
static IN_MEMORY: AtomicUsize = AtomicUsize::new(0);

/// Takes `n` octets of the memory budget, or nothing when they are not there.
fn reserve_memory(n: usize) -> bool {
    IN_MEMORY
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
            held.checked_add(n).filter(|total| *total <= MEMORY_BUDGET)
        })
        .is_ok()
}

fn release_memory(n: usize) {
    IN_MEMORY.fetch_sub(n, Ordering::AcqRel);
}

/// A message being received: the envelope, then the DATA chunks.
#[derive(Debug)]
pub struct Incoming {
    id: String,
    tmp: PathBuf,
    /// The envelope as the queue file's text header.
    header: Vec<u8>,
    body: Body,
    content_len: u64,
}

#[derive(Debug)]
enum Body {
    /// The content so far, counted in the memory budget.
    Memory(Vec<u8>),
    /// The file in `tmp/` with the header and the content so far, and the checksum of
    /// what it holds.
    File(BufWriter<File>, Fnv),
    /// Committed, aborted or failed: nothing is held.
    Gone,
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if let Body::Memory(content) = &self.body {
            release_memory(content.len());
        }
    }
}

impl QueueStore {
    /// Opens (creating) `dir` and its `tmp/` and `corrupt/` subdirectories. Leftovers in
    /// `tmp/` were never acknowledged and are removed.
    pub fn open(dir: PathBuf) -> io::Result<QueueStore> {
        for sub in [dir.clone(), dir.join("tmp"), dir.join("corrupt")] {
            create_dir_durable(&sub)?;
            // Directories made by an older version may be wider: owner only.
            fs::set_permissions(&sub, fs::Permissions::from_mode(0o700))?;
        }
        for item in fs::read_dir(dir.join("tmp"))? {
            let _ = fs::remove_file(item?.path());
        }
        let syncer = Syncer::new(&dir)?;
        Ok(QueueStore {
            dir,
            counter: AtomicU64::new(0),
            syncer,
            free: std::sync::Mutex::new(None),
        })
    }

    /// A fresh queue id: time in microseconds, a counter and 32 random bits, in hex. The
    /// random part keeps ids apart when the clock steps back or the process restarts
    /// within the same microsecond; [`QueueStore::begin`] still checks that the id is free.
    pub fn new_id(&self) -> String {
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros();
        let counter = self.counter.fetch_add(1, Ordering::Relaxed) & 0xfff;
        let random: u32 = rand::random();
        format!("{micros:013X}{counter:03X}{random:08X}")
    }

    fn msg_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.msg"))
    }

    fn state_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.state"))
    }

    /// Free octets on the queue's file system, measured at most every 250 ms: every MAIL
    /// and end of DATA asks, and one `statvfs` serves all of them in that time.
    pub fn free_bytes(&self) -> io::Result<u64> {
        let now = std::time::Instant::now();
        let mut last = self.free.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, free)) = *last
            && now.saturating_duration_since(at) < FREE_SPACE_AGE
        {
            return Ok(free);
        }
        let free = free_bytes(&self.dir)?;
        *last = Some((now, free));
        Ok(free)
    }

    /// Is a message with this id queued?
    pub fn contains(&self, id: &str) -> bool {
        self.msg_path(id).exists()
    }

    /// Starts writing a message with a new id, one that no queued message has.
    pub fn begin(&self, envelope: &Envelope) -> io::Result<Incoming> {
        let mut tries = 0;
        loop {
            match self.begin_with_id(self.new_id(), envelope) {
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 8 => tries += 1,
                result => return result,
            }
        }
    }

    /// Starts writing a message with a chosen id (bounces use the id of their original,
    /// which makes sending one idempotent). Fails with `AlreadyExists` when a message with
    /// this id is queued or being written.
    pub fn begin_with_id(&self, id: String, envelope: &Envelope) -> io::Result<Incoming> {
        if self.contains(&id) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("queue id {id} is taken"),
            ));
        }
        let mut header = String::from(MAGIC);
        let _ = writeln!(header, "received-at {}", envelope.received_at);
        let _ = writeln!(header, "from <{}>", clean(&envelope.from));
        if let Some(ret) = envelope.ret {
            let _ = writeln!(header, "ret {}", ret_word(ret));
        }
        if let Some(envid) = &envelope.envid {
            let _ = writeln!(header, "envid {}", clean_word(envid));
        }
        for (i, rcpt) in envelope.recipients.iter().enumerate() {
            let _ = writeln!(header, "rcpt <{}>", clean(rcpt));
            let dsn = envelope.dsn(i);
            if let Some(notify) = dsn.notify {
                let _ = writeln!(header, "notify {}", notify_words(notify));
            }
            if let Some((kind, address)) = &dsn.orcpt {
                let _ = writeln!(header, "orcpt {};{}", clean_word(kind), clean(address));
            }
        }
        header.push_str("data\n");
        let tmp = self.dir.join("tmp").join(format!("{id}.msg"));
        Ok(Incoming {
            id,
            tmp,
            header: header.into_bytes(),
            body: Body::Memory(Vec::new()),
            content_len: 0,
        })
    }

    /// Makes `incoming` durable: trailer, hard link into place (which fails with
    /// `AlreadyExists` instead of replacing a queued message), then a group-commit barrier
    /// shared with every other writer waiting at the same time. After this returns `Ok`,
    /// the message may be acknowledged. Linking before the flush is safe: a file that a
    /// crash tears fails its trailer check and is moved aside, never delivered (and it was
    /// never acknowledged).
    pub fn commit(&self, incoming: Incoming) -> io::Result<String> {
        let id = self.place(incoming)?;
        self.syncer.barrier_blocking()?;
        Ok(id)
    }

    /// Like [`QueueStore::commit`], waiting for the barrier without holding a thread: the
    /// file work runs on the blocking pool, the wait does not.
    pub async fn commit_async(self: &Arc<Self>, incoming: Incoming) -> io::Result<String> {
        let store = self.clone();
        let id = tokio::task::spawn_blocking(move || store.place(incoming))
            .await
            .map_err(io::Error::other)??;
        self.syncer.barrier().await?;
        Ok(id)
    }

    /// Writes the file (a message held in memory in one write), its trailer, and links it
    /// into place (not yet durable).
    fn place(&self, mut incoming: Incoming) -> io::Result<String> {
        let result = (|| {
            let (file, hash) = match std::mem::replace(&mut incoming.body, Body::Gone) {
                Body::Memory(content) => {
                    release_memory(content.len());
                    let mut hash = Fnv::new();
                    hash.update(&incoming.header);
                    hash.update(&content);
                    let mut file = create_new_private(&incoming.tmp)?;
                    let mut bytes = std::mem::take(&mut incoming.header);
                    bytes.reserve(content.len() + TRAILER_LEN);
                    bytes.extend_from_slice(&content);
                    bytes.extend_from_slice(trailer(incoming.content_len, hash).as_bytes());
                    file.write_all(&bytes)?;
                    return fs::hard_link(&incoming.tmp, self.msg_path(&incoming.id));
                }
                Body::File(file, hash) => (file, hash),
                Body::Gone => return Err(io::Error::other("message already failed")),
            };
            let mut file = file.into_inner().map_err(|e| e.into_error())?;
            file.write_all(trailer(incoming.content_len, hash).as_bytes())?;
            drop(file);
            fs::hard_link(&incoming.tmp, self.msg_path(&incoming.id))
        })();
        let _ = fs::remove_file(&incoming.tmp);
        result.map(|()| std::mem::take(&mut incoming.id))
    }

    /// Edits the content of a message still being received (nothing of it is acknowledged
    /// yet): `insert` goes in at content offset `at`, and the content ranges in `drop`
    /// (sorted, not overlapping, all at or after `at`) are left out. Used at the end of
    /// DATA to put `DKIM-Signature:`, `Date:`, `Message-ID:` and `Authentication-Results:`
    /// fields into a header that has already streamed to disk, and to remove forged
    /// fields. The content is copied once into a new file under the same id (no fsync of
    /// the old one); the result is committed as usual.
    pub fn rewrite(
        &self,
        mut incoming: Incoming,
        envelope: &Envelope,
        at: u64,
        insert: &[u8],
        drop: &[std::ops::Range<u64>],
    ) -> io::Result<Incoming> {
        let file = match std::mem::replace(&mut incoming.body, Body::Gone) {
            Body::Memory(content) => {
                let fresh = edited(&content, at, insert, drop);
                release_memory(content.len());
                IN_MEMORY.fetch_add(fresh.len(), Ordering::AcqRel);
                incoming.content_len = fresh.len() as u64;
                incoming.body = Body::Memory(fresh);
                return Ok(incoming);
            }
            Body::File(file, _) => file,
            Body::Gone => return Err(io::Error::other("message already failed")),
        };
        // Close the file (flushed) before moving it aside.
        file.into_inner().map_err(|e| e.into_error())?;
        let (id, old_tmp, header_len, content_len) = (
            incoming.id.clone(),
            incoming.tmp.clone(),
            incoming.header.len() as u64,
            incoming.content_len,
        );
        std::mem::drop(incoming);
        let moved = old_tmp.with_extension("old");
        fs::rename(&old_tmp, &moved)?;
        let result = (|| {
            let mut fresh = self.begin_with_id(id, envelope)?;
            let mut old = File::open(&moved)?;
            old.seek(SeekFrom::Start(header_len))?;
            let mut old = io::BufReader::with_capacity(64 * 1024, old.take(content_len));
            let mut pos = 0u64;
            let copy_to = |old: &mut io::BufReader<io::Take<File>>,
                           fresh: &mut Incoming,
                           pos: &mut u64,
                           end: u64,
                           keep: bool|
             -> io::Result<()> {
                let mut buf = [0u8; 16 * 1024];
                while *pos < end {
                    let want = usize::try_from(end - *pos)
                        .unwrap_or(buf.len())
                        .min(buf.len());
                    let n = old.read(&mut buf[..want])?;
                    if n == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "queue file shorter than its content",
                        ));
                    }
                    if keep {
                        fresh.write(&buf[..n])?;
                    }
                    *pos += n as u64;
                }
                Ok(())
            };
            copy_to(&mut old, &mut fresh, &mut pos, at.min(content_len), true)?;
            fresh.write(insert)?;
            for range in drop {
                let start = range.start.clamp(pos, content_len);
                copy_to(&mut old, &mut fresh, &mut pos, start, true)?;
                copy_to(
                    &mut old,
                    &mut fresh,
                    &mut pos,
                    range.end.min(content_len),
                    false,
                )?;
            }
            copy_to(&mut old, &mut fresh, &mut pos, content_len, true)?;
            Ok(fresh)
        })();
        let _ = fs::remove_file(&moved);
        result
    }

    /// Writes a whole message at once (bounces).
    pub fn enqueue(&self, id: String, envelope: &Envelope, content: &[u8]) -> io::Result<String> {
        if self.contains(&id) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("queue id {id} is taken"),
            ));
        }
        let mut incoming = self.begin_with_id(id, envelope)?;
        incoming.write(content)?;
        self.commit(incoming)
    }

    /// Reads and checks a message: its envelope and content (the whole file, checksum
    /// verified).
    pub fn read(&self, id: &str) -> io::Result<(Envelope, Vec<u8>)> {
        let bytes = fs::read(self.msg_path(id))?;
        parse_message(bytes).map_err(|why| io::Error::new(io::ErrorKind::InvalidData, why))
    }

    /// Reads the envelope of a message without its content: the text header and the
    /// trailer (a torn file, without its complete-marker, is an error). The checksum over
    /// the whole file is checked by [`QueueStore::read`], at delivery.
    pub fn read_envelope(&self, id: &str) -> io::Result<Envelope> {
        let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_owned());
        let mut file = File::open(self.msg_path(id))?;
        let size = file.metadata()?.len();
        let body_end = size
            .checked_sub(TRAILER_LEN as u64)
            .ok_or_else(|| invalid("shorter than the trailer"))?;
        let mut trailer = [0u8; TRAILER_LEN];
        file.seek(SeekFrom::Start(body_end))?;
        file.read_exact(&mut trailer)?;
        let (len, _) = parse_trailer(&trailer).map_err(|why| invalid(&why))?;
        let header_end = body_end
            .checked_sub(len)
            .ok_or_else(|| invalid("length larger than the file"))?;
        if header_end > MAX_HEADER {
            return Err(invalid("envelope too large"));
        }
        let mut header = vec![0u8; header_end as usize];
        file.seek(SeekFrom::Start(0))?;
        file.read_exact(&mut header)?;
        if !header.starts_with(MAGIC.as_bytes()) {
            return Err(invalid("not a queue file"));
        }
        let header = std::str::from_utf8(&header).map_err(|_| invalid("header is not text"))?;
        parse_envelope(header).map_err(|why| invalid(&why))
    }

    /// What a delivery attempt needs, read in one go: `None` when the message is held;
    /// else its envelope, its progress, and its content (checksum verified) when the file
    /// is small enough to read whole ([`MEMORY_MESSAGE`]); a larger one is read by
    /// [`QueueStore::read`] when a part needs it.
    pub fn load(&self, id: &str) -> io::Result<Option<Loaded>> {
        if self.is_held(id) {
            return Ok(None);
        }
        let size = fs::metadata(self.msg_path(id))?.len();
        let (envelope, content) = if size <= MEMORY_MESSAGE as u64 {
            let (envelope, content) = self.read(id)?;
            (envelope, Some(content))
        } else {
            (self.read_envelope(id)?, None)
        };
        let state = self.read_state(id, envelope.recipients.len())?;
        Ok(Some((envelope, state, content)))
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
        if state.delay_notified {
            text.push_str("delay-notified\n");
        }
        for i in &state.success_notified {
            let _ = writeln!(text, "success-notified {i}");
        }
        for rcpt in &state.recipients {
            match rcpt {
                RcptState::Pending(None) => text.push_str("pending\n"),
                RcptState::Pending(Some(why)) => {
                    let _ = writeln!(text, "pending {}", clean(why));
                }
                RcptState::Delivered => text.push_str("delivered\n"),
                RcptState::Failed(failure) => {
                    let _ = writeln!(text, "failed {}", clean(&failure.to_string()));
                }
            }
        }
        let _ = writeln!(text, "end {:016x}", fnv(text.as_bytes()));
        let tmp = self.dir.join("tmp").join(format!("{id}.state"));
        let mut file = create_private(&tmp)?;
        file.write_all(text.as_bytes())?;
        drop(file);
        // The new state is durable before it replaces the old one.
        self.syncer.barrier_blocking()?;
        fs::rename(&tmp, self.state_path(id))?;
        self.syncer.barrier_blocking()
    }

    /// Removes a finished message (with its state, hold marker and history).
    pub fn remove(&self, id: &str) -> io::Result<()> {
        fs::remove_file(self.msg_path(id))?;
        for path in [
            self.state_path(id),
            self.hold_path(id),
            self.history_path(id),
        ] {
            match fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        self.syncer.barrier_blocking()
    }

    // --- Administration (issue 14): hold markers, history, listing. ---

    fn hold_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.hold"))
    }

    fn history_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.history"))
    }

    /// Is this message held (not attempted until released)?
    pub fn is_held(&self, id: &str) -> bool {
        self.hold_path(id).exists()
    }

    /// Holds a queued message: an empty `<id>.hold` file, made durable, so the hold
    /// survives a restart. `NotFound` when no such message is queued.
    pub fn hold(&self, id: &str) -> io::Result<()> {
        if !self.contains(id) {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such message"));
        }
        create_private(&self.hold_path(id))?;
        self.syncer.barrier_blocking()
    }

    /// Releases a held message; `false` when it was not held.
    pub fn release(&self, id: &str) -> io::Result<bool> {
        match fs::remove_file(self.hold_path(id)) {
            Ok(()) => {
                self.syncer.barrier_blocking()?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Appends lines to the delivery history of a message (`<id>.history`, for
    /// `queue show`; not fsync'd, it is a diagnostic). Stops growing at 256 KiB.
    pub fn append_history(&self, id: &str, lines: &str) -> io::Result<()> {
        if !self.contains(id) {
            return Ok(());
        }
        let path = self.history_path(id);
        if fs::metadata(&path).is_ok_and(|m| m.len() > 256 * 1024) {
            return Ok(());
        }
        let mut file = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(clean_lines(lines).as_bytes())
    }

    /// The delivery history of a message (empty when it has none).
    pub fn read_history(&self, id: &str) -> io::Result<String> {
        match fs::read(self.history_path(id)) {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(e),
        }
    }

    /// The ids of the queued messages, sorted.
    pub fn ids(&self) -> io::Result<Vec<String>> {
        let mut ids: Vec<String> = fs::read_dir(&self.dir)?
            .filter_map(|item| item.ok()?.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".msg").map(str::to_owned))
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// The size of a queued message's file in octets, and when it was written.
    pub fn file_info(&self, id: &str) -> io::Result<(u64, SystemTime)> {
        let meta = fs::metadata(self.msg_path(id))?;
        Ok((meta.len(), meta.modified().unwrap_or(UNIX_EPOCH)))
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
        self.syncer.barrier_blocking()
    }

    /// Everything queued, after a start. Corrupt messages are moved aside and reported in
    /// the second list; state files without a message are removed.
    #[cfg(test)]
    pub fn scan(&self) -> io::Result<Scan> {
        let mut found = Vec::new();
        let mut corrupt = Vec::new();
        self.scan_each(|q| found.push(q), |id, why| corrupt.push((id, why)))?;
        Ok((found, corrupt))
    }

    /// Like [`QueueStore::scan`], handing each message to `found` (and each corrupt one,
    /// moved aside, to `corrupt`) as it is read. Reads envelopes and states only.
    pub fn scan_each(
        &self,
        mut found: impl FnMut(Queued),
        mut corrupt: impl FnMut(String, String),
    ) -> io::Result<()> {
        let mut names: Vec<String> = fs::read_dir(&self.dir)?
            .filter_map(|item| item.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        let messages: HashSet<&str> = names
            .iter()
            .filter_map(|n| n.strip_suffix(".msg"))
            .collect();
        for name in &names {
            if let Some(id) = name
                .strip_suffix(".state")
                .or_else(|| name.strip_suffix(".hold"))
                .or_else(|| name.strip_suffix(".history"))
            {
                if !messages.contains(id) {
                    let _ = fs::remove_file(self.dir.join(name));
                }
                continue;
            }
            let Some(id) = name.strip_suffix(".msg") else {
                continue;
            };
            let loaded = self.read_envelope(id).and_then(|envelope| {
                let state = self.read_state(id, envelope.recipients.len())?;
                Ok(Queued {
                    id: id.to_owned(),
                    state,
                })
            });
            match loaded {
                Ok(queued) => found(queued),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    self.quarantine(id)?;
                    corrupt(id.to_owned(), e.to_string());
                }
            }
        }
        Ok(())
    }
}

impl Incoming {
    /// The queue id this message will have.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Appends message bytes: in memory while the message is small and the budget allows,
    /// else to its file in `tmp/` (created, with everything so far, at the first chunk
    /// that does not fit).
    pub fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        if let Body::Memory(content) = &mut self.body {
            if content.len() + chunk.len() <= MEMORY_MESSAGE && reserve_memory(chunk.len()) {
                content.extend_from_slice(chunk);
                self.content_len += chunk.len() as u64;
                return Ok(());
            }
            self.spill()?;
        }
        match &mut self.body {
            Body::File(file, hash) => {
                file.write_all(chunk)?;
                hash.update(chunk);
                self.content_len += chunk.len() as u64;
                Ok(())
            }
            _ => Err(io::Error::other("message already failed")),
        }
    }

    /// Moves the content from memory to the file in `tmp/`.
    fn spill(&mut self) -> io::Result<()> {
        let Body::Memory(content) = std::mem::replace(&mut self.body, Body::Gone) else {
            return Ok(());
        };
        release_memory(content.len());
        let file = create_new_private(&self.tmp)?;
        let mut file = BufWriter::with_capacity(64 * 1024, file);
        let mut hash = Fnv::new();
        for part in [&self.header[..], &content[..]] {
            file.write_all(part)?;
            hash.update(part);
        }
        self.body = Body::File(file, hash);
        Ok(())
    }

    /// Octets of content so far.
    pub fn len(&self) -> u64 {
        self.content_len
    }

    /// Drops the partial message.
    pub fn abort(self) {
        if matches!(self.body, Body::File(..)) {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// The last line of a queue file: content length and checksum of everything before it.
fn trailer(content_len: u64, hash: Fnv) -> String {
    let trailer = format!("\nend {content_len:020} {:016x}\n", hash.0);
    debug_assert_eq!(trailer.len(), TRAILER_LEN);
    trailer
}

/// Creates a file that must not exist yet, 0600.
fn create_new_private(path: &Path) -> io::Result<File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// `content` with `insert` put in at `at` and the sorted `drop` ranges (at or after `at`)
/// left out.
fn edited(content: &[u8], at: u64, insert: &[u8], drop: &[std::ops::Range<u64>]) -> Vec<u8> {
    let len = content.len();
    let offset = |v: u64| usize::try_from(v).unwrap_or(len).min(len);
    let at = offset(at);
    let mut out = Vec::with_capacity(len + insert.len());
    out.extend_from_slice(&content[..at]);
    out.extend_from_slice(insert);
    let mut pos = at;
    for range in drop {
        let start = offset(range.start).max(pos);
        out.extend_from_slice(&content[pos..start]);
        pos = offset(range.end).max(start);
    }
    out.extend_from_slice(&content[pos..]);
    out
}

/// The content length and checksum from a trailer.
fn parse_trailer(trailer: &[u8]) -> Result<(u64, u64), String> {
    let trailer = std::str::from_utf8(trailer).map_err(|_| "trailer is not text")?;
    let fields: Vec<&str> = trailer.trim().split(' ').collect();
    let (Some(&"end"), Some(len), Some(sum)) = (fields.first(), fields.get(1), fields.get(2))
    else {
        return Err("no complete-marker: the file is torn".into());
    };
    let len = len.parse().map_err(|_| "bad length in trailer")?;
    let sum = u64::from_str_radix(sum, 16).map_err(|_| "bad checksum in trailer")?;
    Ok((len, sum))
}

fn parse_message(mut bytes: Vec<u8>) -> Result<(Envelope, Vec<u8>), String> {
    let body_end = bytes
        .len()
        .checked_sub(TRAILER_LEN)
        .ok_or("shorter than the trailer")?;
    let (len, sum) = parse_trailer(bytes.get(body_end..).unwrap_or_default())?;
    if fnv(bytes.get(..body_end).unwrap_or_default()) != sum {
        return Err("checksum mismatch".into());
    }
    if !bytes.starts_with(MAGIC.as_bytes()) {
        return Err("not a queue file".into());
    }
    let header_end = usize::try_from(len)
        .ok()
        .and_then(|len| body_end.checked_sub(len))
        .ok_or("length larger than the file")?;
    let header = std::str::from_utf8(bytes.get(..header_end).unwrap_or_default())
        .map_err(|_| "header is not text")?;
    let envelope = parse_envelope(header)?;
    bytes.truncate(body_end);
    bytes.drain(..header_end);
    Ok((envelope, bytes))
}

/// The envelope from the text header (starting with the magic line).
fn parse_envelope(header: &str) -> Result<Envelope, String> {
    let mut envelope = Envelope::default();
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
            "ret" => {
                envelope.ret = Some(match value {
                    "FULL" => Ret::Full,
                    "HDRS" => Ret::Hdrs,
                    _ => return Err(format!("bad ret {value:?}")),
                })
            }
            "envid" => envelope.envid = Some(value.to_owned()),
            "notify" | "orcpt" => {
                let i = envelope
                    .recipients
                    .len()
                    .checked_sub(1)
                    .ok_or("DSN parameters before any recipient")?;
                envelope.rcpt_dsn.resize(i + 1, RcptDsn::default());
                let dsn = envelope.rcpt_dsn.get_mut(i).ok_or("bad recipient index")?;
                if key == "notify" {
                    dsn.notify = Some(parse_notify(value)?);
                } else {
                    let (kind, address) = value.split_once(';').ok_or("bad orcpt")?;
                    dsn.orcpt = Some((kind.to_owned(), address.to_owned()));
                }
            }
            "data" => break,
            _ => return Err(format!("unknown header line {key:?}")),
        }
    }
    if !header.ends_with("data\n") || !saw_from || envelope.recipients.is_empty() {
        return Err("incomplete envelope".into());
    }
    Ok(envelope)
}

fn ret_word(ret: Ret) -> &'static str {
    match ret {
        Ret::Full => "FULL",
        Ret::Hdrs => "HDRS",
    }
}

/// `NEVER` or a comma-separated subset of `SUCCESS,FAILURE,DELAY`.
fn notify_words(notify: Notify) -> String {
    match notify {
        Notify::Never => "NEVER".into(),
        Notify::On {
            success,
            failure,
            delay,
        } => [(success, "SUCCESS"), (failure, "FAILURE"), (delay, "DELAY")]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, w)| *w)
            .collect::<Vec<_>>()
            .join(","),
    }
}

fn parse_notify(value: &str) -> Result<Notify, String> {
    if value == "NEVER" {
        return Ok(Notify::Never);
    }
    let (mut success, mut failure, mut delay) = (false, false, false);
    for word in value.split(',') {
        match word {
            "SUCCESS" => success = true,
            "FAILURE" => failure = true,
            "DELAY" => delay = true,
            _ => return Err(format!("bad notify {value:?}")),
        }
    }
    Ok(Notify::On {
        success,
        failure,
        delay,
    })
}

/// One word of printable ASCII (no space or control character) for a header line.
fn clean_word(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
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
    let mut state = State::new(0);
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
            "failed" => state
                .recipients
                .push(RcptState::Failed(Failure::parse(value))),
            "delay-notified" => state.delay_notified = true,
            "success-notified" => state
                .success_notified
                .push(value.parse().map_err(|_| "bad success-notified")?),
            _ => return Err(format!("unknown state line {key:?}")),
        }
    }
    if state.recipients.len() != recipients {
        return Err("state does not match the envelope".into());
    }
    Ok(state)
}

/// Keeps each line free of control characters, ending every line with `\n`.
fn clean_lines(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(&clean(line));
        out.push('\n');
    }
    out
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
            ..Envelope::default()
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
    fn a_rewrite_inserts_and_drops_content_under_the_same_id() {
        let (_dir, store) = store();
        let mut incoming = store.begin(&envelope()).unwrap();
        let id = incoming.id().to_owned();
        incoming.write(b"Received: x\r\n").unwrap();
        incoming
            .write(b"A: 1\r\nForged: 2\r\nB: 3\r\n\r\nbody\r\n")
            .unwrap();
        let forged = 19..30; // "Forged: 2\r\n" after "Received: x\r\nA: 1\r\n"
        let rewritten = store
            .rewrite(incoming, &envelope(), 13, b"New: 0\r\n", &[forged])
            .unwrap();
        assert_eq!(rewritten.id(), id);
        let committed = store.commit(rewritten).unwrap();
        let (env, content) = store.read(&committed).unwrap();
        assert_eq!(env, envelope());
        assert_eq!(
            String::from_utf8(content).unwrap(),
            "Received: x\r\nNew: 0\r\nA: 1\r\nB: 3\r\n\r\nbody\r\n"
        );
        assert_eq!(fs::read_dir(store.dir.join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn a_large_message_goes_to_a_file_and_edits_the_same_as_a_small_one() {
        let (_dir, store) = store();
        let body = "x".repeat(99) + "\r\n";
        let big: String = body.repeat(MEMORY_MESSAGE / body.len() + 10);
        let mut small_and_big = Vec::new();
        for content in [body.clone(), big] {
            let mut incoming = store.begin(&envelope()).unwrap();
            incoming.write(b"Received: x\r\nForged: 2\r\n\r\n").unwrap();
            // Written in chunks like DATA: the big one crosses the memory limit midway.
            for chunk in content.as_bytes().chunks(16 * 1024) {
                incoming.write(chunk).unwrap();
            }
            let on_disk = store.dir.join("tmp").join(format!("{}.msg", incoming.id()));
            assert_eq!(on_disk.exists(), content.len() > MEMORY_MESSAGE);
            let forged = 13..24; // "Forged: 2\r\n"
            let rewritten = store
                .rewrite(incoming, &envelope(), 13, b"New: 0\r\n", &[forged])
                .unwrap();
            let id = store.commit(rewritten).unwrap();
            let (_, stored) = store.read(&id).unwrap();
            let expected = format!("Received: x\r\nNew: 0\r\n\r\n{content}");
            assert!(stored == expected.as_bytes(), "content of {id} differs");
            small_and_big.push(id);
        }
        assert_eq!(fs::read_dir(store.dir.join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn failures_keep_their_fields_through_the_state_file() {
        for failure in [
            Failure::new("5.1.1", Some("mx.beta.test"), "550 5.1.1 no such user here"),
            Failure::new("4.4.7", None, "delivery time expired; last error: 421 busy"),
            Failure::new("5.3.0", None, ""),
        ] {
            let text = failure.to_string();
            assert_eq!(Failure::parse(&text), failure, "{text}");
        }
    }

    #[test]
    fn concurrent_commits_share_their_flushes() {
        let (_dir, store) = store();
        let store = Arc::new(store);
        let before = store.syncer.barriers();
        let start = Arc::new(std::sync::Barrier::new(16));
        let writers: Vec<_> = (0..16)
            .map(|i| {
                let (store, start) = (store.clone(), start.clone());
                std::thread::spawn(move || {
                    let mut incoming = store.begin(&envelope()).unwrap();
                    incoming
                        .write(format!("Subject: {i}\r\n\r\n").as_bytes())
                        .unwrap();
                    start.wait();
                    store.commit(incoming).unwrap()
                })
            })
            .collect();
        let ids: Vec<String> = writers.into_iter().map(|w| w.join().unwrap()).collect();
        for (i, id) in ids.iter().enumerate() {
            let (_, content) = store.read(id).unwrap();
            assert_eq!(content, format!("Subject: {i}\r\n\r\n").as_bytes());
        }
        let flushes = store.syncer.barriers() - before;
        assert!(
            (1..16).contains(&flushes),
            "16 commits at once took {flushes} flushes"
        );
    }

    #[test]
    fn dsn_parameters_and_notices_round_trip() {
        let (_dir, store) = store();
        let mut env = envelope();
        env.ret = Some(Ret::Hdrs);
        env.envid = Some("QQ+2Bid".into());
        env.rcpt_dsn = vec![
            RcptDsn::default(),
            RcptDsn {
                notify: Some(Notify::On {
                    success: true,
                    failure: true,
                    delay: false,
                }),
                orcpt: Some(("rfc822".into(), "carol@alpha.test".into())),
            },
        ];
        let id = store.enqueue(store.new_id(), &env, b"x\r\n").unwrap();
        let (back, _) = store.read(&id).unwrap();
        assert_eq!(back, env);
        assert_eq!(back.dsn(1), env.rcpt_dsn[1]);
        assert!(back.wants(0, Report::Failure) && back.wants(0, Report::Delay));
        assert!(!back.wants(0, Report::Success));
        assert!(back.wants(1, Report::Success) && !back.wants(1, Report::Delay));
        let mut state = State::new(2);
        state.delay_notified = true;
        state.success_notified = vec![1];
        store.write_state(&id, &state).unwrap();
        assert_eq!(store.read_state(&id, 2).unwrap(), state);
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
        let in_body = bytes.len() - TRAILER_LEN - 3;
        bytes[in_body] ^= 1;
        fs::write(qdir.join(format!("{flipped}.msg")), &bytes).unwrap();
        fs::write(qdir.join("0000000000000000.msg"), b"").unwrap();
        // The scan reads envelopes and trailers only: torn and empty files are found...
        let (found, corrupt) = store.scan().unwrap();
        let mut ids: Vec<&str> = found.iter().map(|q| q.id.as_str()).collect();
        ids.sort();
        let mut expected = [good.as_str(), flipped.as_str()];
        expected.sort();
        assert_eq!(ids, expected);
        assert_eq!(corrupt.len(), 2);
        assert!(qdir.join("corrupt").join(format!("{torn}.msg")).is_file());
        assert!(!qdir.join(format!("{torn}.msg")).exists());
        // ...and the damaged content when it is read for delivery.
        let err = store.read(&flipped).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(store.read(&good).is_ok());
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
                RcptState::Failed(Failure::new("5.1.1", Some("mx.example"), "550 unknown")),
            ],
            ..State::new(0)
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
    fn a_hold_and_the_history_live_and_go_with_the_message() {
        let (dir, store) = store();
        let id = store.enqueue(store.new_id(), &envelope(), b"x").unwrap();
        assert!(!store.is_held(&id));
        store.hold(&id).unwrap();
        assert!(store.is_held(&id));
        // A new store (a restart) still sees the hold.
        let again = QueueStore::open(dir.path().join("queue")).unwrap();
        assert!(again.is_held(&id));
        assert!(store.release(&id).unwrap());
        assert!(!store.release(&id).unwrap());
        assert_eq!(
            store.hold("nothing").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        store
            .append_history(&id, "1 attempt 1 a deferred x\u{1b}y\n")
            .unwrap();
        store
            .append_history(&id, "2 attempt 2 a delivered")
            .unwrap();
        assert_eq!(
            store.read_history(&id).unwrap(),
            "1 attempt 1 a deferred x y\n2 attempt 2 a delivered\n"
        );
        assert_eq!(store.ids().unwrap(), vec![id.clone()]);
        store.hold(&id).unwrap();
        store.remove(&id).unwrap();
        assert_eq!(fs::read_dir(dir.path().join("queue")).unwrap().count(), 2);
        // Without its message, a history is not started again.
        store.append_history(&id, "3 late").unwrap();
        assert_eq!(store.read_history(&id).unwrap(), "");
    }

    #[test]
    fn an_existing_queue_file_is_never_overwritten() {
        let (_dir, store) = store();
        let id = store
            .enqueue(store.new_id(), &envelope(), b"first")
            .unwrap();
        let err = store
            .enqueue(id.clone(), &envelope(), b"second")
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        // Also when the id is taken between begin and commit.
        let other = store.new_id();
        let incoming = store.begin_with_id(other.clone(), &envelope()).unwrap();
        fs::copy(store.msg_path(&id), store.msg_path(&other)).unwrap();
        let err = store.commit(incoming).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(store.read(&id).unwrap().1, b"first");
        assert_eq!(store.read(&other).unwrap().1, b"first");
    }

    #[test]
    fn ids_differ_across_restarts_in_the_same_microsecond() {
        let (dir, a) = store();
        let b = QueueStore::open(dir.path().join("queue")).unwrap();
        // Same counter value, and (very likely) the same clock reading: still distinct.
        let ids: std::collections::HashSet<String> =
            (0..200).flat_map(|_| [a.new_id(), b.new_id()]).collect();
        assert_eq!(ids.len(), 400);
    }

    #[test]
    fn files_are_private_and_directories_owner_only() {
        let (dir, store) = store();
        let id = store.enqueue(store.new_id(), &envelope(), b"x").unwrap();
        store.write_state(&id, &State::new(2)).unwrap();
        let mode = |p: PathBuf| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let qdir = dir.path().join("queue");
        assert_eq!(mode(qdir.join(format!("{id}.msg"))), 0o600);
        assert_eq!(mode(qdir.join(format!("{id}.state"))), 0o600);
        for sub in ["", "tmp", "corrupt"] {
            assert_eq!(mode(qdir.join(sub)), 0o700, "{sub}");
        }
    }

    #[test]
    fn free_space_is_measured() {
        let dir = tempfile::tempdir().unwrap();
        assert!(free_bytes(dir.path()).unwrap() > 0);
    }
}
