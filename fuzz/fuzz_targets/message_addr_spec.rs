#![no_main]
//! `parse_addr_spec` on arbitrary bytes; whatever parses must display as text that parses
//! back to an equal address, and be accepted by `AddrSpec::new` from its parts.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(addr) = postwerk_message::parse_addr_spec(data) else {
        return;
    };
    let text = addr.to_string();
    let back = postwerk_message::parse_addr_spec(text.as_bytes())
        .unwrap_or_else(|e| panic!("display {text:?} of {addr:?} does not parse: {e}"));
    assert_eq!(back, addr, "round trip through {text:?}");
    assert_eq!(back.to_string(), text);
    let rebuilt = postwerk_message::AddrSpec::new(addr.local_part(), addr.domain())
        .unwrap_or_else(|e| panic!("AddrSpec::new refuses the parts of {addr:?}: {e}"));
    assert_eq!(rebuilt, addr);
});
