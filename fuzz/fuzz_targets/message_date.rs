#![no_main]
//! The date parsers on arbitrary bytes: `DateTime::parse` (the strict RFC 5322 grammar),
//! the lenient reader behind `Message::date`, and the date of a `Received:` field.
//! A date either parser accepts is in range and prints as a strict date-time that parses
//! back to the same instant; where the strict parser accepts, the lenient one agrees.

use libfuzzer_sys::fuzz_target;
use postwerk_message::{DateTime, Message, Received};

fn check(d: &DateTime) {
    assert!(
        (1..=12).contains(&d.month) && (1..=31).contains(&d.day),
        "{d:?}"
    );
    assert!(d.hour <= 23 && d.minute <= 59 && d.second <= 60, "{d:?}");
    assert!(d.offset_minutes.unsigned_abs() <= 99 * 60 + 59, "{d:?}");
    let s = d.to_string();
    let again = DateTime::parse(s.as_bytes()).expect("display parses");
    assert_eq!(again.to_unix(), d.to_unix(), "{s}");
    assert_eq!(again.offset_minutes, d.offset_minutes, "{s}");
}

fuzz_target!(|data: &[u8]| {
    let strict = DateTime::parse(data);
    if let Ok(d) = &strict {
        check(d);
    }
    // The lenient reader, through the accessor: the value must be one field line.
    if data.iter().any(|&b| b == b'\r' || b == b'\n') {
        return;
    }
    let mut raw = b"Date: ".to_vec();
    raw.extend_from_slice(data);
    raw.extend_from_slice(b"\r\n\r\n");
    let msg = Message::parse(&raw).expect("one field parses");
    let lenient = msg.date();
    match (&strict, &lenient) {
        (Ok(s), Some(Ok(l))) => assert_eq!(s, l),
        (Ok(_), other) => panic!("strict date not read leniently: {other:?}"),
        (Err(_), Some(Ok(l))) => check(l),
        (Err(_), _) => {}
    }
    let _ = msg.repairs();
    let mut received = b"from a by b; ".to_vec();
    received.extend_from_slice(data);
    let r = Received::parse(&received);
    if let Some(Ok(d)) = r.date() {
        check(d);
    }
});
