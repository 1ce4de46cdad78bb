//! RFC 5322 section 3.4 addresses, with the obsolete syntax of section 4.4 and the UTF-8
//! of RFC 6532.
//!
//! ```text
//! address         =   mailbox / group
//! mailbox         =   name-addr / addr-spec
//! name-addr       =   [display-name] angle-addr
//! angle-addr      =   [CFWS] "<" addr-spec ">" [CFWS] / obs-angle-addr
//! group           =   display-name ":" [group-list] ";" [CFWS]
//! display-name    =   phrase
//! address-list    =   (address *("," address)) / obs-addr-list
//! addr-spec       =   local-part "@" domain
//! local-part      =   dot-atom / quoted-string / obs-local-part
//! domain          =   dot-atom / domain-literal / obs-domain
//! obs-angle-addr  =   [CFWS] "<" obs-route addr-spec ">" [CFWS]
//! obs-route       =   obs-domain-list ":"
//! obs-domain-list =   *(CFWS / ",") "@" domain *("," [CFWS] ["@" domain])
//! obs-mbox-list   =   *([CFWS] ",") mailbox *("," [mailbox / CFWS])
//! obs-addr-list   =   *([CFWS] ",") address *("," [address / CFWS])
//! obs-phrase      =   word *(word / "." / CFWS)
//! obs-local-part  =   word *("." word)
//! obs-domain      =   atom *("." atom)
//! ```
//!
//! The parser is a single forward pass of a byte cursor; values borrow from the input
//! unless unquoting, unescaping, comment removal or RFC 2047 decoding changed them.
//! Encoded words in display names are decoded only after the structure is known, so
//! `=?utf-8?Q?a=2C_b?= <x@y>` is one mailbox named `a, b`, and a display name that looks
//! like an address is only ever a name.
//!
//! Tolerated real-world forms beyond the grammar: a group missing its final `;` at the end
//! of the input, an empty group name, and an unquoted display name that is itself an
//! addr-spec (`john@example.com <john@example.com>`), which becomes the name.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};

use crate::encoded_word;
use crate::error::{ParseError, ParseErrorKind};
use crate::lexer::{self, Cursor};

/// The most addresses (mailboxes, counting those inside groups, and groups) one list may
/// hold; more is [`ParseErrorKind::TooManyAddresses`].
pub const MAX_ADDRESSES: usize = 10_000;

/// An `addr-spec`: `local-part@domain`.
///
/// Both parts hold their semantic value: the local part without quotes, escapes or
/// comments (`"john doe"@x` has local part `john doe`; the obsolete `john . doe@x` has
/// `john.doe`), the domain without comments (`example.com`) or, for a domain literal, with
/// its brackets (`[192.0.2.1]`).
///
/// ```
/// let a = postwerk_message::parse_addr_spec(b"\"john doe\"@example.com").unwrap();
/// assert_eq!(a.local_part(), "john doe");
/// assert_eq!(a.domain(), "example.com");
/// assert_eq!(a.to_string(), "\"john doe\"@example.com");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AddrSpec<'a> {
    local: Cow<'a, str>,
    domain: Cow<'a, str>,
}

impl<'a> AddrSpec<'a> {
    /// An address from its semantic parts, as [`local_part`](Self::local_part) and
    /// [`domain`](Self::domain) return them.
    ///
    /// The local part may be any text without CR, LF or NUL (it is quoted on display where
    /// needed); the domain must be a dot-atom (`example.com`, UTF-8 allowed) or a domain
    /// literal in normal form (`[192.0.2.1]`, `[IPv6:2001:db8::1]`).
    ///
    /// ```
    /// use postwerk_message::AddrSpec;
    /// let a = AddrSpec::new("john doe", "example.com").unwrap();
    /// assert_eq!(a.to_string(), "\"john doe\"@example.com");
    /// assert!(AddrSpec::new("x", "exa mple.com").is_err());
    /// ```
    pub fn new(
        local_part: impl Into<Cow<'a, str>>,
        domain: impl Into<Cow<'a, str>>,
    ) -> Result<Self, ParseError> {
        let local = local_part.into();
        let domain = domain.into();
        if let Some(i) = local.bytes().position(|b| matches!(b, 0 | b'\r' | b'\n')) {
            return Err(ParseError::new(ParseErrorKind::ForbiddenControl, i));
        }
        let base = local.len() + 1;
        check_domain(&domain).map_err(|e| ParseError::new(e.kind(), base + e.offset()))?;
        Ok(AddrSpec { local, domain })
    }

    /// The local part's semantic value: quotes and escapes removed, obsolete
    /// dot-separated words joined with dots and no spaces.
    pub fn local_part(&self) -> &str {
        &self.local
    }

    /// The domain: `example.com`, or a domain literal with its brackets, `[192.0.2.1]`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Whether the local part can be written as a dot-atom, i.e. without quotes.
    pub fn is_dot_atom_local(&self) -> bool {
        lexer::is_dot_atom_text(&self.local)
    }

