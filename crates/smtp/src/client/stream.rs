//! A message body supplied in chunks ([`Transaction::streaming`](super::Transaction::streaming)):
//! the line-ending policy and DATA dot-stuffing applied across chunk boundaries, without
//! ever holding more than the chunk at hand.
//!
//! Both passes only insert octets (CR before a bare LF, LF after a bare CR, a dot before a
//! line's leading dot), so a chunk that needs none is handed on as it is, not copied.

use bytes::Bytes;
use memchr::{memchr_iter, memchr2};

use super::config::BareLineEndings;
use super::downgrade::Downgrader;

/// The state of a streamed body in a transaction.
#[derive(Debug)]
pub(crate) struct BodyStream {
    pub(crate) line_ends: LineEnds,
    /// Re-encodes 8-bit text parts for a server without 8BITMIME.
    pub(crate) downgrade: Option<Downgrader>,
    /// DATA: dot-stuffing (BDAT has none).
    pub(crate) stuffer: Option<Stuffer>,
    /// The server takes 7-bit only and the caller did not say the body is 8-bit: an 8-bit
    /// octet aborts.
    pub(crate) seven_bit_only: bool,
    /// The server is ready for the body (354, or the recipients accepted for BDAT).
    pub(crate) open: bool,
    /// An [`Event::BodyWanted`](super::Event::BodyWanted) is out, not answered yet.
    pub(crate) asked: bool,
    /// The caller ended the body.
    pub(crate) ended: bool,
    /// A BDAT chunk was refused: no further chunk goes out.
    pub(crate) refused: bool,
    /// Replies outstanding to BDAT chunks before the last.
    pub(crate) bdat_inflight: usize,
}

impl BodyStream {
    pub(crate) fn new(policy: BareLineEndings) -> Self {
        BodyStream {
            line_ends: LineEnds::new(policy),
            downgrade: None,
            stuffer: None,
            seven_bit_only: false,
            open: false,
            asked: false,
            ended: false,
            refused: false,
            bdat_inflight: 0,
        }
    }

    /// Octets held between chunks (the downgrade's header section and line start).
    pub(crate) fn held(&self) -> usize {
        self.downgrade.as_ref().map_or(0, Downgrader::held)
    }
}

/// Copy-on-write output of one pass over a chunk: stays a slice of the input until the
/// first insertion.
struct Rewrite<'a> {
    input: &'a Bytes,
    out: Option<Vec<u8>>,
    /// `input[from..]` is not yet in `out`.
    from: usize,
}

impl<'a> Rewrite<'a> {
    fn new(input: &'a Bytes) -> Self {
        Rewrite {
            input,
            out: None,
            from: 0,
        }
    }

    /// Inserts `bytes` before input offset `at`.
    fn insert(&mut self, at: usize, bytes: &[u8]) {
        let input = self.input;
        let out = self
            .out
            .get_or_insert_with(|| Vec::with_capacity(input.len() + input.len() / 64 + 8));
        out.extend_from_slice(input.get(self.from..at).unwrap_or_default());
        out.extend_from_slice(bytes);
        self.from = at;
    }

    fn finish(self) -> Bytes {
        match self.out {
            None => self.input.clone(),
            Some(mut out) => {
                out.extend_from_slice(self.input.get(self.from..).unwrap_or_default());
                Bytes::from(out)
            }
        }
    }
}

/// The bare CR / bare LF policy (SECURITY.md 4) across chunks, and the final CRLF.
#[derive(Debug, Clone)]
pub(crate) struct LineEnds {
    policy: BareLineEndings,
    /// The last octet passed on was a CR whose LF has not been seen yet.
    pending_cr: bool,
    /// The next octet starts a line (true before the first octet).
    at_line_start: bool,
    /// Octets of input seen.
    offset: u64,
    /// Any 8-bit octet seen.
    eight_bit: bool,
}

impl LineEnds {
    pub(crate) fn new(policy: BareLineEndings) -> Self {
        LineEnds {
            policy,
            pending_cr: false,
            at_line_start: true,
            offset: 0,
            eight_bit: false,
        }
    }

    /// Whether an octet with the high bit set went through.
    pub(crate) fn saw_8bit(&self) -> bool {
        self.eight_bit
    }

