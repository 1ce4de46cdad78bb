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

use std::fmt;

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

macro_rules! reasons {
    ($($(#[$doc:meta])* $name:ident = $code:literal, $cat:ident, $id:literal;)*) => {
        /// The specific finding, one per is_email diagnosis.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Reason {
            $($(#[$doc])* $name,)*
        }

        impl Reason {
            /// is_email's numeric value for this diagnosis.
            pub fn code(self) -> u8 {
                match self { $(Reason::$name => $code,)* }
            }

            /// The category this finding puts an address in.
            pub fn category(self) -> Category {
                match self { $(Reason::$name => Category::$cat,)* }
            }

            /// is_email's constant name, e.g. `ISEMAIL_RFC5321_QUOTEDSTRING`.
            pub fn isemail_id(self) -> &'static str {
                match self { $(Reason::$name => $id,)* }
            }
        }
    };
}

reasons! {
    /// Nothing unusual.
    Valid = 0, Valid, "ISEMAIL_VALID";
    /// The domain is a top-level domain only (`user@org`).
    Rfc5321Tld = 9, Rfc5321, "ISEMAIL_RFC5321_TLD";
    /// The top-level domain begins with a digit.
    Rfc5321TldNumeric = 10, Rfc5321, "ISEMAIL_RFC5321_TLDNUMERIC";
    /// The local part is a quoted string.
    Rfc5321QuotedString = 11, Rfc5321, "ISEMAIL_RFC5321_QUOTEDSTRING";
    /// The domain is an address literal, not a name.
    Rfc5321AddressLiteral = 12, Rfc5321, "ISEMAIL_RFC5321_ADDRESSLITERAL";
    /// An IPv6 literal whose `::` stands for a single zero group (deprecated since
    /// is_email 3.05).
    Rfc5321IPv6Deprecated = 13, Deprecated, "ISEMAIL_RFC5321_IPV6DEPRECATED";
    /// Contains a comment.
    CfwsComment = 17, Cfws, "ISEMAIL_CFWS_COMMENT";
    /// Contains folding white space.
    CfwsFws = 18, Cfws, "ISEMAIL_CFWS_FWS";
    /// The local part is in the obsolete form (quoted words joined with dots, or CFWS
    /// between words).
    DeprecatedLocalPart = 33, Deprecated, "ISEMAIL_DEPREC_LOCALPART";
    /// Obsolete folding white space (several folds in a row, or FWS between words).
    DeprecatedFws = 34, Deprecated, "ISEMAIL_DEPREC_FWS";
    /// A quoted string contains an obsolete control character.
    DeprecatedQtext = 35, Deprecated, "ISEMAIL_DEPREC_QTEXT";
    /// A quoted pair escapes an obsolete control character.
    DeprecatedQp = 36, Deprecated, "ISEMAIL_DEPREC_QP";
    /// A comment where only the obsolete syntax allows one.
    DeprecatedComment = 37, Deprecated, "ISEMAIL_DEPREC_COMMENT";
    /// A comment contains an obsolete control character.
    DeprecatedCtext = 38, Deprecated, "ISEMAIL_DEPREC_CTEXT";
    /// A comment or folding white space next to the `@`.
    DeprecatedCfwsNearAt = 49, Deprecated, "ISEMAIL_DEPREC_CFWS_NEAR_AT";
    /// The domain has characters DNS does not allow.
    Rfc5322Domain = 65, Rfc5322, "ISEMAIL_RFC5322_DOMAIN";
    /// The whole address is longer than 254 octets.
    Rfc5322TooLong = 66, Rfc5322, "ISEMAIL_RFC5322_TOOLONG";
    /// The local part is longer than 64 octets.
    Rfc5322LocalTooLong = 67, Rfc5322, "ISEMAIL_RFC5322_LOCAL_TOOLONG";
    /// The domain is longer than 255 octets.
    Rfc5322DomainTooLong = 68, Rfc5322, "ISEMAIL_RFC5322_DOMAIN_TOOLONG";
    /// A domain label is longer than 63 octets.
    Rfc5322LabelTooLong = 69, Rfc5322, "ISEMAIL_RFC5322_LABEL_TOOLONG";
    /// The domain literal is not an RFC 5321 address literal.
    Rfc5322DomainLiteral = 70, Rfc5322, "ISEMAIL_RFC5322_DOMAINLITERAL";
    /// The domain literal is not an address literal and has obsolete characters.
    Rfc5322DomLitObsDtext = 71, Rfc5322, "ISEMAIL_RFC5322_DOMLIT_OBSDTEXT";
    /// The IPv6 literal has the wrong number of groups.
    Rfc5322IPv6GroupCount = 72, Rfc5322, "ISEMAIL_RFC5322_IPV6_GRPCOUNT";
    /// The IPv6 literal has more than one `::`.
    Rfc5322IPv6TwoDoubleColons = 73, Rfc5322, "ISEMAIL_RFC5322_IPV6_2X2XCOLON";
    /// The IPv6 literal has a group that is not 1 to 4 hex digits.
    Rfc5322IPv6BadChar = 74, Rfc5322, "ISEMAIL_RFC5322_IPV6_BADCHAR";
    /// The IPv6 literal has too many groups.
    Rfc5322IPv6MaxGroups = 75, Rfc5322, "ISEMAIL_RFC5322_IPV6_MAXGRPS";
    /// The IPv6 literal starts with a single colon.
    Rfc5322IPv6ColonStart = 76, Rfc5322, "ISEMAIL_RFC5322_IPV6_COLONSTRT";
    /// The IPv6 literal ends with a single colon.
    Rfc5322IPv6ColonEnd = 77, Rfc5322, "ISEMAIL_RFC5322_IPV6_COLONEND";
    /// A domain literal contains a character that is not allowed.
    ErrExpectingDtext = 129, Invalid, "ISEMAIL_ERR_EXPECTING_DTEXT";
    /// No local part.
    ErrNoLocalPart = 130, Invalid, "ISEMAIL_ERR_NOLOCALPART";
    /// No domain.
    ErrNoDomainPart = 131, Invalid, "ISEMAIL_ERR_NODOMAIN";
    /// Two dots in a row.
    ErrConsecutiveDots = 132, Invalid, "ISEMAIL_ERR_CONSECUTIVEDOTS";
    /// Text after a comment or folding white space.
    ErrAtextAfterCfws = 133, Invalid, "ISEMAIL_ERR_ATEXT_AFTER_CFWS";
    /// Text after a quoted string.
    ErrAtextAfterQs = 134, Invalid, "ISEMAIL_ERR_ATEXT_AFTER_QS";
    /// Text after a domain literal.
    ErrAtextAfterDomLit = 135, Invalid, "ISEMAIL_ERR_ATEXT_AFTER_DOMLIT";
    /// A quoted pair escapes a character that cannot be escaped.
    ErrExpectingQpair = 136, Invalid, "ISEMAIL_ERR_EXPECTING_QPAIR";
    /// A character that is not allowed.
    ErrExpectingAtext = 137, Invalid, "ISEMAIL_ERR_EXPECTING_ATEXT";
    /// A quoted string contains a character that is not allowed.
    ErrExpectingQtext = 138, Invalid, "ISEMAIL_ERR_EXPECTING_QTEXT";
    /// A comment contains a character that is not allowed.
    ErrExpectingCtext = 139, Invalid, "ISEMAIL_ERR_EXPECTING_CTEXT";
    /// The address ends with a backslash.
    ErrBackslashEnd = 140, Invalid, "ISEMAIL_ERR_BACKSLASHEND";
    /// The local part or domain starts with a dot.
    ErrDotStart = 141, Invalid, "ISEMAIL_ERR_DOT_START";
    /// The local part or domain ends with a dot.
    ErrDotEnd = 142, Invalid, "ISEMAIL_ERR_DOT_END";
    /// A domain label starts with a hyphen.
    ErrDomainHyphenStart = 143, Invalid, "ISEMAIL_ERR_DOMAINHYPHENSTART";
    /// A domain label ends with a hyphen.
    ErrDomainHyphenEnd = 144, Invalid, "ISEMAIL_ERR_DOMAINHYPHENEND";
    /// A quoted string is not closed.
    ErrUnclosedQuotedStr = 145, Invalid, "ISEMAIL_ERR_UNCLOSEDQUOTEDSTR";
    /// A comment is not closed.
    ErrUnclosedComment = 146, Invalid, "ISEMAIL_ERR_UNCLOSEDCOMMENT";
    /// A domain literal is not closed.
    ErrUnclosedDomLit = 147, Invalid, "ISEMAIL_ERR_UNCLOSEDDOMLIT";
    /// Folding white space with two CRLF in a row.
    ErrFwsCrlfX2 = 148, Invalid, "ISEMAIL_ERR_FWS_CRLF_X2";
    /// Folding white space ends with a CRLF.
    ErrFwsCrlfEnd = 149, Invalid, "ISEMAIL_ERR_FWS_CRLF_END";
    /// A CR not followed by LF.
    ErrCrNoLf = 150, Invalid, "ISEMAIL_ERR_CR_NO_LF";
}

impl Reason {
    /// Severity order: by category first, then by is_email's value.
    fn rank(self) -> (Category, u8) {
        (self.category(), self.code())
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.isemail_id())
    }
}

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
    local: Vec<u8>,
    domain: Vec<u8>,
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
            local: Vec::new(),
            domain: Vec::new(),
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

    fn component(&mut self) -> &mut Vec<u8> {
        match self.base {
            Ctx::Local => &mut self.local,
            _ => &mut self.domain,
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
            let domain = String::from_utf8_lossy(&self.domain);
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
                self.local.push(b'.');
            }
            b'"' => {
                if self.element_len == 0 {
                    self.add(if self.element_count == 0 {
                        Reason::Rfc5321QuotedString
                    } else {
                        Reason::DeprecatedLocalPart
                    });
                    self.local.push(b'"');
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
                if self.local.is_empty() {
                    self.add(Reason::ErrNoLocalPart);
                } else if self.element_len == 0 {
                    self.add(Reason::ErrDotEnd);
                } else if self.local.len() > 64 {
                    self.add(Reason::Rfc5322LocalTooLong);
                } else if matches!(self.prior, Ctx::Comment | Ctx::Fws) {
                    self.add(Reason::DeprecatedCfwsNearAt);
                }
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
                    self.local.push(t);
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
                self.domain.push(b'.');
            }
            b'[' => {
                if self.domain.is_empty() {
                    self.end_or_die = true;
                    self.element_len += 1;
                    self.element_first.get_or_insert(t);
                    self.mid = Some(Ctx::Literal);
                    self.domain.push(b'[');
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
                self.domain.push(t);
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
                self.domain.push(b']');
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
                self.domain.push(t);
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
                self.local.push(b' ');
                self.element_len += 1;
                self.add(Reason::CfwsFws);
                self.enter_fws(t);
                return step;
            }
            b'"' => {
                self.local.push(b'"');
                self.element_len += 1;
                self.pop();
            }
            _ => {
                if t > 127 || t == 0 || t == b'\n' {
                    self.add(Reason::ErrExpectingQtext);
                } else if t < 32 || t == 127 {
                    self.add(Reason::DeprecatedQtext);
                }
                self.local.push(t);
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
                self.component().extend_from_slice(&[b'\\', t]);
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
        } else if self.domain.is_empty() {
            Some(Reason::ErrNoDomainPart)
        } else if self.element_len == 0 {
            Some(Reason::ErrDotEnd)
        } else if self.hyphen {
            Some(Reason::ErrDomainHyphenEnd)
        } else if self.domain.len() > 255 {
            Some(Reason::Rfc5322DomainTooLong)
        } else if self.local.len() + 1 + self.domain.len() > 254 {
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

/// Whether `b` is a regex word character (`[A-Za-z0-9_]`).
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_octet(s: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= 3
        && s.iter().all(u8::is_ascii_digit)
        && s.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')) <= 255
}

/// Where a dotted-quad IPv4 address ends the literal (preceded by the start or a non-word
/// character), if one does.
fn trailing_ipv4(lit: &[u8]) -> Option<usize> {
    let mut dots = lit.iter().enumerate().rev().filter(|(_, b)| **b == b'.');
    let (d3, _) = dots.next()?;
    let (d2, _) = dots.next()?;
    let (d1, _) = dots.next()?;
    let first = lit.get(..d1)?;
    let run = first
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let start = d1 - run;
    if start > 0 && lit.get(start - 1).copied().is_some_and(is_word) {
        return None;
    }
    let ok = is_octet(lit.get(start..d1)?)
        && is_octet(lit.get(d1 + 1..d2)?)
        && is_octet(lit.get(d2 + 1..d3)?)
        && is_octet(lit.get(d3 + 1..)?);
    ok.then_some(start)
}

/// The findings for a domain literal's contents (RFC 5321 section 4.1.3 address literals).
fn check_address_literal(lit: &[u8]) -> [Option<Reason>; 3] {
    let mut literal: Vec<u8> = lit.to_vec();
    match trailing_ipv4(lit) {
        Some(0) => return [Some(Reason::Rfc5321AddressLiteral), None, None],
        Some(start) => {
            literal.truncate(start);
            literal.extend_from_slice(b"0:0");
        }
        None => {}
    }
    let is_v6 = literal
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"IPv6:"));
    if !is_v6 {
        return [Some(Reason::Rfc5322DomainLiteral), None, None];
    }
    let v6 = literal.get(5..).unwrap_or(&[]);
    let groups: Vec<&[u8]> = v6.split(|b| *b == b':').collect();
    let count = groups.len();
    let first_dc = v6.windows(2).position(|w| w == b"::");
    let last_dc = v6.windows(2).rposition(|w| w == b"::");
    let mut out = [None, None, None];
    match first_dc {
        None => {
            if count != 8 {
                out[0] = Some(Reason::Rfc5322IPv6GroupCount);
            }
        }
        Some(first) => {
            if Some(first) != last_dc {
                out[0] = Some(Reason::Rfc5322IPv6TwoDoubleColons);
            } else {
                let mut max = 8;
                if first == 0 || first + 2 == v6.len() {
                    max += 1;
                }
                if count > max {
                    out[0] = Some(Reason::Rfc5322IPv6MaxGroups);
                } else if count == max {
                    out[0] = Some(Reason::Rfc5321IPv6Deprecated);
                }
            }
        }
    }
    let starts_single = v6.first() == Some(&b':') && v6.get(1) != Some(&b':');
    let ends_single =
        v6.last() == Some(&b':') && v6.len().checked_sub(2).and_then(|i| v6.get(i)) != Some(&b':');
    out[1] = Some(if starts_single {
        Reason::Rfc5322IPv6ColonStart
    } else if ends_single {
        Reason::Rfc5322IPv6ColonEnd
    } else if groups
        .iter()
        .any(|g| g.len() > 4 || !g.iter().all(u8::is_ascii_hexdigit))
    {
        Reason::Rfc5322IPv6BadChar
    } else {
        Reason::Rfc5321AddressLiteral
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_suffix() {
        assert_eq!(trailing_ipv4(b"1.2.3.4"), Some(0));
        assert_eq!(trailing_ipv4(b"IPv6::1.2.3.4"), Some(6));
        assert_eq!(trailing_ipv4(b"255.255.255.255.255"), Some(4));
        assert_eq!(trailing_ipv4(b"1.2.3.256"), None);
        assert_eq!(trailing_ipv4(b"a1.2.3.4"), None);
        assert_eq!(trailing_ipv4(b"1.2.3"), None);
        assert_eq!(trailing_ipv4(b"1234.2.3.4"), None);
    }

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
