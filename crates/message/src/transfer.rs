//! Content-Transfer-Encoding (RFC 2045 section 6): base64 and quoted-printable decoding.
//!
//! Both decoders are tolerant, as mail readers must be: base64 skips every byte outside
//! its alphabet (line breaks, spaces, junk) and accepts missing padding; quoted-printable
//! keeps invalid `=` escapes literally. Output is written into one pre-sized buffer.

use std::borrow::Cow;

use memchr::memchr;

/// A `Content-Transfer-Encoding` mechanism.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferEncoding {
    /// `7bit` (also the default when the field is absent).
    SevenBit,
    /// `8bit`.
    EightBit,
    /// `binary`.
    Binary,
    /// `quoted-printable`.
    QuotedPrintable,
    /// `base64`.
    Base64,
    /// Any other value (`x-uuencode`, misspellings …); the body is left as it is.
    Unknown,
}

impl TransferEncoding {
    /// Parses a field value, case-insensitively, ignoring surrounding CFWS.
    pub fn parse(value: &[u8]) -> TransferEncoding {
        let v = crate::header::trim_end_ws(crate::header::trim_start_ws(value));
        // Drop a trailing comment such as `base64 (encoded)`.
        let v = match memchr(b'(', v) {
            Some(i) => crate::header::trim_end_ws(v.get(..i).unwrap_or_default()),
            None => v,
        };
        let is = |s: &str| v.eq_ignore_ascii_case(s.as_bytes());
        if is("7bit") {
            TransferEncoding::SevenBit
        } else if is("8bit") {
            TransferEncoding::EightBit
        } else if is("binary") {
            TransferEncoding::Binary
        } else if is("quoted-printable") {
            TransferEncoding::QuotedPrintable
        } else if is("base64") {
            TransferEncoding::Base64
        } else {
            TransferEncoding::Unknown
        }
    }

    /// Decodes `body` with this mechanism; borrowed unless it is base64 or
    /// quoted-printable (and, for quoted-printable, only when it has escapes).
    pub fn decode<'a>(&self, body: &'a [u8]) -> Cow<'a, [u8]> {
        match self {
            TransferEncoding::Base64 => Cow::Owned(decode_base64(body)),
            TransferEncoding::QuotedPrintable => decode_quoted_printable(body),
            _ => Cow::Borrowed(body),
        }
    }
}

const INVALID: u8 = 0xff;

const fn base64_table() -> [u8; 256] {
    let mut t = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
}

static BASE64: [u8; 256] = base64_table();

/// Decodes base64, skipping every byte outside the alphabet. Padding (`=`) ends a group:
/// a group of 2 or 3 symbols gives 1 or 2 bytes (also at the end of input, padded or
/// not), a single leftover symbol is dropped, and decoding goes on after it, so
/// concatenated base64 chunks decode to the concatenated data.
pub fn decode_base64(input: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; input.len() / 4 * 3 + 3];
    let mut o = 0usize;
    let mut acc: u32 = 0;
    let mut n = 0u32;
    let mut i = 0usize;
    let len = input.len();
    while i < len {
        // Fast path: four alphabet bytes in a row.
        if n == 0
            && let (Some(c), Some(dst)) = (input.get(i..i + 4), out.get_mut(o..o + 3))
        {
            {
                let (a, b, cc, d) = (
                    BASE64[usize::from(c[0])],
                    BASE64[usize::from(c[1])],
                    BASE64[usize::from(c[2])],
                    BASE64[usize::from(c[3])],
                );
                if (a | b | cc | d) < 64 {
                    let v = (u32::from(a) << 18)
                        | (u32::from(b) << 12)
                        | (u32::from(cc) << 6)
                        | u32::from(d);
                    dst.copy_from_slice(&[(v >> 16) as u8, (v >> 8) as u8, v as u8]);
                    o += 3;
                    i += 4;
                    continue;
                }
            }
        }
        let Some(&byte) = input.get(i) else { break };
        i += 1;
        if byte == b'=' {
            // Padding ends a chunk; concatenated chunks go on after it.
            let tail: &[u8] = match n {
                2 => &[(acc >> 4) as u8],
                3 => &[(acc >> 10) as u8, (acc >> 2) as u8],
                _ => &[],
            };
            if let Some(dst) = out.get_mut(o..o + tail.len()) {
                dst.copy_from_slice(tail);
                o += tail.len();
            }
            acc = 0;
            n = 0;
            continue;
        }
        let v = BASE64[usize::from(byte)];
        if v == INVALID {
            continue;
        }
        acc = (acc << 6) | u32::from(v);
        n += 1;
        if n == 4 {
            if let Some(dst) = out.get_mut(o..o + 3) {
                dst.copy_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
                o += 3;
            }
            acc = 0;
            n = 0;
        }
    }
    let tail: &[u8] = match n {
        2 => &[(acc >> 4) as u8],
        3 => &[(acc >> 10) as u8, (acc >> 2) as u8],
        _ => &[],
    };
    if let Some(dst) = out.get_mut(o..o + tail.len()) {
        dst.copy_from_slice(tail);
        o += tail.len();
    }
    out.truncate(o);
    out
}

use crate::lexer::hex;