    /// One chunk. `Err(offset)`: a bare CR or LF at that offset of the whole body, under
    /// [`BareLineEndings::Reject`].
    pub(crate) fn push(&mut self, chunk: &Bytes) -> Result<Bytes, u64> {
        let b: &[u8] = chunk;
        let base = self.offset;
        let at = |i: usize| base.saturating_add(u64::try_from(i).unwrap_or(u64::MAX));
        let normalise = self.policy == BareLineEndings::Normalize;
        self.eight_bit |= !b.is_ascii();
        let mut w = Rewrite::new(chunk);
        let mut i = 0;
        if self.pending_cr && !b.is_empty() {
            self.pending_cr = false;
            if b.first() == Some(&b'\n') {
                i = 1;
            } else if normalise {
                w.insert(0, b"\n");
            } else {
                return Err(base.saturating_sub(1));
            }
            self.at_line_start = true;
        }
        while i < b.len() {
            self.at_line_start = false;
            let Some(j) = memchr2(b'\r', b'\n', b.get(i..).unwrap_or_default()).map(|j| i + j)
            else {
                break;
            };
            if b.get(j) == Some(&b'\r') {
                match b.get(j + 1) {
                    None => {
                        self.pending_cr = true;
                        i = j + 1;
                        continue;
                    }
                    Some(b'\n') => i = j + 2,
                    Some(_) if normalise => {
                        w.insert(j + 1, b"\n");
                        i = j + 1;
                    }
                    Some(_) => return Err(at(j)),
                }
            } else if normalise {
                w.insert(j, b"\r");
                i = j + 1;
            } else {
                return Err(at(j));
            }
            self.at_line_start = true;
        }
        self.offset = at(b.len());
        Ok(w.finish())
    }

    /// The end of the body: what still has to go out (an LF after a final CR, or a CRLF
    /// after an unterminated last line).
    pub(crate) fn finish(&mut self) -> Result<Bytes, u64> {
        if self.pending_cr {
            self.pending_cr = false;
            if self.policy == BareLineEndings::Reject {
                return Err(self.offset.saturating_sub(1));
            }
            self.at_line_start = true;
            return Ok(Bytes::from_static(b"\n"));
        }
        if self.at_line_start {
            Ok(Bytes::new())
        } else {
            self.at_line_start = true;
            Ok(Bytes::from_static(b"\r\n"))
        }
    }
}

/// DATA dot-stuffing (RFC 5321 4.5.2) across chunks whose line ends are already CRLF.
#[derive(Debug, Clone)]
pub(crate) struct Stuffer {
    /// The next octet starts a line.
    at_line_start: bool,
}

impl Stuffer {
    pub(crate) fn new() -> Self {
        Stuffer {
            at_line_start: true,
        }
    }

    pub(crate) fn push(&mut self, chunk: &Bytes) -> Bytes {
        let b: &[u8] = chunk;
        let Some(&last) = b.last() else {
            return Bytes::new();
        };
        let mut w = Rewrite::new(chunk);
        if self.at_line_start && b.first() == Some(&b'.') {
            w.insert(0, b".");
        }
        for i in memchr_iter(b'\n', b) {
            if b.get(i + 1) == Some(&b'.') {
                w.insert(i + 1, b".");
            }
        }
        self.at_line_start = last == b'\n';
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(policy: BareLineEndings, chunks: &[&[u8]]) -> Result<Vec<u8>, u64> {
        let mut le = LineEnds::new(policy);
        let mut st = Stuffer::new();
        let mut out = Vec::new();
        for c in chunks {
            let b = le.push(&Bytes::copy_from_slice(c))?;
            out.extend_from_slice(&st.push(&b));
        }
        let tail = le.finish()?;
        out.extend_from_slice(&st.push(&tail));
        Ok(out)
    }

    #[test]
    fn stuffing_across_chunks() {
        let whole = b".a\r\n..b\r\nc.\r\n.\r\nd";
        let expected = b"..a\r\n...b\r\nc.\r\n..\r\nd\r\n".to_vec();
        for split in 0..=whole.len() {
            let (a, b) = whole.split_at(split);
            assert_eq!(
                run(BareLineEndings::Reject, &[a, b]),
                Ok(expected.clone()),
                "{split}"
            );
        }
    }

    #[test]
    fn bare_line_ends_across_chunks() {
        let whole = b"a\rb\nc\r\n\r";
        for split in 0..=whole.len() {
            let (a, b) = whole.split_at(split);
            assert_eq!(
                run(BareLineEndings::Normalize, &[a, b]),
                Ok(b"a\r\nb\r\nc\r\n\r\n".to_vec()),
                "{split}"
            );
            assert_eq!(run(BareLineEndings::Reject, &[a, b]), Err(1), "{split}");
        }
        assert_eq!(run(BareLineEndings::Reject, &[b"ok\r", b"\nx\r"]), Err(5));
        assert_eq!(run(BareLineEndings::Reject, &[b"ok\r", b"x"]), Err(2));
    }

    #[test]
    fn untouched_chunks_are_not_copied() {
        let chunk = Bytes::from_static(b"abc\r\ndef");
        let mut le = LineEnds::new(BareLineEndings::Reject);
        let out = le.push(&chunk).unwrap();
        assert_eq!(out.as_ptr(), chunk.as_ptr());
        let out = Stuffer::new().push(&chunk);
        assert_eq!(out.as_ptr(), chunk.as_ptr());
    }
}
