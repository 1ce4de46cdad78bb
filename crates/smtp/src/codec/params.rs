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

use super::text::{Src, Text, TextRef, is_ascii};

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
    pub auth: Option<Text>,
    /// `RET=`.
    pub ret: Option<Ret>,
    /// `ENVID=`: xtext-decoded envelope identifier.
    pub envid: Option<Text>,
    /// Unknown parameters, keyword and raw value, in order.
    pub other: Vec<(Text, Option<Text>)>,
}

/// Parameters of `RCPT TO`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RcptParameters {
    /// `NOTIFY=`.
    pub notify: Option<Notify>,
    /// `ORCPT=addr-type;xtext`: the address type and the xtext-decoded address.
    pub orcpt: Option<(Text, Text)>,
    /// Unknown parameters, keyword and raw value, in order.
    pub other: Vec<(Text, Option<Text>)>,
}

/// `esmtp-value` characters (%d33-60 / %d62-126), as a table.
const VALUE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = matches!(i, 33..=60 | 62..=126);
        i += 1;
    }
    t
};

/// [`VALUE`] plus the octets of UTF-8 sequences (RFC 6531 `esmtp-value` under SMTPUTF8).
const VALUE_UTF8: [bool; 256] = {
    let mut t = VALUE;
    let mut i = 0x80;
    while i < 256 {
        t[i] = true;
        i += 1;
    }
    t
};

/// Up to eight octets folded into one word, each with bit 5 set (which folds `A`-`Z`
/// onto `a`-`z`); `u64::MAX` for longer input. Only for keywords and values already
/// checked against their character sets, where no other octet folds onto a lower-case
/// letter or a digit (the control characters that would are not allowed there), so one
/// compare with a `fold8` of a lower-case name is a case-insensitive match.
#[inline]
pub(crate) fn fold8(s: &[u8]) -> u64 {
    let n = s.len();
    // The octets as one big-endian word, from two loads that overlap in the middle (the
    // overlapping octets are the same, so OR-ing them is harmless): no loop.
    let w = if let (Some(a), Some(b)) = (s.first_chunk::<4>(), s.last_chunk::<4>()) {
        if n > 8 {
            return u64::MAX;
        }
        (u64::from(u32::from_be_bytes(*a)) << (8 * (n - 4))) | u64::from(u32::from_be_bytes(*b))
    } else if let (Some(a), Some(b)) = (s.first_chunk::<2>(), s.last_chunk::<2>()) {
        (u64::from(u16::from_be_bytes(*a)) << (8 * (n - 2))) | u64::from(u16::from_be_bytes(*b))
    } else if let Some(&a) = s.first() {
        u64::from(a)
    } else {
        return 0;
    };
    // Bit 5 set in each of the `n` octets.
    w | (0x2020_2020_2020_2020u64 >> (8 * (8 - n)))
}

/// [`fold8`] at compile time, for the names compared against.
const fn fold8_const(s: &[u8]) -> u64 {
    if s.len() > 8 {
        return u64::MAX;
    }
    let mut w = 0u64;
    let mut i = 0;
    while i < s.len() {
        w = (w << 8) | (s[i] | 0x20) as u64;
        i += 1;
    }
    w
}

const SIZE: u64 = fold8_const(b"size");
const BODY: u64 = fold8_const(b"body");
const SMTPUTF8: u64 = fold8_const(b"smtputf8");
const AUTH: u64 = fold8_const(b"auth");
const RET: u64 = fold8_const(b"ret");
const ENVID: u64 = fold8_const(b"envid");
const NOTIFY: u64 = fold8_const(b"notify");
const ORCPT: u64 = fold8_const(b"orcpt");
const SEVEN_BIT: u64 = fold8_const(b"7bit");
const EIGHT_BIT_MIME: u64 = fold8_const(b"8bitmime");
const FULL: u64 = fold8_const(b"full");
const HDRS: u64 = fold8_const(b"hdrs");
const NEVER: u64 = fold8_const(b"never");
const SUCCESS: u64 = fold8_const(b"success");
const FAILURE: u64 = fold8_const(b"failure");
const DELAY: u64 = fold8_const(b"delay");

