//! The DATA body: streaming dot-unstuffing (server side) and dot-stuffing (client side),
//! RFC 5321 sections 4.1.1.4 and 4.5.2.
//!
//! End of data is exactly CRLF "." CRLF. A bare CR or bare LF never ends a line for the
//! purpose of finding the end of data or removing a leading dot: `LF . LF`, `LF . CRLF`,
//! `CRLF . LF`, `CR . CR`, `CR . CRLF` and `CRLF NUL . CRLF` are all body content (SMTP
//! smuggling, 2023). Bare line ends are reported so the server can apply its policy.

use bytes::BytesMut;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// After CRLF (or at the start of the body).
    LineStart,
    /// A leading dot was removed.
    Dot,
    /// `.` CR at the start of a line: one LF away from the end.
    DotCr,
    /// Inside a line.
    InLine,
    /// After a CR inside a line.
    Cr,
    /// The end-of-data marker was seen.
    Done,
}

/// The result of one [`DotUnstuffer::feed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Input bytes used. Less than the input only when `done`: the rest follows the end of
    /// data (pipelined commands).
    pub consumed: usize,
    /// The CRLF "." CRLF end marker was consumed.
    pub done: bool,
}

/// Streaming dot-unstuffer for a DATA body.
///
/// ```
/// use bytes::BytesMut;
/// use postwerk_smtp::codec::data::DotUnstuffer;
/// let mut u = DotUnstuffer::new(1000, false);
/// let mut body = BytesMut::new();
/// let p = u.feed(b"Hi\r\n..dot\r\n.\r\nQUIT\r\n", &mut body);
/// assert!(p.done);
/// assert_eq!(&body[..], b"Hi\r\n.dot\r\n");
/// assert_eq!(p.consumed, 14);
/// ```
#[derive(Debug, Clone)]
pub struct DotUnstuffer {
    state: State,
    line_len: usize,
    max_line_len: usize,
    normalize: bool,
    bare_cr: bool,
    bare_lf: bool,
    long_line: bool,
}

impl DotUnstuffer {
    /// A new unstuffer at the start of a body. `max_line_len` is the longest text line,
    /// CRLF included, before [`DotUnstuffer::saw_long_line`] turns true (`usize::MAX`:
    /// unlimited). With `normalize`, bare CR and bare LF are written out as CRLF.
    pub fn new(max_line_len: usize, normalize: bool) -> DotUnstuffer {
        DotUnstuffer {
            state: State::LineStart,
            line_len: 0,
            max_line_len,
            normalize,
            bare_cr: false,
            bare_lf: false,
            long_line: false,
        }
    }

    /// A bare CR (not followed by LF) was seen.
    pub fn saw_bare_cr(&self) -> bool {
        self.bare_cr
    }
    /// A bare LF (not preceded by CR) was seen.
    pub fn saw_bare_lf(&self) -> bool {
        self.bare_lf
    }
    /// A line longer than the configured maximum was seen.
    pub fn saw_long_line(&self) -> bool {
        self.long_line
    }
    /// The end of data was reached.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn add_line_len(&mut self, n: usize) {
        self.line_len = self.line_len.saturating_add(n);
        if self.line_len.saturating_add(2) > self.max_line_len {
            self.long_line = true;
        }
    }

    /// Feeds body bytes, appending the unstuffed body to `out`. Stops right after the end
    /// marker; the marker itself is not part of the body.
    pub fn feed(&mut self, input: &[u8], out: &mut BytesMut) -> Progress {
        let mut i = 0;
        let mut span = 0;
        let flush = |out: &mut BytesMut, from: usize, to: usize| {
            if let Some(s) = input.get(from..to) {
                out.extend_from_slice(s);
            }
        };
        while let Some(&b) = input.get(i) {
            match self.state {
                State::Done => break,
                State::LineStart => {
                    if b == b'.' {
                        flush(out, span, i);
                        i += 1;
                        span = i;
                        self.state = State::Dot;
                    } else {
                        self.state = State::InLine;
                    }
                }
                State::Dot => {
                    if b == b'\r' {
                        i += 1;
                        span = i;
                        self.state = State::DotCr;
                    } else {
                        self.state = State::InLine;
                    }
                }
                State::DotCr => {
                    if b == b'\n' {
                        self.state = State::Done;
                        return Progress {
                            consumed: i + 1,
                            done: true,
                        };
                    }
                    // ".\r" followed by something else: the dot is gone (it led the line),
                    // the CR is bare.
                    self.bare_cr = true;
                    out.extend_from_slice(if self.normalize { b"\r\n" } else { b"\r" });
                    self.line_len = 0;
                    self.state = State::InLine;
                }
                State::InLine => {
                    // Fast path: run from line to line while lines end in CRLF and the
                    // next one does not start with a dot.
                    loop {
                        let rest = input.get(i..).unwrap_or_default();
                        let Some(k) = memchr::memchr2(b'\r', b'\n', rest) else {
                            self.add_line_len(rest.len());
                            i = input.len();
                            break;
                        };
                        self.add_line_len(k);
                        let pos = i + k;
                        if rest.get(k) == Some(&b'\r') {
                            match (input.get(pos + 1), input.get(pos + 2)) {
                                (Some(b'\n'), Some(&next)) if next != b'.' => {
                                    self.line_len = 0;
                                    i = pos + 2;
                                    continue;
                                }
                                _ => {
                                    self.state = State::Cr;
                                    i = pos + 1;
                                    break;
                                }
                            }
                        }
                        self.bare_lf = true;
                        if self.normalize {
                            flush(out, span, pos);
                            out.extend_from_slice(b"\r\n");
                            span = pos + 1;
                        }
                        self.line_len = 0;
                        i = pos + 1;
                    }
                }
                State::Cr => {
                    self.line_len = 0;
                    if b == b'\n' {
                        i += 1;
                        self.state = State::LineStart;
                    } else {
                        self.bare_cr = true;
                        if self.normalize {
                            flush(out, span, i);
                            out.extend_from_slice(b"\n");
                            span = i;
                        }
                        self.state = State::InLine;
                    }
                }
            }
        }
        flush(out, span, i);
        Progress {
            consumed: i,
            done: self.state == State::Done,
        }
    }
}

