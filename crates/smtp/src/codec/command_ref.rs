//! The command grammar, as a zero-allocation parser: [`Command::parse_ref`] returns a
//! [`CommandRef`] that borrows every name, path and parameter from the line.
//!
//! This is the only implementation of the grammar: [`Command::parse`] is
//! `parse_ref(..).map(|c| c.to_owned())`, so both accept and refuse exactly the same lines
//! with the same errors.

use super::command::{Command, CommandError, ParseOptions};
use super::params::{MailParametersRef, ParamError, RcptParametersRef};
use super::path::{
    ForwardPathRef, PathError, PathOptions, ReversePathRef, forward_path_in,
    parse_domain_or_literal, reverse_path_in,
};
use super::sasl::Mechanism;
use super::text::{Src, TextRef};

/// One SMTP command borrowed from its line: the zero-allocation form of [`Command`].
///
/// ```
/// use postwerk_smtp::codec::command::{Command, ParseOptions};
/// use postwerk_smtp::codec::command_ref::CommandRef;
/// let line = b"RCPT TO:<\"a b\"@example.com> NOTIFY=NEVER";
/// let cmd = Command::parse_ref(line, &ParseOptions::default()).unwrap();
/// let CommandRef::Rcpt { to, .. } = &cmd else { unreachable!() };
/// let m = to.mailbox().unwrap();
/// assert_eq!((m.local_part().as_ref(), m.domain().as_str()), ("a b", "example.com"));
/// assert_eq!(cmd.to_owned(), Command::parse(line, &ParseOptions::default()).unwrap());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandRef<'a> {
    /// `EHLO SP ( Domain / address-literal )`.
    Ehlo {
        /// The client's name for itself.
        domain: TextRef<'a>,
    },
    /// `HELO SP Domain`.
    Helo {
        /// The client's name for itself.
        domain: TextRef<'a>,
    },
    /// `LHLO SP Domain` (RFC 2033, LMTP).
    Lhlo {
        /// The client's name for itself.
        domain: TextRef<'a>,
    },
    /// `MAIL FROM:Reverse-path [SP Mail-parameters]`.
    Mail {
        /// The sender.
        from: ReversePathRef<'a>,
        /// SIZE, BODY, SMTPUTF8, AUTH, RET, ENVID and unknown parameters.
        params: MailParametersRef<'a>,
    },
    /// `RCPT TO:Forward-path [SP Rcpt-parameters]`.
    Rcpt {
        /// The recipient.
        to: ForwardPathRef<'a>,
        /// NOTIFY, ORCPT and unknown parameters.
        params: RcptParametersRef<'a>,
    },
    /// `DATA`.
    Data,
    /// `BDAT SP chunk-size [SP "LAST"]` (RFC 3030).
    Bdat {
        /// Exact octet count of the chunk that follows the command line.
        size: u64,
        /// `LAST`: this chunk ends the message.
        last: bool,
    },
    /// `RSET`.
    Rset,
    /// `NOOP [SP String]` (the argument is ignored).
    Noop,
    /// `QUIT`.
    Quit,
    /// `VRFY SP String`.
    Vrfy {
        /// The string to verify.
        arg: TextRef<'a>,
    },
    /// `EXPN SP String`.
    Expn {
        /// The list to expand.
        arg: TextRef<'a>,
    },
    /// `HELP [SP String]`.
    Help {
        /// The topic, if any.
        topic: Option<TextRef<'a>>,
    },
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH SP mechanism [SP initial-response]` (RFC 4954).
    Auth {
        /// The SASL mechanism name as sent (checked; any case).
        mechanism: TextRef<'a>,
        /// The initial response as sent: base64, or `=` for an empty one.
        initial_response: Option<TextRef<'a>>,
    },
}

impl CommandRef<'_> {
    /// The owned [`Command`], for a caller that keeps the command past its line. Names,
    /// mailboxes and free-text arguments become [`Text`](super::text::Text): no heap
    /// allocation up to [`Text::INLINE_CAPACITY`](super::text::Text::INLINE_CAPACITY)
    /// octets; only a list of unknown MAIL/RCPT parameters allocates (its `Vec`). The
    /// server machine makes the same conversions, but only of the parts an event carries
    /// (it matches the `CommandRef` itself).
    #[inline]
    pub fn to_owned(&self) -> Command {
        match self {
            CommandRef::Ehlo { domain } => Command::Ehlo {
                domain: domain.to_text(),
            },
            CommandRef::Helo { domain } => Command::Helo {
                domain: domain.to_text(),
            },
            CommandRef::Lhlo { domain } => Command::Lhlo {
                domain: domain.to_text(),
            },
            CommandRef::Mail { from, params } => Command::Mail {
                from: from.to_reverse_path(),
                params: params.to_owned(),
            },
            CommandRef::Rcpt { to, params } => Command::Rcpt {
                to: to.to_forward_path(),
                params: params.to_owned(),
            },
            CommandRef::Data => Command::Data,
            CommandRef::Bdat { size, last } => Command::Bdat {
                size: *size,
                last: *last,
            },
            CommandRef::Rset => Command::Rset,
            CommandRef::Noop => Command::Noop,
            CommandRef::Quit => Command::Quit,
            CommandRef::Vrfy { arg } => Command::Vrfy { arg: arg.to_text() },
            CommandRef::Expn { arg } => Command::Expn { arg: arg.to_text() },
            CommandRef::Help { topic } => Command::Help {
                topic: topic.map(|t| t.to_text()),
            },
            CommandRef::StartTls => Command::StartTls,
            CommandRef::Auth {
                mechanism,
                initial_response,
            } => Command::Auth {
                mechanism: Mechanism::from_checked_name(mechanism.as_str()),
                initial_response: initial_response.map(|r| r.to_text()),
            },
        }
    }

    /// The verb as written on the wire, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            CommandRef::Ehlo { .. } => "EHLO",
            CommandRef::Helo { .. } => "HELO",
            CommandRef::Lhlo { .. } => "LHLO",
            CommandRef::Mail { .. } => "MAIL",
            CommandRef::Rcpt { .. } => "RCPT",
            CommandRef::Data => "DATA",
            CommandRef::Bdat { .. } => "BDAT",
            CommandRef::Rset => "RSET",
            CommandRef::Noop => "NOOP",
            CommandRef::Quit => "QUIT",
            CommandRef::Vrfy { .. } => "VRFY",
            CommandRef::Expn { .. } => "EXPN",
            CommandRef::Help { .. } => "HELP",
            CommandRef::StartTls => "STARTTLS",
            CommandRef::Auth { .. } => "AUTH",
        }
    }
}

/// The verb of a command line, identified without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Ehlo,
    Helo,
    Lhlo,
    Mail,
    Rcpt,
    Data,
    Bdat,
    Rset,
    Noop,
    Quit,
    Vrfy,
    Expn,
    Help,
    StartTls,
    Auth,
}

/// A four-letter verb folded to lower case, as a big-endian word.
const fn word(v: &[u8; 4]) -> u32 {
    u32::from_be_bytes(*v)
}

/// Multiplier of the perfect hash of the four-letter verbs: `(word * VERB_HASH) >> 28`
/// puts the 14 folded verbs in distinct slots of 16 (checked when `VERBS` is built).
const VERB_HASH: u32 = 1_854_463;

#[inline]
const fn verb_slot(folded: u32) -> usize {
    (folded.wrapping_mul(VERB_HASH) >> 28) as usize
}

/// The four-letter verbs by [`verb_slot`]: one table read and one compare find a verb,
/// without a chain of compares whose branches a mix of commands mispredicts.
const VERBS: [(u32, Option<Verb>); 16] = {
    let verbs = [
        (b"ehlo", Verb::Ehlo),
        (b"helo", Verb::Helo),
        (b"lhlo", Verb::Lhlo),
        (b"mail", Verb::Mail),
        (b"rcpt", Verb::Rcpt),
        (b"data", Verb::Data),
        (b"bdat", Verb::Bdat),
        (b"rset", Verb::Rset),
        (b"noop", Verb::Noop),
        (b"quit", Verb::Quit),
        (b"vrfy", Verb::Vrfy),
        (b"expn", Verb::Expn),
        (b"help", Verb::Help),
        (b"auth", Verb::Auth),
    ];
    let mut t = [(0u32, None); 16];
    let mut i = 0;
    while i < verbs.len() {
        let w = word(verbs[i].0);
        let slot = verb_slot(w);
        assert!(t[slot].1.is_none(), "VERB_HASH must not collide");
        t[slot] = (w, Some(verbs[i].1));
        i += 1;
    }
    t
};

/// Recognises the verb by its length and one case-folded word compare. Setting bit 5 of
/// each byte folds `A`-`Z` onto `a`-`z`; since every verb letter is lower case after the
/// fold, only that letter in either case folds onto it, so no other byte can match.
#[inline]
fn verb(w: &[u8]) -> Option<Verb> {
    if let &[a, b, c, d] = w {
        let folded = u32::from_be_bytes([a, b, c, d]) | 0x2020_2020;
        // An empty slot holds 0, which no folded word equals.
        return match VERBS.get(verb_slot(folded)) {
            Some(&(known, verb)) if known == folded => verb,
            _ => None,
        };
    }
    if let &[a, b, c, d, e, f, g, h] = w {
        const STARTTLS: u64 = u64::from_be_bytes(*b"starttls");
        if u64::from_be_bytes([a, b, c, d, e, f, g, h]) | 0x2020_2020_2020_2020 == STARTTLS {
            return Some(Verb::StartTls);
        }
    }
    None
}

impl Command {
    /// Parses one command line, without its CRLF, into a [`CommandRef`] borrowing from
    /// `line`: no allocation. Accepts and refuses exactly what [`Command::parse`] does.
    pub fn parse_ref<'a>(
        line: &'a [u8],
        opts: &ParseOptions,
    ) -> Result<CommandRef<'a>, CommandError> {
        let line = if opts.leniency.trailing_whitespace {
            let n = line
                .iter()
                .rev()
                .take_while(|&&b| b == b' ' || b == b'\t')
                .count();
            line.get(..line.len() - n).unwrap_or(line)
        } else {
            line
        };
        // Verbs are four or eight letters: look for the space only there.
        let (word, arg) = match line.get(4) {
            None => (line, None),
            Some(b' ') => (
                line.get(..4).unwrap_or_default(),
                Some(line.get(5..).unwrap_or_default()),
            ),
            Some(_) => match memchr::memchr(b' ', line) {
                Some(sp) => (
                    line.get(..sp).unwrap_or_default(),
                    Some(line.get(sp + 1..).unwrap_or_default()),
                ),
                None => (line, None),
            },
        };
        // CR, LF and NUL are refused by every argument grammar below (and in `text`);
        // an unknown verb carrying one is reported as the bad character.
        let Some(verb) = verb(word) else {
            return Err(if has_control(line) {
                CommandError::InvalidCharacter
            } else {
                CommandError::Unrecognized
            });
        };
        let no_arg = |cmd: CommandRef<'a>, name| match arg {
            None => Ok(cmd),
            Some(_) => Err(CommandError::UnexpectedArgument(name)),
        };
        match verb {
            Verb::Ehlo | Verb::Helo | Verb::Lhlo => {
                let name = match verb {
                    Verb::Ehlo => "EHLO",
                    Verb::Helo => "HELO",
                    _ => "LHLO",
                };
                let arg = arg
                    .filter(|a| !a.is_empty())
                    .ok_or(CommandError::MissingArgument(name))?;
                let domain = helo_argument(arg, opts)?;
                Ok(match verb {
                    Verb::Ehlo => CommandRef::Ehlo { domain },
                    Verb::Helo => CommandRef::Helo { domain },
                    _ => CommandRef::Lhlo { domain },
                })
            }
            Verb::Mail => {
                let rest = path_start(arg, b"FROM:", "FROM:<reverse-path>", opts)?;
                let popts = PathOptions {
                    utf8: opts.smtputf8,
                    unbracketed: opts.leniency.unbracketed_path,
                };
                // One UTF-8 validation, of what is kept: the mailbox (`local@domain` is one
                // part); the parameter text is checked to be ASCII, or else UTF-8.
                let src = Src::per_part();
                let (from, n) =
                    reverse_path_in(rest, popts, src).map_err(CommandError::SenderPath)?;
                let params = MailParametersRef::parse_in(
                    rest.get(n..).unwrap_or_default(),
                    src,
                    opts.leniency.extra_spaces,
                    opts.smtputf8,
                )
                .map_err(|e| match e {
                    ParamError::Malformed if n > 0 && rest.get(n) != Some(&b' ') => {
                        CommandError::SenderPath(PathError::MissingCloseBracket)
                    }
                    e => CommandError::Parameter(e),
                })?;
                if from.mailbox().is_some_and(|m| m.is_utf8()) && !params.smtputf8 {
                    return Err(CommandError::SenderPath(PathError::Utf8NotAllowed));
                }
                Ok(CommandRef::Mail { from, params })
            }
            Verb::Rcpt => {
                let rest = path_start(arg, b"TO:", "TO:<forward-path>", opts)?;
                let popts = PathOptions {
                    utf8: opts.smtputf8,
                    unbracketed: opts.leniency.unbracketed_path,
                };
                let src = Src::per_part();
                let (to, n) =
                    forward_path_in(rest, popts, src).map_err(CommandError::RecipientPath)?;
                let params = RcptParametersRef::parse_in(
                    rest.get(n..).unwrap_or_default(),
                    src,
                    opts.leniency.extra_spaces,
                    opts.smtputf8,
                )
                .map_err(|e| match e {
                    ParamError::Malformed if rest.get(n) != Some(&b' ') => {
                        CommandError::RecipientPath(PathError::MissingCloseBracket)
                    }
                    e => CommandError::Parameter(e),
                })?;
                Ok(CommandRef::Rcpt { to, params })
            }
            Verb::Data => no_arg(CommandRef::Data, "DATA"),
            Verb::Rset => no_arg(CommandRef::Rset, "RSET"),
            Verb::Quit => no_arg(CommandRef::Quit, "QUIT"),
            Verb::StartTls => no_arg(CommandRef::StartTls, "STARTTLS"),
            Verb::Noop => Ok(CommandRef::Noop),
            Verb::Bdat => {
                let arg = arg.ok_or(CommandError::InvalidBdat)?;
                // Short arguments: an inlined search beats a call into `memchr`.
                let (size, last) = match arg.iter().position(|&b| b == b' ') {
                    Some(sp) => {
                        let marker = arg.get(sp + 1..).unwrap_or_default();
                        if marker.len() != 4 || fold_letters(marker) != fold_letters(b"last") {
                            return Err(CommandError::InvalidBdat);
                        }
                        (arg.get(..sp).unwrap_or_default(), true)
                    }
                    None => (arg, false),
                };
                if size.is_empty() || size.len() > 19 || !size.iter().all(u8::is_ascii_digit) {
                    return Err(CommandError::InvalidBdat);
                }
                let size = size
                    .iter()
                    .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
                Ok(CommandRef::Bdat { size, last })
            }
            Verb::Vrfy | Verb::Expn => {
                let name = if verb == Verb::Vrfy { "VRFY" } else { "EXPN" };
                let arg = arg
                    .filter(|a| !a.is_empty())
                    .ok_or(CommandError::MissingArgument(name))?;
                let arg = text(arg)?;
                Ok(if verb == Verb::Vrfy {
                    CommandRef::Vrfy { arg }
                } else {
                    CommandRef::Expn { arg }
                })
            }
            Verb::Help => Ok(CommandRef::Help {
                topic: arg.filter(|a| !a.is_empty()).map(text).transpose()?,
            }),
            Verb::Auth => {
                let arg = arg.ok_or(CommandError::MissingArgument("AUTH"))?;
                let (mech, ir) = match arg.iter().position(|&b| b == b' ') {
                    Some(sp) => (
                        arg.get(..sp).unwrap_or_default(),
                        Some(arg.get(sp + 1..).unwrap_or_default()),
                    ),
                    None => (arg, None),
                };
                if !Mechanism::is_valid_name(mech) {
                    return Err(CommandError::InvalidAuth);
                }
                if let Some(ir) = ir {
                    let ok = ir == b"="
                        || (!ir.is_empty() && ir.iter().all(|&b| BASE64[usize::from(b)]));
                    if !ok {
                        return Err(CommandError::InvalidAuth);
                    }
                }
                // Mechanism name and base64 are ASCII: one validation of the argument.
                let src = Src::new(arg);
                let mechanism = src.text(mech);
                let initial_response = ir.map(|ir| src.text(ir));
                Ok(CommandRef::Auth {
                    mechanism,
                    initial_response,
                })
            }
        }
    }
}

/// Up to four octets as one big-endian word with bit 5 of each set: equal for two runs of
/// letters exactly when they are equal ignoring ASCII case.
#[inline]
fn fold_letters(s: &[u8]) -> u32 {
    s.iter().fold(0, |w, &b| (w << 8) | u32::from(b | 0x20))
}

/// `base64` characters of an AUTH initial response (RFC 4954), as a table.
const BASE64: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=';
        i += 1;
    }
    t
};

#[inline]
fn has_control(b: &[u8]) -> bool {
    memchr::memchr3(b'\r', b'\n', 0, b).is_some()
}

/// Free text of VRFY, EXPN and HELP (and a lenient HELO argument): UTF-8 without CR, LF
/// or NUL.
#[inline]
fn text(b: &[u8]) -> Result<TextRef<'_>, CommandError> {
    if has_control(b) {
        return Err(CommandError::InvalidCharacter);
    }
    std::str::from_utf8(b)
        .map(TextRef::from)
        .map_err(|_| CommandError::InvalidCharacter)
}

#[inline]
fn helo_argument<'a>(arg: &'a [u8], opts: &ParseOptions) -> Result<TextRef<'a>, CommandError> {
    if opts.leniency.any_helo_argument {
        let ok = arg.iter().all(|&b| b > b' ' && b != 0x7f);
        if !ok {
            return Err(CommandError::InvalidDomain);
        }
        return text(arg);
    }
    match parse_domain_or_literal(arg, opts.smtputf8, Src::per_part()) {
        Ok((d, n)) if n == arg.len() => Ok(d),
        _ => Err(CommandError::InvalidDomain),
    }
}

/// Checks `FROM:` / `TO:` (any case) and returns the text where the path starts.
#[inline]
fn path_start<'a>(
    arg: Option<&'a [u8]>,
    keyword: &[u8],
    expected: &'static str,
    opts: &ParseOptions,
) -> Result<&'a [u8], CommandError> {
    let arg = arg.ok_or(CommandError::Expected(expected))?;
    let kw = arg
        .get(..keyword.len())
        .ok_or(CommandError::Expected(expected))?;
    // The letters compared case-folded as one word (only a letter folds onto a letter),
    // the colon exactly.
    let (Some((b':', letters)), Some((_, want))) = (kw.split_last(), keyword.split_last()) else {
        return Err(CommandError::Expected(expected));
    };
    if fold_letters(letters) != fold_letters(want) {
        return Err(CommandError::Expected(expected));
    }
    let mut rest = arg.get(keyword.len()..).unwrap_or_default();
    if opts.leniency.space_after_colon {
        let n = rest.iter().take_while(|&&b| b == b' ').count();
        rest = rest.get(n..).unwrap_or_default();
    }
    Ok(rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::command::Leniency;
    use crate::codec::path::PathError;

    fn both(line: &str, opts: &ParseOptions) -> Result<Command, CommandError> {
        let owned = Command::parse(line.as_bytes(), opts);
        let borrowed = Command::parse_ref(line.as_bytes(), opts);
        assert_eq!(borrowed.clone().map(|c| c.to_owned()), owned, "{line:?}");
        if let Ok(c) = &borrowed {
            assert_eq!(owned.as_ref().map(Command::name), Ok(c.name()));
        }
        owned
    }

    #[test]
    fn verbs_by_word() {
        assert_eq!(verb(b"MAIL"), Some(Verb::Mail));
        assert_eq!(verb(b"mAiL"), Some(Verb::Mail));
        assert_eq!(verb(b"StartTLS"), Some(Verb::StartTls));
        // Bytes that fold onto letters only through bit 5 are not letters.
        assert_eq!(verb(b"M\x01IL"), None);
        assert_eq!(verb(b"MA)L"), None);
        assert_eq!(verb(b"STARTTL\x13"), None);
        assert_eq!(verb(b"MAI"), None);
        assert_eq!(verb(b"MAILS"), None);
        // Every verb by the hash table, in either case; near misses are refused.
        for (name, v) in [
            ("EHLO", Verb::Ehlo),
            ("HELO", Verb::Helo),
            ("LHLO", Verb::Lhlo),
            ("MAIL", Verb::Mail),
            ("RCPT", Verb::Rcpt),
            ("DATA", Verb::Data),
            ("BDAT", Verb::Bdat),
            ("RSET", Verb::Rset),
            ("NOOP", Verb::Noop),
            ("QUIT", Verb::Quit),
            ("VRFY", Verb::Vrfy),
            ("EXPN", Verb::Expn),
            ("HELP", Verb::Help),
            ("AUTH", Verb::Auth),
        ] {
            assert_eq!(verb(name.as_bytes()), Some(v), "{name}");
            assert_eq!(verb(name.to_lowercase().as_bytes()), Some(v), "{name}");
            let mut near = name.as_bytes().to_vec();
            near[3] ^= 0x01;
            assert_eq!(verb(&near), None, "{name}");
        }
        assert_eq!(verb(b"\0\0\0\0"), None);
        assert_eq!(verb(b"    "), None);
    }

    #[test]
    fn borrowed_matches_owned() {
        let strict = ParseOptions::default();
        let lenient = ParseOptions {
            leniency: Leniency::all(),
            smtputf8: true,
        };
        let lines = [
            "EHLO client.example",
            "helo [192.0.2.1]",
            "LHLO x",
            "EHLO",
            "MAIL FROM:<> BODY=8BITMIME SIZE=10",
            "MAIL FROM:<\"a\\\"b c\"@x.example> AUTH=a+2Bb ENVID=QQ+2B1 RET=FULL X-Y=z Q",
            "MAIL FROM:<a@b> AUTH=<> SMTPUTF8",
            "MAIL FROM:<a@b> ENVID=+C3+BC",
            "MAIL FROM:<a@b> ENVID=+C3",
            "MAIL FROM:<a@b> ENVID=+ED+A0+80",
            "MAIL FROM:<a@b>>",
            "MAIL FROM: <a@b>",
            "mail from:a@b  SIZE=10  ",
            "MAIL FROM:<jö@x> SMTPUTF8",
            "MAIL FROM:<jö@x>",
            "RCPT TO:<Postmaster>",
            "RCPT TO:<@a.example,@b.example:u@c.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+2Bb@x",
            "RCPT TO:<a@b> ORCPT=rfc822;",
            "RCPT TO:<a@b> NOTIFY=NEVER NOTIFY=NEVER",
            "RCPT TO:<a@b> X=1 Y X=2",
            "RCPT TO:<>",
            "DATA",
            "DATA x",
            "BDAT 12 LAST",
            "BDAT 12 NOW",
            "RSET",
            "NOOP hi",
            "QUIT",
            "VRFY someone",
            "EXPN",
            "HELP",
            "HELP topic",
            "STARTTLS",
            "AUTH plain AGEAYg==",
            "AUTH x-oauth2 =",
            "AUTH PLAIN a b",
            "AUTH",
            "FOO bar",
            "DATA\r",
            "",
        ];
        for line in lines {
            for opts in [&strict, &lenient] {
                let _ = both(line, opts);
            }
        }
        assert!(both("MAIL FROM:<a@b> ENVID=+C3+BC", &strict).is_ok());
        assert!(both("MAIL FROM:<a@b> ENVID=+C3", &strict).is_err());
        assert!(both("MAIL FROM:<a@b> ENVID=+ED+A0+80", &strict).is_err());
    }

    /// Every `TextRef` handed out holds UTF-8 (the invariant `as_str` relies on), on
    /// lines mixing valid and broken UTF-8 into every position of the grammar.
    #[test]
    fn text_refs_are_utf8() {
        let toks: [&[u8]; 24] = [
            b"MAIL FROM:<",
            b"RCPT TO:<",
            b"EHLO ",
            b"VRFY ",
            b"HELP ",
            b"AUTH PLAIN ",
            "jö".as_bytes(),
            "ü".as_bytes(),
            b"\xc3",
            b"\xe0\x80",
            b"\xed\xa0\x80",
            b"\xff",
            b"a",
            b"@",
            b".",
            b"x.example",
            b">",
            b" SMTPUTF8",
            b" X=",
            b"\"",
            b"\\",
            b"[192.0.2.1]",
            b" ENVID=a",
            b" ORCPT=rfc822;b",
        ];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let utf8 = ParseOptions {
            leniency: Leniency::all(),
            smtputf8: true,
        };
        let mut accepted = 0;
        for _ in 0..100_000 {
            let mut line = Vec::new();
            for _ in 0..1 + next() % 8 {
                line.extend_from_slice(toks[(next() % toks.len() as u64) as usize]);
            }
            let Ok(c) = Command::parse_ref(&line, &utf8) else {
                continue;
            };
            accepted += 1;
            let mut texts = Vec::new();
            match &c {
                CommandRef::Ehlo { domain } => texts.push(*domain),
                CommandRef::Mail { from, params } => {
                    if let Some(m) = from.mailbox() {
                        texts.extend([m.raw_local_part(), m.domain()]);
                    }
                    texts.extend(params.auth.into_iter().chain(params.envid));
                }
                CommandRef::Rcpt { to, params } => {
                    if let Some(m) = to.mailbox() {
                        texts.extend([m.raw_local_part(), m.domain()]);
                    }
                    if let Some((t, a)) = params.orcpt {
                        texts.extend([t, a]);
                    }
                }
                CommandRef::Vrfy { arg } => texts.push(*arg),
                CommandRef::Help { topic } => texts.extend(*topic),
                CommandRef::Auth {
                    mechanism,
                    initial_response,
                } => texts.extend(std::iter::once(*mechanism).chain(*initial_response)),
                _ => {}
            }
            for t in texts {
                assert!(std::str::from_utf8(t.as_bytes()).is_ok(), "{line:?}");
            }
        }
        assert!(accepted > 1_000, "{accepted}");
    }

    /// A line that is not UTF-8 throughout is parsed by the grammar's own checks (the
    /// one validation of the line fails, and fields are validated one by one): the same
    /// results and errors as before the line was validated as a whole.
    #[test]
    fn lines_that_are_not_utf8() {
        let strict = ParseOptions::default();
        let utf8 = ParseOptions {
            leniency: Leniency::all(),
            smtputf8: true,
        };
        let cases: [(&[u8], &ParseOptions, Result<Command, CommandError>); 14] = [
            (b"NOOP \xff", &strict, Ok(Command::Noop)),
            (b"VRFY \xff", &strict, Err(CommandError::InvalidCharacter)),
            (b"HELP x\xc3", &strict, Err(CommandError::InvalidCharacter)),
            (
                b"EXPN \xed\xa0\x80",
                &utf8,
                Err(CommandError::InvalidCharacter),
            ),
            (
                b"EHLO ex\xffample.com",
                &strict,
                Err(CommandError::InvalidDomain),
            ),
            (
                b"EHLO ex\xffample.com",
                &utf8,
                Err(CommandError::InvalidCharacter),
            ),
            (
                b"MAIL FROM:<a\xff@b>",
                &strict,
                Err(CommandError::SenderPath(PathError::Utf8NotAllowed)),
            ),
            (
                b"MAIL FROM:<a\xff@b>",
                &utf8,
                Err(CommandError::SenderPath(PathError::InvalidLocalPart)),
            ),
            (
                b"MAIL FROM:<a@b> X-Y=\xff",
                &strict,
                Err(CommandError::Parameter(ParamError::Malformed)),
            ),
            (
                b"MAIL FROM:<a@b> X-Y=\xff",
                &utf8,
                Err(CommandError::Parameter(ParamError::Malformed)),
            ),
            (
                b"RCPT TO:<a@b> NOTIFY=\xc3",
                &utf8,
                Err(CommandError::Parameter(ParamError::Malformed)),
            ),
            (b"AUTH PLAIN \xff", &strict, Err(CommandError::InvalidAuth)),
            (b"FOO \xff", &strict, Err(CommandError::Unrecognized)),
            (b"\xff", &strict, Err(CommandError::Unrecognized)),
        ];
        for (line, opts, want) in cases {
            assert!(std::str::from_utf8(line).is_err());
            assert_eq!(Command::parse(line, opts), want, "{line:?}");
            assert_eq!(
                Command::parse_ref(line, opts).map(|c| c.to_owned()),
                want,
                "{line:?}"
            );
        }
        // Valid UTF-8 fields are still found on their own when another part of the line
        // is not UTF-8 (the per-field path `Src::text` falls back to).
        let line = b"MAIL FROM:<j\xc3\xb6@x.example> SMTPUTF8";
        let Ok(CommandRef::Mail { from, .. }) = Command::parse_ref(line, &utf8) else {
            panic!("MAIL did not parse");
        };
        assert_eq!(
            from.mailbox().map(|m| m.domain().as_str()),
            Some("x.example")
        );
        assert_eq!(from.mailbox().map(|m| m.local_part()), Some("jö".into()));
    }

    #[test]
    fn borrows_without_decoding() {
        let line = b"MAIL FROM:<\"a\\\"b\"@x.example> AUTH=a+2Bb X-Y=z";
        let Ok(CommandRef::Mail { from, params }) =
            Command::parse_ref(line, &ParseOptions::default())
        else {
            panic!("MAIL did not parse");
        };
        let m = from.mailbox().unwrap();
        assert_eq!(m.raw_local_part(), "a\\\"b");
        assert_eq!(m.local_part(), "a\"b");
        assert!(m.is_quoted());
        assert_eq!(params.auth.map(|a| a.as_str()), Some("a+2Bb"));
        assert_eq!(params.other().collect::<Vec<_>>(), [("X-Y", Some("z"))]);
    }
}
