//! The `Received:` trace field in the form of RFC 5321 section 4.4.
//!
//! ```text
//! Time-stamp-line = "Received:" FWS Stamp <CRLF>
//! Stamp           = From-domain By-domain Opt-info [CFWS] ";" FWS date-time
//! From-domain     = "FROM" FWS Extended-Domain
//! By-domain       = CFWS "BY" FWS Extended-Domain
//! Extended-Domain = Domain / ( Domain FWS "(" TCP-info ")" )
//!                 / ( address-literal FWS "(" TCP-info ")" )
//! TCP-info        = address-literal / ( Domain FWS address-literal )
//! Opt-info        = [Via] [With] [ID] [For] [Additional-Registered-Clauses]
//! With            = CFWS "WITH" FWS Protocol
//! ID              = CFWS "ID" FWS ( Atom / msg-id )
//! For             = CFWS "FOR" FWS ( Path / Mailbox )
//! ```

use std::fmt;
use std::net::IpAddr;

use super::{clean_word, fold_words};
use crate::DateTime;

/// The `with` protocol of a trace field (the IANA "Mail Transmission Types" registry,
/// RFC 3848 and RFC 6531).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `SMTP`: plain SMTP (HELO).
    Smtp,
    /// `ESMTP`: SMTP with extensions (EHLO).
    Esmtp,
    /// `ESMTPA`: ESMTP with SMTP AUTH.
    Esmtpa,
    /// `ESMTPS`: ESMTP with STARTTLS.
    Esmtps,
    /// `ESMTPSA`: ESMTP with STARTTLS and SMTP AUTH.
    Esmtpsa,
    /// `LMTP`.
    Lmtp,
    /// `LMTPA`: LMTP with AUTH.
    Lmtpa,
    /// `LMTPS`: LMTP with STARTTLS.
    Lmtps,
    /// `LMTPSA`: LMTP with STARTTLS and AUTH.
    Lmtpsa,
    /// `UTF8SMTP`: ESMTP with SMTPUTF8.
    Utf8Smtp,
    /// `UTF8SMTPA`: with SMTPUTF8 and AUTH.
    Utf8Smtpa,
    /// `UTF8SMTPS`: with SMTPUTF8 and STARTTLS.
    Utf8Smtps,
    /// `UTF8SMTPSA`: with SMTPUTF8, STARTTLS and AUTH.
    Utf8Smtpsa,
    /// `UTF8LMTP`: LMTP with SMTPUTF8.
    Utf8Lmtp,
    /// `UTF8LMTPA`.
    Utf8Lmtpa,
    /// `UTF8LMTPS`.
    Utf8Lmtps,
    /// `UTF8LMTPSA`.
    Utf8Lmtpsa,
    /// Any other registered or private value (sanitised when written).
    Other(String),
}

impl Protocol {
    /// The protocol for a session: LMTP or SMTP, EHLO used (`extended`; LMTP is always
    /// extended), TLS active, authenticated, SMTPUTF8 used.
    pub fn for_session(lmtp: bool, extended: bool, tls: bool, auth: bool, utf8: bool) -> Protocol {
        use Protocol::*;
        match (lmtp, utf8, tls, auth) {
            (true, false, false, false) => Lmtp,
            (true, false, false, true) => Lmtpa,
            (true, false, true, false) => Lmtps,
            (true, false, true, true) => Lmtpsa,
            (true, true, false, false) => Utf8Lmtp,
            (true, true, false, true) => Utf8Lmtpa,
            (true, true, true, false) => Utf8Lmtps,
            (true, true, true, true) => Utf8Lmtpsa,
            (false, _, _, _) if !extended => Smtp,
            (false, false, false, false) => Esmtp,
            (false, false, false, true) => Esmtpa,
            (false, false, true, false) => Esmtps,
            (false, false, true, true) => Esmtpsa,
            (false, true, false, false) => Utf8Smtp,
            (false, true, false, true) => Utf8Smtpa,
            (false, true, true, false) => Utf8Smtps,
            (false, true, true, true) => Utf8Smtpsa,
        }
    }

