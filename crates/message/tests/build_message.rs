//! `build::MessageBuilder`: what it writes reads back to the same values, through this
//! crate's parser (property tests) and through Python's `email` package; lines stay within
//! 78 octets where they can, never over 998; header injection is refused.

use std::borrow::Cow;
use std::io::Write as _;
use std::process::{Command, Stdio};

use postwerk_message::build::{Attachment, BuildError, MessageBuilder};
use postwerk_message::{AddrSpec, Address, DateTime, Group, Mailbox, Message, TransferEncoding};
use proptest::prelude::*;
use proptest::strategy::ValueTree as _;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

// ---------------------------------------------------------------------------------------
// Inputs

#[derive(Debug, Clone)]
struct Part {
    content_type: &'static str,
    filename: String,
    content_id: String,
    data: Vec<u8>,
}

#[derive(Debug, Clone)]
struct Input {
    subject: String,
    from: Mailbox<'static>,
    to: Vec<Address<'static>>,
    cc: Vec<Address<'static>>,
    text: Option<String>,
    html: Option<String>,
    inline: Vec<Part>,
    attachments: Vec<Part>,
    eight_bit: bool,
}

fn local_part() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9_+-]{1,10}(\\.[a-z0-9_+-]{1,10}){0,2}",
        1 => "[a-z]{1,5} [a-z(),]{1,5}",
    ]
}

fn domain() -> impl Strategy<Value = String> {
    "[a-z0-9]{1,10}(\\.[a-z]{2,6}){1,2}"
}

fn display_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z]{1,10}( [A-Za-z]{1,10}){0,2}",
        "[ -~]{0,30}",
        "[^\\x00\\r\\n]{0,40}",
        "[a-zäöüß日本 ,.\"<>@]{1,60}",
    ]
}

fn mailbox() -> impl Strategy<Value = Mailbox<'static>> {
    (prop::option::of(display_name()), local_part(), domain()).prop_map(|(n, l, d)| {
        Mailbox::new(
            n.map(Cow::Owned),
            AddrSpec::new(l, d).expect("valid addr-spec"),
        )
    })
}

fn address() -> impl Strategy<Value = Address<'static>> {
    prop_oneof![
        4 => mailbox().prop_map(Address::Mailbox),
        1 => (display_name(), prop::collection::vec(mailbox(), 0..3))
            .prop_map(|(n, m)| Address::Group(Group::new(n, m))),
    ]
}

fn subject() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,120}",
        "[^\\x00\\r\\n]{0,120}",
        "[a-zé日 \t=?_]{0,200}",
        "(Re: )?[A-Za-z]{1,100}",
    ]
}

fn body_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~\n]{0,300}",
        "[^\\x00]{0,300}",
        "([a-z ]{0,120}\r?\n){0,5}",
        "[a-zé€\t =.\r\n]{0,500}",
    ]
}

fn part() -> impl Strategy<Value = Part> {
    (
        prop::sample::select(vec![
            "application/octet-stream",
            "application/pdf",
            "image/png",
            "text/plain",
            "text/csv; charset=utf-8",
        ]),
        "[^\\x00\\r\\n]{1,80}",
        "[a-z0-9.]{1,12}@[a-z]{1,8}\\.example",
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..3000),
            "[ -~\r\n]{0,500}".prop_map(String::into_bytes),
        ],
    )
        .prop_map(|(content_type, filename, content_id, data)| Part {
            content_type,
            filename,
            content_id,
            data,
        })
}

fn input() -> impl Strategy<Value = Input> {
    (
        subject(),
        mailbox(),
        prop::collection::vec(address(), 1..4),
        prop::collection::vec(address(), 0..3),
        prop::option::of(body_text()),
        prop::option::of(body_text()),
        prop::collection::vec(part(), 0..3),
        prop::collection::vec(part(), 0..3),
        any::<bool>(),
    )
        .prop_map(
            |(subject, from, to, cc, text, html, inline, attachments, eight_bit)| Input {
                subject,
                from,
                to,
                cc,
                text,
                // Inline parts are resources of an HTML body.
                inline: if html.is_some() { inline } else { Vec::new() },
                html,
                attachments,
                eight_bit,
            },
        )
}

fn builder(i: &Input) -> MessageBuilder<'_> {
    let mut b = MessageBuilder::new()
        .from(i.from.clone())
        .to(i.to.clone())
        .subject(i.subject.as_str())
        .date(DateTime::from_unix(1_795_899_070, 60))
        .message_id("test.1@example.com")
        .allow_8bit(i.eight_bit);
    if !i.cc.is_empty() {
        b = b.cc(i.cc.clone());
    }
    if let Some(t) = &i.text {
        b = b.text(t.as_str());
    }
    if let Some(h) = &i.html {
        b = b.html(h.as_str());
    }
    for p in &i.inline {
        b = b.attach_inline(
            Attachment::new(p.content_type, p.data.as_slice())
                .content_id(p.content_id.as_str())
                .filename(p.filename.as_str()),
        );
    }
    for p in &i.attachments {
        b = b.attachment(p.content_type, p.filename.as_str(), p.data.as_slice());
    }
    b
}

/// Text as the builder writes it: CRLF line ends, a final one.
fn canonical(text: &str) -> String {
    let mut out = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', "\r\n");
    if !out.is_empty() && !out.ends_with("\r\n") {
        out.push_str("\r\n");
    }
    out
}

