//! SPF records (RFC 7208 sections 4.5, 4.6, 5, 6 and 12).
//!
//! ```text
//! record           = version terms *SP
//! version          = "v=spf1"
//! terms            = *( 1*SP ( directive / modifier ) )
//! directive        = [ qualifier ] mechanism
//! qualifier        = "+" / "-" / "?" / "~"
//! mechanism        = ( all / include / a / mx / ptr / ip4 / ip6 / exists )
//! all              = "all"
//! include          = "include"  ":" domain-spec
//! a                = "a"      [ ":" domain-spec ] [ dual-cidr-length ]
//! mx               = "mx"     [ ":" domain-spec ] [ dual-cidr-length ]
//! ptr              = "ptr"    [ ":" domain-spec ]
//! ip4              = "ip4"      ":" ip4-network   [ ip4-cidr-length ]
//! ip6              = "ip6"      ":" ip6-network   [ ip6-cidr-length ]
//! exists           = "exists"   ":" domain-spec
//! modifier         = redirect / explanation / unknown-modifier
//! redirect         = "redirect" "=" domain-spec
//! explanation      = "exp" "=" domain-spec
//! unknown-modifier = name "=" macro-string
//! name             = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
//! ip4-cidr-length  = "/" ("0" / %x31-39 0*1DIGIT) ; value range 0-32
//! ip6-cidr-length  = "/" ("0" / %x31-39 0*2DIGIT) ; value range 0-128
//! dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char, digit1, one_of, satisfy};
use nom::combinator::{all_consuming, opt, recognize};
use nom::sequence::{pair, preceded};
use nom::{IResult, Parser};

use super::SpfResult;
use super::error::{RecordError, snippet};
use super::macros::MacroString;

/// A directive's qualifier (RFC 7208 4.6.2): the result when its mechanism matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qualifier {
    /// `+` (the default): `pass`.
    Pass,
    /// `-`: `fail`.
    Fail,
    /// `~`: `softfail`.
    SoftFail,
    /// `?`: `neutral`.
    Neutral,
}

impl Qualifier {
    /// The result it gives.
    pub fn result(self) -> SpfResult {
        match self {
            Self::Pass => SpfResult::Pass,
            Self::Fail => SpfResult::Fail,
            Self::SoftFail => SpfResult::SoftFail,
            Self::Neutral => SpfResult::Neutral,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "",
            Self::Fail => "-",
            Self::SoftFail => "~",
            Self::Neutral => "?",
        }
    }
}

/// A mechanism (RFC 7208 section 5).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mechanism {
    /// `all`: always matches.
    All,
    /// `include:domain-spec`: matches when the other domain's check passes.
    Include(MacroString),
    /// `a[:domain-spec][/cidr4][//cidr6]`: the client is one of the domain's addresses.
    A {
        /// The target; `None` is the current domain.
        domain: Option<MacroString>,
        /// IPv4 prefix length (32 when absent).
        cidr4: u8,
        /// IPv6 prefix length (128 when absent).
        cidr6: u8,
    },
    /// `mx[:domain-spec][/cidr4][//cidr6]`: the client is an address of one of the
    /// domain's mail exchangers.
    Mx {
        /// The target; `None` is the current domain.
        domain: Option<MacroString>,
        /// IPv4 prefix length (32 when absent).
        cidr4: u8,
        /// IPv6 prefix length (128 when absent).
        cidr6: u8,
    },
    /// `ptr[:domain-spec]`: a validated reverse name of the client is in the domain
    /// (deprecated by RFC 7208 5.5, still evaluated).
    Ptr(Option<MacroString>),
    /// `ip4:network[/cidr]`.
    Ip4 {
        /// The network.
        addr: Ipv4Addr,
        /// Prefix length, 0 to 32.
        prefix: u8,
    },
    /// `ip6:network[/cidr]`.
    Ip6 {
        /// The network.
        addr: Ipv6Addr,
        /// Prefix length, 0 to 128.
        prefix: u8,
    },
    /// `exists:domain-spec`: the name has an A record.
    Exists(MacroString),
}

impl Mechanism {
    /// Whether evaluating it asks the DNS (and so counts toward the limit of 10 of RFC
    /// 7208 4.6.4).
    pub fn queries_dns(&self) -> bool {
        matches!(
            self,
            Self::Include(_) | Self::A { .. } | Self::Mx { .. } | Self::Ptr(_) | Self::Exists(_)
        )
    }
}

/// A qualifier and a mechanism.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Directive {
    /// The result when the mechanism matches.
    pub qualifier: Qualifier,
    /// What is tested.
    pub mechanism: Mechanism,
}

