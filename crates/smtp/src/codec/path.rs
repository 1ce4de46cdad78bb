//! RFC 5321 envelope paths (section 4.1.2), with RFC 6531 UTF-8 when SMTPUTF8 is in effect.
//!
//! ```text
//! Reverse-path   = Path / "<>"
//! Forward-path   = Path
//! Path           = "<" [ A-d-l ":" ] Mailbox ">"
//! A-d-l          = At-domain *( "," At-domain )    ; source route: parsed and dropped
//! Mailbox        = Local-part "@" ( Domain / address-literal )
//! Local-part     = Dot-string / Quoted-string      ; at most 64 octets
//! Domain         = sub-domain *("." sub-domain)    ; at most 255 octets
//! ```
//!
//! RFC 5321 is stricter than RFC 5322: no comments, no folding white space, no obsolete
//! forms. A [`Mailbox`] keeps the *semantic* local part (quotes and quoted pairs removed) and
//! the domain as written (an address literal with its brackets, e.g. `[192.0.2.1]`).

use std::borrow::Cow;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use thiserror::Error;

use super::text::{Src, Text, TextRef, is_ascii};

/// Longest local part (RFC 5321 4.5.3.1.1).
pub const MAX_LOCAL_PART: usize = 64;
/// Longest domain (RFC 5321 4.5.3.1.2).
pub const MAX_DOMAIN: usize = 255;
/// Longest path, angle brackets included (RFC 5321 4.5.3.1.3). Not enforced: the RFC
/// also asks for 64-octet local parts and 255-octet domains, which together exceed it,
/// and every limit there is a minimum to accept; the command line limit bounds paths.
pub const MAX_PATH: usize = 256;

/// Why a path or mailbox was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PathError {
    /// The path does not start with `<` (and the lenient setting was off).
    #[error("path must be enclosed in angle brackets")]
    MissingOpenBracket,
    /// No `>` where the path should end.
    #[error("path not closed by '>'")]
    MissingCloseBracket,
    /// The local part is empty or not a Dot-string / Quoted-string.
    #[error("invalid local part")]
    InvalidLocalPart,
    /// No `@` after the local part.
    #[error("missing '@' in mailbox")]
    MissingAt,
    /// The domain is not a sequence of letter-digit-hyphen labels.
    #[error("invalid domain")]
    InvalidDomain,
    /// An address literal that is not IPv4, IPv6 or a general literal.
    #[error("invalid address literal")]
    InvalidAddressLiteral,
    /// A source route (`@a,@b:`) that does not parse.
    #[error("invalid source route")]
    InvalidSourceRoute,
    /// Local part over 64 octets.
    #[error("local part longer than 64 octets")]
    LocalPartTooLong,
    /// Domain over 255 octets.
    #[error("domain longer than 255 octets")]
    DomainTooLong,
    /// Path over 256 octets.
    #[error("path longer than 256 octets")]
    PathTooLong,
    /// Non-ASCII characters without SMTPUTF8.
    #[error("non-ASCII address without SMTPUTF8")]
    Utf8NotAllowed,
    /// `<>` where a mailbox is required.
    #[error("null path not allowed here")]
    NullNotAllowed,
}

/// `Local-part "@" ( Domain / address-literal )`.
///
/// ```
/// use postwerk_smtp::codec::path::Mailbox;
/// let m = Mailbox::new("john doe", "example.com").unwrap();
/// assert_eq!(m.to_string(), "\"john doe\"@example.com");
/// assert_eq!(m.local_part(), "john doe");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mailbox {
    /// `local@domain` in one [`Text`] (inline, without an allocation, up to
    /// [`Text::INLINE_CAPACITY`] octets); `at` is the index of the separating `@`.
    addr: Text,
    at: usize,
}

