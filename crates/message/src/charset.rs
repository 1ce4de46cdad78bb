//! MIME charset labels (RFC 2045 `charset=`, RFC 2047 encoded words, RFC 2231 parameters)
//! turned into text through `encoding_rs`.
//!
//! Labels are looked up with the WHATWG Encoding Standard's label table (`UTF-8`,
//! `US-ASCII`, `ISO-8859-x`, `Windows-125x`, `KOI8-R`, `Shift_JIS`, `EUC-JP`,
//! `ISO-2022-JP`, `GB2312`/`GBK`/`GB18030`, `Big5`, `EUC-KR`, `UTF-16`, …) plus the few
//! Microsoft code page aliases that mail uses and that table lacks (`cp932`, `cp936`, …).
//! A label `encoding_rs` maps to its "replacement" decoder (ISO-2022-KR, HZ) counts as
//! unknown, so the caller can keep the original text instead of a lone U+FFFD.

use std::borrow::Cow;

use encoding_rs::Encoding;

/// Aliases seen in mail that the WHATWG label table does not list.
const EXTRA_ALIASES: &[(&str, &Encoding)] = &[
    ("cp932", encoding_rs::SHIFT_JIS),
    ("ms932", encoding_rs::SHIFT_JIS),
    ("cp936", encoding_rs::GBK),
    ("ms936", encoding_rs::GBK),
    ("cp949", encoding_rs::EUC_KR),
    ("ms949", encoding_rs::EUC_KR),
    ("uhc", encoding_rs::EUC_KR),
    ("cp950", encoding_rs::BIG5),
    ("ms950", encoding_rs::BIG5),
    ("cp20866", encoding_rs::KOI8_R),
    ("cp21866", encoding_rs::KOI8_U),
    ("cp1200", encoding_rs::UTF_16LE),
    ("cp1201", encoding_rs::UTF_16BE),
    ("cp65001", encoding_rs::UTF_8),
    ("iso-10646-ucs-2", encoding_rs::UTF_16BE),
    ("cp28591", encoding_rs::WINDOWS_1252),
    ("cp28592", encoding_rs::ISO_8859_2),
];

/// The encoding for a MIME charset label, or `None` when the label is unknown.
///
/// An RFC 2231 language suffix (`utf-8*en`) is ignored; case and surrounding white space
/// do not matter.
pub(crate) fn lookup(label: &str) -> Option<&'static Encoding> {
    let label = match label.find('*') {
        Some(star) => label.get(..star).unwrap_or(label),
        None => label,
    };
    let label = label.trim();
    if label.eq_ignore_ascii_case("utf-8") {
        return Some(encoding_rs::UTF_8);
    }
    if let Some(encoding) = Encoding::for_label_no_replacement(label.as_bytes()) {
        return Some(encoding);
    }
    EXTRA_ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(label))
        .map(|(_, encoding)| *encoding)
}

/// Whether `label` names UTF-7 (RFC 2152), which `encoding_rs` does not decode.
pub(crate) fn is_utf7(label: &str) -> bool {
    let label = match label.find('*') {
        Some(star) => label.get(..star).unwrap_or(label),
        None => label,
    };
    let label = label.trim();
    label.eq_ignore_ascii_case("utf-7")
        || label.eq_ignore_ascii_case("utf7")
        || label.eq_ignore_ascii_case("unicode-1-1-utf-7")
        || label.eq_ignore_ascii_case("csunicode11utf7")
}

/// Whether `label` names a charset this crate decodes.
pub(crate) fn is_known(label: &str) -> bool {
    is_utf7(label) || lookup(label).is_some()
}

/// Decodes `bytes` written in charset `label` into text.
///
/// Malformed sequences become U+FFFD. Returns `None` when the label is unknown, so the
/// caller can keep the original (still encoded) text. ASCII-compatible input that needs
/// no change is borrowed.
pub(crate) fn decode<'b>(label: &str, bytes: &'b [u8]) -> Option<Cow<'b, str>> {
    if is_utf7(label) {
        return Some(decode_utf7(bytes));
    }
    let encoding = lookup(label)?;
    Some(decode_with(encoding, bytes))
}