    /// Whether the domain is a domain literal (`[...]`).
    pub fn is_domain_literal(&self) -> bool {
        self.domain.starts_with('[')
    }

    /// The same address, owning its text.
    pub fn into_owned(self) -> AddrSpec<'static> {
        AddrSpec {
            local: Cow::Owned(self.local.into_owned()),
            domain: Cow::Owned(self.domain.into_owned()),
        }
    }
}

/// Checks that `domain` is a dot-atom or a normalised domain literal.
fn check_domain(domain: &str) -> Result<(), ParseError> {
    if domain.starts_with('[') {
        let mut cur = Cursor::new(domain);
        let value = cur.domain_literal()?;
        if !cur.at_end() {
            return Err(cur.err(ParseErrorKind::TrailingInput));
        }
        if value != domain {
            return Err(ParseError::new(ParseErrorKind::UnexpectedChar, 0));
        }
        return Ok(());
    }
    if domain.is_empty() {
        return Err(ParseError::new(ParseErrorKind::MissingDomain, 0));
    }
    if lexer::is_dot_atom_text(domain) {
        return Ok(());
    }
    let bad = domain
        .bytes()
        .position(|b| !lexer::is_atext(b) && b != b'.')
        .unwrap_or(0);
    let kind = if bad == 0 && domain.bytes().all(|b| lexer::is_atext(b) || b == b'.') {
        ParseErrorKind::MisplacedDot
    } else {
        ParseErrorKind::UnexpectedChar
    };
    Err(ParseError::new(kind, bad))
}

impl fmt::Display for AddrSpec<'_> {
    /// The canonical form: `local@domain`, the local part quoted only when it is not a
    /// dot-atom.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_dot_atom_local() {
            f.write_str(&self.local)?;
        } else {
            write_quoted(&self.local, f)?;
        }
        f.write_str("@")?;
        f.write_str(&self.domain)
    }
}

/// Writes `text` as a quoted string, escaping `"` and `\`.
fn write_quoted(text: &str, f: &mut dyn fmt::Write) -> fmt::Result {
    f.write_char('"')?;
    let mut rest = text;
    while let Some(i) = rest.find(['"', '\\']) {
        let (before, after) = rest.split_at(i);
        f.write_str(before)?;
        f.write_char('\\')?;
        let mut chars = after.chars();
        if let Some(c) = chars.next() {
            f.write_char(c)?;
        }
        rest = chars.as_str();
    }
    f.write_str(rest)?;
    f.write_char('"')
}

/// Writes a display name so that it parses back to exactly `name`: as atoms when it is
/// plain ASCII words, as a quoted string when it is printable ASCII, otherwise as RFC 2047
/// UTF-8 encoded words.
fn write_phrase(name: &str, f: &mut dyn fmt::Write) -> fmt::Result {
    let bytes = name.as_bytes();
    let has_encoded_marker = memchr::memmem::find(bytes, b"=?").is_some();
    let plain_atoms = !name.is_empty()
        && !has_encoded_marker
        && name
            .split(' ')
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii() && lexer::is_atext(b)));
    if plain_atoms {
        return f.write_str(name);
    }
    let printable = !has_encoded_marker && bytes.iter().all(|&b| matches!(b, b'\t' | 0x20..=0x7e));
    if printable {
        return write_quoted(name, f);
    }
    encoded_word::encode_b(name, f)
}

/// A mailbox: an address with an optional display name.
///
/// ```
/// let m = postwerk_message::parse_mailbox(b"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>").unwrap();
/// assert_eq!(m.display_name(), Some("Pete"));
/// assert_eq!(m.addr_spec().local_part(), "pete");
/// assert_eq!(m.addr_spec().domain(), "silly.test");
/// assert_eq!(m.to_string(), "Pete <pete@silly.test>");
/// ```
#[derive(Debug, Clone)]
pub struct Mailbox<'a> {
    name: Option<Cow<'a, str>>,
    addr: AddrSpec<'a>,
    route: Vec<Cow<'a, str>>,
}

impl<'a> Mailbox<'a> {
    /// A mailbox from a display name (the decoded text, any characters) and an address.
    pub fn new(display_name: Option<Cow<'a, str>>, addr_spec: AddrSpec<'a>) -> Self {
        Mailbox {
            name: display_name,
            addr: addr_spec,
            route: Vec::new(),
        }
    }

    /// The display name: RFC 2047 encoded words decoded, quotes and escapes removed,
    /// comments dropped, runs of white space made one space. `None` without one.
    pub fn display_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The address.
    pub fn addr_spec(&self) -> &AddrSpec<'a> {
        &self.addr
    }

    /// The domains of an obsolete source route (`<@a.example,@b.example:user@c.example>`),
    /// empty when there was none. RFC 5322 section 4.4 says to ignore it: it is not part of
    /// the address, not compared by `==`, and not written by `Display`.
    pub fn route(&self) -> &[Cow<'a, str>] {
        &self.route
    }

    /// The same mailbox, owning its text.
    pub fn into_owned(self) -> Mailbox<'static> {
        Mailbox {
            name: self.name.map(|n| Cow::Owned(n.into_owned())),
            addr: self.addr.into_owned(),
            route: self
                .route
                .into_iter()
                .map(|d| Cow::Owned(d.into_owned()))
                .collect(),
        }
    }
}

