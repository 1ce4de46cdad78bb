//! MAIL and RCPT parameters (RFC 5321 4.1.2 `esmtp-param`) as typed values.
//!
//! ```text
//! esmtp-param    = esmtp-keyword ["=" esmtp-value]
//! esmtp-keyword  = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
//! esmtp-value    = 1*(%d33-60 / %d62-126)
//! xtext          = *( xchar / hexchar )        ; RFC 3461 4
//! ```
//!
//! Known parameters: SIZE (RFC 1870), BODY (RFC 6152, 3030), SMTPUTF8 (RFC 6531),
//! AUTH (RFC 4954 5), RET and ENVID (RFC 3461 4.3, 4.4) on MAIL; NOTIFY and ORCPT
//! (RFC 3461 4.1, 4.2) on RCPT. Unknown parameters are kept in `other`, in order; the
//! server answers them with 555.

use std::fmt::Write as _;

use thiserror::Error;

/// A parameter that is not well-formed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParamError {
    /// Not `keyword[=value]` with the RFC 5321 character sets.
    #[error("malformed parameter")]
    Malformed,
    /// A known parameter given twice.
    #[error("duplicate parameter {0}")]
    Duplicate(&'static str),
    /// A known parameter with a value it does not allow.
    #[error("invalid value for {0}")]
    InvalidValue(&'static str),
}

/// `BODY=` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body {
    /// `7BIT`.
    SevenBit,
    /// `8BITMIME` (RFC 6152).
    EightBitMime,
    /// `BINARYMIME` (RFC 3030).
    BinaryMime,
}

impl Body {
    /// The keyword value.
    pub fn as_str(self) -> &'static str {
        match self {
            Body::SevenBit => "7BIT",
            Body::EightBitMime => "8BITMIME",
            Body::BinaryMime => "BINARYMIME",
        }
    }
}

/// `RET=` values (RFC 3461 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ret {
    /// `FULL`: return the whole message in a DSN.
    Full,
    /// `HDRS`: return only the headers.
    Hdrs,
}

/// `NOTIFY=` (RFC 3461 4.1): `NEVER` or a set of conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Notify {
    /// `NEVER`.
    Never,
    /// Some of `SUCCESS`, `FAILURE`, `DELAY` (at least one).
    On {
        /// `SUCCESS`.
        success: bool,
        /// `FAILURE`.
        failure: bool,
        /// `DELAY`.
        delay: bool,
    },
}

/// Parameters of `MAIL FROM`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailParameters {
    /// `SIZE=n`: the declared message size.
    pub size: Option<u64>,
    /// `BODY=`.
    pub body: Option<Body>,
    /// `SMTPUTF8`.
    pub smtputf8: bool,
    /// `AUTH=`: the xtext-decoded authenticated sender, or `<>`.
    pub auth: Option<String>,
    /// `RET=`.
    pub ret: Option<Ret>,
    /// `ENVID=`: xtext-decoded envelope identifier.
    pub envid: Option<String>,
    /// Unknown parameters, keyword and raw value, in order.
    pub other: Vec<(String, Option<String>)>,
}

/// Parameters of `RCPT TO`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RcptParameters {
    /// `NOTIFY=`.
    pub notify: Option<Notify>,
    /// `ORCPT=addr-type;xtext`: the address type and the xtext-decoded address.
    pub orcpt: Option<(String, String)>,
    /// Unknown parameters, keyword and raw value, in order.
    pub other: Vec<(String, Option<String>)>,
}

/// Splits `input` (the text after the path, starting with a space or empty) into
/// `(keyword, value)` pairs. `extra_spaces` allows runs of spaces between parameters.
pub(crate) fn split_params(
    input: &[u8],
    extra_spaces: bool,
    utf8: bool,
    mut each: impl FnMut(&str, Option<&str>) -> Result<(), ParamError>,
) -> Result<(), ParamError> {
    if input.is_empty() {
        return Ok(());
    }
    // One UTF-8 check for the whole text; the splits below are at ASCII bytes.
    let mut rest = std::str::from_utf8(input).map_err(|_| ParamError::Malformed)?;
    while !rest.is_empty() {
        let Some(r) = rest.strip_prefix(' ') else {
            return Err(ParamError::Malformed);
        };
        rest = r;
        if extra_spaces {
            rest = rest.trim_start_matches(' ');
            if rest.is_empty() {
                break;
            }
        }
        let end = memchr::memchr(b' ', rest.as_bytes()).unwrap_or(rest.len());
        let (param, tail) = rest.split_at_checked(end).ok_or(ParamError::Malformed)?;
        rest = tail;
        let (kw, value) = match param.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (param, None),
        };
        let kw_ok = kw.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
            && kw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !kw_ok {
            return Err(ParamError::Malformed);
        }
        if let Some(v) = value {
            let v_ok = !v.is_empty()
                && v.bytes()
                    .all(|b| matches!(b, 33..=60 | 62..=126) || (utf8 && b >= 0x80));
            if !v_ok {
                return Err(ParamError::Malformed);
            }
        }
        each(kw, value)?;
    }
    Ok(())
}

