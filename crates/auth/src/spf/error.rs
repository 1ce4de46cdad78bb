//! Why a record does not parse, and why a check ended in `permerror` or `temperror`.

use thiserror::Error;

use super::SpfResult;
use crate::dns::Query;

/// Why an SPF record (or an explanation string) does not parse (RFC 7208 section 12).
/// Every variant makes the check a `permerror` (RFC 7208 section 4.6).
///
/// The `String` fields carry the offending term, cut to at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The record holds a byte outside printable US-ASCII and space (RFC 7208 3.1, 4.6.1).
    #[error("record is not 7-bit ASCII text")]
    NotAscii,
    /// The record does not start with `v=spf1` followed by a space or its end (4.5).
    #[error("record does not start with v=spf1")]
    NoVersion,
    /// A term names no known mechanism and is not a modifier (`name=value`).
    #[error("unknown mechanism {0:?}")]
    UnknownMechanism(String),
    /// A known mechanism with arguments its grammar does not allow (`all:x`, `include`
    /// without a domain, `ptr/24`, ...).
    #[error("invalid mechanism {0:?}")]
    InvalidMechanism(String),
    /// A domain-spec that is empty or does not end in a macro or a valid top label
    /// (RFC 7208 7.1).
    #[error("invalid domain-spec {0:?}")]
    InvalidDomainSpec(String),
    /// A `%` not starting `%{...}`, `%%`, `%_` or `%-`, an unknown macro letter, a zero
    /// digit transformer, or `c`, `r`, `t` outside an explanation (RFC 7208 7.1).
    #[error("invalid macro in {0:?}")]
    InvalidMacro(String),
    /// A CIDR length out of range or with a leading zero (RFC 7208 5.6).
    #[error("invalid CIDR length in {0:?}")]
    InvalidCidr(String),
    /// An `ip4:` or `ip6:` network that is not an address of that family.
    #[error("invalid IP address in {0:?}")]
    InvalidAddress(String),
    /// A modifier with an invalid name or value.
    #[error("invalid modifier {0:?}")]
    InvalidModifier(String),
    /// `redirect=` or `exp=` appears more than once (RFC 7208 6).
    #[error("modifier {0}= appears more than once")]
    DuplicateModifier(&'static str),
}

/// What made a check end in `permerror` or `temperror`: the problem carried by
/// [`SpfOutput::problem`](super::SpfOutput::problem).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SpfError {
    // --- permerror
    /// The record at `domain` does not parse.
    #[error("record at {domain}: {error}")]
    Record {
        /// The domain whose record it is.
        domain: String,
        /// What is wrong with it.
        error: RecordError,
    },
    /// More than one `v=spf1` TXT record at the domain (RFC 7208 4.5).
    #[error("more than one SPF record at {0}")]
    MultipleRecords(String),
    /// An `include:` or `redirect=` target has no SPF record (RFC 7208 5.2, 6.1).
    #[error("no SPF record at {0}, the target of include or redirect")]
    NoRecordAtTarget(String),
    /// A `redirect=` target that is not a valid domain name after macro expansion
    /// (RFC 7208 6.1).
    #[error("redirect target {0:?} is not a valid domain name")]
    InvalidRedirectTarget(String),
    /// More DNS-querying terms (`include a mx ptr exists redirect`) than allowed
    /// (RFC 7208 4.6.4: 10).
    #[error("more than {0} DNS-querying terms")]
    TooManyDnsLookups(u32),
    /// More lookups answered NXDOMAIN or NODATA than allowed (RFC 7208 4.6.4: 2).
    #[error("more than {0} void DNS lookups")]
    TooManyVoidLookups(u32),
    /// An `mx` mechanism whose domain has more than 10 MX records (RFC 7208 4.6.4).
    #[error("more than 10 MX records at {0}")]
    TooManyMxRecords(String),

    // --- temperror
    /// A DNS question that decides the result failed temporarily (RFC 7208 2.6.6).
    #[error("temporary DNS failure for {0}")]
    DnsTempFail(Query),
    /// The check took longer than the time budget (RFC 7208 4.6.4: at least 20 seconds).
    #[error("SPF evaluation exceeded its time budget of {0} seconds")]
    TimeBudget(u64),
}

impl SpfError {
    /// The result this problem gives the check: `temperror` or `permerror`.
    pub fn result(&self) -> SpfResult {
        match self {
            Self::DnsTempFail(_) | Self::TimeBudget(_) => SpfResult::TempError,
            _ => SpfResult::PermError,
        }
    }
}

/// A term for an error message: at most 64 characters (the record is hostile input).
pub(crate) fn snippet(term: &str) -> String {
    term.chars().take(64).collect()
}
