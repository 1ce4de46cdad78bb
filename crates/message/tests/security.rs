//! SECURITY.md items that postwerk-message proves.

use postwerk_message::{Message, RepairKind, SINGULAR_FIELDS};

/// SECURITY.md 55: singular header fields (From, Sender, Reply-To, To, Cc, Subject, Date,
/// Message-ID) are read from their first occurrence; duplicates are reported, never
/// merged.
#[test]
fn security_55_singular_fields_come_from_the_first_occurrence_and_duplicates_are_reported() {
    let raw = b"From: Bank <support@bank.example>\r\n\
                Sender: sender@bank.example\r\n\
                Reply-To: help@bank.example\r\n\
                To: victim@example.org\r\n\
                Cc: cc@example.org\r\n\
                Bcc: bcc@example.org\r\n\
                Subject: first\r\n\
                Date: Wed, 8 Apr 2026 07:59:00 +0000\r\n\
                Message-ID: <first@bank.example>\r\n\
                In-Reply-To: <parent@bank.example>\r\n\
                References: <root@bank.example>\r\n\
                From: attacker@evil.example\r\n\
                Sender: attacker@evil.example\r\n\
                Reply-To: attacker@evil.example\r\n\
                To: attacker@evil.example\r\n\
                Cc: attacker@evil.example\r\n\
                Bcc: attacker@evil.example\r\n\
                Subject: second\r\n\
                Date: Thu, 1 Jan 1970 00:00:00 +0000\r\n\
                Message-ID: <second@evil.example>\r\n\
                In-Reply-To: <evil@evil.example>\r\n\
                References: <evil@evil.example>\r\n\
                \r\n";
    let m = Message::parse(raw).unwrap();
    let one = |list: Vec<postwerk_message::Address<'_>>| {
        assert_eq!(list.len(), 1, "never merged");
        list[0].mailboxes()[0].addr_spec().to_string()
    };
    assert_eq!(one(m.from().unwrap()), "support@bank.example");
    assert_eq!(one(m.sender().unwrap()), "sender@bank.example");
    assert_eq!(one(m.reply_to().unwrap()), "help@bank.example");
    assert_eq!(one(m.to().unwrap()), "victim@example.org");
    assert_eq!(one(m.cc().unwrap()), "cc@example.org");
    assert_eq!(one(m.bcc().unwrap()), "bcc@example.org");
    assert_eq!(m.subject().unwrap(), "first");
    assert_eq!(m.date().unwrap().unwrap().to_unix(), 1_775_635_140);
    assert_eq!(
        m.message_id().unwrap().unwrap().as_str(),
        "first@bank.example"
    );
    assert_eq!(m.in_reply_to().unwrap().len(), 1);
    assert_eq!(m.references().unwrap()[0].as_str(), "root@bank.example");
    // Every duplicate is reported, at its own offset, by name.
    let repairs = m.repairs();
    assert!(
        repairs
            .iter()
            .all(|r| r.kind() == RepairKind::DuplicateField)
    );
    let mut reported: Vec<String> = repairs
        .iter()
        .map(|r| r.field().unwrap().to_ascii_lowercase())
        .collect();
    reported.sort();
    let mut expected: Vec<String> = SINGULAR_FIELDS.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(reported, expected);
    let second_from = raw.windows(7).position(|w| w == b"From: a").unwrap();
    assert!(repairs.iter().any(|r| r.offset() == second_from));
    // A message with one of each reports nothing.
    let clean = Message::parse(b"From: a@example.com\r\nTo: b@example.com\r\n\r\n").unwrap();
    assert!(clean.repairs().is_empty());
}
