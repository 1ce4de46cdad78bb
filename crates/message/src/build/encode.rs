//! Encoders for writing messages: the transfer encodings (RFC 2045 section 6), unstructured
//! text and phrases with RFC 2047 encoded words where needed, and MIME parameters with
//! RFC 2231 extended values and continuations. Header lines go through the one
//! [`Folder`](super::Folder).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{Folder, LINE_LEN};
use crate::TransferEncoding;

/// Longest atom written unencoded into a header line: `name: ` plus the atom stays within
/// [`LINE_LEN`] for the usual field names, and encoded words are at most 75 octets.
const MAX_ATOM: usize = 76;

/// Bytes of input per base64 line (57 bytes give 76 characters).
const B64_LINE_BYTES: usize = 57;

/// The field value of a transfer encoding.
pub(crate) fn cte_name(cte: TransferEncoding) -> &'static str {
    match cte {
        TransferEncoding::EightBit => "8bit",
        TransferEncoding::Binary => "binary",
        TransferEncoding::QuotedPrintable => "quoted-printable",
        TransferEncoding::Base64 => "base64",
        TransferEncoding::SevenBit | TransferEncoding::Unknown => "7bit",
    }
}

/// What the content looks like, from one pass.
struct Shape {
    ascii: bool,
    nul: bool,
    /// A CR not followed by LF, or an LF not preceded by CR.
    bare: bool,
    /// Longest line in octets, line end excluded.
    max_line: usize,
}

fn shape(data: &[u8], ascii: bool) -> Shape {
    let mut bare = false;
    let mut max_line = 0;
    let mut rest = data;
    loop {
        let (line, more) = match memchr::memchr(b'\n', rest) {
            Some(i) => (rest.get(..i).unwrap_or_default(), true),
            None => (rest, false),
        };
        let content = match line.strip_suffix(b"\r") {
            Some(c) if more => c,
            _ => {
                bare |= more;
                line
            }
        };
        bare |= memchr::memchr(b'\r', content).is_some();
        max_line = max_line.max(content.len());
        if !more {
            break;
        }
        rest = rest.get(line.len() + 1..).unwrap_or_default();
    }
    Shape {
        ascii,
        nul: memchr::memchr(0, data).is_some(),
        bare,
        max_line,
    }
}

/// Whether quoted-printable writes `b` as an `=XX` escape (outside line ends).
fn qp_escaped(b: u8) -> bool {
    !(b == b' ' || b == b'\t' || ((33..=126).contains(&b) && b != b'='))
}

/// Chooses the transfer encoding of a body: `7bit` for ASCII with CRLF line ends, no NUL
/// and lines of at most 78 octets; `8bit` for such content with 8-bit bytes when
/// `allow_8bit`; otherwise, for text (`text_like`) without NUL or bare CR/LF,
/// quoted-printable when it is mostly ASCII (at most a third of the octets need an
/// escape); base64 for the rest.
pub(crate) fn choose_encoding(data: &[u8], text_like: bool, allow_8bit: bool) -> TransferEncoding {
    let ascii = data.is_ascii();
    if !ascii && !allow_8bit && !text_like {
        // Binary: no need to look at the lines.
        return TransferEncoding::Base64;
    }
    let s = shape(data, ascii);
    let clean_lines = !s.nul && !s.bare && s.max_line <= LINE_LEN;
    if clean_lines && s.ascii {
        return TransferEncoding::SevenBit;
    }
    if clean_lines && allow_8bit {
        return TransferEncoding::EightBit;
    }
    if text_like && !s.nul && !s.bare {
        let escapes = data
            .iter()
            .filter(|&&b| qp_escaped(b) && b != b'\r' && b != b'\n')
            .count();
        if escapes * 3 <= data.len() {
            return TransferEncoding::QuotedPrintable;
        }
    }
    TransferEncoding::Base64
}

