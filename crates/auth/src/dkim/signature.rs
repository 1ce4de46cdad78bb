//! The `DKIM-Signature` header field (RFC 6376 section 3.5).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::canon::Canonicalization;
use super::tags;
use super::{Algorithm, DkimError};

/// A parsed `DKIM-Signature` field.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Signature {
    /// `a=`: the signing algorithm.
    pub algorithm: Algorithm,
    /// `b=`: the signature, decoded.
    pub signature: Vec<u8>,
    /// `b=` as base64 with whitespace removed (for `header.b` in Authentication-Results).
    pub signature_base64: String,
    /// `bh=`: the body hash, decoded.
    pub body_hash: Vec<u8>,
    /// `c=` header part (default `simple`).
    pub header_canonicalization: Canonicalization,
    /// `c=` body part (default `simple`).
    pub body_canonicalization: Canonicalization,
    /// `d=`: the signing domain (SDID), lower case.
    pub domain: String,
    /// `s=`: the selector.
    pub selector: String,
    /// `h=`: the signed header field names, lower case, in order (repeats kept).
    pub signed_headers: Vec<String>,
    /// `i=`: the agent or user identifier (AUID), if given.
    pub identity: Option<String>,
    /// `l=`: the body length count, if given (saturated at `u64::MAX`).
    pub body_length: Option<u64>,
    /// `t=`: the signature timestamp, seconds since the Unix epoch.
    pub timestamp: Option<u64>,
    /// `x=`: the expiration, seconds since the Unix epoch.
    pub expiration: Option<u64>,
    /// Offsets into the field value of the `b=` value to remove for hashing
    /// (from just after `=` to the end of the value).
    pub(crate) b_span: (usize, usize),
}