impl PartialEq for Mailbox<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.addr == other.addr
    }
}

impl Eq for Mailbox<'_> {}

impl Hash for Mailbox<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.addr.hash(state);
    }
}

impl fmt::Display for Mailbox<'_> {
    /// `Name <local@domain>`, or the bare `local@domain` without a display name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => {
                write_phrase(name, f)?;
                write!(f, " <{}>", self.addr)
            }
            None => fmt::Display::fmt(&self.addr, f),
        }
    }
}

/// A named group of mailboxes, `Friends: a@example.com, b@example.com;`.
///
/// ```
/// let list = postwerk_message::parse_address_list(b"undisclosed-recipients:;").unwrap();
/// let postwerk_message::Address::Group(g) = &list[0] else { panic!() };
/// assert_eq!(g.display_name(), "undisclosed-recipients");
/// assert!(g.mailboxes().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Group<'a> {
    name: Cow<'a, str>,
    mailboxes: Vec<Mailbox<'a>>,
}

impl<'a> Group<'a> {
    /// A group from its display name (decoded text) and members.
    pub fn new(display_name: impl Into<Cow<'a, str>>, mailboxes: Vec<Mailbox<'a>>) -> Self {
        Group {
            name: display_name.into(),
            mailboxes,
        }
    }

    /// The group's display name, decoded like [`Mailbox::display_name`].
    pub fn display_name(&self) -> &str {
        &self.name
    }

    /// The members; empty for `undisclosed-recipients:;`.
    pub fn mailboxes(&self) -> &[Mailbox<'a>] {
        &self.mailboxes
    }

    /// The same group, owning its text.
    pub fn into_owned(self) -> Group<'static> {
        Group {
            name: Cow::Owned(self.name.into_owned()),
            mailboxes: self
                .mailboxes
                .into_iter()
                .map(Mailbox::into_owned)
                .collect(),
        }
    }
}

impl fmt::Display for Group<'_> {
    /// `Name: a@example.com, B <b@example.com>;`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_phrase(&self.name, f)?;
        f.write_str(":")?;
        for (i, m) in self.mailboxes.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { ", " })?;
            fmt::Display::fmt(m, f)?;
        }
        f.write_str(";")
    }
}

/// One element of an address list: a mailbox or a group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address<'a> {
    /// A single mailbox.
    Mailbox(Mailbox<'a>),
    /// A named group of mailboxes.
    Group(Group<'a>),
}

impl<'a> Address<'a> {
    /// The mailboxes this address stands for: itself, or the group's members.
    pub fn mailboxes(&self) -> &[Mailbox<'a>] {
        match self {
            Address::Mailbox(m) => std::slice::from_ref(m),
            Address::Group(g) => g.mailboxes(),
        }
    }

    /// The mailbox, if this is one.
    pub fn as_mailbox(&self) -> Option<&Mailbox<'a>> {
        match self {
            Address::Mailbox(m) => Some(m),
            Address::Group(_) => None,
        }
    }

    /// The group, if this is one.
    pub fn as_group(&self) -> Option<&Group<'a>> {
        match self {
            Address::Group(g) => Some(g),
            Address::Mailbox(_) => None,
        }
    }

    /// The same address, owning its text.
    pub fn into_owned(self) -> Address<'static> {
        match self {
            Address::Mailbox(m) => Address::Mailbox(m.into_owned()),
            Address::Group(g) => Address::Group(g.into_owned()),
        }
    }
}

impl fmt::Display for Address<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Mailbox(m) => fmt::Display::fmt(m, f),
            Address::Group(g) => fmt::Display::fmt(g, f),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Word,
    Dot,
}

/// Summary of a run of words and dots (a phrase or a local part) scanned once.
#[derive(Debug, Default)]
struct Words {
    /// Start of the first token and end of the last one.
    start: usize,
    end: usize,
    tokens: usize,
    quoted: usize,
    /// CFWS between two tokens.
    gaps: bool,
    /// As a phrase, the raw span differs from the value (a comment, or white space other
    /// than one SP between tokens).
    phrase_irregular: bool,
    /// A dot where a local part cannot have one.
    bad_dot: Option<usize>,
    /// A word right after a word (a phrase, not a local part).
    word_after_word: Option<usize>,
    last: Option<Tok>,
}

