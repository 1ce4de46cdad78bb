//! The `Authentication-Results:` header field (RFC 8601): a writer and a parser.
//!
//! Every value is checked before it is written: method names, results, property types
//! and names must be keywords; property values are written as a token, as
//! `local-part@domain`, or as a quoted string with `"` and `\` escaped; CR, LF and other
//! control characters are refused. Nothing is copied into the field unchecked, so a
//! hostile value cannot inject another header field.
//!
//! ```text
//! authres-header-field = "Authentication-Results:" authres-payload
//! authres-payload = [CFWS] authserv-id [ CFWS authres-version ]
//!                   ( no-result / 1*resinfo ) [CFWS] CRLF
//! resinfo = [CFWS] ";" methodspec [ CFWS reasonspec ] [ CFWS 1*propspec ]
//! methodspec = [CFWS] method [CFWS] "=" [CFWS] result
//! propspec = ptype [CFWS] "." [CFWS] property [CFWS] "=" pvalue
//! ```
//!
//! ```
//! use postwerk_auth::results::{AuthenticationResults, MethodResult};
//! let mut ar = AuthenticationResults::new("mx.example").unwrap();
//! ar.push(MethodResult::new("dkim", "pass").unwrap()
//!     .property("header", "d", "example.com").unwrap()
//!     .property("header", "s", "sel").unwrap()
//!     .property("header", "b", "abcd1234").unwrap());
//! assert_eq!(ar.to_field(),
//!     "Authentication-Results: mx.example; dkim=pass header.d=example.com\r\n header.s=sel header.b=abcd1234\r\n");
//! ```

use thiserror::Error;

use crate::dkim::SignatureResult;

mod parse;
pub use parse::{ParsedMethod, ParsedResults, parse};

/// A value that cannot be written into an `Authentication-Results` field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ResultsError {
    /// The authserv-id is empty or contains characters no token or quoted string allows.
    #[error("invalid authserv-id {0:?}")]
    BadAuthservId(String),
    /// A method name, result, ptype or property name is not a keyword (letters, digits,
    /// inner hyphens).
    #[error("not a keyword: {0:?}")]
    NotKeyword(String),
    /// A value contains CR, LF, another control character or non-ASCII text.
    #[error("value contains a control or non-ASCII character: {0:?}")]
    BadValue(String),
    /// A field being parsed is malformed at this byte offset.
    #[error("malformed Authentication-Results at byte {0}")]
    Syntax(usize),
}

/// One `method=result` with its reason and properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodResult {
    method: String,
    result: String,
    reason: Option<String>,
    properties: Vec<(String, String, String)>,
}

/// An `Authentication-Results` field being written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationResults {
    authserv_id: String,
    results: Vec<MethodResult>,
}

fn is_keyword(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn keyword(s: &str) -> Result<String, ResultsError> {
    if is_keyword(s) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(ResultsError::NotKeyword(s.to_owned()))
    }
}

/// RFC 2045 token: printable ASCII except SPACE and tspecials.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| (0x21..0x7f).contains(&b) && !b"()<>@,;:\\\"/[]?=".contains(&b))
}

fn printable(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b) || b == b'\t')
}

fn is_domain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// RFC 5322 `dot-atom-text`: atext runs separated by single dots.
pub(crate) fn is_dot_atom(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|a| {
            !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b))
        })
}

/// An RFC 5322 quoted-string of `s` (`"` and `\\` as quoted-pairs).
pub(crate) fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A property value: token, `[local-part]@domain`, or quoted string.
fn pvalue(s: &str) -> Result<String, ResultsError> {
    if !printable(s) {
        return Err(ResultsError::BadValue(s.to_owned()));
    }
    if is_token(s) {
        return Ok(s.to_owned());
    }
    if let Some((local, domain)) = s.rsplit_once('@')
        && is_domain(domain)
        && (local.is_empty() || is_dot_atom(local))
    {
        return Ok(s.to_owned());
    }
    Ok(quoted(s))
}

impl MethodResult {
    /// `method=result`, e.g. `dkim=pass`. Both must be keywords.
    pub fn new(method: &str, result: &str) -> Result<Self, ResultsError> {
        Ok(Self {
            method: keyword(method)?,
            result: keyword(result)?,
            reason: None,
            properties: Vec::new(),
        })
    }

    /// Adds `reason="..."` (printable ASCII; written as a quoted string).
    pub fn reason(mut self, text: &str) -> Result<Self, ResultsError> {
        if !printable(text) {
            return Err(ResultsError::BadValue(text.to_owned()));
        }
        self.reason = Some(text.to_owned());
        Ok(self)
    }

    /// Adds `ptype.property=value`, e.g. `header.d=example.com`.
    pub fn property(mut self, ptype: &str, name: &str, value: &str) -> Result<Self, ResultsError> {
        let ptype = keyword(ptype)?;
        let name = keyword(name)?;
        let value = pvalue(value)?;
        self.properties.push((ptype, name, value));
        Ok(self)
    }

