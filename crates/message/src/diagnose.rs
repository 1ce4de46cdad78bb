//! Address diagnosis in the spirit of Dominic Sayers' is_email (version 3.05): how an
//! `addr-spec` stands against RFC 5321 (the envelope), RFC 5322 (the message) and their
//! obsolete syntax, and why.
//!
//! [`diagnose`] walks the bytes once with a small state machine (contexts: local part,
//! domain, domain literal, quoted string, quoted pair, comment, folding white space;
//! comments nest through a counter, not a stack) and collects every finding; the
//! [`Diagnosis`] reports the most serious one. Where is_email consults DNS (a domain
//! that is only a top-level domain), [`diagnose_with_dns`] lets the caller say what its
//! resolver knows; this crate does no I/O.
//!
//! Unlike the address parser, diagnosis looks at bytes as is_email does: RFC 6532 UTF-8 is
//! not considered, so a non-ASCII byte is a character that is not allowed.
//!
//! ```
//! use postwerk_message::{diagnose, Category, Reason};
//! assert_eq!(diagnose(b"test@iana.org").category(), Category::Valid);
//! assert_eq!(diagnose(b"\"test\"@iana.org").reason(), Reason::Rfc5321QuotedString);
//! assert_eq!(diagnose(b"test@[255.255.255.255]").category(), Category::Rfc5321);
//! assert_eq!(diagnose(b"(comment)test@iana.org").category(), Category::Cfws);
//! assert_eq!(diagnose(b"test.(comment)test@iana.org").category(), Category::Deprecated);
//! assert_eq!(diagnose(b"test@[RFC 5322 domain literal]").category(), Category::Rfc5322);
//! assert_eq!(diagnose(b"test..iana.org").reason(), Reason::ErrConsecutiveDots);
//! ```

/// How usable an address is, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Category {
    /// Valid for any purpose (is_email's `ISEMAIL_VALID_CATEGORY`).
    Valid,
    /// Valid in an SMTP envelope, but with unusual elements (`ISEMAIL_RFC5321`).
    Rfc5321,
    /// Valid in a message, but comments or folding white space must be removed before it
    /// can be used in the envelope (`ISEMAIL_CFWS`).
    Cfws,
    /// Contains deprecated (obsolete) syntax (`ISEMAIL_DEPREC`).
    Deprecated,
    /// Only valid under the broad grammar of RFC 5322, otherwise invalid
    /// (`ISEMAIL_RFC5322`).
    Rfc5322,
    /// Invalid for any purpose (`ISEMAIL_ERR`).
    Invalid,
}

mod literal;
mod reason;

use literal::check_address_literal;
pub use reason::Reason;

/// The outcome of [`diagnose`]: the most serious finding and its category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Diagnosis {
    reason: Reason,
}

impl Diagnosis {
    /// The most serious finding ([`Reason::Valid`] when there is none).
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// The category of the most serious finding.
    pub fn category(&self) -> Category {
        self.reason.category()
    }

    /// Whether the address can be used as it is in an SMTP envelope
    /// ([`Category::Valid`] or [`Category::Rfc5321`]).
    pub fn is_valid_for_smtp(&self) -> bool {
        self.category() <= Category::Rfc5321
    }

    /// Whether the address is syntactically usable in a message header (anything but
    /// [`Category::Invalid`]).
    pub fn is_valid_for_message(&self) -> bool {
        self.category() < Category::Invalid
    }
}

/// Diagnoses an `addr-spec` without DNS knowledge: a domain that is a single label
/// (`user@org`) is reported as [`Reason::Rfc5321Tld`].
pub fn diagnose(input: &[u8]) -> Diagnosis {
    Diagnoser::new(input).run(&|_| false)
}

/// Diagnoses an `addr-spec`, asking `domain_receives_mail` (the caller's resolver: does
/// the domain have MX or address records?) about a domain that would otherwise be
/// reported only for being a top-level domain or numeric ([`Reason::Rfc5321Tld`],
/// [`Reason::Rfc5321TldNumeric`]). When it answers `true`, those findings are dropped,
/// as is_email does after a successful DNS check. The callback is called at most once.
///
/// ```
/// use postwerk_message::{diagnose_with_dns, Category};
/// assert_eq!(diagnose_with_dns(b"test@io", &|d| d == "io").category(), Category::Valid);
/// assert_eq!(diagnose_with_dns(b"test@org", &|d| d == "io").category(), Category::Rfc5321);
/// ```
pub fn diagnose_with_dns(input: &[u8], domain_receives_mail: &dyn Fn(&str) -> bool) -> Diagnosis {
    Diagnoser::new(input).run(domain_receives_mail)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Local,
    Domain,
    Literal,
    QuotedString,
    Comment,
    Fws,
    QuotedPair,
}

