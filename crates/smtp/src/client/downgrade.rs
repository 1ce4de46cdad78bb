//! The 8BITMIME → 7bit downgrade (RFC 6152 3, RFC 1652): when a message has 8-bit content
//! and the server does not offer 8BITMIME, every `text/*` part sent as `7bit`, `8bit` or
//! `binary` (or without a Content-Transfer-Encoding) is re-encoded as quoted-printable
//! (RFC 2045 6.7) and its header says so; `multipart/*` and `message/rfc822` entities
//! labelled `8bit` are relabelled `7bit` since their parts are downgraded in turn.
//!
//! It works line by line over the MIME structure, in a stream: only the header section of
//! the current entity (bounded, [`MAX_HEADER`]) and the start of the current line are
//! held, boundaries of enclosing multiparts are tracked on a stack ([`MAX_DEPTH`]).
//!
//! What cannot be downgraded fails with a [`DowngradeError`]: 8-bit octets in a header
//! section (the message needs SMTPUTF8, RFC 6531 3.2), or in a part that is not text, or
//! in a part already labelled base64 or quoted-printable, or in a multipart preamble or
//! epilogue.

use std::fmt;

use memchr::memchr;
use postwerk_message::ContentType;
use thiserror::Error;

/// The longest header section of one entity the downgrade holds (octets).
pub const MAX_HEADER: usize = 64 * 1024;
/// The deepest nesting of multiparts and encapsulated messages the downgrade follows.
pub const MAX_DEPTH: usize = 32;
/// A line longer than this cannot be a boundary (RFC 2046 5.1.1: at most 70 characters
/// plus the dashes): its bytes are passed on without being held.
const LINE_HOLD: usize = 256;
/// RFC 2045 6.7 (5): encoded lines are at most 76 characters; a soft line break takes one.
const QP_WIDTH: usize = 75;

/// Why an 8-bit message could not be turned into a 7-bit one.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DowngradeError {
    /// A header section has 8-bit octets: only SMTPUTF8 (RFC 6531) carries it.
    #[error("8-bit octets in a header section: the message needs SMTPUTF8")]
    EightBitHeader,
    /// A part that is not text (or is already base64 or quoted-printable) has 8-bit octets.
    #[error("8-bit octets in a {content_type} part that cannot be re-encoded")]
    EightBitPart {
        /// The part's content type (and transfer encoding when that is the reason).
        content_type: String,
    },
    /// A multipart preamble, epilogue or malformed structure has 8-bit octets.
    #[error("8-bit octets outside the parts of a multipart")]
    EightBitStructure,
    /// A header section is longer than [`MAX_HEADER`].
    #[error("a header section is longer than {0} octets")]
    HeaderTooLong(usize),
    /// Multiparts and messages nest deeper than [`MAX_DEPTH`].
    #[error("MIME structure nested deeper than {0}")]
    TooDeep(usize),
}

/// Downgrades a whole message held in memory (lines end in CRLF).
///
/// ```
/// use postwerk_smtp::client::downgrade_to_7bit;
/// let msg = "Subject: hi\r\n\r\nGrüße\r\n".as_bytes();
/// let out = downgrade_to_7bit(msg).unwrap();
/// assert_eq!(
///     out,
///     b"Subject: hi\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe\r\n"
/// );
/// assert!(downgrade_to_7bit("Subject: Grüße\r\n\r\nx\r\n".as_bytes()).is_err());
/// ```
pub fn downgrade_to_7bit(message: &[u8]) -> Result<Vec<u8>, DowngradeError> {
    let mut d = Downgrader::new();
    let mut out = Vec::with_capacity(message.len() + message.len() / 8);
    d.push(message, &mut out)?;
    d.finish(&mut out)?;
    Ok(out)
}

/// What happens to the lines of the current leaf body.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Leaf {
    /// Re-encoded as quoted-printable.
    Qp,
    /// Passed on; an 8-bit octet fails with this content type.
    SevenBit(Option<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Reading an entity's header section (held in `header`).
    Header {
        /// The message itself (not a part): MIME-Version may be added.
        top: bool,
        /// Parts of multipart/digest default to message/rfc822 (RFC 2046 5.1.5).
        digest: bool,
    },
    Body(Leaf),
}