    /// The registered name.
    pub fn as_str(&self) -> &str {
        use Protocol::*;
        match self {
            Smtp => "SMTP",
            Esmtp => "ESMTP",
            Esmtpa => "ESMTPA",
            Esmtps => "ESMTPS",
            Esmtpsa => "ESMTPSA",
            Lmtp => "LMTP",
            Lmtpa => "LMTPA",
            Lmtps => "LMTPS",
            Lmtpsa => "LMTPSA",
            Utf8Smtp => "UTF8SMTP",
            Utf8Smtpa => "UTF8SMTPA",
            Utf8Smtps => "UTF8SMTPS",
            Utf8Smtpsa => "UTF8SMTPSA",
            Utf8Lmtp => "UTF8LMTP",
            Utf8Lmtpa => "UTF8LMTPA",
            Utf8Lmtps => "UTF8LMTPS",
            Utf8Lmtpsa => "UTF8LMTPSA",
            Other(s) => s,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Builds a `Received:` field.
///
/// ```
/// use postwerk_message::{DateTime, build::{Protocol, ReceivedBuilder}};
/// let field = ReceivedBuilder::new("mx.example.org", DateTime::from_unix(1_795_899_070, 0))
///     .from("client.example.com", Some("client.example.com"), Some("192.0.2.1".parse().unwrap()))
///     .with(Protocol::Esmtps)
///     .id("4ABC12")
///     .for_path("bob@example.org")
///     .to_field();
/// assert_eq!(field, "Received: from client.example.com (client.example.com [192.0.2.1])\r\n\
///                    \tby mx.example.org with ESMTPS id 4ABC12 for <bob@example.org>;\r\n\
///                    \tSat, 28 Nov 2026 20:51:10 +0000\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct ReceivedBuilder {
    from: Option<(String, Option<String>, Option<IpAddr>)>,
    by: String,
    via: Option<String>,
    with: Option<Protocol>,
    id: Option<String>,
    for_path: Option<String>,
    date: DateTime,
}

/// RFC 5321 address literal: `[192.0.2.1]` or `[IPv6:2001:db8::1]`.
fn address_literal(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("[{v4}]"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("[{v4}]"),
            None => format!("[IPv6:{v6}]"),
        },
    }
}

impl ReceivedBuilder {
    /// A field for a message received by host `by` at `date`.
    pub fn new(by: &str, date: DateTime) -> Self {
        ReceivedBuilder {
            from: None,
            by: clean_word(by, 255),
            via: None,
            with: None,
            id: None,
            for_path: None,
            date,
        }
    }

    /// The sending side: the name it gave in HELO/EHLO, its reverse DNS name if known, and
    /// its IP address. Peer-controlled text is sanitised.
    pub fn from(mut self, helo: &str, reverse_dns: Option<&str>, ip: Option<IpAddr>) -> Self {
        self.from = Some((
            clean_word(helo, 255),
            reverse_dns.map(|r| clean_word(r, 255)),
            ip,
        ));
        self
    }

    /// The `via` clause (link type, e.g. `TCP` is not registered; rarely used).
    pub fn via(mut self, link: &str) -> Self {
        self.via = Some(clean_word(link, 64));
        self
    }

    /// The `with` protocol.
    pub fn with(mut self, protocol: Protocol) -> Self {
        self.with = Some(match protocol {
            Protocol::Other(s) => Protocol::Other(clean_word(&s, 64)),
            p => p,
        });
        self
    }

    /// The `id` clause (the queue id); characters outside `atext` become `?`.
    pub fn id(mut self, id: &str) -> Self {
        let clean: String = id
            .chars()
            .take(128)
            .map(|c| {
                if super::is_atext(c) || c == '.' {
                    c
                } else {
                    '?'
                }
            })
            .collect();
        self.id = Some(clean);
        self
    }

    /// The `for` clause: the recipient path (only set this for a single recipient, as
    /// RFC 5321 section 7.2 advises). Angle brackets are added when missing.
    pub fn for_path(mut self, path: &str) -> Self {
        let p = path.trim();
        let p = p
            .strip_prefix('<')
            .and_then(|p| p.strip_suffix('>'))
            .unwrap_or(p);
        let clean: String = p
            .chars()
            .take(512)
            .map(|c| {
                if c.is_control() || c.is_whitespace() || "<>;()".contains(c) {
                    '?'
                } else {
                    c
                }
            })
            .collect();
        self.for_path = Some(format!("<{clean}>"));
        self
    }

