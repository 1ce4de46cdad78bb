#![no_main]
//! The MIME parameter parser on arbitrary bytes: `Content-Type` and `Content-Disposition`
//! values with RFC 2231 continuations and charsets, RFC 2047 words in values, and broken
//! quoting. Types and names come out lower case, the parameter count stays bounded, and a
//! content type written with `Display` parses back to the same type (and the same
//! parameters, where their values are printable ASCII that `Display` writes as they are).

use libfuzzer_sys::fuzz_target;
use postwerk_message::{ContentDisposition, ContentType, Message, Param};

fn lower(s: &str) -> bool {
    !s.bytes().any(|b| b.is_ascii_uppercase())
}

fn check_params(params: &[Param<'_>]) {
    assert!(params.len() <= 256);
    for p in params {
        assert!(lower(p.name()), "{:?}", p.name());
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(ct) = ContentType::parse(data) {
        assert!(!ct.main_type().is_empty() && !ct.subtype().is_empty());
        assert!(lower(ct.main_type()) && lower(ct.subtype()));
        check_params(ct.params());
        let _ = (ct.charset(), ct.boundary(), ct.is_multipart());
        let written = ct.to_string();
        let again = ContentType::parse(written.as_bytes()).expect("display parses");
        assert_eq!(
            (again.main_type(), again.subtype()),
            (ct.main_type(), ct.subtype())
        );
        let plain = ct.params().iter().all(|p| {
            !p.name().is_empty()
                && p.name()
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b"*=;\"()<>@,:\\/[]?".contains(&b))
                && p.value().bytes().all(|b| (0x20..0x7f).contains(&b))
                && !p.value().contains("=?")
        });
        if plain {
            assert_eq!(again.params(), ct.params(), "{written}");
        }
    }
    if let Some(cd) = ContentDisposition::parse(data) {
        assert!(!cd.kind().is_empty() && lower(cd.kind()));
        check_params(cd.params());
        let _ = (cd.filename(), cd.is_attachment());
    }
    // The same bytes as the fields of a part: file names and charsets through `Part`.
    if data.iter().any(|&b| b == b'\r' || b == b'\n') {
        return;
    }
    let mut raw = b"Content-Type: ".to_vec();
    raw.extend_from_slice(data);
    raw.extend_from_slice(b"\r\nContent-Disposition: ");
    raw.extend_from_slice(data);
    raw.extend_from_slice(b"\r\n\r\nbody");
    let msg = Message::parse(&raw).expect("two fields parse");
    let part = msg.root_part();
    let _ = (
        part.filename(),
        part.decoded_text(),
        part.content_disposition(),
    );
});
