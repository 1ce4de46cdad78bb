//! The APOP digest of RFC 1939 section 7.
//!
//! ```text
//! APOP name digest
//!    ... the digest is the MD5 algorithm applied to the timestamp
//!    (including angle-brackets) followed by a shared secret ...
//!    The `digest' parameter is calculated by applying the MD5 algorithm
//!    [RFC1321] to a string consisting of the timestamp (including
//!    angle-brackets) followed by a shared secret.  ... a string of 16
//!    octets which are sent in hexadecimal format, using lower-case ASCII
//!    characters.
//! ```

use md5::{Digest as _, Md5};

/// `hex(md5(timestamp + secret))`, lower case: the APOP digest (RFC 1939
/// section 7), for the client to send and the server to compare (in
/// constant time) with what the client sent. `timestamp` includes the angle
/// brackets.
///
/// ```
/// // The example of RFC 1939 section 7.
/// let digest = postwerk_pop3::apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf");
/// assert_eq!(digest, "c4c9334bac560ecc979e58001b3e22fb");
/// ```
pub fn apop_digest(timestamp: &str, secret: &str) -> String {
    let mut md5 = Md5::new();
    md5.update(timestamp.as_bytes());
    md5.update(secret.as_bytes());
    let digest = md5.finalize();
    let mut hex = String::with_capacity(32);
    for b in digest.iter() {
        for nibble in [b >> 4, b & 0x0f] {
            hex.push(char::from(b"0123456789abcdef"[usize::from(nibble)]));
        }
    }
    hex
}
