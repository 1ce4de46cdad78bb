//! MIME structure (RFC 2045, RFC 2046, RFC 2183, RFC 2231): media types, parameters,
//! dispositions, and the tree of parts of a message.

use std::borrow::Cow;

pub(crate) mod bodies;
pub(crate) mod content_type;
pub(crate) mod params;
pub(crate) mod tree;

/// Decodes `bytes` in the charset named `label` (any label [`charset`](crate::charset) knows, which
/// covers the WHATWG names and aliases: UTF-8, ISO-8859-x, Windows-125x, KOI8, Shift_JIS, GBK,
/// Big5, EUC-KR, …). `us-ascii` is read as UTF-8 (its superset), and so is an unknown
/// label. Malformed sequences become U+FFFD. Borrowed when the bytes are valid UTF-8 and
/// the charset is UTF-8 compatible.
pub(crate) fn decode_charset<'a>(label: &[u8], bytes: &'a [u8]) -> Cow<'a, str> {
    let label = crate::header::trim_end_ws(crate::header::trim_start_ws(label));
    let utf8_like = label.is_empty()
        || label.eq_ignore_ascii_case(b"utf-8")
        || label.eq_ignore_ascii_case(b"us-ascii")
        || label.eq_ignore_ascii_case(b"utf8")
        || label.eq_ignore_ascii_case(b"ascii");
    if utf8_like {
        return crate::charset::utf8_lossy(bytes);
    }
    match std::str::from_utf8(label)
        .ok()
        .and_then(|label| crate::charset::decode(label, bytes))
    {
        Some(text) => text,
        None => crate::charset::utf8_lossy(bytes),
    }
}
