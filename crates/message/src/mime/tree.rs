//! The MIME tree of a message, flattened in pre-order into an arena and built with an
//! explicit work stack (no recursion, so hostile nesting cannot overflow the stack).
//!
//! Multipart bodies are split per RFC 2046 section 5.1.1:
//!
//! ```text
//! dash-boundary  := "--" boundary
//! delimiter      := CRLF dash-boundary
//! close-delimiter := delimiter "--"
//! body-part line := delimiter transport-padding CRLF   ; transport-padding := *LWSP-char
//! ```
//!
//! A delimiter is recognised only at the start of a line and only when followed by
//! optional `--`, optional white space and the end of the line; the line break before it
//! belongs to the delimiter. Text before the first delimiter is the preamble, text after
//! the close delimiter the epilogue; a missing close delimiter ends the last part at the
//! end of the body. A `message/rfc822` (or `message/global`) part gets one child: the
//! encapsulated message, whose own parts follow as its descendants.

use std::borrow::Cow;

use memchr::memmem;

use super::content_type::{ContentDisposition, ContentType};
use crate::header::{Header, parse_header_section};
use crate::message::Limits;
use crate::src::Src;
use crate::transfer::TransferEncoding;
use crate::{ParseError, ParseErrorKind};

/// One node of the MIME tree: a header section and a body.
///
/// Index 0 of [`Message::parts`](crate::Message::parts) is the message itself.
#[derive(Debug, Clone)]
pub struct Part<'a> {
    headers: Vec<Header<'a>>,
    content_type: ContentType<'a>,
    /// The input (or a shared copy); the part is `offset..end`, its body `body_offset..end`.
    src: Src<'a>,
    offset: usize,
    body_offset: usize,
    end: usize,
    parent: Option<usize>,
    children: Vec<usize>,
    depth: usize,
    preamble: Option<(usize, usize)>,
    epilogue: Option<(usize, usize)>,
}

impl<'a> Part<'a> {
    /// The part's header fields in order.
    pub fn headers(&self) -> &[Header<'a>] {
        &self.headers
    }

