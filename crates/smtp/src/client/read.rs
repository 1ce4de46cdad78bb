//! Reading the server's replies: an input buffer with a consumed prefix, and a scanner
//! that remembers how far it has looked, so that a reply trickling in byte by byte is
//! scanned once, not once per read (which would be quadratic in the reply's size).

use std::time::Instant;

use crate::codec::reply::{
    ReplyError, ReplyLimits, check_partial, line_head, parse_reply, strip_cr,
};

use super::events::ConnectionError;
use super::{Connection, Stage};

/// Finds the end of the reply at the front of a buffer, incrementally.
///
/// The state is relative to the start of the reply: complete lines already checked, and
/// how far into the current (incomplete) line `\n` was looked for. Each byte is examined
/// once by the framing scan, whatever the number of reads it arrives in; the complete
/// reply is then parsed once by [`parse_reply`].
#[derive(Debug, Default, Clone)]
pub(crate) struct ReplyScanner {
    /// Start of the current line.
    line_start: usize,
    /// First byte not yet searched for `\n`.
    pos: usize,
    /// The code of the first line.
    code: Option<u16>,
    /// Complete lines so far.
    lines: usize,
    /// Bytes searched in all (for tests of the linear bound).
    examined: usize,
}

impl ReplyScanner {
    /// Forgets the reply in progress (after it was taken, or the buffer was dropped).
    pub(crate) fn reset(&mut self) {
        let examined = self.examined;
        *self = ReplyScanner {
            examined,
            ..ReplyScanner::default()
        };
    }

    /// Scans `buf`, which starts at the reply and only grows between calls (until
    /// [`ReplyScanner::reset`]). `Ok(Some(end))`: the reply is `buf[..end]`, and the
    /// scanner is reset for the next one. The checks are those of [`parse_reply`].
    pub(crate) fn scan(
        &mut self,
        buf: &[u8],
        limits: &ReplyLimits,
    ) -> Result<Option<usize>, ReplyError> {
        loop {
            let rest = buf.get(self.pos..).unwrap_or_default();
            self.examined = self.examined.saturating_add(rest.len());
            let Some(i) = memchr::memchr(b'\n', rest) else {
                self.pos = buf.len();
                let partial = buf.get(self.line_start..).unwrap_or_default();
                if partial.len() >= limits.max_line_len {
                    return Err(ReplyError::LineTooLong(limits.max_line_len));
                }
                check_partial(partial, self.code)?;
                return Ok(None);
            };
            // memchr stopped at the line end: only that much was examined.
            self.examined = self.examined.saturating_sub(rest.len() - (i + 1));
            let nl = self.pos + i;
            if nl + 1 - self.line_start > limits.max_line_len {
                return Err(ReplyError::LineTooLong(limits.max_line_len));
            }
            let line = strip_cr(buf.get(self.line_start..nl).unwrap_or_default());
            let (c, last) = line_head(line)?;
            if *self.code.get_or_insert(c) != c {
                return Err(ReplyError::InconsistentCode);
            }
            self.lines += 1;
            if self.lines > limits.max_lines {
                return Err(ReplyError::TooManyLines(limits.max_lines));
            }
            self.line_start = nl + 1;
            self.pos = nl + 1;
            if last {
                self.reset();
                return Ok(Some(nl + 1));
            }
        }
    }

    /// Bytes searched since the scanner was made.
    #[cfg(test)]
    pub(crate) fn examined(&self) -> usize {
        self.examined
    }
}

impl Connection {
    /// Buffers server bytes and processes the replies they complete.
    pub(super) fn take_input(&mut self, bytes: &[u8], now: Instant) {
        if self.input_start > 0 && self.input_start * 2 >= self.input.len() {
            self.input.drain(..self.input_start.min(self.input.len()));
            self.input_start = 0;
        }
        self.input.extend_from_slice(bytes);
        self.process_input(now);
    }

