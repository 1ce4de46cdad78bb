//! Message parsing: header section rules, accessors, hostile input and round trips.

use std::time::{Duration, Instant};

use postwerk_message::{Limits, Message, ParseErrorKind, RepairKind};
use proptest::prelude::*;

#[test]
fn lf_only_and_crlf_give_the_same_fields() {
    let lf = b"From: a@example.com\nSubject: one\n two\nDate: 1 Jan 2020 00:00 +0000\n\nbody\n";
    let crlf = b"From: a@example.com\r\nSubject: one\r\n two\r\nDate: 1 Jan 2020 00:00 +0000\r\n\r\nbody\r\n";
    let a = Message::parse(lf).unwrap();
    let b = Message::parse(crlf).unwrap();
    assert_eq!(a.headers().len(), 3);
    for (x, y) in a.headers().iter().zip(b.headers()) {
        assert_eq!(x.name(), y.name());
        assert_eq!(x.unfolded(), y.unfolded());
    }
    assert_eq!(a.subject().unwrap(), "one two");
    assert_eq!(a.body(), b"body\n");
    assert_eq!(b.body(), b"body\r\n");
}

#[test]
fn header_lookup_is_case_insensitive_and_ordered() {
    let raw = b"X-A: 1\r\nx-a: 2\r\nX-B: 3\r\nX-A: 4\r\n\r\n";
    let m = Message::parse(raw).unwrap();
    assert_eq!(m.header("x-a").unwrap().raw_value(), b"1");
    let all: Vec<&[u8]> = m.header_all("X-A").map(|h| h.raw_value()).collect();
    assert_eq!(all, [&b"1"[..], b"2", b"4"]);
    assert!(m.header("x-c").is_none());
    assert_eq!(m.headers()[2].offset(), 16);
    assert_eq!(m.headers()[2].value_offset(), 21);
}

#[test]
fn raw_value_keeps_folding_and_drops_leading_space() {
    let raw = b"Subject:   a\r\n\tb \r\n\r\n";
    let m = Message::parse(raw).unwrap();
    let h = m.header("subject").unwrap();
    assert_eq!(h.raw_value(), b"a\r\n\tb ");
    assert_eq!(h.unfolded(), "a\tb");
    assert_eq!(h.decoded(), "a\tb");
}

#[test]
fn decoded_subject_with_encoded_words() {
    let raw = b"Subject: =?ISO-8859-1?Q?Caf=E9?= and\r\n =?UTF-8?B?8J+Ygg==?=\r\n\r\n";
    let m = Message::parse(raw).unwrap();
    assert_eq!(m.subject().unwrap(), "Café and 😂");
}

#[test]
fn body_start_rules() {
    // No blank line: everything is header.
    let m = Message::parse(b"A: 1\r\nB: 2").unwrap();
    assert_eq!(m.headers().len(), 2);
    assert_eq!(m.body(), b"");
    // A line without a colon between fields is skipped (and reported)...
    let m = Message::parse(b"A: 1\r\nnot a header\r\nB: 2\r\n\r\nbody").unwrap();
    assert_eq!(m.headers().len(), 2);
    assert_eq!(m.body(), b"body");
    assert_eq!(m.repairs()[0].kind(), RepairKind::SkippedLine);
    assert_eq!(m.repairs()[0].offset(), 6);
    // ...and starts the body when no field follows it (no blank separator line).
    let m = Message::parse(b"A: 1\r\nnot a header\r\nmore text\r\n").unwrap();
    assert_eq!(m.headers().len(), 1);
    assert_eq!(m.body(), b"not a header\r\nmore text\r\n");
    // Empty input and a lone blank line.
    assert!(Message::parse(b"").unwrap().headers().is_empty());
    let m = Message::parse(b"\r\nbody").unwrap();
    assert!(m.headers().is_empty());
    assert_eq!(m.body(), b"body");
}

#[test]
fn absent_fields() {
    let m = Message::parse(b"X: y\r\n\r\n").unwrap();
    assert!(m.from().unwrap().is_empty());
    assert!(m.to().unwrap().is_empty());
    assert!(m.cc().unwrap().is_empty());
    assert!(m.bcc().unwrap().is_empty());
    assert!(m.reply_to().unwrap().is_empty());
    assert!(m.subject().is_none());
    assert!(m.date().is_none());
    assert!(m.message_id().is_none());
    assert!(m.references().unwrap().is_empty());
    assert_eq!(m.received().count(), 0);
    assert_eq!(m.parts().len(), 1);
    assert_eq!(m.leaves().count(), 1);
}

