//! What the client writes: commands coalesced into chunks, message bodies handed out in
//! slices, and the write progress that drives the data-block and end-of-data deadlines
//! (RFC 5321 4.5.3.2.5 and 4.5.3.2.6).

use std::time::Instant;

use bytes::Bytes;

use super::{BODY_CHUNK, Connection, Expect};

/// Which deadline applies to the reply after a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyClock {
    /// No body in flight: the end-of-data deadline from when the reply is expected.
    Idle,
    /// The body is being written; the data-block deadline runs from this time (queued,
    /// or the last write progress reported).
    Sending(Instant),
    /// The body's last octets were reported written at this time: the end-of-data
    /// deadline runs from it.
    Written(Instant),
}

impl Connection {
    /// Queues body pieces after the commands staged so far; the data-block deadline
    /// starts.
    pub(super) fn push_body(&mut self, pieces: impl IntoIterator<Item = Bytes>, now: Instant) {
        self.flush_staged();
        for piece in pieces {
            if !piece.is_empty() {
                self.queued = self.queued.saturating_add(piece.len());
                self.transmit.push_back(piece);
            }
        }
        let queued = u64::try_from(self.queued).unwrap_or(u64::MAX);
        self.body_end = Some(self.handed_out.saturating_add(queued));
        self.body_clock = BodyClock::Sending(now);
        if matches!(
            self.pending.front(),
            Some(Expect::DataEnd | Expect::Drain | Expect::BdatChunk)
        ) {
            self.arm(now);
        }
    }

    /// Moves the staged commands to the transmit queue as one chunk.
    pub(super) fn flush_staged(&mut self) {
        if !self.staged.is_empty() {
            let staged = std::mem::take(&mut self.staged);
            self.queued = self.queued.saturating_add(staged.len());
            self.transmit.push_back(Bytes::from(staged));
        }
    }

    /// The next chunk to hand out, at most [`BODY_CHUNK`] octets of a body piece.
    pub(super) fn next_chunk(&mut self) -> Option<Bytes> {
        if self.transmit.is_empty() {
            self.flush_staged();
        }
        let mut piece = self.transmit.pop_front()?;
        if piece.len() > BODY_CHUNK {
            let rest = piece.split_off(BODY_CHUNK);
            self.transmit.push_front(rest);
        }
        self.queued = self.queued.saturating_sub(piece.len());
        let len = u64::try_from(piece.len()).unwrap_or(u64::MAX);
        self.handed_out = self.handed_out.saturating_add(len);
        Some(piece)
    }

    /// The driver wrote everything handed out so far.
    pub(super) fn on_written(&mut self, now: Instant) {
        if self.handed_out <= self.written {
            // Nothing new: no progress to report.
            return;
        }
        self.written = self.handed_out;
        match self.body_end {
            Some(end) if self.written >= end => {
                self.body_end = None;
                self.body_clock = BodyClock::Written(now);
            }
            Some(_) => self.body_clock = BodyClock::Sending(now),
            // A streamed body whose end is not queued yet: progress all the same.
            None if self.streaming_body => self.body_clock = BodyClock::Sending(now),
            None => return,
        }
        if matches!(
            self.pending.front(),
            Some(Expect::DataEnd | Expect::Drain | Expect::BdatChunk)
        ) {
            self.arm(now);
        }
    }

    /// The reply after a body arrived: its clock is done.
    pub(super) fn body_reply_arrived(&mut self) {
        self.body_clock = BodyClock::Idle;
        self.body_end = None;
    }
}
