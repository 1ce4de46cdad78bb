//! SASL framing for POP3 `AUTH` (RFC 5034): base64 lines in both
//! directions. The mechanisms themselves are postwerk-sasl's.
//!
//! ```text
//! auth_command     = "AUTH" SP sasl-mech [SP initial-response] CRLF
//! initial-response = base64 / "="          ; "=" is an empty response
//! continue-req     = "+" SP [base64] CRLF
//! client-response  = *base64 / "*"         ; "*" cancels
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Why a SASL line could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// The line is not valid base64.
    #[error("invalid base64")]
    Base64,
}

/// Decode a base64 SASL line (a client response, a server challenge, or an
/// initial response other than `=`). An empty line is an empty response.
///
/// ```
/// use postwerk_pop3::codec::{decode_sasl, encode_sasl};
/// assert_eq!(decode_sasl(&encode_sasl(b"\0alice\0secret")).unwrap(), b"\0alice\0secret");
/// assert!(decode_sasl("not base64!").is_err());
/// ```
pub fn decode_sasl(line: &str) -> Result<Vec<u8>, SaslError> {
    STANDARD.decode(line).map_err(|_| SaslError::Base64)
}

/// Encode SASL bytes as a base64 line (empty bytes: an empty line).
pub fn encode_sasl(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Encode a PLAIN (RFC 4616) message as base64:
/// `[authzid] NUL authcid NUL passwd`.
pub fn encode_plain(authzid: &str, authcid: &str, password: &str) -> String {
    STANDARD.encode(format!("{authzid}\0{authcid}\0{password}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed() {
        assert_eq!(decode_sasl("!!"), Err(SaslError::Base64));
        assert_eq!(decode_sasl("="), Err(SaslError::Base64));
        assert_eq!(decode_sasl(""), Ok(Vec::new()));
        assert_eq!(decode_sasl(&encode_plain("", "a", "b")).unwrap(), b"\0a\0b");
    }
}