/// Decodes quoted-printable (RFC 2045 section 6.7): `=XX` gives the byte XX (hex digits
/// in either case), `=` at the end of a line (followed only by white space) is a soft line
/// break and is removed with the line break, white space at the end of an encoded line is
/// transport padding and is dropped; any other `=` is kept literally. Hard line breaks are
/// kept as they are. Borrowed when the input has no `=` and no trailing white space.
pub fn decode_quoted_printable(input: &[u8]) -> Cow<'_, [u8]> {
    if has_trailing_wsp(input) {
        let stripped = strip_trailing_wsp(input);
        return Cow::Owned(decode_quoted_printable(&stripped).into_owned());
    }
    let Some(first) = memchr(b'=', input) else {
        return Cow::Borrowed(input);
    };
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(input.get(..first).unwrap_or_default());
    let mut i = first;
    loop {
        // input[i] == b'='
        let rest = input.get(i + 1..).unwrap_or_default();
        match rest {
            [h, l, ..] if hex(*h).is_some() && hex(*l).is_some() => {
                out.push(hex(*h).unwrap_or(0) << 4 | hex(*l).unwrap_or(0));
                i += 3;
            }
            _ => {
                // Soft line break: `=` [WSP] (CRLF / LF / end of input).
                let ws = rest
                    .iter()
                    .take_while(|&&c| c == b' ' || c == b'\t')
                    .count();
                let after = rest.get(ws..).unwrap_or_default();
                if after.starts_with(b"\r\n") {
                    i += 1 + ws + 2;
                } else if after.starts_with(b"\n") {
                    i += 1 + ws + 1;
                } else if after.is_empty() {
                    i = input.len();
                } else {
                    out.push(b'=');
                    i += 1;
                }
            }
        }
        let rest = input.get(i..).unwrap_or_default();
        match memchr(b'=', rest) {
            Some(j) => {
                out.extend_from_slice(rest.get(..j).unwrap_or_default());
                i += j;
            }
            None => {
                out.extend_from_slice(rest);
                break;
            }
        }
    }
    Cow::Owned(out)
}

/// Whether a line of `input` (or its end) has white space right before its line break.
fn has_trailing_wsp(input: &[u8]) -> bool {
    let before_break = |i: usize| {
        let end = if i > 0 && input.get(i - 1) == Some(&b'\r') {
            i - 1
        } else {
            i
        };
        end > 0 && matches!(input.get(end - 1), Some(b' ' | b'\t'))
    };
    memchr::memchr_iter(b'\n', input).any(before_break) || before_break(input.len())
}

/// `input` with the white space at the end of each line removed.
fn strip_trailing_wsp(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    for line in input.split_inclusive(|&b| b == b'\n') {
        let (content, end): (&[u8], &[u8]) = match line {
            [c @ .., b'\r', b'\n'] => (c, b"\r\n"),
            [c @ .., b'\n'] => (c, b"\n"),
            c => (c, b""),
        };
        out.extend_from_slice(crate::header::trim_end_ws(content));
        out.extend_from_slice(end);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_plain_and_junk() {
        assert_eq!(decode_base64(b"SGVsbG8sIHdvcmxkIQ=="), b"Hello, world!");
        assert_eq!(
            decode_base64(b"SGVs\r\nbG8s IHdv\tcmxk\r\nIQ"),
            b"Hello, world!"
        );
        assert_eq!(decode_base64(b"S*GV!sbG8"), b"Hello");
        assert_eq!(decode_base64(b""), b"");
        assert_eq!(decode_base64(b"QQ"), b"A");
        assert_eq!(decode_base64(b"QUI"), b"AB");
        assert_eq!(decode_base64(b"Q"), b"");
        // Concatenated chunks: decoding goes on after padding.
        assert_eq!(decode_base64(b"QUI=\r\nQUJD\r\nQQ==\r\nQg=="), b"ABABCAB");
        assert_eq!(decode_base64(b"QUJD==\r\n-- \r\n"), b"ABC");
        let long = b"VGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdmVyIHRoZSBsYXp5IGRvZy4=";
        assert_eq!(
            decode_base64(long),
            b"The quick brown fox jumps over the lazy dog."
        );
    }

    #[test]
    fn quoted_printable() {
        assert!(matches!(
            decode_quoted_printable(b"plain"),
            Cow::Borrowed(_)
        ));
        assert_eq!(&*decode_quoted_printable(b"caf=C3=A9"), "café".as_bytes());
        assert_eq!(
            &*decode_quoted_printable(b"soft=\r\nbreak=  \nhere="),
            b"softbreakhere"
        );
        assert_eq!(&*decode_quoted_printable(b"a=ZZb=4"), b"a=ZZb=4");
        assert_eq!(&*decode_quoted_printable(b"x=3d=3D\r\ny"), b"x==\r\ny");
        assert_eq!(&*decode_quoted_printable(b"="), b"");
        // RFC 2045 6.7 (3): trailing white space is transport padding; encoded is kept.
        assert_eq!(
            &*decode_quoted_printable(b"a  \r\nb=20\r\nc\t\nd=\t\r\ne \t"),
            b"a\r\nb \r\nc\nde"
        );
        assert_eq!(&*decode_quoted_printable(b"=c3=a9=C3=A9"), "éé".as_bytes());
    }

    #[test]
    fn encoding_names() {
        assert_eq!(
            TransferEncoding::parse(b" Base64 "),
            TransferEncoding::Base64
        );
        assert_eq!(
            TransferEncoding::parse(b"quoted-printable (x)"),
            TransferEncoding::QuotedPrintable
        );
        assert_eq!(TransferEncoding::parse(b"8BIT"), TransferEncoding::EightBit);
        assert_eq!(TransferEncoding::parse(b"x-uue"), TransferEncoding::Unknown);
    }
}
