//! RFC 5322 section 3.2 lexical tokens, with the obsolete forms of section 4.1 and the
//! UTF-8 of RFC 6532, read by a byte cursor over already validated UTF-8.
//!
//! ```text
//! FWS             =   ([*WSP CRLF] 1*WSP) /  obs-FWS
//! obs-FWS         =   1*WSP *(CRLF 1*WSP)
//! ctext           =   %d33-39 / %d42-91 / %d93-126 / obs-ctext
//! ccontent        =   ctext / quoted-pair / comment
//! comment         =   "(" *([FWS] ccontent) [FWS] ")"
//! CFWS            =   (1*([FWS] comment) [FWS]) / FWS
//! atext           =   ALPHA / DIGIT / "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" /
//!                     "-" / "/" / "=" / "?" / "^" / "_" / "`" / "{" / "|" / "}" / "~"
//!                     / UTF8-non-ascii                                    ; RFC 6532
//! quoted-pair     =   ("\" (VCHAR / WSP)) / obs-qp
//! quoted-string   =   [CFWS] DQUOTE *([FWS] qcontent) [FWS] DQUOTE [CFWS]
//! domain-literal  =   [CFWS] "[" *([FWS] dtext) [FWS] "]" [CFWS]
//! ```
//!
//! Line breaks: a CRLF (or, for LF-only mail, a bare LF) counts as folding white space only
//! when white space follows it, or at the very end of the input; anything else is
//! [`ParseErrorKind::ForbiddenControl`], so a header break can never hide inside an
//! address. Comments nest up to [`MAX_COMMENT_DEPTH`] levels, counted without recursion.
//! NUL, and CR or LF inside a quoted pair, are refused everywhere.

use std::borrow::Cow;

use crate::error::{ParseError, ParseErrorKind};

/// How deep comments may nest before the input is refused ([`ParseErrorKind::TooDeep`]).
pub(crate) const MAX_COMMENT_DEPTH: usize = 64;

const ATEXT: u8 = 1;
/// Bytes of a quoted string that need no attention: qtext, obs-qtext, SP, HTAB.
const QPLAIN: u8 = 2;
/// Bytes of a domain literal that need no attention: dtext, obs-dtext, SP, HTAB.
const DPLAIN: u8 = 4;

const fn build_classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut c = 0;
        let atext = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'/'
                    | b'='
                    | b'?'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'{'
                    | b'|'
                    | b'}'
                    | b'~'
            )
            || b >= 0x80;
        if atext {
            c |= ATEXT;
        }
        if b != 0 && b != b'\r' && b != b'\n' && b != b'"' && b != b'\\' {
            c |= QPLAIN;
        }
        if b != 0 && b != b'\r' && b != b'\n' && b != b'[' && b != b']' && b != b'\\' {
            c |= DPLAIN;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static CLASSES: [u8; 256] = build_classes();

/// Whether `b` is RFC 5322 atext (any byte of a UTF-8 multi-byte sequence counts, RFC 6532).
#[inline]
pub(crate) fn is_atext(b: u8) -> bool {
    CLASSES[b as usize] & ATEXT != 0
}

/// Whether `b` is atext or a dot.
#[inline]
pub(crate) fn is_atext_or_dot(b: u8) -> bool {
    b == b'.' || is_atext(b)
}

/// The value of a hexadecimal digit, either case (`=3d` and `=3D` in quoted-printable and
/// Q encoding, `%3d` in RFC 2231 values); with [`hex_upper`], the one hex helper of the crate.
#[inline]
pub(crate) fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The two upper-case hexadecimal digits of `b`, as quoted-printable (`=3D`) and
/// RFC 2231 (`%3D`) writers put them; the inverse of [`hex`].
#[inline]
pub(crate) fn hex_upper(b: u8) -> [u8; 2] {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]]
}

