//! The input of a lookup: a recipient domain or an address literal (RFC 5321 4.1.3).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{DomainProblem, RouteError};

/// Where a recipient address points: a domain to look up, or a literal address.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// A domain in A-label form, lower case, without the trailing dot.
    Domain(String),
    /// An address literal: `[192.0.2.1]` or `[IPv6:2001:db8::1]`. No DNS is needed.
    Literal(IpAddr),
}

/// Longest domain in presentation form without the trailing dot (255 octets on the wire).
const MAX_DOMAIN: usize = 253;
/// Longest label (RFC 1035 section 2.3.4).
const MAX_LABEL: usize = 63;

impl Target {
    /// Parses the domain part of a recipient address.
    ///
    /// UTF-8 domains are converted to A-labels with IDNA (UTS #46, STD3 rules); one
    /// trailing dot is accepted; the result is checked against the DNS limits (labels of
    /// 1–63 letters, digits and inner hyphens, 253 octets in all).
    ///
    /// ```
    /// use postwerk_mx::Target;
    /// use std::net::IpAddr;
    /// assert_eq!(Target::parse("Bücher.Example.").unwrap(),
    ///            Target::Domain("xn--bcher-kva.example".into()));
    /// assert_eq!(Target::parse("[IPv6:2001:db8::1]").unwrap(),
    ///            Target::Literal("2001:db8::1".parse::<IpAddr>().unwrap()));
    /// assert!(Target::parse("a..b").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Self, RouteError> {
        let err = |problem| RouteError::InvalidDomain {
            input: input.to_owned(),
            problem,
        };
        if let Some(inner) = input.strip_prefix('[') {
            let inner = inner
                .strip_suffix(']')
                .ok_or(err(DomainProblem::BadLiteral))?;
            return parse_literal(inner)
                .map(Self::Literal)
                .ok_or(err(DomainProblem::BadLiteral));
        }
        let trimmed = input.strip_suffix('.').unwrap_or(input);
        if trimmed.is_empty() {
            return Err(err(DomainProblem::Empty));
        }
        let ascii = if trimmed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            trimmed.to_ascii_lowercase()
        } else {
            idna::domain_to_ascii_cow(trimmed.as_bytes(), idna::AsciiDenyList::STD3)
                .map_err(|_| err(DomainProblem::Idna))?
                .into_owned()
        };
        check_ldh(&ascii).map_err(err)?;
        Ok(Self::Domain(ascii))
    }
}

/// The text between the brackets of an RFC 5321 address literal.
fn parse_literal(inner: &str) -> Option<IpAddr> {
    let tag = inner.get(..5);
    if tag.is_some_and(|t| t.eq_ignore_ascii_case("IPv6:")) {
        let v6: Ipv6Addr = inner.get(5..)?.parse().ok()?;
        return Some(IpAddr::V6(v6));
    }
    // Only the dotted quad: the standard parser refuses leading zeros and short forms.
    let v4: Ipv4Addr = inner.parse().ok()?;
    Some(IpAddr::V4(v4))
}

/// Checks an A-label domain: letters, digits, hyphens not at a label's ends, lengths.
pub(crate) fn check_ldh(domain: &str) -> Result<(), DomainProblem> {
    if domain.is_empty() {
        return Err(DomainProblem::Empty);
    }
    if domain.len() > MAX_DOMAIN {
        return Err(DomainProblem::TooLong);
    }
    for label in domain.split('.') {
        let bytes = label.as_bytes();
        let ok = !bytes.is_empty()
            && bytes.len() <= MAX_LABEL
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && bytes.first() != Some(&b'-')
            && bytes.last() != Some(&b'-');
        if !ok {
            return Err(DomainProblem::BadLabel);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(input: &str) -> DomainProblem {
        match Target::parse(input) {
            Err(RouteError::InvalidDomain { problem, .. }) => problem,
            other => panic!("{input}: {other:?}"),
        }
    }

    #[test]
    fn domains() {
        assert_eq!(
            Target::parse("Example.COM").unwrap(),
            Target::Domain("example.com".into())
        );
        assert_eq!(
            Target::parse("example.com.").unwrap(),
            Target::Domain("example.com".into())
        );
        assert_eq!(
            Target::parse("ñandú.test").unwrap(),
            Target::Domain("xn--and-6ma2c.test".into())
        );
        assert_eq!(problem(""), DomainProblem::Empty);
        assert_eq!(problem("."), DomainProblem::Empty);
        assert_eq!(problem("a..b"), DomainProblem::BadLabel);
        assert_eq!(problem("-a.b"), DomainProblem::BadLabel);
        assert_eq!(problem("a_b.c"), DomainProblem::Idna);
        assert_eq!(problem(&"a".repeat(64)), DomainProblem::BadLabel);
        let long = vec!["a".repeat(63); 4].join(".");
        assert_eq!(problem(&long), DomainProblem::TooLong);
    }

    #[test]
    fn literals() {
        assert_eq!(
            Target::parse("[192.0.2.1]").unwrap(),
            Target::Literal("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            Target::parse("[ipv6:2001:db8::1]").unwrap(),
            Target::Literal("2001:db8::1".parse().unwrap())
        );
        for bad in [
            "[192.0.2]",
            "[2001:db8::1]",
            "[192.0.2.1",
            "[]",
            "[IPv6:]",
            "[x:1]",
        ] {
            assert_eq!(problem(bad), DomainProblem::BadLiteral, "{bad}");
        }
    }
}
