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
//! (the body starts after it) or at the end of the input. A line that is neither a field
//! nor the continuation of one (a line without a colon, a line whose name has bytes outside
//! `%d33-126` such as `Sub ject:`, a line starting with white space before any field) is
//! skipped with its continuation lines when a field follows it; when none does, it is the
//! first line of a body that lacks its blank separator line. A first line starting with
//! `From ` (an mbox separator) is skipped. White space and folds right after the colon are
//! not part of the value.

use std::borrow::Cow;

use memchr::memchr;

use crate::{ParseError, ParseErrorKind};

/// One header field: its name and its raw value, borrowed from the input (or owned, after
/// [`Header::into_owned`] or [`Message::into_owned`](crate::Message::into_owned)).
///
/// The raw value is everything after the colon up to the end of the field's last line,
/// with the white space right after the colon removed and the folding line breaks kept;
/// the field's final line break is not part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    name: Cow<'a, str>,
    value: Cow<'a, [u8]>,
    offset: usize,
    value_offset: usize,
}

impl<'a> Header<'a> {
    /// The field name as written (compare it with [`Header::is`], names are
    /// case-insensitive).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this field's name is `name`, compared ASCII case-insensitively.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The value as in the input: folding kept, leading white space after the colon
    /// removed, the final line break excluded.
    pub fn raw_value(&self) -> &[u8] {
        &self.value
    }