/// The identity transfer encoding of an attached message, the only kind RFC 2046
/// section 5.2.1 permits for `message/rfc822`: `7bit` for ASCII, `8bit` for content with
/// 8-bit bytes when `allow_8bit`; CRLF line ends, no NUL and lines of at most 998 octets
/// either way. `None` when neither fits.
pub(crate) fn identity_encoding(data: &[u8], allow_8bit: bool) -> Option<TransferEncoding> {
    let ascii = data.is_ascii();
    if !ascii && !allow_8bit {
        return None;
    }
    let s = shape(data, ascii);
    if s.nul || s.bare || s.max_line > super::MAX_LINE_LEN {
        return None;
    }
    Some(if ascii {
        TransferEncoding::SevenBit
    } else {
        TransferEncoding::EightBit
    })
}

/// Appends `data` as base64 in lines of 76 characters separated by CRLF (no CRLF after
/// the last line).
pub(crate) fn encode_base64(data: &[u8], out: &mut Vec<u8>) {
    let lines = data.len().div_ceil(B64_LINE_BYTES);
    let start = out.len();
    out.resize(
        start + data.len().div_ceil(3) * 4 + lines.saturating_sub(1) * 2,
        0,
    );
    let mut pos = start;
    for (i, chunk) in data.chunks(B64_LINE_BYTES).enumerate() {
        if i > 0
            && let Some(crlf) = out.get_mut(pos..pos + 2)
        {
            crlf.copy_from_slice(b"\r\n");
            pos += 2;
        }
        let len = chunk.len().div_ceil(3) * 4;
        if let Some(dst) = out.get_mut(pos..pos + len) {
            // The slice is exactly the encoded length, so this cannot fail.
            let _ = STANDARD.encode_slice(chunk, dst);
        }
        pos += len;
    }
}

/// Appends `data` as quoted-printable (RFC 2045 section 6.7): CRLF pairs are hard line
/// breaks, white space before a line end and every byte outside printable ASCII (bare CR
/// and LF too) are escaped, `=` is escaped, and soft line breaks keep each line within
/// 76 characters.
pub(crate) fn encode_quoted_printable(data: &[u8], out: &mut Vec<u8>) {
    out.reserve(data.len() + data.len() / 8);
    let mut col = 0usize;
    let mut i = 0usize;
    while let Some(&b) = data.get(i) {
        let next = data.get(i + 1).copied();
        if b == b'\r' && next == Some(b'\n') {
            out.extend_from_slice(b"\r\n");
            col = 0;
            i += 2;
            continue;
        }
        let at_eol = next.is_none() || (next == Some(b'\r') && data.get(i + 2) == Some(&b'\n'));
        let literal = !qp_escaped(b) && !(at_eol && (b == b' ' || b == b'\t'));
        let width = if literal { 1 } else { 3 };
        // The last character of a line may use the 76th column; others leave it for `=`.
        let limit = if at_eol { 76 } else { 75 };
        if col + width > limit {
            out.extend_from_slice(b"=\r\n");
            col = 0;
        }
        if literal {
            out.push(b);
        } else {
            let [h, l] = crate::lexer::hex_upper(b);
            out.extend_from_slice(&[b'=', h, l]);
        }
        col += width;
        i += 1;
    }
}

/// One word of a header value and the white space before it.
struct Token<'t> {
    ws: &'t str,
    word: &'t str,
}

/// Splits `text` into words and the white space (spaces, tabs) before each; white space
/// at the end becomes a last token with an empty word.
fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let ws_end = rest.find(|c| c != ' ' && c != '\t').unwrap_or(rest.len());
        let (ws, tail) = rest.split_at(ws_end);
        let word_end = tail.find([' ', '\t']).unwrap_or(tail.len());
        let (word, tail) = tail.split_at(word_end);
        out.push(Token { ws, word });
        rest = tail;
    }
    out
}

/// Whether a word of unstructured text must go into an encoded word: 8-bit text (unless
/// `utf8`), control characters, something a decoder would take for an encoded word, or a
/// word too long for a line.
fn needs_encoding(word: &str, utf8: bool) -> bool {
    word.is_empty()
        || word.len() > MAX_ATOM
        || word.contains("=?")
        || word
            .chars()
            .any(|c| c.is_control() || (!utf8 && !c.is_ascii()))
}

