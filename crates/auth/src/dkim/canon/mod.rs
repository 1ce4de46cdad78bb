//! Canonicalization (RFC 6376 section 3.4) of header fields and of the body, the body
//! streamed in chunks of any size.

use ring::digest;

mod batch;
mod scan;

use batch::Batch;
use scan::Scanner;

/// A canonicalization algorithm (RFC 6376 section 3.4), for the header or the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Canonicalization {
    /// `simple`: the header fields and body as they are, except for trailing empty lines.
    Simple,
    /// `relaxed`: tolerates whitespace changes and header field name case changes.
    Relaxed,
}

impl Canonicalization {
    /// The tag value: `simple` or `relaxed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Simple => "simple",
            Self::Relaxed => "relaxed",
        }
    }

    pub(crate) fn parse(s: &[u8]) -> Option<Self> {
        if s.eq_ignore_ascii_case(b"simple") {
            Some(Self::Simple)
        } else if s.eq_ignore_ascii_case(b"relaxed") {
            Some(Self::Relaxed)
        } else {
            None
        }
    }
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Appends the canonical form of one raw header field (`Name: value` with its folding and
/// its terminating CRLF, if any) to `out`. The result always ends with CRLF.
pub(crate) fn header(c: Canonicalization, raw: &[u8], out: &mut Vec<u8>) {
    match c {
        Canonicalization::Simple => {
            out.extend_from_slice(raw);
            if !raw.ends_with(b"\r\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
        Canonicalization::Relaxed => {
            let raw = raw.strip_suffix(b"\r\n").unwrap_or(raw);
            let colon = memchr::memchr(b':', raw).unwrap_or(raw.len());
            let mut name_end = colon;
            while name_end > 0 && is_wsp(raw[name_end - 1]) {
                name_end -= 1;
            }
            let start = out.len();
            out.extend_from_slice(&raw[..name_end]);
            out[start..].make_ascii_lowercase();
            out.push(b':');
            let value = raw.get(colon + 1..).unwrap_or(&[]);
            // Unfold (drop CRLF), reduce WSP runs to one SP, trim both ends: the runs
            // between SP, TAB and CR are copied whole.
            let mut pending_space = false;
            let mut started = false;
            let mut i = 0;
            while i < value.len() {
                let end =
                    memchr::memchr3(b' ', b'\t', b'\r', &value[i..]).map_or(value.len(), |p| i + p);
                // A CR not followed by LF is content, like the run before it.
                let bare_cr = value.get(end) == Some(&b'\r') && value.get(end + 1) != Some(&b'\n');
                let content_end = end + usize::from(bare_cr);
                if content_end > i {
                    if pending_space && started {
                        out.push(b' ');
                    }
                    pending_space = false;
                    started = true;
                    out.extend_from_slice(&value[i..content_end]);
                }
                i = match value.get(end) {
                    _ if bare_cr => content_end,
                    None => break,
                    // CR LF: unfolded.
                    Some(b'\r') => end + 2,
                    Some(_) => {
                        pending_space = true;
                        end + 1
                    }
                };
            }
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// A streaming body canonicalizer (RFC 6376 sections 3.4.3 and 3.4.4): bytes in,
/// canonical bytes out through a callback, in pieces of up to about
/// [`BATCH`](batch::BATCH) bytes.
///
/// `simple` passes the input through unchanged, without a copy, except for the empty
/// lines at its end: a trailing run of CR LF (and a CR that may start one) is held
/// back, as a count, until content shows it was not trailing. `relaxed` finds the few
/// places it has to change (WSP runs, WSP before CR LF, empty lines) with a 64-byte
/// block scan and copies the runs between them into a buffer that feeds the callback.
/// Memory stays flat whatever the input; CR LF split across chunks is handled by
/// remembering a pending CR.
#[derive(Debug, Clone)]
pub(crate) struct BodyCanon {
    kind: Canonicalization,
    /// Empty lines seen and not yet emitted (under `simple`: CR LF pairs held back).
    pending_empty: u64,
    /// A CR was the last byte seen and may start a CRLF.
    cr_pending: bool,
    /// Relaxed: the current line has had content emitted.
    line_started: bool,
    /// Relaxed: whitespace seen since the last content byte of this line.
    wsp_pending: bool,
    /// Relaxed: canonical bytes not yet passed on.
    out: Batch,
}

impl BodyCanon {
    pub(crate) fn new(kind: Canonicalization) -> Self {
        Self {
            kind,
            pending_empty: 0,
            cr_pending: false,
            line_started: false,
            wsp_pending: false,
            out: Batch::default(),
        }
    }

    /// Feeds body bytes.
    pub(crate) fn update(&mut self, data: &[u8], sink: &mut impl FnMut(&[u8])) {
        match self.kind {
            Canonicalization::Simple => self.update_simple(data, sink),
            Canonicalization::Relaxed => self.update_relaxed(data, sink),
        }
    }

    /// Passes `pending` empty lines (CR LF each) on, batched.
    fn emit_empty_lines(&mut self, sink: &mut impl FnMut(&[u8])) {
        const CRLFS: [u8; 512] = {
            let mut a = [b'\n'; 512];
            let mut i = 0;
            while i < 512 {
                a[i] = b'\r';
                i += 2;
            }
            a
        };
        while self.pending_empty > 0 {
            let n = usize::try_from(self.pending_empty.min(256)).unwrap_or(256);
            self.pending_empty -= n as u64;
            if self.kind == Canonicalization::Relaxed {
                self.push(&CRLFS[..2 * n], sink);
            } else {
                sink(&CRLFS[..2 * n]);
            }
        }
    }

    // --- simple

    /// `simple`: everything up to the trailing `(CR LF)* [CR]` of the input so far goes
    /// straight to the sink; that tail is held back as a count and a flag.
    fn update_simple(&mut self, mut data: &[u8], sink: &mut impl FnMut(&[u8])) {
        if self.cr_pending {
            let Some((&first, rest)) = data.split_first() else {
                return;
            };
            self.cr_pending = false;
            if first == b'\n' {
                self.pending_empty = self.pending_empty.saturating_add(1);
                data = rest;
            } else {
                // The held-back CR was content: so were the empty lines before it.
                self.emit_empty_lines(sink);
                sink(b"\r");
            }
        }
        // The tail: an optional CR, then CR LF pairs, from the end.
        let mut end = data.len();
        let cr = data.last() == Some(&b'\r');
        if cr {
            end -= 1;
        }
        let mut pairs = 0u64;
        while end >= 2 && data[end - 2] == b'\r' && data[end - 1] == b'\n' {
            end -= 2;
            pairs += 1;
        }
        if end > 0 {
            self.emit_empty_lines(sink);
            sink(&data[..end]);
        }
        self.pending_empty = self.pending_empty.saturating_add(pairs);
        self.cr_pending = cr;
    }

    /// `simple`: the last line gets its CR LF, held-back empty lines are dropped, an
    /// empty body is one CR LF.
    fn finish_simple(&mut self, sink: &mut impl FnMut(&[u8])) {
        if self.cr_pending {
            self.cr_pending = false;
            self.emit_empty_lines(sink);
            sink(b"\r");
        }
        // Content ends in CR LF (held back as the first pending pair) or without one
        // (added here); a body without content is CR LF either way.
        self.pending_empty = 0;
        sink(b"\r\n");
    }

    // --- relaxed

    /// Relaxed: appends canonical bytes.
    #[inline(always)]
    fn push(&mut self, bytes: &[u8], sink: &mut impl FnMut(&[u8])) {
        self.out.push(bytes, sink);
    }

    /// Relaxed: content follows on the current line: the empty lines before it were
    /// not trailing, and a pending WSP run becomes one SP.
    #[inline(always)]
    fn start_content(&mut self, sink: &mut impl FnMut(&[u8])) {
        if !self.line_started {
            if self.pending_empty > 0 {
                self.emit_empty_lines(sink);
            }
            self.line_started = true;
        }
        if self.wsp_pending {
            self.wsp_pending = false;
            self.push(b" ", sink);
        }
    }

    /// Relaxed: a run of content (no WSP, no line-ending CR) on the current line.
    fn content(&mut self, run: &[u8], sink: &mut impl FnMut(&[u8])) {
        if !run.is_empty() {
            self.start_content(sink);
            self.push(run, sink);
        }
    }

    /// Relaxed: a CR LF ends the current line.
    fn end_of_line(&mut self, sink: &mut impl FnMut(&[u8])) {
        self.wsp_pending = false;
        if self.line_started {
            self.push(b"\r\n", sink);
            self.line_started = false;
        } else {
            self.pending_empty = self.pending_empty.saturating_add(1);
        }
    }

    /// `relaxed`: runs between the bytes the [`Scanner`] reports are copied whole;
    /// at a reported byte, a WSP run becomes one pending SP (dropped at the end of the
    /// line) and a CR LF ends the line.
    fn update_relaxed(&mut self, mut data: &[u8], sink: &mut impl FnMut(&[u8])) {
        if self.cr_pending {
            let Some(&first) = data.first() else {
                return;
            };
            self.cr_pending = false;
            if first == b'\n' {
                self.end_of_line(sink);
                data = &data[1..];
            } else {
                self.content(b"\r", sink);
            }
        }
        self.out.prepare(data.len());
        let mut scan = Scanner::default();
        // Bytes before `pos` are done. A SP, TAB or CR at `pos` is acted on whatever
        // follows it: what came before (an empty line, a WSP run) decides.
        let mut pos = 0;
        while let Some(&b) = data.get(pos) {
            let at = match b {
                b' ' | b'\t' | b'\r' => pos,
                _ => scan.next(data, pos).unwrap_or(data.len()),
            };
            // A pending SP whose last input byte was a SP starts the run: one copy.
            let from = if self.wsp_pending && at > pos && pos > 0 && data[pos - 1] == b' ' {
                self.wsp_pending = false;
                pos - 1
            } else {
                pos
            };
            if at > from {
                self.start_content(sink);
                self.out.push_run(data, from, at, sink);
            }
            match &data[at..] {
                [] => break,
                [b'\r', b'\n', ..] => {
                    self.end_of_line(sink);
                    pos = at + 2;
                }
                [b'\r'] => {
                    self.cr_pending = true;
                    break;
                }
                [b'\r', ..] => {
                    // A CR not followed by LF is content.
                    self.content(b"\r", sink);
                    pos = at + 1;
                }
                rest => {
                    // SP or TAB: the whole WSP run is one pending SP.
                    let n = rest
                        .iter()
                        .position(|&b| b != b' ' && b != b'\t')
                        .unwrap_or(rest.len());
                    if rest.get(n..n + 2) == Some(b"\r\n") {
                        // Trailing whitespace: dropped with the line end.
                        self.end_of_line(sink);
                        pos = at + n + 2;
                    } else {
                        self.wsp_pending = true;
                        pos = at + n;
                    }
                }
            }
        }
    }

    /// `relaxed`: the last line gets its CR LF, trailing empty lines are dropped, an
    /// empty body stays empty.
    fn finish_relaxed(&mut self, sink: &mut impl FnMut(&[u8])) {
        if self.cr_pending {
            self.cr_pending = false;
            self.content(b"\r", sink);
        }
        if self.line_started {
            self.push(b"\r\n", sink);
            self.line_started = false;
        }
        self.out.flush(sink);
    }

    /// Ends the body: the last line gets its CRLF, trailing empty lines are dropped, and
    /// an empty body becomes CRLF under `simple` and stays empty under `relaxed`.
    pub(crate) fn finish(&mut self, sink: &mut impl FnMut(&[u8])) {
        match self.kind {
            Canonicalization::Simple => self.finish_simple(sink),
            Canonicalization::Relaxed => self.finish_relaxed(sink),
        }
    }
}

/// A canonicalizer feeding a digest, counting canonical octets, and stopping the digest
/// after `limit` octets (the `l=` tag) when one is given.
#[derive(Clone)]
pub(crate) struct BodyHasher {
    canon: BodyCanon,
    ctx: digest::Context,
    limit: Option<u64>,
    hashed: u64,
    total: u64,
}

impl std::fmt::Debug for BodyHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyHasher")
            .field("limit", &self.limit)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl BodyHasher {
    pub(crate) fn new(
        kind: Canonicalization,
        alg: &'static digest::Algorithm,
        limit: Option<u64>,
    ) -> Self {
        Self {
            canon: BodyCanon::new(kind),
            ctx: digest::Context::new(alg),
            limit,
            hashed: 0,
            total: 0,
        }
    }

    fn sink<'s>(
        ctx: &'s mut digest::Context,
        limit: Option<u64>,
        hashed: &'s mut u64,
        total: &'s mut u64,
    ) -> impl FnMut(&[u8]) + 's {
        move |bytes: &[u8]| {
            *total = total.saturating_add(bytes.len() as u64);
            let take = match limit {
                Some(l) => {
                    let room = l.saturating_sub(*hashed);
                    usize::try_from(room).unwrap_or(usize::MAX).min(bytes.len())
                }
                None => bytes.len(),
            };
            if take > 0 {
                ctx.update(&bytes[..take]);
                *hashed += take as u64;
            }
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        let mut sink = Self::sink(&mut self.ctx, self.limit, &mut self.hashed, &mut self.total);
        self.canon.update(data, &mut sink);
    }

    /// Returns the digest and the total canonical body length.
    pub(crate) fn finish(mut self) -> (digest::Digest, u64) {
        {
            let mut sink = Self::sink(&mut self.ctx, self.limit, &mut self.hashed, &mut self.total);
            self.canon.finish(&mut sink);
        }
        (self.ctx.finish(), self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(kind: Canonicalization, chunks: &[&[u8]]) -> Vec<u8> {
        let mut c = BodyCanon::new(kind);
        let mut out = Vec::new();
        for ch in chunks {
            c.update(ch, &mut |b: &[u8]| out.extend_from_slice(b));
        }
        c.finish(&mut |b: &[u8]| out.extend_from_slice(b));
        out
    }

    fn hdr(kind: Canonicalization, raw: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        header(kind, raw, &mut out);
        out
    }

    #[test]
    fn empty_body_simple_is_crlf_relaxed_is_empty() {
        assert_eq!(body(Canonicalization::Simple, &[b""]), b"\r\n");
        assert_eq!(body(Canonicalization::Relaxed, &[b""]), b"");
        assert_eq!(body(Canonicalization::Simple, &[b"\r\n\r\n"]), b"\r\n");
        assert_eq!(body(Canonicalization::Relaxed, &[b"\r\n\r\n"]), b"");
    }

    #[test]
    fn whitespace_only_trailing_lines_vanish_under_relaxed() {
        let input: &[u8] = b"Hi \t there  \r\n \t \r\n  \r\n";
        assert_eq!(body(Canonicalization::Relaxed, &[input]), b"Hi there\r\n");
        assert_eq!(
            body(Canonicalization::Simple, &[input]),
            b"Hi \t there  \r\n \t \r\n  \r\n"
        );
    }

    #[test]
    fn rfc6376_section_3_4_5_example() {
        // RFC 6376 3.4.5: body " C \r\nD \t E\r\n\r\n\r\n".
        let input: &[u8] = b" C \r\nD \t E\r\n\r\n\r\n";
        assert_eq!(body(Canonicalization::Relaxed, &[input]), b" C\r\nD E\r\n");
        assert_eq!(
            body(Canonicalization::Simple, &[input]),
            b" C \r\nD \t E\r\n"
        );
        assert_eq!(hdr(Canonicalization::Relaxed, b"A: X\r\n"), b"a:X\r\n");
        assert_eq!(
            hdr(Canonicalization::Relaxed, b"B : Y\t\r\n\tZ  \r\n"),
            b"b:Y Z\r\n"
        );
    }

    #[test]
    fn crlf_split_across_chunks() {
        let whole = body(Canonicalization::Simple, &[b"a\r\n\r\nb\r\n\r\n"]);
        let split = body(
            Canonicalization::Simple,
            &[b"a\r", b"\n\r", b"\nb\r", b"\n\r", b"\n"],
        );
        assert_eq!(whole, split);
        assert_eq!(split, b"a\r\n\r\nb\r\n");
        let relaxed = body(Canonicalization::Relaxed, &[b"a \r", b"\n  \r", b"\n"]);
        assert_eq!(relaxed, b"a\r\n");
    }

    #[test]
    fn missing_final_crlf_is_added() {
        assert_eq!(body(Canonicalization::Simple, &[b"abc"]), b"abc\r\n");
        assert_eq!(body(Canonicalization::Relaxed, &[b"abc  "]), b"abc\r\n");
        assert_eq!(body(Canonicalization::Simple, &[b"abc\r"]), b"abc\r\r\n");
    }

    #[test]
    fn field_folded_right_after_colon() {
        assert_eq!(
            hdr(
                Canonicalization::Relaxed,
                b"Subject:\r\n  Hello\r\n  world\r\n"
            ),
            b"subject:Hello world\r\n"
        );
        assert_eq!(
            hdr(Canonicalization::Simple, b"Subject:\r\n  Hello\r\n"),
            b"Subject:\r\n  Hello\r\n"
        );
    }

    #[test]
    fn body_length_limit_stops_the_digest() {
        let mut h = BodyHasher::new(Canonicalization::Simple, &digest::SHA256, Some(3));
        h.update(b"abcdef\r\n");
        let (d, total) = h.finish();
        assert_eq!(total, 8);
        assert_eq!(d.as_ref(), digest::digest(&digest::SHA256, b"abc").as_ref());
    }
}

#[cfg(test)]
mod reference;
