//! SCRAM-SHA-256 (RFC 5802, RFC 7677) pieces shared by both sides: the key derivation,
//! the stored credentials, and the attribute syntax.
//!
//! ```text
//! SaltedPassword  := Hi(Normalize(password), salt, i)        ; PBKDF2-HMAC-SHA-256
//! ClientKey       := HMAC(SaltedPassword, "Client Key")
//! StoredKey       := H(ClientKey)
//! AuthMessage     := client-first-message-bare + "," +
//!                    server-first-message + "," +
//!                    client-final-message-without-proof
//! ClientSignature := HMAC(StoredKey, AuthMessage)
//! ClientProof     := ClientKey XOR ClientSignature
//! ServerKey       := HMAC(SaltedPassword, "Server Key")
//! ServerSignature := HMAC(ServerKey, AuthMessage)
//! ```

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::error::UsageError;

/// Length of SHA-256 output, and so of every SCRAM-SHA-256 key, signature and proof.
pub const KEY_LEN: usize = 32;

/// The default iteration count for new credentials (RFC 7677 asks for at least 4096; this
/// is what current guidance for PBKDF2-HMAC-SHA-256 recommends for password storage).
pub const DEFAULT_ITERATIONS: u32 = 600_000;

/// The channel binding type this crate implements (RFC 9266).
pub const TLS_EXPORTER: &str = "tls-exporter";

/// What a server stores for a SCRAM-SHA-256 user instead of the password (RFC 5802
/// section 2.2): the salt, the iteration count, `StoredKey` and `ServerKey`.
///
/// Derive it once when the password is set ([`ScramCredentials::derive`]), store the four
/// parts, and rebuild it with [`ScramCredentials::from_parts`] at login.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredentials {
    salt: Vec<u8>,
    iterations: u32,
    stored_key: [u8; KEY_LEN],
    server_key: [u8; KEY_LEN],
}

impl fmt::Debug for ScramCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramCredentials")
            .field("salt", &B64.encode(&self.salt))
            .field("iterations", &self.iterations)
            .field("stored_key", &"<redacted>")
            .field("server_key", &"<redacted>")
            .finish()
    }
}

impl ScramCredentials {
    /// Derives the stored credentials from a password: SASLprep (RFC 4013), then
    /// PBKDF2-HMAC-SHA-256 with `salt` and `iterations`.
    ///
    /// ```
    /// use postwerk_sasl::ScramCredentials;
    /// let creds = ScramCredentials::derive("pencil", b"some random salt", 4096).unwrap();
    /// assert_eq!(creds.iterations(), 4096);
    /// ```
    pub fn derive(password: &str, salt: &[u8], iterations: u32) -> Result<Self, UsageError> {
        if iterations == 0 {
            return Err(UsageError::InvalidIterations);
        }
        let prepared = prepare(password, "password")?;
        let salted = salted_password(prepared.as_bytes(), salt, iterations);
        let client_key = hmac(&salted, b"Client Key");
        Ok(ScramCredentials {
            salt: salt.to_vec(),
            iterations,
            stored_key: sha256(&client_key),
            server_key: hmac(&salted, b"Server Key"),
        })
    }

    /// Rebuilds stored credentials from their parts.
    pub fn from_parts(
        salt: Vec<u8>,
        iterations: u32,
        stored_key: [u8; KEY_LEN],
        server_key: [u8; KEY_LEN],
    ) -> Result<Self, UsageError> {
        if iterations == 0 {
            return Err(UsageError::InvalidIterations);
        }
        Ok(ScramCredentials {
            salt,
            iterations,
            stored_key,
            server_key,
        })
    }

    /// Builds credentials without checks (`iterations` is at least 1 at every caller).
    pub(crate) fn raw(
        salt: Vec<u8>,
        iterations: u32,
        stored_key: [u8; KEY_LEN],
        server_key: [u8; KEY_LEN],
    ) -> Self {
        ScramCredentials {
            salt,
            iterations,
            stored_key,
            server_key,
        }
    }

