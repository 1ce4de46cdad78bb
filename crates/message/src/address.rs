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

mod lenient;
mod parse;

pub(crate) use lenient::read_address_list;
pub use parse::{parse_addr_spec, parse_address_list, parse_mailbox};

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
    ///
    /// Empty only for an address that the [`Message`](crate::Message) accessors read from
    /// a field without `@domain` (`Moderator-Address <moderator>`); the grammar functions
    /// never return one.
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

    /// An address from parts that are not checked: for the lenient readers and for
    /// deserializing a domain-less address, which [`AddrSpec::new`] refuses.
    #[cfg(feature = "serde")]
    pub(crate) fn from_parts(local: Cow<'a, str>, domain: Cow<'a, str>) -> Self {
        AddrSpec { local, domain }
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
    /// dot-atom; without a domain, the bare local part.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_dot_atom_local() {
            f.write_str(&self.local)?;
        } else {
            write_quoted(&self.local, f)?;
        }
        if self.domain.is_empty() {
            return Ok(());
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