impl Mailbox {
    /// Builds a mailbox from a semantic local part and a domain (or `[literal]`), checking
    /// both against RFC 5321 with RFC 6531 UTF-8 allowed.
    pub fn new(local_part: &str, domain: &str) -> Result<Mailbox, PathError> {
        if local_part.len() > MAX_LOCAL_PART {
            return Err(PathError::LocalPartTooLong);
        }
        if local_part
            .bytes()
            .any(|b| b.is_ascii_control() || b == b'\x7f')
        {
            return Err(PathError::InvalidLocalPart);
        }
        let (d, used) = parse_domain_or_literal(domain.as_bytes(), true, Src::of_str(domain))?;
        if used != domain.len() {
            return Err(PathError::InvalidDomain);
        }
        Ok(Mailbox::from_parts(local_part, d.as_str()))
    }

    #[inline]
    fn from_parts(local_part: &str, domain: &str) -> Mailbox {
        Mailbox {
            addr: Text::concat(&[local_part, "@", domain]),
            at: local_part.len(),
        }
    }

    /// The local part, quotes and quoted pairs removed.
    pub fn local_part(&self) -> &str {
        self.addr.get(..self.at).unwrap_or_default()
    }

    /// The domain, or an address literal with its brackets.
    pub fn domain(&self) -> &str {
        self.addr.get(self.at + 1..).unwrap_or_default()
    }

    /// True when the domain is an address literal (`[...]`).
    pub fn is_address_literal(&self) -> bool {
        self.domain().starts_with('[')
    }

    /// True when the local part or the domain holds non-ASCII characters (needs SMTPUTF8).
    pub fn is_utf8(&self) -> bool {
        !is_ascii(self.addr.as_bytes())
    }

    /// True when the local part must be written as a Quoted-string.
    fn needs_quotes(&self) -> bool {
        let s = self.local_part().as_bytes();
        s.is_empty()
            || s.first() == Some(&b'.')
            || s.last() == Some(&b'.')
            || s.windows(2).any(|w| w == b"..")
            || s.iter().any(|&b| b != b'.' && !is_atext(b) && b < 0x80)
    }
}

impl Mailbox {
    /// The same address as the RFC 5322 type of `postwerk-message`, borrowing from `self`.
    ///
    /// ```
    /// use postwerk_smtp::codec::path::Mailbox;
    /// let m = Mailbox::new("a.b", "example.com").unwrap();
    /// let a = m.to_addr_spec().unwrap();
    /// assert_eq!(a.to_string(), "a.b@example.com");
    /// ```
    pub fn to_addr_spec(
        &self,
    ) -> Result<postwerk_message::AddrSpec<'_>, postwerk_message::ParseError> {
        postwerk_message::AddrSpec::new(self.local_part(), self.domain())
    }
}

impl TryFrom<&postwerk_message::AddrSpec<'_>> for Mailbox {
    type Error = PathError;

    /// Checks an RFC 5322 address against the stricter RFC 5321 rules (UTF-8 allowed).
    fn try_from(a: &postwerk_message::AddrSpec<'_>) -> Result<Mailbox, PathError> {
        Mailbox::new(a.local_part(), a.domain())
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.needs_quotes() {
            f.write_str("\"")?;
            for c in self.local_part().chars() {
                if c == '"' || c == '\\' {
                    f.write_str("\\")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str("\"")?;
        } else {
            f.write_str(self.local_part())?;
        }
        write!(f, "@{}", self.domain())
    }
}

/// `Reverse-path = Path / "<>"`: the MAIL FROM address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReversePath {
    /// `<>`: the null sender of bounces.
    Null,
    /// A sender mailbox.
    Mailbox(Mailbox),
}

impl ReversePath {
    /// The mailbox, unless null.
    pub fn mailbox(&self) -> Option<&Mailbox> {
        match self {
            ReversePath::Null => None,
            ReversePath::Mailbox(m) => Some(m),
        }
    }
}

impl fmt::Display for ReversePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReversePath::Null => f.write_str("<>"),
            ReversePath::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}

/// `Forward-path = Path / "<Postmaster>"`: an RCPT TO address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ForwardPath {
    /// `<Postmaster>` without a domain (RFC 5321 4.5.1), which every server must accept.
    Postmaster,
    /// A recipient mailbox.
    Mailbox(Mailbox),
}