/// Every line of `bytes` (CRLF-separated) within 78 octets unless one word of it cannot
/// be split, and none over 998; no bare CR or LF.
fn check_lines(bytes: &[u8]) -> Result<(), String> {
    for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let content = match line.strip_suffix(b"\r") {
            Some(c) => c,
            None if n + 1 == bytes.split(|&b| b == b'\n').count() && line.is_empty() => continue,
            None => return Err(format!("line {n} without CRLF")),
        };
        if content.contains(&b'\r') {
            return Err(format!("bare CR in line {n}"));
        }
        if content.len() > 998 {
            return Err(format!("line {n} has {} octets", content.len()));
        }
        if content.len() > 78 {
            return Err(format!(
                "line {n} has {} octets: {}",
                content.len(),
                String::from_utf8_lossy(content)
            ));
        }
    }
    Ok(())
}

fn check_round_trip(i: &Input, bytes: &[u8]) -> Result<(), TestCaseError> {
    let msg = Message::parse(bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(msg.repairs().is_empty(), "repairs: {:?}", msg.repairs());
    let subject = msg.subject();
    prop_assert_eq!(subject.as_deref(), Some(i.subject.as_str()));
    let from = msg.from().map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(from, vec![Address::Mailbox(i.from.clone())]);
    prop_assert_eq!(
        msg.to().map_err(|e| TestCaseError::fail(e.to_string()))?,
        i.to.clone()
    );
    prop_assert_eq!(
        msg.cc().map_err(|e| TestCaseError::fail(e.to_string()))?,
        i.cc.clone()
    );
    prop_assert_eq!(msg.date().unwrap().unwrap().to_unix(), 1_795_899_070);
    let id = msg.message_id().unwrap().unwrap();
    prop_assert_eq!(id.as_str(), "test.1@example.com");

    let texts: Vec<String> = msg
        .text_body()
        .map(|p| p.decoded_text().unwrap_or_default().into_owned())
        .collect();
    let htmls: Vec<String> = msg
        .html_body()
        .map(|p| p.decoded_text().unwrap_or_default().into_owned())
        .collect();
    let want_text = i.text.as_deref().map(canonical);
    let want_html = i.html.as_deref().map(canonical);
    let body = || {
        want_text
            .clone()
            .or_else(|| want_html.clone())
            .or_else(|| i.attachments.is_empty().then(String::new))
    };
    prop_assert_eq!(texts.first().cloned(), body());
    let html_first = want_html.clone().or_else(body);
    prop_assert_eq!(htmls.first().cloned(), html_first);

    let attachments: Vec<_> = msg.attachments().collect();
    let parts: Vec<&Part> = i.inline.iter().chain(&i.attachments).collect();
    prop_assert_eq!(attachments.len(), parts.len());
    for (got, want) in attachments.iter().zip(parts) {
        let body = got.decoded_body();
        prop_assert_eq!(body.as_ref(), want.data.as_slice());
        let name = got.filename();
        prop_assert_eq!(name.as_deref(), Some(want.filename.as_str()));
        let media = want.content_type.split(';').next().unwrap_or_default();
        let (main, sub) = media.split_once('/').unwrap_or_default();
        prop_assert!(got.content_type().is(main, sub));
        let te = got.content_transfer_encoding();
        if !i.eight_bit {
            prop_assert!(te != TransferEncoding::EightBit);
        }
    }
    for p in &i.inline {
        let found = msg.parts().iter().any(|q| {
            q.header("content-id")
                .is_some_and(|h| h.unfolded() == format!("<{}>", p.content_id))
        });
        prop_assert!(found, "Content-ID {}", p.content_id);
    }
    if !i.eight_bit {
        prop_assert!(bytes.is_ascii());
    }
    check_lines(bytes).map_err(TestCaseError::fail)?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn build_parse_round_trip(i in input()) {
        let bytes = builder(&i).build().map_err(|e| TestCaseError::fail(e.to_string()))?;
        check_round_trip(&i, &bytes)?;
    }

    #[test]
    fn unstructured_header_round_trip(value in "[^\\x00\\r\\n]{0,300}", name in "X-[A-Za-z0-9-]{1,20}") {
        let bytes = MessageBuilder::new()
            .from("a@example.com")
            .header(name.as_str(), value.as_str())
            .build()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let msg = Message::parse(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(msg.header(&name).unwrap().decoded(), value.as_str());
        // From, the field, MIME-Version and the empty body's Content-Type.
        prop_assert_eq!(msg.headers().len(), 4);
        check_lines(&bytes).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn hostile_values_never_make_fields(value in "[a-z]{0,5}[\r\n\0][A-Za-z-]{1,10}: [a-z]{0,10}") {
        let builders = [
            MessageBuilder::new().from("a@example.com").subject(value.as_str()),
            MessageBuilder::new().from("a@example.com").header("X-A", value.as_str()),
            MessageBuilder::new().from("a@example.com").header_raw("X-A", value.as_str()),
            MessageBuilder::new().from(("a@example.com", "a@example.com")).from((value.as_str(), "b@example.com")),
            MessageBuilder::new().from("a@example.com").attachment("text/plain", value.as_str(), &b"x"[..]),
            MessageBuilder::new().from("a@example.com").attachment(format!("text/plain; x={value}"), "f", &b"x"[..]),
            MessageBuilder::new().from("a@example.com").message_id(value.as_str()),
        ];
        for b in builders {
            prop_assert!(b.build().is_err());
        }
    }
}

#[test]
fn simple_text_message_is_seven_bit_and_single_part() {
    let bytes = MessageBuilder::new()
        .from("Alice <alice@example.com>")
        .to("bob@example.org")
        .subject("Hello")
        .date(DateTime::from_unix(0, 0))
        .text("Hi Bob\n")
        .build()
        .unwrap();
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        "Date: Thu, 1 Jan 1970 00:00:00 +0000\r\n\
         From: Alice <alice@example.com>\r\n\
         To: bob@example.org\r\n\
         Subject: Hello\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         Hi Bob\r\n"
    );
}

#[test]
fn structure_is_mixed_related_alternative() {
    let bytes = MessageBuilder::new()
        .from("a@example.com")
        .text("t")
        .html("<img src=\"cid:logo@example.com\">")
        .inline("image/png", "logo@example.com", &b"\x89PNG"[..])
        .attachment("application/pdf", "r.pdf", &b"%PDF"[..])
        .build()
        .unwrap();
    let msg = Message::parse(&bytes).unwrap();
    let types: Vec<String> = msg
        .parts()
        .iter()
        .map(|p| {
            format!(
                "{}/{}@{}",
                p.content_type().main_type(),
                p.content_type().subtype(),
                p.depth()
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            "multipart/mixed@0",
            "multipart/related@1",
            "multipart/alternative@2",
            "text/plain@3",
            "text/html@3",
            "image/png@2",
            "application/pdf@1"
        ]
    );
    assert!(msg.has_attachment());
    let img = msg.attachments().next().unwrap();
    assert_eq!(
        img.header("content-id").unwrap().raw_value(),
        b"<logo@example.com>"
    );
    assert_eq!(img.content_disposition().unwrap().kind(), "inline");
}

#[test]
fn transfer_encodings_follow_content() {
    let long_line = "word ".repeat(40);
    let cases: [(&str, Option<&[u8]>, bool, TransferEncoding); 7] = [
        ("plain ascii\n", None, false, TransferEncoding::SevenBit),
        (
            long_line.as_str(),
            None,
            false,
            TransferEncoding::QuotedPrintable,
        ),
        (
            "Grüße aus Köln\n",
            None,
            false,
            TransferEncoding::QuotedPrintable,
        ),
        ("Grüße aus Köln\n", None, true, TransferEncoding::EightBit),
        (
            "日本語のテキストです。日本語のテキストです。\n",
            None,
            false,
            TransferEncoding::Base64,
        ),
        (
            "",
            Some(&b"\x00\x01\x02binary"[..]),
            false,
            TransferEncoding::Base64,
        ),
        (
            "",
            Some(&b"ascii attachment\r\n"[..]),
            false,
            TransferEncoding::SevenBit,
        ),
    ];
    for (text, data, eight, want) in cases {
        let mut b = MessageBuilder::new()
            .from("a@example.com")
            .allow_8bit(eight);
        b = match data {
            Some(d) => b
                .text("x")
                .attachment("application/octet-stream", "f.bin", d),
            None => b.text(text),
        };
        let bytes = b.build().unwrap();
        let msg = Message::parse(&bytes).unwrap();
        let part = match data {
            Some(_) => msg.attachments().next().unwrap(),
            None => msg.text_body().next().unwrap(),
        };
        assert_eq!(part.content_transfer_encoding(), want, "{text:?}");
        if let Some(d) = data {
            assert_eq!(part.decoded_body().as_ref(), d);
        } else {
            assert_eq!(part.decoded_text().unwrap(), canonical(text));
        }
        check_lines(&bytes).unwrap();
    }
}

#[test]
fn boundary_never_occurs_in_content() {
    // Parts that carry the boundaries the builder would try first.
    let mut evil = Vec::new();
    for index in 0..3 {
        for n in 0..4u32 {
            evil.extend_from_slice(format!("--=_postwerk_{index:02}_{n:08x}\r\n").as_bytes());
        }
    }
    let bytes = MessageBuilder::new()
        .from("a@example.com")
        .text(String::from_utf8(evil.clone()).unwrap())
        .html(String::from_utf8(evil.clone()).unwrap())
        .inline("text/plain", "x@example.com", evil.as_slice())
        .attachment("text/plain", "=_postwerk_00_00000004", evil.as_slice())
        .build()
        .unwrap();
    let msg = Message::parse(&bytes).unwrap();
    assert_eq!(msg.parts().len(), 7);
    let boundary = msg
        .root_part()
        .content_type()
        .boundary()
        .unwrap()
        .to_owned();
    assert_eq!(boundary, "=_postwerk_00_00000005");
    assert_eq!(msg.attachments().count(), 2);
    for a in msg.attachments() {
        assert_eq!(a.decoded_body().as_ref(), evil.as_slice());
    }
    assert_eq!(
        msg.text_body()
            .next()
            .unwrap()
            .decoded_text()
            .unwrap()
            .as_bytes(),
        evil.as_slice()
    );
}

#[test]
fn long_values_fold_at_78_and_encoded_words_stay_within_75() {
    let subject = "Ünïcödé ".repeat(30) + &"x".repeat(150) + " " + &"plain ".repeat(30);
    let name = "日本語の名前".repeat(10);
    let filename = "ファイル名".repeat(20) + ".pdf";
    let bytes = MessageBuilder::new()
        .from((name.as_str(), "a@example.com"))
        .to((0..20)
            .map(|i| format!("user{i}@example.com"))
            .collect::<Vec<_>>()
            .join(", ")
            .as_str())
        .subject(subject.as_str())
        .header("X-Long", "a".repeat(2000))
        .attachment("application/pdf", filename.as_str(), &b"%PDF"[..])
        .text("x")
        .build()
        .unwrap();
    check_lines(&bytes).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    for word in text
        .split([' ', '\t', '\r', '\n'])
        .filter(|w| w.starts_with("=?"))
    {
        assert!(word.len() <= 75, "{word}");
    }
    let msg = Message::parse(&bytes).unwrap();
    assert_eq!(msg.subject().unwrap(), subject);
    assert_eq!(msg.header("x-long").unwrap().decoded(), "a".repeat(2000));
    assert_eq!(msg.to().unwrap().len(), 20);
    assert_eq!(
        msg.from().unwrap()[0].as_mailbox().unwrap().display_name(),
        Some(name.as_str())
    );
    assert_eq!(
        msg.attachments().next().unwrap().filename().unwrap(),
        filename
    );
    assert!(text.contains("filename*0*=utf-8''"));
    assert!(text.contains("filename*1*="));
}

#[test]
fn unfoldable_raw_value_is_refused_not_written() {
    let err = MessageBuilder::new()
        .from("a@example.com")
        .header_raw("X-Token", "t".repeat(1200))
        .build()
        .unwrap_err();
    assert_eq!(err, BuildError::LineTooLong("X-Token".into()));
    // Up to 998 octets it is written, on a line of its own length.
    let bytes = MessageBuilder::new()
        .from("a@example.com")
        .header_raw("X-Token", "t".repeat(900))
        .build()
        .unwrap();
    assert!(bytes.split(|&b| b == b'\n').all(|l| l.len() <= 999));
}

#[test]
fn identifiers_longer_than_a_line_are_refused() {
    let id = format!("{}@example.com", "x".repeat(1000));
    assert_eq!(
        MessageBuilder::new()
            .from("a@example.com")
            .message_id(id.as_str())
            .build(),
        Err(BuildError::LineTooLong("Message-ID".into()))
    );
    assert_eq!(
        MessageBuilder::new()
            .from("a@example.com")
            .html("x")
            .inline("image/png", id.as_str(), &b""[..])
            .build(),
        Err(BuildError::LineTooLong("Content-ID".into()))
    );
}

#[test]
fn header_injection_is_refused() {
    let attempts = [
        MessageBuilder::new()
            .from("a@example.com")
            .subject("hi\r\nBcc: victim@example.org"),
        MessageBuilder::new()
            .from("a@example.com")
            .subject("hi\nBcc: victim@example.org"),
        MessageBuilder::new()
            .from("a@example.com")
            .subject("hi\rBcc: victim@example.org"),
        MessageBuilder::new()
            .from("a@example.com")
            .header("X-Mailer", "x\r\nBcc: v@example.org"),
        MessageBuilder::new()
            .from("a@example.com")
            .header_raw("X-Mailer", "x\r\n\r\nbody"),
        MessageBuilder::new()
            .from("a@example.com")
            .header("X-Mailer\r\nBcc", "v@example.org"),
        MessageBuilder::new()
            .from("a@example.com")
            .header("Bcc", "v@example.org"),
        MessageBuilder::new()
            .from("a@example.com")
            .header("Content-Type", "text/html"),
        MessageBuilder::new().from(("Eve\r\nBcc: v@example.org", "e@example.com")),
        MessageBuilder::new()
            .from("a@example.com")
            .to("x@example.com\r\nBcc: v@example.org"),
        MessageBuilder::new()
            .from("a@example.com")
            .message_id("<a@b>\r\nBcc: v@example.org"),
        MessageBuilder::new()
            .from("a@example.com")
            .in_reply_to("a@b> <c@d>\r\nX: y"),
        MessageBuilder::new().from("a@example.com").attachment(
            "text/plain\r\nBcc: v@example.org",
            "f",
            &b""[..],
        ),
        MessageBuilder::new().from("a@example.com").attachment(
            "text/plain",
            "f\"\r\nBcc: v@example.org",
            &b""[..],
        ),
        MessageBuilder::new()
            .from("a@example.com")
            .inline("image/png", "a@b>\r\nX: y", &b""[..]),
        MessageBuilder::new().from(Mailbox::new(
            None,
            AddrSpec::new("a\u{7}b", "example.com").unwrap(),
        )),
    ];
    for (n, b) in attempts.into_iter().enumerate() {
        assert!(b.build().is_err(), "attempt {n} was written");
    }
    assert_eq!(
        MessageBuilder::new()
            .from("a@example.com")
            .subject("a\nb")
            .build(),
        Err(BuildError::LineBreakInValue("Subject".into()))
    );
    assert_eq!(
        MessageBuilder::new()
            .from("a@example.com")
            .header("Bcc", "x")
            .build(),
        Err(BuildError::ReservedField("Bcc".into()))
    );
    assert_eq!(
        MessageBuilder::new()
            .from("a@example.com")
            .header("X A", "x")
            .build(),
        Err(BuildError::InvalidFieldName("X A".into()))
    );
    assert_eq!(
        MessageBuilder::new().to("a@example.com").build(),
        Err(BuildError::MissingFrom)
    );
    assert_eq!(
        MessageBuilder::new().from("not an address").build(),
        Err(BuildError::InvalidAddress("not an address".into()))
    );
}

#[test]
fn smtputf8_writes_utf8_and_8bit_only_when_asked() {
    let b = MessageBuilder::new()
        .from(("Jöhn", "jöhn@exämple.com"))
        .subject("Grüße")
        .text("Grüße\n");
    assert!(matches!(b.build(), Err(BuildError::NonAsciiAddress(_))));
    let bytes = b.smtputf8(true).build().unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains("Subject: Grüße\r\n"), "{text}");
    assert!(
        text.contains("Content-Transfer-Encoding: 8bit\r\n"),
        "{text}"
    );
    let msg = Message::parse(&bytes).unwrap();
    assert_eq!(msg.subject().unwrap(), "Grüße");
    let from = msg.from().unwrap();
    assert_eq!(
        from[0].as_mailbox().unwrap().addr_spec().local_part(),
        "jöhn"
    );
    assert_eq!(msg.body_text().unwrap(), "Grüße\r\n");
}

#[test]
fn write_to_appends_and_ids_are_written() {
    let b = MessageBuilder::new()
        .from("a@example.com")
        .message_id("<x.1@example.com>")
        .in_reply_to("x.0@example.com")
        .references("x.-1@example.com")
        .references("<x.0@example.com>");
    let mut out = b"prefix".to_vec();
    b.write_to(&mut out).unwrap();
    assert!(out.starts_with(b"prefixFrom: a@example.com\r\n"));
    let msg = Message::parse(&out[6..]).unwrap();
    assert_eq!(
        msg.message_id().unwrap().unwrap().as_str(),
        "x.1@example.com"
    );
    assert_eq!(msg.in_reply_to().unwrap().len(), 1);
    let refs: Vec<String> = msg
        .references()
        .unwrap()
        .iter()
        .map(|r| r.as_str().to_owned())
        .collect();
    assert_eq!(refs, ["x.-1@example.com", "x.0@example.com"]);
    assert!(matches!(
        MessageBuilder::new()
            .from("a@example.com")
            .message_id("no-at-sign")
            .build(),
        Err(BuildError::InvalidMessageId(_))
    ));
}

// ---------------------------------------------------------------------------------------
// Python's email package reads what we write.

const PYTHON: &str = r#"
import sys, json, hashlib, email, email.errors, email.policy
data = sys.stdin.buffer.read()
out = []
while data:
    n, _, data = data.partition(b"\n")
    raw, data = data[:int(n)], data[int(n):]
    m = email.message_from_bytes(raw, policy=email.policy.default)
    def addrs(name):
        v = m[name]
        if v is None:
            return []
        return [[a.display_name, a.username, a.domain] for a in v.addresses]
    plain = m.get_body(("plain",))
    html = m.get_body(("html",))
    if html is not None and html.get_content_type() != "text/html":
        html = None
    parts = []
    for p in m.walk():
        if p.is_multipart() or p is plain or p is html:
            continue
        data_ = p.get_payload(decode=True)
        parts.append([p.get_filename() or "", p.get_content_type(), hashlib.sha256(data_).hexdigest()])
    defects = [str(d) for p in m.walk() for d in p.defects]
    for p in m.walk():
        for k, v in p.items():
            # Control characters that the caller put into a value travel inside encoded
            # words; Python reads them and notes them, which is no defect of the writing.
            defects += [k + ": " + str(d) for d in getattr(v, "defects", ())
                        if not isinstance(d, email.errors.NonPrintableDefect)]
    out.append({
        "subject": str(m["subject"]),
        "from": addrs("from"),
        "to": addrs("to"),
        "cc": addrs("cc"),
        "text": plain.get_content().replace("\r\n", "\n") if plain is not None else None,
        "html": html.get_content().replace("\r\n", "\n") if html is not None else None,
        "parts": parts,
        "defects": defects,
    })
print(json.dumps(out))
"#;

/// A JSON value, as much of JSON as Python's `json.dumps` writes here.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Str(String),
    List(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> &Json {
        match self {
            Json::Object(kv) => kv
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .unwrap_or(&Json::Null),
            _ => &Json::Null,
        }
    }
}

struct JsonReader<'s> {
    s: &'s [u8],
    pos: usize,
}

impl JsonReader<'_> {
    fn ws(&mut self) {
        while self.s.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: u8) {
        self.ws();
        assert_eq!(self.s.get(self.pos), Some(&c), "JSON at {}", self.pos);
        self.pos += 1;
    }

    fn hex4(&mut self) -> u32 {
        let h = std::str::from_utf8(&self.s[self.pos..self.pos + 4]).unwrap();
        self.pos += 4;
        u32::from_str_radix(h, 16).unwrap()
    }

    fn string(&mut self) -> String {
        self.expect(b'"');
        let mut out = String::new();
        loop {
            let c = self.s[self.pos];
            self.pos += 1;
            match c {
                b'"' => return out,
                b'\\' => {
                    let e = self.s[self.pos];
                    self.pos += 1;
                    match e {
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'u' => {
                            let mut u = self.hex4();
                            if (0xd800..0xdc00).contains(&u)
                                && self.s[self.pos..].starts_with(b"\\u")
                            {
                                self.pos += 2;
                                let low = self.hex4();
                                u = 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00);
                            }
                            out.push(char::from_u32(u).unwrap_or('\u{fffd}'));
                        }
                        other => out.push(char::from(other)),
                    }
                }
                _ => out.push(char::from(c)),
            }
        }
    }

    fn value(&mut self) -> Json {
        self.ws();
        match self.s[self.pos] {
            b'"' => Json::Str(self.string()),
            b'n' => {
                self.pos += 4;
                Json::Null
            }
            b'[' => {
                self.pos += 1;
                let mut v = Vec::new();
                self.ws();
                if self.s[self.pos] == b']' {
                    self.pos += 1;
                    return Json::List(v);
                }
                loop {
                    v.push(self.value());
                    self.ws();
                    self.pos += 1;
                    if self.s[self.pos - 1] == b']' {
                        return Json::List(v);
                    }
                }
            }
            b'{' => {
                self.pos += 1;
                let mut v = Vec::new();
                self.ws();
                if self.s[self.pos] == b'}' {
                    self.pos += 1;
                    return Json::Object(v);
                }
                loop {
                    let k = self.string();
                    self.expect(b':');
                    v.push((k, self.value()));
                    self.ws();
                    self.pos += 1;
                    if self.s[self.pos - 1] == b'}' {
                        return Json::Object(v);
                    }
                }
            }
            other => panic!("unexpected JSON byte {other} at {}", self.pos),
        }
    }
}