/// `esmtp-keyword` characters after the first (ALPHA / DIGIT / "-"), as a table.
const KEYWORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).is_ascii_alphanumeric() || i == b'-' as usize;
        i += 1;
    }
    t
};

/// Splits `input` (the text after the path, starting with a space or empty) into
/// `(keyword, value)` pairs, as octets of `src` (checked UTF-8: turned into [`TextRef`]s
/// with `src` where kept). `extra_spaces` allows runs of spaces between parameters.
#[inline(always)]
pub(crate) fn split_params<'a>(
    input: &'a [u8],
    src: Src<'a>,
    extra_spaces: bool,
    utf8: bool,
    mut each: impl FnMut(&'a [u8], Option<&'a [u8]>) -> Result<(), ParamError>,
) -> Result<(), ParamError> {
    if input.is_empty() {
        return Ok(());
    }
    // One UTF-8 check for the whole text (before any parameter is looked at), unless the
    // line was validated as a whole; the splits below are at ASCII bytes.
    if !src.is_utf8() && !is_ascii(input) && std::str::from_utf8(input).is_err() {
        return Err(ParamError::Malformed);
    }
    let b = input;
    let value_class = if utf8 { &VALUE_UTF8 } else { &VALUE };
    let mut i = 0;
    while i < b.len() {
        if b.get(i) != Some(&b' ') {
            return Err(ParamError::Malformed);
        }
        i += 1;
        if extra_spaces {
            i += b
                .get(i..)
                .map_or(0, |r| r.iter().take_while(|&&c| c == b' ').count());
            if i >= b.len() {
                break;
            }
        }
        // esmtp-keyword, then optionally "=" esmtp-value, then a space or the end.
        let start = i;
        if !b.get(i).is_some_and(u8::is_ascii_alphanumeric) {
            return Err(ParamError::Malformed);
        }
        i += b.get(i..).map_or(0, |r| {
            r.iter().take_while(|&&c| KEYWORD[usize::from(c)]).count()
        });
        let kw = b.get(start..i).unwrap_or_default();
        let value = if b.get(i) == Some(&b'=') {
            i += 1;
            let vstart = i;
            i += b.get(i..).map_or(0, |r| {
                r.iter()
                    .take_while(|&&c| value_class[usize::from(c)])
                    .count()
            });
            if i == vstart {
                return Err(ParamError::Malformed);
            }
            Some(b.get(vstart..i).unwrap_or_default())
        } else {
            None
        };
        if !matches!(b.get(i), None | Some(b' ')) {
            return Err(ParamError::Malformed);
        }
        each(kw, value)?;
    }
    Ok(())
}

/// The parameters of a checked parameter text that `known` does not claim, in order.
#[derive(Debug, Clone)]
pub struct OtherParams<'a> {
    rest: &'a str,
    known: fn(&str) -> bool,
}

impl<'a> Iterator for OtherParams<'a> {
    type Item = (&'a str, Option<&'a str>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.rest = self.rest.trim_start_matches(' ');
            if self.rest.is_empty() {
                return None;
            }
            let end = memchr::memchr(b' ', self.rest.as_bytes()).unwrap_or(self.rest.len());
            let (param, tail) = self.rest.split_at_checked(end)?;
            self.rest = tail;
            let (kw, value) = match param.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (param, None),
            };
            if !(self.known)(kw) {
                return Some((kw, value));
            }
        }
    }
}

#[inline]
fn set<T>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), ParamError> {
    if slot.is_some() {
        return Err(ParamError::Duplicate(name));
    }
    *slot = Some(value);
    Ok(())
}

fn is_known_mail(kw: &str) -> bool {
    ["SIZE", "BODY", "SMTPUTF8", "AUTH", "RET", "ENVID"]
        .iter()
        .any(|k| kw.eq_ignore_ascii_case(k))
}

fn is_known_rcpt(kw: &str) -> bool {
    kw.eq_ignore_ascii_case("NOTIFY") || kw.eq_ignore_ascii_case("ORCPT")
}

