//! SASL framing for SMTP AUTH (RFC 4954): mechanism names, base64 lines, and the PLAIN
//! (RFC 4616) and LOGIN mechanisms.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use thiserror::Error;

/// A SASL mechanism name. The set is open: anything else is [`Mechanism::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// `PLAIN` (RFC 4616): authzid, authcid and password in one message.
    Plain,
    /// `LOGIN`: user name and password asked for in two challenges.
    Login,
    /// Any other mechanism, its name in upper case.
    Other(String),
}

impl Mechanism {
    /// Parses a mechanism name (`1*20(UPPER-ALPHA / DIGIT / "-" / "_")`, any case).
    pub fn parse(name: &str) -> Option<Mechanism> {
        if !Mechanism::is_valid_name(name.as_bytes()) {
            return None;
        }
        Some(Mechanism::from_checked_name(name))
    }

    /// The mechanism of a name that [`Mechanism::is_valid_name`] accepted: what
    /// [`Mechanism::parse`] returns for it, without checking it again. Letters, digits,
    /// `-` and `_` only, so one case-folded word compare finds PLAIN and LOGIN.
    #[inline]
    pub(crate) fn from_checked_name(name: &str) -> Mechanism {
        const PLAIN: u64 = u64::from_be_bytes(*b"\0\0\0plain");
        const LOGIN: u64 = u64::from_be_bytes(*b"\0\0\0login");
        match super::params::fold8(name.as_bytes()) {
            PLAIN => Mechanism::Plain,
            LOGIN => Mechanism::Login,
            _ => Mechanism::Other(name.to_ascii_uppercase()),
        }
    }

    /// True when `name` is a syntactically valid mechanism name (what [`Mechanism::parse`]
    /// accepts), checked without allocating.
    #[inline]
    pub fn is_valid_name(name: &[u8]) -> bool {
        !name.is_empty()
            && name.len() <= 20
            && name
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    /// The name as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::Other(s) => s,
        }
    }

    /// True for mechanisms that send the password in the clear (PLAIN, LOGIN): they are
    /// neither advertised nor accepted before TLS unless the operator allows it.
    pub fn is_plaintext(&self) -> bool {
        matches!(self, Mechanism::Plain | Mechanism::Login)
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SASL message that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SaslError {
    /// Not valid base64.
    #[error("invalid base64")]
    InvalidBase64,
    /// PLAIN message without exactly two NUL separators.
    #[error("malformed PLAIN message")]
    MalformedPlain,
    /// authzid or authcid not UTF-8, or authcid empty.
    #[error("invalid identity in PLAIN message")]
    InvalidIdentity,
}

/// Base64 of `Username:`, the first LOGIN challenge.
pub const LOGIN_USERNAME_PROMPT: &str = "VXNlcm5hbWU6";
/// Base64 of `Password:`, the second LOGIN challenge.
pub const LOGIN_PASSWORD_PROMPT: &str = "UGFzc3dvcmQ6";

/// Encodes a SASL message for the wire; an empty message is `=` (RFC 4954 4).
pub fn encode(message: &[u8]) -> String {
    if message.is_empty() {
        "=".to_string()
    } else {
        STANDARD.encode(message)
    }
}

/// Decodes a client response or initial response (`=` is the empty message).
pub fn decode(line: &[u8]) -> Result<Vec<u8>, SaslError> {
    if line == b"=" {
        return Ok(Vec::new());
    }
    STANDARD.decode(line).map_err(|_| SaslError::InvalidBase64)
}

/// Decoded PLAIN credentials (RFC 4616): `[authzid] NUL authcid NUL passwd`.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainCredentials {
    /// Authorization identity; empty when the client acts as itself.
    pub authzid: String,
    /// Authentication identity (the user name).
    pub authcid: String,
    /// The password, as sent.
    pub password: Vec<u8>,
}