fn scan_words(cur: &mut Cursor<'_>) -> Result<Words, ParseError> {
    let bytes = cur.src.as_bytes();
    let mut w = Words::default();
    loop {
        let gap_start = cur.pos;
        let cfws = cur.skip_cfws()?;
        let tok_start = cur.pos;
        let first = match cur.peek() {
            Some(b) if lexer::is_atext_or_dot(b) => b,
            Some(b'"') => b'"',
            _ => break,
        };
        match w.last {
            None => w.start = tok_start,
            Some(_) if cfws.any => {
                w.gaps = true;
                if cfws.comment || cur.slice(gap_start, tok_start) != " " {
                    w.phrase_irregular = true;
                }
            }
            Some(_) => {}
        }
        if first != b'.' && w.last == Some(Tok::Word) {
            w.word_after_word.get_or_insert(tok_start);
        }
        if first == b'"' {
            cur.quoted_string()?;
            w.quoted += 1;
            w.last = Some(Tok::Word);
        } else {
            // A run of atoms and dots in one pass.
            let mut last = w.last;
            let mut i = tok_start;
            while let Some(&b) = bytes.get(i) {
                if b == b'.' {
                    if last != Some(Tok::Word) {
                        w.bad_dot.get_or_insert(i);
                    }
                    last = Some(Tok::Dot);
                } else if lexer::is_atext(b) {
                    last = Some(Tok::Word);
                } else {
                    break;
                }
                i += 1;
            }
            cur.pos = i;
            w.last = last;
        }
        w.end = cur.pos;
        w.tokens += 1;
    }
    if w.last == Some(Tok::Dot) {
        w.bad_dot.get_or_insert(w.end - 1);
    }
    Ok(w)
}

/// The semantic value of a local part scanned as `w`.
fn local_value<'a>(cur: &Cursor<'a>, w: &Words) -> Result<Cow<'a, str>, ParseError> {
    if w.tokens == 0 {
        return Err(cur.err(ParseErrorKind::MissingLocalPart));
    }
    if let Some(p) = w.bad_dot {
        return Err(ParseError::new(ParseErrorKind::MisplacedDot, p));
    }
    if let Some(p) = w.word_after_word {
        return Err(ParseError::new(ParseErrorKind::MissingAt, p));
    }
    if w.quoted == 0 && !w.gaps {
        return Ok(Cow::Borrowed(cur.slice(w.start, w.end)));
    }
    let mut sub = Cursor::new(cur.src);
    sub.pos = w.start;
    if w.tokens == 1 {
        return Ok(sub.quoted_string()?.value());
    }
    let mut out = String::with_capacity(w.end - w.start);
    while sub.pos < w.end {
        sub.skip_cfws()?;
        match sub.peek() {
            Some(b'"') => lexer::unescape_into(sub.quoted_string()?.raw, &mut out),
            Some(b'.') => {
                out.push('.');
                sub.pos += 1;
            }
            Some(_) => out.push_str(sub.atom()),
            None => break,
        }
    }
    Ok(Cow::Owned(out))
}

/// The semantic value of a phrase scanned as `w` (not empty), RFC 2047 decoded.
fn phrase_value<'a>(cur: &Cursor<'a>, w: &Words) -> Result<Cow<'a, str>, ParseError> {
    let raw: Cow<'a, str> = if w.quoted == 0 && !w.phrase_irregular {
        Cow::Borrowed(cur.slice(w.start, w.end))
    } else {
        let mut sub = Cursor::new(cur.src);
        sub.pos = w.start;
        if w.tokens == 1 {
            sub.quoted_string()?.value()
        } else {
            let mut out = String::with_capacity(w.end - w.start);
            let mut first = true;
            while sub.pos < w.end {
                let gap = sub.skip_cfws()?;
                if sub.pos >= w.end {
                    break;
                }
                if gap.any && !first {
                    out.push(' ');
                }
                first = false;
                match sub.peek() {
                    Some(b'"') => lexer::unescape_into(sub.quoted_string()?.raw, &mut out),
                    Some(b'.') => {
                        out.push('.');
                        sub.pos += 1;
                    }
                    Some(_) => out.push_str(sub.atom()),
                    None => break,
                }
            }
            Cow::Owned(out)
        }
    };
    Ok(decode_words(raw))
}

