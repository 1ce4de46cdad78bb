//! The DMARC Policy Record (RFC 9989 sections 4.7 and 4.8).
//!
//! ```text
//! dmarc-record  = dmarc-version *(dmarc-sep dmarc-tag) [dmarc-sep]
//! dmarc-version = "v" equals %s"DMARC1" ; case sensitive
//! dmarc-sep     = *WSP ";" *WSP
//! equals        = *WSP "=" *WSP
//! dmarc-tag     = 1*ALPHA equals 1*dmarc-value
//! dmarc-value   = %x20-3A / %x3C-7E    ; any printing characters but semicolon
//! dmarc-request = "none" / "quarantine" / "reject"
//! dmarc-yorn    = "y" / "n"
//! dmarc-psd     = "y" / "n" / "u"
//! dmarc-rors    = "r" / "s"
//! dmarc-urilist = (dmarc-uri / obs-dmarc-uri) *(*WSP "," *WSP (dmarc-uri / obs-dmarc-uri))
//! obs-dmarc-report-size = "!" 1*DIGIT [ "k" / "m" / "g" / "t" ]
//! ```

use super::RecordError;

/// A record longer than this (in octets, TXT strings concatenated) is not read.
pub const MAX_RECORD_LEN: usize = 4096;
/// At most this many URIs are kept per `rua`/`ruf` tag.
pub const MAX_URIS: usize = 16;
/// At most this many problems are kept per record.
const MAX_PROBLEMS: usize = 16;
/// Values quoted in problems are shortened to this many octets.
const MAX_QUOTE: usize = 64;

/// A Domain Owner Assessment Policy (`p`, `sp`, `np`; RFC 9989 4.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Policy {
    /// `none`: no expression of preference (monitoring mode).
    None,
    /// `quarantine`: failing mail is suspicious.
    Quarantine,
    /// `reject`: failing mail is not valid use of the domain.
    Reject,
}

impl Policy {
    /// The tag value: `none`, `quarantine` or `reject`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Quarantine => "quarantine",
            Self::Reject => "reject",
        }
    }

    /// The policy one level below, as `t=y` asks (RFC 9989 4.7, tag `t`): reject →
    /// quarantine, quarantine → none, none → none.
    pub fn one_level_below(self) -> Self {
        match self {
            Self::Reject => Self::Quarantine,
            Self::Quarantine | Self::None => Self::None,
        }
    }

    fn parse(v: &[u8]) -> Option<Self> {
        [Self::None, Self::Quarantine, Self::Reject]
            .into_iter()
            .find(|p| v.eq_ignore_ascii_case(p.as_str().as_bytes()))
    }
}

/// An identifier alignment mode (`adkim`, `aspf`; RFC 9989 3.2.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum AlignmentMode {
    /// `r`: the same Organizational Domain (the default).
    #[default]
    Relaxed,
    /// `s`: identical domains.
    Strict,
}

impl AlignmentMode {
    /// The tag value: `r` or `s`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Relaxed => "r",
            Self::Strict => "s",
        }
    }
}

/// The `psd` flag (RFC 9989 4.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum PsdFlag {
    /// `y`: the domain is a Public Suffix Domain.
    Yes,
    /// `n`: not a PSD; the Organizational Domain for itself and its subdomains.
    No,
    /// `u` (the default): not a PSD, maybe an Organizational Domain; the tree walk
    /// decides.
    #[default]
    Unknown,
}

impl PsdFlag {
    /// The tag value: `y`, `n` or `u`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Yes => "y",
            Self::No => "n",
            Self::Unknown => "u",
        }
    }
}

