//! `Content-Type` (RFC 2045 section 5) and `Content-Disposition` (RFC 2183).
//!
//! ```text
//! content     := "Content-Type" ":" type "/" subtype *(";" parameter)
//! disposition := "Content-Disposition" ":" disposition-type *(";" disposition-parm)
//! ```
//!
//! A `Content-Type` that does not parse (no `/`, empty type or subtype) is treated as
//! absent, which RFC 2045 section 5.2 asks for: the default applies.

use std::borrow::Cow;

use super::params::{Lexer, Param, parse_params};

/// A media type with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType<'a> {
    main: Cow<'a, str>,
    sub: Cow<'a, str>,
    params: Vec<Param<'a>>,
}

fn lower_str(b: &[u8]) -> Cow<'_, str> {
    // Tokens are ASCII, so this never fails for a non-empty token.
    let s = std::str::from_utf8(b).unwrap_or_default();
    if s.bytes().any(|c| c.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

fn find_param<'s>(params: &'s [Param<'_>], name: &str) -> Option<&'s str> {
    params
        .iter()
        .find(|p| p.name().eq_ignore_ascii_case(name))
        .map(Param::value)
}

impl<'a> ContentType<'a> {
    /// `text/plain; charset=us-ascii`, the default of RFC 2045 section 5.2.
    pub fn text_plain_default() -> ContentType<'static> {
        ContentType {
            main: Cow::Borrowed("text"),
            sub: Cow::Borrowed("plain"),
            params: Vec::new(),
        }
    }

    /// `message/rfc822`, the default inside `multipart/digest` (RFC 2046 section 5.1.5).
    pub fn message_rfc822_default() -> ContentType<'static> {
        ContentType {
            main: Cow::Borrowed("message"),
            sub: Cow::Borrowed("rfc822"),
            params: Vec::new(),
        }
    }

    /// A media type from lower-case parts.
    #[cfg(feature = "serde")]
    pub(crate) fn from_parts(
        main: Cow<'a, str>,
        sub: Cow<'a, str>,
        params: Vec<Param<'a>>,
    ) -> Self {
        ContentType { main, sub, params }
    }

    /// The same media type, owning its text.
    pub fn into_owned(self) -> ContentType<'static> {
        ContentType {
            main: Cow::Owned(self.main.into_owned()),
            sub: Cow::Owned(self.sub.into_owned()),
            params: self.params.into_iter().map(Param::into_owned).collect(),
        }
    }

    /// Parses a `Content-Type` value; `None` when it has no valid `type/subtype`.
    ///
    /// ```
    /// use postwerk_message::ContentType;
    /// let ct = ContentType::parse(b"Multipart/Mixed; boundary=\"=_x\"").unwrap();
    /// assert_eq!((ct.main_type(), ct.subtype()), ("multipart", "mixed"));
    /// assert_eq!(ct.boundary(), Some("=_x"));
    /// ```
    pub fn parse(value: &'a [u8]) -> Option<ContentType<'a>> {
        let mut lx = Lexer::new(value);
        lx.skip_cfws();
        let main = lx.token();
        lx.skip_cfws();
        if main.is_empty() || lx.peek() != Some(b'/') {
            return None;
        }
        lx.pos += 1;
        lx.skip_cfws();
        let sub = lx.token();
        if sub.is_empty() {
            return None;
        }
        Some(ContentType {
            main: lower_str(main),
            sub: lower_str(sub),
            params: parse_params(&mut lx),
        })
    }

    /// The top-level type in lower case (`text`, `multipart`, …).
    pub fn main_type(&self) -> &str {
        &self.main
    }

    /// The subtype in lower case (`plain`, `mixed`, …).
    pub fn subtype(&self) -> &str {
        &self.sub
    }

    /// Whether this is `main/sub` (case-insensitive).
    pub fn is(&self, main: &str, sub: &str) -> bool {
        self.main.eq_ignore_ascii_case(main) && self.sub.eq_ignore_ascii_case(sub)
    }

    /// Whether the top-level type is `multipart`.
    pub fn is_multipart(&self) -> bool {
        self.main == "multipart"
    }

    /// All parameters in order.
    pub fn params(&self) -> &[Param<'a>] {
        &self.params
    }

    /// A parameter's value by name (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        find_param(&self.params, name)
    }

    /// The `charset` parameter.
    pub fn charset(&self) -> Option<&str> {
        self.param("charset")
    }

    /// The `boundary` parameter (for multipart types).
    pub fn boundary(&self) -> Option<&str> {
        self.param("boundary")
    }

    pub(crate) fn take_param(&mut self, name: &str) -> Option<Cow<'a, str>> {
        let i = self
            .params
            .iter()
            .position(|p| p.name().eq_ignore_ascii_case(name))?;
        Some(self.params.swap_remove(i).into_value())
    }
}

