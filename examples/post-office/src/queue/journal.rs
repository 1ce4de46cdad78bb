//! The queue journal: where messages received in memory are committed.
//!
//! A message that arrived in memory is appended, as one record, to the current *segment*
//! (`queue/journal/<n>.jnl`), a file shared by every session and only ever written at its
//! end (over zeros written ahead, see [`PREWRITE_CHUNK`]); the writer's `fdatasync`, one
//! per batch of commits, makes it durable, and only then is it acknowledged. So a `250` costs
//! no new inode, no link and no unlink: on a busy server most messages are delivered from
//! their record and never get a file of their own. When a message is finished a *done*
//! line is appended (no barrier: losing it after a crash only replays the message, and a
//! local delivery is idempotent by queue id); a segment whose every record is done and
//! that is no longer written is deleted, one unlink for thousands of messages. A message
//! that stays queued (its delivery state is written, or it is held) first *moves* to a
//! per-message file (written, linked, made durable, then marked done here), so everything
//! long-lived is the ordinary one-file-per-message queue.
//!
//! Records: `J <id> <length> <crc>\n` followed by exactly the bytes of a queue file
//! (envelope header, content, trailer with length and checksum); done: `D <id> <crc>\n`
//! (each line carries the CRC-32 of what precedes its last space). The appends are
//! serialised, so the file order is the order in time, and a barrier covers everything
//! written before it started. Hence a record that a crash tore (its line, its length or its
//! checksum wrong) was never acknowledged, and neither was anything after it in that
//! segment: replay stops at the first bad record. It never searches for the next record,
//! so a message whose body imitates a record cannot be taken for one.
//!
//! At start the live records (those without a done line in any segment) become
//! per-message files, the segments are deleted, and a fresh segment is begun.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::durable::{Batches, clone_error};
use crate::listen::lock;

/// A segment is no longer appended to once it holds this many octets.
const SEGMENT_LIMIT: u64 = 32 * 1024 * 1024;

/// The writer keeps at least [`PREWRITE_LOW`] octets of zeros written and made durable
/// beyond the end of the current segment, adding [`PREWRITE_CHUNK`] at a time with the
/// batch that crosses the mark. A commit then overwrites blocks the file already has: its
/// `fdatasync` writes data and flushes the device, but changes no size and no extent, so it
/// needs no file-system journal commit (which would queue behind every other metadata
/// change on the file system, such as the Maildir's links). Databases pre-write their logs
/// for the same reason. Replay reads the zeros as the end of the segment (no record line
/// there).
const PREWRITE_CHUNK: u64 = 2 * 1024 * 1024;
pub(super) const PREWRITE_LOW: u64 = 1024 * 1024;

/// The longest record line (`J <id> <length> <crc>\n`, `D <id> <crc>\n`) replay accepts.
const MAX_RECORD_LINE: usize = 256;

/// Where a journal-resident message is.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    seq: u64,
    file: Arc<File>,
    /// Offset and length of the queue-file image in the segment.
    offset: u64,
    len: u64,
    /// When it was appended.
    pub(super) written: SystemTime,
    /// The image itself while the cache budget allows (counted in [`CACHED`]).
    image: Option<Bytes>,
    /// A history file was started for it (removing it then needs the file system).
    pub(super) history: bool,
}

impl Entry {
    /// Length of the queue-file image (what its own file would be).
    pub(super) fn len(&self) -> u64 {
        self.len
    }

    /// The image, when it is still in memory.
    pub(super) fn cached(&self) -> Option<&Bytes> {
        self.image.as_ref()
    }

    /// Reads the queue-file image (from memory when cached).
    pub(super) fn read(&self) -> io::Result<Vec<u8>> {
        if let Some(image) = &self.image {
            return Ok(image.to_vec());
        }
        let len = usize::try_from(self.len).map_err(io::Error::other)?;
        let mut bytes = vec![0; len];
        self.file.read_exact_at(&mut bytes, self.offset)?;
        Ok(bytes)
    }
}

#[derive(Debug)]
struct Segment {
    seq: u64,
    /// Written at its file position (not in append mode: the tail is pre-written zeros).
    file: Arc<File>,
    /// The end of the records (the file position).
    len: u64,
    /// Zeros are written up to here.
    prewritten: u64,
}