/// The streaming downgrader.
pub(crate) struct Downgrader {
    state: State,
    header: Vec<u8>,
    /// The start of the current body line (at most [`LINE_HOLD`] octets).
    line: Vec<u8>,
    /// The current line is longer than [`LINE_HOLD`]: its octets go straight through.
    long_line: bool,
    /// `--boundary` of each enclosing multipart, innermost last, with its digest flag.
    frames: Vec<(Vec<u8>, bool)>,
    /// Encapsulated messages and parts entered (for [`MAX_DEPTH`]).
    depth: usize,
    qp: Qp,
}

impl fmt::Debug for Downgrader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Downgrader")
            .field("state", &self.state)
            .field("frames", &self.frames.len())
            .finish_non_exhaustive()
    }
}

impl Downgrader {
    pub(crate) fn new() -> Self {
        Downgrader {
            state: State::Header {
                top: true,
                digest: false,
            },
            header: Vec::new(),
            line: Vec::new(),
            long_line: false,
            frames: Vec::new(),
            depth: 0,
            qp: Qp::default(),
        }
    }

    /// Octets held (header section and line start), for the memory bound.
    pub(crate) fn held(&self) -> usize {
        self.header.len() + self.line.len()
    }

    /// Downgrades `input` (any split of a CRLF message) into `out`.
    pub(crate) fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), DowngradeError> {
        let mut rest = input;
        while !rest.is_empty() {
            let (piece, complete) = match memchr(b'\n', rest) {
                Some(i) => (rest.get(..=i).unwrap_or_default(), true),
                None => (rest, false),
            };
            rest = rest.get(piece.len()..).unwrap_or_default();
            self.piece(piece, complete, out)?;
        }
        Ok(())
    }

    /// The end of the message.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), DowngradeError> {
        if matches!(self.state, State::Header { .. }) {
            if !self.header.is_ascii() {
                return Err(DowngradeError::EightBitHeader);
            }
            out.append(&mut self.header);
        } else if self.long_line || !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.leaf_bytes(&line, out)?;
            if self.state == State::Body(Leaf::Qp) {
                self.qp.end_line(out, false);
            }
        }
        Ok(())
    }

    fn piece(
        &mut self,
        piece: &[u8],
        complete: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), DowngradeError> {
        if let State::Header { top, digest } = self.state {
            self.header.extend_from_slice(piece);
            if self.header.len() > MAX_HEADER {
                return Err(DowngradeError::HeaderTooLong(MAX_HEADER));
            }
            let blank = complete && (self.header == b"\r\n" || self.header.ends_with(b"\n\r\n"));
            if blank {
                self.end_header(top, digest, out)?;
            }
            return Ok(());
        }
        if self.long_line {
            // A CR held from the previous piece is always followed by this LF.
            self.line.clear();
            let content = strip_crlf(piece, complete);
            self.long_bytes(content, complete, out)?;
        } else {
            self.line.extend_from_slice(piece);
            if !complete {
                if self.line.len() > LINE_HOLD {
                    self.long_line = true;
                    let line = std::mem::take(&mut self.line);
                    self.long_bytes(&line, false, out)?;
                }
                return Ok(());
            }
            let line = std::mem::take(&mut self.line);
            if self.boundary(&line, out) {
                return Ok(());
            }
            self.leaf_bytes(strip_crlf(&line, true), out)?;
        }
        if complete {
            self.long_line = false;
            match self.state {
                State::Body(Leaf::Qp) => self.qp.end_line(out, true),
                _ => out.extend_from_slice(b"\r\n"),
            }
        }
        Ok(())
    }

    /// Octets of a line too long to be a boundary; a CR at the end of an unfinished piece
    /// waits for its LF.
    fn long_bytes(
        &mut self,
        bytes: &[u8],
        complete: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), DowngradeError> {
        match bytes.strip_suffix(b"\r").filter(|_| !complete) {
            Some(head) => {
                self.leaf_bytes(head, out)?;
                self.line.push(b'\r');
                Ok(())
            }
            None => self.leaf_bytes(bytes, out),
        }
    }

    /// A complete line that is a boundary of an enclosing multipart: passed on, and the
    /// structure follows it.
    fn boundary(&mut self, line: &[u8], out: &mut Vec<u8>) -> bool {
        if self.frames.is_empty() || !line.starts_with(b"--") {
            return false;
        }
        let text = trim_end(strip_crlf(line, true));
        for i in (0..self.frames.len()).rev() {
            let Some((b, digest)) = self.frames.get(i) else {
                continue;
            };
            let digest = *digest;
            let Some(tail) = text.strip_prefix(b.as_slice()) else {
                continue;
            };
            if tail.is_empty() {
                self.frames.truncate(i + 1);
                self.state = State::Header { top: false, digest };
            } else if tail == b"--" {
                self.frames.truncate(i);
                self.state = State::Body(Leaf::SevenBit(None));
            } else {
                continue;
            }
            out.extend_from_slice(line);
            return true;
        }
        false
    }

    /// Octets of a body line (without its line end).
    fn leaf_bytes(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), DowngradeError> {
        match &self.state {
            State::Body(Leaf::Qp) => {
                self.qp.bytes(bytes, out);
                Ok(())
            }
            State::Body(Leaf::SevenBit(why)) => {
                if !bytes.is_ascii() {
                    return Err(match why {
                        Some(content_type) => DowngradeError::EightBitPart {
                            content_type: content_type.clone(),
                        },
                        None => DowngradeError::EightBitStructure,
                    });
                }
                out.extend_from_slice(bytes);
                Ok(())
            }
            State::Header { .. } => Ok(()),
        }
    }

    /// The blank line after an entity's header: decide what its body becomes and write the
    /// (possibly rewritten) header.
    fn end_header(
        &mut self,
        top: bool,
        digest: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), DowngradeError> {
        let header = std::mem::take(&mut self.header);
        if !header.is_ascii() {
            return Err(DowngradeError::EightBitHeader);
        }
        let mut content_type = None;
        let mut cte = None;
        let mut mime_version = false;
        for (name, value) in fields(&header) {
            if name.eq_ignore_ascii_case(b"content-type") && content_type.is_none() {
                content_type = Some(unfold(value));
            } else if name.eq_ignore_ascii_case(b"content-transfer-encoding") && cte.is_none() {
                cte = Some(String::from_utf8_lossy(trim(&unfold(value))).to_ascii_lowercase());
            } else if name.eq_ignore_ascii_case(b"mime-version") {
                mime_version = true;
            }
        }
        let parsed = content_type.as_deref().and_then(ContentType::parse);
        let (main, sub, boundary) = match &parsed {
            Some(ct) => (
                ct.main_type().to_owned(),
                ct.subtype().to_owned(),
                ct.boundary().map(str::to_owned),
            ),
            None if digest => ("message".to_owned(), "rfc822".to_owned(), None),
            None => ("text".to_owned(), "plain".to_owned(), None),
        };
        let cte_name = cte.as_deref().unwrap_or("7bit");
        let identity = matches!(cte_name, "7bit" | "8bit" | "binary");
        let label = format!("{main}/{sub}");
        let mut new_cte: Option<&str> = None;
        let enter = |d: &mut Downgrader| {
            d.depth += 1;
            if d.depth > MAX_DEPTH {
                Err(DowngradeError::TooDeep(MAX_DEPTH))
            } else {
                Ok(())
            }
        };
        if main == "text" && identity {
            new_cte = Some("quoted-printable");
            self.state = State::Body(Leaf::Qp);
        } else if main == "multipart" && identity && boundary.is_some() {
            enter(self)?;
            let mut b = b"--".to_vec();
            b.extend_from_slice(boundary.unwrap_or_default().as_bytes());
            self.frames.push((b, sub == "digest"));
            if cte_name != "7bit" {
                new_cte = Some("7bit");
            }
            self.state = State::Body(Leaf::SevenBit(None));
        } else if main == "message" && sub == "rfc822" && identity {
            enter(self)?;
            if cte_name != "7bit" {
                new_cte = Some("7bit");
            }
            self.state = State::Header {
                top: false,
                digest: false,
            };
        } else {
            let why = if identity {
                label
            } else {
                format!("{label} ({cte_name})")
            };
            self.state = State::Body(Leaf::SevenBit(Some(why)));
        }
        let Some(new_cte) = new_cte else {
            out.extend_from_slice(&header);
            return Ok(());
        };
        // The header without its Content-Transfer-Encoding field(s) and the blank line,
        // then the new field, then the blank line.
        let body_start = header.len().saturating_sub(2);
        let mut skipping = false;
        for line in header
            .get(..body_start)
            .unwrap_or_default()
            .split_inclusive(|&b| b == b'\n')
        {
            let continuation = line.first().is_some_and(|&b| b == b' ' || b == b'\t');
            if !continuation {
                skipping = field_name(line)
                    .is_some_and(|n| n.eq_ignore_ascii_case(b"content-transfer-encoding"));
            }
            if !skipping {
                out.extend_from_slice(line);
            }
        }
        if top && !mime_version && parsed.is_none() {
            out.extend_from_slice(b"MIME-Version: 1.0\r\n");
        }
        out.extend_from_slice(b"Content-Transfer-Encoding: ");
        out.extend_from_slice(new_cte.as_bytes());
        out.extend_from_slice(b"\r\n\r\n");
        Ok(())
    }
}

