//! Dot-stuffing of multi-line responses (RFC 1939 section 3), streaming.
//!
//! ```text
//! If any line of the multi-line response begins with the termination
//! octet, the line is "byte-stuffed" by pre-pending the termination
//! octet to that line of the response.
//! ```
//!
//! [`DotStuffer`] is the server side: it takes a stored message in chunks
//! and produces the wire form as [`Bytes`] slices of the input (no copy of
//! the body: only the inserted `.` and `CR` octets are new), converting bare
//! `LF` line ends to `CRLF`, and for `TOP` cutting the message after the
//! header, the blank line and the first *n* body lines.
//! [`DotUnstuffer`] is the client side: it undoes the stuffing and finds the
//! terminating `CRLF . CRLF`.

use bytes::Bytes;
use memchr::memchr;

const DOT: Bytes = Bytes::from_static(b".");
const CR: Bytes = Bytes::from_static(b"\r");
const CRLF: Bytes = Bytes::from_static(b"\r\n");
const TERMINATOR: Bytes = Bytes::from_static(b".\r\n");

/// Size of a stored message as POP3 sends it: every bare `LF` counts as
/// `CRLF`, and a last line without line end gets one. Dot-stuffing is not
/// counted (RFC 1939 section 11). This is the size `LIST` and `STAT` must
/// report for a message that [`DotStuffer`] streams.
///
/// ```
/// assert_eq!(postwerk_pop3::codec::wire_size(b"a\nb\r\nc"), 9);
/// ```
pub fn wire_size(message: &[u8]) -> u64 {
    let mut size = message.len() as u64;
    let mut prev = None;
    for nl in memchr::memchr_iter(b'\n', message) {
        let cr = nl > 0 && message.get(nl - 1) == Some(&b'\r');
        if !cr {
            size += 1;
        }
        prev = Some(nl);
    }
    let ends_with_lf = prev.is_some_and(|p| p + 1 == message.len());
    if !message.is_empty() && !ends_with_lf {
        size += 2;
    }
    size
}

/// What a line is made of so far (for finding the blank line in `TOP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineSoFar {
    Empty,
    Cr,
    Text,
}

#[derive(Debug, Clone)]
struct TopLimit {
    in_header: bool,
    line: LineSoFar,
    remaining: u32,
}

/// Streaming dot-stuffer for `RETR` and `TOP` (server side).
///
/// ```
/// use bytes::Bytes;
/// use postwerk_pop3::codec::DotStuffer;
/// let mut out = Vec::new();
/// let mut s = DotStuffer::new();
/// s.push(Bytes::from_static(b"Subject: x\n\n.hidden\n"), |b| out.extend_from_slice(&b));
/// s.finish(|b| out.extend_from_slice(&b));
/// assert_eq!(out, b"Subject: x\r\n\r\n..hidden\r\n.\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct DotStuffer {
    at_line_start: bool,
    prev_cr: bool,
    top: Option<TopLimit>,
    done: bool,
}

impl Default for DotStuffer {
    fn default() -> Self {
        DotStuffer::new()
    }
}

impl DotStuffer {
    /// A stuffer for a whole message (`RETR`).
    pub fn new() -> DotStuffer {
        DotStuffer {
            at_line_start: true,
            prev_cr: false,
            top: None,
            done: false,
        }
    }

    /// A stuffer for `TOP msg n`: the header, the blank line after it and the
    /// first `body_lines` lines of the body; the rest of the input is dropped.
    pub fn top(body_lines: u32) -> DotStuffer {
        DotStuffer {
            top: Some(TopLimit {
                in_header: true,
                line: LineSoFar::Empty,
                remaining: body_lines,
            }),
            ..DotStuffer::new()
        }
    }

    /// Whether `TOP` has sent all it should; further input is dropped.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Stuff one chunk of the stored message; `emit` receives the wire bytes
    /// in order (slices of `chunk`, and the inserted octets).
    pub fn push(&mut self, chunk: Bytes, mut emit: impl FnMut(Bytes)) {
        if self.done || chunk.is_empty() {
            return;
        }
        if self.top.is_none() && self.push_crlf_only(&chunk, &mut emit) {
            return;
        }
        let data: &[u8] = &chunk;
        let len = data.len();
        let mut start = 0;
        let mut pos = 0;
        loop {
            if self.at_line_start {
                let Some(&first) = data.get(pos) else {
                    break;
                };
                self.at_line_start = false;
                if let Some(t) = &mut self.top {
                    t.line = LineSoFar::Empty;
                }
                if first == b'.' {
                    if pos > start {
                        emit(chunk.slice(start..pos));
                    }
                    emit(DOT);
                    start = pos;
                }
            }
            let rest = data.get(pos..).unwrap_or_default();
            let Some(i) = memchr(b'\n', rest) else {
                if let Some(t) = &mut self.top {
                    t.line = extend_line(t.line, rest);
                }
                break;
            };
            let nl = pos + i;
            let cr_before = match nl.checked_sub(1) {
                Some(p) => data.get(p) == Some(&b'\r'),
                None => self.prev_cr,
            };
            if !cr_before {
                if nl > start {
                    emit(chunk.slice(start..nl));
                }
                emit(CR);
                start = nl;
            }
            if let Some(t) = &mut self.top {
                let line = extend_line(t.line, data.get(pos..nl).unwrap_or_default());
                let blank = line != LineSoFar::Text;
                let mut stop = false;
                if t.in_header {
                    if blank {
                        t.in_header = false;
                        stop = t.remaining == 0;
                    }
                } else {
                    t.remaining = t.remaining.saturating_sub(1);
                    stop = t.remaining == 0;
                }
                if stop {
                    emit(chunk.slice(start..nl + 1));
                    self.done = true;
                    self.at_line_start = true;
                    return;
                }
            }
            pos = nl + 1;
            self.at_line_start = true;
        }
        if start < len {
            emit(chunk.slice(start..len));
        }
        self.prev_cr = data.last() == Some(&b'\r');
    }