/// Pushes `text` as RFC 2047 UTF-8 encoded words (at most 75 octets each, characters never
/// split), the first after `sep`.
///
/// The first word is made short enough to fit the current line when the folder cannot
/// fold before it (right after the field name).
fn push_encoded(folder: &mut Folder<'_>, sep: &str, text: &str) {
    let mut rest = text;
    if let Some(room) = folder.room_without_fold(sep) {
        // `=?utf-8?b?` + base64 + `?=`: 12 octets and 4 per 3 bytes.
        let mut cut = (room.saturating_sub(12) / 4 * 3).min(rest.len());
        while cut > 0 && !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut == 0 {
            cut = rest.chars().next().map_or(0, char::len_utf8);
        }
        let (first, tail) = rest.split_at(cut);
        encode_words(folder, sep, first);
        if tail.is_empty() {
            return;
        }
        rest = tail;
        encode_words(folder, " ", rest);
        return;
    }
    encode_words(folder, sep, rest);
}

/// Pushes the encoded words of the crate's RFC 2047 encoder.
fn encode_words(folder: &mut Folder<'_>, sep: &str, text: &str) {
    let mut encoded = String::with_capacity(text.len() * 2);
    // Writing into a String cannot fail.
    let _ = crate::encoded_word::encode_b(text, &mut encoded);
    for (i, word) in encoded.split(' ').enumerate() {
        folder.push(if i == 0 { sep } else { " " }, word);
    }
}

/// Pushes unstructured text (RFC 5322 section 3.2.5) so that unfolding and decoding give
/// back exactly `text`: words that need it ([`needs_encoding`]), white space at the start
/// or end, and runs of such words with the white space between them become encoded words;
/// everything else stays as written. `text` must hold no CR or LF.
pub(crate) fn push_unstructured(folder: &mut Folder<'_>, text: &str, utf8: bool) {
    let toks = tokens(text);
    let last = toks.len().saturating_sub(1);
    // The first word cannot be folded away from the field name.
    let room = folder.room_without_fold(" ").unwrap_or(MAX_ATOM);
    let encode: Vec<bool> = toks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            (i == 0 && (!t.ws.is_empty() || t.word.len() > room))
                || (i == last && t.word.is_empty())
                || needs_encoding(t.word, utf8)
        })
        .collect();
    let mut i = 0;
    while let Some(t) = toks.get(i) {
        let sep = if i == 0 { " " } else { t.ws };
        if !encode.get(i).copied().unwrap_or(false) {
            folder.push(sep, t.word);
            i += 1;
            continue;
        }
        // A run of words to encode, with the white space between them.
        let mut run = String::new();
        if i == 0 {
            run.push_str(t.ws);
        }
        run.push_str(t.word);
        let mut j = i + 1;
        while let (Some(u), Some(true)) = (toks.get(j), encode.get(j).copied()) {
            run.push_str(u.ws);
            run.push_str(u.word);
            j += 1;
        }
        push_encoded(folder, sep, &run);
        i = j;
    }
}

/// Pushes a display name as an RFC 5322 phrase, through the crate's phrase writer (the
/// one behind `Mailbox`'s `Display`: atoms, a quoted string, or encoded words); when that
/// would give a word longer than a line, as encoded words. The last atom gets `suffix`.
pub(crate) fn push_phrase(folder: &mut Folder<'_>, name: &str, suffix: &str) {
    let group = crate::Group::new(name, Vec::new()).to_string();
    let written = group.strip_suffix(":;").unwrap_or(&group);
    let toks = tokens(written);
    let room = folder.room_without_fold(" ").unwrap_or(MAX_ATOM);
    let fits = toks.iter().all(|t| t.word.len() < MAX_ATOM)
        && toks.first().is_some_and(|t| t.word.len() <= room);
    if !fits {
        let mut encoded = String::new();
        let _ = crate::encoded_word::encode_b(name, &mut encoded);
        let words: Vec<&str> = encoded.split(' ').collect();
        push_with_suffix(folder, words.iter().map(|w| (" ", *w)), suffix);
        return;
    }
    let first_sep = " ";
    push_with_suffix(
        folder,
        toks.iter()
            .enumerate()
            .map(|(i, t)| (if i == 0 { first_sep } else { t.ws }, t.word)),
        suffix,
    );
}

