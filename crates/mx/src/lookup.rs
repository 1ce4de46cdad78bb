//! The sans-IO lookup machine: MX, then A/AAAA of each exchanger.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use hickory_proto::rr::Name;

use crate::error::RouteError;
use crate::options::Options;
use crate::query::{Query, RecordKind, Transport, encode};
use crate::response::{Data, Ignored, Outcome, check, name_string, peek_id};
use crate::rng::Rng;
use crate::route::{Host, Route, Unresolved, shuffle_equal_runs};
use crate::target::Target;

/// What [`Lookup::handle_response`] did with a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Handled {
    /// It answered a query in flight and was used.
    Accepted {
        /// How many seconds a driver may reuse these bytes for the same question
        /// (RFC 1035 TTLs; RFC 2308 for NXDOMAIN/NODATA). `None`: do not cache
        /// (truncated, server failure, negative answer without SOA).
        cache_ttl: Option<u32>,
    },
    /// It answered a query in flight with an error code (SERVFAIL, REFUSED, …) or a
    /// referral/lame answer (NOERROR, no answer, no SOA), and transmissions remain: the
    /// same question is queued again for the next name server ([`Options::servers`]).
    /// Nothing in it may be cached.
    Retrying,
    /// It was not an answer to any query in flight; the lookup is unchanged.
    Ignored(Ignored),
}

/// One MX routing lookup, driven by the caller.
///
/// Call order (after [`Lookup::new`]):
///
/// 1. send every [`poll_query`](Lookup::poll_query) (UDP, or TCP when it says so);
/// 2. feed each datagram received to [`handle_response`](Lookup::handle_response),
///    and call [`handle_timeout`](Lookup::handle_timeout) when the instant from
///    [`poll_timeout`](Lookup::poll_timeout) has passed;
/// 3. after every input, go back to 1 until [`is_finished`](Lookup::is_finished), then
///    take the [`result`](Lookup::result).
///
/// ```
/// use postwerk_mx::{Lookup, Options, Rng};
/// use std::time::Instant;
/// let mut lookup = Lookup::new("[192.0.2.1]", Options::default(), Rng::new(1), Instant::now());
/// assert!(lookup.poll_query().is_none());
/// let route = lookup.result().unwrap().unwrap();
/// assert_eq!(route.hosts[0].addresses, ["192.0.2.1".parse::<std::net::IpAddr>().unwrap()]);
/// ```
#[derive(Debug)]
pub struct Lookup {
    options: Arc<Options>,
    rng: Rng,
    domain: String,
    stage: Stage,
    pending: Vec<Pending>,
    outbox: VecDeque<Query>,
    result: Option<Result<Route, RouteError>>,
    /// The validated response of a [`Lookup::records`] question.
    response: Option<Vec<u8>>,
}

#[derive(Debug)]
enum Stage {
    Mx,
    /// One question of any [`RecordKind`] ([`Lookup::records`]).
    Records,
    Addresses {
        implicit: bool,
        hosts: Vec<HostSlot>,
    },
    Done,
}

#[derive(Debug)]
struct HostSlot {
    name: Name,
    display: String,
    preference: u16,
    v4: Slot,
    v6: Slot,
}

#[derive(Debug)]
enum Slot {
    Unwanted,
    Waiting,
    Found(Vec<IpAddr>),
    Absent,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Mx,
    Records,
    Address(usize),
}

#[derive(Debug)]
struct Pending {
    id: u16,
    name: Name,
    display: String,
    kind: RecordKind,
    transport: Transport,
    attempt: u8,
    deadline: Instant,
    bytes: Vec<u8>,
    purpose: Purpose,
    hops: u8,
    /// What the last server that answered said, if it was a failure; reported when the
    /// transmissions run out.
    failure: Option<Failure>,
}

/// A server's answer that moves a query on to the next server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Rcode(u16),
    Lame,
}

/// An outcome that answers the question (as opposed to a failure or a retry).
enum Answered {
    NxDomain,
    Data(Data),
}

/// Longest wait for one retransmission.
const MAX_TRY: Duration = Duration::from_secs(60);

/// `now + wait`, or as far as representable when that overflows (a configured
/// `Duration::MAX` must not panic).
fn later(now: Instant, wait: Duration) -> Instant {
    now.checked_add(wait)
        .or_else(|| now.checked_add(MAX_TRY))
        .unwrap_or(now)
}