/// Value of a modified-base64 symbol of UTF-7 (RFC 2152), `None` outside the alphabet.
fn base64_value(b: u8) -> Option<u32> {
    let v = match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes UTF-7 (RFC 2152): direct characters as they are, `+` base64 of UTF-16 `-`
/// shifted sequences, `+-` for a plus sign. Malformed input becomes U+FFFD; borrowed when
/// there is no shifted sequence.
pub(crate) fn decode_utf7(bytes: &[u8]) -> Cow<'_, str> {
    if !bytes.contains(&b'+') && bytes.is_ascii() {
        return utf8_lossy(bytes);
    }
    let mut out = String::with_capacity(bytes.len());
    let mut units: Vec<u16> = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        i += 1;
        if b != b'+' {
            out.push(if b.is_ascii() {
                char::from(b)
            } else {
                '\u{fffd}'
            });
            continue;
        }
        if bytes.get(i) == Some(&b'-') {
            out.push('+');
            i += 1;
            continue;
        }
        let (mut acc, mut bits) = (0u32, 0u32);
        units.clear();
        while let Some(v) = bytes.get(i).copied().and_then(base64_value) {
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 16 {
                bits -= 16;
                units.push((acc >> bits) as u16);
                acc &= (1 << bits) - 1;
            }
            i += 1;
        }
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        out.extend(char::decode_utf16(units.iter().copied()).map(|r| r.unwrap_or('\u{fffd}')));
    }
    Cow::Owned(out)
}

/// Windows-1252 as the WHATWG Encoding Standard reads it (which is also how it reads
/// ISO-8859-1): every byte is a character.
fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '\u{20ac}', '\u{81}', '\u{201a}', '\u{192}', '\u{201e}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{2c6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8d}', '\u{17d}',
        '\u{8f}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201c}', '\u{201d}', '\u{2022}', '\u{2013}',
        '\u{2014}', '\u{2dc}', '\u{2122}', '\u{161}', '\u{203a}', '\u{153}', '\u{9d}', '\u{17e}',
        '\u{178}',
    ];
    match b {
        0x80..=0x9f => HIGH
            .get(usize::from(b - 0x80))
            .copied()
            .unwrap_or('\u{fffd}'),
        _ => char::from(b),
    }
}

/// Text from bytes that should be UTF-8 but may hold raw 8-bit bytes of a legacy charset
/// (header fields of real mail): valid UTF-8 stays as it is (borrowed); otherwise, with a
/// known ASCII-compatible `charset` other than UTF-8, the whole text is read in it; without
/// one, valid UTF-8 sequences are kept and every other byte is read as Windows-1252
/// (in which every byte is a character: the WHATWG reading of ISO-8859-1).
///
/// The flag tells whether anything was read in a legacy charset.
pub(crate) fn decode_8bit<'b>(bytes: &'b [u8], charset: Option<&str>) -> (Cow<'b, str>, bool) {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return (Cow::Borrowed(s), false);
    }
    if let Some(enc) = charset
        .and_then(lookup)
        .filter(|e| *e != encoding_rs::UTF_8 && e.is_ascii_compatible())
    {
        return (Cow::Owned(decode_with(enc, bytes).into_owned()), true);
    }
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 2);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        out.extend(chunk.invalid().iter().map(|&b| windows_1252(b)));
    }
    (Cow::Owned(out), true)
}