const SPECIALS: &[u8] = b"()<>[]:;@\\,.\"";

struct Diagnoser<'i> {
    input: &'i [u8],
    worst: Reason,
    /// Largest is_email value seen (its thresholds compare these).
    max_code: u8,
    // Context stack, flattened: base component, an optional quoted string or literal, a
    // number of nested comments, and an optional transient FWS or quoted pair on top.
    base: Ctx,
    mid: Option<Ctx>,
    comments: usize,
    top: Option<Ctx>,
    prior: Ctx,
    /// Octets of the local part and domain as is_email counts them (quotes and quoted
    /// pairs included, comments and folds not).
    local_len: usize,
    domain_len: usize,
    /// Where the top-level `@` is.
    at: usize,
    /// The domain literal's contents, without white space.
    literal: Vec<u8>,
    element_count: usize,
    element_len: usize,
    /// First byte of the current domain element.
    element_first: Option<u8>,
    hyphen: bool,
    end_or_die: bool,
    crlf_count: Option<usize>,
    token_prior: u8,
}

impl<'i> Diagnoser<'i> {
    fn new(input: &'i [u8]) -> Self {
        Diagnoser {
            input,
            worst: Reason::Valid,
            max_code: 0,
            base: Ctx::Local,
            mid: None,
            comments: 0,
            top: None,
            prior: Ctx::Local,
            local_len: 0,
            domain_len: 0,
            at: 0,
            literal: Vec::new(),
            element_count: 0,
            element_len: 0,
            element_first: None,
            hyphen: false,
            end_or_die: false,
            crlf_count: None,
            token_prior: 0,
        }
    }

    fn add(&mut self, reason: Reason) {
        self.max_code = self.max_code.max(reason.code());
        if reason.rank() > self.worst.rank() {
            self.worst = reason;
        }
    }

    fn ctx(&self) -> Ctx {
        if let Some(t) = self.top {
            t
        } else if self.comments > 0 {
            Ctx::Comment
        } else if let Some(m) = self.mid {
            m
        } else {
            self.base
        }
    }

    /// Ends the current context and returns to the one below it.
    fn pop(&mut self) {
        self.prior = self.ctx();
        if self.top.is_some() {
            self.top = None;
        } else if self.comments > 0 {
            self.comments -= 1;
        } else {
            self.mid = None;
        }
    }

    fn push_comment(&mut self) {
        self.comments = self.comments.saturating_add(1);
    }

    /// Counts `n` octets of the current component (local part or domain).
    fn grow(&mut self, n: usize) {
        match self.base {
            Ctx::Local => self.local_len += n,
            _ => self.domain_len += n,
        }
    }

    /// `true` when the byte at `i` (a CR) is followed by LF; the caller then skips it.
    fn cr_lf(&self, i: usize) -> bool {
        self.input.get(i + 1) == Some(&b'\n')
    }

    fn run(mut self, domain_receives_mail: &dyn Fn(&str) -> bool) -> Diagnosis {
        let mut i = 0;
        let mut token = 0u8;
        while let Some(&t) = self.input.get(i) {
            token = t;
            // The step may consume a following LF, or ask to see this byte again.
            match self.step(t, i) {
                Step::Next => i += 1,
                Step::SkipLf => i += 2,
                Step::Again => {}
            }
            if self.max_code > 127 {
                break;
            }
        }
        if self.max_code < 127 {
            self.finish(token);
        }
        if self.max_code < 7 && domain_receives_mail_needed(&self) {
            // Nothing but atext and dots got this far, so the domain is the rest of the input.
            let domain = String::from_utf8_lossy(self.input.get(self.at + 1..).unwrap_or(&[]));
            if !domain_receives_mail(&domain) {
                if self.element_count == 0 {
                    self.add(Reason::Rfc5321Tld);
                }
                if self.element_first.is_some_and(|b| b.is_ascii_digit()) {
                    self.add(Reason::Rfc5321TldNumeric);
                }
            }
        }
        Diagnosis { reason: self.worst }
    }

    fn step(&mut self, t: u8, i: usize) -> Step {
        match self.ctx() {
            Ctx::Local => self.local_part(t, i),
            Ctx::Domain => self.domain_part(t, i),
            Ctx::Literal => self.domain_literal(t, i),
            Ctx::QuotedString => self.quoted_string(t, i),
            Ctx::QuotedPair => self.quoted_pair(t),
            Ctx::Comment => self.comment(t, i),
            Ctx::Fws => self.fws(t, i),
        }
    }

