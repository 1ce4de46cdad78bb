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
        // The token after CFWS (the lexer's walk), e.g. `(mime) base64`; a comment after
        // it, such as `base64 (encoded)`, ends the value. Anything else: `Unknown`.
        let start = crate::lexer::skip_cfws_at(value, 0).unwrap_or(value.len());
        let rest = value.get(start..).unwrap_or_default();
        let len = rest
            .iter()
            .position(|&c| matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'('))
            .unwrap_or(rest.len());
        let after = rest.get(len..).unwrap_or_default();
        let v = match crate::header::trim_start_ws(after).first() {
            None | Some(b'(') => rest.get(..len).unwrap_or_default(),
            Some(_) => rest,
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

/// Marks an invalid symbol in the [`B64_D0`]… tables (above the 24 data bits).
const B64_BAD: u32 = 1 << 24;

/// `BASE64` with each symbol's six bits already shifted to their place in the 24-bit
/// group for position `pos` (0–3) of a quartet, and [`B64_BAD`] for bytes outside the
/// alphabet, so that a quartet decodes with four loads and three ORs.
const fn base64_shifted(pos: u32) -> [u32; 256] {
    let mut t = [B64_BAD; 256];
    let mut i = 0;
    while i < 256 {
        let v = BASE64[i];
        if v != INVALID {
            t[i] = (v as u32) << (18 - 6 * pos);
        }
        i += 1;
    }
    t
}

static B64_D0: [u32; 256] = base64_shifted(0);
static B64_D1: [u32; 256] = base64_shifted(1);
static B64_D2: [u32; 256] = base64_shifted(2);
static B64_D3: [u32; 256] = base64_shifted(3);

/// Decodes `line`, whole quartets of alphabet symbols without padding, into `dst`
/// (exactly `line.len() / 4 * 3` bytes); `false`, with `dst` partly written, when a byte
/// is outside the alphabet.
#[inline]
fn base64_quartets(line: &[u8], dst: &mut [u8]) -> bool {
    for (q, d) in line.chunks_exact(4).zip(dst.chunks_exact_mut(3)) {
        let x = B64_D0[usize::from(q[0])]
            | B64_D1[usize::from(q[1])]
            | B64_D2[usize::from(q[2])]
            | B64_D3[usize::from(q[3])];
        if x & B64_BAD != 0 {
            return false;
        }
        d.copy_from_slice(&[(x >> 16) as u8, (x >> 8) as u8, x as u8]);
    }
    true
}

/// The lenient decoder's state between lines: the symbols of an unfinished group and
/// the output length so far.
#[derive(Debug, Clone, Copy)]
struct Base64State {
    acc: u32,
    n: u32,
    o: usize,
}

/// Decodes base64, skipping every byte outside the alphabet. Padding (`=`) ends a group:
/// a group of 2 or 3 symbols gives 1 or 2 bytes (also at the end of input, padded or
/// not), a single leftover symbol is dropped, and decoding goes on after it, so
/// concatenated base64 chunks decode to the concatenated data.
///
/// Each line that is plain base64 (a multiple of four alphabet symbols, padding only at
/// its end) starting on a group boundary is decoded a quartet at a time with pre-shifted
/// tables and no per-byte checks; the other lines go through the lenient pass, whose
/// result the fast path always equals.
pub fn decode_base64(input: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; input.len() / 4 * 3 + 3];
    let mut st = Base64State { acc: 0, n: 0, o: 0 };
    let mut rest = input;
    while !rest.is_empty() {
        let (line, next) = match memchr(b'\n', rest) {
            Some(i) => (
                rest.get(..i).unwrap_or_default(),
                rest.get(i + 1..).unwrap_or_default(),
            ),
            None => (rest, &[][..]),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        rest = next;
        if st.n == 0 && line.len() % 4 == 0 {
            // A plain line: whole quartets, the last one perhaps padded.
            let body = match line {
                [.., b'=', b'='] | [.., _, b'='] => line.get(..line.len() - 4).unwrap_or(line),
                _ => line,
            };
            let k = body.len() / 4 * 3;
            if let Some(dst) = out.get_mut(st.o..st.o + k)
                && base64_quartets(body, dst)
            {
                st.o += k;
                base64_lenient(
                    line.get(body.len()..).unwrap_or_default(),
                    &mut out,
                    &mut st,
                );
                continue;
            }
        }
        base64_lenient(line, &mut out, &mut st);
    }
    let tail: &[u8] = match st.n {
        2 => &[(st.acc >> 4) as u8],
        3 => &[(st.acc >> 10) as u8, (st.acc >> 2) as u8],
        _ => &[],
    };
    if let Some(dst) = out.get_mut(st.o..st.o + tail.len()) {
        dst.copy_from_slice(tail);
        st.o += tail.len();
    }
    out.truncate(st.o);
    out
}

/// The lenient pass over `input` (a line, or anything), writing into `out` from `st.o`.
fn base64_lenient(input: &[u8], out: &mut [u8], st: &mut Base64State) {
    let Base64State {
        mut acc,
        mut n,
        mut o,
    } = *st;
    let mut i = 0usize;
    let len = input.len();
    while i < len {
        // Fast path: four alphabet bytes in a row.
        if n == 0
            && let (Some(c), Some(dst)) = (input.get(i..i + 4), out.get_mut(o..o + 3))
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
    *st = Base64State { acc, n, o };
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

    /// The lenient pass alone over the whole input, as `decode_base64` was before the
    /// engine took the plain lines.
    fn lenient_only(input: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; input.len() / 4 * 3 + 3];
        let mut st = Base64State { acc: 0, n: 0, o: 0 };
        base64_lenient(input, &mut out, &mut st);
        let tail: &[u8] = match st.n {
            2 => &[(st.acc >> 4) as u8],
            3 => &[(st.acc >> 10) as u8, (st.acc >> 2) as u8],
            _ => &[],
        };
        out.truncate(st.o);
        out.extend_from_slice(tail);
        out
    }

    proptest::proptest! {
        #[test]
        fn base64_engine_lines_equal_the_lenient_pass(
            lines in proptest::collection::vec("[A-Za-z0-9+/=*! \t\r]{0,24}", 0..8),
            lf in proptest::bool::ANY,
        ) {
            let input = lines.join(if lf { "\n" } else { "\r\n" });
            proptest::prop_assert_eq!(
                decode_base64(input.as_bytes()),
                lenient_only(input.as_bytes())
            );
        }
    }

    #[test]
    fn base64_engine_and_lenient_lines_mixed() {
        // Plain lines (engine), a line with junk and one split mid-group (lenient).
        let input = b"SGVs\r\nbG8s\r\nIHd*v\r\ncmxk\r\nIQ=\r\nSGk=\nS\nGk";
        assert_eq!(decode_base64(input), b"Hello, world!HiHi");
        assert_eq!(decode_base64(input), lenient_only(input));
    }

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
        // Comments anywhere, nested, with quoted pairs; words after the token refused.
        assert_eq!(
            TransferEncoding::parse(b"(a (b\\)) c) base64\r\n (c) x"),
            TransferEncoding::Base64
        );
        assert_eq!(
            TransferEncoding::parse(b"base64 (unclosed"),
            TransferEncoding::Base64
        );
        assert_eq!(
            TransferEncoding::parse(b"base64 x"),
            TransferEncoding::Unknown
        );
        assert_eq!(
            TransferEncoding::parse(b"(only)"),
            TransferEncoding::Unknown
        );
    }
}
