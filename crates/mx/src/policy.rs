//! Where transport-security policies (MTA-STS, DANE) plug in — a documented extension
//! point, not an implementation.
//!
//! A [`Route`] says where a domain's mail goes. Two later standards say *how
//! securely* it may go there, and both act on the route, not on the MX lookup itself:
//!
//! * **MTA-STS** (RFC 8461) publishes, over HTTPS, the MX name patterns a sender must
//!   match and whether TLS with a valid certificate is required. Applied to a route, it
//!   removes hosts whose names do not match the policy's `mx` patterns (in `enforce`
//!   mode) and marks the others as "TLS required, certificate checked against the MX
//!   name".
//! * **DANE for SMTP** (RFC 7672) needs DNSSEC-validated TLSA records at
//!   `_25._tcp.<mx host>`; applied to a route, it attaches the TLSA set to each host and
//!   makes TLS mandatory for those that have one.
//!
//! Both fit the same shape, which is the extension point this crate commits to: a policy
//! is a function of a finished route (plus data fetched by the caller, such as the
//! MTA-STS policy text or TLSA answers) to the same route filtered, with per-host
//! requirements. A future `mta-sts` or `dane` feature adds a type implementing
//! [`RoutePolicy`] and its own sans-IO fetching machine next to [`Lookup`](crate::Lookup);
//! the MX rules in this crate do not change, and the tokio resolver applies the
//! policies after [`Lookup`](crate::Lookup) finishes, before caching.
//!
//! No policy ships today: every host in a route may be tried with opportunistic TLS.

use crate::route::{Host, Route};

/// What a transport-security policy requires for one host of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TlsRequirement {
    /// Use STARTTLS if offered; deliver in clear text otherwise (RFC 3207 default).
    #[default]
    Opportunistic,
    /// TLS is mandatory and the certificate must be valid for the host name (MTA-STS).
    VerifiedName,
    /// TLS is mandatory and the certificate must match the host's TLSA records (DANE).
    Tlsa,
}

/// A transport-security policy applied to a finished route.
///
/// Implementations decide per host whether it stays eligible and what TLS it needs.
/// The trait is object safe so that a driver can hold a list of policies.
pub trait RoutePolicy {
    /// The requirement for `host` of the route to `domain`; `None` drops the host
    /// (e.g. an MX name that an MTA-STS policy in enforce mode does not list).
    fn requirement(&self, domain: &str, host: &Host) -> Option<TlsRequirement>;

    /// Applies the policy to `route`: drops hosts and returns the requirement of each
    /// remaining host, in route order.
    fn apply(&self, domain: &str, route: &mut Route) -> Vec<TlsRequirement> {
        let mut requirements = Vec::with_capacity(route.hosts.len());
        route.hosts.retain(|h| match self.requirement(domain, h) {
            Some(r) => {
                requirements.push(r);
                true
            }
            None => false,
        });
        requirements
    }
}
