//! RFC 2047 encoded words in display names: decoded after the structure is parsed, in the
//! common charsets, leniently where real mail needs it.

use postwerk_message::{parse_address_list, parse_mailbox};

fn name(input: &str) -> String {
    parse_mailbox(input.as_bytes())
        .unwrap_or_else(|e| panic!("{input}: {e}"))
        .display_name()
        .expect("a display name")
        .to_string()
}

#[test]
fn rfc_2047_section_8_examples() {
    assert_eq!(
        name("=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>"),
        "Keith Moore"
    );
    assert_eq!(
        name("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>"),
        "Keld Jørn Simonsen"
    );
    assert_eq!(
        name("=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>"),
        "André Pirard"
    );
    assert_eq!(
        name(
            "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?= <x@y>"
        ),
        "If you can read this you understand the example."
    );
    assert_eq!(name("(=?ISO-8859-1?Q?a?=) Real Name <x@y>"), "Real Name");
}

#[test]
fn charsets() {
    for (input, expected) in [
        ("=?utf-8?B?SsO2cmc=?= <j@x>", "Jörg"),
        ("=?UTF-8?q?J=C3=B6rg?= <j@x>", "Jörg"),
        ("=?iso-8859-15?B?pHVybw==?= <j@x>", "€uro"),
        ("=?windows-1251?B?z/Do4uXy?= <j@x>", "Привет"),
        ("=?koi8-r?B?8NLJ18XU?= <j@x>", "Привет"),
        ("=?shift_jis?B?k/qWe4zq?= <j@x>", "日本語"),
        ("=?iso-2022-jp?B?GyRCRnxLXDhsGyhC?= <j@x>", "日本語"),
        ("=?euc-jp?B?xvzL3Ljs?= <j@x>", "日本語"),
        ("=?gb2312?B?xOO6ww==?= <j@x>", "你好"),
        ("=?big5?B?p0Gmbg==?= <j@x>", "你好"),
        ("=?euc-kr?B?vsiz58fPvLy/5A==?= <j@x>", "안녕하세요"),
        ("=?utf-16be?B?AEgAaQ==?= <j@x>", "Hi"),
        ("=?utf-8*en?Q?Hi?= <j@x>", "Hi"),
    ] {
        assert_eq!(name(input), expected, "{input}");
    }
}

#[test]
fn unknown_charset_is_read_as_lossy_utf8() {
    assert_eq!(name("=?x-klingon?Q?Qapla?= <j@x>"), "Qapla");
    assert_eq!(name("=?x-klingon?Q?Qapla=FF?= <j@x>"), "Qapla\u{fffd}");
}

#[test]
fn adjacent_words_join_and_split_characters_survive() {
    assert_eq!(name("=?utf-8?Q?a?= =?utf-8?Q?b?= <x@y>"), "ab");
    assert_eq!(name("=?utf-8?Q?a?=\r\n =?utf-8?Q?b?= <x@y>"), "ab");
    assert_eq!(name("=?utf-8?Q?a?= c =?utf-8?Q?b?= <x@y>"), "a c b");
    // "é" split across two B words.
    assert_eq!(name("=?utf-8?B?w6k=?= <x@y>"), "é");
    assert_eq!(name("=?utf-8?Q?caf=C3?= =?utf-8?Q?=A9?= <x@y>"), "café");
}

#[test]
fn quoted_encoded_words_are_decoded_too() {
    // Not allowed by RFC 2047, but common; the quotes still protect the structure.
    assert_eq!(name("\"=?utf-8?Q?Smith=2C_John?=\" <x@y>"), "Smith, John");
}

#[test]
fn decoding_happens_after_structure() {
    let list =
        parse_address_list(b"=?utf-8?Q?a=2C_b?= <x@y>, =?utf-8?Q?=3Cc=40d=3E?= <e@f>").unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].as_mailbox().unwrap().display_name(), Some("a, b"));
    assert_eq!(list[1].as_mailbox().unwrap().display_name(), Some("<c@d>"));
    assert_eq!(list[1].as_mailbox().unwrap().addr_spec().to_string(), "e@f");
    // Group names too.
    let list = parse_address_list(b"=?utf-8?Q?Caf=C3=A9_team?=: a@b;").unwrap();
    assert_eq!(list[0].as_group().unwrap().display_name(), "Café team");
}

#[test]
fn encoded_display_names_round_trip() {
    for input in [
        "=?utf-8?Q?M=C3=BCller=2C_Anna?= <anna@example.com>",
        "=?koi8-r?B?8NLJ18XU?= <j@x>",
        "\"=?not an encoded word\" <j@x>",
    ] {
        let m = parse_mailbox(input.as_bytes()).unwrap();
        let text = m.to_string();
        assert!(text.is_ascii(), "{text}");
        assert_eq!(parse_mailbox(text.as_bytes()).unwrap(), m, "{text}");
    }
}

#[test]
fn raw_8bit_bytes_inside_encoded_words_in_subjects_and_names() {
    let subject = |raw: &[u8]| {
        let mut msg = b"Subject: ".to_vec();
        msg.extend_from_slice(raw);
        msg.extend_from_slice(b"\r\n\r\n");
        postwerk_message::Message::parse(&msg)
            .unwrap()
            .subject()
            .unwrap()
            .into_owned()
    };
    // The report of issue 11: Latin-1 bytes inside a Latin-1 word.
    assert_eq!(
        subject(b"=?iso-8859-1?Q?Die_Hasen_und_die_Fr\xf6sche?="),
        "Die Hasen und die Fr\u{f6}sche"
    );
    // UTF-8 bytes inside a word labelled Latin-1 (re-encoded by a gateway): UTF-8 wins.
    assert_eq!(
        subject(b"=?iso-8859-1?Q?Die_Hasen_und_die_Fr\xc3\xb6sche?="),
        "Die Hasen und die Fr\u{f6}sche"
    );
    // Latin-1 bytes inside a UTF-8 word: not UTF-8, the label cannot read them, so
    // Windows-1252.
    assert_eq!(
        subject(b"=?utf-8?Q?caf\xe9_=E2=82=AC?="),
        "caf\u{e9} \u{20ac}"
    );
    // A multi-byte legacy charset reads its own raw bytes.
    assert_eq!(subject(b"=?shift_jis?Q?\x82\xa0?="), "\u{3042}");
    // The same inside display names, through the lenient address reader.
    for raw in [
        &b"From: =?iso-8859-1?Q?Fr\xf6sche?= <f@example.com>\r\n\r\n"[..],
        b"From: =?iso-8859-1?Q?Fr\xc3\xb6sche?= <f@example.com>\r\n\r\n",
        b"From: =?utf-8?Q?Fr\xf6sche?= <f@example.com>\r\n\r\n",
    ] {
        let msg = postwerk_message::Message::parse(raw).unwrap();
        let from = msg.from().unwrap();
        let name = from[0].as_mailbox().unwrap().display_name();
        assert_eq!(
            name,
            Some("Fr\u{f6}sche"),
            "{}",
            String::from_utf8_lossy(raw)
        );
    }
}
