//! The Author Domain: the domain of the RFC5322.From field (RFC 9989 3.2.2, 5.3.1).

use hickory_proto::rr::Name;
use postwerk_message::{Address, Message, RepairKind};

use super::DmarcError;

/// The longest domain name accepted (RFC 1035 2.3.4, without the trailing dot).
const MAX_DOMAIN_LEN: usize = 253;

/// The domain(s) of the `From:` field, each lower case, in A-label form, without a
/// trailing dot, each once, in the order of the field.
///
/// RFC 9989 5.3.1: "If zero or more than one domain is extracted from the RFC5322.From
/// header field, then DMARC validation is not possible and the process terminates. In
/// the case where more than one domain is retrieved, the Mail Receiver MAY choose to go
/// forward with DMARC validation anyway." What happens with several domains is the
/// [`Evaluator`](super::Evaluator)'s choice ([`Config::multiple_authors`](super::Config)).
///
/// ```
/// use postwerk_auth::dmarc::{AuthorDomains, DmarcError};
/// let a = AuthorDomains::from_message(b"From: Alice <alice@Mail.Example.COM>\r\n\r\n").unwrap();
/// assert_eq!(a.domains(), ["mail.example.com"]);
/// let twice = b"From: a@example.com\r\nFrom: b@example.net\r\n\r\n";
/// assert_eq!(AuthorDomains::from_message(twice), Err(DmarcError::MultipleFromFields(2)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorDomains {
    domains: Vec<String>,
}

impl AuthorDomains {
    /// The Author Domain(s) of a message (its header section is enough; CRLF or LF line
    /// ends).
    ///
    /// Errors, each a DMARC `permerror` that never passes: no `From:` field
    /// ([`NoFromField`](DmarcError::NoFromField)), several `From:` fields
    /// ([`MultipleFromFields`](DmarcError::MultipleFromFields), never "the first one"),
    /// a message or field that cannot be read
    /// ([`UnparseableFrom`](DmarcError::UnparseableFrom)), no address in the field
    /// ([`NoAuthorAddress`](DmarcError::NoAuthorAddress)), an address without domain
    /// ([`MissingAuthorDomain`](DmarcError::MissingAuthorDomain)), a domain literal or
    /// a domain that is not a DNS name
    /// ([`InvalidAuthorDomain`](DmarcError::InvalidAuthorDomain)).
    pub fn from_message(message: &[u8]) -> Result<Self, DmarcError> {
        let msg =
            Message::parse(header_section(message)).map_err(|_| DmarcError::UnparseableFrom)?;
        let fields = msg.header_all("from").count();
        match fields {
            0 => return Err(DmarcError::NoFromField),
            1 => {}
            n => return Err(DmarcError::MultipleFromFields(n)),
        }
        let addresses = msg.from().map_err(|_| DmarcError::UnparseableFrom)?;
        // Text of the field that is no address was dropped by the forgiving reader; a
        // mail reader may still show it, so the field does not name its author reliably.
        if msg.repairs().iter().any(|r| {
            r.kind() == RepairKind::DroppedText
                && r.field().is_some_and(|f| f.eq_ignore_ascii_case("from"))
        }) {
            return Err(DmarcError::UnparseableFrom);
        }
        let mut domains: Vec<String> = Vec::new();
        for mailbox in addresses.iter().flat_map(Address::mailboxes) {
            let spec = mailbox.addr_spec();
            if spec.is_domain_literal() {
                return Err(DmarcError::InvalidAuthorDomain(spec.domain().to_owned()));
            }
            if spec.domain().is_empty() {
                return Err(DmarcError::MissingAuthorDomain);
            }
            let d = normalize_domain(spec.domain())
                .ok_or_else(|| DmarcError::InvalidAuthorDomain(shorten(spec.domain())))?;
            if !domains.contains(&d) {
                domains.push(d);
            }
        }
        if domains.is_empty() {
            return Err(DmarcError::NoAuthorAddress);
        }
        Ok(Self { domains })
    }

    /// An Author Domain already known (e.g. taken from the `From:` field by other
    /// means): checked and normalized like the domains read from a message.
    pub fn from_domain(domain: &str) -> Result<Self, DmarcError> {
        let d = normalize_domain(domain)
            .ok_or_else(|| DmarcError::InvalidAuthorDomain(shorten(domain)))?;
        Ok(Self { domains: vec![d] })
    }

    /// The distinct domains, in the order of the field.
    pub fn domains(&self) -> &[String] {
        &self.domains
    }
}

