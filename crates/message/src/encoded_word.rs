//! RFC 2047 encoded words: `=?charset?B?...?=` and `=?charset?Q?...?=`.
//!
//! ```text
//! encoded-word = "=?" charset "?" encoding "?" encoded-text "?="
//! ```
//!
//! Decoding happens only on text whose structure has already been parsed (a display name,
//! an unstructured field body), so an encoded comma or angle bracket never changes what
//! the structure means. The decoder is lenient the way real mail needs:
//!
//! - white space between two adjacent encoded words is dropped (RFC 2047 section 6.2);
//! - adjacent words in the same charset are joined as bytes before decoding, so a
//!   multi-byte character split across two words still decodes (not in ISO-2022-JP, where
//!   each word returns to ASCII and a joined escape sequence would decode as an error);
//! - an encoded word is recognised even when not surrounded by white space;
//! - B text with missing padding is accepted;
//! - raw 8-bit bytes inside a Q word (not allowed, but real mail has them) are read as
//!   UTF-8 when they are valid UTF-8, else in the word's charset, else as Windows-1252;
//! - a word in an unknown charset is read as UTF-8, U+FFFD for what is not (lossy text
//!   rather than the encoded word, as mail clients show it), and reported;
//! - broken B text leaves the encoded word as it was.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::charset;

const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// One encoded word found in a text.
struct Word<'t> {
    charset: &'t str,
    b: bool,
    text: &'t [u8],
    /// Byte offset just past `?=`.
    end: usize,
}

/// Parses an encoded word starting at `start` (where `bytes[start..]` begins with `=?`).
///
/// The encoded text may hold raw 8-bit bytes (real mail has them); see
/// [`decode_q_8bit`] for how they are read.
fn parse_word(bytes: &[u8], start: usize) -> Option<Word<'_>> {
    let cs_start = start.checked_add(2)?;
    let rest = bytes.get(cs_start..)?;
    let q1 = memchr::memchr(b'?', rest)?;
    let charset = std::str::from_utf8(bytes.get(cs_start..cs_start + q1)?).ok()?;
    if charset.is_empty() || charset.bytes().any(|b| b <= b' ' || b >= 0x7f) {
        return None;
    }
    let enc_pos = cs_start + q1 + 1;
    let b = match bytes.get(enc_pos)? {
        b'B' | b'b' => true,
        b'Q' | b'q' => false,
        _ => return None,
    };
    if *bytes.get(enc_pos + 1)? != b'?' {
        return None;
    }
    let text_start = enc_pos + 2;
    let q3 = memchr::memchr(b'?', bytes.get(text_start..)?)?;
    let text_end = text_start + q3;
    if *bytes.get(text_end + 1)? != b'=' {
        return None;
    }
    let encoded = bytes.get(text_start..text_end)?;
    if encoded.iter().any(|&b| b <= b' ' || b == 0x7f) {
        return None;
    }
    Some(Word {
        charset,
        b,
        text: encoded,
        end: text_end + 2,
    })
}

/// Appends the bytes of Q-encoded text (RFC 2047 section 4.2) to `out`.
fn decode_q(text: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        match b {
            b'_' => {
                out.push(b' ');
                i += 1;
            }
            b'=' => match (
                text.get(i + 1).copied().and_then(crate::lexer::hex),
                text.get(i + 2).copied().and_then(crate::lexer::hex),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                _ => {
                    out.push(b'=');
                    i += 1;
                }
            },
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// Appends the text of Q-encoded text that holds raw 8-bit bytes to `out`: each run of
/// raw 8-bit bytes as UTF-8 when it is valid UTF-8, else in `label` when that is an
/// ASCII-compatible legacy charset, else as Windows-1252; the ASCII text and `=XX` escapes
/// between the runs in `label`.
fn decode_q_8bit(text: &[u8], label: &str, out: &mut String) {
    let mut clean = Vec::new();
    let flush_clean = |clean: &mut Vec<u8>, out: &mut String| {
        if !clean.is_empty() {
            match charset::decode(label, clean) {
                Some(t) => out.push_str(&t),
                None => out.push_str(&String::from_utf8_lossy(clean)),
            }
            clean.clear();
        }
    };
    let mut rest = text;
    while !rest.is_empty() {
        let ascii = rest.iter().position(|&b| b >= 0x80).unwrap_or(rest.len());
        let (head, tail) = rest.split_at(ascii);
        decode_q(head, &mut clean);
        let run = tail.iter().position(|&b| b < 0x80).unwrap_or(tail.len());
        let (high, after) = tail.split_at(run);
        if !high.is_empty() {
            flush_clean(&mut clean, out);
            out.push_str(&charset::decode_8bit(high, Some(label)).0);
        }
        rest = after;
    }
    flush_clean(&mut clean, out);
}

/// The run of decoded bytes of adjacent encoded words in one charset.
struct Pending<'t> {
    charset: &'t str,
    bytes: Vec<u8>,
}

fn flush(pending: &mut Option<Pending<'_>>, out: &mut String) {
    if let Some(p) = pending.take() {
        match charset::decode(p.charset, &p.bytes) {
            Some(text) => out.push_str(&text),
            // An unknown charset: lossy UTF-8.
            None => out.push_str(&String::from_utf8_lossy(&p.bytes)),
        }
    }
}

/// Whether the decoded bytes of adjacent words in `label` may be joined before decoding:
/// not for ISO-2022-JP, whose words each end in ASCII (RFC 1468), so that a joined word
/// would hold an escape sequence right after another, which decodes as an error.
fn joinable(label: &str) -> bool {
    charset::lookup(label) != Some(encoding_rs::ISO_2022_JP)
}

/// What [`decode_bytes`] noticed beside the text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Notes {
    /// 8-bit text outside the words was read in a legacy charset.
    pub(crate) legacy: bool,
    /// A word named a charset this crate does not know; it was read as lossy UTF-8.
    pub(crate) unknown_charset: bool,
}