/// Which line-break and control rules a CFWS walk applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rules {
    /// RFC 5322, for addresses: a CR/LF only as folding white space (followed by SP or
    /// HTAB, or ending the input), no NUL in a comment, no CR, LF or NUL after a
    /// backslash; an unclosed comment is [`ParseErrorKind::UnclosedComment`].
    Strict,
    /// For dates, message identifiers, MIME parameters and trace fields: any CR or LF is
    /// white space and a backslash quotes any byte; an unclosed comment is
    /// [`ParseErrorKind::UnexpectedEnd`].
    Lenient,
}

/// The crate's one CFWS walk: skips white space, line breaks and comments from `pos`
/// under `rules`, and returns the position after them and whether a comment was among
/// them. Comments nest up to [`MAX_COMMENT_DEPTH`] levels ([`ParseErrorKind::TooDeep`]
/// beyond), counted without recursion; a quoted pair inside a comment is skipped whole.
pub(crate) fn cfws_end(
    b: &[u8],
    mut pos: usize,
    rules: Rules,
) -> Result<(usize, bool), ParseError> {
    let mut comment = false;
    loop {
        match b.get(pos) {
            Some(b' ' | b'\t') => pos += 1,
            Some(b'\r' | b'\n') => {
                pos += match rules {
                    Rules::Strict => line_break(b, pos)?,
                    Rules::Lenient => 1,
                }
            }
            Some(b'(') => {
                pos = comment_end(b, pos, rules)?;
                comment = true;
            }
            _ => return Ok((pos, comment)),
        }
    }
}

/// Skips the comment whose `(` is at `open` under `rules` (see [`cfws_end`]); returns
/// the position after its `)`.
pub(crate) fn comment_end(b: &[u8], open: usize, rules: Rules) -> Result<usize, ParseError> {
    let unclosed = || {
        let kind = match rules {
            Rules::Strict => ParseErrorKind::UnclosedComment,
            Rules::Lenient => ParseErrorKind::UnexpectedEnd,
        };
        ParseError::new(kind, open)
    };
    let mut depth = 0usize;
    let mut i = open;
    loop {
        let rest = b.get(i..).ok_or_else(unclosed)?;
        let Some(off) = memchr::memchr3(b'(', b')', b'\\', rest) else {
            return Err(unclosed());
        };
        if rules == Rules::Strict {
            // Line breaks and NULs between here and the special byte.
            if let Some(bad) = rest
                .get(..off)
                .and_then(|seg| memchr::memchr3(b'\r', b'\n', 0, seg))
            {
                check_comment_controls(b, i + bad, i + off)?;
            }
        }
        i += off;
        match b.get(i) {
            Some(b'(') => {
                depth += 1;
                if depth > MAX_COMMENT_DEPTH {
                    return Err(ParseError::new(ParseErrorKind::TooDeep, i));
                }
                i += 1;
            }
            Some(b')') => {
                depth -= 1;
                i += 1;
                if depth == 0 {
                    return Ok(i);
                }
            }
            // Quoted pair: the backslash and the next byte.
            _ => match b.get(i + 1) {
                None => return Err(unclosed()),
                Some(0 | b'\r' | b'\n') if rules == Rules::Strict => {
                    return Err(ParseError::new(ParseErrorKind::ForbiddenControl, i + 1));
                }
                Some(_) => i += 2,
            },
        }
    }
}

/// Checks a line break at `pos` (CR or LF) and returns how many bytes it spans, when it
/// is folding white space: followed by SP/HTAB, or ending the input.
fn line_break(bytes: &[u8], pos: usize) -> Result<usize, ParseError> {
    let len = match bytes.get(pos) {
        Some(b'\r') => match bytes.get(pos + 1) {
            Some(b'\n') => 2,
            _ => return Err(ParseError::new(ParseErrorKind::ForbiddenControl, pos)),
        },
        _ => 1,
    };
    match bytes.get(pos + len) {
        None | Some(b' ' | b'\t') => Ok(len),
        Some(_) => Err(ParseError::new(ParseErrorKind::ForbiddenControl, pos)),
    }
}