/// The header section: up to and including the line end before the first empty line
/// (the whole input when there is none).
fn header_section(message: &[u8]) -> &[u8] {
    if message.starts_with(b"\r\n") || message.starts_with(b"\n") {
        return &[];
    }
    let mut i = 0;
    while let Some(p) = message[i..].iter().position(|&b| b == b'\n') {
        let next = i + p + 1;
        let rest = &message[next..];
        if rest.starts_with(b"\r\n") || rest.starts_with(b"\n") {
            return &message[..next];
        }
        i = next;
    }
    message
}

fn shorten(s: &str) -> String {
    s.chars().take(64).collect()
}

/// A domain as DMARC compares it: lower case, A-labels (RFC 9989 5.3.1: a U-label "MUST
/// be converted to an A-label"), no trailing dot; `None` when it is not a DNS host name
/// (labels of letters, digits, `-` and `_`, 1 to 63 octets, at most 253 in all).
pub(crate) fn normalize_domain(domain: &str) -> Option<String> {
    let d = domain.strip_suffix('.').unwrap_or(domain);
    if d.is_empty() || d.len() > 4 * MAX_DOMAIN_LEN {
        return None;
    }
    let ascii = if d.is_ascii() {
        d.to_ascii_lowercase()
    } else {
        let name = Name::from_utf8(d).ok()?;
        let a = name.to_ascii();
        a.strip_suffix('.').unwrap_or(&a).to_ascii_lowercase()
    };
    valid_host(&ascii).then_some(ascii)
}

fn valid_host(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= MAX_DOMAIN_LEN
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_section_ends_at_the_empty_line() {
        assert_eq!(
            header_section(b"A: 1\r\nB: 2\r\n\r\nFrom: x\r\n"),
            b"A: 1\r\nB: 2\r\n"
        );
        assert_eq!(header_section(b"A: 1\nB: 2\n\nbody"), b"A: 1\nB: 2\n");
        assert_eq!(header_section(b"A: 1"), b"A: 1");
        assert_eq!(header_section(b"\r\nFrom: x@example.com\r\n"), b"");
        assert_eq!(
            AuthorDomains::from_message(b"To: a@example.com\r\n\r\nFrom: b@example.com\r\n"),
            Err(DmarcError::NoFromField),
            "a From line in the body is no field"
        );
    }

    #[test]
    fn dropped_text_in_from_is_unparseable() {
        assert_eq!(
            AuthorDomains::from_message(b"From: a@exa mple.com\r\n\r\n"),
            Err(DmarcError::UnparseableFrom)
        );
    }

    #[test]
    fn normalizes() {
        assert_eq!(
            normalize_domain("Example.COM.").as_deref(),
            Some("example.com")
        );
        assert_eq!(
            normalize_domain("bücher.example").as_deref(),
            Some("xn--bcher-kva.example")
        );
        assert_eq!(normalize_domain(""), None);
        assert_eq!(normalize_domain("a..b"), None);
        assert_eq!(normalize_domain("exa mple.com"), None);
        assert_eq!(normalize_domain(&"a".repeat(64)), None);
        assert_eq!(normalize_domain(&["a"; 128].join(".")), None);
        assert_eq!(normalize_domain("localhost").as_deref(), Some("localhost"));
    }

    #[test]
    fn several_addresses_give_their_distinct_domains() {
        let a = AuthorDomains::from_message(
            b"From: a@example.com, B <b@EXAMPLE.com>, c@example.net\r\n\r\nbody",
        )
        .unwrap();
        assert_eq!(a.domains(), ["example.com", "example.net"]);
    }

    #[test]
    fn named_errors() {
        assert_eq!(
            AuthorDomains::from_message(b"To: x@example.com\r\n\r\n"),
            Err(DmarcError::NoFromField)
        );
        assert_eq!(
            AuthorDomains::from_message(b"From: a@example.com\nfrom: a@example.com\n\n"),
            Err(DmarcError::MultipleFromFields(2))
        );
        assert_eq!(
            AuthorDomains::from_message(b"From:  \r\n\r\n"),
            Err(DmarcError::NoAuthorAddress)
        );
        assert_eq!(
            AuthorDomains::from_message(b"From: undisclosed:;\r\n\r\n"),
            Err(DmarcError::NoAuthorAddress)
        );
        assert_eq!(
            AuthorDomains::from_message(b"From: alice\r\n\r\n"),
            Err(DmarcError::MissingAuthorDomain)
        );
        assert_eq!(
            AuthorDomains::from_message(b"From: a@[192.0.2.1]\r\n\r\n"),
            Err(DmarcError::InvalidAuthorDomain("[192.0.2.1]".into()))
        );
        assert_eq!(
            AuthorDomains::from_domain("not a domain"),
            Err(DmarcError::InvalidAuthorDomain("not a domain".into()))
        );
    }
}
