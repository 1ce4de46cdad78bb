//! The result of a successful lookup: hosts in the order to try them.

use std::net::IpAddr;

use crate::rng::Rng;

/// One mail exchanger with the addresses to connect to, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Host {
    /// The exchanger's name (A-labels, lower case, no trailing dot), or the address
    /// literal as given (`[192.0.2.1]`).
    pub name: String,
    /// The MX preference (0 for the implicit MX and for literals).
    pub preference: u16,
    /// Addresses in the order to try, families ordered by the options, capped.
    pub addresses: Vec<IpAddr>,
}

/// A mail exchanger that was kept by the MX rules but has no usable address.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Unresolved {
    /// The exchanger's name.
    pub name: String,
    /// Its MX preference.
    pub preference: u16,
    /// True when a lookup of its addresses failed temporarily (SERVFAIL, timeout): a
    /// later attempt may find it. False when it has no address (NXDOMAIN, NODATA).
    pub temporary: bool,
}

/// Where a domain's mail goes: hosts sorted by preference, equal preferences shuffled.
///
/// Every host has at least one address. Try them in order, and every address of a host
/// in order (RFC 5321 section 5.1). If every attempt fails and some failed temporarily
/// or [`Route::unresolved`] holds a temporary entry, the failure is temporary.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Route {
    /// The hosts to try, in order.
    pub hosts: Vec<Host>,
    /// True when the domain has no MX records and its own addresses are used (the
    /// implicit MX of RFC 5321 section 5.1).
    pub implicit: bool,
    /// True when the input was an address literal (no DNS lookup happened).
    pub literal: bool,
    /// Exchangers that were eligible but had no address.
    pub unresolved: Vec<Unresolved>,
}

impl Route {
    pub(crate) fn new(hosts: Vec<Host>, implicit: bool, unresolved: Vec<Unresolved>) -> Self {
        Self {
            hosts,
            implicit,
            literal: false,
            unresolved,
        }
    }

    pub(crate) fn literal(ip: IpAddr, name: String) -> Self {
        Self {
            hosts: vec![Host {
                name,
                preference: 0,
                addresses: vec![ip],
            }],
            implicit: false,
            literal: true,
            unresolved: Vec::new(),
        }
    }

    /// Every (host, address) pair in the order to try them.
    pub fn addresses(&self) -> impl Iterator<Item = (&Host, IpAddr)> + '_ {
        self.hosts
            .iter()
            .flat_map(|h| h.addresses.iter().map(move |a| (h, *a)))
    }

    /// True when some eligible exchanger could not be resolved for a temporary reason.
    pub fn has_temporary_gaps(&self) -> bool {
        self.unresolved.iter().any(|u| u.temporary)
    }

    /// Shuffles again the hosts that share a preference, leaving the preference order.
    ///
    /// A cache that keeps a computed route calls this on every hit so that equal
    /// preferences keep being spread across exchangers (RFC 5321 section 5.1).
    pub fn reshuffle(&mut self, rng: &mut Rng) {
        shuffle_equal_runs(&mut self.hosts, |h| h.preference, rng);
    }
}

/// Shuffles each run of consecutive items with the same key. The input must be sorted by
/// the key; the output still is.
pub(crate) fn shuffle_equal_runs<T>(items: &mut [T], key: impl Fn(&T) -> u16, rng: &mut Rng) {
    let mut start = 0;
    while start < items.len() {
        let k = key(&items[start]);
        let mut end = start + 1;
        while end < items.len() && key(&items[end]) == k {
            end += 1;
        }
        if end - start > 1
            && let Some(run) = items.get_mut(start..end)
        {
            rng.shuffle(run);
        }
        start = end;
    }
}