/// Client-side dot-stuffing state, carried across [`dot_stuff`] calls.
#[derive(Debug, Clone)]
pub struct StuffState {
    line_start: bool,
    cr_pending: bool,
    normalize: bool,
    bare_seen: bool,
}

impl StuffState {
    /// A new state at the start of a body. With `normalize`, bare CR and bare LF are
    /// written as CRLF; without, they are copied and [`StuffState::saw_bare_line_ending`]
    /// turns true (the caller should then refuse to send, SECURITY.md 4).
    pub fn new(normalize: bool) -> StuffState {
        StuffState {
            line_start: true,
            cr_pending: false,
            normalize,
            bare_seen: false,
        }
    }

    /// A bare CR or bare LF was seen in the input.
    pub fn saw_bare_line_ending(&self) -> bool {
        self.bare_seen
    }
}

/// Dot-stuffs a piece of a body: every line starting with `.` gets one more. A line also
/// starts after a bare CR or LF here (so no receiver, however it reads line ends, can take
/// one of our lines for the end marker).
///
/// ```
/// use postwerk_smtp::codec::data::{dot_stuff, finish_data, StuffState};
/// let mut st = StuffState::new(true);
/// let mut out = Vec::new();
/// dot_stuff(b".a\nb", &mut st, &mut out);
/// finish_data(&mut st, &mut out);
/// assert_eq!(out, b"..a\r\nb\r\n.\r\n");
/// ```
pub fn dot_stuff(input: &[u8], state: &mut StuffState, out: &mut Vec<u8>) {
    out.reserve(input.len() + input.len() / 64 + 8);
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if state.cr_pending {
            state.cr_pending = false;
            state.line_start = true;
            if b == b'\n' {
                out.push(b'\n');
                i += 1;
                continue;
            }
            state.bare_seen = true;
            if state.normalize {
                out.push(b'\n');
            }
            continue;
        }
        if state.line_start {
            state.line_start = false;
            if b == b'.' {
                out.push(b'.');
            }
        }
        let rest = input.get(i..).unwrap_or_default();
        match memchr::memchr2(b'\r', b'\n', rest) {
            None => {
                out.extend_from_slice(rest);
                i = input.len();
            }
            Some(k) => {
                out.extend_from_slice(rest.get(..k).unwrap_or_default());
                if rest.get(k) == Some(&b'\r') {
                    out.push(b'\r');
                    state.cr_pending = true;
                } else {
                    state.bare_seen = true;
                    if state.normalize {
                        out.extend_from_slice(b"\r\n");
                    } else {
                        out.push(b'\n');
                    }
                    state.line_start = true;
                }
                i += k + 1;
            }
        }
    }
}

