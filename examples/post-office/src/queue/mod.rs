//! The durable queue under `data_dir/queue`.
//!
//! Each accepted message is an immutable *queue-file image*: a short text header with the
//! envelope, the message, and a fixed-size trailer with the content length and a CRC-32
//! checksum of everything before it (files of format 1, with an FNV-1a checksum, are still
//! read). A message of up to 256 KiB is held in memory while it
//! arrives (all messages together at most 64 MiB; beyond that, or when larger, it streams to
//! its file in `tmp/`), so the fields added at the end of DATA cost no second copy. At the
//! commit a message held in memory is appended to the [`journal`], a larger one is linked
//! into place as its own file `<id>.msg`; either is made durable by a group-commit barrier
//! ([`crate::durable`]) shared with every other session committing at the same time, before
//! the SMTP 250 is sent. A journal message that outlives its first attempt moves to its own
//! file before its state is written, so the retry queue is one file per message. Delivery progress (attempts, the next attempt time,
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

mod format;
mod incoming;
mod journal;
#[cfg(test)]
mod tests;

use format::*;
pub use incoming::Incoming;
use incoming::*;

use crate::durable::Syncer;
use crate::maildir::{create_dir_durable, create_private};

/// The largest envelope header the scan reads (1,000 recipients of 256 octets fit).
const MAX_HEADER: u64 = 512 * 1024;

/// The first line of a queue file: format 2 (CRC-32 in the trailer).
const MAGIC: &str = "postwerk-queue 2\n";
/// Format 1 (FNV-1a in the trailer), still read.
const MAGIC_V1: &str = "postwerk-queue 1\n";
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
pub type Loaded = (Envelope, State, Option<bytes::Bytes>);

/// Where [`QueueStore::place`] put a message.
enum Placed {
    /// Linked into place as its own file: a barrier makes it durable.
    File(String),
    /// Its queue-file image, for the journal's writer (and whether the id is fresh).
    Journal(String, Vec<u8>, bool),
}

/// The queue directory.
#[derive(Debug)]
pub struct QueueStore {
    dir: PathBuf,
    counter: AtomicU64,
    /// Group commit: the barrier every durable step of the queue waits for.
    syncer: Syncer,
    /// Where messages received in memory are committed ([`journal`]).
    journal: journal::Journal,
    /// The last measure of free space: when, and how much.
    free: std::sync::Mutex<Option<(std::time::Instant, u64)>>,
}