fn push_with_suffix<'w>(
    folder: &mut Folder<'_>,
    atoms: impl ExactSizeIterator<Item = (&'w str, &'w str)>,
    suffix: &str,
) {
    let n = atoms.len();
    for (i, (sep, atom)) in atoms.enumerate() {
        if i + 1 == n && !suffix.is_empty() {
            if atom.ends_with("?=") {
                // An encoded word ends at white space (RFC 2047 section 5).
                folder.push(sep, atom);
                folder.push(" ", suffix);
            } else {
                folder.push(sep, &format!("{atom}{suffix}"));
            }
        } else {
            folder.push(sep, atom);
        }
    }
}

/// `attribute-char` of RFC 2231: token characters except `*`, `'` and `%`.
fn is_attribute_char(b: u8) -> bool {
    crate::mime::params::is_token_byte(b) && !matches!(b, b'*' | b'\'' | b'%')
}

/// The atoms of one MIME parameter `name=value`: a token, a quoted string, or an RFC 2231
/// extended value (`name*=utf-8''…`, split into `name*0*=`, `name*1*=`, … sections when
/// long). Each atom stays within 76 octets where the name allows.
pub(crate) fn param_atoms(name: &str, value: &str) -> Vec<String> {
    let token = !value.is_empty() && value.bytes().all(crate::mime::params::is_token_byte);
    if token && name.len() + 1 + value.len() <= MAX_ATOM {
        return vec![format!("{name}={value}")];
    }
    let printable = value.bytes().all(|b| (0x20..0x7f).contains(&b)) && !value.contains("=?");
    if printable {
        let mut q = String::with_capacity(value.len() + name.len() + 4);
        q.push_str(name);
        q.push_str("=\"");
        for c in value.chars() {
            if c == '"' || c == '\\' {
                q.push('\\');
            }
            q.push(c);
        }
        q.push('"');
        if q.len() <= MAX_ATOM {
            return vec![q];
        }
    }
    // RFC 2231: percent-encoded UTF-8, sections cut between characters.
    let mut pieces: Vec<String> = Vec::with_capacity(value.len());
    for c in value.chars() {
        let mut buf = [0u8; 4];
        let mut piece = String::with_capacity(12);
        for &b in c.encode_utf8(&mut buf).as_bytes() {
            if is_attribute_char(b) {
                piece.push(char::from(b));
            } else {
                let [h, l] = crate::lexer::hex_upper(b);
                piece.extend(['%', char::from(h), char::from(l)]);
            }
        }
        pieces.push(piece);
    }
    let whole: usize = pieces.iter().map(String::len).sum();
    if name.len() + "*=utf-8''".len() + whole <= MAX_ATOM {
        return vec![format!("{name}*=utf-8''{}", pieces.concat())];
    }
    let mut atoms = Vec::new();
    let mut current = format!("{name}*0*=utf-8''");
    let mut has_piece = false;
    for piece in pieces {
        if has_piece && current.len() + piece.len() > MAX_ATOM {
            atoms.push(std::mem::take(&mut current));
            current = format!("{name}*{}*=", atoms.len());
        }
        current.push_str(&piece);
        has_piece = true;
    }
    atoms.push(current);
    atoms
}

/// Pushes `value` (a media type or disposition type) and its parameters, `;` between.
pub(crate) fn push_params(folder: &mut Folder<'_>, value: &str, params: &[(&str, &str)]) {
    let mut atoms = vec![value.to_owned()];
    for (name, v) in params {
        atoms.extend(param_atoms(name, v));
    }
    let n = atoms.len();
    for (i, mut atom) in atoms.into_iter().enumerate() {
        if i + 1 < n {
            atom.push(';');
        }
        folder.push(" ", &atom);
    }
}

