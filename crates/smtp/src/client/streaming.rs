//! Streamed bodies on the connection: the caller's chunks in, [`Event::BodyWanted`] out
//! while output has room, each chunk through the line-ending policy, the 8-bit check or
//! downgrade, and dot-stuffing (DATA) or its own BDAT.

use std::time::Instant;

use bytes::Bytes;

use crate::codec::command::Command;

use super::body;
use super::events::{ConnectionError, Event, TransactionError};
use super::output::BodyClock;
use super::stream::BodyStream;
use super::transaction::TransactionId;
use super::{Connection, Expect, UsageError};

impl Connection {
    /// The next piece of the body of [streamed](super::Transaction::streaming) transaction `id`,
    /// in answer to an [`Event::BodyWanted`]. Any size and any split: line ends and
    /// dot-stuffing are handled across chunks. Pending output grows by about the chunk's
    /// size, so the caller's chunk size is the bound beyond the mark.
    ///
    /// A chunk that makes the body unsendable (a bare line end refused by the policy,
    /// 8-bit octets the server cannot take) fails the transaction and closes the
    /// connection without ending the data ([`ConnectionError::DataAborted`]); that is
    /// reported through events, not as an error here.
    pub fn body_chunk(
        &mut self,
        id: TransactionId,
        chunk: Bytes,
        now: Instant,
    ) -> Result<(), UsageError> {
        self.now = now;
        self.take_body_turn(id)?;
        self.stream_chunk(chunk, now);
        self.want_body();
        Ok(())
    }

    /// The end of the body of [streamed](super::Transaction::streaming) transaction `id`, in
    /// answer to an [`Event::BodyWanted`]: the final CRLF when missing, then `.` (DATA) or
    /// `BDAT n LAST`.
    pub fn body_end(&mut self, id: TransactionId, now: Instant) -> Result<(), UsageError> {
        self.now = now;
        self.take_body_turn(id)?;
        self.stream_end(now);
        Ok(())
    }
}

/// Streamed bodies: asking for chunks, sending them, ending them.
impl Connection {
    /// The server is ready for the streamed body: its clock starts, and the first
    /// [`Event::BodyWanted`] goes out when output has room.
    pub(super) fn open_stream(&mut self, now: Instant) {
        self.flush_staged();
        self.streaming_body = true;
        self.body_end = None;
        self.body_clock = BodyClock::Sending(now);
    }

    /// Whether `id` is the transaction sending a streamed body with a want outstanding.
    pub(super) fn body_asked(&self, id: TransactionId) -> bool {
        self.active
            .as_ref()
            .is_some_and(|a| a.id == id && a.stream.as_ref().is_some_and(|s| s.asked))
    }

    /// Takes the outstanding want of `id`, or says why body bytes are not wanted.
    fn take_body_turn(&mut self, id: TransactionId) -> Result<(), UsageError> {
        if !self.body_asked(id) {
            return Err(UsageError::BodyNotWanted);
        }
        if let Some(s) = self.active.as_mut().and_then(|a| a.stream.as_mut()) {
            s.asked = false;
        }
        Ok(())
    }

    /// Emits [`Event::BodyWanted`] when the active streamed body may take a chunk: the
    /// server is ready, no want is outstanding, output is at or below the mark, and
    /// (BDAT without PIPELINING) the previous chunk was answered.
    pub(super) fn want_body(&mut self) {
        if self.is_output_full() {
            return;
        }
        let Some(active) = self.active.as_mut() else {
            return;
        };
        let lockstep = active.bdat && !active.pipelined;
        let Some(s) = active.stream.as_mut() else {
            return;
        };
        if !s.open || s.asked || s.ended || s.refused || (lockstep && s.bdat_inflight > 0) {
            return;
        }
        s.asked = true;
        self.events.push_back(Event::BodyWanted { id: active.id });
    }

    /// Runs a caller's chunk through the line-ending policy, the 8-bit check or
    /// downgrade, and dot-stuffing or BDAT framing, and queues it.
    fn stream_chunk(&mut self, chunk: Bytes, now: Instant) {
        let Some(active) = self.active.as_mut() else {
            return;
        };
        let Some(s) = active.stream.as_mut() else {
            return;
        };
        let piece = match encode(s, &chunk, false) {
            Ok(piece) => piece,
            Err(e) => return self.abort_body(e),
        };
        let bdat = active.bdat;
        if piece.is_empty() {
            return;
        }
        if bdat {
            s.bdat_inflight += 1;
            let size = body::size(&piece);
            self.command(&Command::Bdat { size, last: false }, Expect::BdatChunk, now);
        }
        self.push_stream_piece(piece, now);
    }

    /// The caller ended the streamed body.
    fn stream_end(&mut self, now: Instant) {
        let Some(active) = self.active.as_mut() else {
            return;
        };
        let Some(s) = active.stream.as_mut() else {
            return;
        };
        let tail = match encode(s, &Bytes::new(), true) {
            Ok(tail) => tail,
            Err(e) => return self.abort_body(e),
        };
        s.ended = true;
        let bdat = active.bdat;
        self.streaming_body = false;
        if bdat {
            let size = body::size(&tail);
            self.command(&Command::Bdat { size, last: true }, Expect::DataEnd, now);
            self.push_body([tail], now);
        } else {
            self.push_body([tail, Bytes::from_static(b".\r\n")], now);
        }
    }

    /// Queues a piece of a body whose end is not known yet.
    fn push_stream_piece(&mut self, piece: Bytes, now: Instant) {
        self.flush_staged();
        self.queued = self.queued.saturating_add(piece.len());
        self.transmit.push_back(piece);
        self.body_clock = BodyClock::Sending(now);
        if matches!(
            self.pending.front(),
            Some(Expect::DataEnd | Expect::BdatChunk)
        ) {
            self.arm(now);
        }
    }

    /// The streamed body cannot go on: its transaction fails with `error`, and the
    /// connection closes without ending the data.
    fn abort_body(&mut self, error: TransactionError) {
        if let Some(active) = self.active.take() {
            self.events
                .push_back(Event::TransactionDone(active.finish(Some(error))));
        }
        self.fail_hard(ConnectionError::DataAborted);
    }
}

/// One chunk (or, with `end`, the end) of a streamed body, ready for the wire.
fn encode(s: &mut BodyStream, chunk: &Bytes, end: bool) -> Result<Bytes, TransactionError> {
    let bare = |offset: u64| TransactionError::BareLineEnding {
        offset: usize::try_from(offset).unwrap_or(usize::MAX),
    };
    let mut piece = if end {
        s.line_ends.finish().map_err(bare)?
    } else {
        s.line_ends.push(chunk).map_err(bare)?
    };
    if s.seven_bit_only && s.line_ends.saw_8bit() {
        return Err(TransactionError::EightBitNotOffered);
    }
    if let Some(d) = s.downgrade.as_mut() {
        let mut out = Vec::with_capacity(piece.len() + piece.len() / 4);
        d.push(&piece, &mut out)
            .map_err(TransactionError::CannotDowngrade)?;
        if end {
            d.finish(&mut out)
                .map_err(TransactionError::CannotDowngrade)?;
        }
        piece = Bytes::from(out);
    }
    if let Some(st) = s.stuffer.as_mut() {
        piece = st.push(&piece);
    }
    Ok(piece)
}