impl Signature {
    /// Parses the value of a `DKIM-Signature` field (everything after the colon, folding
    /// included).
    ///
    /// ```
    /// use postwerk_auth::dkim::{Algorithm, Signature};
    /// let sig = Signature::parse(b" v=1; a=ed25519-sha256; d=example.com; s=sel;\r\n\
    ///     h=from:to; bh=AAAA; b=AAAA").unwrap();
    /// assert_eq!(sig.algorithm, Algorithm::Ed25519Sha256);
    /// assert_eq!(sig.signed_headers, ["from", "to"]);
    /// ```
    pub fn parse(value: &[u8]) -> Result<Self, DkimError> {
        let list = tags::parse(value)?;
        let req = |n: &'static str| tags::get(&list, n).ok_or(DkimError::MissingTag(n));

        let v = req("v")?;
        if v.value != b"1" {
            return Err(DkimError::UnsupportedVersion);
        }
        let a = req("a")?;
        let algorithm =
            Algorithm::parse(a.value).ok_or_else(|| DkimError::UnknownAlgorithm(lossy(a.value)))?;
        let b = req("b")?;
        let b_clean = tags::strip_fws(b.value);
        let signature = STANDARD
            .decode(&b_clean)
            .map_err(|_| DkimError::BadBase64("b"))?;
        if signature.is_empty() {
            return Err(DkimError::BadBase64("b"));
        }
        let bh = req("bh")?;
        let body_hash = STANDARD
            .decode(tags::strip_fws(bh.value))
            .map_err(|_| DkimError::BadBase64("bh"))?;
        let d = req("d")?;
        let domain = domain_name(d.value).ok_or(DkimError::BadDomain)?;
        let s = req("s")?;
        let selector = selector(s.value).ok_or(DkimError::BadSelector)?;
        let h = req("h")?;
        let mut signed_headers =
            Vec::with_capacity(h.value.iter().filter(|&&c| c == b':').count() + 1);
        for name in tags::split_list(h.value) {
            if name.is_empty() || !name.iter().all(|&c| (33..=126).contains(&c) && c != b':') {
                return Err(DkimError::TagSyntax);
            }
            // Checked above: printable ASCII, so the conversion cannot fail.
            signed_headers.push(String::from_utf8(name.to_ascii_lowercase()).unwrap_or_default());
        }
        if !signed_headers.iter().any(|n| n == "from") {
            return Err(DkimError::FromNotSigned);
        }

        let (header_canonicalization, body_canonicalization) = match tags::get(&list, "c") {
            None => (Canonicalization::Simple, Canonicalization::Simple),
            Some(c) => {
                let bad = || DkimError::UnknownCanonicalization(lossy(c.value));
                let mut parts = c.value.splitn(2, |&x| x == b'/');
                let hc = Canonicalization::parse(parts.next().unwrap_or(b"")).ok_or_else(bad)?;
                let bc = match parts.next() {
                    Some(p) => Canonicalization::parse(p).ok_or_else(bad)?,
                    None => Canonicalization::Simple,
                };
                (hc, bc)
            }
        };

        let identity = match tags::get(&list, "i") {
            None => None,
            Some(i) => {
                let text = std::str::from_utf8(i.value).map_err(|_| DkimError::IdentityMismatch)?;
                let at = text.rfind('@').ok_or(DkimError::IdentityMismatch)?;
                let idom = text[at + 1..].to_ascii_lowercase();
                if !is_same_or_subdomain(&idom, &domain) {
                    return Err(DkimError::IdentityMismatch);
                }
                Some(text.to_owned())
            }
        };

        if let Some(q) = tags::get(&list, "q")
            && !tags::split_list(q.value).any(|m| m.eq_ignore_ascii_case(b"dns/txt"))
        {
            return Err(DkimError::UnsupportedQueryMethod);
        }

        let body_length = number(&list, "l")?;
        let timestamp = number(&list, "t")?;
        let expiration = number(&list, "x")?;
        if let (Some(t), Some(x)) = (timestamp, expiration)
            && x < t
        {
            return Err(DkimError::ExpiryBeforeTimestamp);
        }

        Ok(Self {
            algorithm,
            signature,
            // It decoded as base64, so it is ASCII: no copy.
            signature_base64: String::from_utf8(b_clean)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            body_hash,
            header_canonicalization,
            body_canonicalization,
            domain,
            selector,
            signed_headers,
            identity,
            body_length,
            timestamp,
            expiration,
            b_span: (b.after_eq, b.value_end),
        })
    }

    /// The domain part of `i=` (or `d=` when `i=` is absent), lower case.
    pub fn identity_domain(&self) -> String {
        match &self.identity {
            Some(i) => i.rsplit('@').next().unwrap_or("").to_ascii_lowercase(),
            None => self.domain.clone(),
        }
    }

