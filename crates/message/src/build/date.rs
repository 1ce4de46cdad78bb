//! The `Date:` field (RFC 5322 section 3.6.1).

use crate::DateTime;

/// `Date: <date-time>` with CRLF, e.g. `Date: Sat, 28 Nov 2026 20:51:10 +0000\r\n`.
///
/// ```
/// use postwerk_message::{DateTime, build::date_field};
/// assert_eq!(date_field(&DateTime::from_unix(0, 60)), "Date: Thu, 1 Jan 1970 01:00:00 +0100\r\n");
/// ```
pub fn date_field(date: &DateTime) -> String {
    format!("Date: {date}\r\n")
}
