//! POP3 commands: parsing (server side) and encoding (client side).
//!
//! RFC 1939 section 3:
//!
//! ```text
//! Commands in the POP3 consist of a case-insensitive keyword, possibly
//! followed by one or more arguments.  All commands are terminated by a
//! CRLF pair.  Keywords and arguments consist of printable ASCII
//! characters.  Keywords and arguments are each separated by a single
//! SPACE character.  Keywords are three or four characters long.  Each
//! argument may be up to 40 characters long.
//! ```
//!
//! Arguments are parsed strictly: a missing or extra argument, a message
//! number that is not a decimal number in `1..=u32::MAX`, or bytes that are not
//! UTF-8 are a [`CommandError`], which the server answers with `-ERR`.

use std::fmt;

/// One POP3 command.
///
/// ```
/// use postwerk_pop3::codec::Command;
/// let cmd = Command::parse(b"top 3 10").unwrap();
/// assert_eq!(cmd, Command::Top { msg: 3, lines: 10 });
/// assert_eq!(cmd.to_line(), b"TOP 3 10\r\n");
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `USER name` (RFC 1939 section 7).
    User(String),
    /// `PASS string`; the argument is the rest of the line and may contain spaces.
    Pass(String),
    /// `APOP name digest` (RFC 1939 section 7); digest is 32 lowercase hex digits.
    Apop {
        /// The mailbox name.
        name: String,
        /// MD5 of the timestamp followed by the shared secret, in hex.
        digest: String,
    },
    /// `STAT`.
    Stat,
    /// `LIST [msg]`.
    List(Option<u32>),
    /// `RETR msg`.
    Retr(u32),
    /// `DELE msg`.
    Dele(u32),
    /// `NOOP`.
    Noop,
    /// `RSET`.
    Rset,
    /// `QUIT`.
    Quit,
    /// `TOP msg n`.
    Top {
        /// Message number (1-based).
        msg: u32,
        /// Number of body lines to send after the header.
        lines: u32,
    },
    /// `UIDL [msg]`.
    Uidl(Option<u32>),
    /// `CAPA` (RFC 2449).
    Capa,
    /// `STLS` (RFC 2595).
    Stls,
    /// `AUTH [mechanism [initial-response]]` (RFC 5034).
    Auth {
        /// SASL mechanism name, upper-cased; `None` asks for the list.
        mechanism: Option<String>,
        /// Base64 initial response (`=` stands for an empty one).
        initial: Option<String>,
    },
    /// `UTF8` (RFC 6856).
    Utf8,
    /// `LANG [lang-range]` (RFC 6856 section 3): without argument, list the
    /// languages; `*` asks for the server's default.
    Lang(Option<String>),
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Never print secrets.
            Command::Pass(_) => f.write_str("Pass(<redacted>)"),
            Command::Auth { mechanism, initial } => f
                .debug_struct("Auth")
                .field("mechanism", mechanism)
                .field("initial", &initial.as_ref().map(|_| "<redacted>"))
                .finish(),
            Command::User(u) => f.debug_tuple("User").field(u).finish(),
            Command::Apop { name, digest } => f
                .debug_struct("Apop")
                .field("name", name)
                .field("digest", digest)
                .finish(),
            Command::Stat => f.write_str("Stat"),
            Command::List(n) => f.debug_tuple("List").field(n).finish(),
            Command::Retr(n) => f.debug_tuple("Retr").field(n).finish(),
            Command::Dele(n) => f.debug_tuple("Dele").field(n).finish(),
            Command::Noop => f.write_str("Noop"),
            Command::Rset => f.write_str("Rset"),
            Command::Quit => f.write_str("Quit"),
            Command::Top { msg, lines } => f
                .debug_struct("Top")
                .field("msg", msg)
                .field("lines", lines)
                .finish(),
            Command::Uidl(n) => f.debug_tuple("Uidl").field(n).finish(),
            Command::Capa => f.write_str("Capa"),
            Command::Stls => f.write_str("Stls"),
            Command::Utf8 => f.write_str("Utf8"),
            Command::Lang(l) => f.debug_tuple("Lang").field(l).finish(),
        }
    }
}