impl ForwardPath {
    /// The mailbox, unless the bare postmaster.
    pub fn mailbox(&self) -> Option<&Mailbox> {
        match self {
            ForwardPath::Postmaster => None,
            ForwardPath::Mailbox(m) => Some(m),
        }
    }
}

impl fmt::Display for ForwardPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardPath::Postmaster => f.write_str("<Postmaster>"),
            ForwardPath::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}

/// How a path parser treats its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PathOptions {
    /// Accept RFC 6531 UTF-8 in local part and domain.
    pub utf8: bool,
    /// Accept a mailbox without angle brackets (`MAIL FROM:user@host`), a quirk of some
    /// old senders.
    pub unbracketed: bool,
}

/// A [`Mailbox`] borrowed from the parsed line: no allocation. The local part is kept as
/// written (for a Quoted-string, the text between the quotes with its quoted pairs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MailboxRef<'a> {
    /// `local@domain` as written (a Quoted-string with its quotes).
    addr: TextRef<'a>,
    /// Index of the `@` that ends the local part.
    at: usize,
    quoted: bool,
}

impl<'a> MailboxRef<'a> {
    /// The local part as written, without the surrounding quotes of a Quoted-string but
    /// with its quoted pairs (`\"`) still in place.
    pub fn raw_local_part(&self) -> TextRef<'a> {
        let q = usize::from(self.quoted);
        // The quotes and the `@` are ASCII: these are character boundaries.
        let local = self
            .addr
            .as_str()
            .split_at_checked(self.at - q)
            .and_then(|(l, _)| l.split_at_checked(q))
            .map_or("", |(_, l)| l);
        TextRef::from(local)
    }

    /// True when the local part was written as a Quoted-string.
    pub fn is_quoted(&self) -> bool {
        self.quoted
    }

    /// The semantic local part: borrowed unless quoted pairs had to be removed.
    pub fn local_part(&self) -> Cow<'a, str> {
        let local = self.raw_local_part().as_str();
        if !self.quoted || memchr::memchr(b'\\', local.as_bytes()).is_none() {
            return Cow::Borrowed(local);
        }
        let mut s = String::with_capacity(local.len());
        let mut escaped = false;
        for c in local.chars() {
            if c == '\\' && !escaped {
                escaped = true;
            } else {
                s.push(c);
                escaped = false;
            }
        }
        Cow::Owned(s)
    }

    /// The domain, or an address literal with its brackets.
    pub fn domain(&self) -> TextRef<'a> {
        TextRef::from(
            self.addr
                .as_str()
                .split_at_checked(self.at + 1)
                .map_or("", |(_, d)| d),
        )
    }

    /// True when the local part or the domain holds non-ASCII characters.
    pub fn is_utf8(&self) -> bool {
        !is_ascii(self.addr.as_bytes())
    }

    /// The owned [`Mailbox`] (no allocation when `local@domain` fits in
    /// [`Text::INLINE_CAPACITY`] octets and the local part has no quoted pairs).
    #[inline(always)]
    pub fn to_mailbox(self) -> Mailbox {
        if !self.quoted {
            // A Dot-string is its own semantic form: `local@domain` as written, one copy.
            return Mailbox {
                addr: self.addr.to_text(),
                at: self.at,
            };
        }
        Mailbox::from_parts(&self.local_part(), self.domain().as_str())
    }
}

/// A [`ReversePath`] borrowed from the parsed line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReversePathRef<'a> {
    /// `<>`.
    Null,
    /// A sender mailbox.
    Mailbox(MailboxRef<'a>),
}

impl<'a> ReversePathRef<'a> {
    /// The mailbox, unless null.
    pub fn mailbox(&self) -> Option<&MailboxRef<'a>> {
        match self {
            ReversePathRef::Null => None,
            ReversePathRef::Mailbox(m) => Some(m),
        }
    }

    /// The owned [`ReversePath`].
    #[inline(always)]
    pub fn to_reverse_path(self) -> ReversePath {
        match self {
            ReversePathRef::Null => ReversePath::Null,
            ReversePathRef::Mailbox(m) => ReversePath::Mailbox(m.to_mailbox()),
        }
    }
}