/// A parsed DMARC Policy Record.
///
/// Tags outside RFC 9989 are ignored (RFC 9989 4.7: "unknown tags MUST be ignored"),
/// among them `pct`, `rf` and `ri` of RFC 7489. A known tag with an invalid value falls
/// back to its default and is listed in [`problems`](Self::problems).
///
/// ```
/// use postwerk_auth::dmarc::{AlignmentMode, Policy, PolicyRecord, PsdFlag};
/// let r = PolicyRecord::parse(b"v=DMARC1; p=reject; sp=quarantine; adkim=s; \
///                               rua=mailto:agg@example.com!10m, https://r.example/x; pct=50").unwrap();
/// assert_eq!(r.p, Some(Policy::Reject));
/// assert_eq!(r.sp, Some(Policy::Quarantine));
/// assert_eq!(r.adkim, AlignmentMode::Strict);
/// assert_eq!(r.psd, PsdFlag::Unknown);
/// assert_eq!(r.rua, ["mailto:agg@example.com", "https://r.example/x"]);
/// assert!(r.problems.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PolicyRecord {
    /// `p`, when present and valid.
    pub p: Option<Policy>,
    /// `sp`, when present and valid.
    pub sp: Option<Policy>,
    /// `np`, when present and valid.
    pub np: Option<Policy>,
    /// `psd` (default `u`).
    pub psd: PsdFlag,
    /// `t=y`: the Domain Owner is testing its policy (default `n`).
    pub testing: bool,
    /// `adkim` (default relaxed).
    pub adkim: AlignmentMode,
    /// `aspf` (default relaxed).
    pub aspf: AlignmentMode,
    /// `rua`: the syntactically valid aggregate report URIs, the obsolete `!size` suffix
    /// removed.
    pub rua: Vec<String>,
    /// `ruf`: the syntactically valid failure report URIs, the `!size` suffix removed.
    pub ruf: Vec<String>,
    /// `fo`, lower case, when present and valid (`0`, `1`, `d`, `s` joined by `:`).
    pub fo: Option<String>,
    /// What was wrong with the tags (at most 16 kept).
    pub problems: Vec<RecordError>,
    /// `p`, `sp` or `np` was present with an invalid value.
    policy_tag_invalid: bool,
}

/// The policies a record asks for once RFC 9989 4.10.1's rules for invalid values are
/// applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Requested {
    pub(crate) p: Policy,
    pub(crate) sp: Option<Policy>,
    pub(crate) np: Option<Policy>,
}