fn decode_words(raw: Cow<'_, str>) -> Cow<'_, str> {
    match raw {
        Cow::Borrowed(s) => encoded_word::decode(s),
        Cow::Owned(s) => match encoded_word::decode(&s) {
            Cow::Borrowed(_) => Cow::Owned(s),
            Cow::Owned(d) => Cow::Owned(d),
        },
    }
}

/// Parses a domain (after `@`), leaving the cursor right after its last token.
fn parse_domain<'a>(cur: &mut Cursor<'a>) -> Result<Cow<'a, str>, ParseError> {
    cur.skip_cfws()?;
    match cur.peek() {
        Some(b'[') => return cur.domain_literal(),
        Some(b'.') => return Err(cur.err(ParseErrorKind::MisplacedDot)),
        Some(b) if lexer::is_atext(b) => {}
        _ => return Err(cur.err(ParseErrorKind::MissingDomain)),
    }
    let bytes = cur.src.as_bytes();
    let start = cur.pos;
    let mut end = start;
    let mut contiguous = true;
    let mut last_dot = start;
    let mut need_atom = false;
    loop {
        while let Some(&b) = bytes.get(cur.pos) {
            if lexer::is_atext(b) {
                need_atom = false;
            } else if b == b'.' {
                if need_atom {
                    return Err(cur.err(ParseErrorKind::MisplacedDot));
                }
                need_atom = true;
                last_dot = cur.pos;
            } else {
                break;
            }
            cur.pos += 1;
        }
        if !need_atom {
            end = cur.pos;
        }
        let save = cur.pos;
        let gap = cur.skip_cfws()?;
        let next = cur.peek();
        if need_atom {
            if next.is_some_and(lexer::is_atext) {
                contiguous &= !gap.any;
                continue;
            }
            return Err(ParseError::new(ParseErrorKind::MisplacedDot, last_dot));
        }
        if next == Some(b'.') {
            contiguous &= !gap.any;
            continue;
        }
        cur.pos = save;
        break;
    }
    if contiguous {
        return Ok(Cow::Borrowed(cur.slice(start, end)));
    }
    let mut sub = Cursor::new(cur.src);
    sub.pos = start;
    let mut out = String::with_capacity(end - start);
    while sub.pos < end {
        sub.skip_cfws()?;
        match sub.peek() {
            Some(b'.') => {
                out.push('.');
                sub.pos += 1;
            }
            Some(_) => out.push_str(sub.atom()),
            None => break,
        }
    }
    Ok(Cow::Owned(out))
}

/// Parses `local-part "@" domain` at the cursor (leading CFWS allowed).
fn parse_addr_spec_at<'a>(cur: &mut Cursor<'a>) -> Result<AddrSpec<'a>, ParseError> {
    let w = scan_words(cur)?;
    match cur.peek() {
        Some(b'@') => {}
        None if w.tokens == 0 => return Err(cur.err(ParseErrorKind::UnexpectedEnd)),
        Some(_) if w.tokens == 0 => return Err(cur.err(ParseErrorKind::UnexpectedChar)),
        _ => return Err(cur.err(ParseErrorKind::MissingAt)),
    }
    let local = local_value(cur, &w)?;
    cur.pos += 1;
    let domain = parse_domain(cur)?;
    Ok(AddrSpec { local, domain })
}

/// Parses an angle address; the cursor is at `<`.
fn parse_angle_addr<'a>(
    cur: &mut Cursor<'a>,
) -> Result<(Vec<Cow<'a, str>>, AddrSpec<'a>), ParseError> {
    let open = cur.pos;
    cur.pos += 1;
    cur.skip_cfws()?;
    let mut route = Vec::new();
    if matches!(cur.peek(), Some(b'@' | b',')) {
        loop {
            cur.skip_cfws()?;
            match cur.peek() {
                Some(b',') => cur.pos += 1,
                Some(b'@') => {
                    cur.pos += 1;
                    route.push(parse_domain(cur)?);
                }
                _ => break,
            }
        }
        if route.is_empty() {
            return Err(cur.err(ParseErrorKind::MissingDomain));
        }
        match cur.peek() {
            Some(b':') => cur.pos += 1,
            None => return Err(ParseError::new(ParseErrorKind::UnclosedAngleAddr, open)),
            Some(_) => return Err(cur.err(ParseErrorKind::UnexpectedChar)),
        }
    }
    let addr = match parse_addr_spec_at(cur) {
        Err(e) if e.kind() == ParseErrorKind::UnexpectedEnd => {
            return Err(ParseError::new(ParseErrorKind::UnclosedAngleAddr, open));
        }
        other => other?,
    };
    cur.skip_cfws()?;
    match cur.peek() {
        Some(b'>') => {
            cur.pos += 1;
            Ok((route, addr))
        }
        None => Err(ParseError::new(ParseErrorKind::UnclosedAngleAddr, open)),
        Some(_) => Err(cur.err(ParseErrorKind::UnexpectedChar)),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// An element of an address list: a mailbox or a group.
    List,
    /// A member of a group: a mailbox only.
    InGroup,
    /// The input of `parse_mailbox`.
    Single,
}

/// Counts addresses against [`MAX_ADDRESSES`].
fn bump(count: &mut usize, cur: &Cursor<'_>) -> Result<(), ParseError> {
    *count += 1;
    if *count > MAX_ADDRESSES {
        return Err(cur.err(ParseErrorKind::TooManyAddresses));
    }
    Ok(())
}

/// Parses one mailbox or group; leading CFWS is allowed, trailing CFWS is left.
fn parse_address_at<'a>(
    cur: &mut Cursor<'a>,
    mode: Mode,
    count: &mut usize,
) -> Result<Address<'a>, ParseError> {
    bump(count, cur)?;
    let w = scan_words(cur)?;
    match cur.peek() {
        Some(b'<') => {
            let name = if w.tokens == 0 {
                None
            } else {
                Some(phrase_value(cur, &w)?)
            };
            let (route, addr) = parse_angle_addr(cur)?;
            Ok(Address::Mailbox(Mailbox { name, addr, route }))
        }
        Some(b':') => match mode {
            Mode::List => {
                let name = if w.tokens == 0 {
                    Cow::Borrowed("")
                } else {
                    phrase_value(cur, &w)?
                };
                cur.pos += 1;
                let mailboxes = parse_group_list(cur, count)?;
                Ok(Address::Group(Group { name, mailboxes }))
            }
            Mode::InGroup => Err(cur.err(ParseErrorKind::NestedGroup)),
            Mode::Single => Err(cur.err(ParseErrorKind::UnexpectedChar)),
        },
        Some(b'@') => {
            let local = local_value(cur, &w)?;
            cur.pos += 1;
            let domain = parse_domain(cur)?;
            let domain_end = cur.pos;
            let save = cur.pos;
            cur.skip_cfws()?;
            if cur.peek() == Some(b'<') {
                // `john@example.com <john@example.com>`: the unquoted addr-spec is a name.
                let name = decode_words(Cow::Borrowed(cur.slice(w.start, domain_end)));
                let (route, addr) = parse_angle_addr(cur)?;
                return Ok(Address::Mailbox(Mailbox {
                    name: Some(name),
                    addr,
                    route,
                }));
            }
            cur.pos = save;
            Ok(Address::Mailbox(Mailbox {
                name: None,
                addr: AddrSpec { local, domain },
                route: Vec::new(),
            }))
        }
        None if w.tokens == 0 => Err(cur.err(ParseErrorKind::UnexpectedEnd)),
        _ if w.tokens == 0 => Err(cur.err(ParseErrorKind::UnexpectedChar)),
        _ => Err(cur.err(ParseErrorKind::MissingAt)),
    }
}

