//! Message identifiers (RFC 5322 section 3.6.4 and the obsolete forms of section 4.5.4).
//!
//! ```text
//! msg-id      = [CFWS] "<" id-left "@" id-right ">" [CFWS]
//! id-left     = dot-atom-text / obs-id-left        ; obs-id-left  = local-part
//! id-right    = dot-atom-text / no-fold-literal / obs-id-right   ; obs-id-right = domain
//! in-reply-to = "In-Reply-To:" 1*msg-id CRLF       ; obs: *(phrase / msg-id)
//! references  = "References:" 1*msg-id CRLF        ; obs: *(phrase / msg-id)
//! ```
//!
//! White space and comments inside the angle brackets (obsolete syntax) are removed; quoted
//! strings and domain literals are kept as written. In lists, words outside angle brackets
//! (the obsolete phrases) and commas are skipped.

use std::borrow::Cow;
use std::fmt;

use crate::repair::{RepairKind, Sink};
use crate::{ParseError, ParseErrorKind};

/// A message identifier: `id-left "@" id-right`, without the angle brackets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageId<'a> {
    id: Cow<'a, str>,
    at: usize,
}

impl<'a> MessageId<'a> {
    /// An identifier from its text and the position of the `@` between left and right
    /// (the length of `id` when there is none).
    #[cfg(feature = "serde")]
    pub(crate) fn from_parts(id: Cow<'a, str>, at: usize) -> Self {
        MessageId { id, at }
    }

    /// Parses one `msg-id` (angle brackets required, surrounding CFWS allowed).
    ///
    /// ```
    /// use postwerk_message::MessageId;
    /// let id = MessageId::parse(b" <1234@local.machine.example> ").unwrap();
    /// assert_eq!(id.as_str(), "1234@local.machine.example");
    /// assert_eq!(id.right(), "local.machine.example");
    /// assert_eq!(id.to_string(), "<1234@local.machine.example>");
    /// ```
    pub fn parse(input: &'a [u8]) -> Result<MessageId<'a>, ParseError> {
        parse_msg_id(input)
    }

    /// The identifier without angle brackets: `left@right`.
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// The part before the `@`.
    pub fn left(&self) -> &str {
        self.id.get(..self.at).unwrap_or_default()
    }

    /// The part after the `@`; empty for an identifier without `@`, which only the
    /// [`Message::message_id`](crate::Message::message_id) accessor returns.
    pub fn right(&self) -> &str {
        self.id.get(self.at + 1..).unwrap_or_default()
    }

    /// Detaches the value from the input.
    pub fn into_owned(self) -> MessageId<'static> {
        MessageId {
            id: Cow::Owned(self.id.into_owned()),
            at: self.at,
        }
    }
}

