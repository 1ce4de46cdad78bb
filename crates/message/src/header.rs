//! Header fields (RFC 5322 section 2.2 and the obsolete syntax of section 4.5).
//!
//! The header section is split into fields with `memchr`; each field's name and raw value
//! borrow from the input. Unfolding and RFC 2047 decoding happen only when asked for.
//!
//! # How the header section ends
//!
//! ```text
//! field  = field-name ":" unstructured CRLF        ; RFC 5322 2.2
//! obs-optional = field-name *WSP ":" unstructured CRLF   ; RFC 5322 4.5
//! ```
//!
//! Lines may end in CRLF or in a bare LF. The header section ends at the first empty line
//! (the body starts after it), at the end of the input, or at the first line that is
//! neither a field nor the continuation of one: a line without a colon, a line whose name
//! has bytes outside `%d33-126`, or a line starting with white space before any field.
//! Such a line is the first line of the body, which is what deployed parsers do with
//! messages that lack the blank separator line. A first line starting with `From ` (an
//! mbox separator) is skipped.

use std::borrow::Cow;

use memchr::{memchr, memmem};

use crate::{ParseError, ParseErrorKind};

/// One header field: its name and its raw value, borrowed from the input.
///
/// The raw value is everything after the colon up to the end of the field's last line,
/// with the white space right after the colon removed and the folding line breaks kept;
/// the field's final line break is not part of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    name: &'a str,
    value: &'a [u8],
    offset: usize,
    value_offset: usize,
}

impl<'a> Header<'a> {
    /// The field name as written (compare it with [`Header::is`], names are
    /// case-insensitive).
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// Whether this field's name is `name`, compared ASCII case-insensitively.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The value as in the input: folding kept, leading white space after the colon
    /// removed, the final line break excluded.
    pub fn raw_value(&self) -> &'a [u8] {
        self.value
    }

    /// Byte offset of the field name in the input given to
    /// [`Message::parse`](crate::Message::parse).
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Byte offset of the raw value in the input given to
    /// [`Message::parse`](crate::Message::parse).
    pub fn value_offset(&self) -> usize {
        self.value_offset
    }

    /// The value unfolded (RFC 5322 section 2.2.3): every line break (CRLF or bare LF)
    /// that is followed by white space is removed; trailing white space is trimmed.
    ///
    /// Bytes that are not UTF-8 are replaced with U+FFFD (the raw bytes stay available
    /// through [`Header::raw_value`]). Borrowed when the value is one valid UTF-8 line.
    pub fn unfolded(&self) -> Cow<'a, str> {
        unfold(self.value)
    }

    /// The unfolded value with RFC 2047 encoded words decoded, for unstructured fields
    /// such as `Subject:` and `Comments:`.
    pub fn decoded(&self) -> Cow<'a, str> {
        let unfolded = self.unfolded();
        if memmem::find(unfolded.as_bytes(), b"=?").is_none() {
            return unfolded;
        }
        match unfolded {
            Cow::Borrowed(s) => crate::encoded_word::decode(s),
            Cow::Owned(s) => Cow::Owned(crate::encoded_word::decode(&s).into_owned()),
        }
    }

    /// Adds `offset` (relative to the raw value) to an error from a parser that was given
    /// [`Header::raw_value`], so that it points into the message.
    pub(crate) fn rebase(&self, e: ParseError) -> ParseError {
        ParseError::new(e.kind(), e.offset().saturating_add(self.value_offset))
    }
}

/// Trims spaces, tabs, CR and LF at the end.
pub(crate) fn trim_end_ws(mut b: &[u8]) -> &[u8] {
    while let [rest @ .., last] = b {
        if matches!(last, b' ' | b'\t' | b'\r' | b'\n') {
            b = rest;
        } else {
            break;
        }
    }
    b
}

/// Trims spaces, tabs, CR and LF at the start.
pub(crate) fn trim_start_ws(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if matches!(first, b' ' | b'\t' | b'\r' | b'\n') {
            b = rest;
        } else {
            break;
        }
    }
    b
}