/// A parsed `v=spf1` record.
///
/// ```
/// use postwerk_auth::spf::{Mechanism, SpfRecord};
///
/// let r = SpfRecord::parse("v=spf1 ip4:192.0.2.0/24 a:mail.example.com -all exp=why.%{d}")
///     .unwrap();
/// assert_eq!(r.directives().len(), 3);
/// assert!(matches!(r.directives()[0].mechanism, Mechanism::Ip4 { prefix: 24, .. }));
/// assert_eq!(r.explanation().unwrap().as_str(), "why.%{d}");
/// assert!(SpfRecord::parse("v=spf1 -all moo").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpfRecord {
    directives: Vec<Directive>,
    redirect: Option<MacroString>,
    explanation: Option<MacroString>,
    unknown_modifiers: Vec<(String, MacroString)>,
}

impl SpfRecord {
    /// Parses a record (the TXT record's strings already joined). The whole record is
    /// checked, so a syntax error anywhere is found before evaluation (RFC 7208 4.6).
    pub fn parse(text: &str) -> Result<Self, RecordError> {
        let rest = strip_version(text.as_bytes()).ok_or(RecordError::NoVersion)?;
        if !rest.iter().all(|b| (b' '..=b'~').contains(b)) {
            return Err(RecordError::NotAscii);
        }
        // All bytes are printable ASCII: the slice is valid UTF-8 at any offset.
        let rest = &text[text.len() - rest.len()..];
        let mut record = SpfRecord {
            directives: Vec::new(),
            redirect: None,
            explanation: None,
            unknown_modifiers: Vec::new(),
        };
        for term in rest.split(' ').filter(|t| !t.is_empty()) {
            record.push_term(term)?;
        }
        Ok(record)
    }

    fn push_term(&mut self, term: &str) -> Result<(), RecordError> {
        if let Ok((value, name)) = modifier_name(term) {
            let value = &value[1..]; // '=' checked by modifier_name
            if name.eq_ignore_ascii_case("redirect") || name.eq_ignore_ascii_case("exp") {
                let spec = MacroString::domain_spec(value)?;
                let (slot, which) = if name.eq_ignore_ascii_case("exp") {
                    (&mut self.explanation, "exp")
                } else {
                    (&mut self.redirect, "redirect")
                };
                if slot.is_some() {
                    return Err(RecordError::DuplicateModifier(which));
                }
                *slot = Some(spec);
            } else {
                let value = MacroString::modifier_value(value)
                    .map_err(|_| RecordError::InvalidModifier(snippet(term)))?;
                self.unknown_modifiers.push((name.to_owned(), value));
            }
            return Ok(());
        }
        self.directives.push(directive(term)?);
        Ok(())
    }

    /// The directives, in order.
    pub fn directives(&self) -> &[Directive] {
        &self.directives
    }

    /// `redirect=`, if present.
    pub fn redirect(&self) -> Option<&MacroString> {
        self.redirect.as_ref()
    }

    /// `exp=`, if present.
    pub fn explanation(&self) -> Option<&MacroString> {
        self.explanation.as_ref()
    }

    /// Unknown modifiers (`name=value`), syntax-checked and otherwise ignored (RFC 7208
    /// 6).
    pub fn unknown_modifiers(&self) -> &[(String, MacroString)] {
        &self.unknown_modifiers
    }

    /// Whether the record has an `all` mechanism (then `redirect=` is ignored, 6.1).
    pub fn has_all(&self) -> bool {
        self.directives
            .iter()
            .any(|d| matches!(d.mechanism, Mechanism::All))
    }
}

/// `v=spf1` (any case) followed by a space or the end (RFC 7208 4.5): the rest.
pub(crate) fn strip_version(text: &[u8]) -> Option<&[u8]> {
    let head = text.get(..6)?;
    if !head.eq_ignore_ascii_case(b"v=spf1") {
        return None;
    }
    let rest = &text[6..];
    match rest.first() {
        None | Some(b' ') => Some(rest),
        Some(_) => None,
    }
}