/// A [`ForwardPath`] borrowed from the parsed line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ForwardPathRef<'a> {
    /// `<Postmaster>`.
    Postmaster,
    /// A recipient mailbox.
    Mailbox(MailboxRef<'a>),
}

impl<'a> ForwardPathRef<'a> {
    /// The mailbox, unless the bare postmaster.
    pub fn mailbox(&self) -> Option<&MailboxRef<'a>> {
        match self {
            ForwardPathRef::Postmaster => None,
            ForwardPathRef::Mailbox(m) => Some(m),
        }
    }

    /// The owned [`ForwardPath`].
    #[inline(always)]
    pub fn to_forward_path(self) -> ForwardPath {
        match self {
            ForwardPathRef::Postmaster => ForwardPath::Postmaster,
            ForwardPathRef::Mailbox(m) => ForwardPath::Mailbox(m.to_mailbox()),
        }
    }
}

/// Parses a reverse path at the start of `input`, returning it and the bytes used.
pub fn parse_reverse_path(
    input: &[u8],
    opts: PathOptions,
) -> Result<(ReversePath, usize), PathError> {
    parse_reverse_path_ref(input, opts).map(|(p, n)| (p.to_reverse_path(), n))
}

/// [`parse_reverse_path`] without allocating.
#[inline]
pub fn parse_reverse_path_ref(
    input: &[u8],
    opts: PathOptions,
) -> Result<(ReversePathRef<'_>, usize), PathError> {
    reverse_path_in(input, opts, Src::per_part())
}

#[inline(always)]
pub(crate) fn reverse_path_in<'a>(
    input: &'a [u8],
    opts: PathOptions,
    src: Src<'a>,
) -> Result<(ReversePathRef<'a>, usize), PathError> {
    if input.starts_with(b"<>") {
        return Ok((ReversePathRef::Null, 2));
    }
    let (m, n) = path_in(input, opts, src)?;
    Ok((ReversePathRef::Mailbox(m), n))
}

/// Parses a forward path at the start of `input`, returning it and the bytes used.
pub fn parse_forward_path(
    input: &[u8],
    opts: PathOptions,
) -> Result<(ForwardPath, usize), PathError> {
    parse_forward_path_ref(input, opts).map(|(p, n)| (p.to_forward_path(), n))
}

/// [`parse_forward_path`] without allocating.
#[inline]
pub fn parse_forward_path_ref(
    input: &[u8],
    opts: PathOptions,
) -> Result<(ForwardPathRef<'_>, usize), PathError> {
    forward_path_in(input, opts, Src::per_part())
}

#[inline(always)]
pub(crate) fn forward_path_in<'a>(
    input: &'a [u8],
    opts: PathOptions,
    src: Src<'a>,
) -> Result<(ForwardPathRef<'a>, usize), PathError> {
    if let Some(p) = input.get(..12)
        && p.eq_ignore_ascii_case(b"<postmaster>")
    {
        return Ok((ForwardPathRef::Postmaster, 12));
    }
    if input.starts_with(b"<>") {
        return Err(PathError::NullNotAllowed);
    }
    let (m, n) = path_in(input, opts, src)?;
    Ok((ForwardPathRef::Mailbox(m), n))
}

/// `Path = "<" [ A-d-l ":" ] Mailbox ">"`, the source route dropped.
pub fn parse_path(input: &[u8], opts: PathOptions) -> Result<(Mailbox, usize), PathError> {
    parse_path_ref(input, opts).map(|(m, n)| (m.to_mailbox(), n))
}

/// [`parse_path`] without allocating.
#[inline]
pub fn parse_path_ref(
    input: &[u8],
    opts: PathOptions,
) -> Result<(MailboxRef<'_>, usize), PathError> {
    path_in(input, opts, Src::per_part())
}