    /// The first field named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&Header<'a>> {
        self.headers.iter().find(|h| h.is(name))
    }

    /// The media type: from `Content-Type`, or the default (`text/plain;
    /// charset=us-ascii`, or `message/rfc822` inside `multipart/digest`) when the field is
    /// absent or invalid.
    pub fn content_type(&self) -> &ContentType<'a> {
        &self.content_type
    }

    /// The `Content-Transfer-Encoding` (7bit when absent).
    pub fn content_transfer_encoding(&self) -> TransferEncoding {
        self.header("content-transfer-encoding")
            .map_or(TransferEncoding::SevenBit, |h| {
                TransferEncoding::parse(h.raw_value())
            })
    }

    /// The `Content-Disposition`, when present and valid.
    pub fn content_disposition(&self) -> Option<ContentDisposition<'a>> {
        match self.header("content-disposition")?.value_cow() {
            Cow::Borrowed(b) => ContentDisposition::parse(b),
            Cow::Owned(v) => ContentDisposition::parse(v).map(ContentDisposition::into_owned),
        }
    }

    /// The file name: the disposition's `filename`, else the type's `name` parameter
    /// (RFC 2231 and encoded words decoded).
    pub fn filename(&self) -> Option<Cow<'a, str>> {
        if let Some(name) = self
            .content_disposition()
            .and_then(|mut cd| cd.take_param("filename"))
        {
            return Some(name);
        }
        self.content_type.clone().take_param("name")
    }

    /// The index of the enclosing part, `None` for the message itself.
    pub fn parent(&self) -> Option<usize> {
        self.parent
    }

    /// Indices of the direct children (body parts of a multipart, or the encapsulated
    /// message of a `message/rfc822` part).
    pub fn children(&self) -> &[usize] {
        &self.children
    }

    /// Nesting depth: 0 for the message itself.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Whether the content type is `multipart/*`.
    pub fn is_multipart(&self) -> bool {
        self.content_type.is_multipart()
    }

    /// The whole part (header section and body) as in the input.
    pub fn raw(&self) -> &[u8] {
        self.src.get(self.offset, self.end)
    }

    /// Byte offset of the part in the input.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Byte offset of the body in the input.
    pub fn body_offset(&self) -> usize {
        self.body_offset
    }

    /// The body as in the input (still transfer-encoded).
    pub fn raw_body(&self) -> &[u8] {
        self.src.get(self.body_offset, self.end)
    }

    /// For a split multipart: the text before the first delimiter.
    pub fn preamble(&self) -> Option<&[u8]> {
        self.preamble.map(|(s, e)| self.src.get(s, e))
    }

    /// For a multipart with a close delimiter: the text after it.
    pub fn epilogue(&self) -> Option<&[u8]> {
        self.epilogue.map(|(s, e)| self.src.get(s, e))
    }

    /// The body with its transfer encoding undone; borrowed from the input for 7bit,
    /// 8bit, binary and unknown encodings (copied when the part is owned).
    pub fn decoded_body(&self) -> Cow<'a, [u8]> {
        let cte = self.content_transfer_encoding();
        match self.src.borrowed(self.body_offset, self.end) {
            Some(body) => cte.decode(body),
            None => Cow::Owned(cte.decode(self.raw_body()).into_owned()),
        }
    }

    /// The same part, owning its header fields, content type and bytes; offsets, the
    /// parent and the children's indices are kept. A part of an owned
    /// [`Message`](crate::Message) shares the message's one copy of the input; a borrowed
    /// part copies its own bytes (header section and body).
    ///
    /// ```
    /// use postwerk_message::Message;
    /// let raw = b"Content-Type: text/plain; charset=utf-8\r\n\r\nGr\xc3\xbc\xc3\x9fe".to_vec();
    /// let part = Message::parse(&raw).unwrap().root_part().clone().into_owned();
    /// drop(raw);
    /// assert_eq!(part.decoded_text().unwrap(), "Grüße");
    /// ```
    pub fn into_owned(self) -> Part<'static> {
        let src = self.src.to_shared(self.offset, self.end);
        self.with_src(src)
    }

    /// This part with its bytes in `src` (which holds at least `offset..end`).
    pub(crate) fn with_src(self, src: Src<'static>) -> Part<'static> {
        Part {
            headers: self.headers.into_iter().map(Header::into_owned).collect(),
            content_type: self.content_type.into_owned(),
            src,
            offset: self.offset,
            body_offset: self.body_offset,
            end: self.end,
            parent: self.parent,
            children: self.children,
            depth: self.depth,
            preamble: self.preamble,
            epilogue: self.epilogue,
        }
    }

    /// For a `message/rfc822` or `message/global` part whose body is not transfer-encoded
    /// (7bit, 8bit or binary, as RFC 2046 section 5.2.1 requires): the attached message,
    /// parsed with the default [`Limits`], borrowing from the same input (for a part of an
    /// owned message, a copy of the body). `None` for other
    /// parts; for an encoded one, parse [`Part::decoded_body`] with
    /// [`Message::parse`](crate::Message::parse).
    ///
    /// ```
    /// use postwerk_message::Message;
    /// let raw = b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nhi\r\n";
    /// let outer = Message::parse(raw).unwrap();
    /// let inner = outer.root_part().message().unwrap();
    /// assert_eq!(inner.subject().unwrap(), "inner");
    /// assert_eq!(inner.body(), b"hi\r\n");
    /// ```
    pub fn message(&self) -> Option<crate::Message<'a>> {
        let ct = &self.content_type;
        let identity = matches!(
            self.content_transfer_encoding(),
            TransferEncoding::SevenBit | TransferEncoding::EightBit | TransferEncoding::Binary
        );
        if !(ct.is("message", "rfc822") || ct.is("message", "global")) || !identity {
            return None;
        }
        match self.src.borrowed(self.body_offset, self.end) {
            Some(body) => crate::Message::parse(body).ok(),
            None => crate::Message::parse(self.raw_body())
                .ok()
                .map(crate::Message::owned_as),
        }
    }

    /// For `text/*` parts: the body transfer-decoded, then decoded from its charset to
    /// UTF-8 (malformed sequences become U+FFFD; an unknown charset is read as UTF-8).
    /// `None` for other types.
    pub fn decoded_text(&self) -> Option<Cow<'a, str>> {
        if self.content_type.main_type() != "text" {
            return None;
        }
        let charset = self.content_type.charset().unwrap_or("us-ascii");
        Some(match self.decoded_body() {
            Cow::Borrowed(b) => super::decode_charset(charset.as_bytes(), b),
            Cow::Owned(v) => Cow::Owned(super::decode_charset(charset.as_bytes(), &v).into_owned()),
        })
    }
}

