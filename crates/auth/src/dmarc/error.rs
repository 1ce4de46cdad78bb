//! Why a DMARC evaluation did not reach pass or fail, and what was wrong in a record.

use thiserror::Error;

/// Why a [`DmarcResult`](super::DmarcResult) is `permerror` or `temperror` (or `none`
/// for a reason worth naming).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DmarcError {
    // --- the Author Domain (permerror; an enforcing receiver rejects)
    /// The message has no `From:` field (RFC 5322 requires exactly one; RFC 9989 4.2).
    #[error("the message has no From field")]
    NoFromField,
    /// The message has several `From:` fields: no single Author Domain can be trusted
    /// (RFC 9989 4.4, 11.5). The count is given.
    #[error("the message has {0} From fields")]
    MultipleFromFields(usize),
    /// The message or its `From:` field could not be read (too many header fields or
    /// addresses).
    #[error("the From field cannot be parsed")]
    UnparseableFrom,
    /// The `From:` field holds no address at all.
    #[error("the From field holds no address")]
    NoAuthorAddress,
    /// An address of the `From:` field has no domain.
    #[error("a From address has no domain")]
    MissingAuthorDomain,
    /// The domain of a `From:` address is a domain literal or not a valid DNS name.
    #[error("invalid author domain {0:?}")]
    InvalidAuthorDomain(String),
    /// The `From:` field names several domains and the configuration refuses to
    /// evaluate them ([`MultipleAuthors::Refuse`](super::MultipleAuthors::Refuse)).
    #[error("the From field names {0} different domains")]
    MultipleAuthorDomains(usize),
    /// The `From:` field names more different domains than
    /// [`Config::max_author_domains`](super::Config::max_author_domains).
    #[error("the From field names {0} different domains, more than the limit")]
    TooManyAuthorDomains(usize),

    // --- the policy record (permerror, no policy applied)
    /// The DMARC Policy Record to apply has an invalid `p`, `sp` or `np` value and no
    /// valid `rua` URI, or could not be read at all (RFC 9989 4.10.1: no DMARC
    /// processing).
    #[error("the DMARC policy record at {domain} is unusable")]
    InvalidPolicyRecord {
        /// The DMARC Policy Domain.
        domain: String,
    },

    // --- DNS (temperror)
    /// A DNS question needed for the result failed temporarily (RFC 9989 5.3.6).
    #[error("temporary DNS failure for {name}")]
    DnsTempFail {
        /// The name asked about.
        name: String,
    },
    /// The evaluation was given up (time budget spent) with this question unanswered.
    #[error("no DNS answer for {name} within the time budget")]
    Unanswered {
        /// The name asked about.
        name: String,
    },
}

impl DmarcError {
    /// True for the errors about the `From:` field: no single Author Domain could be
    /// determined, so the message can never pass DMARC.
    pub fn is_author_error(&self) -> bool {
        matches!(
            self,
            Self::NoFromField
                | Self::MultipleFromFields(_)
                | Self::UnparseableFrom
                | Self::NoAuthorAddress
                | Self::MissingAuthorDomain
                | Self::InvalidAuthorDomain(_)
                | Self::MultipleAuthorDomains(_)
                | Self::TooManyAuthorDomains(_)
        )
    }

    /// True for the temporary (DNS) errors.
    pub fn is_temporary(&self) -> bool {
        matches!(self, Self::DnsTempFail { .. } | Self::Unanswered { .. })
    }
}

/// What is wrong with a DMARC Policy Record, or with one of its tags.
///
/// [`PolicyRecord::parse`](super::PolicyRecord::parse) fails with
/// [`NotDmarc`](Self::NotDmarc) or [`TooLong`](Self::TooLong); the other variants are
/// collected in [`PolicyRecord::problems`](super::PolicyRecord::problems) while the tag
/// in question falls back to its default (RFC 9989 4.8: "Syntax errors in the remainder
/// of the record MUST be discarded in favor of default values (if any) or ignored
/// outright").
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The record does not start with `v=DMARC1` (RFC 9989 4.7: the record is ignored).
    #[error("not a DMARC record (no leading v=DMARC1)")]
    NotDmarc,
    /// The record is longer than the limit (octets given).
    #[error("DMARC record of {0} octets is longer than the limit")]
    TooLong(usize),
    /// A part between semicolons is not `name=value`.
    #[error("malformed tag {0:?}")]
    Syntax(String),
    /// A tag appears a second time; the first one is used.
    #[error("duplicate tag {0:?}")]
    DuplicateTag(String),
    /// A known tag has a value outside its grammar (RFC 9989 4.8, Table 2).
    #[error("invalid value {value:?} for tag {tag}")]
    InvalidValue {
        /// The tag name, lower case.
        tag: String,
        /// The value (shortened to 64 octets).
        value: String,
    },
    /// A `rua`/`ruf` entry is not a URI.
    #[error("invalid reporting URI {uri:?} in {tag}")]
    InvalidUri {
        /// `rua` or `ruf`.
        tag: String,
        /// The entry (shortened to 64 octets).
        uri: String,
    },
    /// More URIs in `rua`/`ruf` than kept; the rest are dropped.
    #[error("too many URIs in {0}")]
    TooManyUris(String),
}
