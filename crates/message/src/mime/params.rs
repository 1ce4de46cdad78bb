//! MIME parameters (RFC 2045 section 5.1) with RFC 2231 continuations and charsets.
//!
//! ```text
//! parameter      = attribute "=" value
//! value          = token / quoted-string
//! ; RFC 2231
//! extended-parameter = (ext-octet-name "*" "=" ext-value)      ; title*=us-ascii'en'a%20b
//!                    / (section-name "*0*" "=" ext-value)        ; first section, encoded
//!                    / (section-name "*" N ["*"] "=" value)     ; later sections
//! ext-value      = [charset] "'" [language] "'" *(ext-octet / attribute-char)
//! ```
//!
//! Lenient where real mail is: unquoted values may contain `/`, `=`, `?` and other
//! tspecials (they end at white space, `;`, `(` or `"`), a parameter without `=` is
//! skipped, and encoded words (RFC 2047) inside values are decoded, as mail clients write
//! them in file names.

use std::borrow::Cow;

use super::decode_charset;

/// One parameter: lower-case name (RFC 2231 sections already joined) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param<'a> {
    name: Cow<'a, str>,
    value: Cow<'a, str>,
}

impl<'a> Param<'a> {
    /// The parameter name in lower case, without RFC 2231 `*` suffixes.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value: unquoted, RFC 2231 sections joined and charset-decoded, encoded words
    /// decoded.
    pub fn value(&self) -> &str {
        &self.value
    }

    pub(crate) fn into_value(self) -> Cow<'a, str> {
        self.value
    }

    /// A parameter from a lower-case name and a value.
    #[cfg(feature = "serde")]
    pub(crate) fn from_parts(name: Cow<'a, str>, value: Cow<'a, str>) -> Self {
        Param { name, value }
    }

    /// The same parameter, owning its text.
    pub fn into_owned(self) -> Param<'static> {
        Param {
            name: Cow::Owned(self.name.into_owned()),
            value: Cow::Owned(self.value.into_owned()),
        }
    }
}

/// Maximum number of parameters kept per field.
const MAX_PARAMS: usize = 256;

pub(crate) fn is_token_byte(b: u8) -> bool {
    b > b' '
        && b < 127
        && !matches!(
            b,
            b'(' | b')'
                | b'<'
                | b'>'
                | b'@'
                | b','
                | b';'
                | b':'
                | b'\\'
                | b'"'
                | b'/'
                | b'['
                | b']'
                | b'?'
                | b'='
        )
}

/// A cursor over a structured MIME field value.
pub(crate) struct Lexer<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Lexer { b, pos: 0 }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    /// Skips white space, line breaks and comments (an unclosed or too deeply nested
    /// comment runs to the end).
    pub(crate) fn skip_cfws(&mut self) {
        self.pos = crate::lexer::skip_cfws_at(self.b, self.pos).unwrap_or(self.b.len());
    }

    pub(crate) fn token(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(is_token_byte) {
            self.pos += 1;
        }
        self.b.get(start..self.pos).unwrap_or_default()
    }

    /// A lenient unquoted value: anything up to white space, `;`, `(` or `"`.
    fn loose_value(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c > b' ' && !matches!(c, b';' | b'(' | b'"' | 127))
        {
            self.pos += 1;
        }
        self.b.get(start..self.pos).unwrap_or_default()
    }

    /// A quoted string starting at `"`: escapes removed, folding removed. Runs to the end
    /// of input when unterminated.
    fn quoted(&mut self) -> Cow<'a, [u8]> {
        self.pos += 1;
        let start = self.pos;
        let mut owned: Option<Vec<u8>> = None;
        while let Some(c) = self.peek() {
            match c {
                b'"' => {
                    let raw = self.b.get(start..self.pos).unwrap_or_default();
                    self.pos += 1;
                    return owned.map_or(Cow::Borrowed(raw), Cow::Owned);
                }
                b'\\' | b'\r' | b'\n' => {
                    let buf = owned.get_or_insert_with(|| {
                        self.b.get(start..self.pos).unwrap_or_default().to_vec()
                    });
                    if c == b'\\' {
                        if let Some(&n) = self.b.get(self.pos + 1) {
                            buf.push(n);
                        }
                        self.pos += 2;
                    } else {
                        self.pos += 1;
                    }
                }
                _ => {
                    if let Some(buf) = owned.as_mut() {
                        buf.push(c);
                    }
                    self.pos += 1;
                }
            }
        }
        let raw = self.b.get(start..).unwrap_or_default();
        self.pos = self.b.len();
        owned.map_or(Cow::Borrowed(raw), Cow::Owned)
    }

    /// Skips to just after the next `;` (or the end).
    fn skip_to_semicolon(&mut self) {
        match memchr::memchr(b';', self.b.get(self.pos..).unwrap_or_default()) {
            Some(i) => self.pos += i + 1,
            None => self.pos = self.b.len(),
        }
    }
}