    /// The DNS name of the key record: `selector._domainkey.domain`.
    pub fn key_name(&self) -> String {
        format!("{}._domainkey.{}", self.selector, self.domain)
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Up to 76 digits (RFC 6376); larger values saturate (a huge `l=` simply fails).
fn number(list: &[tags::Tag<'_>], name: &'static str) -> Result<Option<u64>, DkimError> {
    let Some(t) = tags::get(list, name) else {
        return Ok(None);
    };
    if t.value.is_empty() || t.value.len() > 76 || !t.value.iter().all(u8::is_ascii_digit) {
        return Err(DkimError::BadNumber(name));
    }
    let mut n: u64 = 0;
    for &d in t.value {
        n = n.saturating_mul(10).saturating_add(u64::from(d - b'0'));
    }
    Ok(Some(n))
}

fn label_ok(l: &[u8], allow_underscore: bool) -> bool {
    !l.is_empty()
        && l.len() <= 63
        && l.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || (allow_underscore && c == b'_'))
}

/// Validates and lower-cases a domain name (A-labels; a trailing dot is dropped).
pub(crate) fn domain_name(v: &[u8]) -> Option<String> {
    let v = v.strip_suffix(b".").unwrap_or(v);
    if v.is_empty() || v.len() > 253 || !v.split(|&c| c == b'.').all(|l| label_ok(l, true)) {
        return None;
    }
    Some(lossy(v).to_ascii_lowercase())
}

/// Validates a selector: dot-separated labels.
pub(crate) fn selector(v: &[u8]) -> Option<String> {
    if v.is_empty() || v.len() > 253 || !v.split(|&c| c == b'.').all(|l| label_ok(l, true)) {
        return None;
    }
    Some(lossy(v).to_ascii_lowercase())
}

pub(crate) fn is_same_or_subdomain(sub: &str, domain: &str) -> bool {
    let sub = sub.trim_end_matches('.').as_bytes();
    let domain = domain.as_bytes();
    sub.eq_ignore_ascii_case(domain)
        || (sub.len() > domain.len()
            && sub[sub.len() - domain.len() - 1] == b'.'
            && sub[sub.len() - domain.len()..].eq_ignore_ascii_case(domain))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "v=1; a=rsa-sha256; d=example.com; s=sel; h=from:to; bh=AAAA; b=AAAA";

    fn with(extra: &str) -> Result<Signature, DkimError> {
        Signature::parse(format!("{BASE}; {extra}").as_bytes())
    }

    #[test]
    fn required_tags() {
        for tag in ["v", "a", "b", "bh", "d", "h", "s"] {
            let text: Vec<&str> = BASE
                .split("; ")
                .filter(|t| !t.starts_with(&format!("{tag}=")))
                .collect();
            assert_eq!(
                Signature::parse(text.join("; ").as_bytes()),
                Err(DkimError::MissingTag(match tag {
                    "v" => "v",
                    "a" => "a",
                    "b" => "b",
                    "bh" => "bh",
                    "d" => "d",
                    "h" => "h",
                    _ => "s",
                })),
                "{tag}"
            );
        }
    }

    #[test]
    fn rejects_bad_values() {
        assert_eq!(
            Signature::parse(BASE.replace("v=1", "v=2").as_bytes()),
            Err(DkimError::UnsupportedVersion)
        );
        assert!(matches!(
            Signature::parse(BASE.replace("rsa-sha256", "rsa-md5").as_bytes()),
            Err(DkimError::UnknownAlgorithm(_))
        ));
        assert_eq!(
            Signature::parse(BASE.replace("h=from:to", "h=to:subject").as_bytes()),
            Err(DkimError::FromNotSigned)
        );
        assert_eq!(
            with("i=joe@evil.com").unwrap_err(),
            DkimError::IdentityMismatch
        );
        assert_eq!(
            with("i=joe@xexample.com").unwrap_err(),
            DkimError::IdentityMismatch
        );
        assert!(with("i=joe@mail.example.com").is_ok());
        assert_eq!(
            with("t=10; x=5").unwrap_err(),
            DkimError::ExpiryBeforeTimestamp
        );
        assert_eq!(with("l=12a").unwrap_err(), DkimError::BadNumber("l"));
        assert_eq!(
            with("q=http").unwrap_err(),
            DkimError::UnsupportedQueryMethod
        );
        assert!(matches!(
            with("c=relaxed/fancy").unwrap_err(),
            DkimError::UnknownCanonicalization(_)
        ));
        assert_eq!(
            Signature::parse(BASE.replace("b=AAAA", "b=A!AA").as_bytes()),
            Err(DkimError::BadBase64("b"))
        );
    }

    #[test]
    fn defaults_and_c_forms() {
        let s = Signature::parse(BASE.as_bytes()).unwrap();
        assert_eq!(s.header_canonicalization, Canonicalization::Simple);
        assert_eq!(s.body_canonicalization, Canonicalization::Simple);
        let s = with("c=relaxed").unwrap();
        assert_eq!(s.header_canonicalization, Canonicalization::Relaxed);
        assert_eq!(s.body_canonicalization, Canonicalization::Simple);
        let s = with("l=99999999999999999999999999").unwrap();
        assert_eq!(s.body_length, Some(u64::MAX));
    }
}
