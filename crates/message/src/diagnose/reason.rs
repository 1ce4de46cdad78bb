//! The findings of a diagnosis, one per is_email diagnosis, with their categories.

use std::fmt;

use super::Category;

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
    pub(crate) fn rank(self) -> (Category, u8) {
        (self.category(), self.code())
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.isemail_id())
    }
}
