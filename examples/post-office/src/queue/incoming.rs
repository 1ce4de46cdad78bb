//! A message being received: in memory while small, else streamed to its file in `tmp/`.

use super::*;

/// A message being received is kept in memory up to this size, and written to its queue
/// file only at the commit: one write, no second copy when fields are added at the end
/// of DATA. Larger messages go to a file in `tmp/` as they arrive.
pub(super) const MEMORY_MESSAGE: usize = 256 * 1024;

/// All messages being received at once keep at most this much content in memory; past it,
/// the next ones go to files (bounded memory however many sessions send at once).
pub(super) const MEMORY_BUDGET: usize = 64 * 1024 * 1024;

/// Octets of content held in memory by all [`Incoming`] messages.
pub(super) static IN_MEMORY: AtomicUsize = AtomicUsize::new(0);

/// Takes `n` octets of the memory budget, or nothing when they are not there.
pub(super) fn reserve_memory(n: usize) -> bool {
    IN_MEMORY
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
            held.checked_add(n).filter(|total| *total <= MEMORY_BUDGET)
        })
        .is_ok()
}

pub(super) fn release_memory(n: usize) {
    IN_MEMORY.fetch_sub(n, Ordering::AcqRel);
}

/// A message being received: the envelope, then the DATA chunks.
#[derive(Debug)]
pub struct Incoming {
    pub(super) id: String,
    pub(super) tmp: PathBuf,
    /// The envelope as the queue file's text header.
    pub(super) header: Vec<u8>,
    pub(super) body: Body,
    pub(super) content_len: u64,
    /// The id was made by [`super::QueueStore::new_id`] for this message (unique by
    /// construction, so the commit need not look for a queue file of that name).
    pub(super) fresh: bool,
}

#[derive(Debug)]
pub(super) enum Body {
    /// The queue-file image so far: the header, then the content (which counts in the
    /// memory budget); the trailer is added at the commit, in place.
    Memory(Vec<u8>),
    /// The file in `tmp/` with the header and the content so far, and the checksum of
    /// what it holds.
    File(BufWriter<File>, Checksum),
    /// Committed, aborted or failed: nothing is held.
    Gone,
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if let Body::Memory(_) = &self.body {
            release_memory(self.content_len as usize);
        }
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
        if let Body::Memory(image) = &mut self.body {
            if self.content_len as usize + chunk.len() <= MEMORY_MESSAGE
                && reserve_memory(chunk.len())
            {
                image.extend_from_slice(chunk);
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
        let Body::Memory(image) = std::mem::replace(&mut self.body, Body::Gone) else {
            return Ok(());
        };
        release_memory(self.content_len as usize);
        let file = create_new_private(&self.tmp)?;
        let mut file = BufWriter::with_capacity(64 * 1024, file);
        let mut hash = Checksum::default();
        file.write_all(&image)?;
        hash.update(&image);
        self.body = Body::File(file, hash);
        Ok(())
    }

    /// The whole queue-file image (header, content, trailer) of a message held in
    /// memory, which is then released; `None` for one in its file.
    pub(super) fn image(&mut self) -> Option<Vec<u8>> {
        if !matches!(self.body, Body::Memory(_)) {
            return None;
        }
        let Body::Memory(mut image) = std::mem::replace(&mut self.body, Body::Gone) else {
            return None;
        };
        release_memory(self.content_len as usize);
        let mut hash = Checksum::default();
        hash.update(&image);
        image.extend_from_slice(trailer(self.content_len, hash).as_bytes());
        Some(image)
    }

    /// Is the message held in memory (so edits and the commit need no file system)?
    pub fn in_memory(&self) -> bool {
        matches!(self.body, Body::Memory(_))
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
pub(super) fn trailer(content_len: u64, hash: Checksum) -> String {
    let trailer = format!("\nend {content_len:020} {:016x}\n", hash.value());
    debug_assert_eq!(trailer.len(), TRAILER_LEN);
    trailer
}

/// Creates a file that must not exist yet, 0600.
pub(super) fn create_new_private(path: &Path) -> io::Result<File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// `prefix`, then `content` with `insert` put in at `at` and the sorted `drop` ranges (at
/// or after `at`) left out; room is left for a trailer.
pub(super) fn edited(
    prefix: &[u8],
    content: &[u8],
    at: u64,
    insert: &[u8],
    drop: &[std::ops::Range<u64>],
) -> Vec<u8> {
    let len = content.len();
    let offset = |v: u64| usize::try_from(v).unwrap_or(len).min(len);
    let at = offset(at);
    let mut out = Vec::with_capacity(prefix.len() + len + insert.len() + TRAILER_LEN);
    out.extend_from_slice(prefix);
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