fn is_wsp(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_wsp(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_wsp(b)).map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

fn quote(s: &[u8]) -> String {
    let s = &s[..s.len().min(MAX_QUOTE)];
    String::from_utf8_lossy(s).into_owned()
}

/// Splits `name = value` (trimmed); `None` without `=`.
fn split_tag(seg: &[u8]) -> Option<(&[u8], &[u8])> {
    let eq = seg.iter().position(|&b| b == b'=')?;
    Some((trim(&seg[..eq]), trim(&seg[eq + 1..])))
}

/// True when `txt` starts with the `v=DMARC1` tag (RFC 9989 4.10 steps 2 and 6): the
/// test that decides whether a TXT record at a `_dmarc` name counts as a DMARC Policy
/// Record at all.
pub fn is_dmarc_record(txt: &[u8]) -> bool {
    let first = txt.split(|&b| b == b';').next().unwrap_or_default();
    match split_tag(trim(first)) {
        Some((name, value)) => name.eq_ignore_ascii_case(b"v") && value == b"DMARC1",
        None => false,
    }
}

impl PolicyRecord {
    /// Parses a DMARC Policy Record (the TXT record's strings concatenated).
    ///
    /// Fails with [`RecordError::NotDmarc`] when the record does not start with
    /// `v=DMARC1` and with [`RecordError::TooLong`] above [`MAX_RECORD_LEN`] octets;
    /// any other fault is recorded in [`problems`](Self::problems) and the tag keeps
    /// its default. Never panics.
    pub fn parse(txt: &[u8]) -> Result<Self, RecordError> {
        if !is_dmarc_record(txt) {
            return Err(RecordError::NotDmarc);
        }
        if txt.len() > MAX_RECORD_LEN {
            return Err(RecordError::TooLong(txt.len()));
        }
        let mut rec = PolicyRecord::default();
        let mut seen: Vec<Vec<u8>> = Vec::new();
        for seg in txt.split(|&b| b == b';').skip(1) {
            let seg = trim(seg);
            if seg.is_empty() {
                continue;
            }
            let Some((name, value)) = split_tag(seg) else {
                rec.problem(RecordError::Syntax(quote(seg)));
                continue;
            };
            if name.is_empty() || !name.iter().all(u8::is_ascii_alphabetic) {
                rec.problem(RecordError::Syntax(quote(seg)));
                continue;
            }
            let name = name.to_ascii_lowercase();
            if seen.contains(&name) {
                rec.problem(RecordError::DuplicateTag(quote(&name)));
                continue;
            }
            seen.push(name.clone());
            rec.tag(&name, value);
        }
        Ok(rec)
    }

    fn problem(&mut self, e: RecordError) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(e);
        }
    }

    fn invalid(&mut self, tag: &[u8], value: &[u8]) {
        self.problem(RecordError::InvalidValue {
            tag: quote(tag),
            value: quote(value),
        });
    }

    fn tag(&mut self, name: &[u8], value: &[u8]) {
        let printable = !value.is_empty() && value.iter().all(|&b| (0x20..0x7f).contains(&b));
        match name {
            b"p" | b"sp" | b"np" => {
                let parsed = if printable {
                    Policy::parse(value)
                } else {
                    None
                };
                match parsed {
                    Some(p) => match name {
                        b"p" => self.p = Some(p),
                        b"sp" => self.sp = Some(p),
                        _ => self.np = Some(p),
                    },
                    None => {
                        self.policy_tag_invalid = true;
                        self.invalid(name, value);
                    }
                }
            }
            b"psd" => match value.to_ascii_lowercase().as_slice() {
                b"y" => self.psd = PsdFlag::Yes,
                b"n" => self.psd = PsdFlag::No,
                b"u" => self.psd = PsdFlag::Unknown,
                _ => self.invalid(name, value),
            },
            b"t" => match value.to_ascii_lowercase().as_slice() {
                b"y" => self.testing = true,
                b"n" => self.testing = false,
                _ => self.invalid(name, value),
            },
            b"adkim" | b"aspf" => {
                let mode = match value.to_ascii_lowercase().as_slice() {
                    b"r" => AlignmentMode::Relaxed,
                    b"s" => AlignmentMode::Strict,
                    _ => return self.invalid(name, value),
                };
                if name == b"adkim" {
                    self.adkim = mode;
                } else {
                    self.aspf = mode;
                }
            }
            b"rua" | b"ruf" => {
                let uris = self.uri_list(name, value);
                if name == b"rua" {
                    self.rua = uris;
                } else {
                    self.ruf = uris;
                }
            }
            b"fo" => {
                if printable && valid_fo(value) {
                    self.fo = Some(String::from_utf8_lossy(value).to_ascii_lowercase());
                } else {
                    self.invalid(name, value);
                }
            }
            // RFC 9989 4.7: unknown tags MUST be ignored; RFC 7489's pct, rf and ri
            // are no longer DMARC tags and are ignored the same way.
            _ => {}
        }
    }

    fn uri_list(&mut self, tag: &[u8], value: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        for item in value.split(|&b| b == b',') {
            let item = trim(item);
            let uri = strip_report_size(item);
            if !valid_uri(uri) {
                self.problem(RecordError::InvalidUri {
                    tag: quote(tag),
                    uri: quote(item),
                });
                continue;
            }
            if out.len() >= MAX_URIS {
                self.problem(RecordError::TooManyUris(quote(tag)));
                break;
            }
            out.push(String::from_utf8_lossy(uri).into_owned());
        }
        out
    }

    /// The policies to apply, or `None` when the record is unusable: RFC 9989 4.10.1,
    /// "If a retrieved DMARC Policy Record does not contain a valid "p" tag, or contains
    /// an "sp" or "np" tag that is not valid, then: If a "rua" tag is present and
    /// contains at least one syntactically valid reporting URI, the Mail Receiver MUST
    /// act as if a record containing "p=none" was retrieved and continue processing;
    /// Otherwise, the Mail Receiver applies no DMARC processing to this message."
    ///
    /// An absent `p` (with valid or absent `sp`/`np`) reads as `p=none` (RFC 9989 4.7,
    /// tag `p`).
    pub(crate) fn requested(&self) -> Option<Requested> {
        if self.policy_tag_invalid {
            return if self.rua.is_empty() {
                None
            } else {
                Some(Requested {
                    p: Policy::None,
                    sp: None,
                    np: None,
                })
            };
        }
        Some(Requested {
            p: self.p.unwrap_or(Policy::None),
            sp: self.sp,
            np: self.np,
        })
    }

    /// True when the record can be applied (see [`PolicyRecord::requested_policy`]).
    pub fn is_usable(&self) -> bool {
        self.requested().is_some()
    }

    /// The policy this record asks for: for the domain itself (`subdomain == false`),
    /// `p`; for a subdomain that exists, `sp` or else `p`; for a subdomain that does not
    /// exist (`exists == false`), `np`, else `sp`, else `p` (RFC 9989 4.7, 4.10.1).
    /// `None` when the record is unusable (an invalid `p`/`sp`/`np` without a valid
    /// `rua`).
    pub fn requested_policy(&self, subdomain: bool, exists: bool) -> Option<Policy> {
        let r = self.requested()?;
        Some(if !subdomain {
            r.p
        } else if !exists {
            r.np.or(r.sp).unwrap_or(r.p)
        } else {
            r.sp.unwrap_or(r.p)
        })
    }
}

