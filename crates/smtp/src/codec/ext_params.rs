//! Typed values of the MAIL parameters of REQUIRETLS (RFC 8689), MT-PRIORITY (RFC 6710),
//! FUTURERELEASE (RFC 4865) and DELIVERBY (RFC 2852).
//!
//! The parameter parser of [`params`](super::params) keeps these parameters as raw
//! keyword/value pairs; the server checks them against what it advertised and turns them
//! into a [`MailExtensions`] with the parsers here.
//!
//! ```text
//! MT-PRIORITY=priority-value      priority-value = ["-" / "+"] DIGIT      ; -9 .. 9
//! HOLDFOR=holdfor-value           holdfor-value  = 1*9DIGIT               ; seconds
//! HOLDUNTIL=holduntil-value       holduntil-value = date-time             ; RFC 3339
//! BY=by-value                     by-value = by-time ";" by-mode [by-trace]
//!                                 by-time  = ["-" / "+"] 1*9DIGIT
//!                                 by-mode  = "N" / "R"
//!                                 by-trace = "T"
//! REQUIRETLS                      (no value)
//! ```

use std::fmt;

use thiserror::Error;

/// A MAIL extension parameter value that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ExtParamError {
    /// `MT-PRIORITY=` is not an integer from -9 to 9.
    #[error("MT-PRIORITY must be an integer from -9 to 9")]
    Priority,
    /// `HOLDFOR=` is not 1 to 9 digits.
    #[error("HOLDFOR must be 1 to 9 digits")]
    HoldFor,
    /// `HOLDUNTIL=` is not an RFC 3339 date-time.
    #[error("HOLDUNTIL must be an RFC 3339 date-time")]
    HoldUntil,
    /// `BY=` is not `by-time;mode[T]`, or R mode with a time that is not positive.
    #[error("BY must be by-time;N or by-time;R with an optional T")]
    DeliverBy,
}

/// `MT-PRIORITY=` (RFC 6710): the message transfer priority, -9 (lowest) to 9 (highest),
/// 0 being normal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MtPriority(i8);

impl MtPriority {
    /// The priority, from -9 to 9.
    pub fn get(self) -> i8 {
        self.0
    }

    /// Parses `priority-value`.
    ///
    /// ```
    /// use postwerk_smtp::codec::ext_params::MtPriority;
    /// assert_eq!(MtPriority::parse("-9").unwrap().get(), -9);
    /// assert_eq!(MtPriority::parse("+3").unwrap().get(), 3);
    /// assert!(MtPriority::parse("10").is_err());
    /// ```
    pub fn parse(value: &str) -> Result<MtPriority, ExtParamError> {
        let b = value.as_bytes();
        let (neg, digits) = match b.split_first() {
            Some((b'-', rest)) => (true, rest),
            Some((b'+', rest)) => (false, rest),
            _ => (false, b),
        };
        match digits {
            [d] if d.is_ascii_digit() => {
                // `d` is an ASCII digit: the value fits.
                let v = i8::try_from(d - b'0').map_err(|_| ExtParamError::Priority)?;
                Ok(MtPriority(if neg { -v } else { v }))
            }
            _ => Err(ExtParamError::Priority),
        }
    }
}

impl fmt::Display for MtPriority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An RFC 3339 `date-time`, kept as sent, with its instant as Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DateTime3339 {
    text: String,
    unix: i64,
}

impl DateTime3339 {
    /// Parses `date-time` (RFC 3339 section 5.6; `T` and `Z` in either case, fractions of
    /// a second up to 9 digits, leap second 60 allowed).
    ///
    /// ```
    /// use postwerk_smtp::codec::ext_params::DateTime3339;
    /// let t = DateTime3339::parse("1970-01-02T01:00:00+01:00").unwrap();
    /// assert_eq!(t.unix_seconds(), 86_400);
    /// assert!(DateTime3339::parse("2026-02-30T00:00:00Z").is_err());
    /// ```
    pub fn parse(value: &str) -> Result<DateTime3339, ExtParamError> {
        parse_date_time(value.as_bytes())
            .map(|unix| DateTime3339 {
                text: value.to_string(),
                unix,
            })
            .ok_or(ExtParamError::HoldUntil)
    }

    /// The text as sent.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Seconds since 1970-01-01T00:00:00Z (fractions dropped, a leap second counted as
    /// the next second).
    pub fn unix_seconds(&self) -> i64 {
        self.unix
    }
}