#[test]
fn several_to_fields_are_not_merged_and_empty_bcc_is_empty() {
    let m = Message::parse(b"To: a@x.test\r\nBcc:\r\nTo: b@y.test, c@z.test\r\n\r\n").unwrap();
    let to = m.to().unwrap();
    assert_eq!(to.len(), 1);
    assert_eq!(to[0].to_string(), "a@x.test");
    assert!(m.bcc().unwrap().is_empty());
    let r = m.repairs();
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].kind(), r[0].field(), r[0].offset()),
        (RepairKind::DuplicateField, Some("To"), 20)
    );
}

#[test]
fn errors_and_repairs_point_into_the_message() {
    let raw = b"Subject: x\r\nDate: 32 Jan 2020 00:00 +0000\r\nFrom: <broken@example.com\r\n\r\n";
    let m = Message::parse(raw).unwrap();
    let e = m.date().unwrap().unwrap_err();
    assert_eq!(e.kind(), ParseErrorKind::InvalidDate);
    assert_eq!(e.offset(), 18);
    // An unclosed angle address is closed at the end of the field.
    let from = m.from().unwrap();
    assert_eq!(from[0].to_string(), "broken@example.com");
    let r = m.repairs();
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].kind(), r[0].field(), r[0].offset()),
        (RepairKind::UnclosedAngleAddr, Some("From"), 49)
    );
    let m = Message::parse(b"Message-ID: (nothing but a comment)\r\n\r\n").unwrap();
    let e = m.message_id().unwrap().unwrap_err();
    assert_eq!((e.kind(), e.offset()), (ParseErrorKind::UnexpectedEnd, 35));
    let m = Message::parse(b"Message-ID: 1234\r\n\r\n").unwrap();
    assert_eq!(m.message_id().unwrap().unwrap().as_str(), "1234");
}

#[test]
fn eight_bit_headers_are_read_in_a_legacy_charset_and_raw_is_kept() {
    let raw = b"Subject: caf\xe9 \xff\r\nFrom: J\xfcrgen <j@example.com>\r\n\r\n";
    let m = Message::parse(raw).unwrap();
    let h = m.header("subject").unwrap();
    assert_eq!(h.raw_value(), b"caf\xe9 \xff");
    assert_eq!(h.unfolded(), "caf\u{fffd} \u{fffd}");
    assert_eq!(m.subject().unwrap(), "caf\u{e9} \u{ff}");
    let from = m.from().unwrap();
    assert_eq!(
        from[0].as_mailbox().unwrap().display_name(),
        Some("J\u{fc}rgen")
    );
    // The strict grammar refuses the same bytes.
    assert_eq!(
        postwerk_message::parse_address_list(b"J\xfcrgen <j@example.com>")
            .unwrap_err()
            .kind(),
        ParseErrorKind::InvalidUtf8
    );
    // The message's own charset comes before Windows-1252.
    let raw = b"Subject: \xa3\r\nContent-Type: text/plain; charset=iso-8859-2\r\n\r\n";
    assert_eq!(Message::parse(raw).unwrap().subject().unwrap(), "\u{141}");
}

/// Fails when parsing took longer than `limit` (scaled up for unoptimised builds). The
/// bounds are loose on purpose: they catch quadratic work or hangs, which would take hours
/// on these inputs, without failing on a loaded machine.
fn within(limit: Duration, start: Instant) {
    let limit = if cfg!(debug_assertions) {
        limit * 10
    } else {
        limit
    };
    assert!(start.elapsed() < limit, "took {:?}", start.elapsed());
}

#[test]
fn hostile_lenient_fields_stay_linear() {
    for unit in [
        &b"\"<"[..],
        b"<",
        b"(",
        b"a b ",
        b"a@b c@d ",
        b"x: ",
        b";",
        b"@",
        b"[",
        b"\xff ",
        b"=?utf-7?q?+AAA?= ",
    ] {
        let value = unit.repeat((1 << 20) / unit.len());
        let mut raw = Vec::new();
        for name in ["From", "To", "Date", "Message-ID", "Subject", "No colon"] {
            raw.extend_from_slice(name.as_bytes());
            raw.extend_from_slice(b": ");
            raw.extend_from_slice(&value);
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"X: y\r\n\r\n");
        let start = Instant::now();
        let m = Message::parse(&raw).unwrap();
        let _ = (m.from(), m.to(), m.date(), m.message_id(), m.subject());
        let _ = m.repairs();
        within(Duration::from_secs(5), start);
    }
    // Lines without a colon, each followed by a field, are skipped one by one.
    let raw = "junk\r\nX: y\r\n".repeat(100_000);
    let mut limits = Limits::default();
    limits.max_headers = 200_000;
    let start = Instant::now();
    let m = Message::parse_with(raw.as_bytes(), &limits).unwrap();
    let repairs = m.repairs();
    within(Duration::from_secs(5), start);
    assert_eq!(m.headers().len(), 100_000);
    assert_eq!(repairs.len(), 100_000);
}