    /// The field value without the name and the final CRLF, unfolded.
    pub fn value(&self) -> String {
        self.words().join(" ")
    }

    fn words(&self) -> Vec<String> {
        let mut w: Vec<String> = Vec::with_capacity(16);
        if let Some((helo, rdns, ip)) = &self.from {
            w.push("from".into());
            w.push(helo.clone());
            match (rdns, ip) {
                (Some(r), Some(ip)) => {
                    w.push(format!("({r}"));
                    w.push(format!("{})", address_literal(*ip)));
                }
                (None, Some(ip)) => w.push(format!("({})", address_literal(*ip))),
                (Some(r), None) => w.push(format!("({r})")),
                (None, None) => {}
            }
        }
        w.push("by".into());
        w.push(self.by.clone());
        if let Some(v) = &self.via {
            w.push("via".into());
            w.push(v.clone());
        }
        if let Some(p) = &self.with {
            w.push("with".into());
            w.push(p.to_string());
        }
        if let Some(id) = &self.id {
            w.push("id".into());
            w.push(id.clone());
        }
        if let Some(f) = &self.for_path {
            w.push("for".into());
            w.push(format!("{f};"));
        } else if let Some(last) = w.last_mut() {
            last.push(';');
        }
        w.push(self.date.to_string());
        w
    }

    /// The whole field, `Received: …` folded to at most 78 characters per line where the
    /// words allow, ending in CRLF. Clause keywords stay on the line of their values and
    /// the date goes on a line of its own when it does not fit.
    pub fn to_field(&self) -> String {
        let words = self.words();
        // Glue each keyword to its value so folds fall between clauses.
        let mut units: Vec<String> = Vec::with_capacity(words.len());
        let mut it = words.into_iter().peekable();
        while let Some(word) = it.next() {
            let keyword = matches!(word.as_str(), "from" | "by" | "via" | "with" | "id" | "for");
            match (keyword, it.next_if(|_| keyword)) {
                (true, Some(value)) => units.push(format!("{word} {value}")),
                _ => units.push(word),
            }
        }
        fold_words("Received", units.iter().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;

    fn date() -> DateTime {
        DateTime::from_unix(1_795_899_070, 60)
    }

    #[test]
    fn minimal_and_parses_back() {
        let f = ReceivedBuilder::new("mx.example", date()).to_field();
        assert_eq!(
            f,
            "Received: by mx.example; Sat, 28 Nov 2026 21:51:10 +0100\r\n"
        );
        let msg = Message::parse(f.as_bytes()).unwrap();
        let r = msg.received().next().unwrap();
        assert_eq!(r.by(), Some("mx.example"));
        assert_eq!(r.date().unwrap().as_ref().unwrap(), &date());
    }

    #[test]
    fn full_with_ipv6_and_hostile_helo() {
        let f = ReceivedBuilder::new("mx.example", date())
            .from(
                "evil\r\nX-Injected: yes",
                None,
                Some("2001:db8::1".parse().unwrap()),
            )
            .with(Protocol::for_session(false, true, true, true, false))
            .id("Q1;x")
            .for_path("<a@b>\r\n")
            .to_field();
        for line in f.trim_end().split("\r\n") {
            assert!(line.len() <= 78, "{line}");
        }
        let msg = Message::parse(f.as_bytes()).unwrap();
        assert_eq!(msg.headers().len(), 1);
        let r = msg.received().next().unwrap();
        assert_eq!(r.from(), Some("evil??X-Injected:?yes"));
        assert_eq!(r.from_info(), Some("[IPv6:2001:db8::1]"));
        assert_eq!(r.with(), Some("ESMTPSA"));
        assert_eq!(r.id(), Some("Q1?x"));
        assert_eq!(r.for_path(), Some("<a@b>"));
        assert!(r.date().unwrap().is_ok());
    }

    #[test]
    fn protocols() {
        assert_eq!(
            Protocol::for_session(false, false, true, true, true),
            Protocol::Smtp
        );
        assert_eq!(
            Protocol::for_session(true, false, false, false, true).as_str(),
            "UTF8LMTP"
        );
        assert_eq!(
            Protocol::for_session(false, true, true, false, true).as_str(),
            "UTF8SMTPS"
        );
    }
}