impl fmt::Debug for PlainCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainCredentials")
            .field("authzid", &self.authzid)
            .field("authcid", &self.authcid)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl PlainCredentials {
    /// Decodes an already base64-decoded PLAIN message.
    ///
    /// ```
    /// use postwerk_smtp::codec::sasl::PlainCredentials;
    /// let c = PlainCredentials::decode(b"\0alice\0secret").unwrap();
    /// assert_eq!((c.authzid.as_str(), c.authcid.as_str()), ("", "alice"));
    /// assert_eq!(c.password, b"secret");
    /// ```
    pub fn decode(message: &[u8]) -> Result<PlainCredentials, SaslError> {
        let mut parts = message.splitn(3, |&b| b == 0);
        let (Some(z), Some(c), Some(p)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(SaslError::MalformedPlain);
        };
        if p.contains(&0) {
            return Err(SaslError::MalformedPlain);
        }
        let authzid = std::str::from_utf8(z).map_err(|_| SaslError::InvalidIdentity)?;
        let authcid = std::str::from_utf8(c).map_err(|_| SaslError::InvalidIdentity)?;
        if authcid.is_empty() {
            return Err(SaslError::InvalidIdentity);
        }
        Ok(PlainCredentials {
            authzid: authzid.to_string(),
            authcid: authcid.to_string(),
            password: p.to_vec(),
        })
    }

    /// The PLAIN message (not yet base64-encoded).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.authzid.len() + self.authcid.len() + 2);
        out.extend_from_slice(self.authzid.as_bytes());
        out.push(0);
        out.extend_from_slice(self.authcid.as_bytes());
        out.push(0);
        out.extend_from_slice(&self.password);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_round_trip() {
        let c = PlainCredentials {
            authzid: "".into(),
            authcid: "alice@example".into(),
            password: b"pw".to_vec(),
        };
        let wire = encode(&c.encode());
        assert_eq!(wire, "AGFsaWNlQGV4YW1wbGUAcHc=");
        let back = PlainCredentials::decode(&decode(wire.as_bytes()).unwrap()).unwrap();
        assert_eq!(back, c);
        assert!(!format!("{back:?}").contains("pw\""));
    }

    #[test]
    fn plain_errors() {
        assert_eq!(
            PlainCredentials::decode(b"a\0b"),
            Err(SaslError::MalformedPlain)
        );
        assert_eq!(
            PlainCredentials::decode(b"a\0\0p"),
            Err(SaslError::InvalidIdentity)
        );
        assert_eq!(
            PlainCredentials::decode(b"a\0b\0p\0"),
            Err(SaslError::MalformedPlain)
        );
        assert_eq!(decode(b"!!"), Err(SaslError::InvalidBase64));
        assert_eq!(decode(b"="), Ok(vec![]));
    }

    /// `from_checked_name` gives what `parse` gives for every valid name: all names of up
    /// to three octets from a spread of the allowed octets, the case variants of PLAIN and
    /// LOGIN, and near misses of them.
    #[test]
    fn checked_names_match_parse() {
        let same = |name: &str| {
            assert!(Mechanism::is_valid_name(name.as_bytes()), "{name}");
            assert_eq!(
                Some(Mechanism::from_checked_name(name)),
                Mechanism::parse(name),
                "{name}"
            );
        };
        let chars = b"aAzZ09-_pPlLiInNoOgG";
        for &a in chars {
            same(std::str::from_utf8(&[a]).unwrap());
            for &b in chars {
                same(std::str::from_utf8(&[a, b]).unwrap());
                for &c in chars {
                    same(std::str::from_utf8(&[a, b, c]).unwrap());
                }
            }
        }
        for base in ["plain", "login"] {
            for mask in 0..32u32 {
                let n: String = base
                    .chars()
                    .enumerate()
                    .map(|(i, c)| {
                        if mask & (1 << i) != 0 {
                            c.to_ascii_uppercase()
                        } else {
                            c
                        }
                    })
                    .collect();
                same(&n);
                for i in 0..5 {
                    for r in ["_", "-", "0", "x"] {
                        let mut m = n.clone();
                        m.replace_range(i..=i, r);
                        same(&m);
                    }
                }
                same(&format!("{n}x"));
                same(&format!("x{n}"));
                same(&n[1..]);
            }
        }
        for n in [
            "SCRAM-SHA-256",
            "XOAUTH2",
            "CRAM-MD5",
            "plain_",
            "PLAIN-",
            "ABCDEFGHIJKLMNOPQRST",
        ] {
            same(n);
        }
    }

    #[test]
    fn mechanisms() {
        assert_eq!(Mechanism::parse("plain"), Some(Mechanism::Plain));
        assert_eq!(
            Mechanism::parse("cram-md5"),
            Some(Mechanism::Other("CRAM-MD5".into()))
        );
        assert_eq!(Mechanism::parse("a b"), None);
        assert_eq!(
            decode(LOGIN_USERNAME_PROMPT.as_bytes()).unwrap(),
            b"Username:"
        );
        assert_eq!(
            decode(LOGIN_PASSWORD_PROMPT.as_bytes()).unwrap(),
            b"Password:"
        );
    }
}