impl fmt::Display for DateTime3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// FUTURERELEASE (RFC 4865): when the message may be released.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FutureRelease {
    /// `HOLDFOR=n`: hold for this many seconds.
    HoldFor(u32),
    /// `HOLDUNTIL=date-time`: hold until this time.
    HoldUntil(DateTime3339),
}

impl FutureRelease {
    /// Parses `HOLDFOR` (1 to 9 digits).
    pub fn parse_hold_for(value: &str) -> Result<FutureRelease, ExtParamError> {
        let b = value.as_bytes();
        if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
            return Err(ExtParamError::HoldFor);
        }
        value
            .parse()
            .map(FutureRelease::HoldFor)
            .map_err(|_| ExtParamError::HoldFor)
    }

    /// Parses `HOLDUNTIL` (an RFC 3339 date-time).
    pub fn parse_hold_until(value: &str) -> Result<FutureRelease, ExtParamError> {
        DateTime3339::parse(value).map(FutureRelease::HoldUntil)
    }
}

/// The `by-mode` of DELIVERBY (RFC 2852 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByMode {
    /// `N`: notify the sender (delay DSN) if the deadline passes, keep delivering.
    Notify,
    /// `R`: return the message (failure DSN) if it cannot be delivered in time.
    Return,
}

/// `BY=by-time;by-mode[T]` (RFC 2852 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeliverBy {
    /// Seconds from the time the message was received (may be zero or negative with
    /// `N`; positive with `R`).
    pub seconds: i32,
    /// What to do when the time passes.
    pub mode: ByMode,
    /// `T`: trace (ask for delivery status notifications along the way).
    pub trace: bool,
}

impl DeliverBy {
    /// Parses `by-value`.
    ///
    /// ```
    /// use postwerk_smtp::codec::ext_params::{ByMode, DeliverBy};
    /// let by = DeliverBy::parse("120;RT").unwrap();
    /// assert_eq!((by.seconds, by.mode, by.trace), (120, ByMode::Return, true));
    /// assert!(DeliverBy::parse("0;R").is_err());
    /// assert!(DeliverBy::parse("-5;N").is_ok());
    /// ```
    pub fn parse(value: &str) -> Result<DeliverBy, ExtParamError> {
        let (time, mode) = value.split_once(';').ok_or(ExtParamError::DeliverBy)?;
        let tb = time.as_bytes();
        let digits = match tb.first() {
            Some(b'-' | b'+') => tb.get(1..).unwrap_or_default(),
            _ => tb,
        };
        if digits.is_empty() || digits.len() > 9 || !digits.iter().all(u8::is_ascii_digit) {
            return Err(ExtParamError::DeliverBy);
        }
        let seconds: i32 = time.parse().map_err(|_| ExtParamError::DeliverBy)?;
        let mb = mode.as_bytes();
        let (mode, trace) = match mb {
            [m] => (*m, false),
            [m, t] if t.eq_ignore_ascii_case(&b'T') => (*m, true),
            _ => return Err(ExtParamError::DeliverBy),
        };
        let mode = match mode.to_ascii_uppercase() {
            b'N' => ByMode::Notify,
            b'R' => ByMode::Return,
            _ => return Err(ExtParamError::DeliverBy),
        };
        if mode == ByMode::Return && seconds <= 0 {
            return Err(ExtParamError::DeliverBy);
        }
        Ok(DeliverBy {
            seconds,
            mode,
            trace,
        })
    }
}

/// The MAIL parameters of REQUIRETLS, MT-PRIORITY, FUTURERELEASE and DELIVERBY, typed.
/// The server fills it only for the extensions it advertised.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailExtensions {
    /// `REQUIRETLS` (RFC 8689): the message must only travel over TLS.
    pub require_tls: bool,
    /// `MT-PRIORITY=` (RFC 6710).
    pub mt_priority: Option<MtPriority>,
    /// `HOLDFOR=` or `HOLDUNTIL=` (RFC 4865).
    pub future_release: Option<FutureRelease>,
    /// `BY=` (RFC 2852).
    pub deliver_by: Option<DeliverBy>,
}