    /// Runs buffered replies until none is complete, output is full, or the session
    /// stops reading.
    pub(super) fn process_input(&mut self, now: Instant) {
        loop {
            if !matches!(self.stage, Stage::Opening | Stage::Ready | Stage::Quitting) {
                self.clear_input();
                return;
            }
            if self.is_output_full() {
                return;
            }
            let buf = self.input.get(self.input_start..).unwrap_or_default();
            let scanned = self.scanner.scan(buf, &self.config.reply_limits);
            let parsed = match scanned {
                Ok(Some(end)) => parse_reply(
                    buf.get(..end).unwrap_or_default(),
                    &self.config.reply_limits,
                ),
                Ok(None) => {
                    if self.input_start >= self.input.len() {
                        self.input.clear();
                        self.input_start = 0;
                    }
                    return;
                }
                Err(e) => Err(e),
            };
            match parsed {
                Ok(Some((reply, used))) => {
                    self.input_start = self.input_start.saturating_add(used);
                    if self.input_start >= self.input.len() {
                        self.input.clear();
                        self.input_start = 0;
                    }
                    self.on_reply(reply, now);
                }
                Ok(None) => return,
                Err(e) => {
                    self.clear_input();
                    self.fail_hard(ConnectionError::BadReply(e));
                    return;
                }
            }
        }
    }

    /// Drops every buffered server byte (STARTTLS, close).
    pub(super) fn clear_input(&mut self) {
        self.input = Vec::new();
        self.input_start = 0;
        self.scanner.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ReplyLimits {
        ReplyLimits {
            max_line_len: 2048,
            max_lines: 1000,
        }
    }

    /// A reply of `lines` continuation lines of `width` octets each, then a last line.
    fn long_reply(lines: usize, width: usize) -> Vec<u8> {
        let mut v = Vec::new();
        for _ in 0..lines {
            v.extend_from_slice(b"250-");
            v.extend(std::iter::repeat_n(b'x', width - 6));
            v.extend_from_slice(b"\r\n");
        }
        v.extend_from_slice(b"250 end\r\n");
        v
    }

    #[test]
    fn byte_by_byte_is_scanned_once() {
        let reply = long_reply(999, 2000);
        let mut scanner = ReplyScanner::default();
        let mut result = None;
        for n in 1..=reply.len() {
            if let Some(end) = scanner.scan(&reply[..n], &limits()).unwrap() {
                result = Some((n, end));
                break;
            }
        }
        assert_eq!(result, Some((reply.len(), reply.len())));
        // Every byte searched once (the old parser searched ~1000 MB here).
        assert!(
            scanner.examined() <= reply.len(),
            "{} examined for {}",
            scanner.examined(),
            reply.len()
        );
        // The cursor never moves back: after the reply it starts afresh.
        assert_eq!(scanner.pos, 0);
        assert_eq!(scanner.lines, 0);
    }

    #[test]
    fn same_answers_as_parse_reply_at_every_split() {
        let cases: [&[u8]; 9] = [
            b"250-a\r\n250-b\r\n250 c\r\nrest",
            b"250 ok\n",
            b"220-x\r\n221 y\r\n",
            b"2x0 bad\r\n",
            b"250+x\r\n",
            b"25",
            b"250-\r\n250\r\n",
            b"600 no\r\n",
            b"250-long line here\r\n250-and\r\n250-too many\r\n250 lines\r\n",
        ];
        let small = ReplyLimits {
            max_line_len: 16,
            max_lines: 3,
        };
        for case in cases {
            for lim in [limits(), small] {
                let whole = parse_reply(case, &lim).map(|r| r.map(|(_, used)| used));
                let mut scanner = ReplyScanner::default();
                let mut got = Ok(None);
                for n in 0..=case.len() {
                    got = scanner.scan(&case[..n], &lim);
                    if !matches!(got, Ok(None)) {
                        break;
                    }
                }
                assert_eq!(got, whole, "{:?} {lim:?}", String::from_utf8_lossy(case));
            }
        }
    }
}