#[inline(always)]
fn path_in<'a>(
    input: &'a [u8],
    opts: PathOptions,
    src: Src<'a>,
) -> Result<(MailboxRef<'a>, usize), PathError> {
    let Some(rest) = input.strip_prefix(b"<") else {
        if opts.unbracketed && !input.is_empty() {
            return mailbox_in(input, opts, src);
        }
        return Err(PathError::MissingOpenBracket);
    };
    let mut pos = 1;
    if rest.first() == Some(&b'@') {
        pos += parse_source_route(rest, opts)?;
    }
    let (m, n) = mailbox_in(input.get(pos..).unwrap_or_default(), opts, src)?;
    pos += n;
    if input.get(pos) != Some(&b'>') {
        return Err(PathError::MissingCloseBracket);
    }
    Ok((m, pos + 1))
}

/// `A-d-l ":"`; returns the bytes used including the colon.
fn parse_source_route(input: &[u8], opts: PathOptions) -> Result<usize, PathError> {
    let mut pos = 0;
    loop {
        if input.get(pos) != Some(&b'@') {
            return Err(PathError::InvalidSourceRoute);
        }
        pos += 1;
        let n = domain_len(input.get(pos..).unwrap_or_default(), opts.utf8)
            .map_err(|_| PathError::InvalidSourceRoute)?;
        pos += n;
        match input.get(pos) {
            Some(b',') => pos += 1,
            Some(b':') => return Ok(pos + 1),
            _ => return Err(PathError::InvalidSourceRoute),
        }
    }
}

/// `Mailbox = Local-part "@" ( Domain / address-literal )` at the start of `input`.
pub fn parse_mailbox(input: &[u8], opts: PathOptions) -> Result<(Mailbox, usize), PathError> {
    parse_mailbox_ref(input, opts).map(|(m, n)| (m.to_mailbox(), n))
}

/// [`parse_mailbox`] without allocating.
#[inline]
pub fn parse_mailbox_ref(
    input: &[u8],
    opts: PathOptions,
) -> Result<(MailboxRef<'_>, usize), PathError> {
    mailbox_in(input, opts, Src::per_part())
}

#[inline(always)]
fn mailbox_in<'a>(
    input: &'a [u8],
    opts: PathOptions,
    src: Src<'a>,
) -> Result<(MailboxRef<'a>, usize), PathError> {
    let local = parse_local_part(input, opts.utf8)?;
    let mut pos = local.used;
    if local.semantic_len > MAX_LOCAL_PART || pos > MAX_LOCAL_PART + 2 + MAX_LOCAL_PART {
        return Err(PathError::LocalPartTooLong);
    }
    if input.get(pos) != Some(&b'@') {
        return Err(PathError::MissingAt);
    }
    pos += 1;
    let n = domain_or_literal_len(input.get(pos..).unwrap_or_default(), opts.utf8)?;
    // `local@domain` as written: one slice of the line, checked by the grammar above.
    let m = MailboxRef {
        addr: src.text(input.get(..pos + n).unwrap_or_default()),
        at: local.used,
        quoted: local.quoted,
    };
    Ok((m, pos + n))
}

/// A 256-entry byte class table built at compile time from a `const fn` predicate.
macro_rules! byte_table {
    ($f:ident) => {{
        let mut t = [false; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = $f(i as u8);
            i += 1;
        }
        t
    }};
}

/// `atext` of RFC 5322 section 3.2.3, as a table.
const ATEXT: [bool; 256] = byte_table!(is_atext_slow);

/// `Let-dig / "-"` of RFC 5321, as a table.
const LDH: [bool; 256] = byte_table!(is_ldh_slow);

/// Quoted-string text that needs no escape: `qtextSMTP` (%d32-33 / %d35-91 / %d93-126).
const QTEXT: [bool; 256] = byte_table!(is_qtext_slow);

const fn is_ldh_slow(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

const fn is_qtext_slow(b: u8) -> bool {
    matches!(b, 32..=33 | 35..=91 | 93..=126)
}

/// `atext` of RFC 5322 section 3.2.3.
#[inline]
pub(crate) fn is_atext(b: u8) -> bool {
    ATEXT[b as usize]
}

const fn is_atext_slow(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'/'
                | b'='
                | b'?'
                | b'^'
                | b'_'
                | b'`'
                | b'{'
                | b'|'
                | b'}'
                | b'~'
        )
}

