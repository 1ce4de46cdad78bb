//! SMTP commands (RFC 5321 section 4.1 and the extensions), parsed and serialized.
//!
//! [`Command::parse`] takes one command line *without* its CRLF. Syntax is strict by
//! default: trailing junk after a path or parameter is a 501. The known harmless quirks of
//! real senders are accepted only when the matching [`Leniency`] flag is on.
//!
//! [`Command::parse_ref`] (in [`super::command_ref`]) is the same grammar without
//! allocating, returning a borrowed [`CommandRef`](super::command_ref::CommandRef);
//! `parse` is `parse_ref` followed by `to_owned`, so there is one grammar.

use std::fmt::Write as _;

use thiserror::Error;

use super::params::{MailParameters, ParamError, RcptParameters};
use super::path::{ForwardPath, PathError, ReversePath};
use super::reply::{EnhancedStatus, Reply};
use super::sasl::Mechanism;
use super::text::Text;

/// One SMTP command. Names, paths and free-text arguments are [`Text`]: stored inline,
/// without a heap allocation, up to [`Text::INLINE_CAPACITY`] octets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `EHLO SP ( Domain / address-literal )`.
    Ehlo {
        /// The client's name for itself.
        domain: Text,
    },
    /// `HELO SP Domain`.
    Helo {
        /// The client's name for itself.
        domain: Text,
    },
    /// `LHLO SP Domain` (RFC 2033, LMTP).
    Lhlo {
        /// The client's name for itself.
        domain: Text,
    },
    /// `MAIL FROM:Reverse-path [SP Mail-parameters]`.
    Mail {
        /// The sender.
        from: ReversePath,
        /// SIZE, BODY, SMTPUTF8, AUTH, RET, ENVID and unknown parameters.
        params: MailParameters,
    },
    /// `RCPT TO:Forward-path [SP Rcpt-parameters]`.
    Rcpt {
        /// The recipient.
        to: ForwardPath,
        /// NOTIFY, ORCPT and unknown parameters.
        params: RcptParameters,
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
        arg: Text,
    },
    /// `EXPN SP String`.
    Expn {
        /// The list to expand.
        arg: Text,
    },
    /// `HELP [SP String]`.
    Help {
        /// The topic, if any.
        topic: Option<Text>,
    },
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH SP mechanism [SP initial-response]` (RFC 4954).
    Auth {
        /// The SASL mechanism.
        mechanism: Mechanism,
        /// The initial response as sent: base64, or `=` for an empty one.
        initial_response: Option<Text>,
    },
}

/// Quirks of real senders that a lenient server may accept. All off by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Leniency {
    /// `MAIL FROM: <a@b>`: spaces between the colon and the path.
    pub space_after_colon: bool,
    /// `MAIL FROM:a@b`: a path without angle brackets.
    pub unbracketed_path: bool,
    /// More than one space between parameters.
    pub extra_spaces: bool,
    /// Spaces or tabs at the end of the command line.
    pub trailing_whitespace: bool,
    /// Any printable word as the EHLO/HELO argument (e.g. host names with `_`).
    pub any_helo_argument: bool,
}

impl Leniency {
    /// Every quirk accepted.
    pub fn all() -> Leniency {
        Leniency {
            space_after_colon: true,
            unbracketed_path: true,
            extra_spaces: true,
            trailing_whitespace: true,
            any_helo_argument: true,
        }
    }
}

/// How [`Command::parse`] reads a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ParseOptions {
    /// Accepted quirks.
    pub leniency: Leniency,
    /// UTF-8 addresses are permitted in this command (SMTPUTF8 advertised for MAIL, or the
    /// transaction's MAIL carried SMTPUTF8 for RCPT). A MAIL path with UTF-8 also needs the
    /// SMTPUTF8 parameter on the same command.
    pub smtputf8: bool,
}

/// Why a command line was refused. [`CommandError::reply`] gives the answer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CommandError {
    /// Not a command this crate knows (500).
    #[error("command unrecognized")]
    Unrecognized,
    /// A command that takes no argument got one (501).
    #[error("{0} takes no argument")]
    UnexpectedArgument(&'static str),
    /// A required argument is missing (501).
    #[error("{0} needs an argument")]
    MissingArgument(&'static str),
    /// `FROM:` / `TO:` missing or misspelt (501).
    #[error("expected {0}")]
    Expected(&'static str),
    /// The EHLO/HELO/LHLO argument is not a domain or address literal (501).
    #[error("invalid domain argument")]
    InvalidDomain,
    /// The MAIL FROM path is malformed (501 5.1.7, or 553 5.6.7 for UTF-8).
    #[error("sender path: {0}")]
    SenderPath(PathError),
    /// The RCPT TO path is malformed (501 5.1.3, or 553 5.6.7 for UTF-8).
    #[error("recipient path: {0}")]
    RecipientPath(PathError),
    /// A MAIL or RCPT parameter is malformed (501).
    #[error("parameter: {0}")]
    Parameter(ParamError),
    /// BDAT without a valid chunk size or with junk after LAST (501).
    #[error("invalid BDAT arguments")]
    InvalidBdat,
    /// AUTH with an invalid mechanism name or initial response (501).
    #[error("invalid AUTH arguments")]
    InvalidAuth,
    /// A control character (CR, LF, NUL) or invalid UTF-8 in the line (501).
    #[error("invalid character in command line")]
    InvalidCharacter,
}

impl CommandError {
    /// The reply a server sends for this error.
    pub fn reply(&self) -> Reply {
        match self {
            CommandError::Unrecognized => Reply::unrecognized_command(),
            CommandError::SenderPath(PathError::Utf8NotAllowed)
            | CommandError::RecipientPath(PathError::Utf8NotAllowed) => {
                Reply::utf8_address_without_smtputf8()
            }
            CommandError::SenderPath(e) => Reply::bad_sender_syntax(&e.to_string()),
            CommandError::RecipientPath(e) => Reply::bad_recipient_syntax(&e.to_string()),
            other => Reply::argument_syntax_error(&other.to_string()),
        }
    }

    /// The enhanced status code of [`CommandError::reply`].
    pub fn enhanced(&self) -> Option<EnhancedStatus> {
        self.reply().enhanced()
    }
}

impl Command {
    /// Parses one command line, without its CRLF.
    ///
    /// ```
    /// use postwerk_smtp::codec::command::{Command, ParseOptions};
    /// let cmd = Command::parse(b"MAIL FROM:<a@example.com> SIZE=100", &ParseOptions::default()).unwrap();
    /// match cmd {
    ///     Command::Mail { from, params } => {
    ///         assert_eq!(from.to_string(), "<a@example.com>");
    ///         assert_eq!(params.size, Some(100));
    ///     }
    ///     _ => unreachable!(),
    /// }
    /// assert!(Command::parse(b"MAIL FROM:<>>>>>", &ParseOptions::default()).is_err());
    /// ```
    pub fn parse(line: &[u8], opts: &ParseOptions) -> Result<Command, CommandError> {
        Command::parse_ref(line, opts).map(|c| c.to_owned())
    }

    /// Appends the command line with its CRLF.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let mut s = String::new();
        match self {
            Command::Ehlo { domain } => {
                let _ = write!(s, "EHLO {domain}");
            }
            Command::Helo { domain } => {
                let _ = write!(s, "HELO {domain}");
            }
            Command::Lhlo { domain } => {
                let _ = write!(s, "LHLO {domain}");
            }
            Command::Mail { from, params } => {
                let _ = write!(s, "MAIL FROM:{from}");
                out.extend_from_slice(s.as_bytes());
                params.write_to(out);
                out.extend_from_slice(b"\r\n");
                return;
            }
            Command::Rcpt { to, params } => {
                let _ = write!(s, "RCPT TO:{to}");
                out.extend_from_slice(s.as_bytes());
                params.write_to(out);
                out.extend_from_slice(b"\r\n");
                return;
            }
            Command::Data => s.push_str("DATA"),
            Command::Bdat { size, last } => {
                let _ = write!(s, "BDAT {size}{}", if *last { " LAST" } else { "" });
            }
            Command::Rset => s.push_str("RSET"),
            Command::Noop => s.push_str("NOOP"),
            Command::Quit => s.push_str("QUIT"),
            Command::Vrfy { arg } => {
                let _ = write!(s, "VRFY {arg}");
            }
            Command::Expn { arg } => {
                let _ = write!(s, "EXPN {arg}");
            }
            Command::Help { topic } => {
                s.push_str("HELP");
                if let Some(t) = topic {
                    s.push(' ');
                    s.push_str(t);
                }
            }
            Command::StartTls => s.push_str("STARTTLS"),
            Command::Auth {
                mechanism,
                initial_response,
            } => {
                let _ = write!(s, "AUTH {mechanism}");
                if let Some(ir) = initial_response {
                    s.push(' ');
                    s.push_str(ir);
                }
            }
        }
        out.extend_from_slice(s.as_bytes());
        out.extend_from_slice(b"\r\n");
    }

    /// The verb as written on the wire, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Ehlo { .. } => "EHLO",
            Command::Helo { .. } => "HELO",
            Command::Lhlo { .. } => "LHLO",
            Command::Mail { .. } => "MAIL",
            Command::Rcpt { .. } => "RCPT",
            Command::Data => "DATA",
            Command::Bdat { .. } => "BDAT",
            Command::Rset => "RSET",
            Command::Noop => "NOOP",
            Command::Quit => "QUIT",
            Command::Vrfy { .. } => "VRFY",
            Command::Expn { .. } => "EXPN",
            Command::Help { .. } => "HELP",
            Command::StartTls => "STARTTLS",
            Command::Auth { .. } => "AUTH",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::path::Mailbox;

    fn parse(s: &str) -> Result<Command, CommandError> {
        Command::parse(s.as_bytes(), &ParseOptions::default())
    }
    fn lenient(s: &str) -> Result<Command, CommandError> {
        let o = ParseOptions {
            leniency: Leniency::all(),
            smtputf8: false,
        };
        Command::parse(s.as_bytes(), &o)
    }

    #[test]
    fn simple_commands() {
        assert_eq!(parse("data"), Ok(Command::Data));
        assert_eq!(parse("RsEt"), Ok(Command::Rset));
        assert_eq!(parse("NOOP anything"), Ok(Command::Noop));
        assert_eq!(
            parse("QUIT x"),
            Err(CommandError::UnexpectedArgument("QUIT"))
        );
        assert_eq!(
            parse("QUIT "),
            Err(CommandError::UnexpectedArgument("QUIT"))
        );
        assert_eq!(lenient("QUIT  "), Ok(Command::Quit));
        assert_eq!(parse("starttls"), Ok(Command::StartTls));
        assert_eq!(parse("FOO"), Err(CommandError::Unrecognized));
        assert_eq!(parse("MA1L FROM:<>"), Err(CommandError::Unrecognized));
        assert_eq!(parse(""), Err(CommandError::Unrecognized));
        assert_eq!(parse("DATA\r"), Err(CommandError::InvalidCharacter));
    }

    #[test]
    fn helo_family() {
        assert_eq!(
            parse("EHLO client.example"),
            Ok(Command::Ehlo {
                domain: "client.example".into()
            })
        );
        assert_eq!(
            parse("helo [192.0.2.1]"),
            Ok(Command::Helo {
                domain: "[192.0.2.1]".into()
            })
        );
        assert_eq!(parse("EHLO"), Err(CommandError::MissingArgument("EHLO")));
        assert_eq!(parse("EHLO a b"), Err(CommandError::InvalidDomain));
        assert_eq!(parse("EHLO my_host"), Err(CommandError::InvalidDomain));
        assert!(lenient("EHLO my_host").is_ok());
    }

    #[test]
    fn mail_and_rcpt() {
        let c = parse("MAIL FROM:<> BODY=8BITMIME").unwrap();
        assert!(matches!(
            c,
            Command::Mail {
                from: ReversePath::Null,
                ..
            }
        ));
        assert_eq!(
            parse("MAIL FROM:<>>>>>"),
            Err(CommandError::SenderPath(PathError::MissingCloseBracket))
        );
        assert_eq!(
            parse("MAIL FROM:<a@b>x"),
            Err(CommandError::SenderPath(PathError::MissingCloseBracket))
        );
        assert_eq!(
            parse("MAIL FROM: <a@b>"),
            Err(CommandError::SenderPath(PathError::MissingOpenBracket))
        );
        assert!(lenient("MAIL FROM: <a@b>").is_ok());
        assert!(lenient("mail from:a@b  SIZE=10 ").is_ok());
        assert_eq!(
            parse("MAIL TO:<a@b>"),
            Err(CommandError::Expected("FROM:<reverse-path>"))
        );
        let c = parse("RCPT TO:<Postmaster>").unwrap();
        assert!(matches!(
            c,
            Command::Rcpt {
                to: ForwardPath::Postmaster,
                ..
            }
        ));
        assert_eq!(
            parse("RCPT TO:<a@b> NOTIFY=bogus"),
            Err(CommandError::Parameter(ParamError::InvalidValue("NOTIFY")))
        );
        assert_eq!(
            parse("RCPT TO:<a@b>>"),
            Err(CommandError::RecipientPath(PathError::MissingCloseBracket))
        );
    }

    #[test]
    fn utf8_paths() {
        let o = ParseOptions {
            smtputf8: true,
            ..Default::default()
        };
        assert!(Command::parse("MAIL FROM:<jö@x> SMTPUTF8".as_bytes(), &o).is_ok());
        let e = Command::parse("MAIL FROM:<jö@x>".as_bytes(), &o).unwrap_err();
        assert_eq!(e.reply().code(), 553);
        assert_eq!(parse("RCPT TO:<jö@x>").unwrap_err().reply().code(), 553);
    }

    #[test]
    fn bdat_and_auth() {
        assert_eq!(
            parse("BDAT 100 last"),
            Ok(Command::Bdat {
                size: 100,
                last: true
            })
        );
        assert_eq!(
            parse("BDAT 0"),
            Ok(Command::Bdat {
                size: 0,
                last: false
            })
        );
        assert_eq!(parse("BDAT x"), Err(CommandError::InvalidBdat));
        assert_eq!(parse("BDAT 1 LAST x"), Err(CommandError::InvalidBdat));
        assert_eq!(
            parse("BDAT 99999999999999999999"),
            Err(CommandError::InvalidBdat)
        );
        assert_eq!(
            parse("AUTH plain AGEAYg=="),
            Ok(Command::Auth {
                mechanism: Mechanism::Plain,
                initial_response: Some("AGEAYg==".into())
            })
        );
        assert_eq!(parse("AUTH PLAIN a b"), Err(CommandError::InvalidAuth));
    }

    #[test]
    fn write_round_trip() {
        let m = Mailbox::new("a b", "x.example").unwrap();
        let cmds = [
            Command::Mail {
                from: ReversePath::Mailbox(m.clone()),
                params: MailParameters {
                    size: Some(5),
                    ..Default::default()
                },
            },
            Command::Rcpt {
                to: ForwardPath::Mailbox(m),
                params: RcptParameters::default(),
            },
            Command::Bdat {
                size: 7,
                last: true,
            },
            Command::Help { topic: None },
        ];
        for c in cmds {
            let mut out = Vec::new();
            c.write_to(&mut out);
            let line = out.strip_suffix(b"\r\n").unwrap();
            assert_eq!(Command::parse(line, &ParseOptions::default()).unwrap(), c);
        }
    }

    #[test]
    fn error_replies() {
        assert_eq!(parse("FOO").unwrap_err().reply().code(), 500);
        assert_eq!(parse("MAIL FROM:<a").unwrap_err().reply().code(), 501);
        assert_eq!(
            parse("MAIL FROM:<a").unwrap_err().enhanced(),
            Some(EnhancedStatus::new(5, 1, 7))
        );
    }
}