fn is_lws(s: &[u8]) -> bool {
    s.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// The position of the first `=?` in `bytes`.
#[inline]
fn find_marker(bytes: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'=', bytes).find(|&i| bytes.get(i + 1) == Some(&b'?'))
}

/// Decodes every RFC 2047 encoded word in `text`.
///
/// Returns the input unchanged (borrowed) when it holds no encoded word.
pub(crate) fn decode(text: &str) -> Cow<'_, str> {
    decode_bytes(text.as_bytes(), None).0
}

/// Decodes the encoded words of a value that may already be owned, keeping it borrowed
/// when nothing changes.
pub(crate) fn decode_words(value: Cow<'_, str>) -> Cow<'_, str> {
    match value {
        Cow::Borrowed(s) => decode(s),
        Cow::Owned(s) => match decode(&s) {
            Cow::Borrowed(_) => Cow::Owned(s),
            Cow::Owned(d) => Cow::Owned(d),
        },
    }
}

/// Decodes every RFC 2047 encoded word in `raw`, the one decoder of encoded words.
///
/// Text outside the words may hold raw 8-bit bytes; it is read as
/// [`charset::decode_8bit`] does, with `charset` (the enclosing part's) as the legacy
/// charset. Raw 8-bit bytes inside a Q word are read as UTF-8 when valid, else in the
/// word's charset, else as Windows-1252 ([`decode_q_8bit`]). Borrowed when
/// `raw` is UTF-8 without encoded words. The [`Notes`] tell whether 8-bit text outside
/// the words was read in a legacy charset and whether a word's charset was unknown.
pub(crate) fn decode_bytes<'t>(raw: &'t [u8], charset: Option<&str>) -> (Cow<'t, str>, Notes) {
    let Some(first) = find_marker(raw) else {
        let (text, legacy) = charset::decode_8bit(raw, charset);
        return (
            text,
            Notes {
                legacy,
                unknown_charset: false,
            },
        );
    };
    let mut out = String::with_capacity(raw.len());
    let mut legacy = false;
    let mut unknown_charset = false;
    let mut push_text = |out: &mut String, gap: &[u8]| {
        let (text, l) = charset::decode_8bit(gap, charset);
        legacy |= l;
        out.push_str(&text);
    };
    let mut pending: Option<Pending<'_>> = None;
    // End of the text already copied or decoded into `out`/`pending`.
    let mut copied = 0;
    // End of the previous decoded encoded word, to drop white space between two of them.
    let mut prev_word_end: Option<usize> = None;
    let mut search = first;
    let mut changed = false;
    loop {
        let Some(word) = parse_word(raw, search) else {
            let next = search + 2;
            match raw.get(next..).and_then(find_marker) {
                Some(i) => {
                    search = next + i;
                    continue;
                }
                None => break,
            }
        };
        if !word.b && !word.text.is_ascii() && charset::is_known(word.charset) {
            // Raw 8-bit bytes inside a Q word: read on their own (UTF-8 when valid, else
            // the word's charset, else Windows-1252), the rest in the word's charset.
            let gap = raw.get(copied..search).unwrap_or_default();
            let adjacent = prev_word_end == Some(copied) && is_lws(gap);
            flush(&mut pending, &mut out);
            if !adjacent {
                push_text(&mut out, gap);
            }
            decode_q_8bit(word.text, word.charset, &mut out);
            copied = word.end;
            prev_word_end = Some(word.end);
            changed = true;
            search = word.end;
            match raw.get(search..).and_then(find_marker) {
                Some(i) => search += i,
                None => break,
            }
            continue;
        }
        let mut decoded = Vec::new();
        let ok = if word.b {
            B64.decode_vec(word.text, &mut decoded).is_ok()
        } else {
            decode_q(word.text, &mut decoded);
            true
        };
        if ok {
            unknown_charset |= !charset::is_known(word.charset);
            let gap = raw.get(copied..search).unwrap_or_default();
            let adjacent = prev_word_end == Some(copied) && is_lws(gap);
            if !adjacent {
                flush(&mut pending, &mut out);
                push_text(&mut out, gap);
            }
            match &mut pending {
                Some(p)
                    if p.charset.eq_ignore_ascii_case(word.charset) && joinable(word.charset) =>
                {
                    p.bytes.extend_from_slice(&decoded);
                }
                _ => {
                    flush(&mut pending, &mut out);
                    pending = Some(Pending {
                        charset: word.charset,
                        bytes: decoded,
                    });
                }
            }
            copied = word.end;
            prev_word_end = Some(word.end);
            changed = true;
        }
        // An undecodable word stays as literal text: it is copied with the gap later.
        search = word.end;
        match raw.get(search..).and_then(find_marker) {
            Some(i) => search += i,
            None => break,
        }
    }
    if !changed {
        let (text, legacy) = charset::decode_8bit(raw, charset);
        return (
            text,
            Notes {
                legacy,
                unknown_charset: false,
            },
        );
    }
    flush(&mut pending, &mut out);
    push_text(&mut out, raw.get(copied..).unwrap_or_default());
    (
        Cow::Owned(out),
        Notes {
            legacy,
            unknown_charset,
        },
    )
}