/// Length of the UTF-8 sequence starting at `input[0]` (only when `utf8`), else 0.
#[inline]
fn utf8_char_len(input: &[u8], utf8: bool) -> usize {
    if !utf8 {
        return 0;
    }
    let Some(&b) = input.first() else { return 0 };
    let n = match b {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return 0,
    };
    match input.get(..n).map(std::str::from_utf8) {
        Some(Ok(_)) => n,
        _ => 0,
    }
}

/// How many bytes from `input[from..]` on are in the class `table`.
#[inline]
fn run(input: &[u8], from: usize, table: &[bool; 256]) -> usize {
    input.get(from..).map_or(0, |s| {
        s.iter().take_while(|&&b| table[usize::from(b)]).count()
    })
}

/// A local part found at the start of the input.
struct LocalPart {
    /// Length once quoted pairs are removed.
    semantic_len: usize,
    quoted: bool,
    /// Bytes used, quotes included.
    used: usize,
}

#[inline(always)]
fn parse_local_part(input: &[u8], utf8: bool) -> Result<LocalPart, PathError> {
    if input.first() == Some(&b'"') {
        let mut semantic_len = 0;
        let mut pos = 1;
        loop {
            match input.get(pos) {
                Some(b'"') => {
                    pos += 1;
                    break;
                }
                Some(b'\\') => match input.get(pos + 1) {
                    Some(32..=126) => {
                        semantic_len += 1;
                        pos += 2;
                    }
                    _ => return Err(PathError::InvalidLocalPart),
                },
                Some(&c) if QTEXT[c as usize] => {
                    semantic_len += 1;
                    pos += 1;
                }
                Some(&c) if c >= 0x80 => {
                    let n = utf8_char_len(input.get(pos..).unwrap_or_default(), utf8);
                    if n == 0 {
                        return Err(if utf8 {
                            PathError::InvalidLocalPart
                        } else {
                            PathError::Utf8NotAllowed
                        });
                    }
                    semantic_len += n;
                    pos += n;
                }
                _ => return Err(PathError::InvalidLocalPart),
            }
            if pos > 2 * MAX_LOCAL_PART + 2 {
                return Err(PathError::LocalPartTooLong);
            }
        }
        // Every octet above was ASCII or part of a UTF-8 sequence `utf8_char_len` checked.
        return Ok(LocalPart {
            semantic_len,
            quoted: true,
            used: pos,
        });
    }
    // Dot-string = Atom *("." Atom)
    let mut pos = 0;
    let mut atom_len = 0;
    loop {
        let n = run(input, pos, &ATEXT);
        pos += n;
        atom_len += n;
        match input.get(pos) {
            Some(b'.') if atom_len > 0 => {
                pos += 1;
                atom_len = 0;
            }
            Some(&b) if b >= 0x80 => {
                let n = utf8_char_len(input.get(pos..).unwrap_or_default(), utf8);
                if n == 0 {
                    return Err(if utf8 {
                        PathError::InvalidLocalPart
                    } else {
                        PathError::Utf8NotAllowed
                    });
                }
                pos += n;
                atom_len += n;
            }
            _ => break,
        }
    }
    if atom_len == 0 {
        return Err(PathError::InvalidLocalPart);
    }
    // atext, dots and checked UTF-8 sequences only.
    Ok(LocalPart {
        semantic_len: pos,
        quoted: false,
        used: pos,
    })
}

/// `Domain / address-literal` at the start of `input`: the text and its length.
#[inline]
pub(crate) fn parse_domain_or_literal<'a>(
    input: &'a [u8],
    utf8: bool,
    src: Src<'a>,
) -> Result<(TextRef<'a>, usize), PathError> {
    let n = domain_or_literal_len(input, utf8)?;
    // Letters, digits, hyphens, dots and checked UTF-8 sequences, or a literal whose
    // inside `check_address_literal` checked.
    Ok((src.text(input.get(..n).unwrap_or_default()), n))
}