/// Removes the obsolete `!size` suffix (RFC 9989 4.8: reporters should ignore it).
fn strip_report_size(uri: &[u8]) -> &[u8] {
    if let Some(bang) = uri.iter().rposition(|&b| b == b'!') {
        let size = &uri[bang + 1..];
        let digits = size.iter().take_while(|b| b.is_ascii_digit()).count();
        let rest = &size[digits..];
        if digits > 0
            && (rest.is_empty()
                || (rest.len() == 1
                    && matches!(rest[0].to_ascii_lowercase(), b'k' | b'm' | b'g' | b't')))
        {
            return &uri[..bang];
        }
    }
    uri
}

/// A loose RFC 3986 check: `scheme ":" rest`, the scheme `ALPHA *( ALPHA / DIGIT / "+" /
/// "-" / "." )`, the rest non-empty printable ASCII without spaces, `,`, `;` or `!`.
fn valid_uri(uri: &[u8]) -> bool {
    let Some(colon) = uri.iter().position(|&b| b == b':') else {
        return false;
    };
    let (scheme, rest) = (&uri[..colon], &uri[colon + 1..]);
    let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    scheme_ok
        && !rest.is_empty()
        && rest
            .iter()
            .all(|&b| (0x21..0x7f).contains(&b) && !matches!(b, b',' | b';' | b'!'))
}

