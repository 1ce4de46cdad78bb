//! What the caller decides about a lookup: families, caps, who we are, timeouts.

use std::time::Duration;

/// Which address families to use, and in which order a host's addresses are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Families {
    /// IPv4 addresses first, then IPv6.
    #[default]
    Ipv4First,
    /// IPv6 addresses first, then IPv4.
    Ipv6First,
    /// Only IPv4 (no AAAA query is sent).
    Ipv4Only,
    /// Only IPv6 (no A query is sent).
    Ipv6Only,
}

impl Families {
    /// Whether A records are wanted.
    pub fn wants_v4(self) -> bool {
        !matches!(self, Self::Ipv6Only)
    }

    /// Whether AAAA records are wanted.
    pub fn wants_v6(self) -> bool {
        !matches!(self, Self::Ipv4Only)
    }

    /// Whether IPv6 addresses come before IPv4 ones.
    pub fn v6_first(self) -> bool {
        matches!(self, Self::Ipv6First | Self::Ipv6Only)
    }
}

/// Options of a [`Lookup`](crate::Lookup).
///
/// Build it with [`Options::default()`] and change the fields you need:
///
/// ```
/// use postwerk_mx::{Families, Options};
/// let mut options = Options::default();
/// options.families = Families::Ipv6First;
/// options.local_hosts.push("mx1.example.net".into());
/// assert_eq!(options.max_hosts, 10);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Address families and their order.
    pub families: Families,
    /// At most this many mail exchangers in a route (after dropping ourselves).
    pub max_hosts: usize,
    /// At most this many addresses per host.
    pub max_addresses_per_host: usize,
    /// Our own host names (A-labels, case-insensitive, trailing dot optional). When one of
    /// them is a mail exchanger of the domain, it and every host with an equal or worse
    /// preference are dropped (RFC 5321 section 5.1).
    pub local_hosts: Vec<String>,
    /// At most this many CNAME records followed from one queried name.
    pub max_cname_hops: u8,
    /// How long to wait for the first answer to a query; doubled after each round over
    /// the name servers (at most 60 s per try).
    pub timeout: Duration,
    /// How many rounds over the name servers a query gets (UDP and, after truncation, TCP
    /// separately) before the lookup gives up with a temporary failure. At least 1.
    pub attempts: u8,
    /// How many name servers the driver rotates through (at least 1): a query is sent
    /// at most `attempts × servers` times (capped at 255), and [`Query::attempt`] modulo
    /// `servers` says which server to ask. A timeout, SERVFAIL, REFUSED (or any other
    /// error code) or a lame answer moves the query on to the next server at once; only
    /// when every transmission has failed is the lookup a temporary failure. The tokio
    /// driver sets it to the number of its servers.
    ///
    /// [`Query::attempt`]: crate::Query::attempt
    pub servers: u8,
    /// The UDP payload size advertised with EDNS(0) (RFC 6891). 512 or less sends no OPT
    /// record (plain RFC 1035 queries, whose UDP answers are limited to 512 octets).
    pub udp_payload: u16,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            families: Families::default(),
            max_hosts: 10,
            max_addresses_per_host: 8,
            local_hosts: Vec::new(),
            max_cname_hops: 8,
            timeout: Duration::from_secs(2),
            attempts: 3,
            servers: 1,
            udp_payload: 1232,
        }
    }
}

impl Options {
    /// How many times one query may be sent: `attempts × servers`, at least 1, at most
    /// 255.
    pub fn max_transmissions(&self) -> u8 {
        let total = u16::from(self.attempts.max(1)) * u16::from(self.servers.max(1));
        u8::try_from(total).unwrap_or(u8::MAX)
    }

    /// True when `name` (an A-label name, trailing dot optional) is one of ours.
    pub fn is_local_host(&self, name: &str) -> bool {
        let name = name.strip_suffix('.').unwrap_or(name);
        self.local_hosts.iter().any(|ours| {
            let ours = ours.strip_suffix('.').unwrap_or(ours);
            ours.eq_ignore_ascii_case(name)
        })
    }
}