/// The length of the `Domain / address-literal` at the start of `input`.
#[inline(always)]
fn domain_or_literal_len(input: &[u8], utf8: bool) -> Result<usize, PathError> {
    if input.first() == Some(&b'[') {
        let end = memchr::memchr(b']', input).ok_or(PathError::InvalidAddressLiteral)?;
        let inner = input.get(1..end).unwrap_or_default();
        check_address_literal(inner)?;
        return Ok(end + 1);
    }
    domain_len(input, utf8)
}

/// `Domain = sub-domain *("." sub-domain)`; `sub-domain = Let-dig [Ldh-str]`, U-labels
/// with `utf8`. Returns the length of the domain at the start of `input`.
#[inline(always)]
fn domain_len(input: &[u8], utf8: bool) -> Result<usize, PathError> {
    let mut pos = 0;
    loop {
        // One label: letters, digits and hyphens (or UTF-8), not starting or ending with '-'.
        let start = pos;
        loop {
            pos += run(input, pos, &LDH);
            let Some(&b) = input.get(pos) else { break };
            if b >= 0x80 {
                let n = utf8_char_len(input.get(pos..).unwrap_or_default(), utf8);
                if n == 0 {
                    return Err(if utf8 {
                        PathError::InvalidDomain
                    } else {
                        PathError::Utf8NotAllowed
                    });
                }
                pos += n;
            } else {
                break;
            }
        }
        if pos > MAX_DOMAIN {
            return Err(PathError::DomainTooLong);
        }
        if pos == start || input.get(start) == Some(&b'-') || input.get(pos - 1) == Some(&b'-') {
            return Err(PathError::InvalidDomain);
        }
        // A dot separates labels only when another label follows.
        match (input.get(pos), input.get(pos + 1)) {
            (Some(b'.'), Some(&c)) if c.is_ascii_alphanumeric() || c >= 0x80 => pos += 1,
            _ => break,
        }
    }
    Ok(pos)
}