/// Longest run of UTF-8 bytes per encoded word so that `=?utf-8?b?` + base64 + `?=` stays
/// within the 75 characters of RFC 2047 section 2 (45 bytes → 60 base64 characters).
const MAX_CHUNK: usize = 45;

/// Writes `text` as a sequence of UTF-8 B encoded words separated by single spaces.
///
/// The result is an RFC 5322 phrase (each encoded word is an atom) that [`decode`] turns
/// back into exactly `text`. Words are split at character boundaries.
pub(crate) fn encode_b(text: &str, out: &mut dyn fmt::Write) -> fmt::Result {
    let mut rest = text;
    let mut first = true;
    loop {
        let mut cut = rest.len().min(MAX_CHUNK);
        while cut > 0 && !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut == 0 && !rest.is_empty() {
            // A single char is at most 4 bytes, so this cannot happen; stay total anyway.
            cut = rest.len();
        }
        let (chunk, tail) = rest.split_at(cut);
        if !first {
            out.write_char(' ')?;
        }
        out.write_str("=?utf-8?b?")?;
        out.write_str(&B64.encode(chunk.as_bytes()))?;
        out.write_str("?=")?;
        first = false;
        rest = tail;
        if rest.is_empty() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_and_b() {
        assert_eq!(decode("=?utf-8?Q?a=2C_b?="), "a, b");
        assert_eq!(decode("=?UTF-8?B?Zm9vYmFy?="), "foobar");
        assert_eq!(decode("=?utf-8?b?Zm9vYmE?="), "fooba");
        assert_eq!(decode("=?ISO-8859-1?Q?Andr=E9?= Pirard"), "André Pirard");
    }

    #[test]
    fn rfc2047_section_8_examples() {
        assert_eq!(decode("=?ISO-8859-1?Q?a?="), "a");
        assert_eq!(decode("=?ISO-8859-1?Q?a?= b"), "a b");
        assert_eq!(decode("=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?="), "ab");
        assert_eq!(decode("=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?="), "ab");
        assert_eq!(decode("=?ISO-8859-1?Q?a?=\r\n  =?ISO-8859-1?Q?b?="), "ab");
        assert_eq!(decode("=?ISO-8859-1?Q?a_b?="), "a b");
        assert_eq!(decode("=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?="), "a b");
        assert_eq!(
            decode("=?US-ASCII?Q?Keith_Moore?="),
            "Keith Moore",
            "RFC 2047 section 8"
        );
    }

    #[test]
    fn split_multibyte_character_is_joined() {
        // "é" is C3 A9, split over two words.
        assert_eq!(decode("=?utf-8?Q?caf=C3?= =?utf-8?Q?=A9?="), "café");
    }

    #[test]
    fn unknown_charset_is_lossy_utf8_and_broken_words_stay() {
        assert_eq!(decode("=?x-unknown?Q?abc?="), "abc");
        // mail gem fixture `bad_encoded_subject.eml`: charset NONE, one `=` of padding.
        let (text, notes) = decode_bytes(b"=?NONE?B?VEVTVA=?=", None);
        assert_eq!(text, "TEST");
        assert!(notes.unknown_charset && !notes.legacy);
        assert_eq!(
            decode("=?x-unknown?Q?caf=C3=A9_=FF?="),
            "caf\u{e9} \u{fffd}"
        );
        assert!(!decode_bytes(b"=?utf-8?Q?a?=", None).1.unknown_charset);
        assert_eq!(decode("=?utf-8?B?###?="), "=?utf-8?B?###?=");
        assert_eq!(decode("=?utf-8?X?abc?="), "=?utf-8?X?abc?=");
        assert_eq!(decode("a =? b ?= c"), "a =? b ?= c");
        assert!(matches!(decode("plain text"), Cow::Borrowed(_)));
        assert!(matches!(decode("=?utf-8?X?abc?="), Cow::Borrowed(_)));
        assert_eq!(decode("=?x-unknown?Q?a?= =?utf-8?q?b?="), "ab");
    }

    #[test]
    fn iso_2022_jp_words_are_decoded_one_by_one() {
        // mail gem fixture `rfc2822/example14.eml`: each word switches to JIS X 0208 and
        // back; joined, the second escape sequence would follow the first directly.
        let word = "=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=";
        assert_eq!(
            decode(&format!("Re: TEST {word}\r\n  {word}")),
            "Re: TEST \u{30c6}\u{30b9}\u{30c8}\u{30c6}\u{30b9}\u{30c8}"
        );
    }

    #[test]
    fn eight_bit_bytes_inside_and_around_words() {
        let (text, notes) = decode_bytes(b"=?iso-8859-1?Q?Die_Hasen_und_die_Fr\xf6sche?=", None);
        assert_eq!(text, "Die Hasen und die Fr\u{f6}sche");
        assert!(!notes.legacy);
        let (text, notes) = decode_bytes(b"Gr\xfc\xdfe =?utf-8?q?caf=C3=A9?=", None);
        assert_eq!(text, "Gr\u{fc}\u{df}e caf\u{e9}");
        assert!(notes.legacy);
        assert_eq!(decode("=?utf-7?Q?Hi_+AOk-?="), "Hi \u{e9}");
        assert_eq!(decode("=?UTF-7?B?K0FPay0=?="), "\u{e9}");
    }

    #[test]
    fn raw_8bit_inside_words_utf8_then_charset_then_windows_1252() {
        // Valid UTF-8 first, even in a word labelled Latin-1.
        assert_eq!(
            decode_bytes(b"=?iso-8859-1?Q?Fr\xc3\xb6sche?=", None).0,
            "Fr\u{f6}sche"
        );
        // Else the word's charset.
        assert_eq!(
            decode_bytes(b"=?iso-8859-1?Q?Fr\xf6sche?=", None).0,
            "Fr\u{f6}sche"
        );
        assert_eq!(
            decode_bytes(b"=?koi8-r?Q?\xf0\xd2\xc9?=", None).0,
            "\u{41f}\u{440}\u{438}"
        );
        // Else Windows-1252: a UTF-8 word with Latin-1 bytes, and the 0x80 range.
        assert_eq!(
            decode_bytes(b"=?utf-8?Q?Fr\xf6sche?=", None).0,
            "Fr\u{f6}sche"
        );
        assert_eq!(decode_bytes(b"=?utf-8?Q?\x80_5?=", None).0, "\u{20ac} 5");
        // Escapes and raw runs mixed; escapes stay in the word's charset.
        assert_eq!(
            decode_bytes(b"=?iso-8859-1?Q?=E9t\xc3\xa9_=E0?=", None).0,
            "\u{e9}t\u{e9} \u{e0}"
        );
        // Adjacent words still lose the white space between them.
        assert_eq!(
            decode_bytes(b"=?iso-8859-1?Q?a\xe4?= =?iso-8859-1?Q?_b?=", None).0,
            "a\u{e4} b"
        );
        // Text around words is kept, with its own 8-bit reading.
        assert_eq!(
            decode_bytes(b"Re: =?windows-1252?Q?\x93hi\x94?= x", None).0,
            "Re: \u{201c}hi\u{201d} x"
        );
    }

    #[test]
    fn text_around_words_is_kept() {
        assert_eq!(decode("Re: =?utf-8?q?caf=C3=A9?= now"), "Re: café now");
        assert_eq!(decode("x=?utf-8?q?y?=z"), "xyz");
        assert_eq!(decode("=?utf-8?q?=?="), "=");
        assert_eq!(decode("=?utf-8?q??="), "");
    }

    #[test]
    fn encode_round_trips() {
        for text in [
            "",
            "a",
            "Jöhn Smith",
            "=?utf-8?q?x?=",
            "line\r\nbreak\0nul",
            &"é".repeat(100),
            "日本語のテキスト、かなり長い文字列をいくつかの単語に分割する必要があります",
        ] {
            let mut s = String::new();
            encode_b(text, &mut s).unwrap();
            for word in s.split(' ') {
                assert!(word.len() <= 75, "{word}");
            }
            assert_eq!(decode(&s), text, "{s}");
        }
    }
}