/// `name "="`: the name, and the input from the `=` on.
fn modifier_name(i: &str) -> IResult<&str, &str, ()> {
    let (rest, name) = recognize(pair(
        satisfy(|c| c.is_ascii_alphabetic()),
        take_while(|c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')),
    ))
    .parse(i)?;
    if rest.starts_with('=') {
        Ok((rest, name))
    } else {
        Err(nom::Err::Error(()))
    }
}

fn directive(term: &str) -> Result<Directive, RecordError> {
    let parsed: IResult<&str, (Option<char>, &str), ()> = pair(
        opt(one_of("+-?~")),
        take_while1(|c: char| c.is_ascii_alphanumeric()),
    )
    .parse(term);
    let Ok((args, (q, name))) = parsed else {
        return Err(RecordError::UnknownMechanism(snippet(term)));
    };
    let qualifier = match q {
        Some('-') => Qualifier::Fail,
        Some('~') => Qualifier::SoftFail,
        Some('?') => Qualifier::Neutral,
        _ => Qualifier::Pass,
    };
    let invalid = || RecordError::InvalidMechanism(snippet(term));
    let name = name.to_ascii_lowercase();
    let mechanism = match name.as_str() {
        "all" if args.is_empty() => Mechanism::All,
        "include" | "exists" => {
            let spec = args.strip_prefix(':').ok_or_else(invalid)?;
            let spec = MacroString::domain_spec(spec)?;
            if name == "include" {
                Mechanism::Include(spec)
            } else {
                Mechanism::Exists(spec)
            }
        }
        "a" | "mx" => {
            let (head, cidr4, cidr6) = dual_cidr(args, term)?;
            let domain = match head {
                "" => None,
                _ => Some(MacroString::domain_spec(
                    head.strip_prefix(':').ok_or_else(invalid)?,
                )?),
            };
            if name == "a" {
                Mechanism::A {
                    domain,
                    cidr4,
                    cidr6,
                }
            } else {
                Mechanism::Mx {
                    domain,
                    cidr4,
                    cidr6,
                }
            }
        }
        "ptr" => match args {
            "" => Mechanism::Ptr(None),
            _ => Mechanism::Ptr(Some(MacroString::domain_spec(
                args.strip_prefix(':').ok_or_else(invalid)?,
            )?)),
        },
        "ip4" => {
            let net = args.strip_prefix(':').ok_or_else(invalid)?;
            let (addr, prefix) = all_consuming(pair(ip4_network, opt(cidr_length)))
                .parse(net)
                .map(|(_, v)| v)
                .map_err(|_: nom::Err<()>| RecordError::InvalidAddress(snippet(term)))?;
            let prefix = check_cidr(prefix, 32, term)?.unwrap_or(32);
            Mechanism::Ip4 { addr, prefix }
        }
        "ip6" => {
            let net = args.strip_prefix(':').ok_or_else(invalid)?;
            let (addr, cidr) = match net.find('/') {
                Some(slash) => (&net[..slash], Some(&net[slash..])),
                None => (net, None),
            };
            let addr: Ipv6Addr = addr
                .parse()
                .map_err(|_| RecordError::InvalidAddress(snippet(term)))?;
            let prefix = match cidr {
                None => 128,
                Some(c) => {
                    let (_, digits) = all_consuming(cidr_length)
                        .parse(c)
                        .map_err(|_: nom::Err<()>| RecordError::InvalidCidr(snippet(term)))?;
                    check_cidr(Some(digits), 128, term)?.unwrap_or(128)
                }
            };
            Mechanism::Ip6 { addr, prefix }
        }
        "all" => return Err(invalid()),
        _ => return Err(RecordError::UnknownMechanism(snippet(term))),
    };
    Ok(Directive {
        qualifier,
        mechanism,
    })
}

/// Splits `[ ":" domain-spec ] [ "/" cidr4 ] [ "//" cidr6 ]` from the right: the head and
/// the two lengths (32 and 128 when absent).
fn dual_cidr<'a>(args: &'a str, term: &str) -> Result<(&'a str, u8, u8), RecordError> {
    fn trailing_digits(s: &str) -> Option<(&str, &str)> {
        let start = s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        (start < s.len()).then(|| (&s[..start], &s[start..]))
    }
    let mut head = args;
    let mut cidr6 = None;
    let mut cidr4 = None;
    if let Some((before, digits)) = trailing_digits(head)
        && let Some(h) = before.strip_suffix("//")
    {
        cidr6 = Some(digits);
        head = h;
    }
    if let Some((before, digits)) = trailing_digits(head)
        && let Some(h) = before.strip_suffix('/')
        && !h.ends_with('/')
    {
        cidr4 = Some(digits);
        head = h;
    }
    let c4 = check_cidr(cidr4, 32, term)?.unwrap_or(32);
    let c6 = check_cidr(cidr6, 128, term)?.unwrap_or(128);
    Ok((head, c4, c6))
}

/// `"0" / %x31-39 *DIGIT`, at most `max`.
fn check_cidr(digits: Option<&str>, max: u8, term: &str) -> Result<Option<u8>, RecordError> {
    let Some(d) = digits else { return Ok(None) };
    let bad = || RecordError::InvalidCidr(snippet(term));
    if d.len() > 3 || (d.len() > 1 && d.starts_with('0')) {
        return Err(bad());
    }
    let n: u8 = d.parse().map_err(|_| bad())?;
    if n > max {
        return Err(bad());
    }
    Ok(Some(n))
}