#[test]
fn hostile_million_header_lines() {
    let raw = "X-Spam: y\r\n".repeat(1_000_000);
    let start = Instant::now();
    let e = Message::parse(raw.as_bytes()).unwrap_err();
    within(Duration::from_secs(30), start);
    assert_eq!(e.kind(), ParseErrorKind::TooManyHeaders);
    assert_eq!(e.offset(), 11 * 1000);
    let mut limits = Limits::default();
    limits.max_headers = 2_000_000;
    let m = Message::parse_with(raw.as_bytes(), &limits).unwrap();
    assert_eq!(m.headers().len(), 1_000_000);
}

#[test]
fn hostile_one_mib_header_line() {
    let mut raw = b"Subject: ".to_vec();
    raw.extend(std::iter::repeat_n(b'a', 1 << 20));
    raw.extend_from_slice(b"\r\nX: =?utf-8?q?");
    raw.extend(std::iter::repeat_n(b'b', 1 << 20));
    raw.extend_from_slice(b"\r\n\r\nbody");
    let start = Instant::now();
    let m = Message::parse(&raw).unwrap();
    assert_eq!(m.subject().unwrap().len(), 1 << 20);
    assert!(m.header("x").unwrap().decoded().len() >= 1 << 20);
    within(Duration::from_secs(30), start);
    assert_eq!(m.body(), b"body");
}

#[test]
fn hostile_million_nested_multiparts() {
    let mut raw = Vec::with_capacity(50_000_000);
    for i in 0..1_000_000u32 {
        raw.extend_from_slice(
            format!("Content-Type:multipart/mixed;boundary={i:x}\n\n--{i:x}\n").as_bytes(),
        );
    }
    let start = Instant::now();
    let m = Message::parse(&raw).unwrap();
    let e = m.try_parts().unwrap_err();
    // The tree up to the bound is kept and consistent.
    assert_eq!(m.parts().len(), 51);
    assert!(m.parts().iter().all(|p| p.depth() <= 50));
    // One index of `--` lines, then each of the 50 allowed levels walks its candidates.
    within(Duration::from_secs(30), start);
    assert_eq!(e.kind(), ParseErrorKind::TooDeep);
    let mut limits = Limits::default();
    limits.max_depth = 5;
    let m = Message::parse_with(&raw, &limits).unwrap();
    assert_eq!(m.try_parts().unwrap_err().kind(), ParseErrorKind::TooDeep);
    assert_eq!(m.parts().len(), 6);
    assert_eq!(m.leaves().count(), 1);
}

#[test]
fn hostile_million_nested_messages() {
    let raw = "Content-Type: message/rfc822\n\n".repeat(1_000_000);
    let start = Instant::now();
    let m = Message::parse(raw.as_bytes()).unwrap();
    let e = m.try_parts().unwrap_err();
    within(Duration::from_secs(30), start);
    assert_eq!(e.kind(), ParseErrorKind::TooDeep);
    assert_eq!(e.offset(), 30 * 51);
}

#[test]
fn hostile_million_sibling_parts() {
    let mut raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
    raw.extend_from_slice("--b\r\n\r\nx\r\n".repeat(1_000_000).as_bytes());
    raw.extend_from_slice(b"--b--\r\n");
    let start = Instant::now();
    let m = Message::parse(&raw).unwrap();
    let e = m.try_parts().unwrap_err();
    within(Duration::from_secs(30), start);
    assert_eq!(e.kind(), ParseErrorKind::TooManyParts);
    assert!(m.parts().len() <= 10_000);
    let mut limits = Limits::default();
    limits.max_parts = 2_000_000;
    let m = Message::parse_with(&raw, &limits).unwrap();
    assert_eq!(m.try_parts().unwrap().len(), 1_000_001);
    assert!(m.leaves().all(|p| p.decoded_body().as_ref() == b"x"));
}

#[test]
fn hostile_deep_comments_in_date_are_bounded() {
    let mut raw = b"Date: ".to_vec();
    raw.extend(std::iter::repeat_n(b'(', 100_000));
    raw.extend_from_slice(b"\r\n\r\n");
    let m = Message::parse(&raw).unwrap();
    assert!(m.date().unwrap().is_err());
}

fn header_name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9-]{0,20}"
}

