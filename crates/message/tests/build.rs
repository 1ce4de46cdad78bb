//! The builders write what `Message::parse` reads back.

use postwerk_message::build::{
    Action, DsnBuilder, DsnRecipient, Protocol, ReceivedBuilder, date_field, message_id_field,
    return_path_field,
};
use postwerk_message::{Address, DateTime, Message};

const ORIGINAL: &[u8] = b"Return-Path: <alice@example.com>\n\
From: Alice <alice@example.com>\n\
To: bob@example.org, carol@example.net\n\
Subject: Quarterly report\n\
Message-ID: <orig.1@example.com>\n\
\n\
Hello Bob,\n\
--=_dsn_q7.bounce\n\
this line looks like our boundary\n";

fn now() -> DateTime {
    DateTime::from_unix(1_795_899_070, 0)
}

fn dsn(full: bool) -> Vec<u8> {
    DsnBuilder::new("mx.example.com", "<alice@example.com>", now(), "q7.bounce")
        .arrival_date(DateTime::from_unix(1_795_800_000, 60))
        .envelope_id("ENV-42")
        .recipient(
            DsnRecipient::new("bob@example.org", Action::Failed, "5.1.1")
                .unwrap()
                .original_recipient("rfc822;bob@example.org")
                .remote_mta("mx.example.org")
                .diagnostic("550-5.1.1 The email account that you tried to reach does not exist.\r\n550 5.1.1 Please try double-checking the recipient's email address for typos or unnecessary spaces.")
                .last_attempt(now()),
        )
        .recipient(
            DsnRecipient::new("carol@example.net", Action::Delayed, "4.4.1")
                .unwrap()
                .will_retry_until(DateTime::from_unix(1_796_000_000, 0)),
        )
        .original(ORIGINAL)
        .return_full(full)
        .build()
        .unwrap()
}

/// The blocks of a message/delivery-status body, each parsed as a header section.
fn status_blocks(body: &[u8]) -> Vec<Vec<(String, String)>> {
    let text = std::str::from_utf8(body).unwrap();
    text.split("\r\n\r\n")
        .filter(|b| !b.trim().is_empty())
        .map(|block| {
            let m = Message::parse(block.as_bytes()).unwrap();
            m.headers()
                .iter()
                .map(|h| (h.name().to_string(), h.unfolded().into_owned()))
                .collect()
        })
        .collect()
}

fn field<'a>(block: &'a [(String, String)], name: &str) -> Option<&'a str> {
    block
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[test]
fn dsn_parses_back() {
    let bytes = dsn(false);
    // CRLF everywhere, no bare LF, lines within limits.
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            assert_eq!(bytes[i - 1], b'\r', "bare LF at {i}");
        }
    }
    for line in bytes.split(|&b| b == b'\n') {
        assert!(line.len() <= 80, "{}", String::from_utf8_lossy(line));
    }
    let m = Message::parse(&bytes).unwrap();
    let from = m.from().unwrap();
    let Address::Mailbox(mb) = &from[0] else {
        panic!("group")
    };
    assert_eq!(mb.addr_spec().to_string(), "MAILER-DAEMON@mx.example.com");
    let to = m.to().unwrap();
    let Address::Mailbox(mb) = &to[0] else {
        panic!("group")
    };
    assert_eq!(mb.addr_spec().to_string(), "alice@example.com");
    assert_eq!(m.subject().unwrap(), "Undelivered Mail Returned to Sender");
    assert_eq!(m.date().unwrap().unwrap(), now());
    assert_eq!(
        m.message_id().unwrap().unwrap().as_str(),
        "q7.bounce@mx.example.com"
    );
    assert_eq!(
        m.header("auto-submitted").unwrap().raw_value(),
        b"auto-replied"
    );
    assert_eq!(m.header("mime-version").unwrap().raw_value(), b"1.0");

    let root = m.root_part();
    assert!(root.content_type().is("multipart", "report"));
    assert_eq!(
        root.content_type().param("report-type"),
        Some("delivery-status")
    );
    let boundary = root.content_type().boundary().unwrap();
    assert_eq!(boundary, "=_dsn_q7.bounce");
    assert_eq!(root.children().len(), 3);

    let parts = m.parts();
    assert_eq!(parts.len(), 4);
    let human = parts[1].decoded_text().unwrap();
    assert!(human.contains("could not"), "{human}");
    assert!(human.contains("<bob@example.org>: failed"), "{human}");

    assert!(parts[2].content_type().is("message", "delivery-status"));
    let blocks = status_blocks(parts[2].raw_body());
    assert_eq!(blocks.len(), 3);
    assert_eq!(
        field(&blocks[0], "Reporting-MTA"),
        Some("dns; mx.example.com")
    );
    assert_eq!(field(&blocks[0], "Original-Envelope-Id"), Some("ENV-42"));
    assert_eq!(
        DateTime::parse(field(&blocks[0], "Arrival-Date").unwrap().as_bytes()).unwrap(),
        DateTime::from_unix(1_795_800_000, 60)
    );
    assert_eq!(
        field(&blocks[1], "Final-Recipient"),
        Some("rfc822; bob@example.org")
    );
    assert_eq!(
        field(&blocks[1], "Original-Recipient"),
        Some("rfc822; bob@example.org")
    );
    assert_eq!(field(&blocks[1], "Action"), Some("failed"));
    assert_eq!(field(&blocks[1], "Status"), Some("5.1.1"));
    assert_eq!(field(&blocks[1], "Remote-MTA"), Some("dns; mx.example.org"));
    let diag = field(&blocks[1], "Diagnostic-Code").unwrap();
    assert!(
        diag.starts_with("smtp; 550-5.1.1 The email account"),
        "{diag}"
    );
    assert!(diag.ends_with("unnecessary spaces."), "{diag}");
    assert!(field(&blocks[1], "Last-Attempt-Date").is_some());
    assert_eq!(field(&blocks[2], "Action"), Some("delayed"));
    assert_eq!(field(&blocks[2], "Status"), Some("4.4.1"));
    assert!(field(&blocks[2], "Will-Retry-Until").is_some());

    assert!(parts[3].content_type().is("text", "rfc822-headers"));
    let returned = Message::parse(parts[3].raw_body()).unwrap();
    assert_eq!(returned.headers().len(), 5);
    assert_eq!(returned.subject().unwrap(), "Quarterly report");
    assert!(returned.body().is_empty());
}