/// Ends a stuffed body: completes the last line with CRLF when needed and appends
/// "." CRLF.
pub fn finish_data(state: &mut StuffState, out: &mut Vec<u8>) {
    if state.cr_pending {
        state.cr_pending = false;
        if state.normalize {
            out.push(b'\n');
            state.line_start = true;
        } else {
            state.bare_seen = true;
            state.line_start = false;
        }
    }
    if !state.line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    state.line_start = true;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unstuff(input: &[u8]) -> (Vec<u8>, Progress, DotUnstuffer) {
        let mut u = DotUnstuffer::new(1000, false);
        let mut out = BytesMut::new();
        let p = u.feed(input, &mut out);
        (out.to_vec(), p, u)
    }

    #[test]
    fn only_crlf_dot_crlf_ends() {
        for bad in [
            &b"a\n.\nb"[..],
            b"a\n.\r\nb",
            b"a\r\n.\nb",
            b"a\r.\rb",
            b"a\r.\r\nb",
            b"a\r\r\n.\r\r\nb",
            b"a\r\n\0.\r\nb",
        ] {
            let (body, p, _) = unstuff(bad);
            assert!(!p.done, "{bad:?}");
            assert_eq!(p.consumed, bad.len());
            assert!(!body.is_empty());
        }
        let (body, p, _) = unstuff(b".\r\n");
        assert!(p.done);
        assert!(body.is_empty());
    }

    #[test]
    fn unstuffs_exactly_one_dot() {
        let (body, p, u) = unstuff(b"...x\r\n..\r\n.\r\n");
        assert!(p.done);
        assert_eq!(body, b"..x\r\n.\r\n");
        assert!(!u.saw_bare_cr() && !u.saw_bare_lf());
    }

    #[test]
    fn reports_bare_line_ends() {
        let (_, _, u) = unstuff(b"a\nb\r\n.\r\n");
        assert!(u.saw_bare_lf() && !u.saw_bare_cr());
        let (_, _, u) = unstuff(b"a\rb\r\n.\r\n");
        assert!(u.saw_bare_cr() && !u.saw_bare_lf());
        let (body, _, u) = unstuff(b".\rx\r\n.\r\n");
        assert!(u.saw_bare_cr());
        assert_eq!(body, b"\rx\r\n");
    }

    #[test]
    fn normalizes_when_asked() {
        let mut u = DotUnstuffer::new(1000, true);
        let mut out = BytesMut::new();
        let p = u.feed(b"a\nb\rc\r\n.\r\n", &mut out);
        assert!(p.done);
        assert_eq!(&out[..], b"a\r\nb\r\nc\r\n");
    }

    #[test]
    fn long_lines_flagged() {
        let mut line = vec![b'x'; 999];
        line.extend_from_slice(b"\r\n.\r\n");
        let (_, _, u) = unstuff(&line);
        assert!(u.saw_long_line());
        let (_, _, u) = unstuff(&line[1..]);
        assert!(!u.saw_long_line());
    }

    #[test]
    fn split_anywhere() {
        let input = b"a\r\n..b\r\n.\rc\n\r\n.\r\nrest";
        let (whole, p, _) = unstuff(input);
        for cut in 0..input.len() {
            let mut u = DotUnstuffer::new(1000, false);
            let mut out = BytesMut::new();
            let p1 = u.feed(&input[..cut], &mut out);
            let consumed = if p1.done {
                p1.consumed
            } else {
                cut + u.feed(&input[cut..], &mut out).consumed
            };
            assert_eq!(&out[..], &whole[..], "cut {cut}");
            assert_eq!(consumed, p.consumed);
        }
    }

    #[test]
    fn stuffing() {
        let mut st = StuffState::new(false);
        let mut out = Vec::new();
        dot_stuff(b".\r\n..\r", &mut st, &mut out);
        dot_stuff(b"\n.x", &mut st, &mut out);
        finish_data(&mut st, &mut out);
        assert_eq!(out, b"..\r\n...\r\n..x\r\n.\r\n");
        assert!(!st.saw_bare_line_ending());
        let mut st = StuffState::new(false);
        let mut out = Vec::new();
        dot_stuff(b"a\n.b", &mut st, &mut out);
        assert!(st.saw_bare_line_ending());
        assert_eq!(out, b"a\n..b");
        let mut st = StuffState::new(true);
        let mut out = Vec::new();
        dot_stuff(b"a\rb\r", &mut st, &mut out);
        finish_data(&mut st, &mut out);
        assert_eq!(out, b"a\r\nb\r\n.\r\n");
        let mut st = StuffState::new(true);
        let mut out = Vec::new();
        finish_data(&mut st, &mut out);
        assert_eq!(out, b".\r\n");
    }
}
