//! SASL PLAIN (RFC 4616) as used by POP3 `AUTH` (RFC 5034).
//!
//! ```text
//! message = [authzid] UTF8NUL authcid UTF8NUL passwd
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Why a SASL PLAIN response could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// The line is not valid base64.
    #[error("invalid base64")]
    Base64,
    /// The decoded message does not have three NUL-separated UTF-8 fields.
    #[error("malformed PLAIN message")]
    Malformed,
}

/// A decoded SASL PLAIN message.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainCredentials {
    /// Authorization identity (empty when absent).
    pub authzid: String,
    /// Authentication identity (the user name).
    pub authcid: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for PlainCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainCredentials")
            .field("authzid", &self.authzid)
            .field("authcid", &self.authcid)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Decode a base64 PLAIN response; `=` is the empty response (RFC 5034
/// section 4), which is malformed for PLAIN.
///
/// ```
/// use postwerk_pop3::codec::{decode_plain, encode_plain};
/// let line = encode_plain("", "alice", "secret");
/// let creds = decode_plain(&line).unwrap();
/// assert_eq!((creds.authcid.as_str(), creds.password.as_str()), ("alice", "secret"));
/// ```
pub fn decode_plain(line: &str) -> Result<PlainCredentials, SaslError> {
    let raw = if line == "=" {
        Vec::new()
    } else {
        STANDARD.decode(line).map_err(|_| SaslError::Base64)?
    };
    let text = String::from_utf8(raw).map_err(|_| SaslError::Malformed)?;
    let mut parts = text.split('\0');
    let (Some(authzid), Some(authcid), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SaslError::Malformed);
    };
    if authcid.is_empty() {
        return Err(SaslError::Malformed);
    }
    Ok(PlainCredentials {
        authzid: authzid.to_owned(),
        authcid: authcid.to_owned(),
        password: password.to_owned(),
    })
}

/// Encode a PLAIN response as base64.
pub fn encode_plain(authzid: &str, authcid: &str, password: &str) -> String {
    STANDARD.encode(format!("{authzid}\0{authcid}\0{password}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed() {
        assert_eq!(decode_plain("!!"), Err(SaslError::Base64));
        assert_eq!(decode_plain("="), Err(SaslError::Malformed));
        assert_eq!(
            decode_plain(&STANDARD.encode("a\0b")),
            Err(SaslError::Malformed)
        );
        assert_eq!(
            decode_plain(&STANDARD.encode("\0\0p")),
            Err(SaslError::Malformed)
        );
        assert_eq!(
            decode_plain(&STANDARD.encode("a\0b\0c\0d")),
            Err(SaslError::Malformed)
        );
        assert!(decode_plain(&STANDARD.encode("\0b\0")).is_ok());
    }
}