struct RawParam<'a> {
    name: &'a str,
    value: Cow<'a, [u8]>,
}

fn bytes_to_str(b: Cow<'_, [u8]>) -> Cow<'_, str> {
    match b {
        Cow::Borrowed(b) => String::from_utf8_lossy(b),
        Cow::Owned(v) => match String::from_utf8(v) {
            Ok(s) => Cow::Owned(s),
            Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        },
    }
}

fn lower<'a>(s: &'a str) -> Cow<'a, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// A parameter without RFC 2231 sections; encoded words are decoded except in a boundary,
/// which must stay byte for byte.
fn plain_param(p: RawParam<'_>) -> Param<'_> {
    let value = bytes_to_str(p.value);
    let value = if p.name.eq_ignore_ascii_case("boundary") {
        value
    } else {
        crate::encoded_word::decode_words(value)
    };
    Param {
        name: lower(p.name),
        value,
    }
}

/// Parses `*(";" parameter)` from the lexer's position to the end.
pub(crate) fn parse_params<'a>(lx: &mut Lexer<'a>) -> Vec<Param<'a>> {
    let mut raw: Vec<RawParam<'a>> = Vec::new();
    let mut any_star = false;
    loop {
        lx.skip_cfws();
        match lx.peek() {
            None => break,
            Some(b';') => {
                lx.pos += 1;
                continue;
            }
            Some(_) => {}
        }
        let name = lx.token();
        lx.skip_cfws();
        if name.is_empty() || lx.peek() != Some(b'=') {
            lx.skip_to_semicolon();
            continue;
        }
        lx.pos += 1;
        lx.skip_cfws();
        let value = if lx.peek() == Some(b'"') {
            lx.quoted()
        } else {
            Cow::Borrowed(lx.loose_value())
        };
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        any_star |= name.contains('*');
        if raw.len() < MAX_PARAMS {
            raw.push(RawParam { name, value });
        }
    }
    if !any_star {
        return raw.into_iter().map(plain_param).collect();
    }
    join_rfc2231(raw)
}

/// One RFC 2231 section: `name*N` or `name*N*`.
struct Section<'a> {
    index: u32,
    extended: bool,
    value: Cow<'a, [u8]>,
}

