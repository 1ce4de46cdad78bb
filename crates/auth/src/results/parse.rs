//! Reading `Authentication-Results` fields (RFC 8601 section 2.2), e.g. to find and
//! remove fields that claim to come from our own host (RFC 8601 section 5).
//!
//! Comments (nested), folding, quoted strings and quoted pairs are handled. Property
//! values are read leniently (up to whitespace, `;` or a comment), as real fields carry
//! unquoted `/`, `+` and `=` in `header.b`.

use super::ResultsError;

/// A parsed `Authentication-Results` field value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParsedResults {
    /// The authserv-id: who produced the field.
    pub authserv_id: String,
    /// The authres-version, when given.
    pub version: Option<u32>,
    /// The results (empty for `none`).
    pub results: Vec<ParsedMethod>,
}

/// One parsed `method=result` with reason and properties.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParsedMethod {
    /// The method, lower case (`dkim`, `spf`, …).
    pub method: String,
    /// The method version after `/`, when given.
    pub method_version: Option<u32>,
    /// The result keyword, lower case.
    pub result: String,
    /// `reason=`, unquoted.
    pub reason: Option<String>,
    /// `(ptype, property, value)`, ptype and property lower case, value unquoted.
    pub properties: Vec<(String, String, String)>,
}

/// At most this many results in one field: memory stays bounded on hostile input.
const MAX_RESULTS: usize = 64;
const MAX_PROPERTIES: usize = 64;

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn err(&self) -> ResultsError {
        ResultsError::Syntax(self.pos)
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    /// Skips whitespace, folding and (nested) comments.
    fn cfws(&mut self) -> Result<(), ResultsError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.pos += 1,
                Some(b'(') => {
                    let mut depth = 0usize;
                    loop {
                        match self.peek() {
                            None => return Err(self.err()),
                            Some(b'\\') => self.pos += 2,
                            Some(b'(') => {
                                depth += 1;
                                self.pos += 1;
                            }
                            Some(b')') => {
                                depth -= 1;
                                self.pos += 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            Some(_) => self.pos += 1,
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &[u8] {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    fn keyword(&mut self) -> Result<String, ResultsError> {
        let k = self.take_while(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if k.is_empty() {
            return Err(self.err());
        }
        Ok(String::from_utf8_lossy(k).to_ascii_lowercase())
    }

    fn number(&mut self) -> Option<u32> {
        let d = self.take_while(|b| b.is_ascii_digit());
        std::str::from_utf8(d).ok()?.parse().ok()
    }

    fn quoted(&mut self) -> Result<String, ResultsError> {
        // At the opening quote.
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.err()),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                Some(b'\\') => {
                    let Some(&c) = self.s.get(self.pos + 1) else {
                        return Err(self.err());
                    };
                    out.push(c);
                    self.pos += 2;
                }
                Some(b'\r' | b'\n') => self.pos += 1,
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A value: quoted string, or the bytes up to whitespace, `;` or `(`.
    fn value(&mut self) -> Result<String, ResultsError> {
        if self.peek() == Some(b'"') {
            return self.quoted();
        }
        let v =
            self.take_while(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b'"'));
        if v.is_empty() {
            return Err(self.err());
        }
        Ok(String::from_utf8_lossy(v).into_owned())
    }
}

/// Parses the value of an `Authentication-Results` field (after the colon).
///
/// ```
/// use postwerk_auth::results::parse;
/// let r = parse(b" mx.example (comment); dkim=pass header.d=example.com header.b=\"ab/cd\"").unwrap();
/// assert_eq!(r.authserv_id, "mx.example");
/// assert_eq!(r.results[0].result, "pass");
/// assert_eq!(r.results[0].properties[1].2, "ab/cd");
/// ```
pub fn parse(value: &[u8]) -> Result<ParsedResults, ResultsError> {
    let mut c = Cursor { s: value, pos: 0 };
    c.cfws()?;
    let authserv_id = match c.peek() {
        Some(b'"') => c.quoted()?,
        _ => {
            let v =
                c.take_while(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b'"'));
            if v.is_empty() {
                return Err(c.err());
            }
            String::from_utf8_lossy(v).into_owned()
        }
    };
    c.cfws()?;
    let version = if c.peek().is_some_and(|b| b.is_ascii_digit()) {
        let v = c.number().ok_or_else(|| c.err())?;
        c.cfws()?;
        Some(v)
    } else {
        None
    };
    let mut results = Vec::new();
    loop {
        c.cfws()?;
        match c.peek() {
            None => break,
            Some(b';') => c.pos += 1,
            Some(_) => return Err(c.err()),
        }
        c.cfws()?;
        if c.peek().is_none() {
            break; // a trailing `;`
        }
        let method = c.keyword()?;
        c.cfws()?;
        if method == "none"
            && results.is_empty()
            && c.peek() != Some(b'=')
            && c.peek() != Some(b'/')
        {
            // no-result
            c.cfws()?;
            if c.peek().is_some() {
                return Err(c.err());
            }
            break;
        }
        let method_version = if c.eat(b'/') {
            c.cfws()?;
            let v = c.number().ok_or_else(|| c.err())?;
            c.cfws()?;
            Some(v)
        } else {
            None
        };
        if !c.eat(b'=') {
            return Err(c.err());
        }
        c.cfws()?;
        let result = c.keyword()?;
        let mut m = ParsedMethod {
            method,
            method_version,
            result,
            reason: None,
            properties: Vec::new(),
        };
        loop {
            c.cfws()?;
            match c.peek() {
                None | Some(b';') => break,
                Some(_) => {}
            }
            let name = c.keyword()?;
            c.cfws()?;
            if name == "reason" && m.reason.is_none() && c.peek() == Some(b'=') {
                c.pos += 1;
                c.cfws()?;
                m.reason = Some(c.value()?);
                continue;
            }
            if !c.eat(b'.') {
                return Err(c.err());
            }
            c.cfws()?;
            let property = c.keyword()?;
            c.cfws()?;
            if !c.eat(b'=') {
                return Err(c.err());
            }
            c.cfws()?;
            let v = c.value()?;
            if m.properties.len() >= MAX_PROPERTIES {
                return Err(c.err());
            }
            m.properties.push((name, property, v));
        }
        if results.len() >= MAX_RESULTS {
            return Err(c.err());
        }
        results.push(m);
    }
    Ok(ParsedResults {
        authserv_id,
        version,
        results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{AuthenticationResults, MethodResult};

    #[test]
    fn rfc8601_appendix_b_examples() {
        // B.2: nothing done.
        let r = parse(b" example.org 1; none").unwrap();
        assert_eq!(
            (r.authserv_id.as_str(), r.version),
            ("example.org", Some(1))
        );
        assert!(r.results.is_empty());
        // B.4-style: several methods, comments, reason, smtp properties.
        let r = parse(
            b" example.com;\r\n  spf=pass smtp.mailfrom=example.net;\r\n  \
              sender-id=pass (good) header.from=example.net reason=\"all good\";\r\n  \
              dkim/1=fail (bad sig) header.i=@mail-router.example.net",
        )
        .unwrap();
        assert_eq!(r.results.len(), 3);
        assert_eq!(
            r.results[0].properties[0],
            ("smtp".into(), "mailfrom".into(), "example.net".into())
        );
        assert_eq!(r.results[1].reason.as_deref(), Some("all good"));
        assert_eq!(r.results[2].method_version, Some(1));
        assert_eq!(r.results[2].properties[0].2, "@mail-router.example.net");
    }

    #[test]
    fn round_trip_with_the_writer() {
        let mut ar = AuthenticationResults::new("mx.example").unwrap();
        ar.push(
            MethodResult::new("dkim", "fail")
                .unwrap()
                .reason("say \"hi\"")
                .unwrap()
                .property("header", "b", "a/b+c=")
                .unwrap(),
        );
        ar.push(
            MethodResult::new("spf", "pass")
                .unwrap()
                .property("smtp", "mailfrom", "a@b.example")
                .unwrap(),
        );
        let field = ar.to_field();
        let value = field.strip_prefix("Authentication-Results:").unwrap();
        let r = parse(value.as_bytes()).unwrap();
        assert_eq!(r.authserv_id, "mx.example");
        assert_eq!(r.results[0].reason.as_deref(), Some("say \"hi\""));
        assert_eq!(r.results[0].properties[0].2, "a/b+c=");
        assert_eq!(r.results[1].properties[0].2, "a@b.example");
    }

    #[test]
    fn malformed_fields_are_errors_not_panics() {
        for bad in [
            &b""[..],
            b" ;",
            b" mx (unclosed",
            b" mx; dkim",
            b" mx; dkim=",
            b" mx; dkim=pass header",
            b" mx; dkim=pass header.d",
            b" mx; dkim=pass reason=\"open",
            b" mx; none extra",
            b" mx; dkim=pass \\",
            b" mx (a\\",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = parse(&input);
        }

        #[test]
        fn never_panics_on_near_valid(input in "[ a-z0-9.;=()\\\"@/-]{0,120}") {
            let _ = parse(input.as_bytes());
        }
    }
}
