//! Why a route could not be computed, classified as permanent or temporary.

use std::fmt;

use crate::query::RecordKind;

/// An RFC 3463 enhanced status code (`class.subject.detail`), e.g. `5.1.10`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedStatus {
    /// 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    pub class: u8,
    /// The subject (1: addressing, 4: network and routing, …).
    pub subject: u16,
    /// The detail within the subject.
    pub detail: u16,
}

impl EnhancedStatus {
    /// A status from its three parts.
    pub const fn new(class: u8, subject: u16, detail: u16) -> Self {
        Self {
            class,
            subject,
            detail,
        }
    }
}

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// What is wrong with a recipient domain given as input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DomainProblem {
    /// The domain is empty (or just `.`).
    Empty,
    /// The IDNA (UTS #46) conversion to A-labels failed.
    Idna,
    /// A label is empty, longer than 63 octets, or not letters, digits and inner hyphens.
    BadLabel,
    /// The domain is longer than 253 octets (255 on the wire).
    TooLong,
    /// A `[...]` address literal that is not an IPv4 address or `IPv6:` + an IPv6 address.
    BadLiteral,
}

impl fmt::Display for DomainProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "empty domain",
            Self::Idna => "IDNA conversion failed",
            Self::BadLabel => "invalid label",
            Self::TooLong => "domain longer than 253 octets",
            Self::BadLiteral => "invalid address literal",
        })
    }
}

/// Why no route was found.
///
/// Every variant is either permanent (the message should bounce: [`is_permanent`]) or
/// temporary (keep the message queued and try later: [`is_temporary`]).
/// [`enhanced_status`] and [`smtp_code`] give the codes to put in a delivery status
/// notification or to answer with when relaying synchronously.
///
/// [`is_permanent`]: RouteError::is_permanent
/// [`is_temporary`]: RouteError::is_temporary
/// [`enhanced_status`]: RouteError::enhanced_status
/// [`smtp_code`]: RouteError::smtp_code
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// The input is not a valid domain or address literal. Permanent, 5.1.2.
    #[error("invalid recipient domain {input:?}: {problem}")]
    InvalidDomain {
        /// The input as given.
        input: String,
        /// What is wrong with it.
        problem: DomainProblem,
    },
    /// The domain does not exist (NXDOMAIN). Permanent, 5.1.2.
    #[error("domain {domain} does not exist")]
    NoSuchDomain {
        /// The name that does not exist (after CNAMEs).
        domain: String,
    },
    /// The domain publishes a null MX (`MX 0 .`, RFC 7505): it accepts no mail.
    /// Permanent, 556 5.1.10.
    #[error("domain {domain} does not accept mail (null MX)")]
    NullMx {
        /// The domain.
        domain: String,
    },
    /// The domain publishes a null MX together with other MX records, which RFC 7505
    /// section 3 forbids. Permanent, 5.1.10.
    #[error("domain {domain} publishes a null MX mixed with other MX records")]
    NullMxMixed {
        /// The domain.
        domain: String,
    },
    /// We are one of the domain's mail exchangers and no host has a strictly better
    /// preference (RFC 5321 section 5.1): relaying would loop. Permanent, 5.4.6.
    #[error("mail for {domain} loops back to this host")]
    Loop {
        /// The domain.
        domain: String,
    },
    /// No mail exchanger (or, for the implicit MX, the domain itself) has an address in
    /// the allowed families. Permanent, 5.4.4.
    #[error("no address found for any mail exchanger of {domain}")]
    NoAddresses {
        /// The domain.
        domain: String,
    },
    /// No mail exchanger has an address and at least one lookup failed temporarily.
    /// Temporary, 4.4.3.
    #[error("addresses of the mail exchangers of {domain} are unavailable for now")]
    AddressesUnavailable {
        /// The domain.
        domain: String,
    },
    /// A chain of CNAME records longer than the configured bound (or a loop).
    /// Treated as temporary (a DNS misconfiguration may be repaired), 4.4.3.
    #[error("CNAME chain from {name} longer than {limit}")]
    CnameChainTooLong {
        /// Where the chain started.
        name: String,
        /// The configured bound.
        limit: u8,
    },
    /// The name server answered SERVFAIL, REFUSED or another error code. Temporary, 4.4.3.
    #[error("name server answered {rcode} for {name} {record}")]
    ServerFailure {
        /// The queried name.
        name: String,
        /// The queried type.
        record: RecordKind,
        /// The DNS response code (RFC 1035 section 4.1.1, RFC 6895).
        rcode: u16,
    },
    /// No usable answer after all retransmissions. Temporary, 4.4.3.
    #[error("no answer for {name} {record} after {attempts} attempts")]
    Timeout {
        /// The queried name.
        name: String,
        /// The queried type.
        record: RecordKind,
        /// How many times the query was sent.
        attempts: u8,
    },
    /// The UDP answer was truncated and no complete answer came over TCP. Temporary, 4.4.3.
    #[error("truncated answer for {name} {record} and no answer over TCP")]
    Truncated {
        /// The queried name.
        name: String,
        /// The queried type.
        record: RecordKind,
    },
    /// A driver has no name server to ask. Temporary, 4.4.3.
    #[error("no name server configured")]
    NoNameServers,
    /// Every name server asked answered NOERROR with no answer for the question and no
    /// SOA in the authority section: a referral or a lame delegation. That is not NODATA
    /// (RFC 2308 section 2.2), so there is no fallback to the domain's own address.
    /// Temporary, 4.4.3.
    #[error("name server gave a referral or lame answer for {name} {record}")]
    LameAnswer {
        /// The queried name.
        name: String,
        /// The queried type.
        record: RecordKind,
    },
    /// The whole lookup took longer than the driver's overall deadline (e.g.
    /// `ResolverConfig::lookup_deadline` with the `tokio` feature). Temporary, 4.4.3.
    #[error("routing {domain} took longer than {limit:?}")]
    DeadlineExceeded {
        /// The domain being routed.
        domain: String,
        /// The deadline.
        limit: std::time::Duration,
    },
}