/// Validates the CR/LF/NUL bytes of a comment segment `[from, to)` ([`Rules::Strict`]).
fn check_comment_controls(bytes: &[u8], from: usize, to: usize) -> Result<(), ParseError> {
    let mut i = from;
    while i < to {
        match bytes.get(i) {
            Some(0) => return Err(ParseError::new(ParseErrorKind::ForbiddenControl, i)),
            Some(b'\r' | b'\n') => i += line_break(bytes, i)?,
            _ => i += 1,
        }
    }
    Ok(())
}

/// [`cfws_end`] with [`Rules::Lenient`], for structured field values other than
/// addresses (dates, message identifiers, MIME parameters).
pub(crate) fn skip_cfws_at(b: &[u8], pos: usize) -> Result<usize, ParseError> {
    cfws_end(b, pos, Rules::Lenient).map(|(end, _)| end)
}

/// [`comment_end`] with [`Rules::Lenient`] (trace fields, message identifiers, the
/// `addr (Name)` display name).
pub(crate) fn skip_comment_at(b: &[u8], open: usize) -> Result<usize, ParseError> {
    comment_end(b, open, Rules::Lenient)
}

/// Whether `s` is a dot-atom-text: `1*atext *("." 1*atext)`.
pub(crate) fn is_dot_atom_text(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|part| !part.is_empty() && part.bytes().all(is_atext))
}

/// What a run of CFWS contained.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Cfws {
    /// Anything at all was skipped.
    pub(crate) any: bool,
    /// A comment was among it.
    pub(crate) comment: bool,
}

/// A quoted string's contents as found in the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quoted<'a> {
    /// Between the quotes, escapes and folds still in place.
    pub(crate) raw: &'a str,
    /// `raw` contains a quoted pair or a line break, so its value differs from `raw`.
    pub(crate) escaped: bool,
}

impl<'a> Quoted<'a> {
    /// The semantic value: quoted pairs unescaped, CRLF of folds removed (WSP kept).
    pub(crate) fn value(&self) -> Cow<'a, str> {
        if !self.escaped {
            return Cow::Borrowed(self.raw);
        }
        let mut out = String::with_capacity(self.raw.len());
        unescape_into(self.raw, &mut out);
        Cow::Owned(out)
    }
}

