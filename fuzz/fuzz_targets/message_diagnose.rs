#![no_main]
//! `diagnose` on arbitrary bytes: never panics, and an address it calls valid for SMTP
//! is one the parser accepts with the same text.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let d = postwerk_message::diagnose(data);
    assert_eq!(d.category(), d.reason().category());
    if d.category() == postwerk_message::Category::Valid {
        let addr = postwerk_message::parse_addr_spec(data)
            .unwrap_or_else(|e| panic!("diagnosed valid but does not parse: {e}"));
        assert_eq!(addr.to_string().as_bytes(), data);
    }
});
