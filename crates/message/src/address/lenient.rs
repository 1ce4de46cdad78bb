//! The address reader of the [`Message`](crate::Message) accessors: the strict parser
//! first, and where it refuses, a forgiving single pass that reads what mail clients read.
//!
//! Repairs, each recorded in a [`Sink`]: raw 8-bit bytes (read as UTF-8 where valid, else
//! in the message's charset, else Windows-1252); missing commas between addresses; `;`
//! used as a separator outside a group; quoted strings, angle addresses, comments and
//! groups left open (closed at the end of the field); an address without `@domain` (its
//! local part is kept, the domain is empty); text that is no address is dropped. A bare
//! addr-spec ended by a comment (`user@example.com (Full Name)`, the RFC 822 habit) takes
//! the comment as its display name, on both paths. Groups
//! never nest: a group name inside a group closes the open group first.

use std::borrow::Cow;

use super::parse::{address_list, comment_name};
use super::{AddrSpec, Address, Group, MAX_ADDRESSES, Mailbox, parse_addr_spec};
use crate::encoded_word;
use crate::error::{ParseError, ParseErrorKind};
use crate::repair::{RepairKind, Sink};

/// Reads an address-list field value the way mail clients do. Errors only when the list
/// holds more than [`MAX_ADDRESSES`] addresses.
///
/// `charset` gives the legacy charset for raw 8-bit bytes; it is called only when needed.
pub(crate) fn read_address_list<'a, 'c>(
    raw: &'a [u8],
    charset: impl FnOnce() -> Option<Cow<'c, str>>,
    sink: &mut Sink,
) -> Result<Vec<Address<'a>>, ParseError> {
    match address_list(raw, true) {
        Ok(list) => return Ok(list),
        Err(e) if e.kind() == ParseErrorKind::TooManyAddresses => return Err(e),
        Err(_) => {}
    }
    let charset = if raw.is_ascii() { None } else { charset() };
    let (text, legacy) = crate::charset::decode_8bit(raw, charset.as_deref());
    match text {
        Cow::Borrowed(text) => lenient(text, sink),
        Cow::Owned(text) => {
            if legacy {
                sink.push(RepairKind::EightBitText, 0);
            }
            let list: Vec<Address<'a>> = match address_list(text.as_bytes(), true) {
                Ok(list) => list.into_iter().map(Address::into_owned).collect(),
                Err(_) => {
                    // Offsets in the converted text are not offsets in the input: report
                    // the start of the value.
                    let mut inner = Sink::collecting();
                    let list = lenient(&text, &mut inner)?;
                    for (kind, _) in inner.into_found() {
                        sink.push(kind, 0);
                    }
                    list.into_iter().map(Address::into_owned).collect()
                }
            };
            Ok(list)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An atom (or any run of ordinary characters).
    Atom,
    /// A quoted string, unquoted.
    Quoted,
    /// A domain literal with its brackets.
    Literal,
    Dot,
    At,
}

#[derive(Debug)]
struct Tok<'t> {
    kind: Kind,
    text: Cow<'t, str>,
    /// White space or a comment came before it.
    space: bool,
    start: usize,
}

/// Bytes that end an atom in the forgiving reader.
fn is_special(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t'
            | b'\r'
            | b'\n'
            | b'('
            | b')'
            | b'<'
            | b'>'
            | b'['
            | b']'
            | b':'
            | b';'
            | b'@'
            | b'\\'
            | b','
            | b'.'
            | b'"'
    )
}

struct Reader<'t, 's> {
    src: &'t str,
    pos: usize,
    sink: &'s mut Sink,
    out: Vec<Address<'t>>,
    group: Option<(Cow<'t, str>, Vec<Mailbox<'t>>)>,
    words: Vec<Tok<'t>>,
    /// An angle address just ended the current element: a word now means a missing comma.
    after_mailbox: bool,
    count: usize,
}