/// Appends `raw` (quoted-string or comment contents) with quoted pairs resolved and the
/// CR/LF of folds removed.
pub(crate) fn unescape_into(raw: &str, out: &mut String) {
    let mut rest = raw;
    while let Some(i) = rest.find(['\\', '\r', '\n']) {
        out.push_str(rest.get(..i).unwrap_or(""));
        let special = rest.as_bytes().get(i).copied();
        let after = rest.get(i + 1..).unwrap_or("");
        if special == Some(b'\\') {
            let mut chars = after.chars();
            if let Some(c) = chars.next() {
                out.push(c);
            }
            rest = chars.as_str();
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
}

/// A byte cursor over the whole input of an entry point; `pos` is the error offset.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    pub(crate) src: &'a str,
    pub(crate) pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Cursor { src, pos: 0 }
    }

    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    #[inline]
    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    #[inline]
    pub(crate) fn err(&self, kind: ParseErrorKind) -> ParseError {
        ParseError::new(kind, self.pos)
    }

    /// `src[start..end]`, empty when out of range (never the case for positions we made).
    #[inline]
    pub(crate) fn slice(&self, start: usize, end: usize) -> &'a str {
        self.src.get(start..end).unwrap_or("")
    }

    /// Skips CFWS (white space, folds and nested comments).
    #[inline]
    pub(crate) fn skip_cfws(&mut self) -> Result<Cfws, ParseError> {
        let bytes = self.src.as_bytes();
        match bytes.get(self.pos) {
            // One space between words is the common case.
            Some(b' ')
                if !matches!(
                    bytes.get(self.pos + 1),
                    Some(b' ' | b'\t' | b'\r' | b'\n' | b'(')
                ) =>
            {
                self.pos += 1;
                Ok(Cfws {
                    any: true,
                    comment: false,
                })
            }
            Some(b' ' | b'\t' | b'\r' | b'\n' | b'(') => self.skip_cfws_slow(),
            _ => Ok(Cfws::default()),
        }
    }

    fn skip_cfws_slow(&mut self) -> Result<Cfws, ParseError> {
        let start = self.pos;
        let (end, comment) = cfws_end(self.src.as_bytes(), self.pos, Rules::Strict)?;
        self.pos = end;
        Ok(Cfws {
            any: end != start,
            comment,
        })
    }

    /// Consumes `1*atext` (possibly nothing) and returns it.
    #[inline]
    pub(crate) fn atom(&mut self) -> &'a str {
        let bytes = self.src.as_bytes();
        let start = self.pos;
        let mut i = start;
        while let Some(&b) = bytes.get(i) {
            if !is_atext(b) {
                break;
            }
            i += 1;
        }
        self.pos = i;
        self.slice(start, i)
    }

    /// Consumes a quoted string; the cursor must be at its opening `"`.
    pub(crate) fn quoted_string(&mut self) -> Result<Quoted<'a>, ParseError> {
        let bytes = self.src.as_bytes();
        let open = self.pos;
        let mut i = open + 1;
        let mut escaped = false;
        loop {
            while let Some(&b) = bytes.get(i) {
                if CLASSES[b as usize] & QPLAIN == 0 {
                    break;
                }
                i += 1;
            }
            match bytes.get(i) {
                None => return Err(ParseError::new(ParseErrorKind::UnclosedQuotedString, open)),
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Quoted {
                        raw: self.slice(open + 1, i),
                        escaped,
                    });
                }
                Some(b'\\') => {
                    escaped = true;
                    match bytes.get(i + 1) {
                        None => {
                            return Err(ParseError::new(
                                ParseErrorKind::UnclosedQuotedString,
                                open,
                            ));
                        }
                        Some(0 | b'\r' | b'\n') => {
                            return Err(ParseError::new(ParseErrorKind::ForbiddenControl, i + 1));
                        }
                        Some(_) => i += 2,
                    }
                }
                Some(b'\r' | b'\n') => {
                    escaped = true;
                    i += line_break(bytes, i)?;
                }
                Some(_) => return Err(ParseError::new(ParseErrorKind::ForbiddenControl, i)),
            }
        }
    }

    /// Consumes a domain literal; the cursor must be at its `[`. Returns the value: the
    /// literal with its brackets, FWS at the edges dropped and inner runs of FWS made one
    /// space; quoted pairs are kept as written.
    pub(crate) fn domain_literal(&mut self) -> Result<Cow<'a, str>, ParseError> {
        let bytes = self.src.as_bytes();
        let open = self.pos;
        let mut i = open + 1;
        let mut irregular = false;
        loop {
            while let Some(&b) = bytes.get(i) {
                if CLASSES[b as usize] & DPLAIN == 0 {
                    break;
                }
                i += 1;
            }
            match bytes.get(i) {
                None => return Err(ParseError::new(ParseErrorKind::UnclosedDomainLiteral, open)),
                Some(b']') => break,
                Some(b'[') => return Err(ParseError::new(ParseErrorKind::UnexpectedChar, i)),
                Some(b'\\') => match bytes.get(i + 1) {
                    None => {
                        return Err(ParseError::new(ParseErrorKind::UnclosedDomainLiteral, open));
                    }
                    Some(0 | b'\r' | b'\n') => {
                        return Err(ParseError::new(ParseErrorKind::ForbiddenControl, i + 1));
                    }
                    Some(_) => i += 2,
                },
                Some(b'\r' | b'\n') => {
                    irregular = true;
                    i += line_break(bytes, i)?;
                }
                Some(_) => return Err(ParseError::new(ParseErrorKind::ForbiddenControl, i)),
            }
        }
        let close = i;
        self.pos = close + 1;
        let inner = self.slice(open + 1, close);
        let ib = inner.as_bytes();
        if !irregular {
            irregular = ib.first() == Some(&b' ')
                || ib.last() == Some(&b' ')
                || ib.contains(&b'\t')
                || memchr::memmem::find_iter(ib, b"  ").any(|p| !escaped_at(ib, p));
        }
        if !irregular {
            return Ok(Cow::Borrowed(self.slice(open, close + 1)));
        }
        // Normalise white space outside quoted pairs.
        let mut out = String::with_capacity(inner.len() + 2);
        out.push('[');
        let mut pending_space = false;
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                ' ' | '\t' | '\r' | '\n' => pending_space = true,
                _ => {
                    if pending_space && out.len() > 1 {
                        out.push(' ');
                    }
                    pending_space = false;
                    out.push(c);
                    if c == '\\'
                        && let Some(next) = chars.next()
                    {
                        out.push(next);
                    }
                }
            }
        }
        out.push(']');
        Ok(Cow::Owned(out))
    }
}