/// Unfolds a raw header value (see [`Header::unfolded`]).
pub(crate) fn unfold(raw: &[u8]) -> Cow<'_, str> {
    let trimmed = trim_end_ws(raw);
    if memchr(b'\n', trimmed).is_none() {
        return String::from_utf8_lossy(trimmed);
    }
    let mut out = Vec::with_capacity(trimmed.len());
    let mut rest = trimmed;
    while let Some(i) = memchr(b'\n', rest) {
        let (line, tail) = rest.split_at(i);
        out.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        rest = tail.get(1..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The parsed header section of a message or MIME part.
#[derive(Debug)]
pub(crate) struct HeaderSection<'a> {
    pub(crate) headers: Vec<Header<'a>>,
    /// Offset of the body relative to the start of the section's data.
    pub(crate) body_start: usize,
}

/// Splits `data` into header fields and finds where the body starts.
///
/// `base` is the offset of `data` in the whole input (for offsets in headers and errors);
/// `skip_mbox_from` skips a leading `From ` line.
pub(crate) fn parse_header_section(
    data: &[u8],
    base: usize,
    max_headers: usize,
    skip_mbox_from: bool,
) -> Result<HeaderSection<'_>, ParseError> {
    let len = data.len();
    // A message usually has a few dozen fields, a MIME part a few.
    let mut headers: Vec<Header<'_>> = Vec::with_capacity(if skip_mbox_from { 32 } else { 4 });
    let mut pos = 0usize;
    if skip_mbox_from && data.starts_with(b"From ") && !is_obs_from_field(data) {
        pos = memchr(b'\n', data).map_or(len, |i| i + 1);
    }
    // The field being read: (name, name offset, value start, value end).
    let mut cur: Option<(&str, usize, usize, usize)> = None;
    let body_start = loop {
        let Some(rest) = data.get(pos..).filter(|r| !r.is_empty()) else {
            break len;
        };
        let (line_len, next) = match memchr(b'\n', rest) {
            Some(i) => (i, pos + i + 1),
            None => (rest.len(), len),
        };
        let line = rest.get(..line_len).unwrap_or_default();
        let content = line.strip_suffix(b"\r").unwrap_or(line);
        if content.is_empty() {
            break next;
        }
        if content.first().copied().is_some_and(is_wsp) {
            match cur.as_mut() {
                Some(field) => {
                    field.3 = pos + content.len();
                    pos = next;
                    continue;
                }
                None => break pos,
            }
        }
        let Some(colon) = memchr(b':', content) else {
            break pos;
        };
        let name_bytes = content.get(..colon).unwrap_or_default();
        let name_bytes = trim_wsp_end(name_bytes);
        if name_bytes.is_empty() || !name_bytes.iter().all(|&b| (33..=126).contains(&b)) {
            break pos;
        }
        let Ok(name) = std::str::from_utf8(name_bytes) else {
            break pos;
        };
        if let Some((n, off, vs, ve)) = cur.take() {
            headers.push(make_header(data, base, n, off, vs, ve));
        }
        if headers.len() >= max_headers {
            return Err(ParseError::new(ParseErrorKind::TooManyHeaders, base + pos));
        }
        let mut vstart = pos + colon + 1;
        while data.get(vstart).copied().is_some_and(is_wsp) {
            vstart += 1;
        }
        let vend = (pos + content.len()).max(vstart);
        cur = Some((name, pos, vstart, vend));
        pos = next;
    };
    if let Some((n, off, vs, ve)) = cur.take() {
        headers.push(make_header(data, base, n, off, vs, ve));
    }
    Ok(HeaderSection {
        headers,
        body_start: body_start.min(len),
    })
}

/// Whether `data` starts with `From` WSP* `:` (an obsolete-syntax From field, not an mbox
/// separator line).
fn is_obs_from_field(data: &[u8]) -> bool {
    data.get(4..)
        .unwrap_or_default()
        .iter()
        .find(|&&b| !is_wsp(b))
        .is_some_and(|&b| b == b':')
}

