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

/// Decodes `bytes` written in charset `label` into text.
///
/// Malformed sequences become U+FFFD. Returns `None` when the label is unknown, so the
/// caller can keep the original (still encoded) text. ASCII-compatible input that needs
/// no change is borrowed.
pub(crate) fn decode<'b>(label: &str, bytes: &'b [u8]) -> Option<Cow<'b, str>> {
    let encoding = lookup(label)?;
    Some(decode_with(encoding, bytes))
}

/// Decodes `bytes` with a known encoding; malformed sequences become U+FFFD.
pub(crate) fn decode_with<'b>(encoding: &'static Encoding, bytes: &'b [u8]) -> Cow<'b, str> {
    if encoding == encoding_rs::UTF_8 {
        return String::from_utf8_lossy(bytes);
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
    fn ascii_is_borrowed_and_bad_utf8_replaced() {
        assert!(matches!(
            decode("us-ascii", b"plain"),
            Some(Cow::Borrowed("plain"))
        ));
        assert_eq!(decode("utf-8", b"a\xffb").as_deref(), Some("a\u{fffd}b"));
    }
}
