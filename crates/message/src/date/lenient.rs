//! The `Date:` reader of the [`Message`](crate::Message) accessors: the RFC 5322 grammar
//! first, then the forms real mail has: asctime (`Tue Apr  7 10:00:00 2026`), ISO 8601 /
//! RFC 3339, month before day, one-digit minutes or seconds, `AM`/`PM`, no zone (taken as
//! `-0000`), `UTC`, a zone with a colon, an unreadable zone (`H0500`, taken as `-0000`).

use super::{DateTime, MONTHS, WEEKDAY_NAMES, lookup_name, obs_zone, parse_date};
use crate::ParseError;
use crate::repair::{RepairKind, Sink};

/// Reads a `Date:` value the way mail clients do: the RFC 5322 grammar first, then the
/// forms real mail has (see [`Message::date`](crate::Message::date)), recording
/// [`RepairKind::LenientDate`] when it took one of those. The error is the strict parser's.
pub(crate) fn read_date(input: &[u8], sink: &mut Sink) -> Result<DateTime, ParseError> {
    let strict = match parse_date(input) {
        Ok(d) => return Ok(d),
        Err(e) => e,
    };
    match iso8601(input).or_else(|| loose_date(input)) {
        Some(d) => {
            sink.push(RepairKind::LenientDate, 0);
            Ok(d)
        }
        None => Err(strict),
    }
}

/// Digits at `s[i..i + n]` as a number, `None` unless all are ASCII digits.
fn digits_at(s: &[u8], i: usize, n: usize) -> Option<u32> {
    let d = s.get(i..i.checked_add(n)?)?;
    d.iter()
        .all(u8::is_ascii_digit)
        .then(|| d.iter().fold(0u32, |n, c| n * 10 + u32::from(c - b'0')))
}

/// A year as written: two digits are 19xx or 20xx (RFC 5322 4.3), three have 1900 added;
/// years before 1900 are refused, as the strict grammar refuses them.
fn full_year(value: u32, digits: usize) -> Option<u16> {
    let year = match digits {
        1 | 2 if value < 50 => 2000 + value,
        1 | 2 => 1900 + value,
        3 => 1900 + value,
        _ => value,
    };
    u16::try_from(year).ok().filter(|y| *y >= 1900)
}

fn signed_offset(sign: u8, hours: u32, minutes: u32) -> Option<i16> {
    if hours > 99 || minutes > 59 {
        return None;
    }
    let m = i16::try_from(hours * 60 + minutes).ok()?;
    Some(if sign == b'-' { -m } else { m })
}

