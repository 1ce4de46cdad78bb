//! Hostile and malformed address input: errors (with offsets), quickly, never a panic,
//! never a display name promoted to an address.

use std::time::{Duration, Instant};

use postwerk_message::{
    MAX_ADDRESSES, ParseErrorKind, diagnose, parse_addr_spec, parse_address_list, parse_mailbox,
};

/// Runs `f` and checks it took less than a generous bound (linear parsing takes
/// milliseconds for these sizes, even unoptimised).
fn quick<T>(f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    out
}

#[test]
fn deep_comment_nesting_is_refused() {
    let input = "(".repeat(100_000);
    let e = quick(|| parse_address_list(input.as_bytes())).unwrap_err();
    assert_eq!(e.kind(), ParseErrorKind::TooDeep);
    assert_eq!(e.offset(), 64);
    let input = format!("a@b{}", "(".repeat(100_000));
    assert_eq!(
        quick(|| parse_addr_spec(input.as_bytes()))
            .unwrap_err()
            .kind(),
        ParseErrorKind::TooDeep
    );
    // Balanced but deep: still refused past the bound, fine below it.
    let ok = format!("{}{}a@b", "(".repeat(64), ")".repeat(64));
    assert!(parse_addr_spec(ok.as_bytes()).is_ok());
    let deep = format!("{}{}a@b", "(".repeat(65), ")".repeat(65));
    assert_eq!(
        parse_addr_spec(deep.as_bytes()).unwrap_err().kind(),
        ParseErrorKind::TooDeep
    );
    // Many sibling comments are fine: only depth is bounded.
    let siblings = format!("{}a@b", "(x)".repeat(100_000));
    assert!(quick(|| parse_addr_spec(siblings.as_bytes())).is_ok());
    // The diagnosis counts nesting too, without a stack.
    assert_eq!(
        quick(|| diagnose(input.as_bytes())).category(),
        postwerk_message::Category::Invalid
    );
}

#[test]
fn one_mib_of_junk() {
    let mut junk = Vec::with_capacity(1 << 20);
    let mut x: u32 = 0x1234_5678;
    while junk.len() < 1 << 20 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        junk.push(x as u8);
    }
    assert!(quick(|| parse_address_list(&junk)).is_err());
    assert!(quick(|| parse_mailbox(&junk)).is_err());
    assert!(quick(|| parse_addr_spec(&junk)).is_err());
    let _ = quick(|| diagnose(&junk));
    // ASCII junk of the kinds the parser looks at.
    for unit in ["\"", "(", "<", "[", "a.", "@", ",", "\\", "a ", "=?"] {
        let s = unit.repeat((1 << 20) / unit.len());
        let _ = quick(|| parse_address_list(s.as_bytes()));
        let _ = quick(|| parse_mailbox(s.as_bytes()));
        let _ = quick(|| parse_addr_spec(s.as_bytes()));
        let _ = quick(|| diagnose(s.as_bytes()));
    }
}

#[test]
fn huge_valid_inputs_are_linear() {
    let name = "word ".repeat(200_000);
    let input = format!("{name}<a@b>");
    let m = quick(|| parse_mailbox(input.as_bytes())).unwrap();
    assert_eq!(m.display_name().unwrap().len(), name.len() - 1);
    let q = format!("\"{}\"@b", "x\\\"".repeat(300_000));
    assert_eq!(
        quick(|| parse_addr_spec(q.as_bytes()))
            .unwrap()
            .local_part()
            .len(),
        600_000
    );
}