/// `<left@right>`.
impl fmt::Display for MessageId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.id)
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn skip_cfws(&mut self) -> Result<(), ParseError> {
        self.pos = crate::lexer::skip_cfws_at(self.b, self.pos)?;
        Ok(())
    }

    /// Skips a quoted string starting at the current `"`; returns false when unterminated.
    fn skip_quoted(&mut self) -> bool {
        self.pos += 1;
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'"' => return true,
                b'\\' => self.pos += 1,
                _ => {}
            }
        }
        false
    }

    /// Parses `"<" ... ">"` at the current position.
    fn msg_id(&mut self) -> Result<MessageId<'a>, ParseError> {
        let open = self.pos;
        if self.peek() != Some(b'<') {
            return Err(self.err_here(ParseErrorKind::InvalidMessageId));
        }
        self.pos += 1;
        let content_start = self.pos;
        // Byte ranges of the kept content; more than one when CFWS had to be removed.
        let mut pieces: Vec<(usize, usize)> = Vec::new();
        let mut piece_start = self.pos;
        let mut at: Option<usize> = None; // offset in the kept content
        let mut kept = 0usize;
        let mut in_literal = false;
        loop {
            let Some(c) = self.peek() else {
                return Err(ParseError::new(ParseErrorKind::UnexpectedEnd, open));
            };
            match c {
                b'>' if !in_literal => break,
                b' ' | b'\t' | b'\r' | b'\n' | b'(' if !in_literal => {
                    kept += self.pos - piece_start;
                    pieces.push((piece_start, self.pos));
                    self.skip_cfws()?;
                    piece_start = self.pos;
                }
                b'"' if !in_literal => {
                    if !self.skip_quoted() {
                        return Err(ParseError::new(ParseErrorKind::UnexpectedEnd, open));
                    }
                }
                b'[' if !in_literal => {
                    in_literal = true;
                    self.pos += 1;
                }
                b']' if in_literal => {
                    in_literal = false;
                    self.pos += 1;
                }
                b'@' if !in_literal => {
                    if at.is_some() {
                        return Err(self.err_here(ParseErrorKind::InvalidMessageId));
                    }
                    at = Some(kept + self.pos - piece_start);
                    self.pos += 1;
                }
                b'<' | b'\\' | b'[' | b'@' | b' ' | b'\t' | b'\r' | b'\n' | 0..=31 | 127 => {
                    return Err(self.err_here(ParseErrorKind::InvalidMessageId));
                }
                _ => self.pos += 1,
            }
        }
        pieces.push((piece_start, self.pos));
        let total: usize = kept + self.pos - piece_start;
        self.pos += 1; // '>'
        let at = at.ok_or(ParseError::new(ParseErrorKind::InvalidMessageId, open))?;
        if at == 0 || at + 1 >= total {
            return Err(ParseError::new(ParseErrorKind::InvalidMessageId, open));
        }
        let id = if pieces.len() == 1 {
            let raw = self.b.get(content_start..self.pos - 1).unwrap_or_default();
            Cow::Borrowed(
                std::str::from_utf8(raw)
                    .map_err(|_| ParseError::new(ParseErrorKind::InvalidMessageId, open))?,
            )
        } else {
            let mut v = Vec::with_capacity(total);
            for (s, e) in pieces {
                v.extend_from_slice(self.b.get(s..e).unwrap_or_default());
            }
            Cow::Owned(
                String::from_utf8(v)
                    .map_err(|_| ParseError::new(ParseErrorKind::InvalidMessageId, open))?,
            )
        };
        Ok(MessageId { id, at })
    }

    fn err_here(&self, kind: ParseErrorKind) -> ParseError {
        ParseError::new(kind, self.pos)
    }
}

/// Parses exactly one `msg-id` with optional surrounding CFWS.
pub(crate) fn parse_msg_id(input: &[u8]) -> Result<MessageId<'_>, ParseError> {
    let mut s = Scanner { b: input, pos: 0 };
    s.skip_cfws()?;
    if s.peek().is_none() {
        return Err(s.err_here(ParseErrorKind::UnexpectedEnd));
    }
    let id = s.msg_id()?;
    s.skip_cfws()?;
    if s.peek().is_some() {
        return Err(s.err_here(ParseErrorKind::TrailingInput));
    }
    Ok(id)
}

/// Reads a `Message-ID:` value the way mail clients do: the RFC 5322 grammar first; else
/// the first `<…>` (or, without angle brackets, the first word), white space and comments
/// inside removed, `@` not required (then [`MessageId::right`] is empty), recording
/// [`RepairKind::LenientMessageId`]. The error is the strict parser's, for a value with
/// nothing usable.
pub(crate) fn read_msg_id<'a>(
    input: &'a [u8],
    sink: &mut Sink,
) -> Result<MessageId<'a>, ParseError> {
    let strict = match parse_msg_id(input) {
        Ok(id) => return Ok(id),
        Err(e) => e,
    };
    let start = crate::lexer::skip_cfws_at(input, 0).unwrap_or(input.len());
    let rest = input.get(start..).unwrap_or_default();
    let content = match rest.strip_prefix(b"<") {
        Some(inner) => inner.get(..memchr::memchr(b'>', inner).unwrap_or(inner.len())),
        None => rest.get(
            ..rest
                .iter()
                .position(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'('))
                .unwrap_or(rest.len()),
        ),
    }
    .unwrap_or_default();
    let text = String::from_utf8_lossy(content);
    let mut id = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth > 0 || c.is_whitespace() || c.is_control() || c == '<' || c == '>' => {}
            _ => id.push(c),
        }
    }
    if id.is_empty() {
        return Err(strict);
    }
    sink.push(RepairKind::LenientMessageId, start);
    let at = id.rfind('@').unwrap_or(id.len());
    Ok(MessageId {
        id: Cow::Owned(id),
        at,
    })
}

