//! The `serde` feature: parsed values serialize to JSON and deserialize (owned) to equal
//! values; the JSON has the documented form; deserializing checks what the types promise.
#![cfg(feature = "serde")]

use postwerk_message::{
    AddrSpec, Address, ContentDisposition, ContentType, DateTime, Group, Mailbox, Message,
    MessageId, Param, ParseError, ParseErrorKind, TransferEncoding, parse_address_list,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

/// Serializes `v`, reads it back as an owned value and checks it is equal.
fn round_trip<T>(v: &T) -> serde_json::Value
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let text = serde_json::to_string(v).unwrap();
    let back: T = serde_json::from_str(&text).unwrap();
    assert_eq!(&back, v, "{text}");
    serde_json::to_value(v).unwrap()
}

fn corpus() -> Vec<Vec<u8>> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut out = Vec::new();
    for dir in ["tests/data/realworld", "../../benches/corpus"] {
        let Ok(entries) = std::fs::read_dir(format!("{root}/{dir}")) else {
            continue;
        };
        for e in entries.flatten() {
            if e.path().extension().is_some_and(|x| x == "eml") {
                out.push(std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

#[test]
fn every_value_of_the_corpus_round_trips() {
    let corpus = corpus();
    assert!(corpus.len() >= 6);
    let mut counted = [0usize; 6];
    for bytes in &corpus {
        let msg = Message::parse(bytes).unwrap();
        for list in [msg.from(), msg.to(), msg.cc(), msg.reply_to(), msg.sender()] {
            for a in list.unwrap() {
                round_trip::<Address<'static>>(&a.into_owned());
                counted[0] += 1;
            }
        }
        if let Some(Ok(d)) = msg.date() {
            round_trip(&d);
            counted[1] += 1;
        }
        let ids = msg.message_id().into_iter().flatten();
        for id in ids.chain(msg.references().unwrap_or_default()) {
            round_trip::<MessageId<'static>>(&id.into_owned());
            counted[2] += 1;
        }
        for p in msg.parts() {
            round_trip::<ContentType<'static>>(&p.content_type().clone().into_owned());
            round_trip(&p.content_transfer_encoding());
            counted[3] += 1;
            if let Some(cd) = p.content_disposition() {
                round_trip::<ContentDisposition<'static>>(&cd.into_owned());
                counted[4] += 1;
            }
        }
        for r in msg.received() {
            let v = serde_json::to_value(&r).unwrap();
            assert_eq!(v["by"].as_str(), r.by());
            counted[5] += 1;
        }
        let repairs = serde_json::to_value(msg.repairs()).unwrap();
        assert_eq!(repairs.as_array().unwrap().len(), msg.repairs().len());
    }
    assert!(counted.iter().all(|&n| n > 0), "{counted:?}");
}

#[test]
fn the_json_has_the_documented_form() {
    let list = parse_address_list(
        b"\"John Doe\" <john@example.com>, team: a@example.org;, undisclosed-recipients:;",
    )
    .unwrap();
    let list: Vec<Address<'static>> = list.into_iter().map(Address::into_owned).collect();
    assert_eq!(
        round_trip(&list),
        json!([
            {"mailbox": {"display_name": "John Doe",
                         "addr_spec": {"local_part": "john", "domain": "example.com"}}},
            {"group": {"display_name": "team", "mailboxes": [
                {"display_name": null, "addr_spec": {"local_part": "a", "domain": "example.org"}}
            ]}},
            {"group": {"display_name": "undisclosed-recipients", "mailboxes": []}}
        ])
    );
    let d = DateTime::parse(b"Tue, 7 Apr 2026 10:00:00 +0200").unwrap();
    assert_eq!(
        round_trip(&d),
        json!({"year": 2026, "month": 4, "day": 7, "hour": 10, "minute": 0, "second": 0,
               "offset_minutes": 120, "weekday": "Tue"})
    );
    let d = DateTime::parse(b"7 Apr 2026 10:00 -0000").unwrap();
    assert_eq!(round_trip(&d)["weekday"], json!(null));
    let id = MessageId::parse(b"<1234@local.example>")
        .unwrap()
        .into_owned();
    assert_eq!(round_trip(&id), json!("1234@local.example"));
    let ct = ContentType::parse(b"Text/Plain; charset=\"UTF-8\"; format=flowed")
        .unwrap()
        .into_owned();
    assert_eq!(
        round_trip(&ct),
        json!({"type": "text", "subtype": "plain", "params": [
            {"name": "charset", "value": "UTF-8"}, {"name": "format", "value": "flowed"}]})
    );
    let cd = ContentDisposition::parse(b"attachment; filename*=UTF-8''%E2%82%AC.txt")
        .unwrap()
        .into_owned();
    assert_eq!(
        round_trip(&cd),
        json!({"kind": "attachment", "params": [{"name": "filename", "value": "€.txt"}]})
    );
    assert_eq!(
        round_trip(&TransferEncoding::QuotedPrintable),
        json!("quoted-printable")
    );
    let e = ParseError::new(ParseErrorKind::MissingAt, 4);
    assert_eq!(round_trip(&e), json!({"kind": "MissingAt", "offset": 4}));
}

#[test]
fn lenient_values_round_trip_too() {
    let raw = b"From: Moderator-Address <moderator>\r\nMessage-ID: <1234>\r\n\
                References: 1234@example.com\r\nDate: Tue Apr  7 10:00:00 2026\r\n\
                To: a@b c@d\r\n\r\n";
    let msg = Message::parse(raw).unwrap();
    let from = msg.from().unwrap().remove(0).into_owned();
    let v = round_trip::<Address<'static>>(&from);
    assert_eq!(v["mailbox"]["addr_spec"]["domain"], json!(""));
    let id = msg.message_id().unwrap().unwrap().into_owned();
    assert_eq!(round_trip::<MessageId<'static>>(&id), json!("1234"));
    let back: MessageId<'static> = serde_json::from_value(json!("1234")).unwrap();
    assert_eq!(back.right(), "");
    round_trip(&msg.date().unwrap().unwrap());
    let repairs = serde_json::to_value(msg.repairs()).unwrap();
    assert_eq!(
        repairs,
        json!([
            {"kind": "MissingDomain", "field": "From", "offset": 25},
            {"kind": "LenientMessageId", "field": "Message-ID", "offset": 49},
            {"kind": "LenientMessageId", "field": "References", "offset": 69},
            {"kind": "LenientDate", "field": "Date", "offset": 93},
            {"kind": "MissingComma", "field": "To", "offset": 127}
        ])
    );
    assert!(
        repairs
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["kind"].is_string())
    );
}

#[test]
fn deserializing_checks_the_values() {
    let bad_addr = [
        json!({"local_part": "a\r\nb", "domain": "example.com"}),
        json!({"local_part": "a\nb", "domain": ""}),
        json!({"local_part": "a", "domain": "exa mple.com"}),
        json!({"local_part": "a", "domain": "[not a literal"}),
    ];
    for v in bad_addr {
        assert!(
            serde_json::from_value::<AddrSpec<'static>>(v.clone()).is_err(),
            "{v}"
        );
    }
    for v in [json!("a b@c"), json!("<a@b>"), json!(""), json!("a\u{0}@b")] {
        assert!(
            serde_json::from_value::<MessageId<'static>>(v.clone()).is_err(),
            "{v}"
        );
    }
    let bad_date = json!({"year": 2026, "month": 2, "day": 30, "hour": 0, "minute": 0,
                          "second": 0, "offset_minutes": 0, "weekday": null});
    assert!(serde_json::from_value::<DateTime>(bad_date).is_err());
    let bad_ct = json!({"type": "text plain", "subtype": "x", "params": []});
    assert!(serde_json::from_value::<ContentType<'static>>(bad_ct).is_err());
    let bad_param = json!({"name": "a=b", "value": "x"});
    assert!(serde_json::from_value::<Param<'static>>(bad_param).is_err());
    // Tokens are made lower case, as the parser gives them.
    let ct: ContentType<'static> =
        serde_json::from_value(json!({"type": "Text", "subtype": "HTML", "params": [
            {"name": "Charset", "value": "utf-8"}]}))
        .unwrap();
    assert!(ct.is("text", "html"));
    assert_eq!(ct.charset(), Some("utf-8"));
    // Owned values come out whatever the lifetime asked for.
    let m: Mailbox<'_> = serde_json::from_str(
        r#"{"display_name": "Ann", "addr_spec": {"local_part": "ann", "domain": "example.com"}}"#,
    )
    .unwrap();
    assert_eq!(m.to_string(), "Ann <ann@example.com>");
    let g: Group<'_> =
        serde_json::from_str(r#"{"display_name": "none", "mailboxes": []}"#).unwrap();
    assert_eq!(g.to_string(), "none:;");
}