impl RouteError {
    /// True when retrying later cannot help: the message should be bounced.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            Self::InvalidDomain { .. }
                | Self::NoSuchDomain { .. }
                | Self::NullMx { .. }
                | Self::NullMxMixed { .. }
                | Self::Loop { .. }
                | Self::NoAddresses { .. }
        )
    }

    /// True when the message should stay queued and routing be retried later.
    pub fn is_temporary(&self) -> bool {
        !self.is_permanent()
    }

    /// The RFC 3463 enhanced status code for a delivery status notification.
    ///
    /// ```
    /// use postwerk_mx::RouteError;
    /// let e = RouteError::NullMx { domain: "example.com".into() };
    /// assert_eq!(e.enhanced_status().to_string(), "5.1.10");
    /// assert_eq!(e.smtp_code(), 556);
    /// ```
    pub fn enhanced_status(&self) -> EnhancedStatus {
        match self {
            // X.1.2: bad destination system address.
            Self::InvalidDomain { .. } | Self::NoSuchDomain { .. } => EnhancedStatus::new(5, 1, 2),
            // X.1.10: recipient address has null MX (RFC 7505 section 4.3).
            Self::NullMx { .. } | Self::NullMxMixed { .. } => EnhancedStatus::new(5, 1, 10),
            // X.4.6: routing loop detected.
            Self::Loop { .. } => EnhancedStatus::new(5, 4, 6),
            // X.4.4: unable to route.
            Self::NoAddresses { .. } => EnhancedStatus::new(5, 4, 4),
            // X.4.3: directory server failure.
            Self::AddressesUnavailable { .. }
            | Self::CnameChainTooLong { .. }
            | Self::ServerFailure { .. }
            | Self::Timeout { .. }
            | Self::Truncated { .. }
            | Self::NoNameServers
            | Self::LameAnswer { .. }
            | Self::DeadlineExceeded { .. } => EnhancedStatus::new(4, 4, 3),
        }
    }

    /// The SMTP reply code to report: 556 for a null MX (RFC 7505 section 4.3), 550 for
    /// other permanent failures, 451 for temporary ones.
    pub fn smtp_code(&self) -> u16 {
        match self {
            Self::NullMx { .. } | Self::NullMxMixed { .. } => 556,
            e if e.is_permanent() => 550,
            _ => 451,
        }
    }
}