/// The inside of `[...]`: IPv4, `IPv6:`, or `tag:dcontent`.
fn check_address_literal(inner: &[u8]) -> Result<(), PathError> {
    let s = std::str::from_utf8(inner).map_err(|_| PathError::InvalidAddressLiteral)?;
    if s.parse::<Ipv4Addr>().is_ok() {
        return Ok(());
    }
    if let Some(v6) = s
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("IPv6:"))
        .and_then(|_| s.get(5..))
    {
        return v6
            .parse::<Ipv6Addr>()
            .map(|_| ())
            .map_err(|_| PathError::InvalidAddressLiteral);
    }
    // General-address-literal = Standardized-tag ":" 1*dcontent
    let (tag, content) = s.split_once(':').ok_or(PathError::InvalidAddressLiteral)?;
    let tag_ok = !tag.is_empty()
        && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !tag.ends_with('-');
    let content_ok =
        !content.is_empty() && content.bytes().all(|b| matches!(b, 33..=90 | 94..=126));
    if tag_ok && content_ok {
        Ok(())
    } else {
        Err(PathError::InvalidAddressLiteral)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp(s: &str) -> Result<(ReversePath, usize), PathError> {
        parse_reverse_path(s.as_bytes(), PathOptions::default())
    }
    fn fp(s: &str) -> Result<(ForwardPath, usize), PathError> {
        parse_forward_path(s.as_bytes(), PathOptions::default())
    }

    #[test]
    fn null_and_postmaster() {
        assert_eq!(rp("<>").unwrap(), (ReversePath::Null, 2));
        assert_eq!(fp("<POSTMASTER>").unwrap(), (ForwardPath::Postmaster, 12));
        assert_eq!(fp("<>"), Err(PathError::NullNotAllowed));
        let (p, _) = fp("<postmaster@example.com>").unwrap();
        assert_eq!(p.mailbox().unwrap().local_part(), "postmaster");
    }

    #[test]
    fn source_route_dropped() {
        let (p, n) = fp("<@a.example,@b.example:user@c.example>").unwrap();
        assert_eq!(n, 38);
        assert_eq!(p.to_string(), "<user@c.example>");
        assert_eq!(
            fp("<@a.example user@c>"),
            Err(PathError::InvalidSourceRoute)
        );
    }

    #[test]
    fn quoted_local_part() {
        let (p, _) = fp(r#"<"a \"b\" c"@example.com>"#).unwrap();
        let m = p.mailbox().unwrap();
        assert_eq!(m.local_part(), r#"a "b" c"#);
        assert_eq!(p.to_string(), r#"<"a \"b\" c"@example.com>"#);
        let (p, _) = fp(r#"<"abc"@x>"#).unwrap();
        assert_eq!(p.to_string(), "<abc@x>");
    }

    #[test]
    fn literals() {
        assert!(fp("<a@[192.0.2.1]>").is_ok());
        assert!(fp("<a@[IPv6:2001:db8::1]>").is_ok());
        assert!(fp("<a@[x-tag:abc]>").is_ok());
        assert_eq!(fp("<a@[300.1.1.1]>"), Err(PathError::InvalidAddressLiteral));
        assert_eq!(fp("<a@[IPv6:zz]>"), Err(PathError::InvalidAddressLiteral));
    }

    #[test]
    fn strictness() {
        assert_eq!(fp("user@x"), Err(PathError::MissingOpenBracket));
        assert_eq!(fp("<a..b@x>"), Err(PathError::InvalidLocalPart));
        assert_eq!(fp("<.a@x>"), Err(PathError::InvalidLocalPart));
        assert_eq!(fp("<a@x"), Err(PathError::MissingCloseBracket));
        assert_eq!(fp("<a@-x>"), Err(PathError::InvalidDomain));
        assert_eq!(fp("<a@x->"), Err(PathError::InvalidDomain));
        assert_eq!(fp("<a@x.>"), Err(PathError::MissingCloseBracket));
        assert_eq!(fp("<a b@x>"), Err(PathError::MissingAt));
        let long = format!("<{}@x>", "a".repeat(65));
        assert_eq!(fp(&long), Err(PathError::LocalPartTooLong));
        let long = format!("<a@{}.x>", "b".repeat(255));
        assert_eq!(fp(&long), Err(PathError::DomainTooLong));
    }

    #[test]
    fn utf8_only_when_allowed() {
        assert_eq!(fp("<jörg@x>"), Err(PathError::Utf8NotAllowed));
        assert_eq!(fp("<a@bücher.example>"), Err(PathError::Utf8NotAllowed));
        let o = PathOptions {
            utf8: true,
            ..Default::default()
        };
        let (p, _) = parse_forward_path("<jörg@bücher.example>".as_bytes(), o).unwrap();
        assert!(p.mailbox().unwrap().is_utf8());
    }

    #[test]
    fn unbracketed_when_lenient() {
        let o = PathOptions {
            unbracketed: true,
            ..Default::default()
        };
        let (p, n) = parse_forward_path(b"user@x.example SIZE=1", o).unwrap();
        assert_eq!(n, 14);
        assert_eq!(p.to_string(), "<user@x.example>");
    }

    #[test]
    fn addr_spec_conversions() {
        let m = Mailbox::new("john doe", "[192.0.2.1]").unwrap();
        let a = m.to_addr_spec().unwrap();
        assert_eq!(a.local_part(), "john doe");
        assert_eq!(a.domain(), "[192.0.2.1]");
        assert_eq!(Mailbox::try_from(&a).unwrap(), m);
        let a = postwerk_message::parse_addr_spec(b"a@b.example").unwrap();
        assert_eq!(Mailbox::try_from(&a).unwrap().to_string(), "a@b.example");
    }

    #[test]
    fn mailbox_new_checks() {
        assert!(Mailbox::new("a", "x.example").is_ok());
        assert!(Mailbox::new("a", "[192.0.2.1]").is_ok());
        assert!(Mailbox::new("a\r", "x").is_err());
        assert!(Mailbox::new("a", "x y").is_err());
        assert_eq!(Mailbox::new("", "x").unwrap().to_string(), "\"\"@x");
    }
}