/// [`MailParameters`] borrowed from the command line: checked exactly as strictly, with
/// no allocation. xtext values stay encoded until [`MailParametersRef::to_owned`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailParametersRef<'a> {
    /// `SIZE=n`: the declared message size.
    pub size: Option<u64>,
    /// `BODY=`.
    pub body: Option<Body>,
    /// `SMTPUTF8`.
    pub smtputf8: bool,
    /// `AUTH=` as written: `<>` or (checked) xtext.
    pub auth: Option<TextRef<'a>>,
    /// `RET=`.
    pub ret: Option<Ret>,
    /// `ENVID=` as written: checked xtext, at most 100 octets once decoded.
    pub envid: Option<TextRef<'a>>,
    raw: TextRef<'a>,
    has_other: bool,
}

impl<'a> MailParametersRef<'a> {
    /// Parses the parameter text after the reverse path.
    pub fn parse(input: &'a [u8], extra_spaces: bool, utf8: bool) -> Result<Self, ParamError> {
        Self::parse_in(input, Src::per_part(), extra_spaces, utf8)
    }

    #[inline(always)]
    pub(crate) fn parse_in(
        input: &'a [u8],
        src: Src<'a>,
        extra_spaces: bool,
        utf8: bool,
    ) -> Result<Self, ParamError> {
        let mut p = MailParametersRef {
            size: None,
            body: None,
            smtputf8: false,
            auth: None,
            ret: None,
            envid: None,
            raw: TextRef::default(),
            has_other: false,
        };
        split_params(input, src, extra_spaces, utf8, |kw, value| {
            match fold8(kw) {
                SIZE => {
                    let v = value.ok_or(ParamError::InvalidValue("SIZE"))?;
                    let n = parse_decimal(v).ok_or(ParamError::InvalidValue("SIZE"))?;
                    set(&mut p.size, n, "SIZE")
                }
                BODY => {
                    let v = value.ok_or(ParamError::InvalidValue("BODY"))?;
                    let b = if fold8(v) == SEVEN_BIT {
                        Body::SevenBit
                    } else if fold8(v) == EIGHT_BIT_MIME {
                        Body::EightBitMime
                    } else if v.eq_ignore_ascii_case(b"BINARYMIME") {
                        Body::BinaryMime
                    } else {
                        return Err(ParamError::InvalidValue("BODY"));
                    };
                    set(&mut p.body, b, "BODY")
                }
                SMTPUTF8 => {
                    if value.is_some() {
                        return Err(ParamError::InvalidValue("SMTPUTF8"));
                    }
                    if p.smtputf8 {
                        return Err(ParamError::Duplicate("SMTPUTF8"));
                    }
                    p.smtputf8 = true;
                    Ok(())
                }
                AUTH => {
                    let v = value.ok_or(ParamError::InvalidValue("AUTH"))?;
                    if v != b"<>" {
                        xtext_check(v).ok_or(ParamError::InvalidValue("AUTH"))?;
                    }
                    set(&mut p.auth, src.text(v), "AUTH")
                }
                RET => {
                    let v = value.ok_or(ParamError::InvalidValue("RET"))?;
                    let r = if fold8(v) == FULL {
                        Ret::Full
                    } else if fold8(v) == HDRS {
                        Ret::Hdrs
                    } else {
                        return Err(ParamError::InvalidValue("RET"));
                    };
                    set(&mut p.ret, r, "RET")
                }
                ENVID => {
                    let v = value.ok_or(ParamError::InvalidValue("ENVID"))?;
                    let n = xtext_check(v).ok_or(ParamError::InvalidValue("ENVID"))?;
                    if n > 100 {
                        return Err(ParamError::InvalidValue("ENVID"));
                    }
                    set(&mut p.envid, src.text(v), "ENVID")
                }
                _ => {
                    p.has_other = true;
                    Ok(())
                }
            }
        })?;
        if p.has_other {
            p.raw = src.text(input);
        }
        Ok(p)
    }