/// Why a command line could not be parsed. The server answers each with `-ERR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The keyword is not a POP3 command this crate knows.
    #[error("unknown command")]
    UnknownCommand,
    /// A required argument is missing.
    #[error("missing argument")]
    MissingArgument,
    /// More arguments than the command takes, or junk after them.
    #[error("too many arguments")]
    TooManyArguments,
    /// A message number or line count is not a decimal number in range.
    #[error("invalid number")]
    InvalidNumber,
    /// An argument is empty, too long, or holds characters not allowed there.
    #[error("invalid argument")]
    InvalidArgument,
    /// The line is not valid UTF-8.
    #[error("line is not valid UTF-8")]
    NotUtf8,
}

/// Longest argument accepted (RFC 1939 says 40; real user names and passwords
/// are longer, so the whole line limit is the effective bound).
const MAX_ARG: usize = 255;

impl Command {
    /// Parse one command line, without its line end (`CRLF` or a bare `LF`).
    pub fn parse(line: &[u8]) -> Result<Command, CommandError> {
        let line = std::str::from_utf8(line).map_err(|_| CommandError::NotUtf8)?;
        if line.bytes().any(|b| b.is_ascii_control()) {
            return Err(CommandError::InvalidArgument);
        }
        let (keyword, rest) = match line.find(' ') {
            Some(i) => (&line[..i], Some(&line[i + 1..])),
            None => (line, None),
        };
        if keyword.len() > 4 {
            return Err(CommandError::UnknownCommand);
        }
        let mut kw = [0u8; 4];
        for (d, s) in kw.iter_mut().zip(keyword.bytes()) {
            *d = s.to_ascii_uppercase();
        }
        let kw = &kw[..keyword.len()];
        let args = Args::new(rest);
        let cmd = match kw {
            b"USER" => Command::User(args.one_text()?),
            b"PASS" => {
                let pass = rest.ok_or(CommandError::MissingArgument)?;
                if pass.is_empty() || pass.len() > MAX_ARG {
                    return Err(CommandError::InvalidArgument);
                }
                Command::Pass(pass.to_owned())
            }
            b"APOP" => {
                let (name, digest) = args.two_text()?;
                if digest.len() != 32 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(CommandError::InvalidArgument);
                }
                Command::Apop {
                    name,
                    digest: digest.to_ascii_lowercase(),
                }
            }
            b"STAT" => args.none(Command::Stat)?,
            b"LIST" => Command::List(args.optional_number()?),
            b"RETR" => Command::Retr(args.one_number()?),
            b"DELE" => Command::Dele(args.one_number()?),
            b"NOOP" => args.none(Command::Noop)?,
            b"RSET" => args.none(Command::Rset)?,
            b"QUIT" => args.none(Command::Quit)?,
            b"TOP" => {
                let (m, n) = args.two_text()?;
                Command::Top {
                    msg: parse_msg_number(&m)?,
                    lines: parse_number(&n)?,
                }
            }
            b"UIDL" => Command::Uidl(args.optional_number()?),
            b"CAPA" => args.none(Command::Capa)?,
            b"STLS" => args.none(Command::Stls)?,
            b"UTF8" => args.none(Command::Utf8)?,
            b"LANG" => match args.list()?.as_slice() {
                [] => Command::Lang(None),
                [range] if is_language_range(range) => Command::Lang(Some((*range).to_owned())),
                [_] => return Err(CommandError::InvalidArgument),
                _ => return Err(CommandError::TooManyArguments),
            },
            b"AUTH" => {
                let parts = args.list()?;
                match parts.as_slice() {
                    [] => Command::Auth {
                        mechanism: None,
                        initial: None,
                    },
                    [m] => Command::Auth {
                        mechanism: Some(m.to_ascii_uppercase()),
                        initial: None,
                    },
                    [m, i] => Command::Auth {
                        mechanism: Some(m.to_ascii_uppercase()),
                        initial: Some((*i).to_owned()),
                    },
                    _ => return Err(CommandError::TooManyArguments),
                }
            }
            _ => return Err(CommandError::UnknownCommand),
        };
        Ok(cmd)
    }

    /// The command as a wire line, with `CRLF`.
    pub fn to_line(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        self.encode(&mut out);
        out
    }

    /// Append the wire form of the command, with `CRLF`, to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        // Writing into a Vec cannot fail.
        let _ = match self {
            Command::User(u) => write!(out, "USER {u}"),
            Command::Pass(p) => write!(out, "PASS {p}"),
            Command::Apop { name, digest } => write!(out, "APOP {name} {digest}"),
            Command::Stat => write!(out, "STAT"),
            Command::List(None) => write!(out, "LIST"),
            Command::List(Some(n)) => write!(out, "LIST {n}"),
            Command::Retr(n) => write!(out, "RETR {n}"),
            Command::Dele(n) => write!(out, "DELE {n}"),
            Command::Noop => write!(out, "NOOP"),
            Command::Rset => write!(out, "RSET"),
            Command::Quit => write!(out, "QUIT"),
            Command::Top { msg, lines } => write!(out, "TOP {msg} {lines}"),
            Command::Uidl(None) => write!(out, "UIDL"),
            Command::Uidl(Some(n)) => write!(out, "UIDL {n}"),
            Command::Capa => write!(out, "CAPA"),
            Command::Stls => write!(out, "STLS"),
            Command::Utf8 => write!(out, "UTF8"),
            Command::Lang(None) => write!(out, "LANG"),
            Command::Lang(Some(l)) => write!(out, "LANG {l}"),
            Command::Auth {
                mechanism: None, ..
            } => write!(out, "AUTH"),
            Command::Auth {
                mechanism: Some(m),
                initial: None,
            } => write!(out, "AUTH {m}"),
            Command::Auth {
                mechanism: Some(m),
                initial: Some(i),
            } => write!(out, "AUTH {m} {i}"),
        };
        out.extend_from_slice(b"\r\n");
    }
}