/// Parses the value of `In-Reply-To:` or `References:`: msg-ids, with obsolete phrases and
/// commas between them skipped. An empty value gives an empty list.
pub fn parse_msg_id_list(input: &[u8]) -> Result<Vec<MessageId<'_>>, ParseError> {
    let mut s = Scanner { b: input, pos: 0 };
    let mut ids = Vec::new();
    loop {
        s.skip_cfws()?;
        match s.peek() {
            None => break,
            Some(b'<') => ids.push(s.msg_id()?),
            Some(b',') => s.pos += 1,
            Some(b'"') => {
                let start = s.pos;
                if !s.skip_quoted() {
                    return Err(ParseError::new(ParseErrorKind::UnexpectedEnd, start));
                }
            }
            Some(_) => {
                // An obsolete phrase word: skip to the next delimiter.
                while s.peek().is_some_and(|c| {
                    !matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'(' | b'<' | b'"' | b',')
                }) {
                    s.pos += 1;
                }
            }
        }
    }
    Ok(ids)
}

/// Reads an `In-Reply-To:` or `References:` value the way mail clients do: the grammar of
/// [`parse_msg_id_list`] first; where it fails or finds no identifier, every `<…>` read as
/// [`read_msg_id`] reads one, or, when there are no angle brackets, the words holding an
/// `@` (a single word without one is taken too), recording [`RepairKind::LenientMessageId`]
/// at the first. The error is the strict parser's, for a value with nothing usable.
pub(crate) fn read_msg_id_list<'a>(
    input: &'a [u8],
    sink: &mut Sink,
) -> Result<Vec<MessageId<'a>>, ParseError> {
    let strict = match parse_msg_id_list(input) {
        Ok(ids) if !ids.is_empty() => return Ok(ids),
        other => other,
    };
    let len = input.len();
    let mut ids: Vec<(MessageId<'a>, usize)> = Vec::new();
    let mut words: Vec<(usize, usize)> = Vec::new();
    let mut bracketed = false;
    let mut pos = 0usize;
    while let Some(&c) = input.get(pos) {
        match c {
            b' ' | b'\t' | b'\r' | b'\n' | b',' => pos += 1,
            b'(' => pos = crate::lexer::skip_comment_at(input, pos).unwrap_or(len),
            b'"' => {
                pos += 1;
                while let Some(&q) = input.get(pos) {
                    pos += if q == b'\\' { 2 } else { 1 };
                    if q == b'"' {
                        break;
                    }
                }
            }
            b'<' => {
                bracketed = true;
                let rest = input.get(pos + 1..).unwrap_or_default();
                let end = memchr::memchr(b'>', rest).map_or(len, |i| pos + 2 + i);
                let slice = input.get(pos..end.min(len)).unwrap_or_default();
                if let Ok(id) = read_msg_id(slice, &mut Sink::discarding()) {
                    ids.push((id, pos));
                }
                pos = end;
            }
            _ => {
                let start = pos;
                while input.get(pos).is_some_and(|&c| {
                    !matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b',' | b'(' | b'<' | b'"')
                }) {
                    pos += 1;
                }
                words.push((start, pos));
            }
        }
    }
    if !bracketed {
        let single = words.len() == 1;
        for (s, e) in words {
            let word = input.get(s..e).unwrap_or_default();
            if (single || memchr::memchr(b'@', word).is_some())
                && let Ok(id) = read_msg_id(word, &mut Sink::discarding())
            {
                ids.push((id, s));
            }
        }
    }
    match ids.first() {
        Some(&(_, at)) => {
            sink.push(RepairKind::LenientMessageId, at);
            Ok(ids.into_iter().map(|(id, _)| id).collect())
        }
        None => strict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple() {
        let id = parse_msg_id(b"<1234@local.machine.example>").unwrap();
        assert!(matches!(id.id, Cow::Borrowed(_)));
        assert_eq!((id.left(), id.right()), ("1234", "local.machine.example"));
    }

    #[test]
    fn obsolete_cfws_inside() {
        let id = parse_msg_id(b" <testabcd.1234 @ silly.test> (comment)").unwrap();
        assert_eq!(id.as_str(), "testabcd.1234@silly.test");
        assert_eq!(id.left(), "testabcd.1234");
        let id = parse_msg_id(b"<\"quoted@x\"@[127.0.0.1]>").unwrap();
        assert_eq!(id.left(), "\"quoted@x\"");
        assert_eq!(id.right(), "[127.0.0.1]");
    }

    #[test]
    fn invalid() {
        for bad in [
            &b"1234@x"[..],
            b"<1234>",
            b"<@x>",
            b"<a@>",
            b"<a@b@c>",
            b"<a b>",
            b"<a@b",
            b"",
        ] {
            assert!(
                parse_msg_id(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            parse_msg_id(b"<a@b> x").unwrap_err().kind(),
            ParseErrorKind::TrailingInput
        );
        assert_eq!(
            parse_msg_id(b"<a@b").unwrap_err().kind(),
            ParseErrorKind::UnexpectedEnd
        );
    }

    #[test]
    fn lenient_ids() {
        let read = |s: &[u8]| {
            read_msg_id(s, &mut Sink::discarding())
                .map(|i| (i.left().to_string(), i.right().to_string()))
        };
        assert_eq!(
            read(b"1234@example.com").unwrap(),
            ("1234".into(), "example.com".into())
        );
        assert_eq!(read(b"<1234>").unwrap(), ("1234".into(), "".into()));
        assert_eq!(read(b"<12 34@x (c)>").unwrap(), ("1234".into(), "x".into()));
        assert_eq!(
            read(b"<a@b@c.example").unwrap(),
            ("a@b".into(), "c.example".into())
        );
        assert!(read(b"  ").is_err());
        assert!(read(b"<>").is_err());
        assert!(parse_msg_id(b"1234@example.com").is_err());
    }

    #[test]
    fn lenient_lists() {
        let read = |s: &[u8]| {
            read_msg_id_list(s, &mut Sink::discarding())
                .map(|l| l.iter().map(|i| i.as_str().to_string()).collect::<Vec<_>>())
        };
        assert_eq!(read(b"<1@a> <2@b>").unwrap(), ["1@a", "2@b"]);
        assert_eq!(read(b"1234@example.com").unwrap(), ["1234@example.com"]);
        assert_eq!(read(b"a@x, b@y").unwrap(), ["a@x", "b@y"]);
        assert_eq!(read(b"<a@x> <1234>").unwrap(), ["a@x", "1234"]);
        assert_eq!(
            read(b"<a b@x (c)> <unclosed@y").unwrap(),
            ["ab@x", "unclosed@y"]
        );
        assert_eq!(read(b"lonely-token").unwrap(), ["lonely-token"]);
        assert!(read(b"Your message of Monday").unwrap().is_empty());
        assert!(read(b"").unwrap().is_empty());
        assert!(read(b"<> <>").is_err());
        let mut sink = Sink::collecting();
        read_msg_id_list(b"x <1234>", &mut sink).unwrap();
        assert_eq!(sink.into_found(), [(RepairKind::LenientMessageId, 2)]);
        let mut sink = Sink::collecting();
        read_msg_id_list(b"<1@a>", &mut sink).unwrap();
        assert!(sink.into_found().is_empty());
    }

    #[test]
    fn lists() {
        let ids = parse_msg_id_list(b"<1@a>\r\n <2@b>, <3@c> (x)").unwrap();
        let v: Vec<&str> = ids.iter().map(|i| i.as_str()).collect();
        assert_eq!(v, ["1@a", "2@b", "3@c"]);
        let ids = parse_msg_id_list(b"Your message of \"Mon\" <1@a>").unwrap();
        assert_eq!(ids.len(), 1);
        assert!(parse_msg_id_list(b"").unwrap().is_empty());
    }
}