fn header_value() -> impl Strategy<Value = (Vec<String>, Vec<bool>)> {
    (
        proptest::collection::vec("[!-~&&[^=]]{1,12}", 1..8),
        proptest::collection::vec(any::<bool>(), 8),
    )
}

proptest! {
    #[test]
    fn header_set_round_trips(
        fields in proptest::collection::vec((header_name(), header_value()), 0..20),
        lf_only in any::<bool>(),
    ) {
        let eol = if lf_only { "\n" } else { "\r\n" };
        let mut raw = String::new();
        let mut expected = Vec::new();
        for (name, (words, folds)) in &fields {
            raw.push_str(name);
            raw.push_str(": ");
            for (i, w) in words.iter().enumerate() {
                if i > 0 {
                    if folds[i] {
                        raw.push_str(eol);
                    }
                    raw.push(' ');
                }
                raw.push_str(w);
            }
            raw.push_str(eol);
            expected.push((name.clone(), words.join(" ")));
        }
        raw.push_str(eol);
        raw.push_str("body");
        let m = Message::parse(raw.as_bytes()).unwrap();
        let got: Vec<(String, String)> = m
            .headers()
            .iter()
            .map(|h| (h.name().to_string(), h.unfolded().into_owned()))
            .collect();
        prop_assert_eq!(got, expected);
        prop_assert_eq!(m.body(), b"body");
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(m) = Message::parse(&data) {
            let _ = m.try_parts();
            for p in m.parts() {
                let _ = p.decoded_body();
                let _ = p.decoded_text();
                let _ = p.filename();
            }
            let _ = (m.from(), m.to(), m.date(), m.message_id(), m.references(), m.subject());
            prop_assert!(!m.parts().is_empty());
        }
    }
}

#[test]
fn message_is_send_and_sync() {
    fn check<T: Send + Sync>(_: &T) {}
    let m = Message::parse(b"Subject: x\r\n\r\n").unwrap();
    check(&m);
    let shared = &m;
    std::thread::scope(|s| {
        let h = s.spawn(|| shared.parts().len());
        assert_eq!(shared.parts().len(), h.join().unwrap());
    });
}

#[test]
fn in_reply_to_and_references_recover_like_message_id() {
    let raw = b"Message-ID: <m@example.com>\r\n\
                In-Reply-To: 1234@example.com\r\n\
                References: <a@x>\r\n <b (comment) @y> <lonely>\r\n\r\n";
    let msg = Message::parse(raw).unwrap();
    let ids = |v: Vec<postwerk_message::MessageId<'_>>| {
        v.iter().map(|i| i.as_str().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(ids(msg.in_reply_to().unwrap()), ["1234@example.com"]);
    assert_eq!(ids(msg.references().unwrap()), ["a@x", "b@y", "lonely"]);
    let repairs: Vec<(RepairKind, Option<String>, usize)> = msg
        .repairs()
        .iter()
        .map(|r| (r.kind(), r.field().map(str::to_string), r.offset()))
        .collect();
    assert_eq!(
        repairs,
        [
            (RepairKind::LenientMessageId, Some("In-Reply-To".into()), 42),
            (RepairKind::LenientMessageId, Some("References".into()), 72),
        ]
    );
    // A valid list is read by the grammar and reports nothing.
    let msg = Message::parse(b"References: <a@x> <b@y>\r\n\r\n").unwrap();
    assert_eq!(ids(msg.references().unwrap()), ["a@x", "b@y"]);
    assert!(msg.repairs().is_empty());
    // Nothing usable: the strict error, pointing into the message.
    let msg = Message::parse(b"References: <>\r\n\r\n").unwrap();
    assert!(msg.references().unwrap_err().offset() >= 12);
}

#[test]
fn received_dates_recover_like_the_date_field() {
    let raw = b"Received: from a.example by b.example; Tue Apr  7 10:00:00 2026\r\n\
                Received: from c.example by a.example; 2026-04-07T09:00:00Z\r\n\
                Received: by c.example; 7 Apr 2026 08:00 UT\r\n\
                Received: by d.example; Tue, 7 Apr 2026 07:00:00 +0000\r\n\
                Received: by e.example; no date at all\r\n\r\n";
    let msg = Message::parse(raw).unwrap();
    let dates: Vec<Option<i64>> = msg
        .received()
        .map(|r| r.date().and_then(|d| d.as_ref().ok()).map(|d| d.to_unix()))
        .collect();
    assert_eq!(
        dates,
        [
            Some(1_775_556_000),
            Some(1_775_552_400),
            Some(1_775_548_800),
            Some(1_775_545_200),
            None
        ]
    );
}