/// Pushes a value with no encoding at all, folded only at its own white space.
pub(crate) fn push_raw(folder: &mut Folder<'_>, value: &str) {
    for (i, t) in tokens(value).iter().enumerate() {
        folder.push(if i == 0 { " " } else { t.ws }, t.word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(f: impl FnOnce(&mut Folder<'_>)) -> String {
        let mut out = String::new();
        let mut folder = Folder::new(&mut out, "Subject");
        f(&mut folder);
        folder.finish();
        out
    }

    #[test]
    fn choice() {
        assert_eq!(
            choose_encoding(b"hi\r\nthere\r\n", true, false),
            TransferEncoding::SevenBit
        );
        assert_eq!(
            choose_encoding("café\r\n".as_bytes(), true, false),
            TransferEncoding::QuotedPrintable
        );
        assert_eq!(
            choose_encoding("café\r\n".as_bytes(), true, true),
            TransferEncoding::EightBit
        );
        assert_eq!(
            choose_encoding("日本語のテキスト".as_bytes(), true, false),
            TransferEncoding::Base64
        );
        assert_eq!(
            choose_encoding(&[b'a'; 100], true, true),
            TransferEncoding::QuotedPrintable
        );
        assert_eq!(
            choose_encoding(b"a\nb", true, false),
            TransferEncoding::Base64
        );
        assert_eq!(
            choose_encoding(b"a\0b", false, false),
            TransferEncoding::Base64
        );
        assert_eq!(
            choose_encoding(b"abc", false, false),
            TransferEncoding::SevenBit
        );
        assert_eq!(
            choose_encoding(&[0xff, 0xfe], false, true),
            TransferEncoding::EightBit
        );
    }

    #[test]
    fn base64_lines() {
        let data: Vec<u8> = (0..=255).collect();
        let mut out = Vec::new();
        encode_base64(&data, &mut out);
        for line in out.split(|&b| b == b'\n') {
            assert!(line.len() <= 77);
        }
        assert_eq!(crate::decode_base64(&out), data);
    }

    #[test]
    fn quoted_printable_round_trip() {
        for data in [
            &b"a = b \r\ntrailing\t\r\n"[..],
            b"x",
            b" ",
            b"bare\rcr and\nlf\r\n",
            "é".repeat(80).as_bytes(),
            &[b'z'; 200],
            b"",
        ] {
            let mut out = Vec::new();
            encode_quoted_printable(data, &mut out);
            for line in out.split(|&b| b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                assert!(line.len() <= 76, "{}", String::from_utf8_lossy(line));
                assert!(!line.ends_with(b" ") && !line.ends_with(b"\t"));
            }
            assert_eq!(&*crate::decode_quoted_printable(&out), data);
        }
        let mut out = Vec::new();
        encode_quoted_printable(b"a=b c \r\n", &mut out);
        assert_eq!(out, b"a=3Db c=20\r\n");
    }

    #[test]
    fn unstructured_only_where_needed() {
        assert_eq!(
            field(|f| push_unstructured(f, "Hello world", false)),
            "Subject: Hello world\r\n"
        );
        assert_eq!(
            field(|f| push_unstructured(f, "Re: Grüße aus Köln", false)),
            "Subject: Re: =?utf-8?b?R3LDvMOfZQ==?= aus =?utf-8?b?S8O2bG4=?=\r\n"
        );
        assert_eq!(
            field(|f| push_unstructured(f, "Grüße", true)),
            "Subject: Grüße\r\n"
        );
        assert_eq!(field(|f| push_unstructured(f, "", false)), "Subject:\r\n");
        let s = field(|f| push_unstructured(f, " lead", false));
        assert!(s.starts_with("Subject: =?utf-8?b?"), "{s}");
    }

    #[test]
    fn params() {
        assert_eq!(param_atoms("charset", "utf-8"), ["charset=utf-8"]);
        assert_eq!(param_atoms("filename", "a b.pdf"), ["filename=\"a b.pdf\""]);
        assert_eq!(param_atoms("filename", "a\"b"), ["filename=\"a\\\"b\""]);
        assert_eq!(
            param_atoms("filename", "é.txt"),
            ["filename*=utf-8''%C3%A9.txt"]
        );
        let long = param_atoms("filename", &"ü".repeat(40));
        assert!(long.len() > 1);
        assert!(long[0].starts_with("filename*0*=utf-8''%C3%BC"));
        assert!(long[1].starts_with("filename*1*=%C3%BC"));
        assert!(long.iter().all(|a| a.len() <= MAX_ATOM));
    }
}