fn lenient<'t>(src: &'t str, sink: &mut Sink) -> Result<Vec<Address<'t>>, ParseError> {
    let mut r = Reader {
        src,
        pos: 0,
        sink,
        out: Vec::new(),
        group: None,
        words: Vec::new(),
        after_mailbox: false,
        count: 0,
    };
    r.run()?;
    Ok(r.out)
}

impl<'t> Reader<'t, '_> {
    fn bytes(&self) -> &'t [u8] {
        self.src.as_bytes()
    }

    fn slice(&self, a: usize, b: usize) -> &'t str {
        self.src.get(a..b).unwrap_or_default()
    }

    fn run(&mut self) -> Result<(), ParseError> {
        let mut space = false;
        while let Some(&b) = self.bytes().get(self.pos) {
            let start = self.pos;
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => {
                    self.pos += 1;
                    space = true;
                    continue;
                }
                b'(' => {
                    self.skip_comment();
                    space = true;
                    continue;
                }
                b',' => {
                    self.pos += 1;
                    self.flush()?;
                    self.after_mailbox = false;
                }
                b';' => {
                    self.pos += 1;
                    let had = !self.words.is_empty() || self.after_mailbox;
                    self.flush()?;
                    self.after_mailbox = false;
                    match self.group.take() {
                        Some((name, members)) => {
                            self.out.push(Address::Group(Group::new(name, members)));
                            // The next group or mailbox needs a comma first.
                            self.after_mailbox = true;
                        }
                        None if had => self.sink.push(RepairKind::SemicolonSeparator, start),
                        None => {}
                    }
                }
                b':' => {
                    self.pos += 1;
                    let name = self.phrase(0, self.words.len());
                    self.words.clear();
                    self.after_mailbox = false;
                    if let Some((open, members)) = self.group.take() {
                        self.sink.push(RepairKind::UnclosedGroup, start);
                        self.out.push(Address::Group(Group::new(open, members)));
                    }
                    self.group = Some((name.unwrap_or(Cow::Borrowed("")), Vec::new()));
                }
                b'<' => {
                    self.pos += 1;
                    self.check_comma(start);
                    let name = self.phrase(0, self.words.len());
                    self.words.clear();
                    let addr = self.angle(start);
                    self.push_mailbox(Mailbox::new(name, addr))?;
                    self.after_mailbox = true;
                }
                b'"' => {
                    self.check_comma(start);
                    let text = self.quoted();
                    self.words.push(Tok {
                        kind: Kind::Quoted,
                        text,
                        space,
                        start,
                    });
                }
                b'[' => {
                    self.check_comma(start);
                    let end =
                        match memchr::memchr(b']', self.bytes().get(start..).unwrap_or_default()) {
                            Some(i) => start + i + 1,
                            None => self.src.len(),
                        };
                    self.pos = end;
                    self.words.push(Tok {
                        kind: Kind::Literal,
                        text: Cow::Borrowed(self.slice(start, end)),
                        space,
                        start,
                    });
                }
                b'.' | b'@' => {
                    self.check_comma(start);
                    self.pos += 1;
                    self.words.push(Tok {
                        kind: if b == b'.' { Kind::Dot } else { Kind::At },
                        text: Cow::Borrowed(self.slice(start, start + 1)),
                        space,
                        start,
                    });
                }
                b')' | b'>' | b']' | b'\\' => {
                    self.pos += 1;
                    self.sink.push(RepairKind::DroppedText, start);
                }
                _ => {
                    self.check_comma(start);
                    let mut end = start;
                    while self.bytes().get(end).is_some_and(|&c| !is_special(c)) {
                        end += 1;
                    }
                    // `end > start` (`b` is not special), and a run ends at an ASCII byte,
                    // so on a character boundary.
                    self.pos = end;
                    self.words.push(Tok {
                        kind: Kind::Atom,
                        text: Cow::Borrowed(self.slice(start, self.pos)),
                        space,
                        start,
                    });
                }
            }
            space = false;
        }
        self.flush()?;
        if let Some((name, members)) = self.group.take() {
            self.sink.push(RepairKind::UnclosedGroup, self.src.len());
            self.out.push(Address::Group(Group::new(name, members)));
        }
        Ok(())
    }

    /// A word after a complete angle address, without a comma between.
    fn check_comma(&mut self, at: usize) {
        if self.after_mailbox {
            self.sink.push(RepairKind::MissingComma, at);
            self.after_mailbox = false;
        }
    }

    fn push_mailbox(&mut self, m: Mailbox<'t>) -> Result<(), ParseError> {
        self.count += 1;
        if self.count > MAX_ADDRESSES {
            return Err(ParseError::new(ParseErrorKind::TooManyAddresses, self.pos));
        }
        match self.group.as_mut() {
            Some((_, members)) => members.push(m),
            None => self.out.push(Address::Mailbox(m)),
        }
        Ok(())
    }

    /// Skips a comment at `(` (and the white space after it) with the lexer's CFWS
    /// skipper; an unclosed or too deeply nested one runs to the end of the field.
    fn skip_comment(&mut self) {
        let open = self.pos;
        match crate::lexer::skip_cfws_at(self.bytes(), self.pos) {
            Ok(end) => self.pos = end.max(open + 1),
            Err(_) => {
                self.pos = self.src.len();
                self.sink.push(RepairKind::UnclosedComment, open);
            }
        }
    }

    /// A quoted string at `"`, unquoted; an unclosed one runs to the end of the field.
    fn quoted(&mut self) -> Cow<'t, str> {
        let open = self.pos;
        let start = open + 1;
        let mut i = start;
        let mut plain = true;
        let end = loop {
            match self.bytes().get(i) {
                None => {
                    self.sink.push(RepairKind::UnclosedQuotedString, open);
                    // `"Smith, John <john@example.com>`: the quote ends before the last
                    // angle address.
                    let raw = self.slice(start, self.src.len());
                    if let Some(lt) = raw.rfind('<') {
                        let end = start + lt;
                        self.pos = end;
                        let raw = self.slice(start, end).trim_end();
                        let mut out = String::with_capacity(raw.len());
                        crate::lexer::unescape_into(raw, &mut out);
                        return Cow::Owned(out);
                    }
                    break i;
                }
                Some(b'"') => break i,
                Some(b'\\') => {
                    plain = false;
                    i += 2;
                }
                Some(b'\r' | b'\n') => {
                    plain = false;
                    i += 1;
                }
                Some(_) => i += 1,
            }
        };
        let end = end.min(self.src.len());
        self.pos = (end + 1).min(self.src.len());
        let raw = self.slice(start, end);
        if plain {
            return Cow::Borrowed(raw);
        }
        let mut out = String::with_capacity(raw.len());
        crate::lexer::unescape_into(raw, &mut out);
        Cow::Owned(out)
    }

    /// An angle address after `<`: an obsolete route dropped, the addr-spec read
    /// strictly where it can be, else split at its last `@`.
    fn angle(&mut self, open: usize) -> AddrSpec<'t> {
        let start = self.pos;
        let end = match memchr::memchr(b'>', self.bytes().get(start..).unwrap_or_default()) {
            Some(i) => start + i,
            None => {
                self.sink.push(RepairKind::UnclosedAngleAddr, open);
                self.src.len()
            }
        };
        self.pos = (end + 1).min(self.src.len());
        let mut inner = self.slice(start, end).trim();
        // Obsolete route: `@a.example,@b.example:`.
        if inner.starts_with('@')
            && let Some(colon) = inner.find(':')
        {
            inner = inner.get(colon + 1..).unwrap_or_default().trim();
        }
        if let Ok(a) = parse_addr_spec(inner.as_bytes()) {
            return a;
        }
        self.addr_from(inner, start)
    }

    /// An addr-spec from text the strict parser refused: split at the last `@`, quotes
    /// removed from the local part, white space and comments from the domain.
    fn addr_from(&mut self, text: &'t str, offset: usize) -> AddrSpec<'t> {
        let (local, domain) = match text.rfind('@') {
            Some(at) => (
                text.get(..at).unwrap_or_default().trim(),
                text.get(at + 1..).unwrap_or_default().trim(),
            ),
            None => (text, ""),
        };
        if domain.is_empty() {
            self.sink.push(RepairKind::MissingDomain, offset);
        }
        let local: Cow<'t, str> = match local.strip_prefix('"') {
            Some(q) => {
                let q = q.strip_suffix('"').unwrap_or(q);
                let mut out = String::with_capacity(q.len());
                crate::lexer::unescape_into(q, &mut out);
                Cow::Owned(out)
            }
            None => Cow::Borrowed(local),
        };
        let domain: Cow<'t, str> = if domain.bytes().any(|b| b.is_ascii_whitespace() || b == b'(') {
            let mut out = String::with_capacity(domain.len());
            let mut pos = 0usize;
            while let Some(c) = domain.get(pos..).and_then(|rest| rest.chars().next()) {
                if c == '(' {
                    // The lexer's comment walk; an unclosed comment runs to the end.
                    pos = crate::lexer::skip_comment_at(domain.as_bytes(), pos)
                        .unwrap_or(domain.len());
                    continue;
                }
                if c != ')' && !c.is_whitespace() {
                    out.push(c);
                }
                pos += c.len_utf8();
            }
            Cow::Owned(out)
        } else {
            Cow::Borrowed(domain)
        };
        AddrSpec { local, domain }
    }

    /// The display name of `words[a..b]`: words joined by single spaces, encoded words
    /// decoded; `None` when there are none.
    fn phrase(&self, a: usize, b: usize) -> Option<Cow<'t, str>> {
        let words = self.words.get(a..b).unwrap_or_default();
        let (first, rest) = words.split_first()?;
        if rest.is_empty() {
            return Some(encoded_word::decode_words(first.text.clone()));
        }
        let mut out = String::new();
        out.push_str(&first.text);
        for w in rest {
            if w.space {
                out.push(' ');
            }
            out.push_str(&w.text);
        }
        Some(encoded_word::decode_words(Cow::Owned(out)))
    }

    /// Ends the current element: its words become addr-specs (each `local@domain` run of
    /// words without white space), with the words before the first one as its display
    /// name; a lone word is a local part without domain; anything else is dropped.
    fn flush(&mut self) -> Result<(), ParseError> {
        if self.words.is_empty() {
            return Ok(());
        }
        let n = self.words.len();
        let mut i = 0;
        // Start of the words not yet used.
        let mut unused = 0;
        let mut found = false;
        while i < n {
            if self.words.get(i).map(|w| w.kind) != Some(Kind::At) {
                i += 1;
                continue;
            }
            // The local part: the run of words right before `@` without white space.
            let mut ls = i;
            while ls > unused
                && self.words.get(ls).is_some_and(|w| !w.space)
                && self
                    .words
                    .get(ls - 1)
                    .is_some_and(|w| matches!(w.kind, Kind::Atom | Kind::Quoted | Kind::Dot))
            {
                ls -= 1;
            }
            // The domain: the run of words right after `@` without white space.
            let mut de = i + 1;
            while self.words.get(de).is_some_and(|w| {
                !w.space && matches!(w.kind, Kind::Atom | Kind::Literal | Kind::Dot)
            }) {
                de += 1;
            }
            let (Some(first), Some(at)) = (self.words.get(ls), self.words.get(i)) else {
                break;
            };
            let text_start = first.start;
            let text_end = self
                .words
                .get(de - 1)
                .map_or(at.start + 1, |w| w.start + self.word_len(w));
            let name = self
                .phrase(unused, ls)
                .or_else(|| comment_name(self.src, text_end));
            if found {
                self.sink.push(RepairKind::MissingComma, text_start);
            }
            let text = self.slice(text_start, text_end);
            let addr = match parse_addr_spec(text.as_bytes()) {
                Ok(a) => a,
                Err(_) => self.addr_from(text, text_start),
            };
            self.push_mailbox(Mailbox::new(name, addr))?;
            found = true;
            unused = de;
            i = de;
        }
        if !found {
            let only = self.words.first().filter(|_| n == 1);
            match only {
                Some(w) if w.kind == Kind::Atom => {
                    let (text, start) = (w.text.clone(), w.start);
                    self.sink.push(RepairKind::MissingDomain, start);
                    self.push_mailbox(Mailbox::new(
                        None,
                        AddrSpec {
                            local: text,
                            domain: Cow::Borrowed(""),
                        },
                    ))?;
                }
                _ => {
                    let start = self.words.first().map_or(0, |w| w.start);
                    self.sink.push(RepairKind::DroppedText, start);
                }
            }
        } else if unused < n {
            let start = self.words.get(unused).map_or(0, |w| w.start);
            self.sink.push(RepairKind::DroppedText, start);
        }
        self.words.clear();
        Ok(())
    }

    /// The length in the source of a word (quoted strings with their quotes).
    fn word_len(&self, w: &Tok<'t>) -> usize {
        match w.kind {
            Kind::Quoted => {
                // From the opening quote to just past the closing one (or the end).
                let rest = self.bytes().get(w.start + 1..).unwrap_or_default();
                let mut i = 0;
                while let Some(&c) = rest.get(i) {
                    match c {
                        b'"' => return i + 2,
                        b'\\' => i += 2,
                        _ => i += 1,
                    }
                }
                rest.len() + 1
            }
            _ => w.text.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(raw: &[u8]) -> (Vec<String>, Vec<RepairKind>) {
        let mut sink = Sink::collecting();
        let list = read_address_list(raw, || None, &mut sink).unwrap();
        let shown = list
            .iter()
            .map(|a| match a {
                Address::Mailbox(m) => {
                    format!("{}|{}", m.display_name().unwrap_or("-"), m.addr_spec())
                }
                Address::Group(g) => format!(
                    "{}:[{}]",
                    g.display_name(),
                    g.mailboxes()
                        .iter()
                        .map(|m| format!("{}|{}", m.display_name().unwrap_or("-"), m.addr_spec()))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            })
            .collect();
        (shown, sink.into_found().into_iter().map(|r| r.0).collect())
    }

    #[test]
    fn strict_input_is_read_strictly_without_repairs() {
        assert_eq!(
            read(b"A <a@x.test>, b@y.test"),
            (vec!["A|a@x.test".into(), "-|b@y.test".into()], vec![])
        );
    }

    #[test]
    fn comments_in_a_refused_domain_are_dropped_with_the_lexer_walk() {
        // A quoted `)` does not close the comment; white space goes too.
        assert_eq!(read(b"A <a..b@x (c\\) d) .test>").0, ["A|\"a..b\"@x.test"]);
    }

    #[test]
    fn a_comment_after_a_bare_addr_spec_is_its_name() {
        // mail gem fixture `multi_address_bounce1.eml`.
        assert_eq!(
            read(b"MAILER-DAEMON@lvmail01.LL.com (Mail Delivery System)").0,
            ["Mail Delivery System|MAILER-DAEMON@lvmail01.LL.com"]
        );
        assert_eq!(
            read(b"a@x.test (Ann \\(A\\)\r\n Smith), B <b@x.test> (desk), c@x.test").0,
            ["Ann (A) Smith|a@x.test", "B|b@x.test", "-|c@x.test"]
        );
        assert_eq!(
            read(b"team: a@x.test (=?utf-8?Q?J=C3=B6rg?=), b@[IPv6:::1] (B);, (x) c@x.test").0,
            ["team:[J\u{f6}rg|a@x.test,B|b@[IPv6:::1]]", "-|c@x.test"]
        );
        // A named mailbox with the same address, or a longer address, is not it.
        assert_eq!(
            read(b"B <ba@x.test>, a@x.test (A), ba@x.test (C)").0,
            ["B|ba@x.test", "A|a@x.test", "C|ba@x.test"]
        );
        // Comment then more text: not the name.
        assert_eq!(
            read(b"a@x.test (c) d").0.first().map(String::as_str),
            Some("-|a@x.test")
        );
        // A comment inside the addr-spec, or with a display name, names nothing.
        assert_eq!(read(b"a(c)@x.test").0, ["-|a@x.test"]);
        assert_eq!(read(b"A a@x.test (c) b@x.test").0.len(), 2);
        // Unclosed comment: closed at the end.
        assert_eq!(read(b"a@x.test (Ann").0, ["Ann|a@x.test"]);
        // The grammar function stays the grammar: a comment is no display name.
        let strict = crate::parse_address_list(b"a@x.test (Ann)").unwrap();
        assert_eq!(strict[0].as_mailbox().unwrap().display_name(), None);
        let strict = crate::parse_mailbox(b"a@x.test (Ann)").unwrap();
        assert_eq!(strict.display_name(), None);
    }

    #[test]
    fn eight_bit_display_name() {
        let (list, repairs) = read(b"Heinz M\xfcller <mueller@example.com>");
        assert_eq!(list, ["Heinz M\u{fc}ller|mueller@example.com"]);
        assert_eq!(repairs, [RepairKind::EightBitText]);
    }

    #[test]
    fn groups_without_comma_between_them() {
        let (list, repairs) = read(
            b"\"Colleagues\": \"James Smythe\" <james@vandelay.com>;\n Friends: jane@example.com, \"John Smith\" <john@example.com>;",
        );
        assert_eq!(
            list,
            [
                "Colleagues:[James Smythe|james@vandelay.com]",
                "Friends:[-|jane@example.com,John Smith|john@example.com]"
            ]
        );
        assert_eq!(repairs, [RepairKind::MissingComma]);
    }

    #[test]
    fn missing_commas_and_semicolons() {
        let (list, repairs) = read(b"A <a@x.test> B <b@x.test>; c@y.test d@z.test");
        assert_eq!(
            list,
            ["A|a@x.test", "B|b@x.test", "-|c@y.test", "-|d@z.test"]
        );
        assert_eq!(
            repairs,
            [
                RepairKind::MissingComma,
                RepairKind::SemicolonSeparator,
                RepairKind::MissingComma
            ]
        );
    }

    #[test]
    fn unclosed_things_close_at_the_end() {
        let (list, repairs) = read(b"\"Smith, John <john@x.test>");
        assert_eq!(list, ["Smith, John|john@x.test"]);
        assert_eq!(repairs, [RepairKind::UnclosedQuotedString]);
        let (list, repairs) = read(b"\"Smith, John");
        assert!(list.is_empty());
        assert_eq!(
            repairs,
            [RepairKind::UnclosedQuotedString, RepairKind::DroppedText]
        );
        let (list, repairs) = read(b"John <john@x.test");
        assert_eq!(list, ["John|john@x.test"]);
        assert_eq!(repairs, [RepairKind::UnclosedAngleAddr]);
        let (list, repairs) = read(b"john@x.test (John");
        assert_eq!(list, ["John|john@x.test"]);
        assert_eq!(repairs, [RepairKind::UnclosedComment]);
    }

    #[test]
    fn mailbox_without_domain_keeps_its_local_part() {
        let (list, repairs) = read(b"Moderator-Address <moderator>");
        assert_eq!(list, ["Moderator-Address|moderator"]);
        assert_eq!(repairs, [RepairKind::MissingDomain]);
        let (list, _) = read(b"moderator");
        assert_eq!(list, ["-|moderator"]);
    }

    #[test]
    fn never_fails_on_junk() {
        for junk in [
            &b"<<<>>>"[..],
            b"@@@",
            b"\"",
            b"(",
            b":::;;;",
            b"a@",
            b"@b",
            b"[",
            b"\xff\xfe<\xff@\xfe>",
            b"\\",
        ] {
            let mut sink = Sink::collecting();
            assert!(read_address_list(junk, || None, &mut sink).is_ok());
        }
    }
}
