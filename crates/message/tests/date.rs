//! Date-time parsing and formatting through the public API.

use postwerk_message::{DateTime, Message, ParseErrorKind, Weekday};
use proptest::prelude::*;

#[test]
fn obsolete_zones_map_to_offsets() {
    let cases = [
        ("UT", 0),
        ("GMT", 0),
        ("EST", -300),
        ("EDT", -240),
        ("CST", -360),
        ("CDT", -300),
        ("MST", -420),
        ("MDT", -360),
        ("PST", -480),
        ("PDT", -420),
        ("A", 0),
        ("z", 0),
        ("Y", 0),
        ("XYZT", 0),
    ];
    for (zone, offset) in cases {
        let d = DateTime::parse(format!("Sat, 28 Nov 2026 20:51:10 {zone}").as_bytes()).unwrap();
        assert_eq!(d.offset_minutes, offset, "{zone}");
    }
}

#[test]
fn two_and_three_digit_years() {
    for (y, want) in [
        ("00", 2000),
        ("49", 2049),
        ("50", 1950),
        ("99", 1999),
        ("100", 2000),
        ("126", 2026),
    ] {
        let d = DateTime::parse(format!("1 Jan {y} 00:00:00 +0000").as_bytes()).unwrap();
        assert_eq!(d.year, want, "{y}");
    }
}

#[test]
fn weekday_is_kept_and_display_computes_it() {
    let d = DateTime::parse(b"Mon, 28 Nov 2026 20:51:10 +0000").unwrap();
    assert_eq!(d.weekday, Some(Weekday::Mon));
    assert_eq!(d.computed_weekday(), Weekday::Sat);
    assert_eq!(d.to_string(), "Sat, 28 Nov 2026 20:51:10 +0000");
}

#[test]
fn leap_second_and_ranges() {
    assert_eq!(
        DateTime::parse(b"31 Dec 2016 23:59:60 +0000")
            .unwrap()
            .second,
        60
    );
    for bad in [
        "31 Apr 2020 00:00 +0000",
        "0 Jan 2020 00:00 +0000",
        "1 Jan 2020 00:61 +0000",
        "1 Jan 2020 00:00:61 +0000",
        "1 Jan 2020 00:00 +12345",
    ] {
        let e = DateTime::parse(bad.as_bytes()).unwrap_err();
        assert!(
            matches!(
                e.kind(),
                ParseErrorKind::InvalidDate | ParseErrorKind::TrailingInput
            ),
            "{bad}: {e}"
        );
    }
}

#[test]
fn message_date_accessor() {
    let m = Message::parse(b"Date: Tue, 1 Jul 2003 10:52:37 +0200 (CEST)\r\n\r\n").unwrap();
    let d = m.date().unwrap().unwrap();
    assert_eq!(d.to_unix(), 1_057_049_557);
    assert_eq!(d.to_string().parse::<DateTime>().unwrap(), d);
}

proptest! {
    #[test]
    fn display_parse_round_trip(secs in -2_208_988_800i64..253_402_300_799, off in -1439i16..1439) {
        let d = DateTime::from_unix(secs, off);
        prop_assume!(d.year >= 1900 && d.year <= 9999);
        let parsed = DateTime::parse(d.to_string().as_bytes()).unwrap();
        prop_assert_eq!(parsed, d);
        prop_assert_eq!(parsed.to_unix(), secs);
    }
}
