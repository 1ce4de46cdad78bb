//! SPF (RFC 7208): a sans-IO check machine.
//!
//! [`SpfCheck`] runs `check_host()` for one client address and one identity (the
//! MAIL FROM domain, or the HELO/EHLO name): it lists the DNS questions it needs as
//! [`dns::Query`](crate::dns::Query) values, takes each [`dns::Answer`](crate::dns::Answer)
//! back, and ends with an [`SpfOutput`]. It opens no socket and reads no clock: the time
//! (for `%{t}` and the time budget) is an input.
//!
//! | RFC 7208 | Section | Status |
//! |----------|---------|--------|
//! | 2.3, 2.4 | HELO and MAIL FROM identities, `postmaster@` for the null sender | implemented ([`SpfCheck::helo`], [`SpfCheck::mail_from`]) |
//! | 2.6 | results `none neutral pass fail softfail temperror permerror` | implemented ([`SpfResult`]) |
//! | 3 | TXT records only (type SPF is never asked) | implemented |
//! | 4.3 | initial processing: a malformed or single-label domain gives `none` | implemented |
//! | 4.4, 4.5 | record lookup and selection (one `v=spf1` record, several: `permerror`) | implemented |
//! | 4.6 | record syntax checked as a whole before evaluation | implemented ([`SpfRecord::parse`], nom) |
//! | 4.6.4 | 10 DNS-querying terms, 2 void lookups, 10 MX names, 10 PTR names | implemented ([`SpfConfig`]); time budget: [`SpfCheck::handle_timeout`] |
//! | 4.7, 4.8 | default result `neutral`, domain-spec and `<domain>` | implemented |
//! | 5.1 - 5.7 | `all include a mx ptr ip4 ip6 exists`, dual CIDR lengths | implemented |
//! | 5 | IPv4-mapped IPv6 clients are IPv4 | implemented |
//! | 5.5 | `ptr` and `%{p}`: PTR names checked forward, at most 10 | implemented |
//! | 6.1 | `redirect=` (ignored when the record has `all`) | implemented |
//! | 6.2 | `exp=`: one TXT record, macro-expanded, only for the top-level `fail` | implemented |
//! | 6 | unknown modifiers syntax-checked and ignored; repeated `redirect`/`exp`: `permerror` | implemented |
//! | 7 | macros `s l o d i p h c r t v`, transformers, delimiters, URL escapes, 253-octet truncation | implemented |
//! | 8 | result handling (what to do with a `fail`) | the caller's policy |
//! | 9.1 | `Received-SPF` header field, values checked and quoted, folded | implemented ([`SpfOutput::received_spf`]; [`crate::results`] writes `Authentication-Results`) |
//!
//! # Driving it
//!
//! Call [`SpfCheck::queries`] for the questions still unanswered (several at once, e.g.
//! the addresses of every MX name), answer each with [`SpfCheck::supply`] in any order,
//! and repeat until [`SpfCheck::result`] is `Some`. Answers to questions the machine did
//! not ask are ignored. Call [`SpfCheck::handle_timeout`] with the current time when
//! [`SpfCheck::deadline`] passes: a check that is still waiting then ends `temperror`.
//!
//! ```
//! use std::net::IpAddr;
//! use postwerk_auth::dns::{Answer, Record, RecordKind};
//! use postwerk_auth::spf::{SpfCheck, SpfConfig, SpfResult};
//!
//! let ip: IpAddr = "192.0.2.10".parse().unwrap();
//! let now = 1_700_000_000;
//! let mut check = SpfCheck::mail_from(SpfConfig::default(), ip, "alice@example.com",
//!                                     "mail.example.com", now);
//! while check.result().is_none() {
//!     for query in check.queries() {
//!         // A real caller asks its resolver (query.dns_message(id), Answer::from_dns_response).
//!         let answer = match (query.name.as_str(), query.kind) {
//!             ("example.com", RecordKind::Txt) => Answer::txt("v=spf1 a:mail.example.com -all"),
//!             ("mail.example.com", RecordKind::A) => {
//!                 Answer::Records(vec![Record::A("192.0.2.10".parse().unwrap())])
//!             }
//!             _ => Answer::NxDomain,
//!         };
//!         check.supply(&query, answer);
//!     }
//! }
//! let out = check.result().unwrap();
//! assert_eq!(out.result, SpfResult::Pass);
//! assert_eq!(out.result.as_str(), "pass");
//! assert_eq!(out.domain, "example.com");
//! ```
//!
//! # Bounds
//!
//! The number of distinct questions one check can ask is bounded by the limits of
//! [`SpfConfig`] (each DNS-querying term asks at most 1 + 10 questions, plus one PTR
//! round of at most 11 for `%{p}`, one TXT question per record and one for `exp=`);
//! macro expansions are cut to 253 octets for names (left labels dropped, RFC 7208 7.3)
//! and 1024 octets for explanations. Nothing panics on hostile records or answers (the
//! record parser and the machine are fuzzed: `fuzz/fuzz_targets/auth_spf.rs`).