#[test]
fn dsn_full_return_encapsulates_the_message() {
    let bytes = dsn(true);
    let m = Message::parse(&bytes).unwrap();
    let parts = m.parts();
    let boundary = m.root_part().content_type().boundary().unwrap();
    assert!(boundary.starts_with("=_dsn_q7.bounce_"), "{boundary}");
    assert!(parts[3].content_type().is("message", "rfc822"));
    assert_eq!(parts[3].children(), [4]);
    let inner = &parts[4];
    assert_eq!(
        inner.header("subject").unwrap().decoded(),
        "Quarterly report"
    );
    assert!(
        inner
            .raw_body()
            .starts_with(b"Hello Bob,\r\n--=_dsn_q7.bounce\r\n")
    );
    assert_eq!(m.leaves().count(), 3);
}

#[test]
fn dsn_with_utf8_text_and_defaults() {
    let bytes = DsnBuilder::new("mx.example.com", "a@example.com", now(), "t1")
        .recipient(DsnRecipient::new("b@example.org", Action::Delivered, "2.0.0").unwrap())
        .text("Zugestellt: Grüße\nzweite Zeile")
        .from("Postmaster <postmaster@example.com>")
        .build()
        .unwrap();
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(m.subject().unwrap(), "Delivery Status Notification");
    assert_eq!(m.parts()[1].content_type().charset(), Some("utf-8"));
    assert_eq!(
        m.parts()[1].decoded_text().unwrap(),
        "Zugestellt: Grüße\r\nzweite Zeile\r\n"
    );
    let Address::Mailbox(mb) = &m.from().unwrap()[0] else {
        panic!("group")
    };
    assert_eq!(mb.display_name(), Some("Postmaster"));
    assert!(m.parts()[3].raw_body().is_empty());
}

#[test]
fn trace_fields_parse_back() {
    let received = ReceivedBuilder::new("mx.example.org", now())
        .from("[192.0.2.7]", None, Some("192.0.2.7".parse().unwrap()))
        .with(Protocol::Esmtps)
        .id("7F3A2B1C0D")
        .for_path("<bob@example.org>")
        .to_field();
    let mut raw = return_path_field("alice@example.com");
    raw.push_str(&received);
    raw.push_str(&date_field(&now()));
    raw.push_str(&message_id_field("abc.123", "mx.example.org").unwrap());
    raw.push_str("\r\nbody\r\n");
    let m = Message::parse(raw.as_bytes()).unwrap();
    assert_eq!(m.headers().len(), 4);
    assert_eq!(
        m.header("return-path").unwrap().raw_value(),
        b"<alice@example.com>"
    );
    let r = m.received().next().unwrap();
    assert_eq!(r.from(), Some("[192.0.2.7]"));
    assert_eq!(r.from_info(), Some("[192.0.2.7]"));
    assert_eq!(r.by(), Some("mx.example.org"));
    assert_eq!(r.with(), Some("ESMTPS"));
    assert_eq!(r.id(), Some("7F3A2B1C0D"));
    assert_eq!(r.for_path(), Some("<bob@example.org>"));
    assert_eq!(r.date().unwrap().as_ref().unwrap(), &now());
    assert_eq!(m.date().unwrap().unwrap(), now());
    assert_eq!(
        m.message_id().unwrap().unwrap().as_str(),
        "abc.123@mx.example.org"
    );
    for line in raw.split("\r\n") {
        assert!(line.len() <= 78, "{line}");
    }
}

#[test]
fn long_received_fields_fold() {
    let long_host = format!("{}.example.com", "a".repeat(60));
    let f = ReceivedBuilder::new(&long_host, now())
        .from(
            &long_host,
            Some(&long_host),
            Some("2001:db8::25".parse().unwrap()),
        )
        .with(Protocol::Utf8Smtpsa)
        .id("ID1")
        .to_field();
    let m = Message::parse(f.as_bytes()).unwrap();
    let r = m.received().next().unwrap();
    assert_eq!(r.from(), Some(long_host.as_str()));
    assert_eq!(r.by(), Some(long_host.as_str()));
    assert_eq!(r.with(), Some("UTF8SMTPSA"));
    assert!(f.matches("\r\n\t").count() >= 3, "{f}");
}