struct Pending {
    start: usize,
    end: usize,
    parent: Option<usize>,
    depth: usize,
    in_digest: bool,
}

/// Child ranges of a multipart body (offsets relative to the body).
struct Split {
    parts: Vec<(usize, usize)>,
    preamble: (usize, usize),
    epilogue: Option<(usize, usize)>,
}

/// Splits a multipart body at its delimiters; errors when there are more than `max` parts.
///
/// `candidates` yields, in increasing order, offsets in `body` where a delimiter may
/// start (every line start beginning with `--` is enough); each is checked here.
fn split_multipart(
    body: &[u8],
    boundary: &[u8],
    max: usize,
    candidates: impl Iterator<Item = usize>,
) -> Result<Split, usize> {
    let delim_len = boundary.len() + 2;
    let len = body.len();
    let mut parts = Vec::new();
    let mut preamble = (0, len);
    let mut epilogue = None;
    let mut current: Option<usize> = None;
    let mut search = 0usize;
    for i in candidates {
        if i < search {
            continue;
        }
        let is_delim = body
            .get(i..)
            .and_then(|b| b.strip_prefix(b"--"))
            .is_some_and(|b| b.starts_with(boundary));
        if !is_delim || (i > 0 && body.get(i - 1) != Some(&b'\n')) {
            continue;
        }
        search = i + 1;
        let mut j = i + delim_len;
        let close = body.get(j..j + 2) == Some(b"--");
        if close {
            j += 2;
        }
        while matches!(body.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        let after = match body.get(j) {
            None => len,
            Some(b'\n') => j + 1,
            Some(b'\r') if body.get(j + 1) == Some(&b'\n') => j + 2,
            Some(b'\r') if j + 1 == len => len,
            _ => continue,
        };
        let content_end = if i >= 2 && body.get(i - 2..i) == Some(b"\r\n") {
            i - 2
        } else {
            i.saturating_sub(1)
        };
        match current {
            None => preamble = (0, content_end),
            Some(s) => {
                if parts.len() >= max {
                    return Err(i);
                }
                parts.push((s, content_end.max(s)));
            }
        }
        if close {
            epilogue = Some((after, len));
            current = None;
            break;
        }
        current = Some(after);
        search = after.max(search);
    }
    if let Some(s) = current {
        if parts.len() >= max {
            return Err(len);
        }
        parts.push((s, len));
    }
    Ok(Split {
        parts,
        preamble,
        epilogue,
    })
}

/// Nesting depth from which multiparts are split with the [`LineIndex`].
const INDEX_DEPTH: usize = 3;

/// Offsets of the lines of the input that start with `--`, built on first use.
#[derive(Default)]
struct LineIndex {
    positions: Option<Vec<u32>>,
}

impl LineIndex {
    fn get(&mut self, input: &[u8]) -> &[u32] {
        self.positions.get_or_insert_with(|| {
            let mut v = Vec::new();
            if input.starts_with(b"--") {
                v.push(0);
            }
            v.extend(memmem::find_iter(input, b"\n--").filter_map(|i| u32::try_from(i + 1).ok()));
            v
        })
    }
}

/// The MIME tree of a message: the parts in pre-order (index 0 is the message), and the
/// limit error that stopped the walk, if one did (the parts built until then are kept).
pub(crate) type Tree<'a> = (Vec<Part<'a>>, Option<ParseError>);

