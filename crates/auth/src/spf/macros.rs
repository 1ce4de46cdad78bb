//! Macro strings and their expansion (RFC 7208 section 7).
//!
//! ```text
//! domain-spec      = macro-string domain-end
//! domain-end       = ( "." toplabel [ "." ] ) / macro-expand
//! toplabel         = ( *alphanum ALPHA *alphanum ) /
//!                    ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
//! explain-string   = *( macro-string / SP )
//! macro-string     = *( macro-expand / macro-literal )
//! macro-expand     = ( "%{" macro-letter transformers *delimiter "}" )
//!                    / "%%" / "%_" / "%-"
//! macro-literal    = %x21-24 / %x26-7E
//! macro-letter     = "s" / "l" / "o" / "d" / "i" / "p" / "h" / "c" / "r" / "t" / "v"
//! transformers     = *DIGIT [ "r" ]
//! delimiter        = "." / "-" / "+" / "," / "/" / "_" / "="
//! ```

use std::fmt;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char, one_of, satisfy};
use nom::combinator::{map, opt, value};
use nom::multi::many0;
use nom::sequence::delimited;
use nom::{IResult, Parser};

use super::error::{RecordError, snippet};

/// A macro letter (RFC 7208 7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Letter {
    /// `s`: the sender.
    S,
    /// `l`: the local-part of the sender.
    L,
    /// `o`: the domain of the sender.
    O,
    /// `d`: the current domain.
    D,
    /// `i`: the client IP address, dotted (IPv4) or dotted nibbles (IPv6).
    I,
    /// `p`: the validated domain name of the client IP (5.5).
    P,
    /// `v`: `in-addr` or `ip6`.
    V,
    /// `h`: the HELO/EHLO domain.
    H,
    /// `c`: the client IP in readable form (explanations only).
    C,
    /// `r`: the receiving host's domain name (explanations only).
    R,
    /// `t`: the current time in seconds (explanations only).
    T,
}

impl Letter {
    fn from_char(c: char) -> Option<Self> {
        Some(match c.to_ascii_lowercase() {
            's' => Self::S,
            'l' => Self::L,
            'o' => Self::O,
            'd' => Self::D,
            'i' => Self::I,
            'p' => Self::P,
            'v' => Self::V,
            'h' => Self::H,
            'c' => Self::C,
            'r' => Self::R,
            't' => Self::T,
            _ => return None,
        })
    }

    fn explanation_only(self) -> bool {
        matches!(self, Self::C | Self::R | Self::T)
    }
}

/// One piece of a macro string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    /// Literal text, copied as is.
    Literal(String),
    /// `%{...}`.
    Macro {
        letter: Letter,
        /// The letter was upper case: URL-escape the expansion.
        escape: bool,
        /// Keep this many right-hand parts (never 0).
        digits: Option<u32>,
        /// Reverse the parts first.
        reverse: bool,
        /// Split on these characters (empty: `.`).
        delimiters: String,
    },
    /// `%%`.
    Percent,
    /// `%_`.
    Space,
    /// `%-`.
    UrlSpace,
}

/// A macro string as written in a record: a domain-spec (`include:`, `a:`, `mx:`,
/// `ptr:`, `exists:`, `redirect=`, `exp=`), an unknown modifier's value, or an
/// explanation string fetched by `exp=` (RFC 7208 section 7.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroString {
    text: String,
    tokens: Vec<Token>,
}

impl MacroString {
    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub(crate) fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// Parses a `domain-spec` of a record (no `c`, `r`, `t` macros).
    pub(crate) fn domain_spec(text: &str) -> Result<Self, RecordError> {
        let m = Self::parse(text, false, false)?;
        if !m.has_domain_end() {
            return Err(RecordError::InvalidDomainSpec(snippet(text)));
        }
        Ok(m)
    }

    /// Parses the value of an unknown modifier (a macro-string, possibly empty).
    pub(crate) fn modifier_value(text: &str) -> Result<Self, RecordError> {
        Self::parse(text, false, false)
    }

    /// Parses an explanation string (RFC 7208 6.2): spaces allowed, and `c`, `r`, `t`.
    pub fn explanation(text: &str) -> Result<Self, RecordError> {
        if !text.is_ascii() {
            return Err(RecordError::NotAscii);
        }
        Self::parse(text, true, true)
    }