    /// Starts FWS at a CR, SP or HTAB; `None` after reporting a CR without LF.
    fn start_fws(&mut self, t: u8, i: usize) -> Option<Step> {
        if t == b'\r' && !self.cr_lf(i) {
            self.add(Reason::ErrCrNoLf);
            return None;
        }
        Some(if t == b'\r' { Step::SkipLf } else { Step::Next })
    }

    fn enter_fws(&mut self, t: u8) {
        self.top = Some(Ctx::Fws);
        self.token_prior = t;
    }

    fn local_part(&mut self, t: u8, i: usize) -> Step {
        match t {
            b'(' => {
                if self.element_len == 0 {
                    self.add(if self.element_count == 0 {
                        Reason::CfwsComment
                    } else {
                        Reason::DeprecatedComment
                    });
                } else {
                    self.add(Reason::CfwsComment);
                    self.end_or_die = true;
                }
                self.push_comment();
            }
            b'.' => {
                if self.element_len == 0 {
                    self.add(if self.element_count == 0 {
                        Reason::ErrDotStart
                    } else {
                        Reason::ErrConsecutiveDots
                    });
                } else if self.end_or_die {
                    self.add(Reason::DeprecatedLocalPart);
                }
                self.end_or_die = false;
                self.element_len = 0;
                self.element_count += 1;
                self.local_len += 1;
            }
            b'"' => {
                if self.element_len == 0 {
                    self.add(if self.element_count == 0 {
                        Reason::Rfc5321QuotedString
                    } else {
                        Reason::DeprecatedLocalPart
                    });
                    self.local_len += 1;
                    self.element_len += 1;
                    self.end_or_die = true;
                    self.mid = Some(Ctx::QuotedString);
                } else {
                    self.add(Reason::ErrExpectingAtext);
                }
            }
            b'\r' | b' ' | b'\t' => {
                let Some(step) = self.start_fws(t, i) else {
                    return Step::Next;
                };
                if self.element_len == 0 {
                    self.add(if self.element_count == 0 {
                        Reason::CfwsFws
                    } else {
                        Reason::DeprecatedFws
                    });
                } else {
                    self.end_or_die = true;
                }
                self.enter_fws(t);
                return step;
            }
            b'@' => {
                if self.local_len == 0 {
                    self.add(Reason::ErrNoLocalPart);
                } else if self.element_len == 0 {
                    self.add(Reason::ErrDotEnd);
                } else if self.local_len > 64 {
                    self.add(Reason::Rfc5322LocalTooLong);
                } else if matches!(self.prior, Ctx::Comment | Ctx::Fws) {
                    self.add(Reason::DeprecatedCfwsNearAt);
                }
                self.at = i;
                self.base = Ctx::Domain;
                self.mid = None;
                self.comments = 0;
                self.top = None;
                self.element_count = 0;
                self.element_len = 0;
                self.element_first = None;
                self.end_or_die = false;
            }
            _ => {
                if self.end_or_die {
                    match self.prior {
                        Ctx::Comment | Ctx::Fws => self.add(Reason::ErrAtextAfterCfws),
                        Ctx::QuotedString => self.add(Reason::ErrAtextAfterQs),
                        _ => self.add(Reason::ErrExpectingAtext),
                    }
                } else {
                    self.prior = Ctx::Local;
                    if !(33..=126).contains(&t) || SPECIALS.contains(&t) {
                        self.add(Reason::ErrExpectingAtext);
                    }
                    self.local_len += 1;
                    self.element_len += 1;
                }
            }
        }
        Step::Next
    }