fn percent_decode_into(out: &mut Vec<u8>, v: &[u8]) {
    let mut i = 0;
    while let Some(&c) = v.get(i) {
        if c == b'%' {
            let h = v.get(i + 1).copied().and_then(crate::lexer::hex);
            let l = v.get(i + 2).copied().and_then(crate::lexer::hex);
            if let (Some(h), Some(l)) = (h, l) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
}

fn join_rfc2231(raw: Vec<RawParam<'_>>) -> Vec<Param<'_>> {
    // (lower-case base name, position of first appearance, sections)
    let mut groups: Vec<(String, Vec<Section<'_>>)> = Vec::new();
    let mut out: Vec<(Param<'_>, bool)> = Vec::new(); // (param, from RFC 2231)
    for p in raw {
        let Some(star) = p.name.find('*') else {
            out.push((plain_param(p), false));
            continue;
        };
        let base = p.name.get(..star).unwrap_or_default().to_ascii_lowercase();
        let suffix = p.name.get(star + 1..).unwrap_or_default();
        let (digits, extended) = match suffix.strip_suffix('*') {
            Some(d) => (d, true),
            None => (suffix, false),
        };
        let (index, extended) = if digits.is_empty() {
            (0, true) // `name*=` (or a stray `name**=`)
        } else {
            match digits.parse::<u32>() {
                Ok(n) => (n, extended),
                Err(_) => continue,
            }
        };
        let section = Section {
            index,
            extended,
            value: p.value,
        };
        match groups.iter_mut().find(|g| g.0 == base) {
            Some(g) => g.1.push(section),
            None => {
                groups.push((base, vec![section]));
            }
        }
    }
    for (base, mut sections) in groups {
        sections.sort_by_key(|s| s.index);
        let mut charset: Option<Vec<u8>> = None;
        let mut bytes = Vec::new();
        for (expected, s) in sections.iter().enumerate() {
            if s.index as usize != expected {
                break; // a gap or duplicate ends the value
            }
            let mut v: &[u8] = &s.value;
            if s.extended && expected == 0 {
                // charset'language'value
                let mut it = v.splitn(3, |&b| b == b'\'');
                if let (Some(cs), Some(_lang), Some(rest)) = (it.next(), it.next(), it.next()) {
                    charset = Some(cs.to_vec());
                    v = rest;
                }
            }
            if s.extended {
                percent_decode_into(&mut bytes, v);
            } else {
                bytes.extend_from_slice(v);
            }
        }
        let value = match charset.as_deref() {
            Some(cs) if !cs.is_empty() => Cow::Owned(decode_charset(cs, &bytes).into_owned()),
            // No charset: UTF-8 where valid, else Windows-1252.
            _ => Cow::Owned(crate::charset::decode_8bit(&bytes, None).0.into_owned()),
        };
        // The RFC 2231 value replaces a plain parameter of the same name.
        out.retain(|(p, from_2231)| *from_2231 || p.name != base);
        out.push((
            Param {
                name: Cow::Owned(base),
                value,
            },
            true,
        ));
    }
    out.into_iter().map(|(p, _)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(s: &str) -> Vec<(String, String)> {
        let mut lx = Lexer::new(s.as_bytes());
        parse_params(&mut lx)
            .into_iter()
            .map(|p| (p.name().to_string(), p.value().to_string()))
            .collect()
    }

    #[test]
    fn plain() {
        assert_eq!(
            params("; charset=us-ascii (Plain text); Name=\"a \\\"b\\\" c\""),
            [
                ("charset".into(), "us-ascii".into()),
                ("name".into(), "a \"b\" c".into())
            ]
        );
        assert_eq!(
            params(";boundary=----=_Part_0_1.2"),
            [("boundary".into(), "----=_Part_0_1.2".into())]
        );
        assert_eq!(params("; junk; x=1;"), [("x".into(), "1".into())]);
    }

    #[test]
    fn boundary_is_not_decoded() {
        assert_eq!(
            params("; boundary=\"=?utf-8?q?x?=\""),
            [("boundary".into(), "=?utf-8?q?x?=".into())]
        );
    }

    #[test]
    fn rfc2231_continuations() {
        let p = params(
            "; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"",
        );
        assert_eq!(
            p,
            [(
                "title".into(),
                "This is even more ***fun*** isn't it!".into()
            )]
        );
    }

    #[test]
    fn rfc2231_charset() {
        let p = params("; filename*=iso-8859-1'de'Gr%FC%DFe.txt; filename=\"fallback.txt\"");
        assert_eq!(p, [("filename".into(), "Grüße.txt".into())]);
        let p = params("; filename*=UTF-8''%E2%82%AC.pdf");
        assert_eq!(p, [("filename".into(), "€.pdf".into())]);
        let p = params("; name*1=b; name*0=a; name*3=z");
        assert_eq!(p, [("name".into(), "ab".into())]);
    }
}