mod check;
mod error;
mod macros;
mod received;
mod record;

pub use check::SpfCheck;
pub use error::{RecordError, SpfError};
pub use macros::MacroString;
pub use record::{Directive, Mechanism, Qualifier, SpfRecord};

/// An SPF result (RFC 7208 2.6), with its RFC 8601 keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SpfResult {
    /// The client is authorized.
    Pass,
    /// The client is not authorized.
    Fail,
    /// Probably not authorized (`~`).
    SoftFail,
    /// The domain states nothing about the client (`?`, or no match).
    Neutral,
    /// No record, or no valid domain to check.
    None,
    /// A temporary (DNS) error; retrying later may give a result.
    TempError,
    /// The domain's records are in error (syntax, limits).
    PermError,
}

impl SpfResult {
    /// The RFC 8601 / RFC 7208 keyword: `pass`, `fail`, `softfail`, `neutral`, `none`,
    /// `temperror`, `permerror`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::SoftFail => "softfail",
            Self::Neutral => "neutral",
            Self::None => "none",
            Self::TempError => "temperror",
            Self::PermError => "permerror",
        }
    }
}

impl std::fmt::Display for SpfResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which identity is checked (RFC 7208 2.3, 2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Identity {
    /// The MAIL FROM domain (`smtp.mailfrom`), or `postmaster@` the HELO name for the
    /// null sender.
    MailFrom,
    /// The HELO/EHLO name (`smtp.helo`).
    Helo,
}

/// Limits and the receiver's name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpfConfig {
    /// At most this many DNS-querying terms (`include a mx ptr exists redirect`) per
    /// check; one more is `permerror`. Default 10 (RFC 7208 4.6.4).
    pub max_dns_lookups: u32,
    /// At most this many lookups answered NXDOMAIN or NODATA; one more is `permerror`.
    /// Default 2 (RFC 7208 4.6.4).
    pub max_void_lookups: u32,
    /// A check still waiting for DNS this many seconds after it started ends
    /// `temperror` at [`SpfCheck::handle_timeout`]. Default 20 (RFC 7208 4.6.4: "at
    /// least 20 seconds").
    pub time_budget_secs: u64,
    /// The receiving host's domain name, for `%{r}` in explanations (`unknown` when
    /// absent).
    pub receiver: Option<String>,
}

impl Default for SpfConfig {
    fn default() -> Self {
        Self {
            max_dns_lookups: 10,
            max_void_lookups: 2,
            time_budget_secs: 20,
            receiver: None,
        }
    }
}

impl SpfConfig {
    /// The default limits with `receiver` as the receiving host's name (`%{r}`).
    pub fn with_receiver(receiver: &str) -> Self {
        Self {
            receiver: Some(receiver.to_owned()),
            ..Self::default()
        }
    }
}

/// The outcome of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpfOutput {
    /// The result.
    pub result: SpfResult,
    /// Which identity was checked.
    pub identity: Identity,
    /// The domain checked (the MAIL FROM domain or the HELO name, no trailing dot).
    pub domain: String,
    /// For `fail`: the explanation from `exp=` (RFC 7208 6.2), macro-expanded. `None`
    /// when the record has no `exp=` or it gave nothing usable (the caller may use a
    /// default text then).
    pub explanation: Option<String>,
    /// The directive that decided the result (e.g. `-all`, `include:_spf.example.com`),
    /// `None` for a default result, `none`, and errors.
    pub mechanism: Option<String>,
    /// For `permerror` and `temperror`: what went wrong.
    pub problem: Option<SpfError>,
    /// DNS-querying terms evaluated (at most [`SpfConfig::max_dns_lookups`]).
    pub dns_lookups: u32,
    /// Void lookups met (at most [`SpfConfig::max_void_lookups`]).
    pub void_lookups: u32,
}
