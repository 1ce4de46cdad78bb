//! `Received:` trace fields (RFC 5321 section 4.4, RFC 5322 section 3.6.7), read loosely.
//!
//! ```text
//! received = "Received:" [1*received-token / CFWS] ";" date-time CRLF
//! Stamp    = From-domain By-domain Opt-info [CFWS] ";" FWS date-time
//! Opt-info = [Via] [With] [ID] [For] [Additional-Registered-Clauses]
//! ```
//!
//! Real trace fields vary a lot, so the clauses are picked out by keyword: the word after
//! `from`, `by`, `via`, `with`, `id` and `for` is its value, the first comment after the
//! `from` value is the TCP information, and the text after the last `;` is the date.

use crate::ParseError;
use crate::date::{DateTime, parse_date};

/// A parsed `Received:` field; every clause is optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received<'a> {
    raw: &'a [u8],
    from: Option<&'a str>,
    from_info: Option<&'a str>,
    by: Option<&'a str>,
    via: Option<&'a str>,
    with: Option<&'a str>,
    id: Option<&'a str>,
    for_: Option<&'a str>,
    date: Option<Result<DateTime, ParseError>>,
}

impl<'a> Received<'a> {
    /// Parses a `Received:` field value.
    ///
    /// ```
    /// use postwerk_message::Received;
    /// let r = Received::parse(b"from a.example (a.example [192.0.2.1])\r\n\tby mx.example with ESMTPS id 42\r\n\tfor <u@mx.example>; Sat, 28 Nov 2026 20:51:10 +0000");
    /// assert_eq!(r.from(), Some("a.example"));
    /// assert_eq!(r.from_info(), Some("a.example [192.0.2.1]"));
    /// assert_eq!(r.with(), Some("ESMTPS"));
    /// assert_eq!(r.date().unwrap().as_ref().unwrap().year, 2026);
    /// ```
    pub fn parse(raw: &'a [u8]) -> Received<'a> {
        let (clauses, date) = match memchr::memrchr(b';', raw) {
            Some(i) => (
                raw.get(..i).unwrap_or_default(),
                Some(
                    parse_date(raw.get(i + 1..).unwrap_or_default())
                        .map_err(|e| ParseError::new(e.kind(), e.offset().saturating_add(i + 1))),
                ),
            ),
            None => (raw, None),
        };
        let mut r = Received {
            raw,
            from: None,
            from_info: None,
            by: None,
            via: None,
            with: None,
            id: None,
            for_: None,
            date,
        };
        let mut pos = 0usize;
        let mut pending: Option<&'static str> = None;
        let mut last_key: Option<&'static str> = None;
        while let Some(&c) = clauses.get(pos) {
            match c {
                b' ' | b'\t' | b'\r' | b'\n' => pos += 1,
                b'(' => {
                    let start = pos + 1;
                    // An unclosed (or too deeply nested) comment runs to the end.
                    let end = match crate::lexer::skip_comment_at(clauses, pos) {
                        Ok(after) => {
                            pos = after;
                            after - 1
                        }
                        Err(_) => {
                            pos = clauses.len();
                            clauses.len()
                        }
                    };
                    if last_key == Some("from") && r.from_info.is_none() && r.from.is_some() {
                        r.from_info = clauses
                            .get(start..end.max(start))
                            .and_then(|b| std::str::from_utf8(b).ok());
                    }
                }
                _ => {
                    let start = pos;
                    while clauses
                        .get(pos)
                        .is_some_and(|&c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'('))
                    {
                        pos += 1;
                    }
                    let word = clauses.get(start..pos).unwrap_or_default();
                    if let Some(key) = pending.take() {
                        let value = std::str::from_utf8(word).ok();
                        let slot = match key {
                            "from" => &mut r.from,
                            "by" => &mut r.by,
                            "via" => &mut r.via,
                            "with" => &mut r.with,
                            "id" => &mut r.id,
                            _ => &mut r.for_,
                        };
                        if slot.is_none() {
                            *slot = value;
                        }
                        continue;
                    }
                    const KEYS: [&str; 6] = ["from", "by", "via", "with", "id", "for"];
                    if let Some(k) = KEYS
                        .iter()
                        .find(|k| k.as_bytes().eq_ignore_ascii_case(word))
                    {
                        pending = Some(k);
                        last_key = Some(k);
                    } else {
                        last_key = None;
                    }
                }
            }
        }
        r
    }

    /// The raw field value.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The `from` domain (as the sender named itself in HELO/EHLO).
    pub fn from(&self) -> Option<&'a str> {
        self.from
    }

    /// The comment after the `from` domain (TCP information: reverse DNS name and
    /// address literal).
    pub fn from_info(&self) -> Option<&'a str> {
        self.from_info
    }

    /// The `by` domain (the receiving host).
    pub fn by(&self) -> Option<&'a str> {
        self.by
    }

    /// The `via` link.
    pub fn via(&self) -> Option<&'a str> {
        self.via
    }

    /// The `with` protocol (`SMTP`, `ESMTPS`, `LMTP`, …).
    pub fn with(&self) -> Option<&'a str> {
        self.with
    }

    /// The `id` clause.
    pub fn id(&self) -> Option<&'a str> {
        self.id
    }

    /// The `for` clause (usually `<path>`).
    pub fn for_path(&self) -> Option<&'a str> {
        self.for_
    }

    /// The date after the last `;`, parsed; `None` when there is no `;`. Error offsets
    /// are relative to the raw value.
    pub fn date(&self) -> Option<&Result<DateTime, ParseError>> {
        self.date.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postfix_style() {
        let r = Received::parse(
            b"from mail.example.com (mail.example.com [203.0.113.5])\r\n\tby mx.example.org (Postfix) with ESMTPS id 4ABC\r\n\tfor <bob@example.org>; Mon, 2 Mar 2026 10:00:00 +0100 (CET)",
        );
        assert_eq!(r.from(), Some("mail.example.com"));
        assert_eq!(r.from_info(), Some("mail.example.com [203.0.113.5]"));
        assert_eq!(r.by(), Some("mx.example.org"));
        assert_eq!(r.with(), Some("ESMTPS"));
        assert_eq!(r.id(), Some("4ABC"));
        assert_eq!(r.for_path(), Some("<bob@example.org>"));
        assert_eq!(r.date().unwrap().as_ref().unwrap().offset_minutes, 60);
    }

    #[test]
    fn loose() {
        let r = Received::parse(b"by localhost; garbage");
        assert_eq!(r.by(), Some("localhost"));
        assert!(r.from().is_none());
        assert!(r.date().unwrap().is_err());
        let r = Received::parse(b"(unclosed");
        assert!(r.date().is_none());
    }
}