    fn domain_part(&mut self, t: u8, i: usize) -> Step {
        match t {
            b'(' => {
                if self.element_len == 0 {
                    self.add(if self.element_count == 0 {
                        Reason::DeprecatedCfwsNearAt
                    } else {
                        Reason::DeprecatedComment
                    });
                } else {
                    self.add(Reason::CfwsComment);
                    self.end_or_die = true;
                }
                self.push_comment();
            }
            b'.' => {
                if self.element_len == 0 {
                    self.add(if self.element_count == 0 {
                        Reason::ErrDotStart
                    } else {
                        Reason::ErrConsecutiveDots
                    });
                } else if self.hyphen {
                    self.add(Reason::ErrDomainHyphenEnd);
                } else if self.element_len > 63 {
                    self.add(Reason::Rfc5322LabelTooLong);
                }
                self.end_or_die = false;
                self.element_len = 0;
                self.element_count += 1;
                self.element_first = None;
                self.domain_len += 1;
            }
            b'[' => {
                if self.domain_len == 0 {
                    self.end_or_die = true;
                    self.element_len += 1;
                    self.element_first.get_or_insert(t);
                    self.mid = Some(Ctx::Literal);
                    self.domain_len += 1;
                    self.literal.clear();
                } else {
                    self.add(Reason::ErrExpectingAtext);
                }
            }
            b'\r' | b' ' | b'\t' => {
                let Some(step) = self.start_fws(t, i) else {
                    return Step::Next;
                };
                if self.element_len == 0 {
                    self.add(if self.element_count == 0 {
                        Reason::DeprecatedCfwsNearAt
                    } else {
                        Reason::DeprecatedFws
                    });
                } else {
                    self.add(Reason::CfwsFws);
                    self.end_or_die = true;
                }
                self.enter_fws(t);
                return step;
            }
            _ => {
                if self.end_or_die {
                    match self.prior {
                        Ctx::Comment | Ctx::Fws => self.add(Reason::ErrAtextAfterCfws),
                        Ctx::Literal => self.add(Reason::ErrAtextAfterDomLit),
                        _ => self.add(Reason::ErrExpectingAtext),
                    }
                }
                self.hyphen = false;
                if !(33..=126).contains(&t) || SPECIALS.contains(&t) {
                    self.add(Reason::ErrExpectingAtext);
                } else if t == b'-' {
                    if self.element_len == 0 {
                        self.add(Reason::ErrDomainHyphenStart);
                    }
                    self.hyphen = true;
                } else if !t.is_ascii_alphanumeric() {
                    self.add(Reason::Rfc5322Domain);
                }
                self.domain_len += 1;
                self.element_first.get_or_insert(t);
                self.element_len += 1;
            }
        }
        Step::Next
    }

    fn domain_literal(&mut self, t: u8, i: usize) -> Step {
        match t {
            b']' => {
                if self.max_code < 63 {
                    let reasons = check_address_literal(&self.literal);
                    for r in reasons.into_iter().flatten() {
                        self.add(r);
                    }
                } else {
                    self.add(Reason::Rfc5322DomainLiteral);
                }
                self.domain_len += 1;
                self.element_len += 1;
                self.pop();
            }
            b'\\' => {
                self.add(Reason::Rfc5322DomLitObsDtext);
                self.top = Some(Ctx::QuotedPair);
            }
            b'\r' | b' ' | b'\t' => {
                let Some(step) = self.start_fws(t, i) else {
                    return Step::Next;
                };
                self.add(Reason::CfwsFws);
                self.enter_fws(t);
                return step;
            }
            _ => {
                if t > 127 || t == 0 || t == b'[' {
                    self.add(Reason::ErrExpectingDtext);
                    return Step::Next;
                }
                if t < 33 || t == 127 {
                    self.add(Reason::Rfc5322DomLitObsDtext);
                }
                self.literal.push(t);
                self.domain_len += 1;
                self.element_len += 1;
            }
        }
        Step::Next
    }

    fn quoted_string(&mut self, t: u8, i: usize) -> Step {
        match t {
            b'\\' => self.top = Some(Ctx::QuotedPair),
            b'\r' | b'\t' => {
                let Some(step) = self.start_fws(t, i) else {
                    return Step::Next;
                };
                // The fold is one space of the quoted string's value.
                self.local_len += 1;
                self.element_len += 1;
                self.add(Reason::CfwsFws);
                self.enter_fws(t);
                return step;
            }
            b'"' => {
                self.local_len += 1;
                self.element_len += 1;
                self.pop();
            }
            _ => {
                if t > 127 || t == 0 || t == b'\n' {
                    self.add(Reason::ErrExpectingQtext);
                } else if t < 32 || t == 127 {
                    self.add(Reason::DeprecatedQtext);
                }
                self.local_len += 1;
                self.element_len += 1;
            }
        }
        Step::Next
    }

    fn quoted_pair(&mut self, t: u8) -> Step {
        if t > 127 {
            self.add(Reason::ErrExpectingQpair);
        } else if (t < 31 && t != b'\t') || t == 127 {
            self.add(Reason::DeprecatedQp);
        }
        self.pop();
        match self.ctx() {
            Ctx::QuotedString | Ctx::Literal => {
                self.grow(2);
                self.element_len += 2;
            }
            _ => {}
        }
        Step::Next
    }