/// Builds the MIME tree of `input`, whose own header section is already parsed
/// (`root_headers`, body at `root_body_start`).
pub(crate) fn build_tree<'a>(
    src: &Src<'a>,
    root_headers: &[Header<'a>],
    root_body_start: usize,
    limits: &Limits,
) -> Tree<'a> {
    let mut parts: Vec<Part<'a>> = Vec::new();
    let error = walk(src, root_headers, root_body_start, limits, &mut parts).err();
    (parts, error)
}

/// The header section at `start..end` of `src`, borrowing from the input when `src` does.
fn part_headers<'a>(
    src: &Src<'a>,
    start: usize,
    end: usize,
    max_headers: usize,
) -> Result<(Vec<Header<'a>>, usize), ParseError> {
    if let Some(data) = src.borrowed(start, end) {
        let section = parse_header_section(data, start, max_headers, false)?;
        return Ok((section.headers, section.body_start));
    }
    let section = parse_header_section(src.get(start, end), start, max_headers, false)?;
    let headers = section
        .headers
        .into_iter()
        .map(Header::into_owned)
        .collect();
    Ok((headers, section.body_start))
}

/// The content type in `h`, borrowing from the input when `h` does.
fn content_type_of<'a>(h: &Header<'a>) -> Option<ContentType<'a>> {
    match h.value_cow() {
        Cow::Borrowed(b) => ContentType::parse(b),
        Cow::Owned(v) => ContentType::parse(v).map(ContentType::into_owned),
    }
}