/// Space-separated arguments of a command.
struct Args<'a> {
    rest: Option<&'a str>,
}

impl<'a> Args<'a> {
    fn new(rest: Option<&'a str>) -> Self {
        Args { rest }
    }

    fn list(&self) -> Result<Vec<&'a str>, CommandError> {
        let Some(rest) = self.rest else {
            return Ok(Vec::new());
        };
        let parts: Vec<&str> = rest.split(' ').collect();
        if parts.iter().any(|p| p.is_empty() || p.len() > MAX_ARG) {
            return Err(CommandError::InvalidArgument);
        }
        Ok(parts)
    }

    fn none(&self, cmd: Command) -> Result<Command, CommandError> {
        match self.rest {
            None => Ok(cmd),
            Some(_) => Err(CommandError::TooManyArguments),
        }
    }

    fn one_text(&self) -> Result<String, CommandError> {
        match self.list()?.as_slice() {
            [] => Err(CommandError::MissingArgument),
            [a] => Ok((*a).to_owned()),
            _ => Err(CommandError::TooManyArguments),
        }
    }

    fn two_text(&self) -> Result<(String, String), CommandError> {
        match self.list()?.as_slice() {
            [] | [_] => Err(CommandError::MissingArgument),
            [a, b] => Ok(((*a).to_owned(), (*b).to_owned())),
            _ => Err(CommandError::TooManyArguments),
        }
    }

    fn one_number(&self) -> Result<u32, CommandError> {
        parse_msg_number(&self.one_text()?)
    }

    fn optional_number(&self) -> Result<Option<u32>, CommandError> {
        match self.list()?.as_slice() {
            [] => Ok(None),
            [a] => parse_msg_number(a).map(Some),
            _ => Err(CommandError::TooManyArguments),
        }
    }
}