fn set<T>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), ParamError> {
    if slot.is_some() {
        return Err(ParamError::Duplicate(name));
    }
    *slot = Some(value);
    Ok(())
}

impl MailParameters {
    /// Parses the parameter text after the reverse path.
    pub fn parse(input: &[u8], extra_spaces: bool, utf8: bool) -> Result<Self, ParamError> {
        let mut p = MailParameters::default();
        split_params(input, extra_spaces, utf8, |kw, value| {
            if kw.eq_ignore_ascii_case("SIZE") {
                let v = value.ok_or(ParamError::InvalidValue("SIZE"))?;
                let n = parse_decimal(v).ok_or(ParamError::InvalidValue("SIZE"))?;
                set(&mut p.size, n, "SIZE")
            } else if kw.eq_ignore_ascii_case("BODY") {
                let v = value.ok_or(ParamError::InvalidValue("BODY"))?;
                let b = if v.eq_ignore_ascii_case("7BIT") {
                    Body::SevenBit
                } else if v.eq_ignore_ascii_case("8BITMIME") {
                    Body::EightBitMime
                } else if v.eq_ignore_ascii_case("BINARYMIME") {
                    Body::BinaryMime
                } else {
                    return Err(ParamError::InvalidValue("BODY"));
                };
                set(&mut p.body, b, "BODY")
            } else if kw.eq_ignore_ascii_case("SMTPUTF8") {
                if value.is_some() {
                    return Err(ParamError::InvalidValue("SMTPUTF8"));
                }
                if p.smtputf8 {
                    return Err(ParamError::Duplicate("SMTPUTF8"));
                }
                p.smtputf8 = true;
                Ok(())
            } else if kw.eq_ignore_ascii_case("AUTH") {
                let v = value.ok_or(ParamError::InvalidValue("AUTH"))?;
                let decoded = if v == "<>" {
                    v.to_string()
                } else {
                    xtext_decode(v).ok_or(ParamError::InvalidValue("AUTH"))?
                };
                set(&mut p.auth, decoded, "AUTH")
            } else if kw.eq_ignore_ascii_case("RET") {
                let v = value.ok_or(ParamError::InvalidValue("RET"))?;
                let r = if v.eq_ignore_ascii_case("FULL") {
                    Ret::Full
                } else if v.eq_ignore_ascii_case("HDRS") {
                    Ret::Hdrs
                } else {
                    return Err(ParamError::InvalidValue("RET"));
                };
                set(&mut p.ret, r, "RET")
            } else if kw.eq_ignore_ascii_case("ENVID") {
                let v = value.ok_or(ParamError::InvalidValue("ENVID"))?;
                let d = xtext_decode(v).ok_or(ParamError::InvalidValue("ENVID"))?;
                if d.len() > 100 {
                    return Err(ParamError::InvalidValue("ENVID"));
                }
                set(&mut p.envid, d, "ENVID")
            } else {
                p.other
                    .push((kw.to_string(), value.map(ToString::to_string)));
                Ok(())
            }
        })?;
        Ok(p)
    }