/// Quoted-printable encoding of text lines (RFC 2045 6.7): hard line breaks stay CRLF,
/// long lines get soft breaks, white space at a line end is encoded.
#[derive(Debug, Default)]
struct Qp {
    col: usize,
    /// A space or tab not yet written: literal if more follows on the line, else encoded.
    held: Option<u8>,
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn safe(c: u8) -> bool {
    matches!(c, 33..=60 | 62..=126)
}

impl Qp {
    fn put(&mut self, out: &mut Vec<u8>, tok: &[u8]) {
        if self.col + tok.len() > QP_WIDTH {
            out.extend_from_slice(b"=\r\n");
            self.col = 0;
        }
        out.extend_from_slice(tok);
        self.col += tok.len();
    }

    fn bytes(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        while let Some(&c) = data.first() {
            if let Some(ws) = self.held.take() {
                self.put(out, &[ws]);
            }
            let run = data.iter().take_while(|&&c| safe(c)).count();
            if run > 0 {
                // A run of literal characters, cut where lines are full.
                let mut run_bytes = data.get(..run).unwrap_or_default();
                while !run_bytes.is_empty() {
                    if self.col >= QP_WIDTH {
                        out.extend_from_slice(b"=\r\n");
                        self.col = 0;
                    }
                    let n = run_bytes.len().min(QP_WIDTH - self.col);
                    out.extend_from_slice(run_bytes.get(..n).unwrap_or_default());
                    self.col += n;
                    run_bytes = run_bytes.get(n..).unwrap_or_default();
                }
                data = data.get(run..).unwrap_or_default();
                continue;
            }
            if c == b' ' || c == b'\t' {
                self.held = Some(c);
            } else {
                let tok = [b'=', HEX[usize::from(c >> 4)], HEX[usize::from(c & 15)]];
                self.put(out, &tok);
            }
            data = data.get(1..).unwrap_or_default();
        }
    }