#[derive(Debug)]
struct State {
    current: Segment,
    /// Live records per segment (the current one included).
    live: HashMap<u64, usize>,
    index: HashMap<String, Entry>,
    /// A segment was created since the directory was last synced.
    dir_dirty: bool,
}

/// The journal: its directory, the current segment, the index of live records, and the
/// writer thread that makes commits durable in batches; see the [module docs](self).
#[derive(Debug)]
pub(super) struct Journal {
    shared: Arc<Shared>,
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.shared.commits.close();
    }
}

/// A live record found at start: the queue id and its queue-file image.
pub(super) type Recovered = (String, Vec<u8>);

/// What replay found: the live records, and the segment files to delete once they are
/// safely elsewhere.
pub(super) struct Replay {
    pub(super) live: Vec<Recovered>,
    pub(super) segments: Vec<PathBuf>,
    next_seq: u64,
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:016}.jnl"))
}

/// Reads every segment in `dir`, in order: the records without a done line. A segment is
/// read up to its first bad record.
pub(super) fn replay(dir: &Path) -> io::Result<Replay> {
    let mut seqs: Vec<u64> = fs::read_dir(dir)?
        .filter_map(|item| item.ok()?.file_name().into_string().ok())
        .filter_map(|name| name.strip_suffix(".jnl")?.parse().ok())
        .collect();
    seqs.sort_unstable();
    let mut live = Live::default();
    let mut segments = Vec::new();
    for &seq in &seqs {
        let path = segment_path(dir, seq);
        let bytes = fs::read(&path)?;
        parse_segment(&bytes, &mut live);
        segments.push(path);
    }
    let live = live
        .order
        .into_iter()
        .filter_map(|id| {
            let image = live.images.remove(&id)?;
            Some((id, image))
        })
        .collect();
    Ok(Replay {
        live,
        segments,
        next_seq: seqs.last().map_or(1, |s| s + 1),
    })
}

/// The records live so far in a replay, in the order they were appended.
#[derive(Default)]
struct Live {
    order: Vec<String>,
    images: HashMap<String, Vec<u8>>,
}

/// Replays one segment's records into `live` (a done line removes the record before it),
/// stopping at the first record that is not whole and intact.
fn parse_segment(bytes: &[u8], live: &mut Live) {
    let mut pos = 0;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        let window = &rest[..rest.len().min(MAX_RECORD_LINE)];
        let Some(nl) = memchr::memchr(b'\n', window) else {
            return;
        };
        let Some(line) = std::str::from_utf8(&rest[..nl]).ok().and_then(checked_line) else {
            return;
        };
        let mut words = line.split(' ');
        match (words.next(), words.next(), words.next(), words.next()) {
            (Some("J"), Some(id), Some(len), None) if valid_id(id) => {
                let Ok(len) = len.parse::<usize>() else {
                    return;
                };
                let start = pos + nl + 1;
                let Some(image) = start.checked_add(len).and_then(|end| bytes.get(start..end))
                else {
                    return;
                };
                if super::format::parse_message(image.to_vec()).is_err() {
                    return;
                }
                if live.images.insert(id.to_owned(), image.to_vec()).is_none() {
                    live.order.push(id.to_owned());
                }
                pos = start + len;
            }
            (Some("D"), Some(id), None, None) if valid_id(id) => {
                live.images.remove(id);
                pos += nl + 1;
            }
            _ => return,
        }
    }
}

/// A record line with its CRC-32 appended (`J <id> <length> <crc>`, `D <id> <crc>`): a
/// damaged id or length is caught even where the image's own checksum would not see it
/// (a flipped id would replay a message under another name, or mark another one done).
pub(super) fn line_with_crc(line: &str) -> String {
    format!("{line} {:08x}\n", crc32fast::hash(line.as_bytes()))
}

/// The line without its CRC-32, when the CRC matches.
fn checked_line(line: &str) -> Option<&str> {
    let (body, crc) = line.rsplit_once(' ')?;
    let crc = u32::from_str_radix(crc, 16).ok()?;
    (crc32fast::hash(body.as_bytes()) == crc).then_some(body)
}