fn trim_wsp_end(mut b: &[u8]) -> &[u8] {
    while let [rest @ .., last] = b {
        if is_wsp(*last) {
            b = rest;
        } else {
            break;
        }
    }
    b
}

fn make_header<'a>(
    data: &'a [u8],
    base: usize,
    name: &'a str,
    off: usize,
    vstart: usize,
    vend: usize,
) -> Header<'a> {
    Header {
        name,
        value: data.get(vstart..vend).unwrap_or_default(),
        offset: base + off,
        value_offset: base + vstart,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(data: &[u8]) -> HeaderSection<'_> {
        parse_header_section(data, 0, 1000, true).unwrap()
    }

    #[test]
    fn simple_crlf() {
        let s = parse(b"From: a@b\r\nSubject:  hi \r\n\r\nbody");
        assert_eq!(s.headers.len(), 2);
        assert_eq!(s.headers[0].name(), "From");
        assert_eq!(s.headers[0].raw_value(), b"a@b");
        assert_eq!(s.headers[1].raw_value(), b"hi ");
        assert_eq!(s.headers[1].unfolded(), "hi");
        assert_eq!(s.body_start, 28);
    }

    #[test]
    fn folded_lf_only() {
        let s = parse(b"Subject: a\n b\n\tc\nX: y\n\nbody");
        assert_eq!(s.headers[0].raw_value(), b"a\n b\n\tc");
        assert_eq!(s.headers[0].unfolded(), "a b\tc");
        assert_eq!(s.headers[1].name(), "X");
        assert_eq!(
            &b"Subject: a\n b\n\tc\nX: y\n\nbody"[s.body_start..],
            b"body"
        );
    }

    #[test]
    fn obs_wsp_before_colon() {
        let s = parse(b"Subject \t: x\r\n\r\n");
        assert_eq!(s.headers[0].name(), "Subject");
        assert_eq!(s.headers[0].raw_value(), b"x");
    }

    #[test]
    fn line_without_colon_starts_body() {
        let d = b"A: 1\r\nthis is body\r\nB: 2\r\n";
        let s = parse(d);
        assert_eq!(s.headers.len(), 1);
        assert_eq!(&d[s.body_start..], b"this is body\r\nB: 2\r\n");
    }

    #[test]
    fn no_blank_line_and_empty_value() {
        let s = parse(b"A:\r\nB: x");
        assert_eq!(s.headers.len(), 2);
        assert_eq!(s.headers[0].raw_value(), b"");
        assert_eq!(s.headers[1].raw_value(), b"x");
        assert_eq!(s.body_start, 8);
    }

    #[test]
    fn mbox_from_line_skipped() {
        let s = parse(b"From me@x Sat Jan  1 00:00:00 2000\nA: 1\n\nb");
        assert_eq!(s.headers.len(), 1);
        assert_eq!(s.headers[0].name(), "A");
    }

    #[test]
    fn obs_from_field_is_not_mbox_line() {
        let s = parse(b"From  : a@b\nA: 1\n\nb");
        assert_eq!(s.headers.len(), 2);
        assert_eq!(s.headers[0].name(), "From");
    }

    #[test]
    fn leading_continuation_is_body() {
        let s = parse(b" x: y\r\n\r\n");
        assert!(s.headers.is_empty());
        assert_eq!(s.body_start, 0);
    }

    #[test]
    fn too_many_headers() {
        let d = b"A: 1\nA: 2\nA: 3\n\n";
        let e = parse_header_section(d, 0, 2, false).unwrap_err();
        assert_eq!(e.kind(), ParseErrorKind::TooManyHeaders);
        assert_eq!(e.offset(), 10);
    }

    #[test]
    fn invalid_utf8_is_lossy() {
        let s = parse(b"Subject: caf\xe9\r\n\r\n");
        assert_eq!(s.headers[0].raw_value(), b"caf\xe9");
        assert_eq!(s.headers[0].unfolded(), "caf\u{fffd}");
    }
}