    /// The raw value as stored: borrowed from the input, or owned.
    pub(crate) fn value_cow(&self) -> &Cow<'a, [u8]> {
        &self.value
    }

    /// The same field, owning its name and value; offsets are kept.
    ///
    /// ```
    /// use postwerk_message::Message;
    /// let raw = b"Subject: hi\r\n\r\n".to_vec();
    /// let field = Message::parse(&raw).unwrap().header("subject").unwrap().clone().into_owned();
    /// drop(raw);
    /// assert_eq!(field.raw_value(), b"hi");
    /// ```
    pub fn into_owned(self) -> Header<'static> {
        Header {
            name: Cow::Owned(self.name.into_owned()),
            value: Cow::Owned(self.value.into_owned()),
            offset: self.offset,
            value_offset: self.value_offset,
        }
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
        match &self.value {
            Cow::Borrowed(b) => unfold(b),
            Cow::Owned(v) => Cow::Owned(unfold(v).into_owned()),
        }
    }

    /// The unfolded value with RFC 2047 encoded words decoded, for unstructured fields
    /// such as `Subject:` and `Comments:`.
    ///
    /// Raw 8-bit bytes, which RFC 5322 does not allow but real mail has, are read as
    /// UTF-8 where they are valid UTF-8 and as Windows-1252 elsewhere; inside an encoded
    /// word they are read as UTF-8 where valid, else in the word's charset, else as
    /// Windows-1252. A word in a charset this crate does not know is read as UTF-8, with
    /// U+FFFD for what is not. [`Message::subject`](crate::Message::subject) also tries the
    /// message's own charset first.
    pub fn decoded(&self) -> Cow<'a, str> {
        self.decoded_in(None).0
    }

    /// [`Header::decoded`] with `charset` as the legacy charset of raw 8-bit bytes, and
    /// what decoding noticed (bytes read in a legacy charset, an unknown charset).
    pub(crate) fn decoded_in(
        &self,
        charset: Option<&str>,
    ) -> (Cow<'a, str>, crate::encoded_word::Notes) {
        let owned = |b: &[u8]| {
            let (text, notes) = crate::encoded_word::decode_bytes(b, charset);
            (Cow::Owned(text.into_owned()), notes)
        };
        match &self.value {
            Cow::Borrowed(raw) => match unfold_bytes(raw) {
                Cow::Borrowed(b) => crate::encoded_word::decode_bytes(b, charset),
                Cow::Owned(v) => owned(&v),
            },
            Cow::Owned(raw) => owned(&unfold_bytes(raw)),
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
    match unfold_bytes(raw) {
        Cow::Borrowed(b) => String::from_utf8_lossy(b),
        Cow::Owned(v) => match String::from_utf8(v) {
            Ok(s) => Cow::Owned(s),
            Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        },
    }
}

/// Unfolds a raw header value as bytes: line breaks removed, trailing white space trimmed.
pub(crate) fn unfold_bytes(raw: &[u8]) -> Cow<'_, [u8]> {
    let trimmed = trim_end_ws(raw);
    if memchr(b'\n', trimmed).is_none() {
        return Cow::Borrowed(trimmed);
    }
    let mut out = Vec::with_capacity(trimmed.len());
    let mut rest = trimmed;
    while let Some(i) = memchr(b'\n', rest) {
        let (line, tail) = rest.split_at(i);
        out.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        rest = tail.get(1..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
    Cow::Owned(out)
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
    /// Offsets (in the whole input) of the lines that were not fields and were skipped.
    pub(crate) skipped: Vec<usize>,
}

/// The line starting at `pos`: its content without the line break, and where the next
/// line starts.
fn line_at(data: &[u8], pos: usize) -> (&[u8], usize) {
    let rest = data.get(pos..).unwrap_or_default();
    let (line_len, next) = match memchr(b'\n', rest) {
        Some(i) => (i, pos + i + 1),
        None => (rest.len(), data.len()),
    };
    let line = rest.get(..line_len).unwrap_or_default();
    (line.strip_suffix(b"\r").unwrap_or(line), next)
}

/// The field name of a line and the position of its colon, when the line is a field:
/// `name *WSP ":"` with a name of bytes 33–126 (so `Sub ject:` is not a field).
fn field_name(content: &[u8]) -> Option<(&str, usize)> {
    let colon = memchr(b':', content)?;
    let name_bytes = trim_wsp_end(content.get(..colon).unwrap_or_default());
    if name_bytes.is_empty() || !name_bytes.iter().all(|&b| (33..=126).contains(&b)) {
        return None;
    }
    Some((std::str::from_utf8(name_bytes).ok()?, colon))
}

/// Whether the line at `pos` that is not a field (with the continuation lines after it)
/// is followed by a field, so that it is a stray line inside the header section rather
/// than the first line of a body that lacks its blank separator line.
fn stray_line_before_field(data: &[u8], pos: usize) -> bool {
    let (_, mut next) = line_at(data, pos);
    while next < data.len() {
        let (content, after) = line_at(data, next);
        match content.first() {
            None => return false,
            Some(&b) if is_wsp(b) => next = after,
            Some(_) => return field_name(content).is_some(),
        }
    }
    false
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
    let mut skipped = Vec::new();
    let mut pos = 0usize;
    if skip_mbox_from && data.starts_with(b"From ") && !is_obs_from_field(data) {
        pos = memchr(b'\n', data).map_or(len, |i| i + 1);
    }
    // The field being read: (name, name offset, value start, value end).
    let mut cur: Option<(&str, usize, usize, usize)> = None;
    // Inside a skipped line and its continuation lines.
    let mut skipping = false;
    let body_start = loop {
        if pos >= len {
            break len;
        }
        let (content, next) = line_at(data, pos);
        if content.is_empty() {
            break next;
        }
        if content.first().copied().is_some_and(is_wsp) {
            if skipping {
                pos = next;
                continue;
            }
            if let Some(field) = cur.as_mut() {
                field.3 = pos + content.len();
                pos = next;
                continue;
            }
        }
        let Some((name, colon)) = field_name(content) else {
            // Not a field: a stray line when a field follows, else the body's first line.
            if !stray_line_before_field(data, pos) {
                break pos;
            }
            if let Some((n, off, vs, ve)) = cur.take() {
                headers.push(make_header(data, base, n, off, vs, ve));
            }
            skipped.push(base + pos);
            skipping = true;
            pos = next;
            continue;
        };
        skipping = false;
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
        skipped,
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
    let value = data.get(vstart..vend).unwrap_or_default();
    // A field folded right after its colon: the fold is not part of the value.
    let trimmed = trim_start_ws(value);
    Header {
        name: Cow::Borrowed(name),
        value: Cow::Borrowed(trimmed),
        offset: base + off,
        value_offset: base + vstart + (value.len() - trimmed.len()),
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
    fn stray_line_between_fields_is_skipped() {
        let d = b"A: 1\r\nthis is no field\r\n  cont\r\nB: 2\r\nSub ject: 3\r\nC: 4\r\n\r\nbody";
        let s = parse(d);
        let names: Vec<&str> = s.headers.iter().map(|h| h.name()).collect();
        assert_eq!(names, ["A", "B", "C"]);
        assert_eq!(s.skipped, [6, 38]);
        assert_eq!(&d[s.body_start..], b"body");
    }

    #[test]
    fn line_without_colon_and_no_field_after_starts_body() {
        let d = b"A: 1\r\nthis is body\r\nmore body\r\n";
        let s = parse(d);
        assert_eq!(s.headers.len(), 1);
        assert_eq!(&d[s.body_start..], b"this is body\r\nmore body\r\n");
        let d = b"Hello world\r\n\r\nsecond paragraph";
        let s = parse_header_section(d, 0, 10, false).unwrap();
        assert!(s.headers.is_empty());
        assert_eq!(s.body_start, 0);
    }

    #[test]
    fn fold_right_after_the_colon_is_not_part_of_the_value() {
        let d = b"Subject:\r\n Hello\r\n world\r\nX:\n\ty\n\n";
        let s = parse(d);
        assert_eq!(s.headers[0].raw_value(), b"Hello\r\n world");
        assert_eq!(s.headers[0].value_offset(), 11);
        assert_eq!(s.headers[0].unfolded(), "Hello world");
        assert_eq!(s.headers[1].raw_value(), b"y");
        let s = parse(b"A:\r\nB: x\r\n\r\n");
        assert_eq!(s.headers[0].raw_value(), b"");
        assert_eq!(s.headers[1].raw_value(), b"x");
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