    fn parse(text: &str, spaces: bool, exp_letters: bool) -> Result<Self, RecordError> {
        let literal =
            take_while1(|c: char| (c == ' ' && spaces) || (('!'..='~').contains(&c) && c != '%'));
        let mut tokens = many0(alt((
            map(literal, |s: &str| Token::Literal(s.to_owned())),
            macro_expand,
        )));
        let bad = || RecordError::InvalidMacro(snippet(text));
        let (rest, tokens) = tokens.parse(text).map_err(|_: nom::Err<()>| bad())?;
        if !rest.is_empty() {
            // A '%' not starting a macro, or a byte no macro-literal allows.
            return Err(if rest.starts_with('%') {
                bad()
            } else {
                RecordError::InvalidDomainSpec(snippet(text))
            });
        }
        for t in &tokens {
            if let Token::Macro { letter, digits, .. } = t
                && ((letter.explanation_only() && !exp_letters) || *digits == Some(0))
            {
                return Err(bad());
            }
        }
        Ok(Self {
            text: text.to_owned(),
            tokens,
        })
    }

    /// `domain-end = ( "." toplabel [ "." ] ) / macro-expand`.
    fn has_domain_end(&self) -> bool {
        match self.tokens.last() {
            None => false,
            Some(Token::Literal(s)) => {
                let s = s.strip_suffix('.').unwrap_or(s);
                match s.rfind('.') {
                    Some(dot) => is_toplabel(&s[dot + 1..]),
                    None => false,
                }
            }
            Some(_) => true,
        }
    }
}