    /// Appends ` KEY=VALUE` for each parameter (a leading space before each).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let mut s = String::new();
        if let Some(n) = self.size {
            let _ = write!(s, " SIZE={n}");
        }
        if let Some(b) = self.body {
            let _ = write!(s, " BODY={}", b.as_str());
        }
        if self.smtputf8 {
            s.push_str(" SMTPUTF8");
        }
        if let Some(a) = &self.auth {
            if a == "<>" {
                s.push_str(" AUTH=<>");
            } else {
                let _ = write!(s, " AUTH={}", xtext_encode(a));
            }
        }
        if let Some(r) = self.ret {
            s.push_str(match r {
                Ret::Full => " RET=FULL",
                Ret::Hdrs => " RET=HDRS",
            });
        }
        if let Some(e) = &self.envid {
            let _ = write!(s, " ENVID={}", xtext_encode(e));
        }
        write_other(&mut s, &self.other);
        out.extend_from_slice(s.as_bytes());
    }
}

fn write_other(s: &mut String, other: &[(String, Option<String>)]) {
    for (k, v) in other {
        s.push(' ');
        s.push_str(k);
        if let Some(v) = v {
            s.push('=');
            s.push_str(v);
        }
    }
}

impl RcptParameters {
    /// Parses the parameter text after the forward path.
    pub fn parse(input: &[u8], extra_spaces: bool, utf8: bool) -> Result<Self, ParamError> {
        let mut p = RcptParameters::default();
        split_params(input, extra_spaces, utf8, |kw, value| {
            if kw.eq_ignore_ascii_case("NOTIFY") {
                let v = value.ok_or(ParamError::InvalidValue("NOTIFY"))?;
                set(&mut p.notify, parse_notify(v)?, "NOTIFY")
            } else if kw.eq_ignore_ascii_case("ORCPT") {
                let v = value.ok_or(ParamError::InvalidValue("ORCPT"))?;
                let (ty, addr) = v.split_once(';').ok_or(ParamError::InvalidValue("ORCPT"))?;
                let ty_ok = ty.first_char_alnum()
                    && ty.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
                let addr = xtext_decode(addr).ok_or(ParamError::InvalidValue("ORCPT"))?;
                if !ty_ok || addr.is_empty() || addr.len() > 500 {
                    return Err(ParamError::InvalidValue("ORCPT"));
                }
                set(&mut p.orcpt, (ty.to_string(), addr), "ORCPT")
            } else {
                p.other
                    .push((kw.to_string(), value.map(ToString::to_string)));
                Ok(())
            }
        })?;
        Ok(p)
    }

    /// Appends ` KEY=VALUE` for each parameter (a leading space before each).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let mut s = String::new();
        match self.notify {
            None => {}
            Some(Notify::Never) => s.push_str(" NOTIFY=NEVER"),
            Some(Notify::On {
                success,
                failure,
                delay,
            }) => {
                let names: Vec<&str> =
                    [(success, "SUCCESS"), (failure, "FAILURE"), (delay, "DELAY")]
                        .iter()
                        .filter(|(on, _)| *on)
                        .map(|(_, n)| *n)
                        .collect();
                let _ = write!(s, " NOTIFY={}", names.join(","));
            }
        }
        if let Some((ty, addr)) = &self.orcpt {
            let _ = write!(s, " ORCPT={ty};{}", xtext_encode(addr));
        }
        write_other(&mut s, &self.other);
        out.extend_from_slice(s.as_bytes());
    }
}

trait FirstAlnum {
    fn first_char_alnum(&self) -> bool;
}
impl FirstAlnum for str {
    fn first_char_alnum(&self) -> bool {
        self.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
    }
}

fn parse_notify(v: &str) -> Result<Notify, ParamError> {
    if v.eq_ignore_ascii_case("NEVER") {
        return Ok(Notify::Never);
    }
    let (mut success, mut failure, mut delay) = (false, false, false);
    for part in v.split(',') {
        let flag = if part.eq_ignore_ascii_case("SUCCESS") {
            &mut success
        } else if part.eq_ignore_ascii_case("FAILURE") {
            &mut failure
        } else if part.eq_ignore_ascii_case("DELAY") {
            &mut delay
        } else {
            return Err(ParamError::InvalidValue("NOTIFY"));
        };
        if *flag {
            return Err(ParamError::InvalidValue("NOTIFY"));
        }
        *flag = true;
    }
    Ok(Notify::On {
        success,
        failure,
        delay,
    })
}