    /// Fast path for a chunk without bare LF (the common case): one
    /// vectorisable pass to rule bare LF out, then `memmem` finds the lines
    /// starting with a dot. Returns false (having done nothing) otherwise.
    fn push_crlf_only(&mut self, chunk: &Bytes, emit: &mut impl FnMut(Bytes)) -> bool {
        let data: &[u8] = chunk;
        let (Some(&first), Some(&last)) = (data.first(), data.last()) else {
            return true;
        };
        if (first == b'\n' && !self.prev_cr) || has_bare_lf(data) {
            return false;
        }
        let mut start = 0;
        if self.at_line_start && first == b'.' {
            emit(DOT);
        }
        for nl in memchr::memmem::find_iter(data, b"\n.") {
            let dot = nl + 1;
            emit(chunk.slice(start..dot));
            emit(DOT);
            start = dot;
        }
        emit(chunk.slice(start..));
        self.at_line_start = last == b'\n';
        self.prev_cr = last == b'\r';
        true
    }

    /// End the message: a line end if the last line lacked one, then the
    /// terminating `.CRLF`.
    pub fn finish(&mut self, mut emit: impl FnMut(Bytes)) {
        if !self.at_line_start {
            emit(CRLF);
        }
        emit(TERMINATOR);
        self.done = true;
        self.at_line_start = true;
    }
}

/// Whether an LF in `data` follows something other than CR (the first
/// octet is checked by the caller). No early exit, so it vectorises.
fn has_bare_lf(data: &[u8]) -> bool {
    let Some(rest) = data.get(1..) else {
        return false;
    };
    let mut acc = 0u8;
    for block in rest.chunks(4096).zip(data.chunks(4096)) {
        acc |= block.0.iter().zip(block.1).fold(0u8, |a, (&b, &p)| {
            a | (u8::from(b == b'\n') & u8::from(p != b'\r'))
        });
        if acc != 0 {
            return true;
        }
    }
    false
}