    /// The `dkim=` entry for one verified signature: result, reason when not `pass`, and
    /// `header.d`, `header.i`, `header.s`, `header.a` and `header.b` (the first 8
    /// characters of the signature, RFC 6008). Text from the message that would not be a
    /// valid value is replaced by `?`, never copied raw.
    pub fn dkim(r: &SignatureResult) -> Self {
        let mut m = Self {
            method: "dkim".into(),
            result: r.status.as_str().into(),
            reason: r.reason.as_ref().map(|e| sanitize(&e.to_string())),
            properties: Vec::new(),
        };
        if let Some(sig) = &r.signature {
            let mut add = |name: &str, value: &str| {
                if let Ok(v) = pvalue(&sanitize(value)) {
                    m.properties.push(("header".into(), name.into(), v));
                }
            };
            add("d", &sig.domain);
            if let Some(i) = &sig.identity {
                add("i", i);
            }
            add("s", &sig.selector);
            add("a", sig.algorithm.as_str());
            let b: String = sig.signature_base64.chars().take(8).collect();
            add("b", &b);
        }
        m
    }
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii() && (c == ' ' || c.is_ascii_graphic()) {
                c
            } else {
                '?'
            }
        })
        .collect()
}

impl AuthenticationResults {
    /// A field for `authserv_id` (usually the receiving host name).
    pub fn new(authserv_id: &str) -> Result<Self, ResultsError> {
        if !is_token(authserv_id) {
            return Err(ResultsError::BadAuthservId(authserv_id.to_owned()));
        }
        Ok(Self {
            authserv_id: authserv_id.to_owned(),
            results: Vec::new(),
        })
    }

    /// Adds a result.
    pub fn push(&mut self, result: MethodResult) {
        self.results.push(result);
    }

    /// Adds a `dkim=` result per signature (see [`MethodResult::dkim`]).
    pub fn push_dkim(&mut self, results: &[SignatureResult]) {
        for r in results {
            self.push(MethodResult::dkim(r));
        }
    }

    /// The whole field, `Authentication-Results: ...` folded at 78 columns, ending in
    /// CRLF. With no results it says `none` (RFC 8601 2.2).
    pub fn to_field(&self) -> String {
        let mut out = String::from("Authentication-Results:");
        let mut col = out.len();
        let mut word = |w: &str, out: &mut String| {
            if col + 1 + w.len() > 78 && col > 1 {
                out.push_str("\r\n ");
                col = 1;
            } else {
                out.push(' ');
                col += 1;
            }
            out.push_str(w);
            col += w.len();
        };
        if self.results.is_empty() {
            word(&format!("{};", self.authserv_id), &mut out);
            word("none", &mut out);
        } else {
            word(&format!("{};", self.authserv_id), &mut out);
            let last = self.results.len() - 1;
            for (i, r) in self.results.iter().enumerate() {
                let mut words = vec![format!("{}={}", r.method, r.result)];
                if let Some(reason) = &r.reason {
                    words.push(format!("reason={}", quoted(reason)));
                }
                for (t, n, v) in &r.properties {
                    words.push(format!("{t}.{n}={v}"));
                }
                if i != last
                    && let Some(w) = words.last_mut()
                {
                    w.push(';');
                }
                for w in &words {
                    word(w, &mut out);
                }
            }
        }
        out.push_str("\r\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_result_is_none() {
        let ar = AuthenticationResults::new("mx.example").unwrap();
        assert_eq!(
            ar.to_field(),
            "Authentication-Results: mx.example; none\r\n"
        );
    }

    #[test]
    fn security_56_values_are_checked_never_copied_raw() {
        assert!(AuthenticationResults::new("mx.example\r\nBcc: x").is_err());
        assert!(AuthenticationResults::new("").is_err());
        assert!(MethodResult::new("dkim\r\nX", "pass").is_err());
        assert!(MethodResult::new("dkim", "pass fail").is_err());
        let m = MethodResult::new("dkim", "pass").unwrap();
        assert!(m.clone().reason("bad\r\nInjected: yes").is_err());
        assert!(m.clone().property("header", "d", "evil\r\n.com").is_err());
        assert!(m.clone().property("header", "d", "caf\u{e9}").is_err());
        assert!(m.clone().property("head er", "d", "x").is_err());
        // Specials are quoted, quotes and backslashes escaped.
        let m = m
            .property("header", "b", "ab/c+d=")
            .unwrap()
            .reason("say \"hi\" \\o/")
            .unwrap();
        let mut ar = AuthenticationResults::new("mx.example").unwrap();
        ar.push(m);
        assert_eq!(
            ar.to_field(),
            "Authentication-Results: mx.example; dkim=pass reason=\"say \\\"hi\\\" \\\\o/\"\r\n header.b=\"ab/c+d=\"\r\n"
        );
    }

    #[test]
    fn addresses_and_domains_unquoted() {
        let m = MethodResult::new("dkim", "pass")
            .unwrap()
            .property("header", "i", "@example.com")
            .unwrap()
            .property("header", "i", "joe.q@mail.example.com")
            .unwrap();
        let mut ar = AuthenticationResults::new("mx.example").unwrap();
        ar.push(m);
        ar.push(MethodResult::new("spf", "none").unwrap());
        assert_eq!(
            ar.to_field(),
            "Authentication-Results: mx.example; dkim=pass header.i=@example.com\r\n header.i=joe.q@mail.example.com; spf=none\r\n"
        );
    }

    #[test]
    fn every_line_at_most_78() {
        let mut ar = AuthenticationResults::new("mx.example").unwrap();
        for i in 0..10 {
            ar.push(
                MethodResult::new("dkim", "fail")
                    .unwrap()
                    .reason(&format!("reason number {i} is rather long"))
                    .unwrap()
                    .property("header", "d", "subdomain.example.com")
                    .unwrap(),
            );
        }
        let f = ar.to_field();
        assert!(f.split("\r\n").all(|l| l.len() <= 78), "{f}");
    }
}