/// Queue ids are hex digits (see `QueueStore::new_id`; bounces reuse such ids).
fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn create_segment(dir: &Path, seq: u64) -> io::Result<Segment> {
    // Read too: a message that is not cached is delivered from its record.
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(segment_path(dir, seq))?;
    Ok(Segment {
        seq,
        file: Arc::new(file),
        len: 0,
        prewritten: 0,
    })
}

/// Extends the zeros beyond the end of `segment` when fewer than [`PREWRITE_LOW`] octets
/// are left (see [`PREWRITE_CHUNK`]); the batch's flush makes them durable with it. A
/// failure costs only the speed-up: the next records extend the file instead.
fn prewrite(segment: &mut Segment) {
    if segment.prewritten >= segment.len.saturating_add(PREWRITE_LOW) {
        return;
    }
    let from = segment.prewritten.max(segment.len);
    let to = segment.len.saturating_add(PREWRITE_CHUNK);
    let zeros = vec![0u8; usize::try_from(to - from).unwrap_or(0)];
    if segment.file.write_all_at(&zeros, from).is_ok() {
        segment.prewritten = to;
    }
}

/// Writes all of `slices` (stable Rust has no `write_all_vectored`).
fn write_all_vectored(mut file: &File, mut slices: &mut [io::IoSlice<'_>]) -> io::Result<()> {
    while !slices.is_empty() {
        match file.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => io::IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Octets of queue-file images kept in memory for delivery, over all live records.
static CACHED: AtomicUsize = AtomicUsize::new(0);

/// Live records keep their image in memory up to this total, so that the delivery that
/// follows the commit reads nothing back.
const CACHE_BUDGET: usize = 64 * 1024 * 1024;

/// A commit waiting for the writer: the id, the image, and who to tell.
struct Pending {
    id: String,
    image: Bytes,
    /// Made by `QueueStore::new_id` for this message: no queue file can have it.
    fresh: bool,
    reply: oneshot::Sender<io::Result<()>>,
}

#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    state: Mutex<State>,
    /// [`SEGMENT_LIMIT`], smaller in tests.
    segment_limit: AtomicU64,
    /// Commits waiting for the writer.
    commits: Batches<Pending>,
    /// Batches the writer has made durable (tests).
    batches: AtomicU64,
}

impl Journal {
    /// Starts the journal after [`replay`]: a new, empty segment and the writer thread.
    /// The replayed segments must have been deleted (durably) first.
    pub(super) fn start(dir: PathBuf, replayed: &Replay) -> io::Result<Journal> {
        let current = create_segment(&dir, replayed.next_seq)?;
        let mut live = HashMap::new();
        live.insert(current.seq, 0);
        let shared = Arc::new(Shared {
            dir,
            state: Mutex::new(State {
                current,
                live,
                index: HashMap::new(),
                dir_dirty: true,
            }),
            segment_limit: SEGMENT_LIMIT.into(),
            commits: Batches::default(),
            batches: AtomicU64::new(0),
        });
        let writer = shared.clone();
        std::thread::Builder::new()
            .name("queue-journal".into())
            .spawn(move || writer.run())?;
        Ok(Journal { shared })
    }

    /// Hands a message's queue-file `image` to the writer: the receiver hears `Ok` once
    /// the record is durable (`AlreadyExists` when `id` is queued already). A `fresh` id
    /// (made for this message by `QueueStore::new_id`) is looked up in the journal only,
    /// not in the queue directory.
    pub(super) fn commit(
        &self,
        id: String,
        image: Vec<u8>,
        fresh: bool,
    ) -> oneshot::Receiver<io::Result<()>> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            id,
            image: Bytes::from(image),
            fresh,
            reply,
        };
        if let Err(refused) = self.shared.commits.push(pending) {
            let _ = refused
                .reply
                .send(Err(io::Error::other("the queue journal is closed")));
        }
        answer
    }

    /// [`Journal::commit`] from a blocking context (a plain thread or `spawn_blocking`).
    pub(super) fn commit_blocking(
        &self,
        id: String,
        image: Vec<u8>,
        fresh: bool,
    ) -> io::Result<()> {
        self.commit(id, image, fresh)
            .blocking_recv()
            .unwrap_or_else(|_| Err(io::Error::other("the queue journal writer stopped")))
    }

    /// Batches made durable so far (tests).
    #[cfg(test)]
    pub(super) fn batches(&self) -> u64 {
        self.shared.batches.load(Ordering::Relaxed)
    }

    /// Rotates segments after `limit` octets (tests).
    #[cfg(test)]
    pub(super) fn set_segment_limit(&self, limit: u64) {
        self.shared.segment_limit.store(limit, Ordering::Relaxed);
    }

    /// The segment files on disk (tests).
    #[cfg(test)]
    pub(super) fn segment_files(&self) -> usize {
        fs::read_dir(&self.shared.dir).map_or(0, |d| d.count())
    }

    /// Where `id` is, if it is in the journal.
    pub(super) fn get(&self, id: &str) -> Option<Entry> {
        lock(&self.shared.state).index.get(id).cloned()
    }

    /// Is `id` in the journal?
    pub(super) fn contains(&self, id: &str) -> bool {
        lock(&self.shared.state).index.contains_key(id)
    }

    /// The ids in the journal.
    pub(super) fn ids(&self) -> Vec<String> {
        lock(&self.shared.state).index.keys().cloned().collect()
    }

    /// Marks `id` done (finished, or moved to its own file): `false` when it was not in
    /// the journal. A segment left without live records that is no longer written is
    /// deleted.
    pub(super) fn done(&self, id: &str) -> io::Result<bool> {
        self.shared.done(id)
    }

    /// Notes that `id` has a history file.
    pub(super) fn set_history(&self, id: &str) {
        if let Some(entry) = lock(&self.shared.state).index.get_mut(id) {
            entry.history = true;
        }
    }
}