/// Decimal digits only, at most 20, no overflow.
fn parse_decimal(v: &str) -> Option<u64> {
    if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// Encodes `value` as RFC 3461 xtext: `+`, `=`, and octets outside `!`..`~` become `+XX`.
///
/// ```
/// use postwerk_smtp::codec::params::{xtext_decode, xtext_encode};
/// assert_eq!(xtext_encode("a+b=c d"), "a+2Bb+3Dc+20d");
/// assert_eq!(xtext_decode("a+2Bb+3Dc+20d").as_deref(), Some("a+b=c d"));
/// ```
pub fn xtext_encode(value: &str) -> String {
    let mut s = String::with_capacity(value.len());
    for &b in value.as_bytes() {
        if (33..=126).contains(&b) && b != b'+' && b != b'=' {
            s.push(char::from(b));
        } else {
            let _ = write!(s, "+{b:02X}");
        }
    }
    s
}

/// Decodes RFC 3461 xtext; `None` when malformed (a `+` without two upper-case hex digits,
/// a raw `=` or a character outside `!`..`~`) or when the result is not UTF-8.
pub fn xtext_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => {
                let hi = hex(*bytes.get(i + 1)?)?;
                let lo = hex(*bytes.get(i + 2)?)?;
                out.push(hi * 16 + lo);
                i += 3;
            }
            b'=' => return None,
            33..=126 => {
                out.push(b);
                i += 1;
            }
            _ => return None,
        }
    }
    String::from_utf8(out).ok()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_params() {
        let p = MailParameters::parse(
            b" SIZE=1000 BODY=8BITMIME SMTPUTF8 AUTH=<> RET=HDRS ENVID=QQ+2B1 X-FOO=bar Y",
            false,
            false,
        )
        .unwrap();
        assert_eq!(p.size, Some(1000));
        assert_eq!(p.body, Some(Body::EightBitMime));
        assert!(p.smtputf8);
        assert_eq!(p.auth.as_deref(), Some("<>"));
        assert_eq!(p.ret, Some(Ret::Hdrs));
        assert_eq!(p.envid.as_deref(), Some("QQ+1"));
        assert_eq!(
            p.other,
            vec![("X-FOO".into(), Some("bar".into())), ("Y".into(), None)]
        );
        let mut out = Vec::new();
        p.write_to(&mut out);
        assert_eq!(MailParameters::parse(&out, false, false).unwrap(), p);
    }

    #[test]
    fn mail_param_errors() {
        let e = |s: &[u8]| MailParameters::parse(s, false, false).unwrap_err();
        assert_eq!(e(b" SIZE=x"), ParamError::InvalidValue("SIZE"));
        assert_eq!(
            e(b" SIZE=99999999999999999999999"),
            ParamError::InvalidValue("SIZE")
        );
        assert_eq!(e(b" SIZE=1 SIZE=2"), ParamError::Duplicate("SIZE"));
        assert_eq!(e(b" BODY=9BIT"), ParamError::InvalidValue("BODY"));
        assert_eq!(e(b"  SIZE=1"), ParamError::Malformed);
        assert_eq!(e(b" SIZE="), ParamError::Malformed);
        assert_eq!(e(b" -X"), ParamError::Malformed);
        assert_eq!(e(b">"), ParamError::Malformed);
        assert_eq!(e(b" SMTPUTF8=1"), ParamError::InvalidValue("SMTPUTF8"));
        assert!(MailParameters::parse(b"  SIZE=1 ", true, false).is_ok());
    }

    #[test]
    fn rcpt_params() {
        let p = RcptParameters::parse(
            b" NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+2Bb@x.example",
            false,
            false,
        )
        .unwrap();
        assert_eq!(
            p.notify,
            Some(Notify::On {
                success: true,
                failure: false,
                delay: true
            })
        );
        assert_eq!(p.orcpt, Some(("rfc822".into(), "a+b@x.example".into())));
        let mut out = Vec::new();
        p.write_to(&mut out);
        assert_eq!(out, b" NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+2Bb@x.example");
        assert!(RcptParameters::parse(b" NOTIFY=NEVER,SUCCESS", false, false).is_err());
        assert!(RcptParameters::parse(b" ORCPT=rfc822", false, false).is_err());
    }

    #[test]
    fn xtext() {
        assert_eq!(xtext_decode("+2b"), None);
        assert_eq!(xtext_decode("+2"), None);
        assert_eq!(xtext_decode("a=b"), None);
        assert_eq!(xtext_encode("ü"), "+C3+BC");
        assert_eq!(xtext_decode("+C3+BC").as_deref(), Some("ü"));
    }
}
