//! The address parser: one forward pass of a byte cursor over the input, no recursion
//! driven by the input (groups cannot nest, comments are counted by the lexer).

use std::borrow::Cow;

use super::{AddrSpec, Address, Group, MAX_ADDRESSES, Mailbox};
use crate::encoded_word;
use crate::error::{ParseError, ParseErrorKind};
use crate::lexer::{self, Cursor};

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
    Ok(encoded_word::decode_words(raw))
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
/// `names`: a bare addr-spec ended by a comment takes the comment as its display name
/// (the [`Message`](crate::Message) accessors' reading, never the grammar functions').
fn parse_address_at<'a>(
    cur: &mut Cursor<'a>,
    mode: Mode,
    count: &mut usize,
    names: bool,
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
                let mailboxes = parse_group_list(cur, count, names)?;
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
                let name =
                    encoded_word::decode_words(Cow::Borrowed(cur.slice(w.start, domain_end)));
                let (route, addr) = parse_angle_addr(cur)?;
                return Ok(Address::Mailbox(Mailbox {
                    name: Some(name),
                    addr,
                    route,
                }));
            }
            cur.pos = save;
            Ok(Address::Mailbox(Mailbox {
                name: if names {
                    comment_name(cur.src, domain_end)
                } else {
                    None
                },
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
    names: bool,
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
        match parse_address_at(cur, Mode::InGroup, count, names)? {
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

/// The RFC 822 habit `user@example.com (Full Name)`: the comment that follows a bare
/// addr-spec ending at `end` (only white space between) and ends its list element (only
/// white space, then `,`, `;` or the end, after it), as a display name: quoted pairs
/// resolved, white space collapsed, encoded words decoded; borrowed when plain.
pub(super) fn comment_name(src: &str, end: usize) -> Option<Cow<'_, str>> {
    let b = src.as_bytes();
    let is_ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let mut open = end;
    while b.get(open).is_some_and(is_ws) {
        open += 1;
    }
    if b.get(open) != Some(&b'(') {
        return None;
    }
    // The comment, with the lexer's comment walk; an unclosed (or too deeply nested) one
    // ends the field.
    let close = lexer::skip_comment_at(b, open).map_or(b.len(), |after| after - 1);
    let mut after = close + 1;
    while b.get(after).is_some_and(is_ws) {
        after += 1;
    }
    if !matches!(b.get(after), None | Some(b',' | b';')) {
        return None;
    }
    let inner = src.get(open + 1..close)?;
    let plain = !inner
        .bytes()
        .any(|c| matches!(c, b'\\' | b'\r' | b'\n' | b'\t' | b'=' | b'(' | b')'))
        && !inner.contains("  ");
    let name = if plain {
        Cow::Borrowed(inner.trim())
    } else {
        let mut name = String::with_capacity(inner.len());
        lexer::unescape_into(inner, &mut name);
        let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        Cow::Owned(encoded_word::decode_words(Cow::Owned(name)).into_owned())
    };
    (!name.is_empty()).then_some(name)
}

fn to_str(input: &[u8]) -> Result<&str, ParseError> {
    std::str::from_utf8(input)
        .map_err(|e| ParseError::new(ParseErrorKind::InvalidUtf8, e.valid_up_to()))
}

/// Parses an RFC 5322 `address-list` (the value of `To:`, `Cc:`, `From:`, …).
///
/// Accepts the obsolete forms of RFC 5322 section 4.4 (empty list elements, obs-route,
/// obs-local-part, obs-domain, obs-phrase), comments and folding white space everywhere,
/// groups (also empty ones) and UTF-8 (RFC 6532). An address-list has at least one
/// address: empty input, or input with only CFWS and commas, is
/// [`ParseErrorKind::UnexpectedEnd`]. At most [`MAX_ADDRESSES`] addresses. (The
/// [`Message`](crate::Message) accessors read an empty field as an empty list.)
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
    address_list(input, false)
}

/// [`parse_address_list`], and with `names`, a bare addr-spec ended by a comment
/// (`user@example.com (Full Name)`) takes the comment as its display name.
pub(super) fn address_list(input: &[u8], names: bool) -> Result<Vec<Address<'_>>, ParseError> {
    let src = to_str(input)?;
    let mut cur = Cursor::new(src);
    // One address per comma, about: sized once instead of grown by doubling.
    let commas = memchr::memchr_iter(b',', input).count();
    let mut out = Vec::with_capacity((commas + 1).min(MAX_ADDRESSES));
    let mut count = 0;
    loop {
        cur.skip_cfws()?;
        match cur.peek() {
            None if out.is_empty() => return Err(cur.err(ParseErrorKind::UnexpectedEnd)),
            None => return Ok(out),
            Some(b',') => {
                cur.pos += 1;
                continue;
            }
            Some(_) => {}
        }
        out.push(parse_address_at(&mut cur, Mode::List, &mut count, names)?);
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
    let Address::Mailbox(m) = parse_address_at(&mut cur, Mode::Single, &mut count, false)? else {
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
    use std::fmt;

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
        assert_eq!(
            err(parse_address_list(b"")),
            (ParseErrorKind::UnexpectedEnd, 0)
        );
        assert_eq!(
            err(parse_address_list(b" (c) , ")),
            (ParseErrorKind::UnexpectedEnd, 7)
        );
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