impl Lookup {
    /// Starts routing mail for `domain`: a domain (UTF-8 allowed) or an address literal.
    ///
    /// An invalid input or a literal finishes the lookup at once; otherwise the MX query
    /// is ready in [`poll_query`](Lookup::poll_query).
    pub fn new(domain: &str, options: impl Into<Arc<Options>>, rng: Rng, now: Instant) -> Self {
        let mut lookup = Self {
            options: options.into(),
            rng,
            domain: String::new(),
            stage: Stage::Mx,
            pending: Vec::new(),
            outbox: VecDeque::new(),
            result: None,
            response: None,
        };
        match Target::parse(domain) {
            Err(e) => lookup.finish(Err(e)),
            Ok(Target::Literal(ip)) => {
                lookup.domain = domain.to_owned();
                let fam = lookup.options.families;
                let allowed = match ip {
                    IpAddr::V4(_) => fam.wants_v4(),
                    IpAddr::V6(_) => fam.wants_v6(),
                };
                if allowed {
                    lookup.finish(Ok(Route::literal(ip, domain.to_owned())));
                } else {
                    let domain = domain.to_owned();
                    lookup.finish(Err(RouteError::NoAddresses { domain }));
                }
            }
            Ok(Target::Domain(ascii)) => match Name::from_ascii(format!("{ascii}.")) {
                Ok(name) => {
                    lookup.domain = ascii.clone();
                    lookup.send(
                        name,
                        ascii,
                        RecordKind::Mx,
                        Transport::Udp,
                        Purpose::Mx,
                        0,
                        now,
                    );
                }
                Err(_) => lookup.finish(Err(RouteError::InvalidDomain {
                    input: domain.to_owned(),
                    problem: crate::error::DomainProblem::BadLabel,
                })),
            },
        }
        lookup
    }

    /// Asks one question: the `kind` records at `name` (ASCII, or UTF-8 converted to
    /// A-labels; labels such as `_dmarc` are allowed), with the same transmissions,
    /// retries over the name servers, TCP after truncation and answer checks as a route
    /// lookup. CNAMEs are followed up to [`Options::max_cname_hops`].
    ///
    /// The result, from [`take_response`](Lookup::take_response), is the validated
    /// response (NOERROR with or without records, or NXDOMAIN) for the caller to read;
    /// server failures, lame answers, timeouts and an invalid name are errors.
    ///
    /// ```
    /// use postwerk_mx::{Lookup, Options, RecordKind, Rng};
    /// use std::time::Instant;
    /// let mut q = Lookup::records("_dmarc.example.com", RecordKind::Txt, Options::default(),
    ///                             Rng::new(1), Instant::now());
    /// let query = q.poll_query().unwrap();
    /// assert_eq!((query.name.as_str(), query.record), ("_dmarc.example.com", RecordKind::Txt));
    /// ```
    pub fn records(
        name: &str,
        kind: RecordKind,
        options: impl Into<Arc<Options>>,
        rng: Rng,
        now: Instant,
    ) -> Self {
        let mut lookup = Self {
            options: options.into(),
            rng,
            domain: String::new(),
            stage: Stage::Records,
            pending: Vec::new(),
            outbox: VecDeque::new(),
            result: None,
            response: None,
        };
        let trimmed = name.strip_suffix('.').unwrap_or(name);
        let parsed = if trimmed.is_empty() || trimmed.len() > 253 {
            None
        } else if trimmed.is_ascii() {
            Name::from_ascii(format!("{trimmed}.")).ok()
        } else {
            Name::from_utf8(format!("{trimmed}.")).ok()
        };
        match parsed {
            Some(qname) => {
                let display = name_string(&qname);
                lookup.domain = display.clone();
                lookup.send(
                    qname,
                    display,
                    kind,
                    Transport::Udp,
                    Purpose::Records,
                    0,
                    now,
                );
            }
            None => lookup.finish(Err(RouteError::InvalidDomain {
                input: name.to_owned(),
                problem: crate::error::DomainProblem::BadLabel,
            })),
        }
        lookup
    }

