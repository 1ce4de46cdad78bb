//! The buffer between body canonicalization and the digest.

/// The digest is fed in pieces of about this size (the buffer the canonical bytes are
/// collected in), so that its per-call cost disappears.
pub(super) const BATCH: usize = 32 * 1024;

/// Runs of canonical bytes at least this long are hashed where they are, not copied.
const DIRECT: usize = 4096;

/// Spare capacity kept after the bytes of a [`Batch`]: a short run is appended as one
/// fixed-size copy of this many bytes and then cut back to its length (what lies past
/// the run is overwritten by the next one), which the compiler inlines, instead of a
/// `memcpy` call per run.
const SLACK: usize = 64;

/// Canonical bytes waiting for the digest, in a buffer whose capacity starts at the
/// first chunk's size (a short message allocates little) and grows up to [`BATCH`] +
/// [`SLACK`].
#[derive(Debug, Clone, Default)]
pub(super) struct Batch {
    bytes: Vec<u8>,
}

impl Batch {
    /// Before the first bytes: room for `hint` bytes (the first chunk's length).
    pub(super) fn prepare(&mut self, hint: usize) {
        if self.bytes.capacity() == 0 {
            self.bytes.reserve_exact(hint.clamp(DIRECT, BATCH) + SLACK);
        }
    }

    /// Passes the waiting bytes on.
    pub(super) fn flush(&mut self, sink: &mut impl FnMut(&[u8])) {
        if !self.bytes.is_empty() {
            sink(&self.bytes);
            self.bytes.clear();
        }
    }

    /// Makes room for `n` (less than [`DIRECT`]) more bytes and the slack after them.
    #[inline(always)]
    fn reserve(&mut self, n: usize, sink: &mut impl FnMut(&[u8])) {
        if self.bytes.len() + n + SLACK > self.bytes.capacity() {
            self.grow_or_flush(n, sink);
        }
    }

    /// Doubles the capacity up to its full size; a full buffer is flushed.
    #[cold]
    fn grow_or_flush(&mut self, n: usize, sink: &mut impl FnMut(&[u8])) {
        let full = BATCH + SLACK;
        let capacity = self.bytes.capacity();
        if capacity < full {
            let grown = (capacity * 2).max(DIRECT + SLACK).min(full);
            self.bytes.reserve_exact(grown - self.bytes.len());
            if self.bytes.len() + n + SLACK <= self.bytes.capacity() {
                return;
            }
        }
        self.flush(sink);
        self.bytes.reserve_exact(n + SLACK);
    }

    /// Appends `bytes`; a piece of at least [`DIRECT`] bytes (a paragraph of base64)
    /// goes to the sink where it is, after what is waiting.
    #[inline(always)]
    pub(super) fn push(&mut self, bytes: &[u8], sink: &mut impl FnMut(&[u8])) {
        if bytes.len() >= DIRECT {
            self.flush(sink);
            sink(bytes);
            return;
        }
        self.reserve(bytes.len(), sink);
        self.bytes.extend_from_slice(bytes);
    }

    /// Appends `data[from..to]`: when it is at most [`SLACK`] bytes and `data` goes on
    /// for that long, as one fixed-size copy cut back to the run's length.
    #[inline(always)]
    pub(super) fn push_run(
        &mut self,
        data: &[u8],
        from: usize,
        to: usize,
        sink: &mut impl FnMut(&[u8]),
    ) {
        let n = to - from;
        if n <= SLACK
            && let Some(window) = data
                .get(from..from + SLACK)
                .and_then(|w| <&[u8; SLACK]>::try_from(w).ok())
        {
            self.reserve(n, sink);
            let len = self.bytes.len();
            self.bytes.extend_from_slice(window);
            self.bytes.truncate(len + n);
            return;
        }
        self.push(&data[from..to], sink);
    }
}