/// `type/subtype` followed by `; name=value` for each parameter, values quoted.
impl std::fmt::Display for ContentType<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.main, self.sub)?;
        for p in &self.params {
            write!(f, "; {}=\"", p.name())?;
            for c in p.value().chars() {
                if c == '"' || c == '\\' {
                    write!(f, "\\")?;
                }
                write!(f, "{c}")?;
            }
            write!(f, "\"")?;
        }
        Ok(())
    }
}

/// The `Content-Disposition` of a part: `inline`, `attachment`, … with parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentDisposition<'a> {
    kind: Cow<'a, str>,
    params: Vec<Param<'a>>,
}

impl<'a> ContentDisposition<'a> {
    /// A disposition from a lower-case kind and parameters.
    #[cfg(feature = "serde")]
    pub(crate) fn from_parts(kind: Cow<'a, str>, params: Vec<Param<'a>>) -> Self {
        ContentDisposition { kind, params }
    }

    /// The same disposition, owning its text.
    pub fn into_owned(self) -> ContentDisposition<'static> {
        ContentDisposition {
            kind: Cow::Owned(self.kind.into_owned()),
            params: self.params.into_iter().map(Param::into_owned).collect(),
        }
    }

    /// Parses a `Content-Disposition` value; `None` when it has no disposition type.
    ///
    /// ```
    /// use postwerk_message::ContentDisposition;
    /// let cd = ContentDisposition::parse(b"attachment; filename*=UTF-8''%E2%82%AC.txt").unwrap();
    /// assert!(cd.is_attachment());
    /// assert_eq!(cd.filename(), Some("€.txt"));
    /// ```
    pub fn parse(value: &'a [u8]) -> Option<ContentDisposition<'a>> {
        let mut lx = Lexer::new(value);
        lx.skip_cfws();
        let kind = lx.token();
        if kind.is_empty() {
            return None;
        }
        Some(ContentDisposition {
            kind: lower_str(kind),
            params: parse_params(&mut lx),
        })
    }

    /// The disposition type in lower case (`inline`, `attachment`, …).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Whether the type is `attachment`.
    pub fn is_attachment(&self) -> bool {
        self.kind == "attachment"
    }

    /// All parameters in order.
    pub fn params(&self) -> &[Param<'a>] {
        &self.params
    }

    /// A parameter's value by name (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        find_param(&self.params, name)
    }

    /// The `filename` parameter (RFC 2231 and encoded words decoded).
    pub fn filename(&self) -> Option<&str> {
        self.param("filename")
    }

    pub(crate) fn take_param(&mut self, name: &str) -> Option<Cow<'a, str>> {
        let i = self
            .params
            .iter()
            .position(|p| p.name().eq_ignore_ascii_case(name))?;
        Some(self.params.swap_remove(i).into_value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type() {
        let ct = ContentType::parse(b" Text/HTML (c) ; CHARSET=\"UTF-8\"").unwrap();
        assert_eq!(ct.main_type(), "text");
        assert_eq!(ct.subtype(), "html");
        assert_eq!(ct.charset(), Some("UTF-8"));
        assert!(ct.is("TEXT", "html"));
        assert!(ContentType::parse(b"text").is_none());
        assert!(ContentType::parse(b"/plain").is_none());
        assert!(ContentType::parse(b"").is_none());
        assert_eq!(ct.to_string(), "text/html; charset=\"UTF-8\"");
    }

    #[test]
    fn disposition() {
        let cd =
            ContentDisposition::parse(b"Attachment; filename=\"=?UTF-8?B?w6kudHh0?=\"").unwrap();
        assert_eq!(cd.kind(), "attachment");
        assert_eq!(cd.filename(), Some("é.txt"));
        assert!(ContentDisposition::parse(b";x=1").is_none());
    }
}