/// RFC 4647 basic language range: `*`, or `1*8ALPHA *("-" 1*8alphanum)`.
fn is_language_range(s: &str) -> bool {
    if s == "*" {
        return true;
    }
    let mut parts = s.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A decimal number: digits only, no sign, fits in `u32`.
fn parse_number(s: &str) -> Result<u32, CommandError> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CommandError::InvalidNumber);
    }
    s.parse().map_err(|_| CommandError::InvalidNumber)
}

/// A message number: a decimal number of at least 1.
fn parse_msg_number(s: &str) -> Result<u32, CommandError> {
    match parse_number(s)? {
        0 => Err(CommandError::InvalidNumber),
        n => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let cmds = [
            Command::User("alice".into()),
            Command::Pass("a secret with spaces".into()),
            Command::Apop {
                name: "mrose".into(),
                digest: "c4c9334bac560ecc979e58001b3e22fb".into(),
            },
            Command::Stat,
            Command::List(None),
            Command::List(Some(2)),
            Command::Retr(1),
            Command::Dele(7),
            Command::Noop,
            Command::Rset,
            Command::Quit,
            Command::Top { msg: 1, lines: 0 },
            Command::Uidl(None),
            Command::Uidl(Some(9)),
            Command::Capa,
            Command::Stls,
            Command::Utf8,
            Command::Lang(None),
            Command::Lang(Some("de-CH".into())),
            Command::Lang(Some("*".into())),
            Command::Auth {
                mechanism: None,
                initial: None,
            },
            Command::Auth {
                mechanism: Some("PLAIN".into()),
                initial: None,
            },
            Command::Auth {
                mechanism: Some("PLAIN".into()),
                initial: Some("=".into()),
            },
        ];
        for c in cmds {
            let line = c.to_line();
            let parsed = Command::parse(&line[..line.len() - 2]).unwrap();
            assert_eq!(parsed, c);
        }
    }

    #[test]
    fn strict_arguments() {
        assert_eq!(Command::parse(b"RETR"), Err(CommandError::MissingArgument));
        assert_eq!(Command::parse(b"RETR 0"), Err(CommandError::InvalidNumber));
        assert_eq!(Command::parse(b"RETR +1"), Err(CommandError::InvalidNumber));
        assert_eq!(
            Command::parse(b"RETR 99999999999"),
            Err(CommandError::InvalidNumber)
        );
        assert_eq!(
            Command::parse(b"RETR 1 2"),
            Err(CommandError::TooManyArguments)
        );
        assert_eq!(
            Command::parse(b"STAT x"),
            Err(CommandError::TooManyArguments)
        );
        assert_eq!(
            Command::parse(b"LIST  1"),
            Err(CommandError::InvalidArgument)
        );
        assert_eq!(Command::parse(b"XYZZY"), Err(CommandError::UnknownCommand));
        assert_eq!(Command::parse(b""), Err(CommandError::UnknownCommand));
        assert_eq!(Command::parse(b"USER \xff"), Err(CommandError::NotUtf8));
        assert_eq!(
            Command::parse(b"APOP a 123"),
            Err(CommandError::InvalidArgument)
        );
        assert_eq!(Command::parse(b"noop"), Ok(Command::Noop));
        assert_eq!(
            Command::parse(b"LANG en_US"),
            Err(CommandError::InvalidArgument)
        );
        assert_eq!(
            Command::parse(b"LANG en de"),
            Err(CommandError::TooManyArguments)
        );
    }

    #[test]
    fn debug_hides_password() {
        let s = format!("{:?}", Command::Pass("hunter2".into()));
        assert!(!s.contains("hunter2"));
    }
}
