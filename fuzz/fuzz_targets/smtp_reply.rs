#![no_main]
//! The reply parser on arbitrary input: no panic; a parsed reply writes and re-parses
//! to the same value.
use libfuzzer_sys::fuzz_target;
use postwerk_smtp::codec::reply::{ReplyLimits, parse_reply};

fuzz_target!(|data: &[u8]| {
    let limits = ReplyLimits {
        max_line_len: 512,
        max_lines: 20,
    };
    if let Ok(Some((reply, used))) = parse_reply(data, &limits) {
        assert!(used <= data.len());
        let bytes = reply.to_bytes();
        let big = ReplyLimits {
            max_line_len: 4096,
            max_lines: 20,
        };
        let (again, n) = parse_reply(&bytes, &big).unwrap().unwrap();
        assert_eq!(n, bytes.len());
        assert_eq!(again, reply);
    }
});