/// Whether the byte at `p` in a domain literal's contents is the second byte of a quoted
/// pair (so a double space starting there is `\ ` followed by a space).
fn escaped_at(bytes: &[u8], p: usize) -> bool {
    let mut backslashes = 0;
    let mut i = p;
    while i > 0 && bytes.get(i - 1) == Some(&b'\\') {
        backslashes += 1;
        i -= 1;
    }
    backslashes % 2 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfws(s: &str) -> Result<(Cfws, usize), ParseError> {
        let mut c = Cursor::new(s);
        let r = c.skip_cfws()?;
        Ok((r, c.pos))
    }

    #[test]
    fn fws_and_folds() {
        assert_eq!(cfws(" \t x").unwrap().1, 3);
        assert_eq!(cfws("\r\n x").unwrap().1, 3);
        assert_eq!(cfws(" \n\tx").unwrap().1, 3);
        assert_eq!(cfws(" \r\n").unwrap().1, 3);
        assert_eq!(
            cfws(" \r\nx").unwrap_err().kind(),
            ParseErrorKind::ForbiddenControl
        );
        assert_eq!(
            cfws("\rx").unwrap_err().kind(),
            ParseErrorKind::ForbiddenControl
        );
        assert_eq!(cfws("x").unwrap(), (Cfws::default(), 0));
    }

    #[test]
    fn nested_comments() {
        let (c, end) = cfws("(a (b \\) (c)) d) x").unwrap();
        assert!(c.comment && c.any);
        assert_eq!(end, 17);
        assert_eq!(
            cfws("(a (b) ").unwrap_err(),
            ParseError::new(ParseErrorKind::UnclosedComment, 0)
        );
        assert_eq!(
            cfws("(a\\").unwrap_err().kind(),
            ParseErrorKind::UnclosedComment
        );
        let deep = "(".repeat(MAX_COMMENT_DEPTH) + &")".repeat(MAX_COMMENT_DEPTH);
        assert_eq!(cfws(&deep).unwrap().1, deep.len());
        let too_deep = "(".repeat(MAX_COMMENT_DEPTH + 1);
        assert_eq!(
            cfws(&too_deep).unwrap_err(),
            ParseError::new(ParseErrorKind::TooDeep, MAX_COMMENT_DEPTH)
        );
        assert_eq!(
            cfws("(a\0)").unwrap_err().kind(),
            ParseErrorKind::ForbiddenControl
        );
        assert_eq!(cfws("(a\r\n b)").unwrap().1, 7);
    }

    /// The one walk under both rule sets: the same nesting and quoted pairs, the same
    /// depth bound; only line breaks, NUL and the unclosed error differ.
    #[test]
    fn strict_and_lenient_rules() {
        let walk = |s: &str, r| cfws_end(s.as_bytes(), 0, r);
        for r in [Rules::Strict, Rules::Lenient] {
            assert_eq!(walk("(a (b \\) (c)) d) x", r).unwrap(), (17, true));
            assert_eq!(walk(" \t x", r).unwrap(), (3, false));
            let too_deep = "(".repeat(MAX_COMMENT_DEPTH + 1) + &")".repeat(MAX_COMMENT_DEPTH + 1);
            assert_eq!(
                walk(&too_deep, r).unwrap_err(),
                ParseError::new(ParseErrorKind::TooDeep, MAX_COMMENT_DEPTH)
            );
        }
        // A bare line break, a NUL, or a quoted line break inside a comment.
        for s in ["(a\r\nb) x", "(a\nb) x", "(a\0b) x", "(a\\\nb) x", "\nx"] {
            assert_eq!(
                walk(s, Rules::Strict).unwrap_err().kind(),
                ParseErrorKind::ForbiddenControl,
                "{s:?}"
            );
            assert!(walk(s, Rules::Lenient).is_ok(), "{s:?}");
        }
        assert_eq!(
            walk("  (a (b)", Rules::Strict).unwrap_err(),
            ParseError::new(ParseErrorKind::UnclosedComment, 2)
        );
        assert_eq!(
            walk("  (a (b)", Rules::Lenient).unwrap_err(),
            ParseError::new(ParseErrorKind::UnexpectedEnd, 2)
        );
        assert_eq!(skip_comment_at(b"x(a\\)b)y", 1), Ok(7));
    }

    #[test]
    fn atoms_and_dot_atoms() {
        let mut c = Cursor::new("jöhn.doe@x");
        assert_eq!(c.atom(), "jöhn");
        assert_eq!(c.peek(), Some(b'.'));
        assert!(is_dot_atom_text("a.b.c"));
        assert!(is_dot_atom_text("!#$%&'*+-/=?^_`{|}~"));
        assert!(!is_dot_atom_text(""));
        assert!(!is_dot_atom_text("a..b"));
        assert!(!is_dot_atom_text(".a"));
        assert!(!is_dot_atom_text("a b"));
    }

    #[test]
    fn quoted_strings() {
        let mut c = Cursor::new(r#""a \"b\" \\ c" rest"#);
        let q = c.quoted_string().unwrap();
        assert_eq!(q.value(), r#"a "b" \ c"#);
        assert_eq!(c.pos, 14);
        let mut c = Cursor::new("\"plain text\"");
        assert!(matches!(
            c.quoted_string().unwrap().value(),
            Cow::Borrowed("plain text")
        ));
        let mut c = Cursor::new("\"a\r\n b\"");
        assert_eq!(c.quoted_string().unwrap().value(), "a b");
        let mut c = Cursor::new("\"abc");
        assert_eq!(
            c.quoted_string().unwrap_err(),
            ParseError::new(ParseErrorKind::UnclosedQuotedString, 0)
        );
        let mut c = Cursor::new("\"a\\\r\"");
        assert_eq!(
            c.quoted_string().unwrap_err(),
            ParseError::new(ParseErrorKind::ForbiddenControl, 3)
        );
        let mut c = Cursor::new("\"a\0\"");
        assert_eq!(
            c.quoted_string().unwrap_err().kind(),
            ParseErrorKind::ForbiddenControl
        );
        let mut c = Cursor::new("\"\\é\"");
        assert_eq!(c.quoted_string().unwrap().value(), "é");
    }

    #[test]
    fn domain_literals() {
        let mut c = Cursor::new("[192.0.2.1]x");
        assert!(matches!(
            c.domain_literal().unwrap(),
            Cow::Borrowed("[192.0.2.1]")
        ));
        assert_eq!(c.peek(), Some(b'x'));
        let mut c = Cursor::new("[ a \r\n  b ]");
        assert_eq!(c.domain_literal().unwrap(), "[a b]");
        let mut c = Cursor::new("[a\\]b]");
        assert_eq!(c.domain_literal().unwrap(), "[a\\]b]");
        let mut c = Cursor::new("[a[b]");
        assert_eq!(
            c.domain_literal().unwrap_err(),
            ParseError::new(ParseErrorKind::UnexpectedChar, 2)
        );
        let mut c = Cursor::new("[1.2.3.4");
        assert_eq!(
            c.domain_literal().unwrap_err().kind(),
            ParseErrorKind::UnclosedDomainLiteral
        );
        let mut c = Cursor::new("[a\\  b]");
        assert_eq!(c.domain_literal().unwrap(), "[a\\  b]");
    }
}