fn cidr_length(i: &str) -> IResult<&str, &str, ()> {
    preceded(char('/'), digit1).parse(i)
}

/// `qnum "." qnum "." qnum "." qnum`, no leading zeros.
fn ip4_network(i: &str) -> IResult<&str, Ipv4Addr, ()> {
    let (i, (a, _, b, _, c, _, d)) =
        (qnum, tag("."), qnum, tag("."), qnum, tag("."), qnum).parse(i)?;
    Ok((i, Ipv4Addr::new(a, b, c, d)))
}

fn qnum(i: &str) -> IResult<&str, u8, ()> {
    let (rest, d) = digit1(i)?;
    if d.len() > 3 || (d.len() > 1 && d.starts_with('0')) {
        return Err(nom::Err::Error(()));
    }
    let n = d.parse::<u8>().map_err(|_| nom::Err::Error(()))?;
    Ok((rest, n))
}

/// Whether `ip` is in `net/prefix` (both of one family; never across families).
pub(crate) fn in_network(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

fn write_dual(
    f: &mut fmt::Formatter<'_>,
    domain: &Option<MacroString>,
    c4: u8,
    c6: u8,
) -> fmt::Result {
    if let Some(d) = domain {
        write!(f, ":{d}")?;
    }
    if c4 != 32 {
        write!(f, "/{c4}")?;
    }
    if c6 != 128 {
        write!(f, "//{c6}")?;
    }
    Ok(())
}

impl fmt::Display for Directive {
    /// The directive as a record would write it, e.g. `-ip4:192.0.2.0/24`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.qualifier.as_str())?;
        match &self.mechanism {
            Mechanism::All => f.write_str("all"),
            Mechanism::Include(d) => write!(f, "include:{d}"),
            Mechanism::A {
                domain,
                cidr4,
                cidr6,
            } => {
                f.write_str("a")?;
                write_dual(f, domain, *cidr4, *cidr6)
            }
            Mechanism::Mx {
                domain,
                cidr4,
                cidr6,
            } => {
                f.write_str("mx")?;
                write_dual(f, domain, *cidr4, *cidr6)
            }
            Mechanism::Ptr(None) => f.write_str("ptr"),
            Mechanism::Ptr(Some(d)) => write!(f, "ptr:{d}"),
            Mechanism::Ip4 { addr, prefix } => write!(f, "ip4:{addr}/{prefix}"),
            Mechanism::Ip6 { addr, prefix } => write!(f, "ip6:{addr}/{prefix}"),
            Mechanism::Exists(d) => write!(f, "exists:{d}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mech(term: &str) -> Mechanism {
        directive(term).unwrap().mechanism
    }

    #[test]
    fn version() {
        assert!(SpfRecord::parse("v=spf1").is_ok());
        assert!(SpfRecord::parse("V=SpF1 -all").is_ok());
        assert!(SpfRecord::parse("v=spf1 -all ").is_ok());
        assert!(SpfRecord::parse("v=spf1  a  -all").is_ok());
        assert_eq!(SpfRecord::parse("v=spf10"), Err(RecordError::NoVersion));
        assert_eq!(SpfRecord::parse("v=spf1mx"), Err(RecordError::NoVersion));
        assert_eq!(SpfRecord::parse("spf1"), Err(RecordError::NoVersion));
        assert_eq!(
            SpfRecord::parse("v=spf1 a:ctrl.example.com\rptr -all"),
            Err(RecordError::NotAscii)
        );
        assert_eq!(
            SpfRecord::parse("v=spf1 \u{80}a:example.net -all"),
            Err(RecordError::NotAscii)
        );
    }

    #[test]
    fn mechanisms() {
        assert_eq!(
            directive("?all").unwrap(),
            Directive {
                qualifier: Qualifier::Neutral,
                mechanism: Mechanism::All
            }
        );
        assert!(matches!(
            mech("a/24//64"),
            Mechanism::A {
                domain: None,
                cidr4: 24,
                cidr6: 64
            }
        ));
        assert!(matches!(
            mech("A//0"),
            Mechanism::A {
                domain: None,
                cidr4: 32,
                cidr6: 0
            }
        ));
        match mech("mx:foo:bar/baz.example.com/24") {
            Mechanism::Mx {
                domain: Some(d),
                cidr4: 24,
                cidr6: 128,
            } => assert_eq!(d.as_str(), "foo:bar/baz.example.com"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            mech("ip4:1.2.3.4"),
            Mechanism::Ip4 {
                addr: Ipv4Addr::new(1, 2, 3, 4),
                prefix: 32
            }
        );
        assert_eq!(
            mech("ip6:Cafe:Babe:8000::/33"),
            Mechanism::Ip6 {
                addr: "cafe:babe:8000::".parse().unwrap(),
                prefix: 33
            }
        );
        assert_eq!(
            mech("ip6:::1.1.1.1/0"),
            Mechanism::Ip6 {
                addr: "::1.1.1.1".parse().unwrap(),
                prefix: 0
            }
        );
        assert!(matches!(mech("ptr"), Mechanism::Ptr(None)));
        assert!(matches!(
            mech("exists:%{i}.bl.example.org"),
            Mechanism::Exists(_)
        ));
    }

    #[test]
    fn invalid_terms() {
        for bad in [
            "-all.",
            "-all:foobar",
            "-all/8",
            "ptr/0",
            "ptr:",
            "a:",
            "a/33",
            "a//129",
            "a/24/64",
            "a/032",
            "a:example.com:8080",
            "a:abc.123",
            "mx//33x",
            "include",
            "include:",
            "include:ip5.example.com/24",
            "exists",
            "exists:",
            "exists:mail.example.com/24",
            "ip4",
            "ip4:1.2.3",
            "ip4:1.2.3.4/33",
            "ip4:1.2.3.4/032",
            "ip4:1.2.3.4//32",
            "ip4:1.2.3.4:8080",
            "ip4:01.2.3.4",
            "ip6",
            "ip6::CAFE::BABE",
            "ip6:::1.1.1.1/129",
            "ip6:::1.1.1.1//33",
            "redirect:t2.example.com",
            "moo",
            "=all",
            "",
        ] {
            assert!(directive(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn modifiers() {
        let r = SpfRecord::parse("v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all").unwrap();
        assert_eq!(r.unknown_modifiers()[0].0, "moo.cow-far_out");
        assert!(SpfRecord::parse("v=spf1 default=+").is_ok());
        assert!(SpfRecord::parse("v=spf1 a=foo").is_ok());
        for bad in [
            "v=spf1 moo.cow/far_out=man:dog/cat ip4:1.2.3.4 -all",
            "v=spf1 moo.cow:far_out=man:dog/cat ip4:1.2.3.4 -all",
            "v=spf1 1up=foo",
            "v=spf1 -all foo=%abc",
            "v=spf1 exp= -all",
            "v=spf1 exp=-all",
            "v=spf1 redirect=-all ?all",
            "v=spf1 ?all redirect=",
            "v=spf1 -all exp=%{r}.example.com",
        ] {
            assert!(SpfRecord::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            SpfRecord::parse("v=spf1 exp=a.example.com -all EXP=b.example.com"),
            Err(RecordError::DuplicateModifier("exp"))
        );
        assert_eq!(
            SpfRecord::parse("v=spf1 redirect=a.example.com redirect=a.example.com"),
            Err(RecordError::DuplicateModifier("redirect"))
        );
        let r = SpfRecord::parse("v=spf1 Redirect=_spf.example.com").unwrap();
        assert_eq!(r.redirect().unwrap().as_str(), "_spf.example.com");
    }

    #[test]
    fn display_round_trips() {
        let text = "v=spf1 a mx/24//64 ~ptr:example.com ?ip4:192.0.2.0/24 ip6:2001:db8::/32 \
                    -include:%{d2}.example.com exists:%{ir}.bl.example.org -all";
        let r = SpfRecord::parse(text).unwrap();
        let again: Vec<String> = r.directives().iter().map(|d| d.to_string()).collect();
        let r2 = SpfRecord::parse(&format!("v=spf1 {}", again.join(" "))).unwrap();
        assert_eq!(r, r2);
        assert_eq!(again[1], "mx/24//64");
        assert_eq!(again[2], "~ptr:example.com");
    }

    #[test]
    fn networks() {
        let ip: IpAddr = "192.0.2.77".parse().unwrap();
        assert!(in_network(ip, "192.0.2.0".parse().unwrap(), 24));
        assert!(!in_network(ip, "192.0.3.0".parse().unwrap(), 24));
        assert!(in_network(ip, "1.1.1.1".parse().unwrap(), 0));
        assert!(!in_network(ip, "::".parse().unwrap(), 0));
        let ip6: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(in_network(ip6, "2001:db8::".parse().unwrap(), 32));
        assert!(in_network(ip6, "::".parse().unwrap(), 0));
        assert!(!in_network(ip6, "2001:db9::".parse().unwrap(), 32));
    }
}