fn python_read(messages: &[Vec<u8>]) -> Vec<Json> {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(PYTHON)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("python3 is needed for this test (Debian package `python3`): {e}")
        });
    let mut input = Vec::new();
    for m in messages {
        input.extend_from_slice(format!("{}\n", m.len()).as_bytes());
        input.extend_from_slice(m);
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "python3 failed");
    let mut r = JsonReader {
        s: &out.stdout,
        pos: 0,
    };
    match r.value() {
        Json::List(v) => v,
        other => panic!("{other:?}"),
    }
}

fn s(v: impl Into<String>) -> Json {
    Json::Str(v.into())
}

/// Python 3.11's address parser keeps the white space between two adjacent encoded words
/// of a display name as a space (RFC 2047 section 6.2 says to drop it; its unstructured
/// fields do). A display name that needs more than one encoded word (over 45 octets of
/// UTF-8) is therefore compared without white space; other names with runs of white
/// space (Python's `isspace`) made one space, as Python reads them; local parts and domains exactly.
fn same_addresses(got: &Json, want: &Json) {
    let (Json::List(got), Json::List(want)) = (got, want) else {
        panic!("{got:?} / {want:?}");
    };
    assert_eq!(got.len(), want.len(), "{got:?} / {want:?}");
    for (g, w) in got.iter().zip(want) {
        let (Json::List(g), Json::List(w)) = (g, w) else {
            panic!("{g:?}");
        };
        assert_eq!(g[1..], w[1..]);
        let (Json::Str(gn), Json::Str(wn)) = (&g[0], &w[0]) else {
            panic!("{g:?}");
        };
        let several_words = !wn.is_ascii() && wn.len() > 45;
        if several_words {
            let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            assert_eq!(squeeze(gn), squeeze(wn));
        } else {
            // Python also reads runs of white space in a display name as one space.
            let collapse = |s: &str| {
                s.split(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
                    .filter(|w| !w.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            assert_eq!(collapse(gn), collapse(wn));
        }
    }
}

fn expected_addresses(list: &[Address<'_>]) -> Json {
    Json::List(
        list.iter()
            .flat_map(Address::mailboxes)
            .map(|m| {
                Json::List(vec![
                    s(m.display_name().unwrap_or_default()),
                    s(m.addr_spec().local_part()),
                    s(m.addr_spec().domain()),
                ])
            })
            .collect(),
    )
}

fn lf(text: &str) -> String {
    canonical(text).replace("\r\n", "\n")
}

/// SHA-256 digests (hex) of `items`, from Python's hashlib in one run, so that the test
/// needs no hashing crate.
fn sha256_hex(items: &[&[u8]]) -> Vec<String> {
    let script = "import sys,hashlib\n\
data = sys.stdin.buffer.read()\n\
while data:\n    n, _, data = data.partition(b'\\n')\n    \
print(hashlib.sha256(data[:int(n)]).hexdigest()); data = data[int(n):]\n";
    let mut input = Vec::new();
    for d in items {
        input.extend_from_slice(format!("{}\n", d.len()).as_bytes());
        input.extend_from_slice(d);
    }
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            let mut stdin = c.stdin.take().expect("piped");
            let writer = std::thread::spawn(move || stdin.write_all(&input));
            let out = c.wait_with_output();
            let _ = writer.join();
            out
        })
        .expect("python3 is needed for this test (Debian package `python3`)");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn python_case(i: &Input, got: &Json, digests: &mut impl Iterator<Item = String>) {
    assert_eq!(
        got.get("defects"),
        &Json::List(Vec::new()),
        "{:?}",
        i.subject
    );
    assert_eq!(
        got.get("subject"),
        &s(i.subject.as_str()),
        "{:?}",
        i.subject
    );
    for (field, list) in [
        ("from", vec![Address::Mailbox(i.from.clone())]),
        ("to", i.to.clone()),
        ("cc", i.cc.clone()),
    ] {
        same_addresses(got.get(field), &expected_addresses(&list));
    }
    let text = match (&i.text, &i.html) {
        (Some(t), _) => s(lf(t)),
        (None, None) if i.attachments.is_empty() => s(""),
        (None, None) => Json::Null,
        (None, Some(_)) => Json::Null,
    };
    assert_eq!(got.get("text"), &text, "{:?}", i.subject);
    let html = i.html.as_deref().map_or(Json::Null, |h| s(lf(h)));
    assert_eq!(got.get("html"), &html, "{:?}", i.subject);
    let parts: Vec<Json> = i
        .inline
        .iter()
        .chain(&i.attachments)
        .map(|p| {
            Json::List(vec![
                s(p.filename.as_str()),
                s(p.content_type.split(';').next().unwrap()),
                s(digests.next().unwrap()),
            ])
        })
        .collect();
    assert_eq!(got.get("parts"), &Json::List(parts), "{:?}", i.subject);
}

/// Python's email package (policy.default) reads subject, addresses, bodies, file names
/// and attachment bytes of what the builder writes as the builder was given them: a fixed
/// message with every feature and 96 generated ones.
#[test]
fn python_email_reads_the_same_values() {
    let fixed = Input {
        subject: "Re: Grüße aus Köln — ein sehr langer Betreff, der über mehrere Zeilen gefaltet werden muss 日本語".into(),
        from: Mailbox::new(
            Some("Jöhn \"JD\" Döe".into()),
            AddrSpec::new("john.doe", "example.com").unwrap(),
        ),
        to: vec![
            Address::Mailbox(Mailbox::new(Some("Mary Smith".into()), AddrSpec::new("mary", "example.net").unwrap())),
            Address::Group(Group::new(
                "Team, Köln",
                vec![
                    Mailbox::new(None, AddrSpec::new("a", "example.org").unwrap()),
                    Mailbox::new(Some("Bé".into()), AddrSpec::new("b", "example.org").unwrap()),
                ],
            )),
        ],
        cc: vec![],
        text: Some("Hello Mary,\n\nGrüße!\n".repeat(5) + &"long line ".repeat(20)),
        html: Some("<p>Hello <b>Mary</b></p><img src=\"cid:logo@example.com\">".into()),
        inline: vec![Part {
            content_type: "image/png",
            filename: "logo.png".into(),
            content_id: "logo@example.com".into(),
            data: b"\x89PNG\r\n\x1a\n\0\0\0".to_vec(),
        }],
        attachments: vec![
            Part {
                content_type: "application/pdf",
                filename: "Bericht über das Jahr 2026 — vollständige Fassung mit Anhängen und Tabellen.pdf".into(),
                content_id: String::new(),
                data: (0..=255u8).cycle().take(5000).collect(),
            },
            Part {
                content_type: "text/plain",
                filename: "notes \"v2\".txt".into(),
                content_id: String::new(),
                data: b"line 1\r\nline 2\r\n".to_vec(),
            },
        ],
        eight_bit: false,
    };
    let mut inputs = vec![fixed];
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = input();
    for _ in 0..96 {
        let mut i = strategy.new_tree(&mut runner).unwrap().current();
        // 8bit bodies too: Python reads them as the charset says.
        // Python's `get_filename()` strips white space at both ends of a file name.
        for p in i.inline.iter_mut().chain(i.attachments.iter_mut()) {
            let trimmed = p
                .filename
                .trim_matches(|c: char| c.is_whitespace() || c.is_control());
            p.filename = if trimmed.is_empty() {
                "f".into()
            } else {
                trimmed.into()
            };
        }
        inputs.push(i);
    }
    let messages: Vec<Vec<u8>> = inputs.iter().map(|i| builder(i).build().unwrap()).collect();
    let got = python_read(&messages);
    assert_eq!(got.len(), inputs.len());
    let datas: Vec<&[u8]> = inputs
        .iter()
        .flat_map(|i| i.inline.iter().chain(&i.attachments))
        .map(|p| p.data.as_slice())
        .collect();
    let mut digests = sha256_hex(&datas).into_iter();
    for (i, g) in inputs.iter().zip(&got) {
        python_case(i, g, &mut digests);
    }
}

// ---------------------------------------------------------------------------------------
// Attached messages (RFC 2046 section 5.2.1: 7bit, 8bit or binary only)

/// The attached message part of `bytes`.
fn attached(bytes: &[u8]) -> (TransferEncoding, Vec<u8>, Option<String>) {
    let msg = Message::parse(bytes).unwrap();
    let part = msg
        .attachments()
        .find(|p| p.content_type().is("message", "rfc822"))
        .expect("the attached message is an attachment");
    let inner = part.message().map(|m| m.subject().unwrap().into_owned());
    (
        part.content_transfer_encoding(),
        part.raw_body().to_vec(),
        inner,
    )
}

#[test]
fn attached_messages_are_never_base64_or_quoted_printable() {
    let long_line = "x".repeat(300);
    let inner = format!(
        "From: a@example.com\nSubject: inner\nX-Long: {long_line}\n\nbody line\n{long_line}\n"
    );
    let build = |data: &[u8], eight: bool| {
        MessageBuilder::new()
            .from("me@example.com")
            .text("see attached")
            .attachment("message/rfc822", "fwd.eml", data.to_vec())
            .allow_8bit(eight)
            .build()
    };
    // Long lines (past 78, within 998) stay 7bit; LF line ends become CRLF.
    let (cte, body, subject) = attached(&build(inner.as_bytes(), false).unwrap());
    assert_eq!(cte, TransferEncoding::SevenBit);
    assert_eq!(subject.as_deref(), Some("inner"));
    assert_eq!(body, inner.replace('\n', "\r\n").as_bytes());
    // 8-bit content: 8bit when allowed.
    let eight = "From: a@example.com\r\nSubject: inner\r\n\r\nGr\u{fc}\u{df}e\r\n";
    let (cte, body, subject) = attached(&build(eight.as_bytes(), true).unwrap());
    assert_eq!(cte, TransferEncoding::EightBit);
    assert_eq!(subject.as_deref(), Some("inner"));
    assert_eq!(body, eight.as_bytes());
    // Otherwise the builder refuses rather than write an encoding RFC 2046 forbids.
    for (data, eight) in [
        (eight.as_bytes().to_vec(), false),
        (b"Subject: x\r\n\r\na\0b\r\n".to_vec(), true),
        (
            format!("Subject: x\r\n\r\n{}\r\n", "y".repeat(999)).into_bytes(),
            true,
        ),
    ] {
        assert_eq!(
            build(&data, eight),
            Err(BuildError::UnencodableMessage("message/rfc822".into()))
        );
    }
    // message/partial is 7bit only; message/global may be encoded (RFC 6532 section 3.5).
    let partial = MessageBuilder::new()
        .from("me@example.com")
        .attachment(
            "message/partial; id=\"x@y\"; number=1",
            "p",
            eight.as_bytes(),
        )
        .allow_8bit(true)
        .build();
    assert!(matches!(partial, Err(BuildError::UnencodableMessage(_))));
    let global = MessageBuilder::new()
        .from("me@example.com")
        .attachment("message/global", "g.eml", eight.as_bytes())
        .build()
        .unwrap();
    let msg = Message::parse(&global).unwrap();
    let part = msg.attachments().next().unwrap();
    assert_ne!(part.content_transfer_encoding(), TransferEncoding::SevenBit);
    let decoded = part.decoded_body();
    assert_eq!(decoded.as_ref(), eight.as_bytes());
}

#[test]
fn a_boundary_never_occurs_in_an_attached_message() {
    // The attached message quotes the boundaries the builder would pick first.
    let mut inner = String::from("Subject: tricky\r\n\r\n");
    for i in 0..4 {
        inner.push_str(&format!("--=_postwerk_{i:02}_00000000\r\n"));
    }
    let bytes = MessageBuilder::new()
        .from("me@example.com")
        .text("hi")
        .attachment("message/rfc822", "t.eml", inner.clone().into_bytes())
        .build()
        .unwrap();
    let (cte, body, subject) = attached(&bytes);
    assert_eq!(cte, TransferEncoding::SevenBit);
    assert_eq!(body, inner.as_bytes());
    assert_eq!(subject.as_deref(), Some("tricky"));
}

/// Python's `email` package reads an attached message the builder wrote: `7bit` or `8bit`,
/// never encoded, with the inner message's fields and text.
#[test]
fn python_email_reads_attached_messages() {
    let script = "import sys, email, email.policy\n\
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)\n\
for p in m.walk():\n    \
if p.get_content_type() == 'message/rfc822':\n        \
inner = p.get_payload()[0]\n        \
out = [p.get('Content-Transfer-Encoding', '7bit'), inner['subject'], inner.get_content().strip()]\n        \
sys.stdout.buffer.write('\\n'.join(out).encode('utf-8'))\n";
    let long = "z".repeat(200);
    for (eight, text, cte) in [
        (false, long.as_str(), "7bit"),
        (true, "Gr\u{fc}\u{df}e", "8bit"),
    ] {
        let inner = format!(
            "From: a@example.com\nSubject: forwarded\nContent-Type: text/plain; charset=utf-8\n\n{text}\n"
        );
        let bytes = MessageBuilder::new()
            .from("me@example.com")
            .text("see attached")
            .attachment("message/rfc822", "fwd.eml", inner.into_bytes())
            .allow_8bit(eight)
            .build()
            .unwrap();
        let out = Command::new("python3")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                let mut stdin = c.stdin.take().expect("piped");
                let input = bytes.clone();
                let writer = std::thread::spawn(move || stdin.write_all(&input));
                let out = c.wait_with_output();
                let _ = writer.join();
                out
            })
            .expect("python3 is needed for this test (Debian package `python3`)");
        assert!(out.status.success());
        let got = String::from_utf8(out.stdout).unwrap();
        assert_eq!(got, format!("{cte}\nforwarded\n{text}"));
    }
}
