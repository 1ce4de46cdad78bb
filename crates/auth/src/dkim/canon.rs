//! Canonicalization (RFC 6376 section 3.4) of header fields and of the body, the body
//! streamed in chunks of any size.

use ring::digest;

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
            let colon = raw.iter().position(|&b| b == b':').unwrap_or(raw.len());
            let mut name_end = colon;
            while name_end > 0 && is_wsp(raw[name_end - 1]) {
                name_end -= 1;
            }
            out.extend(raw[..name_end].iter().map(u8::to_ascii_lowercase));
            out.push(b':');
            let value = raw.get(colon + 1..).unwrap_or(&[]);
            // Unfold (drop CRLF), reduce WSP runs to one SP, trim both ends.
            let mut pending_space = false;
            let mut started = false;
            let mut i = 0;
            while i < value.len() {
                let b = value[i];
                if b == b'\r' && value.get(i + 1) == Some(&b'\n') {
                    i += 2;
                    continue;
                }
                if is_wsp(b) {
                    pending_space = true;
                } else {
                    if pending_space && started {
                        out.push(b' ');
                    }
                    pending_space = false;
                    started = true;
                    out.push(b);
                }
                i += 1;
            }
            out.extend_from_slice(b"\r\n");
        }
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of every byte of `w` at most 0x20 (space and the controls: SP, TAB, CR,
/// LF, ...). Exact: the low seven bits are added without carries between bytes.
#[inline(always)]
fn bytes_le_space(w: u64) -> u64 {
    let t = (w & LOW7).wrapping_add(ONES * (0x80 - 0x21));
    !(t | w) & HIGH
}

/// Is the byte at `i` one relaxed canonicalization acts on? A CRLF inside `data` that
/// ends a line with content and is followed by content (a byte above 0x20) is canonical
/// as it is, so runs go on over it: one scan per paragraph, not per line.
#[inline]
fn is_special(data: &[u8], i: usize) -> bool {
    match data.get(i) {
        Some(b'\r') => {
            i == 0 || data.get(i + 1) != Some(&b'\n') || data.get(i + 2).is_none_or(|&c| c <= b' ')
        }
        Some(b'\t') => true,
        Some(b' ') => matches!(data.get(i + 1), None | Some(b' ' | b'\t' | b'\r')),
        _ => false,
    }
}

/// The first byte relaxed body canonicalization has to act on: CR, TAB, a SP at the
/// start of `data`, or a SP followed by SP, TAB, CR or the end of `data`. A single SP
/// between two other bytes is already canonical and stays inside the run.
///
/// Eight bytes per step (SWAR, no unsafe): the candidates are the bytes at most 0x20
/// except a SP followed by a byte above 0x20. A byte at most 0x20 is a SP exactly when
/// its 0x20 bit is set, and the mask of the following bytes is this word's mask shifted
/// by one byte plus the next word's first one, so each word is loaded and classified
/// once. The rare false candidates (LF, other controls) are checked one by one.
fn relaxed_special(data: &[u8]) -> Option<usize> {
    if data.first() == Some(&b' ') {
        return Some(0);
    }
    let word_at = |k: usize| -> u64 {
        data.get(k * 8..k * 8 + 8)
            .and_then(|s| <[u8; 8]>::try_from(s).ok())
            .map_or(0, u64::from_le_bytes)
    };
    let words = data.len() / 8;
    let mut tail = 0;
    if words >= 2 {
        let mut w = word_at(0);
        let mut low = bytes_le_space(w);
        for k in 0..words - 1 {
            let next = word_at(k + 1);
            let next_low = bytes_le_space(next);
            let space = low & (w << 2);
            let low_after = (low >> 8) | (next_low << 56);
            let mut m = low & !(space & !low_after);
            while m != 0 {
                let at = k * 8 + (m.trailing_zeros() / 8) as usize;
                if is_special(data, at) {
                    return Some(at);
                }
                m &= m - 1;
            }
            (w, low) = (next, next_low);
        }
        tail = (words - 1) * 8;
    }
    (tail..data.len()).find(|&j| is_special(data, j))
}

/// A streaming body canonicalizer: bytes in, canonical bytes out through a callback.
///
/// Empty lines at the end are held back (as a count, so memory stays flat) until a
/// non-empty line shows they were not trailing. CR LF split across chunks is handled by
/// remembering a pending CR.
#[derive(Debug, Clone)]
pub(crate) struct BodyCanon {
    kind: Canonicalization,
    /// Empty lines seen and not yet emitted.
    pending_empty: u64,
    /// A CR was the last byte seen and may start a CRLF.
    cr_pending: bool,
    /// The current line has had content emitted.
    line_started: bool,
    /// Relaxed: whitespace seen since the last content byte of this line.
    wsp_pending: bool,
    /// Anything at all was emitted.
    emitted: bool,
    buf: Vec<u8>,
}

const FLUSH_AT: usize = 8192;

impl BodyCanon {
    pub(crate) fn new(kind: Canonicalization) -> Self {
        Self {
            kind,
            pending_empty: 0,
            cr_pending: false,
            line_started: false,
            wsp_pending: false,
            emitted: false,
            buf: Vec::with_capacity(FLUSH_AT + 16),
        }
    }

    #[inline]
    fn content(&mut self, b: u8, sink: &mut impl FnMut(&[u8])) {
        if !self.line_started {
            while self.pending_empty > 0 {
                self.buf.extend_from_slice(b"\r\n");
                self.pending_empty -= 1;
                if self.buf.len() >= FLUSH_AT {
                    sink(&self.buf);
                    self.buf.clear();
                }
            }
            self.line_started = true;
        }
        if self.wsp_pending {
            self.buf.push(b' ');
            self.wsp_pending = false;
        }
        self.buf.push(b);
        self.emitted = true;
    }

    fn end_of_line(&mut self) {
        self.wsp_pending = false;
        if self.line_started {
            self.buf.extend_from_slice(b"\r\n");
            self.line_started = false;
        } else {
            self.pending_empty = self.pending_empty.saturating_add(1);
        }
    }

    /// Emits a run of content bytes (no CR, and no WSP under relaxed).
    fn content_run(&mut self, run: &[u8], sink: &mut impl FnMut(&[u8])) {
        let Some((&first, rest)) = run.split_first() else {
            return;
        };
        self.content(first, sink);
        if rest.len() >= 512 {
            // Long runs go to the digest without a copy.
            if !self.buf.is_empty() {
                sink(&self.buf);
                self.buf.clear();
            }
            sink(rest);
        } else {
            self.buf.extend_from_slice(rest);
            if self.buf.len() >= FLUSH_AT {
                sink(&self.buf);
                self.buf.clear();
            }
        }
    }

    /// Feeds body bytes. Content runs between CRs (and WSP, under relaxed) are found
    /// with `memchr` and passed on whole.
    pub(crate) fn update(&mut self, mut data: &[u8], sink: &mut impl FnMut(&[u8])) {
        let relaxed = self.kind == Canonicalization::Relaxed;
        while let Some(&b0) = data.first() {
            if self.cr_pending {
                self.cr_pending = false;
                if b0 == b'\n' {
                    self.end_of_line();
                    data = &data[1..];
                    continue;
                }
                self.content(b'\r', sink);
            }
            let find = |d: &[u8]| {
                if relaxed {
                    relaxed_special(d)
                } else {
                    memchr::memchr(b'\r', d)
                }
            };
            let mut run_end = find(data).unwrap_or(data.len());
            // A CRLF between content and a line that starts with content is canonical
            // as it is: the run goes on over it (one digest update per paragraph).
            while run_end > 0
                && data.get(run_end + 1) == Some(&b'\n')
                && data.get(run_end) == Some(&b'\r')
                && data
                    .get(run_end + 2)
                    .is_some_and(|&c| c != b'\r' && !(relaxed && (c == b' ' || c == b'\t')))
            {
                let from = run_end + 2;
                run_end = from + find(&data[from..]).unwrap_or(data.len() - from);
            }
            self.content_run(&data[..run_end], sink);
            let Some(&b) = data.get(run_end) else {
                break;
            };
            if b == b'\r' {
                self.cr_pending = true;
            } else {
                self.wsp_pending = true;
            }
            data = &data[run_end + 1..];
            if self.buf.len() >= FLUSH_AT {
                sink(&self.buf);
                self.buf.clear();
            }
        }
        if !self.buf.is_empty() {
            sink(&self.buf);
            self.buf.clear();
        }
    }

    /// Ends the body: the last line gets its CRLF, trailing empty lines are dropped, and
    /// an empty body becomes CRLF under `simple` and stays empty under `relaxed`.
    pub(crate) fn finish(&mut self, sink: &mut impl FnMut(&[u8])) {
        if self.cr_pending {
            self.cr_pending = false;
            self.content(b'\r', sink);
        }
        if self.line_started {
            self.buf.extend_from_slice(b"\r\n");
            self.line_started = false;
        }
        if !self.emitted && self.kind == Canonicalization::Simple {
            self.buf.extend_from_slice(b"\r\n");
        }
        if !self.buf.is_empty() {
            sink(&self.buf);
            self.buf.clear();
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
mod reference {
    //! The RFC 6376 3.4.3/3.4.4 body rules applied to a whole body, line by line: the
    //! streaming canonicalizer must agree with them at every split.
    use super::*;
    use proptest::prelude::*;

    fn reference(kind: Canonicalization, body: &[u8]) -> Vec<u8> {
        let mut lines: Vec<Vec<u8>> = Vec::new();
        let mut rest = body;
        loop {
            match rest.windows(2).position(|w| w == b"\r\n") {
                Some(p) => {
                    lines.push(rest[..p].to_vec());
                    rest = &rest[p + 2..];
                }
                None => {
                    lines.push(rest.to_vec());
                    break;
                }
            }
        }
        if kind == Canonicalization::Relaxed {
            for line in &mut lines {
                let mut out = Vec::new();
                let mut ws = false;
                for &b in line.iter() {
                    if b == b' ' || b == b'\t' {
                        ws = true;
                    } else {
                        if ws {
                            out.push(b' ');
                        }
                        ws = false;
                        out.push(b);
                    }
                }
                *line = out;
            }
        }
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        let mut out = Vec::new();
        for l in &lines {
            out.extend_from_slice(l);
            out.extend_from_slice(b"\r\n");
        }
        if out.is_empty() && kind == Canonicalization::Simple {
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    fn streamed(kind: Canonicalization, body: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut c = BodyCanon::new(kind);
        let mut out = Vec::new();
        let mut at = 0;
        for &cut in cuts {
            let cut = cut.min(body.len()).max(at);
            c.update(&body[at..cut], &mut |b: &[u8]| out.extend_from_slice(b));
            at = cut;
        }
        c.update(&body[at..], &mut |b: &[u8]| out.extend_from_slice(b));
        c.finish(&mut |b: &[u8]| out.extend_from_slice(b));
        out
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop::sample::select(vec![b'a', b'b', b' ', b'\t', b'\r', b'\n', 0u8, 0xff]),
            0..200,
        )
    }

    proptest! {
        #[test]
        fn streaming_matches_the_rfc_rules_at_any_split(
            body in body(),
            mut cuts in prop::collection::vec(0usize..200, 0..8),
            relaxed in any::<bool>(),
        ) {
            cuts.sort_unstable();
            let kind = if relaxed { Canonicalization::Relaxed } else { Canonicalization::Simple };
            prop_assert_eq!(streamed(kind, &body, &cuts), reference(kind, &body));
        }
    }

    #[test]
    fn long_runs_cross_the_flush_size() {
        let mut body = vec![b'x'; 3 * FLUSH_AT + 5];
        body.extend_from_slice(b" \t \r\n\r\n");
        body.extend(std::iter::repeat_n(b'\n', FLUSH_AT));
        body.extend_from_slice(&[b' '; 100]);
        for kind in [Canonicalization::Simple, Canonicalization::Relaxed] {
            assert_eq!(
                streamed(kind, &body, &[7, FLUSH_AT, 2 * FLUSH_AT + 1]),
                reference(kind, &body)
            );
        }
    }
}