    /// The salt.
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// The PBKDF2 iteration count.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// `StoredKey := H(HMAC(SaltedPassword, "Client Key"))`.
    pub fn stored_key(&self) -> &[u8; KEY_LEN] {
        &self.stored_key
    }

    /// `ServerKey := HMAC(SaltedPassword, "Server Key")`.
    pub fn server_key(&self) -> &[u8; KEY_LEN] {
        &self.server_key
    }
}

/// SASLprep (RFC 4013) of a string, as RFC 5802 asks for passwords and user names.
pub(crate) fn prepare<'a>(
    s: &'a str,
    what: &'static str,
) -> Result<std::borrow::Cow<'a, str>, UsageError> {
    stringprep::saslprep(s).map_err(|_| UsageError::InvalidString(what))
}

/// `Hi(str, salt, i)` = PBKDF2-HMAC-SHA-256 with a 32-byte output.
pub(crate) fn salted_password(password: &[u8], salt: &[u8], iterations: u32) -> [u8; KEY_LEN] {
    let mut out = [0u8; KEY_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
    out
}

pub(crate) fn hmac(key: &[u8], data: &[u8]) -> [u8; KEY_LEN] {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail; the fallback keeps
    // this function free of panics and would make every proof fail rather than pass.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return [0u8; KEY_LEN];
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

pub(crate) fn sha256(data: &[u8]) -> [u8; KEY_LEN] {
    Sha256::digest(data).into()
}

pub(crate) fn xor(a: &[u8; KEY_LEN], b: &[u8; KEY_LEN]) -> [u8; KEY_LEN] {
    let mut out = [0u8; KEY_LEN];
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        *o = x ^ y;
    }
    out
}

pub(crate) fn b64_encode(data: &[u8]) -> String {
    B64.encode(data)
}

pub(crate) fn b64_decode(data: &[u8]) -> Option<Vec<u8>> {
    B64.decode(data).ok()
}

/// RFC 5802 `printable = %x21-2B / %x2D-7E`.
pub(crate) fn valid_nonce(nonce: &[u8]) -> bool {
    !nonce.is_empty()
        && nonce
            .iter()
            .all(|&b| (0x21..=0x7e).contains(&b) && b != b',')
}

/// `saslname`: `=` as `=3D` and `,` as `=2C`.
pub(crate) fn escape_saslname(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '=' => out.push_str("=3D"),
            ',' => out.push_str("=2C"),
            c => out.push(c),
        }
    }
    out
}

/// Undoes [`escape_saslname`]; `None` for a bare `=`, a NUL or invalid UTF-8.
pub(crate) fn unescape_saslname(raw: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(raw).ok()?;
    if s.contains('\0') {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('=') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if after.starts_with("3D") {
            out.push('=');
        } else if after.starts_with("2C") {
            out.push(',');
        } else {
            return None;
        }
        rest = after.get(2..)?;
    }
    out.push_str(rest);
    Some(out)
}

/// Splits `a=1,b=2` into `(b'a', b"1")` pairs; `None` when an attribute is not
/// `ALPHA "=" value`.
pub(crate) fn attributes(msg: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    msg.split(|&b| b == b',')
        .map(|attr| match attr {
            [name, b'=', value @ ..] if name.is_ascii_alphabetic() => Some((*name, value)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saslname_round_trip() {
        let name = "a=b,c==,";
        assert_eq!(escape_saslname(name), "a=3Db=2Cc=3D=3D=2C");
        assert_eq!(
            unescape_saslname(escape_saslname(name).as_bytes()).as_deref(),
            Some(name)
        );
        assert_eq!(unescape_saslname(b"a=3"), None);
        assert_eq!(unescape_saslname(b"a=xx"), None);
    }

    #[test]
    fn nonce_syntax() {
        assert!(valid_nonce(b"rOprNGfwEbeRWgbNEkqO"));
        assert!(!valid_nonce(b""));
        assert!(!valid_nonce(b"a,b"));
        assert!(!valid_nonce(b"a b"));
    }
}