    /// Unknown parameters, keyword and raw value, in order.
    pub fn other(&self) -> OtherParams<'a> {
        OtherParams {
            rest: self.raw.as_str(),
            known: is_known_mail,
        }
    }

    /// The owned [`MailParameters`], xtext decoded.
    #[inline(always)]
    pub fn to_owned(&self) -> MailParameters {
        // Built in place: the texts are written into the result only when present (a
        // value built apart and moved in would be copied whole, absent or not).
        let mut p = MailParameters {
            size: self.size,
            body: self.body,
            smtputf8: self.smtputf8,
            auth: None,
            ret: self.ret,
            envid: None,
            other: Vec::new(),
        };
        if let Some(a) = self.auth {
            p.auth = Some(xtext_decode_text(a));
        }
        if let Some(e) = self.envid {
            p.envid = Some(xtext_decode_text(e));
        }
        if self.has_other {
            p.other = self.other().map(owned_param).collect();
        }
        p
    }
}

/// [`RcptParameters`] borrowed from the command line: checked exactly as strictly, with
/// no allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RcptParametersRef<'a> {
    /// `NOTIFY=`.
    pub notify: Option<Notify>,
    /// `ORCPT=addr-type;xtext`: the address type and the (checked, still encoded) address.
    pub orcpt: Option<(TextRef<'a>, TextRef<'a>)>,
    raw: TextRef<'a>,
    has_other: bool,
}

impl<'a> RcptParametersRef<'a> {
    /// Parses the parameter text after the forward path.
    pub fn parse(input: &'a [u8], extra_spaces: bool, utf8: bool) -> Result<Self, ParamError> {
        Self::parse_in(input, Src::per_part(), extra_spaces, utf8)
    }

    #[inline(always)]
    pub(crate) fn parse_in(
        input: &'a [u8],
        src: Src<'a>,
        extra_spaces: bool,
        utf8: bool,
    ) -> Result<Self, ParamError> {
        let mut p = RcptParametersRef {
            notify: None,
            orcpt: None,
            raw: TextRef::default(),
            has_other: false,
        };
        split_params(input, src, extra_spaces, utf8, |kw, value| {
            let kwf = fold8(kw);
            if kwf == NOTIFY {
                let v = value.ok_or(ParamError::InvalidValue("NOTIFY"))?;
                set(&mut p.notify, parse_notify(v)?, "NOTIFY")
            } else if kwf == ORCPT {
                let v = value.ok_or(ParamError::InvalidValue("ORCPT"))?;
                let vb = v;
                let semi = vb
                    .iter()
                    .position(|&b| b == b';')
                    .ok_or(ParamError::InvalidValue("ORCPT"))?;
                let ty = vb.get(..semi).unwrap_or_default();
                let addr = vb.get(semi + 1..).unwrap_or_default();
                let ty_ok = ty.first().is_some_and(u8::is_ascii_alphanumeric)
                    && ty.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-');
                let n = xtext_check(addr).ok_or(ParamError::InvalidValue("ORCPT"))?;
                if !ty_ok || n == 0 || n > 500 {
                    return Err(ParamError::InvalidValue("ORCPT"));
                }
                set(&mut p.orcpt, (src.text(ty), src.text(addr)), "ORCPT")
            } else {
                p.has_other = true;
                Ok(())
            }
        })?;
        if p.has_other {
            p.raw = src.text(input);
        }
        Ok(p)
    }

    /// Unknown parameters, keyword and raw value, in order.
    pub fn other(&self) -> OtherParams<'a> {
        OtherParams {
            rest: self.raw.as_str(),
            known: is_known_rcpt,
        }
    }

    /// The owned [`RcptParameters`], xtext decoded.
    #[inline(always)]
    pub fn to_owned(&self) -> RcptParameters {
        // Built in place, as `MailParametersRef::to_owned`.
        let mut p = RcptParameters {
            notify: self.notify,
            orcpt: None,
            other: Vec::new(),
        };
        if let Some((ty, a)) = self.orcpt {
            p.orcpt = Some((ty.to_text(), xtext_decode_text(a)));
        }
        if self.has_other {
            p.other = self.other().map(owned_param).collect();
        }
        p
    }
}

