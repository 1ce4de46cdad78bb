#![no_main]
//! `parse_address_list` on arbitrary bytes; whatever parses must display as text that
//! parses back to an equal list, and display the same again.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(list) = postwerk_message::parse_address_list(data) else {
        return;
    };
    let text = list
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let back = postwerk_message::parse_address_list(text.as_bytes())
        .unwrap_or_else(|e| panic!("display {text:?} of {list:?} does not parse: {e}"));
    assert_eq!(back, list, "round trip through {text:?}");
    let again = back
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    assert_eq!(again, text);
});