/// ISO 8601 / RFC 3339: `2026-04-07T10:00:00Z`, `2026-04-07 10:00:00.5 +02:00`,
/// `2026-04-07T10:00`, `2026-04-07` (midnight); no zone means `-0000`.
fn iso8601(input: &[u8]) -> Option<DateTime> {
    let s = crate::header::trim_end_ws(crate::header::trim_start_ws(input));
    let year = digits_at(s, 0, 4)?;
    if s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') {
        return None;
    }
    let (month, day) = (digits_at(s, 5, 2)?, digits_at(s, 8, 2)?);
    let mut rest = s.get(10..)?;
    let (mut hour, mut minute, mut second, mut offset) = (0, 0, 0, 0i16);
    if let Some((&sep, time)) = rest.split_first() {
        if !matches!(sep, b'T' | b't' | b' ') {
            return None;
        }
        let time = crate::header::trim_start_ws(time);
        hour = digits_at(time, 0, 2)?;
        if time.get(2) != Some(&b':') {
            return None;
        }
        minute = digits_at(time, 3, 2)?;
        rest = time.get(5..)?;
        if rest.first() == Some(&b':') {
            second = digits_at(rest, 1, 2)?;
            rest = rest.get(3..)?;
            if rest.first() == Some(&b'.') {
                let frac = rest
                    .iter()
                    .skip(1)
                    .take_while(|c| c.is_ascii_digit())
                    .count();
                rest = rest.get(1 + frac..)?;
            }
        }
        rest = crate::header::trim_start_ws(rest);
        offset = match rest {
            [] | [b'Z' | b'z'] | b"UTC" | b"GMT" | b"UT" => 0,
            [sign @ (b'+' | b'-'), z @ ..] => {
                let (h, m) = match z {
                    [_, _] => (digits_at(z, 0, 2)?, 0),
                    [_, _, b':', _, _] => (digits_at(z, 0, 2)?, digits_at(z, 3, 2)?),
                    [_, _, _, _] => (digits_at(z, 0, 2)?, digits_at(z, 2, 2)?),
                    _ => return None,
                };
                signed_offset(*sign, h, m)?
            }
            _ => return None,
        };
    }
    let year = full_year(year, 4)?;
    DateTime::new(
        year,
        u8::try_from(month).ok()?,
        u8::try_from(day).ok()?,
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
        offset,
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateTok<'a> {
    /// A number and how many digits it had.
    Num(u32, usize),
    Word(&'a [u8]),
    Sym(u8),
}

/// RFC 5322-like dates the grammar refuses: asctime (`Tue Apr  7 10:00:00 2026`), month
/// before day, one-digit minutes or seconds, no zone (`-0000`), `UTC`, a zone with a colon.
fn loose_date(input: &[u8]) -> Option<DateTime> {
    let mut toks: Vec<DateTok<'_>> = Vec::new();
    let mut i = 0;
    while i < input.len() && toks.len() < 32 {
        i = crate::lexer::skip_cfws_at(input, i).unwrap_or(input.len());
        let Some(&c) = input.get(i) else { break };
        let start = i;
        if c.is_ascii_digit() {
            while input.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            let n = i - start;
            toks.push(DateTok::Num(digits_at(input, start, n.min(9))?, n));
        } else if c.is_ascii_alphabetic() {
            while input.get(i).is_some_and(u8::is_ascii_alphabetic) {
                i += 1;
            }
            toks.push(DateTok::Word(input.get(start..i)?));
        } else {
            i += 1;
            if c != b',' && c != b'.' {
                toks.push(DateTok::Sym(c));
            }
        }
    }
    // The time of day: h ":" m [":" s].
    let t = toks.iter().position(|t| *t == DateTok::Sym(b':'))?;
    let (Some(DateTok::Num(hour, _)), Some(DateTok::Num(minute, ml))) =
        (t.checked_sub(1).and_then(|k| toks.get(k)), toks.get(t + 1))
    else {
        return None;
    };
    let mut time_end = t + 2;
    let mut second = 0;
    if let (Some(DateTok::Sym(b':')), Some(DateTok::Num(s, sl))) =
        (toks.get(t + 2), toks.get(t + 3))
    {
        if *sl > 2 {
            return None;
        }
        second = *s;
        time_end = t + 4;
    }
    if *ml > 2 {
        return None;
    }
    let time_start = t - 1;
    let mut hour = *hour;
    let mut month = None;
    let mut numbers: Vec<(u32, usize)> = Vec::new();
    let mut offset = None;
    let mut k = 0;
    while let Some(tok) = toks.get(k) {
        if (time_start..time_end).contains(&k) {
            k += 1;
            continue;
        }
        match *tok {
            DateTok::Word(w) => {
                let (am, pm) = (w.eq_ignore_ascii_case(b"am"), w.eq_ignore_ascii_case(b"pm"));
                if month.is_none()
                    && w.len() >= 3
                    && let Some(m) = lookup_name(w, &MONTHS)
                {
                    month = Some(m + 1);
                } else if am || pm {
                    if pm && hour < 12 {
                        hour += 12;
                    } else if am && hour == 12 {
                        hour = 0;
                    }
                } else if k > time_start
                    && offset.is_none()
                    && lookup_name(w, &WEEKDAY_NAMES).is_none()
                {
                    offset = Some(obs_zone(w));
                }
            }
            DateTok::Sym(sign @ (b'+' | b'-')) if k >= time_end && offset.is_none() => {
                let h = match (toks.get(k + 1), toks.get(k + 2), toks.get(k + 3)) {
                    (Some(DateTok::Num(v, 4)), _, _) => {
                        k += 1;
                        signed_offset(sign, v / 100, v % 100)
                    }
                    (
                        Some(DateTok::Num(h, 1 | 2)),
                        Some(DateTok::Sym(b':')),
                        Some(DateTok::Num(m, 2)),
                    ) => {
                        k += 3;
                        signed_offset(sign, *h, *m)
                    }
                    (Some(DateTok::Num(h, 1 | 2)), _, _) => {
                        k += 1;
                        signed_offset(sign, *h, 0)
                    }
                    _ => None,
                };
                offset = Some(h?);
            }
            // After the zone, once day and year are known, a number is part of a broken
            // zone (`16:21:05 H0500`, taken as -0000), not a date part.
            DateTok::Num(_, _) if offset.is_some() && numbers.len() >= 2 => {}
            DateTok::Num(v, n) => numbers.push((v, n)),
            DateTok::Sym(_) => {}
        }
        k += 1;
    }
    let month = month?;
    // Day and year: a number of three or more digits is the year; otherwise the day
    // comes first, as in RFC 5322.
    let (day, year) = match numbers.as_slice() {
        [a, b] if a.1 >= 3 => (*b, *a),
        [a, b] => (*a, *b),
        _ => return None,
    };
    if day.1 > 2 {
        return None;
    }
    DateTime::new(
        full_year(year.0, year.1)?,
        u8::try_from(month).ok()?,
        u8::try_from(day.0).ok()?,
        u8::try_from(hour).ok()?,
        u8::try_from(*minute).ok()?,
        u8::try_from(second).ok()?,
        offset.unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<DateTime, ParseError> {
        parse_date(s.as_bytes())
    }

    fn lenient(s: &str) -> Option<(u16, u8, u8, u8, u8, u8, i16)> {
        let d = read_date(s.as_bytes(), &mut Sink::discarding()).ok()?;
        Some((
            d.year,
            d.month,
            d.day,
            d.hour,
            d.minute,
            d.second,
            d.offset_minutes,
        ))
    }

    #[test]
    fn lenient_forms() {
        let want = Some((2026, 4, 7, 10, 0, 0, 0));
        assert_eq!(lenient("Tue Apr  7 10:00:00 2026"), want);
        assert_eq!(lenient("Tue, 7 Apr 2026 10:00:00 UT"), want);
        assert_eq!(lenient("Tue, 7 Apr 2026 10:00:00"), want);
        assert_eq!(lenient("7 Apr 2026 10:00"), want);
        assert_eq!(lenient("2026-04-07T10:00:00Z"), want);
        assert_eq!(lenient("2026-04-07 10:00"), want);
        assert_eq!(lenient("Tue, 7 Apr 2026 10:0:0 +0000"), want);
        assert_eq!(lenient("Tue, 7 Apr 2026 10:00:00 UTC"), want);
        assert_eq!(
            lenient("2026-04-07T12:30:00.25+02:30"),
            Some((2026, 4, 7, 12, 30, 0, 150))
        );
        assert_eq!(
            lenient("Tue, 07 Apr 2026 10:00:00 +02:00"),
            Some((2026, 4, 7, 10, 0, 0, 120))
        );
        assert_eq!(
            lenient("April 7, 2026 10:00 PM"),
            Some((2026, 4, 7, 22, 0, 0, 0))
        );
        // mail gem fixture `trademark_character_in_subject.eml`: a broken zone.
        assert_eq!(
            lenient("Tue, 12 Oct 2010 16:21:05 H0500"),
            Some((2010, 10, 12, 16, 21, 5, 0))
        );
        // date(1): the zone before the year.
        assert_eq!(lenient("Tue Apr  7 10:00:00 UTC 2026"), want);
        assert_eq!(lenient("not a date"), None);
        assert_eq!(lenient("7 Apr 0200 10:00"), None);
        assert_eq!(lenient("2026-13-07T10:00:00Z"), None);
        // The strict grammar still refuses them.
        assert!(p("Tue Apr  7 10:00:00 2026").is_err());
        assert!(p("2026-04-07T10:00:00Z").is_err());
    }
}