fn extend_line(so_far: LineSoFar, more: &[u8]) -> LineSoFar {
    match (so_far, more) {
        (s, []) => s,
        (LineSoFar::Empty, [b'\r']) => LineSoFar::Cr,
        _ => LineSoFar::Text,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UnstuffState {
    LineStart,
    Dot,
    DotCr,
    InLine,
}

/// Streaming dot-unstuffer for multi-line bodies (client side).
///
/// ```
/// use bytes::Bytes;
/// use postwerk_pop3::codec::DotUnstuffer;
/// let mut out = Vec::new();
/// let mut u = DotUnstuffer::new();
/// let wire = Bytes::from_static(b"..a\r\nb\r\n.\r\n+OK next");
/// let used = u.feed(&wire, |b| out.extend_from_slice(&b));
/// assert_eq!(used, Some(wire.len() - 8));
/// assert_eq!(out, b".a\r\nb\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct DotUnstuffer {
    state: UnstuffState,
    pending_cr: bool,
}

impl Default for DotUnstuffer {
    fn default() -> Self {
        DotUnstuffer::new()
    }
}

impl DotUnstuffer {
    /// An unstuffer positioned at the start of the body.
    pub fn new() -> DotUnstuffer {
        DotUnstuffer {
            state: UnstuffState::LineStart,
            pending_cr: false,
        }
    }

    /// Unstuff `chunk`; `emit` receives body bytes (slices of `chunk`). Returns
    /// `Some(n)` when the terminating `.CRLF` ends at `chunk[..n]` (bytes after
    /// it belong to the next response), `None` when more input is needed.
    pub fn feed(&mut self, chunk: &Bytes, mut emit: impl FnMut(Bytes)) -> Option<usize> {
        let data: &[u8] = chunk;
        let len = data.len();
        let mut start = 0;
        let mut pos = 0;
        loop {
            match self.state {
                UnstuffState::InLine => match memchr(b'\n', data.get(pos..).unwrap_or_default()) {
                    None => {
                        pos = len;
                        break;
                    }
                    Some(i) => {
                        pos += i + 1;
                        self.state = UnstuffState::LineStart;
                    }
                },
                UnstuffState::LineStart => {
                    let Some(&b) = data.get(pos) else {
                        break;
                    };
                    if b == b'.' {
                        if pos > start {
                            emit(chunk.slice(start..pos));
                        }
                        pos += 1;
                        start = pos;
                        self.state = UnstuffState::Dot;
                    } else {
                        self.state = UnstuffState::InLine;
                    }
                }
                UnstuffState::Dot => {
                    let Some(&b) = data.get(pos) else {
                        break;
                    };
                    if b == b'\r' {
                        pos += 1;
                        self.state = UnstuffState::DotCr;
                    } else {
                        // A stuffed dot: it was dropped above.
                        self.state = UnstuffState::InLine;
                    }
                }
                UnstuffState::DotCr => {
                    let Some(&b) = data.get(pos) else {
                        break;
                    };
                    if b == b'\n' {
                        self.state = UnstuffState::LineStart;
                        self.pending_cr = false;
                        return Some(pos + 1);
                    }
                    // ".\r" then something else: the dot was stuffing and the
                    // CR is data.
                    if self.pending_cr {
                        emit(CR);
                        self.pending_cr = false;
                    }
                    self.state = UnstuffState::InLine;
                }
            }
        }
        let mut end = len;
        if self.state == UnstuffState::DotCr && !self.pending_cr && len > 0 {
            // Hold back the CR: it belongs to the terminator if LF follows.
            end = len - 1;
            self.pending_cr = true;
        }
        if start < end {
            emit(chunk.slice(start..end));
        }
        let _ = pos;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stuff(input: &[&[u8]], top: Option<u32>) -> Vec<u8> {
        let mut s = top.map_or_else(DotStuffer::new, DotStuffer::top);
        let mut out = Vec::new();
        for c in input {
            s.push(Bytes::copy_from_slice(c), |b| out.extend_from_slice(&b));
        }
        s.finish(|b| out.extend_from_slice(&b));
        out
    }

    #[test]
    fn stuffing() {
        assert_eq!(stuff(&[b""], None), b".\r\n");
        assert_eq!(stuff(&[b"a"], None), b"a\r\n.\r\n");
        assert_eq!(stuff(&[b".\r\n"], None), b"..\r\n.\r\n");
        assert_eq!(stuff(&[b"a\n.b\n"], None), b"a\r\n..b\r\n.\r\n");
        assert_eq!(
            stuff(&[b"a\r", b"\n", b".", b"b"], None),
            b"a\r\n..b\r\n.\r\n"
        );
        assert_eq!(stuff(&[b"a\n", b"\n"], None), b"a\r\n\r\n.\r\n");
    }

    #[test]
    fn top_split() {
        let msg: &[u8] = b"H: 1\r\nH: 2\r\n\r\nl1\r\nl2\r\nl3\r\n";
        assert_eq!(stuff(&[msg], Some(0)), b"H: 1\r\nH: 2\r\n\r\n.\r\n");
        assert_eq!(
            stuff(&[msg], Some(2)),
            b"H: 1\r\nH: 2\r\n\r\nl1\r\nl2\r\n.\r\n"
        );
        assert_eq!(stuff(&[msg], Some(9)), [msg, b".\r\n"].concat());
        let parts: Vec<&[u8]> = msg.chunks(1).collect();
        assert_eq!(stuff(&parts, Some(1)), b"H: 1\r\nH: 2\r\n\r\nl1\r\n.\r\n");
        assert_eq!(stuff(&[b"H: 1\n\nx\n"], Some(0)), b"H: 1\r\n\r\n.\r\n");
        assert_eq!(stuff(&[b"H: 1"], Some(0)), b"H: 1\r\n.\r\n");
    }

    #[test]
    fn sizes() {
        assert_eq!(wire_size(b""), 0);
        assert_eq!(wire_size(b"a"), 3);
        assert_eq!(wire_size(b"a\n"), 3);
        assert_eq!(wire_size(b"a\r\n"), 3);
        assert_eq!(wire_size(b"\n\n"), 4);
    }

    #[test]
    fn unstuff_split() {
        let wire: &[u8] = b"..a\r\n.\rx\r\nb\r\n.\r\nREST";
        for k in 0..wire.len() {
            let mut u = DotUnstuffer::new();
            let mut out = Vec::new();
            let a = Bytes::copy_from_slice(&wire[..k]);
            let b = Bytes::copy_from_slice(&wire[k..]);
            let end = match u.feed(&a, |c| out.extend_from_slice(&c)) {
                Some(n) => n,
                None => k + u.feed(&b, |c| out.extend_from_slice(&c)).unwrap(),
            };
            assert_eq!(out, b".a\r\n\rx\r\nb\r\n", "split at {k}");
            assert_eq!(&wire[end..], b"REST");
        }
    }
}
