//! The outcome of a DMARC evaluation.

use super::{DmarcError, Policy, PolicyRecord};
use crate::results::MethodResult;

/// The DMARC result (RFC 9989 9.2, the RFC 8601 result names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DmarcStatus {
    /// A policy record applies and an Authenticated Identifier is aligned.
    Pass,
    /// A policy record applies and no Authenticated Identifier is aligned.
    Fail,
    /// No DMARC Policy Record applies to the Author Domain.
    None,
    /// A DNS question failed temporarily (or went unanswered); a later attempt may give
    /// a final result.
    TempError,
    /// An error a later attempt will not fix: no single usable Author Domain (see
    /// [`DmarcError::is_author_error`]) or an unusable policy record.
    PermError,
}

impl DmarcStatus {
    /// The RFC 8601 result keyword: `pass`, `fail`, `none`, `temperror`, `permerror`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::None => "none",
            Self::TempError => "temperror",
            Self::PermError => "permerror",
        }
    }
}

/// Which tag of the record gave the policy (RFC 9989 4.10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PolicyTag {
    /// `p`: the record is the Author Domain's own, or no `sp`/`np` applied.
    P,
    /// `sp`: an existing subdomain of the DMARC Policy Domain.
    Sp,
    /// `np`: a non-existent subdomain of the DMARC Policy Domain.
    Np,
}

impl PolicyTag {
    /// The tag name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::P => "p",
            Self::Sp => "sp",
            Self::Np => "np",
        }
    }
}

/// What an enforcing receiver does with the message, from the result and the Domain
/// Owner Assessment Policy (RFC 9989 5.3.6, 5.4). Ordered from mildest to strictest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Disposition {
    /// Deliver normally: `pass`, `none`, an unusable record, or a failure under a
    /// `none` policy (after `t=y`).
    Accept,
    /// Deliver as suspicious (spam folder): a failure under `quarantine`.
    Quarantine,
    /// A temporary DNS failure kept DMARC from concluding; the receiver chooses between
    /// a 4xx reply ("fail closed") and delivery ("fail open") (RFC 9989 4.10.1).
    TempFail,
    /// Refuse (SMTP 550 5.7.1): a failure under `reject`, or a message without a single
    /// usable Author Domain (several `From:` fields, no `From:`, no domain; RFC 9989
    /// 4.4 and 11.5), which never passes.
    Reject,
}

impl Disposition {
    /// `accept`, `quarantine`, `tempfail` or `reject`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Quarantine => "quarantine",
            Self::TempFail => "tempfail",
            Self::Reject => "reject",
        }
    }
}

/// The DMARC evaluation of one message.
///
/// With several Author Domains evaluated (RFC 9989 11.5), the top-level fields are
/// those of the deciding domain: the first of fail (the strictest policy first),
/// temperror, permerror, none, pass; all of them are in [`per_author`](Self::per_author),
/// and [`disposition`](Self::disposition) is the strictest over all of them. A message
/// passes only when every Author Domain passes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DmarcResult {
    /// pass / fail / none / temperror / permerror.
    pub status: DmarcStatus,
    /// Why the result is temperror or permerror (or, for none, a policy record that
    /// could not be used).
    pub error: Option<DmarcError>,
    /// The Author Domain (`header.from`); empty when none could be determined.
    pub author_domain: String,
    /// The DMARC Policy Domain: where the applied record was found.
    pub policy_domain: Option<String>,
    /// The Organizational Domain of the Author Domain, when it was determined (only
    /// needed for relaxed alignment and policy discovery by tree walk).
    pub organizational_domain: Option<String>,
    /// The applied DMARC Policy Record.
    pub record: Option<PolicyRecord>,
    /// The Domain Owner Assessment Policy for this message, from `p`, `sp` or `np`.
    pub policy: Option<Policy>,
    /// Which tag gave [`policy`](Self::policy).
    pub policy_tag: Option<PolicyTag>,
    /// `t=y`: the Domain Owner is testing; a failing message gets the policy one level
    /// below ([`applied_policy`](Self::applied_policy)).
    pub testing: bool,
    /// The SPF-Authenticated Identifier (a passing MAIL FROM domain), when there is one.
    pub spf_domain: Option<String>,
    /// The SPF-Authenticated Identifier is aligned with the Author Domain.
    pub spf_aligned: bool,
    /// The DKIM-Authenticated Identifiers (passing `d=`) aligned with the Author Domain.
    pub dkim_aligned: Vec<String>,
    /// Some identifiers were not walked because of
    /// [`Config::max_identifier_walks`](super::Config::max_identifier_walks); they
    /// counted as not aligned.
    pub identifier_limit_reached: bool,
    /// The result of every Author Domain when there were several (else empty).
    pub per_author: Vec<DmarcResult>,
}

