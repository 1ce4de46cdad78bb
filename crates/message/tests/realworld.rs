//! Real-world forms (see `data/realworld/README.md`): every From / To / Cc / Subject /
//! Date / Message-ID value asserted exactly, and what was repaired to read it.

use postwerk_message::{Address, Message, RepairKind};

const LATIN1: &[u8] = include_bytes!("data/realworld/latin1-headers.eml");
const UTF7: &[u8] = include_bytes!("data/realworld/utf7-encoded-words.eml");
const GROUPS: &[u8] = include_bytes!("data/realworld/groups-lf.eml");
const DIGEST: &[u8] = include_bytes!("data/realworld/digest-no-domain.eml");
const DUPLICATES: &[u8] = include_bytes!("data/realworld/duplicate-from.eml");
const SLOPPY: &[u8] = include_bytes!("data/realworld/sloppy-header.eml");

/// `name|addr` for a mailbox, `group:[members]` for a group.
fn show(list: &[Address<'_>]) -> Vec<String> {
    fn mailbox(m: &postwerk_message::Mailbox<'_>) -> String {
        format!("{}|{}", m.display_name().unwrap_or("-"), m.addr_spec())
    }
    list.iter()
        .map(|a| match a {
            Address::Mailbox(m) => mailbox(m),
            Address::Group(g) => format!(
                "{}:[{}]",
                g.display_name(),
                g.mailboxes()
                    .iter()
                    .map(mailbox)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
        .collect()
}

fn kinds(msg: &Message<'_>) -> Vec<(RepairKind, Option<String>)> {
    msg.repairs()
        .iter()
        .map(|r| (r.kind(), r.field().map(str::to_string)))
        .collect()
}

fn unix(msg: &Message<'_>) -> i64 {
    msg.date().unwrap().unwrap().to_unix()
}

#[test]
fn latin1_display_names_and_8bit_inside_an_encoded_word() {
    let m = Message::parse(LATIN1).unwrap();
    assert_eq!(
        show(&m.from().unwrap()),
        ["Ulrike Schr\u{f6}der|schroeder@example.de"]
    );
    assert_eq!(
        show(&m.to().unwrap()),
        [
            "Heinz M\u{fc}ller|mueller@example.com",
            "Anna B\u{e4}r|anna@example.com"
        ]
    );
    // Raw UTF-8 stays UTF-8.
    assert_eq!(
        show(&m.cc().unwrap()),
        ["Jos\u{e9} Garc\u{ed}a|jose@example.es"]
    );
    assert_eq!(m.subject().unwrap(), "Die Hasen und die Fr\u{f6}sche");
    assert_eq!(unix(&m), 1_775_459_700);
    assert_eq!(
        m.message_id().unwrap().unwrap().as_str(),
        "20260406091500.4711@example.de"
    );
    assert_eq!(
        kinds(&m),
        [
            (RepairKind::EightBitText, Some("From".into())),
            (RepairKind::EightBitText, Some("To".into())),
        ]
    );
    assert_eq!(m.body_text().unwrap(), "Gr\u{fc}\u{df}e aus dem Teich.\n");
}

#[test]
fn utf7_encoded_words_and_body() {
    let m = Message::parse(UTF7).unwrap();
    assert_eq!(show(&m.from().unwrap()), ["Jos\u{e9}|jose@example.com"]);
    assert_eq!(show(&m.to().unwrap()), ["-|team@example.com"]);
    // Two adjacent UTF-7 words: the white space between them goes (RFC 2047 6.2).
    assert_eq!(m.subject().unwrap(), "Hi Mom -\u{263a}-! \u{a3}1");
    assert_eq!(unix(&m), 1_775_556_000);
    assert_eq!(m.body_text().unwrap(), "Price: \u{a3}1\n");
    assert!(m.repairs().is_empty());
}

#[test]
fn two_groups_without_a_comma_with_lf_line_ends() {
    let m = Message::parse(GROUPS).unwrap();
    assert_eq!(
        show(&m.from().unwrap()),
        ["Elaine Benes|elaine@pendant.example"]
    );
    assert_eq!(
        show(&m.to().unwrap()),
        [
            "Colleagues:[George Costanza|george@vandelay.example]",
            "Friends:[-|jerry@example.com, Newm\u{e0}n|newman@example.com]"
        ]
    );
    assert_eq!(m.subject().unwrap(), "Importing or exporting? \u{263a}");
    assert_eq!(unix(&m), 1_637_446_921);
    assert_eq!(kinds(&m), [(RepairKind::MissingComma, Some("To".into()))]);
}

#[test]
fn html_only_body_and_an_attached_message() {
    let m = Message::parse(GROUPS).unwrap();
    let text: Vec<&str> = m.text_body().map(|p| p.content_type().subtype()).collect();
    assert_eq!(text, ["html"]);
    assert_eq!(m.html_body().count(), 1);
    assert_eq!(
        m.body_text().unwrap(),
        "We could \u{201c}import\u{201d} the quarterly numbers,\nor export them. Why not both? \u{263a}"
    );
    let attachments: Vec<_> = m.attachments().collect();
    assert_eq!(attachments.len(), 1);
    assert!(m.has_attachment());
    let inner = attachments[0].message().unwrap();
    assert_eq!(inner.subject().unwrap(), "A coffee table book");
    assert_eq!(
        show(&inner.from().unwrap()),
        ["Cosmo Kramer|kramer@kramerica.example"]
    );
    assert_eq!(
        inner.body_text().unwrap(),
        "\u{1d525}\u{1d522}\u{1d529}\u{1d52d} \u{1d52a}\u{1d522}!"
    );
    let inner_attachments: Vec<_> = inner.attachments().collect();
    assert_eq!(inner_attachments.len(), 1);
    assert_eq!(inner_attachments[0].decoded_body().len(), 42);
}

#[test]
fn mailbox_without_domain_keeps_its_local_part() {
    let m = Message::parse(DIGEST).unwrap();
    let from = m.from().unwrap();
    assert_eq!(show(&from), ["Moderator-Address|moderator"]);
    let addr = from[0].as_mailbox().unwrap().addr_spec();
    assert_eq!((addr.local_part(), addr.domain()), ("moderator", ""));
    assert_eq!(from[0].to_string(), "Moderator-Address <moderator>");
    assert_eq!(show(&m.to().unwrap()), ["-|Recipient-List"]);
    assert_eq!(m.subject().unwrap(), "Internet Digest, volume 42");
    assert!(m.date().is_none());
    assert_eq!(
        kinds(&m),
        [
            (RepairKind::MissingDomain, Some("From".into())),
            (RepairKind::MissingDomain, Some("To".into())),
        ]
    );
    // The digest's parts are messages (RFC 2046 5.1.5), attachments by RFC 8621.
    let subjects: Vec<String> = m
        .attachments()
        .map(|p| p.message().unwrap().subject().unwrap().into_owned())
        .collect();
    assert_eq!(subjects, ["my opinion", "my different opinion"]);
    assert!(m.body_text().is_none());
}

#[test]
fn duplicates_are_never_merged() {
    let m = Message::parse(DUPLICATES).unwrap();
    assert_eq!(
        show(&m.from().unwrap()),
        ["Bank Support|support@bank.example"]
    );
    assert_eq!(show(&m.to().unwrap()), ["-|victim@example.org"]);
    assert_eq!(m.subject().unwrap(), "Your account");
    assert_eq!(unix(&m), 1_775_635_140);
    assert_eq!(
        m.message_id().unwrap().unwrap().as_str(),
        "first@bank.example"
    );
    let repairs = m.repairs();
    let dup: Vec<(&str, usize)> = repairs
        .iter()
        .filter(|r| r.kind() == RepairKind::DuplicateField)
        .map(|r| (r.field().unwrap(), r.offset()))
        .collect();
    assert_eq!(
        dup,
        [
            ("From", 126),
            ("To", 179),
            ("Subject", 226),
            ("Date", 290),
            ("Message-ID", 362)
        ]
    );
    assert_eq!(repairs.len(), 5);
}

#[test]
fn sloppy_header_block() {
    let m = Message::parse(SLOPPY).unwrap();
    let names: Vec<&str> = m.headers().iter().map(|h| h.name()).collect();
    assert_eq!(
        names,
        [
            "Return-Path",
            "From",
            "Subject",
            "To",
            "Cc",
            "Date",
            "Message-ID"
        ]
    );
    assert_eq!(show(&m.from().unwrap()), ["List Robot|robot@example.net"]);
    // `Sub ject:` is no field; `Subject :` is the obsolete form, folded after the colon.
    assert_eq!(m.subject().unwrap(), "Weekly digest");
    assert_eq!(m.header("subject").unwrap().unfolded(), "Weekly digest");
    assert_eq!(
        show(&m.to().unwrap()),
        [
            "-|a@example.net",
            "-|b@example.net",
            "Unclosed|c@example.net"
        ]
    );
    assert_eq!(show(&m.cc().unwrap()), ["Carol|carol@example.net"]);
    assert_eq!(unix(&m), 1_775_556_000);
    let id = m.message_id().unwrap().unwrap();
    assert_eq!(
        (id.left(), id.right()),
        ("20260407100000.123", "example.net")
    );
    assert_eq!(m.body(), b"Body.\n");
    assert_eq!(
        kinds(&m),
        [
            (RepairKind::SkippedLine, None),
            (RepairKind::SkippedLine, None),
            (RepairKind::MissingComma, Some("To".into())),
            (RepairKind::SemicolonSeparator, Some("To".into())),
            (RepairKind::UnclosedQuotedString, Some("To".into())),
            (RepairKind::UnclosedAngleAddr, Some("Cc".into())),
            (RepairKind::LenientDate, Some("Date".into())),
            (RepairKind::LenientMessageId, Some("Message-ID".into())),
        ]
    );
    // The strict grammar still refuses each of these values.
    for name in ["to", "cc"] {
        assert!(postwerk_message::parse_address_list(m.header(name).unwrap().raw_value()).is_err());
    }
    assert!(postwerk_message::DateTime::parse(m.header("date").unwrap().raw_value()).is_err());
    assert!(
        postwerk_message::MessageId::parse(m.header("message-id").unwrap().raw_value()).is_err()
    );
}