/// Parses the members of a group after its `:`, through the `;` (which may be missing at
/// the end of the input).
fn parse_group_list<'a>(
    cur: &mut Cursor<'a>,
    count: &mut usize,
) -> Result<Vec<Mailbox<'a>>, ParseError> {
    let mut mailboxes = Vec::new();
    loop {
        cur.skip_cfws()?;
        match cur.peek() {
            None => return Ok(mailboxes),
            Some(b';') => {
                cur.pos += 1;
                return Ok(mailboxes);
            }
            Some(b',') => {
                cur.pos += 1;
                continue;
            }
            Some(_) => {}
        }
        match parse_address_at(cur, Mode::InGroup, count)? {
            Address::Mailbox(m) => mailboxes.push(m),
            Address::Group(_) => return Err(cur.err(ParseErrorKind::NestedGroup)),
        }
        cur.skip_cfws()?;
        match cur.peek() {
            Some(b',') => cur.pos += 1,
            Some(b';') => {
                cur.pos += 1;
                return Ok(mailboxes);
            }
            None => return Ok(mailboxes),
            Some(_) => return Err(cur.err(ParseErrorKind::UnexpectedChar)),
        }
    }
}

fn to_str(input: &[u8]) -> Result<&str, ParseError> {
    std::str::from_utf8(input)
        .map_err(|e| ParseError::new(ParseErrorKind::InvalidUtf8, e.valid_up_to()))
}

/// Parses an RFC 5322 `address-list` (the value of `To:`, `Cc:`, `From:`, …).
///
/// Accepts the obsolete forms of RFC 5322 section 4.4 (empty list elements, obs-route,
/// obs-local-part, obs-domain, obs-phrase), comments and folding white space everywhere,
/// groups (also empty ones) and UTF-8 (RFC 6532). Empty input, or input with only CFWS and
/// commas, gives an empty list. At most [`MAX_ADDRESSES`] addresses.
///
/// ```
/// use postwerk_message::{parse_address_list, Address};
/// let list = parse_address_list(
///     b"\"Smith, John\" <john@example.com>, =?utf-8?Q?a=2C_b?= <x@y.test>, Team: a@b.test;",
/// )
/// .unwrap();
/// assert_eq!(list.len(), 3);
/// let Address::Mailbox(john) = &list[0] else { panic!() };
/// assert_eq!(john.display_name(), Some("Smith, John"));
/// let Address::Mailbox(ab) = &list[1] else { panic!() };
/// assert_eq!(ab.display_name(), Some("a, b"));
/// let Address::Group(team) = &list[2] else { panic!() };
/// assert_eq!(team.mailboxes()[0].addr_spec().to_string(), "a@b.test");
/// ```
pub fn parse_address_list(input: &[u8]) -> Result<Vec<Address<'_>>, ParseError> {
    let src = to_str(input)?;
    let mut cur = Cursor::new(src);
    let mut out = Vec::new();
    let mut count = 0;
    loop {
        cur.skip_cfws()?;
        match cur.peek() {
            None => return Ok(out),
            Some(b',') => {
                cur.pos += 1;
                continue;
            }
            Some(_) => {}
        }
        out.push(parse_address_at(&mut cur, Mode::List, &mut count)?);
        cur.skip_cfws()?;
        match cur.peek() {
            None => return Ok(out),
            Some(b',') => cur.pos += 1,
            Some(_) => return Err(cur.err(ParseErrorKind::UnexpectedChar)),
        }
    }
}

