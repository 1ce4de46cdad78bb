#![no_main]
//! `Message::parse` on arbitrary bytes, then every accessor and every part decoded.

use libfuzzer_sys::fuzz_target;
use postwerk_message::{Limits, Message};

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
        let s = id.to_string();
        assert_eq!(
            postwerk_message::MessageId::parse(s.as_bytes()).expect("display parses"),
            id
        );
    }
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
});
