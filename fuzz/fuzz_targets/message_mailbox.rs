#![no_main]
//! `parse_mailbox` on arbitrary bytes; whatever parses must display as text that parses
//! back to an equal mailbox.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mailbox) = postwerk_message::parse_mailbox(data) else {
        return;
    };
    let text = mailbox.to_string();
    let back = postwerk_message::parse_mailbox(text.as_bytes())
        .unwrap_or_else(|e| panic!("display {text:?} of {mailbox:?} does not parse: {e}"));
    assert_eq!(back, mailbox, "round trip through {text:?}");
    assert_eq!(back.to_string(), text);
});