#[test]
fn too_many_addresses() {
    let list = "a@b,".repeat(MAX_ADDRESSES);
    assert_eq!(
        quick(|| parse_address_list(list.as_bytes())).unwrap().len(),
        MAX_ADDRESSES
    );
    let list = "a@b,".repeat(MAX_ADDRESSES + 1);
    assert_eq!(
        quick(|| parse_address_list(list.as_bytes()))
            .unwrap_err()
            .kind(),
        ParseErrorKind::TooManyAddresses
    );
    let group = format!("g:{};", "a@b,".repeat(MAX_ADDRESSES + 1));
    assert_eq!(
        quick(|| parse_address_list(group.as_bytes()))
            .unwrap_err()
            .kind(),
        ParseErrorKind::TooManyAddresses
    );
    // Empty elements cost nothing and are not counted (only commas are no list).
    let commas = ",".repeat(1 << 20);
    assert_eq!(
        quick(|| parse_address_list(commas.as_bytes()))
            .unwrap_err()
            .kind(),
        ParseErrorKind::UnexpectedEnd
    );
    let commas = format!("{}a@b", ",".repeat(1 << 20));
    assert_eq!(
        quick(|| parse_address_list(commas.as_bytes()))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn nul_and_control_characters() {
    for input in [
        &b"a\0b@c"[..],
        b"a@b\0c",
        b"\"a\0\"@b",
        b"\"a\\\0\"@b",
        b"(\0)a@b",
        b"a@[\0]",
        b"a@b\rc",
        b"a@b\r\nBcc: evil@x",
        b"\"a\r\nb\"@c",
        b"\"a\\\r\n b\"@c",
    ] {
        let e = parse_addr_spec(input).unwrap_err();
        assert!(
            matches!(
                e.kind(),
                ParseErrorKind::ForbiddenControl
                    | ParseErrorKind::UnexpectedChar
                    | ParseErrorKind::MissingAt
                    | ParseErrorKind::TrailingInput
            ),
            "{:?}: {e:?}",
            String::from_utf8_lossy(input)
        );
    }
    // A header break inside a list never starts a new header's worth of addresses.
    let e = parse_address_list(b"a@b,\r\nBcc: evil@x").unwrap_err();
    assert_eq!(
        (e.kind(), e.offset()),
        (ParseErrorKind::ForbiddenControl, 4)
    );
    // A fold is fine, and so is a trailing line break.
    assert_eq!(parse_address_list(b"a@b,\r\n c@d\r\n").unwrap().len(), 2);
    assert_eq!(parse_address_list(b"a@b,\n\tc@d").unwrap().len(), 2);
}

#[test]
fn invalid_utf8_is_an_error_with_offset() {
    let e = parse_address_list(b"J\xc3\xb6rg <j@x>, Bad \xff <b@x>").unwrap_err();
    assert_eq!((e.kind(), e.offset()), (ParseErrorKind::InvalidUtf8, 17));
    let e = parse_mailbox(b"\xc3").unwrap_err();
    assert_eq!((e.kind(), e.offset()), (ParseErrorKind::InvalidUtf8, 0));
    let e = parse_addr_spec(b"a@\xed\xa0\x80").unwrap_err();
    assert_eq!((e.kind(), e.offset()), (ParseErrorKind::InvalidUtf8, 2));
}

#[test]
fn encoded_commas_never_split() {
    let list = parse_address_list(
        b"=?utf-8?Q?a=2C_b?= <x@y>, =?utf-8?B?TWlsbGVyLCBKb2huIDxldmlsQGV2aWwudGVzdD4=?= <real@y.test>",
    )
    .unwrap();
    assert_eq!(list.len(), 2);
    let first = list[0].as_mailbox().unwrap();
    assert_eq!(first.display_name(), Some("a, b"));
    assert_eq!(first.addr_spec().to_string(), "x@y");
    let second = list[1].as_mailbox().unwrap();
    assert_eq!(second.display_name(), Some("Miller, John <evil@evil.test>"));
    assert_eq!(second.addr_spec().to_string(), "real@y.test");
}

#[test]
fn address_looking_display_names_stay_names() {
    for input in [
        &b"\"evil@x.com\" <real@y.com>"[..],
        b"evil@x.com <real@y.com>",
        b"\"<evil@x.com>\" <real@y.com>",
        b"=?utf-8?q?evil=40x=2Ecom?= <real@y.com>",
        b"\"evil@x.com\" (evil@x.com) <real@y.com>",
        b"real@y.com (evil@x.com)",
    ] {
        let m = parse_mailbox(input).unwrap();
        assert_eq!(
            m.addr_spec().to_string(),
            "real@y.com",
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    // A second angle address is not a second chance.
    assert!(parse_mailbox(b"<real@y.com> <evil@x.com>").is_err());
    assert!(parse_mailbox(b"a <real@y.com>>").is_err());
}

#[test]
fn structural_errors_with_offsets() {
    for (input, kind, offset) in [
        (&b"a <b@c"[..], ParseErrorKind::UnclosedAngleAddr, 2),
        (b"a <b@c x>", ParseErrorKind::UnexpectedChar, 7),
        (b"\"abc <a@b>", ParseErrorKind::UnclosedQuotedString, 0),
        (b"(abc <a@b>", ParseErrorKind::UnclosedComment, 0),
        (b"a@[1.2.3.4", ParseErrorKind::UnclosedDomainLiteral, 2),
        (b"a <>", ParseErrorKind::UnexpectedChar, 3),
        (b"a <@b>", ParseErrorKind::UnexpectedChar, 5),
        (b"John Smith", ParseErrorKind::MissingAt, 10),
        (b"<a@b> x", ParseErrorKind::TrailingInput, 6),
        (b">", ParseErrorKind::UnexpectedChar, 0),
        (b"", ParseErrorKind::UnexpectedEnd, 0),
    ] {
        let e = parse_mailbox(input).unwrap_err();
        assert_eq!(
            (e.kind(), e.offset()),
            (kind, offset),
            "{}",
            String::from_utf8_lossy(input)
        );
    }
}

proptest::proptest! {
    /// The `Message` accessors on address fields made of the characters that steer the
    /// forgiving reader (comments, quotes, brackets, separators, raw 8-bit bytes): never a
    /// panic, and where the grammar reads the field, the accessor reads the same addresses
    /// (a comment after a bare addr-spec may only add a display name).
    #[test]
    fn accessors_on_hostile_address_fields(
        value in proptest::collection::vec(
            proptest::sample::select(
                b"a b.@()<>\"\\,;:[]=?\xe9\r\n\t".to_vec()
            ),
            0..60,
        ),
    ) {
        let mut raw = b"To: ".to_vec();
        raw.extend_from_slice(&value);
        raw.extend_from_slice(b"\r\nSubject: ");
        raw.extend_from_slice(&value);
        raw.extend_from_slice(b"\r\n\r\n");
        let Ok(msg) = postwerk_message::Message::parse(&raw) else {
            return Ok(());
        };
        let read = quick(|| msg.to());
        let _ = msg.subject();
        let _ = msg.repairs();
        if let (Ok(read), Some(h)) = (read, msg.header("to"))
            && let Ok(strict) = parse_address_list(h.raw_value())
        {
            proptest::prop_assert_eq!(read.len(), strict.len());
            for (r, s) in read.iter().zip(&strict) {
                if let (Some(r), Some(s)) = (r.as_mailbox(), s.as_mailbox()) {
                    proptest::prop_assert_eq!(r.addr_spec(), s.addr_spec());
                    if s.display_name().is_some() {
                        proptest::prop_assert_eq!(r.display_name(), s.display_name());
                    }
                }
            }
        }
    }
}