fn num(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    b.iter().try_fold(0u32, |n, &d| {
        n.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    // Howard Hinnant's algorithm.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        _ => 28,
    }
}

/// RFC 3339 `date-time` to Unix seconds.
fn parse_date_time(b: &[u8]) -> Option<i64> {
    let field = |from: usize, len: usize| num(b.get(from..from + len)?);
    let sep = |at: usize, c: u8| b.get(at).is_some_and(|x| x.eq_ignore_ascii_case(&c));
    if !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':')) {
        return None;
    }
    let (y, mo, d) = (field(0, 4)?, field(5, 2)?, field(8, 2)?);
    let (h, mi, s) = (field(11, 2)?, field(14, 2)?, field(17, 2)?);
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60
    {
        return None;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let n = b
            .get(i + 1..)?
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if n == 0 || n > 9 {
            return None;
        }
        i += 1 + n;
    }
    let offset: i64 = match b.get(i..)? {
        [z] if z.eq_ignore_ascii_case(&b'Z') => 0,
        [sign @ (b'+' | b'-'), rest @ ..] if rest.len() == 5 && rest.get(2) == Some(&b':') => {
            let oh = num(rest.get(..2)?)?;
            let om = num(rest.get(3..)?)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let o = i64::from(oh * 3600 + om * 60);
            if *sign == b'-' { -o } else { o }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(y), mo, d);
    Some(days * 86_400 + i64::from(h * 3600 + mi * 60 + s) - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_bounds_and_junk() {
        for v in -9..=9i8 {
            assert_eq!(MtPriority::parse(&v.to_string()).unwrap().get(), v);
        }
        assert_eq!(MtPriority::parse("+9").unwrap().get(), 9);
        for bad in [
            "", "-", "+", "10", "-10", "1a", "a", " 1", "1 ", "--1", "+-1", "09",
        ] {
            assert!(MtPriority::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hold_for_bounds_and_junk() {
        assert_eq!(
            FutureRelease::parse_hold_for("0"),
            Ok(FutureRelease::HoldFor(0))
        );
        assert_eq!(
            FutureRelease::parse_hold_for("999999999"),
            Ok(FutureRelease::HoldFor(999_999_999))
        );
        for bad in ["", "1000000000", "-1", "+1", "1.5", "1h", " 1"] {
            assert!(FutureRelease::parse_hold_for(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn date_times() {
        let ok = [
            ("1970-01-01T00:00:00Z", 0),
            ("1970-01-01t00:00:00z", 0),
            ("2000-03-01T00:00:00Z", 951_868_800),
            ("2024-02-29T12:00:00.123456789Z", 1_709_208_000),
            ("2024-02-29T12:00:00-02:30", 1_709_217_000),
            ("1969-12-31T23:59:59Z", -1),
            ("2016-12-31T23:59:60Z", 1_483_228_800),
        ];
        for (text, unix) in ok {
            assert_eq!(
                DateTime3339::parse(text).unwrap().unix_seconds(),
                unix,
                "{text}"
            );
        }
        for bad in [
            "",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-00-01T00:00:00Z",
            "2024-01-00T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:61Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00.1234567890Z",
            "2024-01-01T00:00:00+24:00",
            "2024-01-01T00:00:00+01:60",
            "2024-01-01T00:00:00+0100",
            "2024-01-01 00:00:00Z",
            "24-01-01T00:00:00Z",
            "2024-1-01T00:00:00Z",
            "2024-01-01T00:00:00ZZ",
            "+024-01-01T00:00:00Z",
        ] {
            assert!(DateTime3339::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn deliver_by_bounds_and_junk() {
        let by = DeliverBy::parse("-999999999;N").unwrap();
        assert_eq!(by.seconds, -999_999_999);
        assert_eq!(by.mode, ByMode::Notify);
        assert!(!by.trace);
        let by = DeliverBy::parse("+999999999;nt").unwrap();
        assert_eq!(
            (by.seconds, by.mode, by.trace),
            (999_999_999, ByMode::Notify, true)
        );
        assert!(DeliverBy::parse("1;R").is_ok());
        for bad in [
            "",
            ";R",
            "1",
            "1;",
            "1;X",
            "1;RR",
            "1;RTT",
            "0;R",
            "-1;R",
            "1000000000;N",
            "1 ;N",
            "a;N",
            "1;T",
            "--1;N",
            "+;N",
        ] {
            assert!(DeliverBy::parse(bad).is_err(), "{bad:?}");
        }
    }
}