/// `bytes` as UTF-8, U+FFFD for what is not; borrowed when valid. Checks with
/// `str::from_utf8` first, whose ASCII fast path is several times quicker than
/// `String::from_utf8_lossy`'s chunk walk on the (usually valid) text of mail.
pub(crate) fn utf8_lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Decodes `bytes` with a known encoding; malformed sequences become U+FFFD.
pub(crate) fn decode_with<'b>(encoding: &'static Encoding, bytes: &'b [u8]) -> Cow<'b, str> {
    if encoding == encoding_rs::UTF_8 {
        return utf8_lossy(bytes);
    }
    if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
        // A byte order mark, when present, wins over the label (RFC 2781 section 4.3).
        return encoding.decode(bytes).0;
    }
    encoding.decode_without_bom_handling(bytes).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_labels_are_known() {
        for label in [
            "UTF-8",
            "utf8",
            "US-ASCII",
            "iso-8859-1",
            "ISO-8859-2",
            "iso-8859-15",
            "windows-1252",
            "Windows-1251",
            "cp1250",
            "KOI8-R",
            "koi8-u",
            "Shift_JIS",
            "EUC-JP",
            "ISO-2022-JP",
            "GB2312",
            "GBK",
            "GB18030",
            "Big5",
            "EUC-KR",
            "ks_c_5601-1987",
            "UTF-16",
            "UTF-16BE",
            "UTF-16LE",
            "cp932",
            "CP936",
            "utf-8*en-us",
        ] {
            assert!(lookup(label).is_some(), "{label} should be known");
        }
    }

    #[test]
    fn unknown_and_replacement_labels_are_none() {
        assert!(lookup("x-unknown").is_none());
        assert!(lookup("iso-2022-kr").is_none());
        assert!(lookup("").is_none());
    }

    #[test]
    fn decodes_latin1_koi8_and_sjis() {
        assert_eq!(decode("iso-8859-1", b"caf\xe9").as_deref(), Some("café"));
        assert_eq!(
            decode("koi8-r", b"\xf0\xd2\xc9\xd7\xc5\xd4").as_deref(),
            Some("Привет")
        );
        assert_eq!(decode("shift_jis", b"\x82\xa0").as_deref(), Some("あ"));
        assert_eq!(
            decode("iso-2022-jp", b"\x1b$B$\"\x1b(B").as_deref(),
            Some("あ")
        );
        assert_eq!(decode("utf-16be", b"\x00A\x00B").as_deref(), Some("AB"));
        assert_eq!(
            decode("gb2312", b"\xc4\xe3\xba\xc3").as_deref(),
            Some("你好")
        );
    }

    #[test]
    fn utf7_rfc2152_examples() {
        assert_eq!(decode_utf7(b"Hi Mom -+Jjo--!"), "Hi Mom -\u{263a}-!");
        assert_eq!(decode_utf7(b"+ZeVnLIqe-"), "\u{65e5}\u{672c}\u{8a9e}");
        assert_eq!(decode_utf7(b"A+ImIDkQ."), "A\u{2262}\u{391}.");
        assert_eq!(decode_utf7(b"1 +- 1"), "1 + 1");
        assert_eq!(decode_utf7(b"+2D3eAA-"), "\u{1f600}");
        assert_eq!(
            decode("UTF-7", b"+AOk-t+AOk-").as_deref(),
            Some("\u{e9}t\u{e9}")
        );
        assert!(is_known("utf-7"));
    }

    #[test]
    fn windows_1252_table_matches_encoding_rs() {
        for b in 0..=255u8 {
            let byte = [b];
            let want = encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(&byte)
                .0;
            assert_eq!(windows_1252(b).to_string(), want, "{b:#x}");
        }
    }

    #[test]
    fn eight_bit_fallbacks() {
        assert_eq!(
            decode_8bit(b"M\xfcller", None),
            (Cow::Borrowed("M\u{fc}ller"), true)
        );
        assert_eq!(decode_8bit("Müller".as_bytes(), None).0, "Müller");
        assert_eq!(decode_8bit(b"caf\xe9 \xc3\xa9 \x80", None).0, "café é €");
        assert_eq!(decode_8bit(b"\xe9", Some("iso-8859-2")).0, "\u{e9}");
        assert_eq!(decode_8bit(b"\xa3", Some("iso-8859-2")).0, "\u{141}");
        assert_eq!(decode_8bit(b"\xa3", Some("utf-8")).0, "\u{a3}");
    }

    #[test]
    fn ascii_is_borrowed_and_bad_utf8_replaced() {
        assert!(matches!(
            decode("us-ascii", b"plain"),
            Some(Cow::Borrowed("plain"))
        ));
        assert_eq!(decode("utf-8", b"a\xffb").as_deref(), Some("a\u{fffd}b"));
    }
}
