//! What the server said it supports in its EHLO/LHLO reply (RFC 5321 4.1.1.1).
//!
//! ```text
//! ehlo-ok-rsp  = ( "250" SP Domain [ SP ehlo-greet ] CRLF )
//!                / ( "250-" Domain [ SP ehlo-greet ] CRLF
//!                 *( "250-" ehlo-line CRLF )
//!                    "250" SP ehlo-line CRLF )
//! ehlo-line    = ehlo-keyword *( SP ehlo-param )
//! ```

use std::collections::BTreeSet;

use crate::codec::reply::Reply;

use crate::codec::sasl::Mechanism;

/// A service extension the client knows how to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Extension {
    /// RFC 2920 command pipelining.
    Pipelining,
    /// RFC 1870 message size declaration.
    Size,
    /// RFC 6152 8-bit MIME transport.
    EightBitMime,
    /// RFC 6531 internationalized email.
    SmtpUtf8,
    /// RFC 2034 enhanced status codes.
    EnhancedStatusCodes,
    /// RFC 3207 STARTTLS.
    StartTls,
    /// RFC 4954 authentication.
    Auth,
    /// RFC 3030 CHUNKING (BDAT).
    Chunking,
    /// RFC 3461 delivery status notifications.
    Dsn,
    /// RFC 3030 BINARYMIME.
    BinaryMime,
    /// RFC 8689 REQUIRETLS.
    RequireTls,
}

impl Extension {
    fn from_keyword(keyword: &str) -> Option<Extension> {
        let known = [
            ("PIPELINING", Extension::Pipelining),
            ("SIZE", Extension::Size),
            ("8BITMIME", Extension::EightBitMime),
            ("SMTPUTF8", Extension::SmtpUtf8),
            ("ENHANCEDSTATUSCODES", Extension::EnhancedStatusCodes),
            ("STARTTLS", Extension::StartTls),
            ("AUTH", Extension::Auth),
            ("CHUNKING", Extension::Chunking),
            ("DSN", Extension::Dsn),
            ("BINARYMIME", Extension::BinaryMime),
            ("REQUIRETLS", Extension::RequireTls),
        ];
        known
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(keyword))
            .map(|&(_, ext)| ext)
    }
}

/// The capabilities of a server, from its EHLO (or LHLO) reply. A server greeted with HELO
/// has none.
///
/// ```
/// use postwerk_smtp::client::{Capabilities, Extension};
/// use postwerk_smtp::codec::reply::Reply;
/// let reply = Reply::multi(250, None, vec![
///     "mx.example greets you".into(),
///     "PIPELINING".into(),
///     "SIZE 10240000".into(),
///     "AUTH LOGIN PLAIN".into(),
/// ]);
/// let caps = Capabilities::from_ehlo(&reply);
/// assert!(caps.has(Extension::Pipelining));
/// assert_eq!(caps.max_size(), Some(10240000));
/// assert_eq!(caps.domain(), "mx.example");
/// assert!(caps.auth_mechanisms().iter().any(|m| m == "PLAIN"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    domain: String,
    extensions: BTreeSet<Extension>,
    max_size: Option<u64>,
    auth: Vec<String>,
    other: Vec<String>,
}

impl Capabilities {
    /// Reads an EHLO reply. Unknown keywords are kept in [`Capabilities::other`].
    pub fn from_ehlo(reply: &Reply) -> Capabilities {
        let mut caps = Capabilities::default();
        let mut lines = reply.lines().iter();
        if let Some(first) = lines.next() {
            caps.domain = first.split(' ').next().unwrap_or_default().to_owned();
        }
        for line in lines {
            let mut words = line.split([' ', '=']).filter(|w| !w.is_empty());
            let Some(keyword) = words.next() else {
                continue;
            };
            match Extension::from_keyword(keyword) {
                Some(Extension::Size) => {
                    caps.extensions.insert(Extension::Size);
                    caps.max_size = words.next().and_then(|w| w.parse().ok()).filter(|&n| n > 0);
                }
                Some(Extension::Auth) => {
                    caps.extensions.insert(Extension::Auth);
                    for mech in words {
                        let mech = mech.to_ascii_uppercase();
                        if !caps.auth.contains(&mech) {
                            caps.auth.push(mech);
                        }
                    }
                }
                Some(ext) => {
                    caps.extensions.insert(ext);
                }
                None => caps.other.push(line.clone()),
            }
        }
        caps
    }

    /// The domain the server named in the first line of its reply.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Whether the server advertised `ext`.
    pub fn has(&self, ext: Extension) -> bool {
        self.extensions.contains(&ext)
    }

    /// Every known extension advertised, in a fixed order.
    pub fn extensions(&self) -> impl Iterator<Item = Extension> + '_ {
        self.extensions.iter().copied()
    }

    /// The `SIZE` limit in octets, when one was given and is not 0 (0 means no fixed limit).
    pub fn max_size(&self) -> Option<u64> {
        self.max_size
    }

    /// Whether the EHLO reply lists `keyword` (case-insensitive), known to this client or
    /// not: the test for sending a caller-supplied MAIL or RCPT parameter.
    ///
    /// ```
    /// use postwerk_smtp::client::Capabilities;
    /// use postwerk_smtp::codec::reply::Reply;
    /// let reply = Reply::multi(250, None, vec!["mx".into(), "MT-PRIORITY MIXER".into(), "SIZE 100".into()]);
    /// let caps = Capabilities::from_ehlo(&reply);
    /// assert!(caps.has_keyword("mt-priority") && caps.has_keyword("SIZE"));
    /// assert!(!caps.has_keyword("DELIVERBY"));
    /// ```
    pub fn has_keyword(&self, keyword: &str) -> bool {
        let known = Extension::from_keyword(keyword).is_some_and(|e| self.has(e));
        known
            || self.other.iter().any(|line| {
                line.split([' ', '='])
                    .next()
                    .is_some_and(|k| k.eq_ignore_ascii_case(keyword))
            })
    }

    /// The SASL mechanisms listed with `AUTH`, upper-cased.
    pub fn auth_mechanisms(&self) -> &[String] {
        &self.auth
    }

    /// Whether `mechanism` was listed with `AUTH`.
    pub fn offers_auth(&self, mechanism: &Mechanism) -> bool {
        self.auth.iter().any(|m| m == mechanism.as_str())
    }

    /// EHLO lines with keywords this client does not know, as received.
    pub fn other(&self) -> &[String] {
        &self.other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keywords_case_insensitively() {
        let reply = Reply::multi(
            250,
            None,
            vec![
                "mx.example".into(),
                "pipelining".into(),
                "Size".into(),
                "8BITMIME".into(),
                "AUTH=LOGIN".into(),
                "XFOO bar".into(),
            ],
        );
        let caps = Capabilities::from_ehlo(&reply);
        assert!(caps.has(Extension::Pipelining));
        assert!(caps.has(Extension::Size));
        assert_eq!(caps.max_size(), None);
        assert!(caps.has(Extension::EightBitMime));
        assert!(caps.offers_auth(&Mechanism::Login));
        assert!(!caps.offers_auth(&Mechanism::Plain));
        assert!(!caps.has(Extension::StartTls));
        assert_eq!(caps.other(), ["XFOO bar"]);
    }

    #[test]
    fn single_line_reply_has_no_extensions() {
        let caps = Capabilities::from_ehlo(&Reply::new(250, None, "mx.example hello"));
        assert_eq!(caps.domain(), "mx.example");
        assert_eq!(caps.extensions().count(), 0);
    }
}