    fn end_line(&mut self, out: &mut Vec<u8>, crlf: bool) {
        if let Some(ws) = self.held.take() {
            let tok = [b'=', HEX[usize::from(ws >> 4)], HEX[usize::from(ws & 15)]];
            self.put(out, &tok);
        }
        if crlf {
            out.extend_from_slice(b"\r\n");
        }
        self.col = 0;
    }
}

fn strip_crlf(line: &[u8], complete: bool) -> &[u8] {
    if !complete {
        return line;
    }
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_end(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1);
    s.get(..n).unwrap_or_default()
}

fn trim(s: &[u8]) -> &[u8] {
    let s = trim_end(s);
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    s.get(start..).unwrap_or_default()
}

/// The field name of a header line that starts a field.
fn field_name(line: &[u8]) -> Option<&[u8]> {
    let colon = memchr(b':', line)?;
    Some(trim_end(line.get(..colon)?))
}

/// The fields of a header section: name and raw value (folding kept).
fn fields(header: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out: Vec<(&[u8], usize, usize)> = Vec::new();
    let mut pos = 0;
    for line in header.split_inclusive(|&b| b == b'\n') {
        let continuation = line.first().is_some_and(|&b| b == b' ' || b == b'\t');
        if continuation {
            if let Some(last) = out.last_mut() {
                last.2 = pos + line.len();
            }
        } else if let Some(colon) = memchr(b':', line) {
            let name = trim_end(line.get(..colon).unwrap_or_default());
            out.push((name, pos + colon + 1, pos + line.len()));
        }
        pos += line.len();
    }
    out.into_iter()
        .map(|(n, s, e)| (n, header.get(s..e).unwrap_or_default()))
        .collect()
}

/// A field value with its line breaks removed.
fn unfold(value: &[u8]) -> Vec<u8> {
    value
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use postwerk_message::decode_quoted_printable;

    #[test]
    fn plain_8bit_body_becomes_qp() {
        let msg = "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nété = tea \r\n.dot\r\n";
        let out = downgrade_to_7bit(msg.as_bytes()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=C3=A9t=C3=A9 =3D tea=20\r\n.dot\r\n"
        );
    }

    #[test]
    fn long_lines_get_soft_breaks() {
        let line = "é".repeat(100);
        let msg = format!("\r\n{line}\r\n");
        let out = downgrade_to_7bit(msg.as_bytes()).unwrap();
        let body = &out[out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
        for l in body.split(|&b| b == b'\n') {
            assert!(l.len() <= 77, "{}", l.len());
        }
        assert_eq!(
            decode_quoted_printable(body).as_ref(),
            format!("{line}\r\n").as_bytes()
        );
    }

    #[test]
    fn multipart_text_parts_only() {
        let msg = "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\nContent-Type: text/plain; charset=latin1\r\n\r\n\u{e9}\r\n--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--b1--\r\nepilogue\r\n";
        let bytes: Vec<u8> = msg.chars().map(|c| c as u32 as u8).collect();
        let out = downgrade_to_7bit(&bytes).unwrap();
        assert!(out.is_ascii());
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(
            "charset=latin1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=E9\r\n--b1\r\n"
        ));
        assert!(text.contains("base64\r\n\r\nAAAA\r\n--b1--\r\nepilogue\r\n"));
    }

    #[test]
    fn what_cannot_be_downgraded() {
        let bin = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\u{e9}\r\n--b--\r\n";
        assert_eq!(
            downgrade_to_7bit(bin.as_bytes()),
            Err(DowngradeError::EightBitPart {
                content_type: "image/png".into()
            })
        );
        assert_eq!(
            downgrade_to_7bit("Subject: \u{e9}\r\n\r\nx\r\n".as_bytes()),
            Err(DowngradeError::EightBitHeader)
        );
        let pre = "Content-Type: multipart/mixed; boundary=b\r\n\r\n\u{e9}\r\n--b--\r\n";
        assert_eq!(
            downgrade_to_7bit(pre.as_bytes()),
            Err(DowngradeError::EightBitStructure)
        );
        let b64 = "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n\u{e9}\r\n";
        assert!(matches!(
            downgrade_to_7bit(b64.as_bytes()),
            Err(DowngradeError::EightBitPart { .. })
        ));
    }

    #[test]
    fn nested_message_and_depth() {
        let msg = "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSubject: inner\r\n\r\n\u{e9}\r\n";
        let out = String::from_utf8(downgrade_to_7bit(msg.as_bytes()).unwrap()).unwrap();
        assert_eq!(
            out,
            "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 7bit\r\n\r\nSubject: inner\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=C3=A9\r\n"
        );
        let deep = "Content-Type: message/rfc822\r\n\r\n".repeat(MAX_DEPTH + 1);
        assert_eq!(
            downgrade_to_7bit(deep.as_bytes()),
            Err(DowngradeError::TooDeep(MAX_DEPTH))
        );
    }

    #[test]
    fn any_split_gives_the_same_output() {
        let msg = "Content-Type: multipart/alternative; boundary=\"=_x\"\r\n\r\n--=_x\r\nContent-Type: text/plain\r\n\r\nGr\u{fc}\u{df}e  \r\n\tx\r\n--=_x\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<p>\u{e9}</p>\r\n--=_x--\r\n";
        let whole = downgrade_to_7bit(msg.as_bytes()).unwrap();
        for split in 0..=msg.len() {
            let (a, b) = msg.as_bytes().split_at(split);
            let mut d = Downgrader::new();
            let mut out = Vec::new();
            d.push(a, &mut out).unwrap();
            d.push(b, &mut out).unwrap();
            d.finish(&mut out).unwrap();
            assert_eq!(out, whole, "split {split}");
        }
    }
}