impl fmt::Display for MacroString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )`
fn is_toplabel(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-') {
        return false;
    }
    if b.contains(&b'-') {
        b[0].is_ascii_alphanumeric() && b[b.len() - 1].is_ascii_alphanumeric()
    } else {
        b.iter().any(|c| c.is_ascii_alphabetic())
    }
}

fn macro_expand(i: &str) -> IResult<&str, Token, ()> {
    alt((
        value(Token::Percent, tag("%%")),
        value(Token::Space, tag("%_")),
        value(Token::UrlSpace, tag("%-")),
        delimited(tag("%{"), macro_body, char('}')),
    ))
    .parse(i)
}

fn macro_body(i: &str) -> IResult<&str, Token, ()> {
    let (i, c) = satisfy(|c| Letter::from_char(c).is_some()).parse(i)?;
    let (i, digits) = take_while(|c: char| c.is_ascii_digit()).parse(i)?;
    let (i, reverse) = opt(one_of("rR")).parse(i)?;
    let (i, delimiters) = take_while(|c: char| ".-+,/_=".contains(c)).parse(i)?;
    let letter = Letter::from_char(c).ok_or(nom::Err::Error(()))?;
    let digits = if digits.is_empty() {
        None
    } else {
        // Saturates: "more parts than are available" means all of them.
        Some(digits.bytes().fold(0u32, |n, d| {
            n.saturating_mul(10).saturating_add(u32::from(d - b'0'))
        }))
    };
    Ok((
        i,
        Token::Macro {
            letter,
            escape: c.is_ascii_uppercase(),
            digits,
            reverse: reverse.is_some(),
            delimiters: delimiters.to_owned(),
        },
    ))
}

/// What an expansion is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// A domain name to query: longer than 253 octets, the left-most labels are dropped
    /// (RFC 7208 7.3); a trailing dot is dropped.
    Domain,
    /// Explanation text: kept as is, cut at [`MAX_EXPLANATION`] octets.
    Explanation,
}

/// The longest domain name the expansion keeps (RFC 7208 7.3, 4.8).
pub(crate) const MAX_DOMAIN: usize = 253;
/// The longest explanation kept; the rest is cut.
pub(crate) const MAX_EXPLANATION: usize = 1024;
/// A domain expansion without a dot to cut at grows no further than this; the result is
/// then not a domain name.
const MAX_LABEL_RUN: usize = 1024;

/// Expands `tokens`, asking `value` for each macro letter's value.
pub(crate) fn expand<E>(
    tokens: &[Token],
    target: Target,
    mut value: impl FnMut(Letter) -> Result<String, E>,
) -> Result<String, E> {
    let mut out = String::new();
    for token in tokens {
        match token {
            Token::Literal(s) => out.push_str(s),
            Token::Percent => out.push('%'),
            Token::Space => out.push(' '),
            Token::UrlSpace => out.push_str("%20"),
            Token::Macro {
                letter,
                escape,
                digits,
                reverse,
                delimiters,
            } => {
                let v = value(*letter)?;
                let v = transform(&v, *digits, *reverse, delimiters);
                if *escape {
                    url_escape(&v, &mut out);
                } else {
                    out.push_str(&v);
                }
            }
        }
        match target {
            Target::Domain => {
                // Dropping left labels now is what dropping them at the end would do:
                // while this prefix is too long, so is every string it begins.
                while out.len() > MAX_DOMAIN + 1 {
                    match out.find('.') {
                        Some(dot) => {
                            out.drain(..=dot);
                        }
                        None => break,
                    }
                }
                if out.len() > MAX_LABEL_RUN {
                    cut(&mut out, MAX_LABEL_RUN);
                    return Ok(out);
                }
            }
            Target::Explanation => {
                if out.len() > MAX_EXPLANATION {
                    cut(&mut out, MAX_EXPLANATION);
                    return Ok(out);
                }
            }
        }
    }
    if target == Target::Domain {
        if out.ends_with('.') {
            out.pop();
        }
        while out.len() > MAX_DOMAIN {
            match out.find('.') {
                Some(dot) => {
                    out.drain(..=dot);
                }
                None => break,
            }
        }
    }
    Ok(out)
}

/// Cuts `s` to at most `max` octets, on a character boundary (values may be UTF-8).
fn cut(s: &mut String, max: usize) {
    let mut at = max.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    s.truncate(at);
}

/// Splits on the delimiters, reverses, keeps the right-most `digits` parts, joins with
/// dots (RFC 7208 7.3).
fn transform(v: &str, digits: Option<u32>, reverse: bool, delimiters: &str) -> String {
    if digits.is_none() && !reverse && (delimiters.is_empty() || delimiters == ".") {
        return v.to_owned();
    }
    let delims = if delimiters.is_empty() {
        "."
    } else {
        delimiters
    };
    let mut parts: Vec<&str> = v.split(|c: char| delims.contains(c)).collect();
    if reverse {
        parts.reverse();
    }
    let keep = digits.map_or(parts.len(), |d| parts.len().min(d as usize));
    parts[parts.len() - keep..].join(".")
}

/// URL-escapes everything outside `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"`
/// (RFC 7208 7.3, RFC 3986), upper-case hex.
fn url_escape(v: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values of RFC 7208 section 7.4's examples (IPv4 client).
    fn example(letter: Letter) -> Result<String, ()> {
        Ok(match letter {
            Letter::S => "strong-bad@email.example.com",
            Letter::L => "strong-bad",
            Letter::O | Letter::D => "email.example.com",
            Letter::I => "192.0.2.3",
            Letter::V => "in-addr",
            Letter::H => "mx.example.org",
            Letter::C => "192.0.2.3",
            Letter::R => "unknown",
            Letter::T => "1700000000",
            Letter::P => "unknown",
        }
        .to_owned())
    }

    fn example6(letter: Letter) -> Result<String, ()> {
        match letter {
            Letter::I => {
                Ok("2.0.0.1.0.D.B.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.C.B.0.1".to_owned())
            }
            Letter::V => Ok("ip6".to_owned()),
            other => example(other),
        }
    }

    fn domain(spec: &str, values: fn(Letter) -> Result<String, ()>) -> String {
        let m = MacroString::domain_spec(spec).unwrap();
        expand(m.tokens(), Target::Domain, values).unwrap()
    }

    #[test]
    fn rfc7208_7_4_examples() {
        let cases = [
            ("%{s}", "strong-bad@email.example.com"),
            ("%{o}", "email.example.com"),
            ("%{d}", "email.example.com"),
            ("%{d4}", "email.example.com"),
            ("%{d3}", "email.example.com"),
            ("%{d2}", "example.com"),
            ("%{d1}", "com"),
            ("%{dr}", "com.example.email"),
            ("%{d2r}", "example.email"),
            ("%{l}", "strong-bad"),
            ("%{l-}", "strong.bad"),
            ("%{lr}", "strong-bad"),
            ("%{lr-}", "bad.strong"),
            ("%{l1r-}", "strong"),
        ];
        for (spec, want) in cases {
            let m = MacroString::modifier_value(spec).unwrap();
            assert_eq!(
                expand(m.tokens(), Target::Domain, example).unwrap(),
                want,
                "{spec}"
            );
        }
        assert_eq!(
            domain("%{ir}.%{v}._spf.%{d2}", example),
            "3.2.0.192.in-addr._spf.example.com"
        );
        assert_eq!(
            domain("%{lr-}.lp._spf.%{d2}", example),
            "bad.strong.lp._spf.example.com"
        );
        assert_eq!(
            domain("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", example),
            "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"
        );
        assert_eq!(
            domain("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", example),
            "3.2.0.192.in-addr.strong.lp._spf.example.com"
        );
        assert_eq!(
            domain("%{d2}.trusted-domains.example.net", example),
            "example.com.trusted-domains.example.net"
        );
        // The RFC writes the nibbles in lower case; this crate writes them in upper case
        // as the conformance suite's v-macro-ip6 test expects. DNS names compare without
        // regard to case (RFC 4343), and the query name is lowered (dns::Query::new).
        let ip6 = domain("%{ir}.%{v}._spf.%{d2}", example6);
        assert_eq!(
            ip6.to_ascii_lowercase(),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
        );
    }

    #[test]
    fn escapes_and_url_encoding() {
        let m = MacroString::domain_spec("macro%%percent%_%_space%-url-space.example.com").unwrap();
        assert_eq!(
            expand(m.tokens(), Target::Domain, example).unwrap(),
            "macro%percent  space%20url-space.example.com"
        );
        let m = MacroString::explanation("l=%{L} s=%{S}").unwrap();
        let v = |l: Letter| -> Result<String, ()> {
            Ok(match l {
                Letter::L => "~jack&jill=up-a_b3.c".to_owned(),
                _ => "a b@c".to_owned(),
            })
        };
        assert_eq!(
            expand(m.tokens(), Target::Explanation, v).unwrap(),
            "l=~jack%26jill%3Dup-a_b3.c s=a%20b%40c"
        );
    }

    #[test]
    fn multiple_delimiters_and_large_digits() {
        let m = MacroString::domain_spec("%{l2r+-}.user.%{d99999999999}").unwrap();
        let v = |l: Letter| -> Result<String, ()> {
            Ok(match l {
                Letter::L => "foo-bar+zip+quux".to_owned(),
                _ => "example.com".to_owned(),
            })
        };
        assert_eq!(
            expand(m.tokens(), Target::Domain, v).unwrap(),
            "bar.foo.user.example.com"
        );
    }

    #[test]
    fn syntax_errors() {
        for bad in [
            "%(ir).sbl.example.com",
            "foo%.sbl.example.com",
            "%{a}.example.com",
            "%{d0}.example.com",
            "%{d",
            "%",
            "a b.example.com",
        ] {
            assert!(MacroString::domain_spec(bad).is_err(), "{bad}");
        }
        // c, r, t only in explanations
        for letter in ["c", "r", "t", "C"] {
            let spec = format!("%{{{letter}}}.example.com");
            assert!(MacroString::domain_spec(&spec).is_err(), "{spec}");
            assert!(MacroString::explanation(&spec).is_ok(), "{spec}");
        }
        assert!(MacroString::explanation("The %{x}-files.").is_err());
        assert!(MacroString::explanation("caf\u{e9}").is_err());
        assert_eq!(
            MacroString::explanation("").unwrap().tokens(),
            &[] as &[Token]
        );
    }

    #[test]
    fn domain_end() {
        for good in [
            "example.com",
            "example.com.",
            "%{d}",
            "%{d}.com",
            "foo:bar/baz.example.com",
            "foo.example.xn--zckzah",
            "a.123-4",
            "x.%%",
        ] {
            assert!(MacroString::domain_spec(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "foo-bar",
            "museum",
            "museum.",
            "abc.123",
            "111.222.33.44",
            "example.-com",
            "example.com-",
            "example.com:8080",
            "example.com/24",
            "%{d}com",
            "example.com..",
        ] {
            assert!(MacroString::domain_spec(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn long_expansions_drop_left_labels() {
        let o = "somewhat.long.exp.example.com";
        let m =
            MacroString::domain_spec("foobar.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.example.com")
                .unwrap();
        let got = expand(m.tokens(), Target::Domain, |_| Ok::<_, ()>(o.to_owned())).unwrap();
        assert_eq!(got, format!("{}example.com", format!("{o}.").repeat(8)));
        assert!(got.len() <= MAX_DOMAIN);
        // one long label with no dot: bounded, and no domain name
        let m = MacroString::domain_spec("%{s}%{s}%{s}%{s}").unwrap();
        let long = "x".repeat(100_000);
        let got = expand(m.tokens(), Target::Domain, |_| Ok::<_, ()>(long.clone())).unwrap();
        assert!(got.len() <= MAX_LABEL_RUN);
        // The cut of a long run of non-ASCII text falls on a character boundary.
        let m = MacroString::domain_spec("x%{l}").unwrap();
        let got = expand(m.tokens(), Target::Domain, |_| {
            Ok::<_, ()>("\u{e9}".repeat(3000))
        })
        .unwrap();
        assert!(got.len() <= MAX_LABEL_RUN && got.starts_with("x\u{e9}"));
        let m = MacroString::explanation("%{s} %{s}").unwrap();
        let got = expand(m.tokens(), Target::Explanation, |_| {
            Ok::<_, ()>("\u{e9}".repeat(10_000))
        })
        .unwrap();
        assert!(got.len() <= MAX_EXPLANATION);
    }
}
