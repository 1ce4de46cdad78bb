//! Date and time (RFC 5322 section 3.3, with the obsolete forms of section 4.3).
//!
//! ```text
//! date-time   = [ day-of-week "," ] date time [CFWS]
//! date        = day month year
//! time        = time-of-day zone
//! time-of-day = hour ":" minute [ ":" second ]
//! zone        = (FWS ( "+" / "-" ) 4DIGIT) / obs-zone
//! obs-year    = [CFWS] 2*DIGIT [CFWS]
//! obs-zone    = "UT" / "GMT" / "EST" / "EDT" / "CST" / "CDT" / "MST" / "MDT" / "PST" / "PDT"
//!             / %d65-73 / %d75-90 / %d97-105 / %d107-122    ; military, treated as -0000
//! ```
//!
//! Accepted beyond the strict grammar: comments and folding anywhere between tokens, a
//! missing comma after the day name, full day and month names, one- or two-digit hours,
//! missing seconds, and alphabetic zones of unknown meaning, which RFC 5322 section 4.3
//! says to treat as `-0000` (an offset of 0). Two-digit years below 50 are 20xx, others
//! 19xx; three-digit years have 1900 added. The day of the week is kept as written and
//! not checked against the date.

use std::fmt;
use std::str::FromStr;

use crate::{ParseError, ParseErrorKind};

mod lenient;

pub(crate) use lenient::read_date;

/// A day of the week.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Weekday {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

const WEEKDAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl Weekday {
    /// The three-letter English name (`Mon` … `Sun`).
    pub fn as_str(self) -> &'static str {
        match self {
            Weekday::Mon => "Mon",
            Weekday::Tue => "Tue",
            Weekday::Wed => "Wed",
            Weekday::Thu => "Thu",
            Weekday::Fri => "Fri",
            Weekday::Sat => "Sat",
            Weekday::Sun => "Sun",
        }
    }
}

/// A date and time of day with a zone offset, as written in a `Date:` field.
///
/// Fields are public; [`DateTime::parse`] and [`DateTime::from_unix`] only produce valid
/// values. An offset of `-0000` (unknown zone) is represented as 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    /// Year, 1900–9999 when parsed (0–9999 from [`DateTime::from_unix`]).
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month, 1–31.
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–60 (60 is a leap second).
    pub second: u8,
    /// Offset from UTC in minutes (east positive): `+0130` is 90.
    pub offset_minutes: i16,
    /// The day of the week, when written or computed.
    pub weekday: Option<Weekday>,
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn weekday_from_days(days: i64) -> Weekday {
    // 1970-01-01 was a Thursday (index 3 from Monday).
    let idx = (days + 3).rem_euclid(7) as usize;
    WEEKDAYS.get(idx).copied().unwrap_or(Weekday::Mon)
}

impl DateTime {
    /// A validated date-time; `None` when a field is out of range. The weekday is computed.
    pub fn new(
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
        offset_minutes: i16,
    ) -> Option<DateTime> {
        let valid = year <= 9999
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(i64::from(year), month)
            && hour <= 23
            && minute <= 59
            && second <= 60
            && offset_minutes.unsigned_abs() <= 99 * 60 + 59;
        valid.then(|| {
            let mut dt = DateTime {
                year,
                month,
                day,
                hour,
                minute,
                second,
                offset_minutes,
                weekday: None,
            };
            dt.weekday = Some(dt.computed_weekday());
            dt
        })
    }

    /// Parses an RFC 5322 `date-time` (the value of a `Date:` field).
    ///
    /// ```
    /// use postwerk_message::DateTime;
    /// let d = DateTime::parse(b"Fri, 21 Nov 1997 09:55:06 -0600").unwrap();
    /// assert_eq!((d.year, d.month, d.day, d.offset_minutes), (1997, 11, 21, -360));
    /// assert_eq!(d.to_string(), "Fri, 21 Nov 1997 09:55:06 -0600");
    /// ```
    pub fn parse(input: &[u8]) -> Result<DateTime, ParseError> {
        parse_date(input)
    }