impl Shared {
    /// The path `id` has as its own file in the queue directory (the journal's parent).
    fn queue_file(&self, id: &str) -> PathBuf {
        self.dir
            .parent()
            .unwrap_or(&self.dir)
            .join(format!("{id}.msg"))
    }

    fn done(&self, id: &str) -> io::Result<bool> {
        let mut state = lock(&self.state);
        let Some(entry) = state.index.remove(id) else {
            return Ok(false);
        };
        if let Some(image) = &entry.image {
            CACHED.fetch_sub(image.len(), Ordering::AcqRel);
        }
        let line = line_with_crc(&format!("D {id}"));
        let mut file: &File = &state.current.file;
        let written = file.write_all(line.as_bytes());
        match written {
            Ok(()) => state.current.len = state.current.len.saturating_add(line.len() as u64),
            Err(_) => state.current.len = u64::MAX,
        }
        let live = state.live.entry(entry.seq).or_default();
        *live = live.saturating_sub(1);
        if *live == 0 && entry.seq != state.current.seq {
            state.live.remove(&entry.seq);
            let _ = fs::remove_file(segment_path(&self.dir, entry.seq));
        }
        written.map(|()| true)
    }

    /// The writer: takes every commit waiting, appends their records in one write, makes
    /// them durable with one `fdatasync` of the segment (and of the directory after a new
    /// segment), then answers them all.
    fn run(&self) {
        while let Some(batch) = self.commits.take(true) {
            let (appended, file, dir_dirty) = self.append(&batch);
            let synced = file.map_or(Ok(()), |file| {
                if dir_dirty {
                    File::open(&self.dir)?.sync_all()?;
                }
                file.sync_data()
            });
            self.batches.fetch_add(1, Ordering::Relaxed);
            for (pending, result) in batch.into_iter().zip(appended) {
                let result = match (&synced, result) {
                    (Ok(()), result) => result,
                    (Err(e), Ok(())) => {
                        // Not durable: it must not be delivered either.
                        let _ = self.done(&pending.id);
                        Err(io::Error::new(
                            e.kind(),
                            format!("queue journal flush failed: {e}"),
                        ))
                    }
                    (Err(_), Err(e)) => Err(e),
                };
                let _ = pending.reply.send(result);
            }
        }
    }