/// Parses one RFC 5322 `mailbox` (`name-addr` or `addr-spec`), e.g. the value of
/// `Sender:`. CFWS around it is allowed; anything else after it is
/// [`ParseErrorKind::TrailingInput`].
///
/// ```
/// let m = postwerk_message::parse_mailbox(b"John Q. Public <JQB@bar.com>").unwrap();
/// assert_eq!(m.display_name(), Some("John Q. Public"));
/// assert_eq!(m.addr_spec().to_string(), "JQB@bar.com");
/// ```
pub fn parse_mailbox(input: &[u8]) -> Result<Mailbox<'_>, ParseError> {
    let src = to_str(input)?;
    let mut cur = Cursor::new(src);
    let mut count = 0;
    let Address::Mailbox(m) = parse_address_at(&mut cur, Mode::Single, &mut count)? else {
        return Err(cur.err(ParseErrorKind::UnexpectedChar));
    };
    cur.skip_cfws()?;
    if !cur.at_end() {
        return Err(cur.err(ParseErrorKind::TrailingInput));
    }
    Ok(m)
}

/// Parses one RFC 5322 `addr-spec` (`local-part@domain`), CFWS allowed where the grammar
/// allows it; anything after it is [`ParseErrorKind::TrailingInput`].
///
/// ```
/// let a = postwerk_message::parse_addr_spec(b"john (the man) . doe @ example . com").unwrap();
/// assert_eq!(a.local_part(), "john.doe");
/// assert_eq!(a.domain(), "example.com");
/// ```
pub fn parse_addr_spec(input: &[u8]) -> Result<AddrSpec<'_>, ParseError> {
    let src = to_str(input)?;
    let mut cur = Cursor::new(src);
    let addr = parse_addr_spec_at(&mut cur)?;
    cur.skip_cfws()?;
    if !cur.at_end() {
        return Err(cur.err(ParseErrorKind::TrailingInput));
    }
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mb(s: &str) -> Mailbox<'_> {
        parse_mailbox(s.as_bytes()).unwrap()
    }

    fn err(r: Result<impl fmt::Debug, ParseError>) -> (ParseErrorKind, usize) {
        let e = r.unwrap_err();
        (e.kind(), e.offset())
    }

    #[test]
    fn plain_forms_borrow() {
        let m = mb("John Smith <john@example.com>");
        assert!(matches!(m.name, Some(Cow::Borrowed("John Smith"))));
        assert!(matches!(m.addr.local, Cow::Borrowed("john")));
        assert!(matches!(m.addr.domain, Cow::Borrowed("example.com")));
        let m = mb("\"Smith, John\" <john@example.com>");
        assert!(matches!(m.name, Some(Cow::Borrowed("Smith, John"))));
        let a = parse_addr_spec(b"a.b@c.d").unwrap();
        assert!(matches!(a.local, Cow::Borrowed("a.b")));
    }

    #[test]
    fn local_part_forms() {
        let a = parse_addr_spec(br#""a\"b"@x"#).unwrap();
        assert_eq!(a.local_part(), "a\"b");
        assert_eq!(a.to_string(), r#""a\"b"@x"#);
        let a = parse_addr_spec(br#""test"."test"@x"#).unwrap();
        assert_eq!(a.local_part(), "test.test");
        assert_eq!(a.to_string(), "test.test@x");
        let a = parse_addr_spec(b"\"\"@x").unwrap();
        assert_eq!(a.local_part(), "");
        assert_eq!(a.to_string(), "\"\"@x");
        let a = parse_addr_spec("jöhn@exämple.com".as_bytes()).unwrap();
        assert_eq!(a.to_string(), "jöhn@exämple.com");
    }

    #[test]
    fn bad_local_parts() {
        assert_eq!(
            err(parse_addr_spec(b".a@x")),
            (ParseErrorKind::MisplacedDot, 0)
        );
        assert_eq!(
            err(parse_addr_spec(b"a.@x")),
            (ParseErrorKind::MisplacedDot, 1)
        );
        assert_eq!(
            err(parse_addr_spec(b"a..b@x")),
            (ParseErrorKind::MisplacedDot, 2)
        );
        assert_eq!(
            err(parse_addr_spec(b"a b@x")),
            (ParseErrorKind::MissingAt, 2)
        );
        assert_eq!(
            err(parse_addr_spec(b"@x")),
            (ParseErrorKind::MissingLocalPart, 0)
        );
        assert_eq!(err(parse_addr_spec(b"ab")), (ParseErrorKind::MissingAt, 2));
        assert_eq!(
            err(parse_addr_spec(b"")),
            (ParseErrorKind::UnexpectedEnd, 0)
        );
        assert_eq!(
            err(parse_addr_spec(b"a@")),
            (ParseErrorKind::MissingDomain, 2)
        );
        assert_eq!(
            err(parse_addr_spec(b"a@b.")),
            (ParseErrorKind::MisplacedDot, 3)
        );
        assert_eq!(
            err(parse_addr_spec(b"a@b..c")),
            (ParseErrorKind::MisplacedDot, 4)
        );
        assert_eq!(
            err(parse_addr_spec(b"a@b c")),
            (ParseErrorKind::TrailingInput, 4)
        );
        assert_eq!(
            err(parse_addr_spec(b"a@b\xff")),
            (ParseErrorKind::InvalidUtf8, 3)
        );
    }

    #[test]
    fn domains() {
        let a = parse_addr_spec(b"a@ example (c) . com ").unwrap();
        assert_eq!(a.domain(), "example.com");
        let a = parse_addr_spec(b"a@[IPv6:2001:db8::1]").unwrap();
        assert_eq!(a.domain(), "[IPv6:2001:db8::1]");
        assert!(a.is_domain_literal());
    }

    #[test]
    fn route_is_kept_aside() {
        let m = mb("<@a.test,,@b.test:joe@c.test>");
        assert_eq!(m.route(), ["a.test", "b.test"]);
        assert_eq!(m.addr_spec().to_string(), "joe@c.test");
        assert_eq!(m.to_string(), "joe@c.test");
        assert_eq!(
            err(parse_mailbox(b"<@a.test joe@c.test>")).0,
            ParseErrorKind::UnexpectedChar
        );
        assert_eq!(
            err(parse_mailbox(b"<,:joe@c.test>")).0,
            ParseErrorKind::MissingDomain
        );
    }

    #[test]
    fn address_looking_names() {
        let m = mb("\"evil@x.com\" <real@y.com>");
        assert_eq!(m.display_name(), Some("evil@x.com"));
        assert_eq!(m.addr_spec().to_string(), "real@y.com");
        let m = mb("evil@x.com <real@y.com>");
        assert_eq!(m.display_name(), Some("evil@x.com"));
        assert_eq!(m.addr_spec().to_string(), "real@y.com");
        assert_eq!(m.to_string(), "\"evil@x.com\" <real@y.com>");
    }

    #[test]
    fn lists_and_groups() {
        let l = parse_address_list(b", a@b, , c@d,").unwrap();
        assert_eq!(l.len(), 2);
        let l = parse_address_list(
            b"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, x@y",
        )
        .unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].mailboxes().len(), 3);
        assert_eq!(
            l[0].to_string(),
            "A Group: Ed Jones <c@a.test>, joe@where.test, John <jdoe@one.test>;"
        );
        let l = parse_address_list(b"undisclosed-recipients:").unwrap();
        assert!(l[0].as_group().unwrap().mailboxes().is_empty());
        assert_eq!(
            err(parse_address_list(b"a: b: c@d;;")).0,
            ParseErrorKind::NestedGroup
        );
        assert_eq!(
            err(parse_mailbox(b"a: c@d;")).0,
            ParseErrorKind::UnexpectedChar
        );
        assert_eq!(
            err(parse_address_list(b"a@b c@d")),
            (ParseErrorKind::UnexpectedChar, 4)
        );
        assert_eq!(
            err(parse_address_list(b"a@b; c@d")),
            (ParseErrorKind::UnexpectedChar, 3)
        );
        assert!(parse_address_list(b"").unwrap().is_empty());
        assert!(parse_address_list(b" (c) , ").unwrap().is_empty());
    }

    #[test]
    fn display_names_are_decoded_after_parsing() {
        let l = parse_address_list(b"=?utf-8?Q?a=2C_b?= <x@y>").unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].as_mailbox().unwrap().display_name(), Some("a, b"));
        let m = mb("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>");
        assert_eq!(m.display_name(), Some("Keld Jørn Simonsen"));
        let m = mb("=?utf-8?q?J._Smith?= <j@s>");
        assert_eq!(m.display_name(), Some("J. Smith"));
    }

    #[test]
    fn display_round_trips() {
        for name in [
            "plain",
            "John Q. Public",
            "a  b",
            " ",
            "",
            "Jöhn",
            "=?x",
            "a\"b\\c",
            "\x07\r\n",
        ] {
            let m = Mailbox::new(Some(name.into()), AddrSpec::new("a b", "c.d").unwrap());
            let text = m.to_string();
            assert_eq!(parse_mailbox(text.as_bytes()).unwrap(), m, "{text}");
        }
    }

    #[test]
    fn constructor_validates() {
        assert!(AddrSpec::new("a\r\nb", "x").is_err());
        assert!(AddrSpec::new("a", "").is_err());
        assert!(AddrSpec::new("a", "x..y").is_err());
        assert!(AddrSpec::new("a", "[1.2.3.4]").is_ok());
        assert!(AddrSpec::new("a", "[ 1.2.3.4]").is_err());
        assert!(AddrSpec::new("a", "[1.2.3.4] ").is_err());
        assert!(AddrSpec::new("", "x").is_ok());
    }
}