fn walk<'a>(
    src: &Src<'a>,
    root_headers: &[Header<'a>],
    root_body_start: usize,
    limits: &Limits,
    parts: &mut Vec<Part<'a>>,
) -> Result<(), ParseError> {
    let input = src.all();
    // Inputs that fit u32 offsets use one shared index of candidate delimiter lines for
    // deep multiparts, so nesting does not rescan the bodies byte by byte at every level.
    let mut line_index = (u32::try_from(input.len()).is_ok()).then(LineIndex::default);
    let mut stack = vec![Pending {
        start: 0,
        end: input.len(),
        parent: None,
        depth: 0,
        in_digest: false,
    }];
    while let Some(p) = stack.pop() {
        let data = input.get(p.start..p.end).unwrap_or_default();
        let (headers, body_start) = if p.parent.is_none() {
            (root_headers.to_vec(), root_body_start.min(data.len()))
        } else {
            if parts.len() >= limits.max_parts {
                return Err(ParseError::new(ParseErrorKind::TooManyParts, p.start));
            }
            part_headers(src, p.start, p.end, limits.max_headers)?
        };
        let body = data.get(body_start..).unwrap_or_default();
        let body_offset = p.start + body_start;
        let ct = headers
            .iter()
            .find(|h| h.is("content-type"))
            .and_then(content_type_of);
        let content_type = match ct {
            Some(ct) => ct,
            None if p.in_digest => ContentType::message_rfc822_default(),
            None => ContentType::text_plain_default(),
        };
        let index = parts.len();
        if let Some(parent) = p.parent.and_then(|i| parts.get_mut(i)) {
            parent.children.push(index);
        }
        parts.push(Part {
            headers,
            content_type,
            src: src.clone(),
            offset: p.start,
            body_offset,
            end: p.end,
            parent: p.parent,
            children: Vec::new(),
            depth: p.depth,
            preamble: None,
            epilogue: None,
        });
        let Some(part) = parts.last_mut() else {
            break;
        };
        let boundary = part
            .content_type
            .boundary()
            .filter(|_| part.content_type.is_multipart())
            .filter(|b| !b.is_empty())
            .map(str::as_bytes);
        let encapsulates = (part.content_type.is("message", "rfc822")
            || part.content_type.is("message", "global"))
            && matches!(
                part.content_transfer_encoding(),
                TransferEncoding::SevenBit | TransferEncoding::EightBit | TransferEncoding::Binary
            );
        if (boundary.is_some() || encapsulates) && p.depth >= limits.max_depth {
            return Err(ParseError::new(ParseErrorKind::TooDeep, body_offset));
        }
        if let Some(boundary) = boundary {
            let room = limits.max_parts.saturating_sub(index + 1);
            // Shallow multiparts search their own delimiter (fast on real mail); deeper
            // ones use the shared line index so that hostile nesting stays linear.
            let split = match line_index.as_mut().filter(|_| p.depth >= INDEX_DEPTH) {
                Some(li) => {
                    let positions = li.get(input);
                    let lo = positions.partition_point(|&x| (x as usize) < body_offset);
                    let hi = positions.partition_point(|&x| (x as usize) < p.end);
                    let candidates = positions
                        .get(lo..hi)
                        .unwrap_or_default()
                        .iter()
                        .map(|&x| x as usize - body_offset);
                    split_multipart(body, boundary, room, candidates)
                }
                None => {
                    let mut delim = Vec::with_capacity(boundary.len() + 2);
                    delim.extend_from_slice(b"--");
                    delim.extend_from_slice(boundary);
                    let finder = memmem::Finder::new(&delim);
                    split_multipart(body, boundary, room, finder.find_iter(body))
                }
            }
            .map_err(|at| ParseError::new(ParseErrorKind::TooManyParts, body_offset + at))?;
            part.preamble = Some((
                body_offset + split.preamble.0,
                body_offset + split.preamble.1,
            ));
            part.epilogue = split
                .epilogue
                .map(|(s, e)| (body_offset + s, body_offset + e));
            let in_digest = part.content_type.subtype() == "digest";
            for &(s, e) in split.parts.iter().rev() {
                stack.push(Pending {
                    start: body_offset + s,
                    end: body_offset + e,
                    parent: Some(index),
                    depth: p.depth + 1,
                    in_digest,
                });
            }
        } else if encapsulates {
            stack.push(Pending {
                start: body_offset,
                end: p.end,
                parent: Some(index),
                depth: p.depth + 1,
                in_digest: false,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_basic() {
        let body = b"pre\r\n--b\r\none\r\n--b  \r\ntwo\r\n--b--\r\nepi";
        let s = split_multipart(body, b"b", 100, memmem::find_iter(body, b"--b")).unwrap();
        let parts: Vec<&[u8]> = s.parts.iter().map(|&(a, b)| &body[a..b]).collect();
        assert_eq!(parts, [&b"one"[..], b"two"]);
        assert_eq!(&body[s.preamble.0..s.preamble.1], b"pre");
        let (a, b) = s.epilogue.unwrap();
        assert_eq!(&body[a..b], b"epi");
    }

    #[test]
    fn split_ignores_prefix_matches_and_mid_line() {
        let body = b"--b\none --b\n--bx\n--b\ntwo";
        let s = split_multipart(body, b"b", 100, memmem::find_iter(body, b"--b")).unwrap();
        let parts: Vec<&[u8]> = s.parts.iter().map(|&(a, b)| &body[a..b]).collect();
        assert_eq!(parts, [&b"one --b\n--bx"[..], b"two"]);
        assert!(s.epilogue.is_none());
    }

    #[test]
    fn line_index_and_memmem_agree() {
        let body: &[u8] = b"--b\r\n--bb\r\nx\r\n--b \r\n\r\n--b\r\n-- b\r\n--b--\r\n--b\r\n";
        let a = split_multipart(body, b"b", 100, memmem::find_iter(body, b"--b")).unwrap();
        let mut li = LineIndex::default();
        let positions: Vec<usize> = li.get(body).iter().map(|&x| x as usize).collect();
        let b = split_multipart(body, b"b", 100, positions.into_iter()).unwrap();
        assert_eq!(a.parts, b.parts);
        assert_eq!(a.preamble, b.preamble);
        assert_eq!(a.epilogue, b.epilogue);
        assert_eq!(a.parts.len(), 3);
    }

    #[test]
    fn split_limit() {
        let body = b"--b\n1\n--b\n2\n--b\n3\n--b--";
        assert!(split_multipart(body, b"b", 2, memmem::find_iter(body, b"--b")).is_err());
        assert_eq!(
            split_multipart(body, b"b", 3, memmem::find_iter(body, b"--b"))
                .unwrap()
                .parts
                .len(),
            3
        );
    }
}