    /// The response to a [`Lookup::records`] question, once finished: the validated DNS
    /// message (its id is the lookup's), or why there is none. Taking it leaves `None`.
    /// Always `None` for a route lookup.
    pub fn take_response(&mut self) -> Option<Result<Vec<u8>, RouteError>> {
        if let Some(bytes) = self.response.take() {
            return Some(Ok(bytes));
        }
        match self.result.take()? {
            Err(e) => Some(Err(e)),
            Ok(route) => {
                self.result = Some(Ok(route));
                None
            }
        }
    }

    /// The domain being routed, in A-label form (or the literal as given).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The next query to send, if any.
    pub fn poll_query(&mut self) -> Option<Query> {
        self.outbox.pop_front()
    }

    /// When [`handle_timeout`](Lookup::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.pending.iter().map(|p| p.deadline).min()
    }

    /// When the current transmission of query `id` is given up (its per-try timeout).
    #[cfg(feature = "tokio")]
    pub(crate) fn deadline_of(&self, id: u16) -> Option<Instant> {
        self.pending.iter().find(|p| p.id == id).map(|p| p.deadline)
    }

    /// True once the result is known (it may already have been taken).
    pub fn is_finished(&self) -> bool {
        matches!(self.stage, Stage::Done)
    }

    /// The route or the failure, once finished. Taking it leaves `None` behind.
    pub fn result(&mut self) -> Option<Result<Route, RouteError>> {
        self.result.take()
    }

    /// Retransmits queries whose deadline has passed, to the next name server (the
    /// timeout doubling after each round over [`Options::servers`]), and gives up on those
    /// sent [`Options::max_transmissions`] times.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.pending.len() {
            if self.pending.get(i).is_some_and(|p| p.deadline <= now) {
                self.expire(i, now);
                if self.is_finished() {
                    return;
                }
                // `expire` either kept the entry at `i` (retransmitted) or removed it.
                if self.pending.get(i).is_some_and(|p| p.deadline > now) {
                    i += 1;
                }
            } else {
                i += 1;
            }
        }
    }

    /// The driver could not send query `id` or lost its connection: treated like a
    /// timeout of that transmission (retried while attempts remain).
    pub fn handle_error(&mut self, id: u16, now: Instant) {
        if let Some(i) = self.pending.iter().position(|p| p.id == id) {
            self.expire(i, now);
        }
    }

    /// Feeds one response (a UDP datagram, or a TCP message without its length prefix).
    ///
    /// The id, the QR bit, the opcode and the question (name case-insensitively, type,
    /// class) must match a query in flight; anything else is ignored and reported as such.
    /// An error code or a referral/lame answer moves the query on to the next server
    /// ([`Handled::Retrying`]) while transmissions remain.
    pub fn handle_response(&mut self, bytes: &[u8], now: Instant) -> Handled {
        if self.is_finished() {
            return Handled::Ignored(Ignored::Finished);
        }
        let Some(id) = peek_id(bytes) else {
            return Handled::Ignored(Ignored::Malformed);
        };
        let Some(index) = self.pending.iter().position(|p| p.id == id) else {
            return Handled::Ignored(Ignored::UnknownId);
        };
        let Ok(msg) = Message::from_vec(bytes) else {
            return Handled::Ignored(Ignored::Malformed);
        };
        let Some(p) = self.pending.get(index) else {
            return Handled::Ignored(Ignored::UnknownId);
        };
        let hops_left = self.options.max_cname_hops.saturating_sub(p.hops);
        let checked = match check(&msg, &p.name, p.kind, hops_left) {
            Ok(c) => c,
            Err(reason) => return Handled::Ignored(reason),
        };
        let failure = match checked.outcome {
            Outcome::Failure(rcode) => Some(Failure::Rcode(rcode)),
            Outcome::Lame => Some(Failure::Lame),
            _ => None,
        };
        let limit = self.options.max_transmissions();
        if let Some(failure) = failure
            && let Some(p) = self.pending.get_mut(index)
            && p.attempt.saturating_add(1) < limit
        {
            p.failure = Some(failure);
            self.retransmit(index, now);
            return Handled::Retrying;
        }
        let p = self.pending.swap_remove(index);
        match p.purpose {
            Purpose::Mx => self.on_mx(p, checked.outcome, now),
            Purpose::Records => self.on_records(p, checked.outcome, bytes, now),
            Purpose::Address(host) => self.on_address(p, host, checked.outcome, now),
        }
        Handled::Accepted {
            cache_ttl: checked.cache_ttl,
        }
    }

    // ----- internals -----

    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        name: Name,
        display: String,
        kind: RecordKind,
        transport: Transport,
        purpose: Purpose,
        hops: u8,
        now: Instant,
    ) {
        let id = loop {
            let id = self.rng.next_u16();
            if !self.pending.iter().any(|p| p.id == id) {
                break id;
            }
        };
        let bytes = encode(id, &name, kind, self.options.udp_payload);
        self.outbox.push_back(Query {
            id,
            bytes: bytes.clone(),
            transport,
            name: display.clone(),
            record: kind,
            attempt: 0,
        });
        self.pending.push(Pending {
            id,
            name,
            display,
            kind,
            transport,
            attempt: 0,
            deadline: later(now, self.options.timeout),
            bytes,
            purpose,
            hops,
            failure: None,
        });
    }

    /// Queues the pending query at `index` again, for the next name server.
    fn retransmit(&mut self, index: usize, now: Instant) {
        let servers = self.options.servers.max(1);
        let timeout = self.options.timeout;
        let Some(p) = self.pending.get_mut(index) else {
            return;
        };
        p.attempt = p.attempt.saturating_add(1);
        let round = p.attempt / servers;
        let wait = if round == 0 {
            timeout
        } else {
            timeout.saturating_mul(1u32 << round.min(8)).min(MAX_TRY)
        };
        p.deadline = later(now, wait);
        self.outbox.push_back(Query {
            id: p.id,
            bytes: p.bytes.clone(),
            transport: p.transport,
            name: p.display.clone(),
            record: p.kind,
            attempt: p.attempt,
        });
    }

    /// The pending query at `index` timed out (or failed to send).
    fn expire(&mut self, index: usize, now: Instant) {
        let limit = self.options.max_transmissions();
        let Some(p) = self.pending.get(index) else {
            return;
        };
        if p.attempt.saturating_add(1) < limit {
            self.retransmit(index, now);
            return;
        }
        let p = self.pending.swap_remove(index);
        let error = match (p.failure, p.transport) {
            (Some(Failure::Rcode(rcode)), _) => RouteError::ServerFailure {
                name: p.display.clone(),
                record: p.kind,
                rcode,
            },
            (Some(Failure::Lame), _) => RouteError::LameAnswer {
                name: p.display.clone(),
                record: p.kind,
            },
            (None, Transport::Udp) => RouteError::Timeout {
                name: p.display.clone(),
                record: p.kind,
                attempts: p.attempt.saturating_add(1),
            },
            (None, Transport::Tcp) => RouteError::Truncated {
                name: p.display.clone(),
                record: p.kind,
            },
        };
        match p.purpose {
            Purpose::Mx | Purpose::Records => self.finish(Err(error)),
            Purpose::Address(host) => {
                self.set_slot(host, p.kind, Slot::Failed);
                self.maybe_finish_addresses();
            }
        }
    }

    fn finish(&mut self, result: Result<Route, RouteError>) {
        self.result = Some(result);
        self.stage = Stage::Done;
        self.pending.clear();
        self.outbox.clear();
    }

    /// Sends the same question again, over TCP after truncation or for a CNAME target.
    fn follow(&mut self, p: &Pending, name: Name, transport: Transport, hops: u8, now: Instant) {
        let display = if name == p.name {
            p.display.clone()
        } else {
            name_string(&name)
        };
        self.send(name, display, p.kind, transport, p.purpose, hops, now);
    }

    /// What a question that decides the whole lookup (the MX question, or a
    /// [`Lookup::records`] question) does with an outcome that is not an answer: ask again
    /// over TCP after a truncated UDP answer, else end the lookup with the error. Answers
    /// come back for the caller.
    fn answer_or_fail(&mut self, p: &Pending, outcome: Outcome, now: Instant) -> Option<Answered> {
        let error = match outcome {
            Outcome::NxDomain => return Some(Answered::NxDomain),
            Outcome::Data(data) => return Some(Answered::Data(data)),
            Outcome::Truncated if p.transport == Transport::Udp => {
                let name = p.name.clone();
                self.follow(p, name, Transport::Tcp, p.hops, now);
                return None;
            }
            Outcome::Truncated => RouteError::Truncated {
                name: p.display.clone(),
                record: p.kind,
            },
            Outcome::Failure(rcode) => RouteError::ServerFailure {
                name: p.display.clone(),
                record: p.kind,
                rcode,
            },
            Outcome::ChainTooLong => RouteError::CnameChainTooLong {
                name: self.domain.clone(),
                limit: self.options.max_cname_hops,
            },
            Outcome::Lame => RouteError::LameAnswer {
                name: p.display.clone(),
                record: p.kind,
            },
        };
        self.finish(Err(error));
        None
    }

    fn on_mx(&mut self, p: Pending, outcome: Outcome, now: Instant) {
        match self.answer_or_fail(&p, outcome, now) {
            None => {}
            Some(Answered::NxDomain) => self.finish(Err(RouteError::NoSuchDomain {
                domain: self.domain.clone(),
            })),
            Some(Answered::Data(data)) if data.mx.is_empty() && data.hops > 0 => {
                // The chain ends without data in this answer: ask the target itself.
                let hops = p.hops.saturating_add(data.hops);
                self.follow(&p, data.canonical, p.transport, hops, now);
            }
            Some(Answered::Data(data)) if data.mx.is_empty() => {
                // NODATA: the implicit MX, the (canonical) domain itself at preference 0.
                let display = p.display.clone();
                self.select_hosts(vec![(0, p.name, display)], true, &[], now);
            }
            Some(Answered::Data(data)) => self.on_mx_records(data, now),
        }
    }

    fn on_records(&mut self, p: Pending, outcome: Outcome, bytes: &[u8], now: Instant) {
        match self.answer_or_fail(&p, outcome, now) {
            None => {}
            Some(Answered::Data(data)) if data.is_empty() && data.hops > 0 => {
                let hops = p.hops.saturating_add(data.hops);
                self.follow(&p, data.canonical, p.transport, hops, now);
            }
            Some(Answered::NxDomain | Answered::Data(_)) => {
                self.response = Some(bytes.to_vec());
                self.stage = Stage::Done;
                self.pending.clear();
                self.outbox.clear();
            }
        }
    }

    fn on_mx_records(&mut self, data: Data, now: Instant) {
        let Data { mx, additional, .. } = data;
        let nulls = mx.iter().filter(|(_, exchange)| exchange.is_root()).count();
        if nulls > 0 {
            let domain = self.domain.clone();
            self.finish(Err(if nulls == mx.len() {
                RouteError::NullMx { domain }
            } else {
                RouteError::NullMxMixed { domain }
            }));
            return;
        }
        // One entry per exchanger, with its best preference (sort, then deduplicate, so
        // that a response with thousands of records stays O(n log n)).
        let mut hosts: Vec<(u16, Name, String)> = mx
            .into_iter()
            .map(|(preference, exchange)| {
                let display = name_string(&exchange);
                (preference, exchange, display)
            })
            .collect();
        hosts.sort_by(|x, y| x.2.cmp(&y.2).then(x.0.cmp(&y.0)));
        hosts.dedup_by(|next, kept| next.2 == kept.2);
        self.select_hosts(hosts, false, &additional, now);
    }

    /// Orders, shuffles and filters the exchangers, then starts the address lookups.
    fn select_hosts(
        &mut self,
        mut hosts: Vec<(u16, Name, String)>,
        implicit: bool,
        additional: &[(Name, IpAddr)],
        now: Instant,
    ) {
        hosts.sort_by_key(|h| h.0);
        shuffle_equal_runs(&mut hosts, |h| h.0, &mut self.rng);
        // RFC 5321 section 5.1: if we are an MX, only strictly better ones are eligible.
        let ours = hosts
            .iter()
            .filter(|h| self.options.is_local_host(&h.2))
            .map(|h| h.0)
            .min();
        if let Some(cutoff) = ours {
            hosts.retain(|h| h.0 < cutoff);
            if hosts.is_empty() {
                let domain = self.domain.clone();
                self.finish(Err(RouteError::Loop { domain }));
                return;
            }
        }
        hosts.truncate(self.options.max_hosts.max(1));

        let families = self.options.families;
        let mut slots = Vec::with_capacity(hosts.len());
        let mut to_send = Vec::new();
        for (index, (preference, name, display)) in hosts.into_iter().enumerate() {
            let mut slot_for = |kind: RecordKind, wanted: bool| {
                if !wanted {
                    return Slot::Unwanted;
                }
                let found: Vec<IpAddr> = additional
                    .iter()
                    .filter(|(owner, ip)| *owner == name && kind_of(ip) == kind)
                    .map(|(_, ip)| *ip)
                    .collect();
                if found.is_empty() {
                    to_send.push((index, kind));
                    Slot::Waiting
                } else {
                    Slot::Found(found)
                }
            };
            let v4 = slot_for(RecordKind::A, families.wants_v4());
            let v6 = slot_for(RecordKind::Aaaa, families.wants_v6());
            slots.push(HostSlot {
                name,
                display,
                preference,
                v4,
                v6,
            });
        }
        for (index, kind) in to_send {
            if let Some(h) = slots.get(index) {
                let (name, display) = (h.name.clone(), h.display.clone());
                let purpose = Purpose::Address(index);
                self.send(name, display, kind, Transport::Udp, purpose, 0, now);
            }
        }
        self.stage = Stage::Addresses {
            implicit,
            hosts: slots,
        };
        self.maybe_finish_addresses();
    }

    fn on_address(&mut self, p: Pending, host: usize, outcome: Outcome, now: Instant) {
        let slot = match outcome {
            Outcome::Truncated if p.transport == Transport::Udp => {
                let name = p.name.clone();
                self.follow(&p, name, Transport::Tcp, p.hops, now);
                return;
            }
            Outcome::Truncated | Outcome::Failure(_) | Outcome::ChainTooLong | Outcome::Lame => {
                Slot::Failed
            }
            Outcome::NxDomain => Slot::Absent,
            Outcome::Data(data) if data.addresses.is_empty() && data.hops > 0 => {
                let hops = p.hops.saturating_add(data.hops);
                self.follow(&p, data.canonical, p.transport, hops, now);
                return;
            }
            Outcome::Data(data) if data.addresses.is_empty() => Slot::Absent,
            Outcome::Data(data) => Slot::Found(data.addresses),
        };
        self.set_slot(host, p.kind, slot);
        self.maybe_finish_addresses();
    }

    fn set_slot(&mut self, host: usize, kind: RecordKind, slot: Slot) {
        if let Stage::Addresses { hosts, .. } = &mut self.stage
            && let Some(h) = hosts.get_mut(host)
        {
            match kind {
                RecordKind::Aaaa => h.v6 = slot,
                _ => h.v4 = slot,
            }
        }
    }

    fn maybe_finish_addresses(&mut self) {
        if !self.pending.is_empty() {
            return;
        }
        let Stage::Addresses { implicit, hosts } = std::mem::replace(&mut self.stage, Stage::Done)
        else {
            return;
        };
        let families = self.options.families;
        let cap = self.options.max_addresses_per_host.max(1);
        let mut routed = Vec::with_capacity(hosts.len());
        let mut unresolved = Vec::new();
        for h in hosts {
            let temporary = matches!(h.v4, Slot::Failed) || matches!(h.v6, Slot::Failed);
            let mut v4 = usable(h.v4);
            let mut v6 = usable(h.v6);
            self.rng.shuffle(&mut v4);
            self.rng.shuffle(&mut v6);
            let mut addresses = if families.v6_first() {
                v6.append(&mut v4);
                v6
            } else {
                v4.append(&mut v6);
                v4
            };
            addresses.truncate(cap);
            if addresses.is_empty() {
                unresolved.push(Unresolved {
                    name: h.display,
                    preference: h.preference,
                    temporary,
                });
            } else {
                routed.push(Host {
                    name: h.display,
                    preference: h.preference,
                    addresses,
                });
            }
        }
        let domain = self.domain.clone();
        let result = if !routed.is_empty() {
            Ok(Route::new(routed, implicit, unresolved))
        } else if unresolved.iter().any(|u| u.temporary) {
            Err(RouteError::AddressesUnavailable { domain })
        } else {
            Err(RouteError::NoAddresses { domain })
        };
        self.finish(result);
    }
}

fn kind_of(ip: &IpAddr) -> RecordKind {
    match ip {
        IpAddr::V4(_) => RecordKind::A,
        IpAddr::V6(_) => RecordKind::Aaaa,
    }
}

/// The distinct, specified addresses of a finished slot.
fn usable(slot: Slot) -> Vec<IpAddr> {
    let Slot::Found(found) = slot else {
        return Vec::new();
    };
    let mut out: Vec<IpAddr> = Vec::with_capacity(found.len());
    for ip in found {
        if !ip.is_unspecified() && !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}