/// How long a measure of free space is used before the next `statvfs`.
const FREE_SPACE_AGE: std::time::Duration = std::time::Duration::from_millis(250);

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
        let journal_dir = dir.join("journal");
        create_dir_durable(&journal_dir)?;
        fs::set_permissions(&journal_dir, fs::Permissions::from_mode(0o700))?;
        let replayed = journal::replay(&journal_dir)?;
        // The live records become per-message files (durable) before their segments go.
        for (id, image) in &replayed.live {
            write_queue_file(&dir, id, image)?;
        }
        syncer.barrier_blocking()?;
        for segment in &replayed.segments {
            fs::remove_file(segment)?;
        }
        syncer.barrier_blocking()?;
        let journal = journal::Journal::start(journal_dir, &replayed)?;
        Ok(QueueStore {
            dir,
            counter: AtomicU64::new(0),
            syncer,
            journal,
            free: std::sync::Mutex::new(None),
        })
    }

    /// Moves a message from the journal to its own file, durably, before something about
    /// it is written that outlives its first attempt (its state, a hold). Nothing happens
    /// for a message that has its file already.
    fn move_to_file(&self, id: &str) -> io::Result<()> {
        let Some(entry) = self.journal.get(id) else {
            return Ok(());
        };
        write_queue_file(&self.dir, id, &entry.read()?)?;
        self.syncer.barrier_blocking()?;
        if !self.journal.done(id)? {
            // Removed while it moved: the file must not bring it back.
            let _ = fs::remove_file(self.msg_path(id));
        }
        Ok(())
    }

    /// A fresh queue id: time in microseconds, a counter and 32 random bits, in hex. The
    /// random part keeps ids apart when the clock steps back or the process restarts
    /// within the same microsecond; the commit still refuses an id that is taken.
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
        let mut last = crate::listen::lock(&self.free);
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
        self.journal.contains(id) || self.msg_path(id).exists()
    }

    /// Starts writing a message with a new id. A fresh id is unique by construction
    /// ([`QueueStore::new_id`]), so it is not looked up here; the commit still refuses
    /// an id that is taken (the journal's writer checks, a link never replaces).
    pub fn begin(&self, envelope: &Envelope) -> io::Result<Incoming> {
        Ok(self.start(self.new_id(), envelope, true))
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
        Ok(self.start(id, envelope, false))
    }

    /// An [`Incoming`] for `id`: the envelope as the queue file's header, in memory.
    fn start(&self, id: String, envelope: &Envelope, fresh: bool) -> Incoming {
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
        let header = header.into_bytes();
        // Most messages fit; larger ones grow the buffer (or move to a file).
        let mut image = Vec::with_capacity(header.len() + 16 * 1024);
        image.extend_from_slice(&header);
        Incoming {
            id,
            tmp,
            header,
            body: Body::Memory(image),
            content_len: 0,
            fresh,
        }
    }

    /// Makes `incoming` durable: trailer, hard link into place (which fails with
    /// `AlreadyExists` instead of replacing a queued message), then a group-commit barrier
    /// shared with every other writer waiting at the same time. After this returns `Ok`,
    /// the message may be acknowledged. Linking before the flush is safe: a file that a
    /// crash tears fails its trailer check and is moved aside, never delivered (and it was
    /// never acknowledged).
    pub fn commit(&self, incoming: Incoming) -> io::Result<String> {
        match self.place(incoming)? {
            Placed::File(id) => {
                self.syncer.barrier_blocking()?;
                Ok(id)
            }
            Placed::Journal(id, image, fresh) => {
                self.journal.commit_blocking(id.clone(), image, fresh)?;
                Ok(id)
            }
        }
    }

    /// Like [`QueueStore::commit`], waiting for the barrier without holding a thread: the
    /// file work runs on the blocking pool, the wait does not.
    pub async fn commit_async(self: &Arc<Self>, mut incoming: Incoming) -> io::Result<String> {
        // A message in memory goes to the journal's writer without a blocking-pool trip.
        if let Some(image) = incoming.image() {
            let id = std::mem::take(&mut incoming.id);
            return match self.journal.commit(id.clone(), image, incoming.fresh).await {
                Ok(result) => result.map(|()| id),
                Err(_) => Err(io::Error::other("the queue journal writer stopped")),
            };
        }
        let store = self.clone();
        let placed = tokio::task::spawn_blocking(move || store.place(incoming))
            .await
            .map_err(io::Error::other)??;
        match placed {
            Placed::File(id) => {
                self.syncer.barrier().await?;
                Ok(id)
            }
            Placed::Journal(id, image, fresh) => {
                self.journal
                    .commit(id.clone(), image, fresh)
                    .await
                    .map_err(io::Error::other)??;
                Ok(id)
            }
        }
    }

    /// A message in memory becomes its queue-file image (for the journal); a message in
    /// its file in `tmp/` gets its trailer and is linked into place (not yet durable).
    fn place(&self, mut incoming: Incoming) -> io::Result<Placed> {
        if let Some(image) = incoming.image() {
            let id = std::mem::take(&mut incoming.id);
            return Ok(Placed::Journal(id, image, incoming.fresh));
        }
        let result = (|| {
            let (file, hash) = match std::mem::replace(&mut incoming.body, Body::Gone) {
                Body::File(file, hash) => (file, hash),
                _ => return Err(io::Error::other("message already failed")),
            };
            let mut file = file.into_inner().map_err(|e| e.into_error())?;
            file.write_all(trailer(incoming.content_len, hash).as_bytes())?;
            drop(file);
            fs::hard_link(&incoming.tmp, self.msg_path(&incoming.id))
        })();
        let _ = fs::remove_file(&incoming.tmp);
        result.map(|()| Placed::File(std::mem::take(&mut incoming.id)))
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
            Body::Memory(image) => {
                let header = incoming.header.len();
                let fresh = edited(
                    &incoming.header,
                    image.get(header..).unwrap_or_default(),
                    at,
                    insert,
                    drop,
                );
                release_memory(incoming.content_len as usize);
                incoming.content_len = (fresh.len() - header) as u64;
                IN_MEMORY.fetch_add(incoming.content_len as usize, Ordering::AcqRel);
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
        let bytes = match self.journal.get(id) {
            Some(entry) => entry.read()?,
            None => fs::read(self.msg_path(id))?,
        };
        parse_message(bytes).map_err(|why| io::Error::new(io::ErrorKind::InvalidData, why))
    }

    /// Reads the envelope of a message without its content: the text header and the
    /// trailer (a torn file, without its complete-marker, is an error). The checksum over
    /// the whole file is checked by [`QueueStore::read`], at delivery.
    pub fn read_envelope(&self, id: &str) -> io::Result<Envelope> {
        let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_owned());
        if self.journal.contains(id) {
            return self.read(id).map(|(envelope, _)| envelope);
        }
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
        if !has_magic(&header) {
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
        if let Some(entry) = self.journal.get(id) {
            // Never held and without a state file: those move it to its own file.
            let (envelope, content) = if entry.len() <= MEMORY_MESSAGE as u64 {
                let (envelope, content) = self.read(id)?;
                (envelope, Some(bytes::Bytes::from(content)))
            } else {
                (self.read_envelope(id)?, None)
            };
            let state = State::new(envelope.recipients.len());
            return Ok(Some((envelope, state, content)));
        }
        if self.is_held(id) {
            return Ok(None);
        }
        let size = fs::metadata(self.msg_path(id))?.len();
        let (envelope, content) = if size <= MEMORY_MESSAGE as u64 {
            let (envelope, content) = self.read(id)?;
            (envelope, Some(bytes::Bytes::from(content)))
        } else {
            (self.read_envelope(id)?, None)
        };
        let state = self.read_state(id, envelope.recipients.len())?;
        Ok(Some((envelope, state, content)))
    }

    /// What a delivery attempt needs, when it can be had without the file system: a
    /// message in the journal whose image is still in memory (as it is right after its
    /// commit). `None` otherwise; then [`QueueStore::load`] it.
    pub fn load_cached(&self, id: &str) -> Option<io::Result<Loaded>> {
        let entry = self.journal.get(id)?;
        let image = entry.cached()?;
        // Our own memory: the header is parsed, the checksum needs no second look.
        Some(
            parse_image(image)
                .map(|(envelope, content)| {
                    let state = State::new(envelope.recipients.len());
                    (envelope, state, Some(image.slice(content)))
                })
                .map_err(|why| io::Error::new(io::ErrorKind::InvalidData, why)),
        )
    }

    /// Removes a finished message that is in the journal and has nothing on the file
    /// system (no history): one done line, no blocking-pool trip. `false` when the
    /// message needs [`QueueStore::remove`].
    pub fn remove_cached(&self, id: &str) -> io::Result<bool> {
        match self.journal.get(id) {
            Some(entry) if !entry.history => self.journal.done(id),
            _ => Ok(false),
        }
    }

    /// Reads the progress of a message; a message without a state file was never tried.
    pub fn read_state(&self, id: &str, recipients: usize) -> io::Result<State> {
        if self.journal.contains(id) {
            // A message with a state moves to its own file first.
            return Ok(State::new(recipients));
        }
        match fs::read_to_string(self.state_path(id)) {
            Ok(text) => parse_state(&text, recipients)
                .map_err(|why| io::Error::new(io::ErrorKind::InvalidData, why)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(State::new(recipients)),
            Err(e) => Err(e),
        }
    }

    /// Replaces the progress of a message durably (a message in the journal first moves
    /// to its own file).
    pub fn write_state(&self, id: &str, state: &State) -> io::Result<()> {
        self.move_to_file(id)?;
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

    /// Removes a finished message (with its state, hold marker and history). One still
    /// in the journal is marked done there, without a barrier (see [`journal`]).
    pub fn remove(&self, id: &str) -> io::Result<()> {
        if self.journal.done(id)? {
            match fs::remove_file(self.history_path(id)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            }
            return self.syncer.barrier_blocking();
        }
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
        // Holding a message moves it out of the journal first.
        !self.journal.contains(id) && self.hold_path(id).exists()
    }

    /// Holds a queued message: an empty `<id>.hold` file, made durable, so the hold
    /// survives a restart. `NotFound` when no such message is queued.
    pub fn hold(&self, id: &str) -> io::Result<()> {
        if !self.contains(id) {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such message"));
        }
        self.move_to_file(id)?;
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
        self.journal.set_history(id);
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
        ids.extend(self.journal.ids());
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// The size of a queued message's file in octets, and when it was written.
    pub fn file_info(&self, id: &str) -> io::Result<(u64, SystemTime)> {
        if let Some(entry) = self.journal.get(id) {
            return Ok((entry.len(), entry.written));
        }
        let meta = fs::metadata(self.msg_path(id))?;
        Ok((meta.len(), meta.modified().unwrap_or(UNIX_EPOCH)))
    }

    /// Moves a message and its state to `corrupt/`.
    pub fn quarantine(&self, id: &str) -> io::Result<()> {
        if let Some(entry) = self.journal.get(id) {
            let mut file = create_private(&self.dir.join("corrupt").join(format!("{id}.msg")))?;
            file.write_all(&entry.read()?)?;
            self.journal.done(id)?;
        }
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

/// Writes a journal record's `image` as the queue file `<id>.msg` in `dir` (not yet
/// durable): through `tmp/` and a hard link, which never replaces a file; one already
/// there under that id is this message's (moved before a crash or a concurrent move).
fn write_queue_file(dir: &Path, id: &str, image: &[u8]) -> io::Result<()> {
    let tmp = dir.join("tmp").join(format!("{id}.msg"));
    let mut file = create_private(&tmp)?;
    file.write_all(image)?;
    drop(file);
    let linked = fs::hard_link(&tmp, dir.join(format!("{id}.msg")));
    let _ = fs::remove_file(&tmp);
    match linked {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

/// Free bytes available to us on the file system holding `path`.
pub fn free_bytes(path: &Path) -> io::Result<u64> {
    let stat = rustix::fs::statvfs(path)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}