    /// The date-time at `secs` seconds since the Unix epoch, expressed in the zone
    /// `offset_minutes` east of UTC. Years are clamped to 0–9999 and the offset to
    /// ±99:59.
    pub fn from_unix(secs: i64, offset_minutes: i16) -> DateTime {
        const MIN: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
        const MAX: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
        let offset_minutes = offset_minutes.clamp(-(99 * 60 + 59), 99 * 60 + 59);
        let local = secs
            .saturating_add(i64::from(offset_minutes) * 60)
            .clamp(MIN, MAX);
        let days = local.div_euclid(86_400);
        let tod = local.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        DateTime {
            year: y.clamp(0, 9999) as u16,
            month: m,
            day: d,
            hour: (tod / 3600) as u8,
            minute: (tod / 60 % 60) as u8,
            second: (tod % 60) as u8,
            offset_minutes,
            weekday: Some(weekday_from_days(days)),
        }
    }

    /// Seconds since the Unix epoch (UTC) of this date-time.
    pub fn to_unix(&self) -> i64 {
        let days = days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        );
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - i64::from(self.offset_minutes) * 60
    }

    /// The day of the week this date falls on (ignoring [`DateTime::weekday`]).
    pub fn computed_weekday(&self) -> Weekday {
        weekday_from_days(days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        ))
    }
}

/// RFC 5322 form, e.g. `Sat, 1 Nov 1997 09:55:06 -0600`; the weekday is computed from
/// the date.
impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let month = MONTHS
            .get(usize::from(self.month.saturating_sub(1)))
            .copied()
            .unwrap_or("Jan");
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let off = self.offset_minutes.unsigned_abs();
        write!(
            f,
            "{}, {} {} {:04} {:02}:{:02}:{:02} {}{:02}{:02}",
            self.computed_weekday().as_str(),
            self.day,
            month,
            self.year,
            self.hour,
            self.minute,
            self.second,
            sign,
            off / 60,
            off % 60
        )
    }
}

impl FromStr for DateTime {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_date(s.as_bytes())
    }
}

/// A cursor over a date value that skips CFWS between tokens.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn err(&self, kind: ParseErrorKind) -> ParseError {
        ParseError::new(kind, self.pos)
    }

    /// Skips white space, line breaks and (nested) comments.
    fn skip_cfws(&mut self) -> Result<(), ParseError> {
        self.pos = crate::lexer::skip_cfws_at(self.b, self.pos)?;
        Ok(())
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        self.b.get(start..self.pos).unwrap_or_default()
    }

    fn number(&mut self, min: usize, max: usize) -> Result<u32, ParseError> {
        let start = self.pos;
        let digits = self.take_while(|c| c.is_ascii_digit());
        if digits.len() < min || digits.len() > max {
            return Err(ParseError::new(
                if digits.is_empty() && self.peek().is_none() {
                    ParseErrorKind::UnexpectedEnd
                } else {
                    ParseErrorKind::InvalidDate
                },
                start,
            ));
        }
        Ok(digits
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
    }

    fn expect(&mut self, c: u8) -> Result<(), ParseError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else if self.peek().is_none() {
            Err(self.err(ParseErrorKind::UnexpectedEnd))
        } else {
            Err(self.err(ParseErrorKind::InvalidDate))
        }
    }
}

fn lookup_name(word: &[u8], names: &[&str]) -> Option<usize> {
    let prefix = word.get(..3)?;
    names
        .iter()
        .position(|n| n.as_bytes().eq_ignore_ascii_case(prefix))
}

fn obs_zone(word: &[u8]) -> i16 {
    const ZONES: [(&str, i16); 8] = [
        ("EDT", -4 * 60),
        ("EST", -5 * 60),
        ("CDT", -5 * 60),
        ("CST", -6 * 60),
        ("MDT", -6 * 60),
        ("MST", -7 * 60),
        ("PDT", -7 * 60),
        ("PST", -8 * 60),
    ];
    // UT, GMT, military zones and unknown zones: -0000 (RFC 5322 4.3).
    ZONES
        .iter()
        .find(|z| z.0.as_bytes().eq_ignore_ascii_case(word))
        .map_or(0, |z| z.1)
}