    /// Appends the records of `batch` (one write): the outcome of each, the segment to
    /// sync (none when nothing was written), and whether the directory needs a sync.
    fn append(&self, batch: &[Pending]) -> (Vec<io::Result<()>>, Option<Arc<File>>, bool) {
        let mut state = lock(&self.state);
        let limit = self.segment_limit.load(Ordering::Relaxed);
        if state.current.len >= limit {
            match create_segment(&self.dir, state.current.seq + 1) {
                Ok(fresh) => {
                    let fresh_seq = fresh.seq;
                    let old = std::mem::replace(&mut state.current, fresh);
                    state.live.insert(fresh_seq, 0);
                    state.dir_dirty = true;
                    if state.live.get(&old.seq) == Some(&0) {
                        state.live.remove(&old.seq);
                        let _ = fs::remove_file(segment_path(&self.dir, old.seq));
                    }
                }
                Err(e) => {
                    let results = batch.iter().map(|_| Err(clone_error(&e))).collect();
                    return (results, None, false);
                }
            }
        }
        // The record lines; the images are written from where they are (no copy).
        let mut lines: Vec<String> = Vec::new();
        let mut end = state.current.len;
        // (index in the batch, offset of its image in the segment)
        let mut placed: Vec<(usize, u64)> = Vec::new();
        let mut results = Vec::with_capacity(batch.len());
        for (i, pending) in batch.iter().enumerate() {
            // Never in place of a queued message, in the journal or in its own file.
            let taken = state.index.contains_key(&pending.id)
                || placed.iter().any(|&(j, _)| batch[j].id == pending.id)
                || (!pending.fresh && self.queue_file(&pending.id).exists());
            if taken {
                results.push(Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("queue id {} is taken", pending.id),
                )));
                continue;
            }
            let line = line_with_crc(&format!("J {} {}", pending.id, pending.image.len()));
            end += line.len() as u64;
            placed.push((i, end));
            end += pending.image.len() as u64;
            lines.push(line);
            results.push(Ok(()));
        }
        if placed.is_empty() {
            return (results, None, false);
        }
        let mut slices = Vec::with_capacity(2 * placed.len());
        for (line, &(i, _)) in lines.iter().zip(&placed) {
            slices.push(io::IoSlice::new(line.as_bytes()));
            slices.push(io::IoSlice::new(&batch[i].image));
        }
        let file: &File = &state.current.file;
        if let Err(e) = write_all_vectored(file, &mut slices) {
            // A partial record would end the segment at replay; the next ones go to a
            // new segment.
            state.current.len = u64::MAX;
            for &(i, _) in &placed {
                results[i] = Err(clone_error(&e));
            }
            return (results, None, false);
        }
        state.current.len = end;
        prewrite(&mut state.current);
        let now = SystemTime::now();
        for &(i, offset) in &placed {
            let pending = &batch[i];
            let len = pending.image.len();
            let image = CACHED
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                    held.checked_add(len).filter(|total| *total <= CACHE_BUDGET)
                })
                .ok()
                .map(|_| pending.image.clone());
            let entry = Entry {
                seq: state.current.seq,
                file: state.current.file.clone(),
                offset,
                len: len as u64,
                written: now,
                image,
                history: false,
            };
            *state.live.entry(entry.seq).or_default() += 1;
            state.index.insert(pending.id.clone(), entry);
        }
        let dir_dirty = std::mem::take(&mut state.dir_dirty);
        (results, Some(state.current.file.clone()), dir_dirty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After a failed append the segment is marked full (`len` = `u64::MAX`) so the next
    /// batch starts a new one; a done line written meanwhile must not overflow that mark.
    #[test]
    fn a_done_line_after_a_failed_append_keeps_the_segment_full() {
        let dir = tempfile::tempdir().unwrap();
        let journal_dir = dir.path().join("journal");
        fs::create_dir(&journal_dir).unwrap();
        let replayed = replay(&journal_dir).unwrap();
        let journal = Journal::start(journal_dir.clone(), &replayed).unwrap();
        journal
            .commit_blocking("AB12".into(), b"image".to_vec(), true)
            .unwrap();
        lock(&journal.shared.state).current.len = u64::MAX;
        assert!(journal.done("AB12").unwrap());
        assert_eq!(lock(&journal.shared.state).current.len, u64::MAX);
        // The next commit goes to a fresh segment (the first, all done, is deleted).
        let first = journal.get("AB12").map(|e| e.seq);
        assert_eq!(first, None);
        journal
            .commit_blocking("CD34".into(), b"image".to_vec(), true)
            .unwrap();
        assert_eq!(journal.get("CD34").unwrap().seq, 2);
        assert_eq!(journal.segment_files(), 1);
    }
}
