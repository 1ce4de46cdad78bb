//! Preparing a message body for the wire: line-ending policy, 8-bit and UTF-8 detection,
//! dot-stuffing for DATA.

use bytes::Bytes;
use memchr::{memchr_iter, memchr2_iter, memmem};

use super::config::BareLineEndings;

/// Applies the bare CR/LF policy and makes sure a non-empty body ends in CRLF.
///
/// Returns the offset of the first bare CR or LF when the policy refuses it.
pub(crate) fn prepare(body: &Bytes, policy: BareLineEndings) -> Result<Bytes, usize> {
    match (first_bare(body), policy) {
        (Some(offset), BareLineEndings::Reject) => Err(offset),
        (Some(_), BareLineEndings::Normalize) => Ok(Bytes::from(normalise(body))),
        (None, _) if body.is_empty() || body.ends_with(b"\r\n") => Ok(body.clone()),
        (None, _) => {
            let mut v = Vec::with_capacity(body.len() + 2);
            v.extend_from_slice(body);
            v.extend_from_slice(b"\r\n");
            Ok(Bytes::from(v))
        }
    }
}

/// The offset of the first CR not followed by LF, or LF not preceded by CR.
pub(crate) fn first_bare(body: &[u8]) -> Option<usize> {
    for i in memchr2_iter(b'\r', b'\n', body) {
        let ok = match body.get(i) {
            Some(b'\r') => body.get(i + 1) == Some(&b'\n'),
            _ => i > 0 && body.get(i - 1) == Some(&b'\r'),
        };
        if !ok {
            return Some(i);
        }
    }
    None
}

/// Every line end (CR, LF or CRLF) as CRLF, with a final CRLF when the body is not empty.
fn normalise(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 32 + 2);
    let mut start = 0;
    let mut skip_lf = false;
    for i in memchr2_iter(b'\r', b'\n', body) {
        if skip_lf && i == start && body.get(i) == Some(&b'\n') {
            start = i + 1;
            skip_lf = false;
            continue;
        }
        skip_lf = body.get(i) == Some(&b'\r');
        out.extend_from_slice(body.get(start..i).unwrap_or_default());
        out.extend_from_slice(b"\r\n");
        start = i + 1;
    }
    out.extend_from_slice(body.get(start..).unwrap_or_default());
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// True when some octet has the high bit set.
pub(crate) fn has_8bit(body: &[u8]) -> bool {
    !body.is_ascii()
}

/// True when the header section (up to the first empty line) has non-ASCII octets: such a
/// message needs SMTPUTF8 (RFC 6532).
pub(crate) fn header_has_utf8(body: &[u8]) -> bool {
    let end = if body.starts_with(b"\r\n") {
        0
    } else {
        memmem::find(body, b"\r\n\r\n").unwrap_or(body.len())
    };
    !body.get(..end).unwrap_or_default().is_ascii()
}

/// The body dot-stuffed (RFC 5321 4.5.2) and followed by `.` CRLF. `body` is empty or
/// ends in CRLF. Without lines starting with a dot, the body is passed on without copying.
pub(crate) fn stuff_for_data(body: &Bytes) -> [Bytes; 2] {
    let needs = body.first() == Some(&b'.') || memmem::find(body, b"\n.").is_some();
    let terminator = Bytes::from_static(b".\r\n");
    if !needs {
        return [body.clone(), terminator];
    }
    let mut out = Vec::with_capacity(body.len() + body.len() / 64 + 8);
    let mut start = 0;
    if body.first() == Some(&b'.') {
        out.push(b'.');
    }
    for i in memchr_iter(b'\n', body) {
        if body.get(i + 1) == Some(&b'.') {
            out.extend_from_slice(body.get(start..=i).unwrap_or_default());
            out.push(b'.');
            start = i + 1;
        }
    }
    out.extend_from_slice(body.get(start..).unwrap_or_default());
    [Bytes::from(out), terminator]
}

/// The size to declare with `SIZE=` (RFC 1870: the message with CRLF line ends).
pub(crate) fn size(body: &[u8]) -> u64 {
    u64::try_from(body.len()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_detection() {
        assert_eq!(first_bare(b"a\r\nb\r\n"), None);
        assert_eq!(first_bare(b"a\nb"), Some(1));
        assert_eq!(first_bare(b"a\rb"), Some(1));
        assert_eq!(first_bare(b"\n"), Some(0));
        assert_eq!(first_bare(b"a\r"), Some(1));
        assert_eq!(first_bare(b"a\r\r\n"), Some(1));
    }

    #[test]
    fn normalising() {
        assert_eq!(normalise(b"a\nb\rc\r\nd"), b"a\r\nb\r\nc\r\nd\r\n");
        assert_eq!(normalise(b"\r\r\n\n"), b"\r\n\r\n\r\n");
        assert_eq!(normalise(b""), b"");
        assert_eq!(
            prepare(&Bytes::from_static(b"x\n"), BareLineEndings::Reject),
            Err(1)
        );
        assert_eq!(
            prepare(&Bytes::from_static(b"x"), BareLineEndings::Reject).unwrap(),
            Bytes::from_static(b"x\r\n")
        );
    }

    #[test]
    fn stuffing() {
        let [b, t] = stuff_for_data(&Bytes::from_static(b".a\r\n..b\r\nc.\r\n.\r\n"));
        assert_eq!(&b[..], b"..a\r\n...b\r\nc.\r\n..\r\n");
        assert_eq!(&t[..], b".\r\n");
        let [b, _] = stuff_for_data(&Bytes::from_static(b"plain\r\n"));
        assert_eq!(&b[..], b"plain\r\n");
    }

    #[test]
    fn utf8_header() {
        assert!(header_has_utf8("Subject: Grüße\r\n\r\nbody".as_bytes()));
        assert!(!header_has_utf8("Subject: hi\r\n\r\nGrüße".as_bytes()));
        assert!(!header_has_utf8("\r\nGrüße".as_bytes()));
    }
}