/// `dmarc-fo`: `0`, `1`, `d`, `s` joined by `:`, `0` and `1` not both, none twice.
fn valid_fo(v: &[u8]) -> bool {
    let mut seen = [false; 4];
    for item in v.split(|&b| b == b':') {
        let i = match trim(item).to_ascii_lowercase().as_slice() {
            b"0" => 0,
            b"1" => 1,
            b"d" => 2,
            b"s" => 3,
            _ => return false,
        };
        if seen[i] {
            return false;
        }
        seen[i] = true;
    }
    !(seen[0] && seen[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> PolicyRecord {
        PolicyRecord::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn version_must_come_first_and_match_exactly() {
        assert!(is_dmarc_record(b"v=DMARC1"));
        assert!(is_dmarc_record(b"v = DMARC1 ; p=none"));
        assert!(is_dmarc_record(b"V=DMARC1;p=none"));
        assert!(!is_dmarc_record(b"v=dmarc1; p=none"));
        assert!(!is_dmarc_record(b"p=none; v=DMARC1"));
        assert!(!is_dmarc_record(b"v=DMARC1p=none"));
        assert!(!is_dmarc_record(b"v=DMARC2; p=none"));
        assert!(!is_dmarc_record(b"v=spf1 -all"));
        assert!(!is_dmarc_record(b""));
        assert_eq!(
            PolicyRecord::parse(b"p=reject; v=DMARC1"),
            Err(RecordError::NotDmarc)
        );
    }

    #[test]
    fn all_tags() {
        let r = parse(
            "v=DMARC1;p=quarantine;sp=reject;np=reject;psd=n;t=y;adkim=s;aspf=s;\
             rua=mailto:a@example.com;ruf=mailto:f@example.com;fo=1:d:s",
        );
        assert_eq!(r.p, Some(Policy::Quarantine));
        assert_eq!(r.sp, Some(Policy::Reject));
        assert_eq!(r.np, Some(Policy::Reject));
        assert_eq!(r.psd, PsdFlag::No);
        assert!(r.testing);
        assert_eq!(r.adkim, AlignmentMode::Strict);
        assert_eq!(r.aspf, AlignmentMode::Strict);
        assert_eq!(r.rua, ["mailto:a@example.com"]);
        assert_eq!(r.ruf, ["mailto:f@example.com"]);
        assert_eq!(r.fo.as_deref(), Some("1:d:s"));
        assert!(r.problems.is_empty(), "{:?}", r.problems);
    }

    #[test]
    fn defaults() {
        let r = parse("v=DMARC1");
        assert_eq!(r.p, None);
        assert_eq!(r.psd, PsdFlag::Unknown);
        assert!(!r.testing);
        assert_eq!(r.adkim, AlignmentMode::Relaxed);
        assert_eq!(r.aspf, AlignmentMode::Relaxed);
        assert_eq!(r.requested_policy(false, true), Some(Policy::None));
    }

    #[test]
    fn values_and_names_are_case_insensitive() {
        let r = parse("v=DMARC1; P=Reject; ADKIM=S; Psd=Y");
        assert_eq!(r.p, Some(Policy::Reject));
        assert_eq!(r.adkim, AlignmentMode::Strict);
        assert_eq!(r.psd, PsdFlag::Yes);
    }

    #[test]
    fn unknown_and_removed_tags_are_ignored() {
        let r = parse("v=DMARC1; p=reject; pct=10; rf=afrf; ri=3600; foo=bar; x=");
        assert_eq!(r.p, Some(Policy::Reject));
        assert!(r.problems.is_empty(), "{:?}", r.problems);
    }

    #[test]
    fn invalid_p_with_valid_rua_is_p_none() {
        let r = parse("v=DMARC1; p=bogus; rua=mailto:r@example.com");
        assert_eq!(r.p, None);
        assert_eq!(
            r.problems,
            [RecordError::InvalidValue {
                tag: "p".into(),
                value: "bogus".into()
            }]
        );
        assert_eq!(r.requested_policy(false, true), Some(Policy::None));
        assert_eq!(r.requested_policy(true, false), Some(Policy::None));
        assert!(r.is_usable());
    }

    #[test]
    fn invalid_p_or_sp_or_np_without_rua_is_unusable() {
        for s in [
            "v=DMARC1; p=bogus",
            "v=DMARC1; p=reject; sp=maybe",
            "v=DMARC1; p=reject; np=",
            "v=DMARC1; p=reject; np=x; rua=not a uri",
        ] {
            let r = parse(s);
            assert!(!r.is_usable(), "{s}");
            assert_eq!(r.requested_policy(false, true), None, "{s}");
        }
    }

    #[test]
    fn sp_and_np_fall_back() {
        let r = parse("v=DMARC1; p=reject");
        assert_eq!(r.requested_policy(true, true), Some(Policy::Reject));
        assert_eq!(r.requested_policy(true, false), Some(Policy::Reject));
        let r = parse("v=DMARC1; p=reject; sp=quarantine");
        assert_eq!(r.requested_policy(false, true), Some(Policy::Reject));
        assert_eq!(r.requested_policy(true, true), Some(Policy::Quarantine));
        assert_eq!(r.requested_policy(true, false), Some(Policy::Quarantine));
        let r = parse("v=DMARC1; p=none; sp=quarantine; np=reject");
        assert_eq!(r.requested_policy(true, true), Some(Policy::Quarantine));
        assert_eq!(r.requested_policy(true, false), Some(Policy::Reject));
    }

    #[test]
    fn bad_values_fall_back_to_defaults_with_named_problems() {
        let r = parse("v=DMARC1; p=reject; adkim=x; aspf=; t=maybe; psd=q; fo=0:1");
        assert_eq!(r.adkim, AlignmentMode::Relaxed);
        assert_eq!(r.aspf, AlignmentMode::Relaxed);
        assert!(!r.testing);
        assert_eq!(r.psd, PsdFlag::Unknown);
        assert_eq!(r.fo, None);
        let tags: Vec<&str> = r
            .problems
            .iter()
            .map(|p| match p {
                RecordError::InvalidValue { tag, .. } => tag.as_str(),
                _ => "?",
            })
            .collect();
        assert_eq!(tags, ["adkim", "aspf", "t", "psd", "fo"]);
        assert!(
            r.is_usable(),
            "adkim/aspf/t/psd/fo errors do not void the record"
        );
    }

    #[test]
    fn syntax_errors_and_duplicates_are_named() {
        let r = parse("v=DMARC1; p=reject; garbage; 1x=2; p=none;;");
        assert_eq!(r.p, Some(Policy::Reject), "the first p= wins");
        assert_eq!(
            r.problems,
            [
                RecordError::Syntax("garbage".into()),
                RecordError::Syntax("1x=2".into()),
                RecordError::DuplicateTag("p".into()),
            ]
        );
    }

    #[test]
    fn uri_lists() {
        let r = parse(
            "v=DMARC1; rua=mailto:a@example.com!10m , mailto:b@example.com!5, nope, \
             https://x.example/r; ruf=mailto:f@example.com!1x",
        );
        assert_eq!(
            r.rua,
            [
                "mailto:a@example.com",
                "mailto:b@example.com",
                "https://x.example/r"
            ]
        );
        assert!(
            r.ruf.is_empty(),
            "`!1x` is no size suffix, `!` is not allowed"
        );
        assert_eq!(r.problems.len(), 2);
        let many = format!(
            "v=DMARC1; rua={}",
            vec!["mailto:a@example.com"; 40].join(",")
        );
        let r = parse(&many);
        assert_eq!(r.rua.len(), MAX_URIS);
        assert_eq!(r.problems, [RecordError::TooManyUris("rua".into())]);
    }

    #[test]
    fn length_cap() {
        let long = format!("v=DMARC1; p=none; x={}", "a".repeat(MAX_RECORD_LEN));
        assert_eq!(
            PolicyRecord::parse(long.as_bytes()),
            Err(RecordError::TooLong(long.len()))
        );
    }

    #[test]
    fn non_ascii_values_are_invalid() {
        let r = PolicyRecord::parse("v=DMARC1; p=réject; rua=mailto:é@x".as_bytes()).unwrap();
        assert_eq!(r.p, None);
        assert!(!r.is_usable());
        assert_eq!(r.problems.len(), 2);
    }

    #[test]
    fn policy_downgrade() {
        assert_eq!(Policy::Reject.one_level_below(), Policy::Quarantine);
        assert_eq!(Policy::Quarantine.one_level_below(), Policy::None);
        assert_eq!(Policy::None.one_level_below(), Policy::None);
    }
}
