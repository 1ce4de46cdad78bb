#![no_main]
//! `Message::parse` on arbitrary bytes, then every accessor (the lenient ones and what they
//! repaired), the RFC 8621 body lists, attached messages, every part decoded, and an
//! owned copy (`into_owned`) that reads the same.

use libfuzzer_sys::fuzz_target;
use postwerk_message::{Address, Limits, Mailbox, Message};

/// The same mailbox, but for a display name the accessor took from a comment where the
/// grammar function gives none.
fn same_but_comment_name(read: &Mailbox<'_>, strict: &Mailbox<'_>) {
    assert_eq!(read.addr_spec(), strict.addr_spec());
    assert_eq!(read.route(), strict.route());
    if strict.display_name().is_some() {
        assert_eq!(read.display_name(), strict.display_name());
    }
}

fuzz_target!(|data: &[u8]| {
    let mut limits = Limits::default();
    limits.max_parts = 2_000;
    let Ok(msg) = Message::parse_with(data, &limits) else {
        return;
    };
    for h in msg.headers() {
        let _ = (h.name(), h.raw_value(), h.unfolded(), h.decoded());
    }
    let _ = msg.header("subject");
    let _ = msg.header_all("received").count();
    let _ = msg.body();
    let _ = (
        msg.from(),
        msg.sender(),
        msg.reply_to(),
        msg.to(),
        msg.cc(),
        msg.bcc(),
    );
    let _ = msg.subject();
    if let Some(Ok(d)) = msg.date() {
        let s = d.to_string();
        let again = postwerk_message::DateTime::parse(s.as_bytes()).expect("display parses");
        assert_eq!(again.to_unix(), d.to_unix());
    }
    if let Some(Ok(id)) = msg.message_id() {
        // A strictly valid identifier is read as the grammar reads it and round-trips.
        let raw = msg.header("message-id").expect("present").raw_value();
        if let Ok(strict) = postwerk_message::MessageId::parse(raw) {
            assert_eq!(strict, id);
            let s = id.to_string();
            assert_eq!(
                postwerk_message::MessageId::parse(s.as_bytes()).expect("display parses"),
                id
            );
        }
    }
    // Strictly valid address fields are read exactly as the grammar reads them, except
    // that the accessor takes the comment after a bare addr-spec (`a@b (Name)`) as its
    // display name, where the grammar function gives none.
    if let Some(h) = msg.header("to")
        && let Ok(strict) = postwerk_message::parse_address_list(h.raw_value())
    {
        let read = msg.to().expect("strict list is read");
        assert_eq!(read.len(), strict.len());
        for (r, s) in read.iter().zip(&strict) {
            // Mailbox or group alike, groups with the same name.
            let group_name = |a: &Address<'_>| a.as_group().map(|g| g.display_name().to_owned());
            assert_eq!(group_name(r), group_name(s), "{r:?} read as {s:?}");
            assert_eq!(r.mailboxes().len(), s.mailboxes().len());
            for (r, s) in r.mailboxes().iter().zip(s.mailboxes()) {
                same_but_comment_name(r, s);
            }
        }
    }
    let repairs = msg.repairs();
    for r in &repairs {
        assert!(r.offset() <= data.len());
    }
    assert!(repairs.windows(2).all(|w| w[0].offset() <= w[1].offset()));
    let _ = (msg.in_reply_to(), msg.references());
    for r in msg.received() {
        let _ = (
            r.from(),
            r.from_info(),
            r.by(),
            r.with(),
            r.id(),
            r.for_path(),
            r.date(),
        );
    }
    let _ = msg.try_parts();
    let parts = msg.parts();
    assert!(!parts.is_empty());
    for (i, p) in parts.iter().enumerate() {
        for &c in p.children() {
            assert!(c > i && c < parts.len());
            assert_eq!(parts[c].parent(), Some(i));
        }
        let _ = p.content_type().params();
        let _ = p.content_transfer_encoding();
        let _ = p.content_disposition();
        let _ = p.filename();
        let _ = (p.preamble(), p.epilogue());
        let _ = p.decoded_body();
        let _ = p.decoded_text();
    }
    let _ = msg.leaves().count();
    // RFC 8621 body lists: leaves of the tree, each listed once per list.
    for list in [
        msg.text_body().collect::<Vec<_>>(),
        msg.html_body().collect(),
        msg.attachments().collect(),
    ] {
        for p in &list {
            assert!(p.children().is_empty() || !p.is_multipart());
        }
    }
    let _ = msg.has_attachment();
    let _ = msg.body_text();
    // An owned copy reads the same.
    let owned = msg.clone().into_owned();
    assert_eq!(owned.headers(), msg.headers());
    assert_eq!((owned.subject(), owned.body()), (msg.subject(), msg.body()));
    assert_eq!(owned.from(), msg.from());
    assert_eq!(owned.date(), msg.date());
    assert_eq!(owned.references(), msg.references());
    assert_eq!(owned.parts().len(), msg.parts().len());
    for (a, b) in owned.parts().iter().zip(msg.parts()) {
        assert_eq!((a.raw(), a.content_type()), (b.raw(), b.content_type()));
        assert_eq!(a.decoded_body(), b.decoded_body());
    }
    for p in msg.attachments() {
        if let Some(inner) = p.message() {
            let _ = (inner.from(), inner.subject(), inner.date(), inner.repairs());
            let _ = inner.body_text();
            let _ = inner.attachments().count();
        }
    }
});
