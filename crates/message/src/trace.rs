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

use std::borrow::Cow;

use crate::ParseError;
use crate::date::{DateTime, read_date};
use crate::repair::Sink;

/// A parsed `Received:` field; every clause is optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received<'a> {
    raw: Cow<'a, [u8]>,
    from: Option<Cow<'a, str>>,
    from_info: Option<Cow<'a, str>>,
    by: Option<Cow<'a, str>>,
    via: Option<Cow<'a, str>>,
    with: Option<Cow<'a, str>>,
    id: Option<Cow<'a, str>>,
    for_: Option<Cow<'a, str>>,
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
                    read_date(
                        raw.get(i + 1..).unwrap_or_default(),
                        &mut Sink::discarding(),
                    )
                    .map_err(|e| ParseError::new(e.kind(), e.offset().saturating_add(i + 1))),
                ),
            ),
            None => (raw, None),
        };
        let mut r = Received {
            raw: Cow::Borrowed(raw),
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
                            .and_then(|b| std::str::from_utf8(b).ok())
                            .map(Cow::Borrowed);
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
                        let value = std::str::from_utf8(word).ok().map(Cow::Borrowed);
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
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The `from` domain (as the sender named itself in HELO/EHLO).
    pub fn from(&self) -> Option<&str> {
        self.from.as_deref()
    }

    /// The comment after the `from` domain (TCP information: reverse DNS name and
    /// address literal).
    pub fn from_info(&self) -> Option<&str> {
        self.from_info.as_deref()
    }

    /// The `by` domain (the receiving host).
    pub fn by(&self) -> Option<&str> {
        self.by.as_deref()
    }

    /// The `via` link.
    pub fn via(&self) -> Option<&str> {
        self.via.as_deref()
    }

    /// The `with` protocol (`SMTP`, `ESMTPS`, `LMTP`, …).
    pub fn with(&self) -> Option<&str> {
        self.with.as_deref()
    }

    /// The `id` clause.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The `for` clause (usually `<path>`).
    pub fn for_path(&self) -> Option<&str> {
        self.for_.as_deref()
    }

    /// The date after the last `;`, read as [`Message::date`](crate::Message::date) reads
    /// a `Date:` field (RFC 5322 section 3.3, and beyond it asctime, ISO 8601, zone-less
    /// and other forms mail software writes); `None` when there is no `;`. Error offsets
    /// are relative to the raw value.
    pub fn date(&self) -> Option<&Result<DateTime, ParseError>> {
        self.date.as_ref()
    }

    /// The same field, owning its text.
    pub fn into_owned(self) -> Received<'static> {
        let own = |v: Option<Cow<'a, str>>| v.map(|s| Cow::Owned(s.into_owned()));
        Received {
            raw: Cow::Owned(self.raw.into_owned()),
            from: own(self.from),
            from_info: own(self.from_info),
            by: own(self.by),
            via: own(self.via),
            with: own(self.with),
            id: own(self.id),
            for_: own(self.for_),
            date: self.date,
        }
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