impl MailParameters {
    /// Parses the parameter text after the reverse path.
    pub fn parse(input: &[u8], extra_spaces: bool, utf8: bool) -> Result<Self, ParamError> {
        MailParametersRef::parse(input, extra_spaces, utf8).map(|p| p.to_owned())
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

fn write_other(s: &mut String, other: &[(Text, Option<Text>)]) {
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
        RcptParametersRef::parse(input, extra_spaces, utf8).map(|p| p.to_owned())
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

#[inline]
fn parse_notify(v: &[u8]) -> Result<Notify, ParamError> {
    if fold8(v) == NEVER {
        return Ok(Notify::Never);
    }
    let (mut success, mut failure, mut delay) = (false, false, false);
    for part in v.split(|&b| b == b',') {
        let f = fold8(part);
        let flag = if f == SUCCESS {
            &mut success
        } else if f == FAILURE {
            &mut failure
        } else if f == DELAY {
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
#[inline]
fn parse_decimal(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 20 {
        return None;
    }
    if v.len() <= 19 {
        // At most 19 digits cannot overflow a u64: no checked arithmetic.
        let mut n = 0u64;
        let mut bad = false;
        for &b in v {
            let d = b.wrapping_sub(b'0');
            bad |= d > 9;
            n = n.wrapping_mul(10).wrapping_add(u64::from(d));
        }
        return (!bad).then_some(n);
    }
    v.iter().try_fold(0u64, |acc, &b| {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// Checks RFC 3461 xtext without decoding it into memory: the decoded length when
/// [`xtext_decode`] would succeed (well-formed, and the decoded octets are UTF-8).
#[inline]
fn xtext_check(bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    let mut len = 0;
    // UTF-8 continuation octets still expected, and the range allowed for the next one.
    let mut need = 0u8;
    let (mut lo, mut hi) = (0x80u8, 0xBFu8);
    while let Some(&b) = bytes.get(i) {
        let d = match b {
            b'+' => {
                let h = hex(*bytes.get(i + 1)?)?;
                let l = hex(*bytes.get(i + 2)?)?;
                i += 3;
                h * 16 + l
            }
            b'=' => return None,
            33..=126 => {
                i += 1;
                b
            }
            _ => return None,
        };
        len += 1;
        if need > 0 {
            if d < lo || d > hi {
                return None;
            }
            need -= 1;
            (lo, hi) = (0x80, 0xBF);
            continue;
        }
        match d {
            0x00..=0x7F => {}
            0xC2..=0xDF => need = 1,
            0xE0 => (need, lo) = (2, 0xA0),
            0xE1..=0xEC | 0xEE..=0xEF => need = 2,
            0xED => (need, hi) = (2, 0x9F),
            0xF0 => (need, lo) = (3, 0x90),
            0xF1..=0xF3 => need = 3,
            0xF4 => (need, hi) = (3, 0x8F),
            _ => return None,
        }
    }
    (need == 0).then_some(len)
}

/// An unknown parameter as owned text.
fn owned_param((k, v): (&str, Option<&str>)) -> (Text, Option<Text>) {
    (Text::from(k), v.map(Text::from))
}

/// A checked xtext value, decoded, as [`Text`]: copied as it is when it has no `+XX`
/// escape (the common case), else through [`xtext_decode`].
#[inline]
fn xtext_decode_text(v: TextRef<'_>) -> Text {
    if memchr::memchr(b'+', v.as_bytes()).is_none() {
        return v.to_text();
    }
    Text::from(xtext_decode(v.as_str()).unwrap_or_default())
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

    /// The loop-free `fold8` equals the octet-by-octet fold it replaced, for every length
    /// up to 9 and a spread of octets.
    #[test]
    fn fold8_matches_bytewise_fold() {
        let slow = |s: &[u8]| {
            if s.len() > 8 {
                u64::MAX
            } else {
                s.iter().fold(0, |w, &b| (w << 8) | u64::from(b | 0x20))
            }
        };
        let octets = [b'A', b'z', b'0', b'-', b'+', b'=', 0x7f, 0xc3, 0xff];
        for len in 0..=9 {
            for start in 0..octets.len() {
                let s: Vec<u8> = (0..len)
                    .map(|i| octets[(start + i * 7) % octets.len()])
                    .collect();
                assert_eq!(fold8(&s), slow(&s), "{s:?}");
            }
        }
        assert_eq!(fold8(b"SIZE"), SIZE);
        assert_eq!(fold8(b"SmtpUtf8"), SMTPUTF8);
        assert_eq!(fold8(b"8BITMIME"), EIGHT_BIT_MIME);
    }

    /// The unchecked loop for up to 19 digits gives what checked arithmetic gives, for
    /// every length up to 21 and digits, non-digits and the overflow edge.
    #[test]
    fn parse_decimal_matches_checked() {
        let checked = |v: &[u8]| -> Option<u64> {
            if v.is_empty() || v.len() > 20 {
                return None;
            }
            v.iter().try_fold(0u64, |acc, &b| {
                let d = b.wrapping_sub(b'0');
                if d > 9 {
                    return None;
                }
                acc.checked_mul(10)?.checked_add(u64::from(d))
            })
        };
        let octets = [b'0', b'1', b'9', b'/', b':', b'a', b' ', 0x00, 0xff, b'5'];
        for len in 0..=21 {
            for (i, &o) in octets.iter().enumerate() {
                for at in 0..len.max(1) {
                    let mut v: Vec<u8> = (0..len).map(|k| b"9876543210"[(k + i) % 10]).collect();
                    if let Some(b) = v.get_mut(at) {
                        *b = o;
                    }
                    assert_eq!(parse_decimal(&v), checked(&v), "{v:?}");
                }
            }
        }
        for v in [
            &b"18446744073709551615"[..],
            b"18446744073709551616",
            b"99999999999999999999",
            b"9999999999999999999",
            b"0000000000000000000",
        ] {
            assert_eq!(parse_decimal(v), checked(v), "{v:?}");
        }
        assert_eq!(parse_decimal(b"18446744073709551615"), Some(u64::MAX));
    }

    #[test]
    fn xtext() {
        assert_eq!(xtext_decode("+2b"), None);
        assert_eq!(xtext_decode("+2"), None);
        assert_eq!(xtext_decode("a=b"), None);
        assert_eq!(xtext_encode("ü"), "+C3+BC");
        assert_eq!(xtext_decode("+C3+BC").as_deref(), Some("ü"));
    }

    /// `xtext_check` accepts exactly what `xtext_decode` accepts, with the decoded length,
    /// for every escaped sequence of one and two octets and a wide sample of three and
    /// four (all lead octets, continuation octets around the 0x80..=0xBF edges).
    #[test]
    fn xtext_check_agrees_with_decode() {
        let same = |s: &str| {
            assert_eq!(
                xtext_check(s.as_bytes()),
                xtext_decode(s).map(|d| d.len()),
                "{s}"
            );
        };
        let edges: Vec<u8> = (0x70..=0xC2).chain([0x00, 0x2B, 0x41, 0xFF]).collect();
        for a in 0..=255u8 {
            same(&format!("+{a:02X}"));
            same(&format!("x+{a:02X}y"));
            for b in 0..=255u8 {
                same(&format!("+{a:02X}+{b:02X}"));
            }
            if a >= 0xC0 {
                for &b in &edges {
                    for &c in &edges {
                        same(&format!("+{a:02X}+{b:02X}+{c:02X}"));
                        if a >= 0xF0 {
                            same(&format!(
                                "+{a:02X}+{b:02X}+{c:02X}+{:02X}",
                                0x80 | (c & 0x3F)
                            ));
                            same(&format!("+{a:02X}+{b:02X}+{c:02X}+{c:02X}"));
                        }
                    }
                }
            }
        }
        for s in ["", "abc", "a=b", "+2b", "+", "+4", "a b", "<>", "+3D+2B"] {
            same(s);
        }
    }
}