/// Parses an RFC 5322 date-time; see the module docs for what is accepted.
pub(crate) fn parse_date(input: &[u8]) -> Result<DateTime, ParseError> {
    let mut c = Cursor { b: input, pos: 0 };
    c.skip_cfws()?;
    let mut weekday = None;
    if c.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
        let start = c.pos;
        let word = c.take_while(|b| b.is_ascii_alphabetic());
        let idx = lookup_name(word, &WEEKDAY_NAMES)
            .ok_or(ParseError::new(ParseErrorKind::InvalidDate, start))?;
        weekday = WEEKDAYS.get(idx).copied();
        c.skip_cfws()?;
        if c.peek() == Some(b',') {
            c.pos += 1;
            c.skip_cfws()?;
        }
    }
    let day_pos = c.pos;
    let day = c.number(1, 2)?;
    c.skip_cfws()?;
    let month_pos = c.pos;
    let word = c.take_while(|b| b.is_ascii_alphabetic());
    let month = lookup_name(word, &MONTHS)
        .ok_or(ParseError::new(ParseErrorKind::InvalidDate, month_pos))? as u8
        + 1;
    c.skip_cfws()?;
    let year_pos = c.pos;
    let digits_start = c.pos;
    let year_raw = c.number(2, 4)?;
    let year = match c.pos - digits_start {
        2 if year_raw < 50 => 2000 + year_raw,
        2 => 1900 + year_raw,
        3 => 1900 + year_raw,
        _ if year_raw < 1900 => return Err(ParseError::new(ParseErrorKind::InvalidDate, year_pos)),
        _ => year_raw,
    };
    c.skip_cfws()?;
    let hour_pos = c.pos;
    let hour = c.number(1, 2)?;
    c.skip_cfws()?;
    c.expect(b':')?;
    c.skip_cfws()?;
    let minute = c.number(2, 2)?;
    c.skip_cfws()?;
    let mut second = 0;
    if c.peek() == Some(b':') {
        c.pos += 1;
        c.skip_cfws()?;
        second = c.number(2, 2)?;
        c.skip_cfws()?;
    }
    let zone_pos = c.pos;
    let offset = match c.peek() {
        Some(sign @ (b'+' | b'-')) => {
            c.pos += 1;
            let n = c.number(4, 4)?;
            let (h, m) = (n / 100, n % 100);
            if m > 59 {
                return Err(ParseError::new(ParseErrorKind::InvalidDate, zone_pos));
            }
            let mins = (h * 60 + m) as i16;
            if sign == b'-' { -mins } else { mins }
        }
        Some(b) if b.is_ascii_alphabetic() => {
            let word = c.take_while(|b| b.is_ascii_alphabetic());
            obs_zone(word)
        }
        None => return Err(c.err(ParseErrorKind::UnexpectedEnd)),
        Some(_) => return Err(c.err(ParseErrorKind::InvalidDate)),
    };
    c.skip_cfws()?;
    // Tolerate a zone name written after a numeric zone without parentheses.
    if c.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
        c.take_while(|b| b.is_ascii_alphabetic());
        c.skip_cfws()?;
    }
    if c.peek().is_some() {
        return Err(c.err(ParseErrorKind::TrailingInput));
    }
    let bad = |pos| ParseError::new(ParseErrorKind::InvalidDate, pos);
    let year = u16::try_from(year).map_err(|_| bad(year_pos))?;
    if day == 0 || day > u32::from(days_in_month(i64::from(year), month)) {
        return Err(bad(day_pos));
    }
    if hour > 23 {
        return Err(bad(hour_pos));
    }
    if minute > 59 || second > 60 {
        return Err(bad(hour_pos));
    }
    Ok(DateTime {
        year,
        month,
        day: day as u8,
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
        offset_minutes: offset,
        weekday,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<DateTime, ParseError> {
        parse_date(s.as_bytes())
    }

    #[test]
    fn rfc_form() {
        let d = p("Fri, 21 Nov 1997 09:55:06 -0600").unwrap();
        assert_eq!(d.weekday, Some(Weekday::Fri));
        assert_eq!(
            (
                d.year,
                d.month,
                d.day,
                d.hour,
                d.minute,
                d.second,
                d.offset_minutes
            ),
            (1997, 11, 21, 9, 55, 6, -360)
        );
        assert_eq!(d.to_string(), "Fri, 21 Nov 1997 09:55:06 -0600");
    }

    #[test]
    fn obsolete_forms() {
        let d = p("21 Nov 97 09:55:06 GMT").unwrap();
        assert_eq!((d.year, d.offset_minutes, d.weekday), (1997, 0, None));
        let d = p("Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n               -0330 (Newfoundland Time)").unwrap();
        assert_eq!(
            (d.year, d.month, d.day, d.hour, d.minute, d.second),
            (1969, 2, 13, 23, 32, 0)
        );
        assert_eq!(d.offset_minutes, -210);
        let d = p("Mon, 1 Jan 07 1:02:03 EST").unwrap();
        assert_eq!((d.year, d.hour, d.offset_minutes), (2007, 1, -300));
        assert_eq!(p("1 Jan 103 00:00 PDT").unwrap().year, 2003);
        assert_eq!(p("1 Jan 2003 00:00 Z").unwrap().offset_minutes, 0);
        assert_eq!(p("1 Jan 2003 00:00 CEST").unwrap().offset_minutes, 0);
        assert_eq!(p("Sunday, 5 January 2003 00:00 +0100").unwrap().month, 1);
        assert_eq!(p("1 Jan 2003 00:00 +0100 CET").unwrap().offset_minutes, 60);
        assert_eq!(
            p("Fri 21 Nov 1997 (x (nested)) 09:55:06 -0600")
                .unwrap()
                .day,
            21
        );
    }

    #[test]
    fn invalid() {
        let e = p("32 Jan 2003 00:00 +0000").unwrap_err();
        assert_eq!((e.kind(), e.offset()), (ParseErrorKind::InvalidDate, 0));
        assert_eq!(
            p("29 Feb 2003 00:00 +0000").unwrap_err().kind(),
            ParseErrorKind::InvalidDate
        );
        assert!(p("29 Feb 2004 00:00 +0000").is_ok());
        assert_eq!(
            p("1 Foo 2003 00:00 +0000").unwrap_err().kind(),
            ParseErrorKind::InvalidDate
        );
        assert_eq!(
            p("1 Jan 2003 24:00 +0000").unwrap_err().kind(),
            ParseErrorKind::InvalidDate
        );
        assert_eq!(
            p("1 Jan 2003 23:60 +0000").unwrap_err().kind(),
            ParseErrorKind::InvalidDate
        );
        assert_eq!(
            p("1 Jan 2003 23:59 +0060").unwrap_err().kind(),
            ParseErrorKind::InvalidDate
        );
        assert_eq!(
            p("1 Jan 1899 23:59 +0000").unwrap_err().kind(),
            ParseErrorKind::InvalidDate
        );
        assert_eq!(
            p("1 Jan 2003 23:59").unwrap_err().kind(),
            ParseErrorKind::UnexpectedEnd
        );
        assert_eq!(
            p("1 Jan 2003 23:59 +0000 x!").unwrap_err().kind(),
            ParseErrorKind::TrailingInput
        );
        assert_eq!(p("").unwrap_err().kind(), ParseErrorKind::UnexpectedEnd);
        assert_eq!(
            p("1 Jan 2003 (unclosed").unwrap_err().kind(),
            ParseErrorKind::UnexpectedEnd
        );
    }

    #[test]
    fn unix_round_trip() {
        let d = DateTime::from_unix(0, 0);
        assert_eq!(d.to_string(), "Thu, 1 Jan 1970 00:00:00 +0000");
        let d = DateTime::from_unix(880_127_706, -360);
        assert_eq!(d.to_string(), "Fri, 21 Nov 1997 09:55:06 -0600");
        assert_eq!(d.to_unix(), 880_127_706);
        for secs in [
            -86_400 * 365 * 60,
            -1,
            1,
            951_782_400,
            4_102_444_800,
            1_798_000_000,
        ] {
            for off in [-720, -330, 0, 60, 845] {
                let d = DateTime::from_unix(secs, off);
                assert_eq!(d.to_unix(), secs);
                assert_eq!(p(&d.to_string()).unwrap(), d);
            }
        }
        assert_eq!(DateTime::from_unix(i64::MAX, 0).year, 9999);
        assert_eq!(DateTime::from_unix(i64::MIN, 0).year, 0);
    }

    #[test]
    fn new_validates() {
        assert!(DateTime::new(2024, 2, 29, 0, 0, 0, 0).is_some());
        assert!(DateTime::new(2023, 2, 29, 0, 0, 0, 0).is_none());
        assert!(DateTime::new(2023, 13, 1, 0, 0, 0, 0).is_none());
        assert_eq!(
            DateTime::new(2026, 11, 28, 0, 0, 0, 0).unwrap().weekday,
            Some(Weekday::Sat)
        );
    }
}