    fn comment(&mut self, t: u8, i: usize) -> Step {
        match t {
            b'(' => self.push_comment(),
            b')' => self.pop(),
            b'\\' => self.top = Some(Ctx::QuotedPair),
            b'\r' | b' ' | b'\t' => {
                let Some(step) = self.start_fws(t, i) else {
                    return Step::Next;
                };
                self.add(Reason::CfwsFws);
                self.enter_fws(t);
                return step;
            }
            _ => {
                if t > 127 || t == 0 || t == b'\n' {
                    self.add(Reason::ErrExpectingCtext);
                } else if t < 32 || t == 127 {
                    self.add(Reason::DeprecatedCtext);
                }
            }
        }
        Step::Next
    }

    fn fws(&mut self, t: u8, i: usize) -> Step {
        if self.token_prior == b'\r' {
            if t == b'\r' {
                self.add(Reason::ErrFwsCrlfX2);
                return Step::Next;
            }
            match &mut self.crlf_count {
                Some(n) => {
                    *n += 1;
                    if *n > 1 {
                        self.add(Reason::DeprecatedFws);
                    }
                }
                None => self.crlf_count = Some(1),
            }
        }
        let step = match t {
            b'\r' => {
                if self.cr_lf(i) {
                    Step::SkipLf
                } else {
                    self.add(Reason::ErrCrNoLf);
                    Step::Next
                }
            }
            b' ' | b'\t' => Step::Next,
            _ => {
                if self.token_prior == b'\r' {
                    self.add(Reason::ErrFwsCrlfEnd);
                    return Step::Next;
                }
                self.crlf_count = None;
                self.pop();
                Step::Again
            }
        };
        self.token_prior = t;
        step
    }

    /// The checks at the end of the input.
    fn finish(&mut self, last_token: u8) {
        let ctx = self.ctx();
        let reason = if ctx == Ctx::QuotedString {
            Some(Reason::ErrUnclosedQuotedStr)
        } else if ctx == Ctx::QuotedPair {
            Some(Reason::ErrBackslashEnd)
        } else if ctx == Ctx::Comment {
            Some(Reason::ErrUnclosedComment)
        } else if ctx == Ctx::Literal {
            Some(Reason::ErrUnclosedDomLit)
        } else if last_token == b'\r' {
            Some(Reason::ErrFwsCrlfEnd)
        } else if self.domain_len == 0 {
            Some(Reason::ErrNoDomainPart)
        } else if self.element_len == 0 {
            Some(Reason::ErrDotEnd)
        } else if self.hyphen {
            Some(Reason::ErrDomainHyphenEnd)
        } else if self.domain_len > 255 {
            Some(Reason::Rfc5322DomainTooLong)
        } else if self.local_len + 1 + self.domain_len > 254 {
            Some(Reason::Rfc5322TooLong)
        } else if self.element_len > 63 {
            Some(Reason::Rfc5322LabelTooLong)
        } else {
            None
        };
        if let Some(r) = reason {
            self.add(r);
        }
    }
}

/// Whether the top-level-domain checks apply (they need the domain to be a name).
fn domain_receives_mail_needed(d: &Diagnoser<'_>) -> bool {
    d.element_count == 0 || d.element_first.is_some_and(|b| b.is_ascii_digit())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Next,
    SkipLf,
    Again,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_order() {
        assert!(Category::Valid < Category::Rfc5321);
        assert!(Category::Rfc5322 < Category::Invalid);
        assert_eq!(
            Reason::Rfc5321IPv6Deprecated.category(),
            Category::Deprecated
        );
    }

    #[test]
    fn reasons() {
        assert_eq!(diagnose(b"test@iana.org").reason(), Reason::Valid);
        assert_eq!(diagnose(b"test@org").reason(), Reason::Rfc5321Tld);
        assert_eq!(
            diagnose(b"test@iana.123").reason(),
            Reason::Rfc5321TldNumeric
        );
        assert_eq!(diagnose(b"").reason(), Reason::ErrNoDomainPart);
        assert_eq!(
            diagnose(b"test@[IPv6:1111:2222:3333:4444:5555:6666::8888]").reason(),
            Reason::Rfc5321IPv6Deprecated
        );
        assert_eq!(
            diagnose(b"test@iana.org\r\n").reason(),
            Reason::ErrFwsCrlfEnd
        );
        assert!(diagnose(b"a@b.c").is_valid_for_smtp());
        assert!(!diagnose(b"a@b..c").is_valid_for_message());
    }

    #[test]
    fn deep_comments_are_linear() {
        let mut s = b"a@b.c".to_vec();
        s.extend(std::iter::repeat_n(b'(', 200_000));
        assert_eq!(diagnose(&s).reason(), Reason::ErrUnclosedComment);
    }
}