impl DmarcResult {
    pub(crate) fn new(status: DmarcStatus, author: &str) -> Self {
        Self {
            status,
            error: None,
            author_domain: author.to_owned(),
            policy_domain: None,
            organizational_domain: None,
            record: None,
            policy: None,
            policy_tag: None,
            testing: false,
            spf_domain: None,
            spf_aligned: false,
            dkim_aligned: Vec::new(),
            identifier_limit_reached: false,
            per_author: Vec::new(),
        }
    }

    pub(crate) fn error(status: DmarcStatus, author: &str, error: DmarcError) -> Self {
        let mut r = Self::new(status, author);
        r.error = Some(error);
        r
    }

    /// The `header.from` value for `Authentication-Results` (RFC 9989 9.1): the Author
    /// Domain, empty when there is none.
    pub fn header_from(&self) -> &str {
        &self.author_domain
    }

    /// For `fail`: the policy to apply after `t=y` (one level below when testing);
    /// `None` for every other result. This is the `policy.dmarc` value of RFC 9989 9.1.
    pub fn applied_policy(&self) -> Option<Policy> {
        if self.status != DmarcStatus::Fail {
            return None;
        }
        let p = self.policy?;
        Some(if self.testing { p.one_level_below() } else { p })
    }

    fn own_disposition(&self) -> Disposition {
        match self.status {
            DmarcStatus::Pass | DmarcStatus::None => Disposition::Accept,
            DmarcStatus::TempError => Disposition::TempFail,
            DmarcStatus::PermError => {
                if self.error.as_ref().is_some_and(DmarcError::is_author_error) {
                    Disposition::Reject
                } else {
                    Disposition::Accept
                }
            }
            DmarcStatus::Fail => match self.applied_policy() {
                Some(Policy::Reject) => Disposition::Reject,
                Some(Policy::Quarantine) => Disposition::Quarantine,
                _ => Disposition::Accept,
            },
        }
    }

    /// What an enforcing receiver does (see [`Disposition`]); with several Author
    /// Domains, the strictest over all of them.
    pub fn disposition(&self) -> Disposition {
        self.per_author
            .iter()
            .map(Self::own_disposition)
            .chain([self.own_disposition()])
            .max()
            .unwrap_or(Disposition::Accept)
    }

    /// The `dmarc=` entry of an `Authentication-Results` field: the result, the error
    /// as reason, `header.from` and, for `fail`, `policy.dmarc`.
    ///
    /// ```
    /// # use postwerk_auth::dmarc::*;
    /// # use postwerk_auth::dns::Answer;
    /// # use postwerk_auth::results::AuthenticationResults;
    /// let mut e = Evaluator::from_domain("example.com", Config::default());
    /// e.set_spf(SpfIdentifier::new("example.com", true));
    /// for q in e.queries() {
    ///     let answer = if q.name == "_dmarc.example.com" {
    ///         Answer::txt("v=DMARC1; p=reject")
    ///     } else {
    ///         Answer::NxDomain
    ///     };
    ///     e.supply(&q, answer);
    /// }
    /// let r = e.result().unwrap();
    /// let mut ar = AuthenticationResults::new("mx.example.net").unwrap();
    /// ar.push(r.method_result());
    /// assert_eq!(ar.to_field(),
    ///     "Authentication-Results: mx.example.net; dmarc=pass header.from=example.com\r\n");
    /// ```
    pub fn method_result(&self) -> MethodResult {
        let status = self.status.as_str();
        let mut m = match MethodResult::new("dmarc", status) {
            Ok(m) => m,
            // Unreachable: "dmarc" and the status words are keywords.
            Err(_) => return MethodResult::new("dmarc", "permerror").expect("keyword"),
        };
        if let Some(e) = &self.error {
            let text: String = e
                .to_string()
                .chars()
                .map(|c| {
                    if c.is_ascii_graphic() || c == ' ' {
                        c
                    } else {
                        '?'
                    }
                })
                .collect();
            if let Ok(with) = m.clone().reason(&text) {
                m = with;
            }
        }
        if !self.author_domain.is_empty()
            && let Ok(with) = m.clone().property("header", "from", &self.author_domain)
        {
            m = with;
        }
        if let Some(p) = self.applied_policy()
            && let Ok(with) = m.clone().property("policy", "dmarc", p.as_str())
        {
            m = with;
        }
        m
    }
}
