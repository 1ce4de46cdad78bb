//! An async driver for [`Lookup`] over UDP and TCP, with a TTL cache (feature `tokio`).
//!
//! [`Resolver`] asks the configured name servers (or those of `/etc/resolv.conf`), sends
//! each query of a lookup over UDP, re-asks over TCP when an answer is truncated, and
//! retransmits on the lookup's own timeouts.
//!
//! # Hardening (RFC 5452)
//!
//! * Every transmission gets a transaction id from the operating system's CSPRNG and a
//!   UDP socket of its own on a fresh ephemeral port, connected to the one server asked.
//!   [`ResolverConfig::seed`] only orders equal MX preferences; it never decides an id
//!   on the wire, and no default uses a fixed seed.
//! * A response counts only when it comes from the server's address and port, carries
//!   the id, and repeats the question (name without regard to case, type, class);
//!   anything else is dropped and reading goes on until the try's deadline.
//! * A timeout, SERVFAIL, REFUSED or any other error code, and a referral or lame answer
//!   (NOERROR, no answer, no SOA) move the query on to the next server at once; only
//!   when every server has failed, [`Options::attempts`] rounds over them, is the lookup
//!   a temporary failure. A referral is never read as NODATA (so never as "use the
//!   domain's own address"): it ends as [`RouteError::LameAnswer`].
//! * A lookup ends by [`ResolverConfig::lookup_deadline`] whatever the servers do
//!   ([`RouteError::DeadlineExceeded`]).
//! * Concurrent calls for the same domain ([`Resolver::resolve_mx`]) or the same question
//!   ([`Resolver::query`]) share one lookup: one set of queries on the wire for any
//!   number of callers (twenty sessions checking the SPF record of one sender domain ask
//!   once).
//!
//! # Caches
//!
//! The resolver caches
//!
//! * DNS answers by (name, type) for their TTL, negative answers for the SOA-derived
//!   time of RFC 2308 (and never without an SOA), so lookups of other domains sharing
//!   exchangers reuse them;
//! * finished routes by domain for the smallest TTL of the answers they came from, so a
//!   repeated lookup costs a hash-map hit, a clone and a reshuffle of equal preferences;
//! * the answers of [`Resolver::query`] (SPF, DKIM and DMARC records) the same way, so a
//!   repeated question builds no query and parses no response
//!   ([`Resolver::cached_query`] reads this cache without a task).
//!
//! Temporary failures are not cached. Every cache is bounded (`answer_cache_size` and
//! `route_cache_size` entries of at most 8 KiB each).

mod cache;
mod resolv_conf;
mod transport;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::RouteError;
use crate::lookup::{Handled, Lookup};
use crate::options::Options;
use crate::query::RecordKind;
use crate::rng::{GAMMA, Rng, mix};

use crate::route::Route;

use cache::TtlCache;
pub use resolv_conf::{MAX_FILE, MAX_SERVERS, ResolvConf, parse_resolv_conf};
use tokio::sync::watch;

/// Answers larger than this are used but not kept in the answer cache, so that the
/// cache's memory stays below `answer_cache_size` × 8 KiB.
pub const MAX_CACHED_ANSWER: usize = 8 * 1024;

/// How a [`Resolver`] is set up.
///
/// Build it with [`ResolverConfig::new`] and change the fields you need:
///
/// ```
/// use postwerk_mx::resolver::{Resolver, ResolverConfig};
/// use std::time::Duration;
/// let mut config = ResolverConfig::new(vec!["192.0.2.53:53".parse().unwrap()]);
/// config.lookup_deadline = Duration::from_secs(10);
/// config.options.attempts = 2;
/// let resolver = Resolver::new(config);
/// assert_eq!(resolver.servers().len(), 1);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ResolverConfig {
    /// Name servers (recursive resolvers). A query goes to the first; a timeout, an error
    /// code or a lame answer moves it on to the next, round after round.
    pub servers: Vec<SocketAddr>,
    /// Lookup options (families, caps, our host names, per-try timeout, rounds).
    /// [`Options::servers`] is set from `servers` by [`Resolver::new`].
    pub options: Options,
    /// At most this many DNS answers cached.
    pub answer_cache_size: usize,
    /// At most this many routes cached.
    pub route_cache_size: usize,
    /// Longest time any answer is cached, whatever its TTL (seconds).
    pub max_ttl: u32,
    /// Longest time a negative answer is cached (seconds; RFC 2308 section 5 suggests
    /// one to three hours).
    pub max_negative_ttl: u32,
    /// Seed of the generator that shuffles mail exchangers of equal preference (and
    /// numbers the lookups' queries internally). [`ResolverConfig::new`] draws it from the
    /// operating system; set a fixed one to make routes reproducible in tests. Ids sent on
    /// the wire never come from it: each transmission draws its own from the OS CSPRNG.
    pub seed: u64,
    /// The longest a lookup may take, all retransmissions and servers included; then it
    /// ends with the temporary [`RouteError::DeadlineExceeded`]. Default 30 s.
    pub lookup_deadline: Duration,
}

impl ResolverConfig {
    /// A configuration asking `servers`, with default options and cache sizes, a
    /// 30-second lookup deadline, and a shuffle seed from the operating system's CSPRNG.
    pub fn new(servers: Vec<SocketAddr>) -> Self {
        Self {
            servers,
            options: Options::default(),
            answer_cache_size: 4096,
            route_cache_size: 4096,
            max_ttl: 86_400,
            max_negative_ttl: 10_800,
            seed: Rng::default().next_u64(),
            lookup_deadline: Duration::from_secs(30),
        }
    }
}

/// An async MX resolver: cheap to clone, safe to share between tasks.
///
/// Clones share the caches and the lookups in flight. See the [module docs](self) for
/// how queries are sent and which answers count.
#[derive(Debug, Clone)]
pub struct Resolver {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    servers: Vec<SocketAddr>,
    options: Arc<Options>,
    answers: Mutex<TtlCache<(String, RecordKind), Vec<u8>>>,
    routes: Mutex<TtlCache<String, Result<Route, RouteError>>>,
    /// Results of [`Resolver::query`] by (lower-case name, type): a repeated question
    /// costs a map lookup, not a lookup machine, an encoded query and a parsed answer.
    results: Mutex<TtlCache<(String, RecordKind), Vec<u8>>>,
    max_ttl: u32,
    max_negative_ttl: u32,
    rng: AtomicU64,
    lookup_deadline: Duration,
    /// Route lookups in flight by route key; callers for the same domain wait on the
    /// first.
    in_flight: InFlight<String, Result<Route, RouteError>>,
    /// Questions in flight by (lower-case name, type), shared the same way.
    queries_in_flight: InFlight<(String, RecordKind), Result<Vec<u8>, RouteError>>,
}

/// Work in flight by key: the result of each, once known.
type InFlight<K, T> = Mutex<HashMap<K, watch::Receiver<Option<T>>>>;

/// Held by the caller that runs a shared piece of work: removes the entry when that
/// caller is done or dropped (then waiting callers see the channel close and try
/// themselves).
struct Leader<'a, K: std::hash::Hash + Eq, T> {
    map: &'a InFlight<K, T>,
    key: &'a K,
    tx: watch::Sender<Option<T>>,
}

impl<K: std::hash::Hash + Eq, T> Drop for Leader<'_, K, T> {
    fn drop(&mut self) {
        let mut map = lock(self.map);
        if map
            .get(self.key)
            .is_some_and(|rx| rx.same_channel(&self.tx.subscribe()))
        {
            map.remove(self.key);
        }
    }
}

/// Runs `work` once for all concurrent callers with the same `key`: the first caller runs
/// it, the others wait for its result (`true` with the result: this caller ran it). If
/// the running caller is cancelled, a waiting one takes over.
async fn shared<K, T, F>(map: &InFlight<K, T>, key: K, work: impl Fn() -> F) -> (T, bool)
where
    K: std::hash::Hash + Eq + Clone,
    T: Clone,
    F: std::future::Future<Output = T>,
{
    loop {
        let waiting = {
            let mut map = lock(map);
            match map.get(&key) {
                Some(rx) => Ok(rx.clone()),
                None => {
                    let (tx, rx) = watch::channel(None);
                    map.insert(key.clone(), rx);
                    Err(tx)
                }
            }
        };
        match waiting {
            Ok(mut rx) => match rx.wait_for(Option::is_some).await {
                Ok(value) => {
                    if let Some(result) = value.clone() {
                        return (result, false);
                    }
                }
                // The leader went away without a result: ask again.
                Err(_) => continue,
            },
            Err(tx) => {
                let leader = Leader { map, key: &key, tx };
                let result = work().await;
                leader.tx.send_replace(Some(result.clone()));
                drop(leader);
                return (result, true);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a cache inconsistent in a way that
    // matters (entries are inserted whole), so a poisoned lock is simply taken over.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Resolver {
    /// A resolver with this configuration.
    pub fn new(config: ResolverConfig) -> Self {
        let mut options = config.options;
        options.servers = u8::try_from(config.servers.len().max(1)).unwrap_or(u8::MAX);
        Self {
            inner: Arc::new(Inner {
                servers: config.servers,
                options: Arc::new(options),
                answers: Mutex::new(TtlCache::new(config.answer_cache_size)),
                routes: Mutex::new(TtlCache::new(config.route_cache_size)),
                results: Mutex::new(TtlCache::new(config.answer_cache_size)),
                max_ttl: config.max_ttl,
                max_negative_ttl: config.max_negative_ttl,
                rng: AtomicU64::new(config.seed),
                lookup_deadline: config.lookup_deadline,
                in_flight: Mutex::new(HashMap::new()),
                queries_in_flight: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// A resolver using the name servers and `timeout`/`attempts` options of
    /// `/etc/resolv.conf`.
    pub fn from_system_conf(options: Options) -> std::io::Result<Self> {
        Self::from_resolv_conf(Path::new("/etc/resolv.conf"), options)
    }

    /// A resolver using the name servers and options of a resolv.conf file (at most
    /// [`MAX_FILE`] octets of it are read). The shuffle seed comes from the operating
    /// system; use [`Resolver::new`] for a fixed one.
    pub fn from_resolv_conf(path: &Path, mut options: Options) -> std::io::Result<Self> {
        use std::io::Read;
        let mut text = String::new();
        std::fs::File::open(path)?
            .take(MAX_FILE)
            .read_to_string(&mut text)?;
        let conf = parse_resolv_conf(&text);
        if let Some(t) = conf.timeout {
            options.timeout = t;
        }
        if let Some(a) = conf.attempts {
            options.attempts = a;
        }
        let mut config = ResolverConfig::new(conf.servers);
        config.options = options;
        Ok(Self::new(config))
    }

    /// The name servers asked.
    pub fn servers(&self) -> &[SocketAddr] {
        &self.inner.servers
    }

    /// A fresh generator for one lookup or one cache hit.
    fn next_rng(&self) -> Rng {
        Rng::new(mix(self.inner.rng.fetch_add(GAMMA, Ordering::Relaxed)))
    }

    /// The route to `domain` if a live one is cached, equal preferences reshuffled.
    /// No I/O: this is the fast path of [`resolve_mx`](Resolver::resolve_mx).
    pub fn cached_route(&self, domain: &str) -> Option<Result<Route, RouteError>> {
        let now = Instant::now();
        let key = route_key(domain);
        let mut result = {
            let routes = lock(&self.inner.routes);
            routes.get(&*key, now)?.0.clone()
        };
        if let Ok(route) = &mut result
            && route.hosts.len() > 1
        {
            route.reshuffle(&mut self.next_rng());
        }
        Some(result)
    }

    /// Where mail for `domain` goes: from the cache, or by asking the name servers.
    ///
    /// Concurrent calls for the same domain (compared without regard to ASCII case)
    /// share one lookup; each caller gets its own shuffle of equal preferences. If the
    /// caller running the shared lookup is cancelled, a waiting caller takes over.
    pub async fn resolve_mx(&self, domain: &str) -> Result<Route, RouteError> {
        if let Some(hit) = self.cached_route(domain) {
            return hit;
        }
        let key = route_key(domain).into_owned();
        let (mut result, ran) = shared(&self.inner.in_flight, key, || async {
            // A shared lookup may have finished (and been cached) just before.
            match self.cached_route(domain) {
                Some(hit) => hit,
                None => self.resolve_uncached(domain).await,
            }
        })
        .await;
        if !ran
            && let Ok(route) = &mut result
            && route.hosts.len() > 1
        {
            route.reshuffle(&mut self.next_rng());
        }
        result
    }

    /// Runs a lookup and caches its result when it may be.
    async fn resolve_uncached(&self, domain: &str) -> Result<Route, RouteError> {
        let (result, expires) = self.run(domain).await;
        let cacheable = match &result {
            Ok(route) => !route.has_temporary_gaps() && !route.literal,
            Err(e) => e.is_permanent(),
        };
        if let (true, Some(expires)) = (cacheable, expires) {
            let now = Instant::now();
            let key = route_key(domain).into_owned();
            lock(&self.inner.routes).insert(key, result.clone(), expires, now);
        }
        result
    }

    /// Number of cached answers and routes (live or not yet evicted).
    pub fn cache_len(&self) -> (usize, usize) {
        (
            lock(&self.inner.answers).len(),
            lock(&self.inner.routes).len(),
        )
    }

    /// Asks the name servers one question: the `kind` records at `name` (TXT and PTR
    /// included, for SPF, DKIM and DMARC), through the same answer cache, transports and
    /// hardening as [`resolve_mx`](Resolver::resolve_mx). The result is the validated
    /// response (NOERROR with or without records, or NXDOMAIN) as DNS wire bytes;
    /// failures are [`RouteError`]s (see [`Lookup::records`]).
    pub async fn query(&self, name: &str, kind: RecordKind) -> Result<Vec<u8>, RouteError> {
        if let Some(hit) = self.cached_query(name, kind) {
            return Ok(hit);
        }
        let key = (name.to_ascii_lowercase(), kind);
        shared(&self.inner.queries_in_flight, key, || async {
            // A shared lookup may have finished (and been cached) just before.
            match self.cached_query(name, kind) {
                Some(hit) => Ok(hit),
                None => self.query_alone(name, kind).await,
            }
        })
        .await
        .0
    }

    /// What [`query`](Resolver::query) would answer now, if that is cached (no I/O and no
    /// task: a caller may check this before spawning one). Only answers are cached, for
    /// their TTL within the caps; failures never are.
    pub fn cached_query(&self, name: &str, kind: RecordKind) -> Option<Vec<u8>> {
        let results = lock(&self.inner.results);
        let (bytes, _) = results.get(&(route_key(name).into_owned(), kind), Instant::now())?;
        Some(bytes.clone())
    }

    /// One [`query`](Resolver::query), not shared; its answer is cached for as long as
    /// every response it was built from may be.
    async fn query_alone(&self, name: &str, kind: RecordKind) -> Result<Vec<u8>, RouteError> {
        let mut lookup = Lookup::records(
            name,
            kind,
            self.inner.options.clone(),
            self.next_rng(),
            Instant::now(),
        );
        let expires = self.drive(&mut lookup).await?;
        let result = lookup
            .take_response()
            .unwrap_or(Err(RouteError::NoNameServers));
        if let (Ok(bytes), Some(expires)) = (&result, expires)
            && bytes.len() <= MAX_CACHED_ANSWER
        {
            let key = (name.to_ascii_lowercase(), kind);
            lock(&self.inner.results).insert(key, bytes.clone(), expires, Instant::now());
        }
        result
    }

    /// Runs one lookup to completion; returns its result and until when it may be cached.
    async fn run(&self, domain: &str) -> (Result<Route, RouteError>, Option<Instant>) {
        let mut lookup = Lookup::new(
            domain,
            self.inner.options.clone(),
            self.next_rng(),
            Instant::now(),
        );
        match self.drive(&mut lookup).await {
            Ok(expires) => {
                let result = lookup.result().unwrap_or(Err(RouteError::NoNameServers));
                (result, expires)
            }
            Err(e) => (Err(e), None),
        }
    }

    /// Drives `lookup` until it is finished; returns until when its result may be cached
    /// (`None`: not at all), or the error that ended it early (no name servers, the
    /// lookup deadline).
    async fn drive(&self, lookup: &mut Lookup) -> Result<Option<Instant>, RouteError> {
        let inner = &*self.inner;
        if !lookup.is_finished() && inner.servers.is_empty() {
            return Err(RouteError::NoNameServers);
        }
        let mut io = transport::Exchange::new(&inner.servers, inner.options.timeout);
        let mut expires: Option<Instant> = None;
        let mut uncacheable = false;
        let limit = inner.lookup_deadline;
        let overall = Instant::now().checked_add(limit);
        let past_deadline = |lookup: &Lookup| {
            let domain = lookup.domain().to_owned();
            Err(RouteError::DeadlineExceeded { domain, limit })
        };
        loop {
            if overall.is_some_and(|d| Instant::now() >= d) {
                return past_deadline(lookup);
            }
            while let Some(query) = lookup.poll_query() {
                let now = Instant::now();
                let key = (query.name.clone(), query.record);
                let hit = lock(&inner.answers)
                    .get(&key, now)
                    .map(|(bytes, until)| (bytes.clone(), until));
                if let Some((mut bytes, until)) = hit {
                    if let Some(head) = bytes.get_mut(..2) {
                        head.copy_from_slice(&query.id.to_be_bytes());
                    }
                    if let Handled::Accepted { .. } = lookup.handle_response(&bytes, now) {
                        expires = Some(expires.map_or(until, |e| e.min(until)));
                        continue;
                    }
                }
                io.settle(query.id);
                let try_deadline = lookup
                    .deadline_of(query.id)
                    .unwrap_or_else(|| later(now, inner.options.timeout));
                io.send(query, key, try_deadline.into());
                for id in io.take_failed() {
                    lookup.handle_error(id, Instant::now());
                }
            }
            if lookup.is_finished() {
                break;
            }
            let mut deadline = lookup
                .poll_timeout()
                .unwrap_or_else(|| later(Instant::now(), inner.options.timeout));
            if let Some(overall) = overall {
                deadline = deadline.min(overall);
            }
            match io.next(deadline.into()).await {
                transport::Event::Response(bytes) => {
                    let now = Instant::now();
                    let id = crate::response::peek_id(&bytes);
                    let key = id.and_then(|id| io.key_of(id));
                    let handled = lookup.handle_response(&bytes, now);
                    if let (Some(id), Handled::Accepted { .. } | Handled::Retrying) = (id, handled)
                    {
                        io.settle(id);
                    }
                    if let Handled::Accepted { cache_ttl } = handled {
                        let truncated = bytes.get(2).is_some_and(|b| b & 0x02 != 0);
                        let ttl = cache_ttl.map(|t| self.cap_ttl(t, &bytes));
                        let until =
                            ttl.and_then(|t| now.checked_add(Duration::from_secs(t.into())));
                        match (until, key) {
                            (Some(until), Some(key)) => {
                                expires = Some(expires.map_or(until, |e| e.min(until)));
                                if bytes.len() <= MAX_CACHED_ANSWER {
                                    lock(&inner.answers).insert(key, bytes, until, now);
                                }
                            }
                            _ if truncated => {}
                            _ => uncacheable = true,
                        }
                    }
                }
                transport::Event::Failed(id) => lookup.handle_error(id, Instant::now()),
                transport::Event::Timeout => {
                    let now = Instant::now();
                    if overall.is_some_and(|d| now >= d) {
                        return past_deadline(lookup);
                    }
                    lookup.handle_timeout(now);
                }
            }
        }
        Ok(if uncacheable { None } else { expires })
    }

    /// Caps a TTL: negative answers (NXDOMAIN or no answer records) by the negative cap.
    fn cap_ttl(&self, ttl: u32, bytes: &[u8]) -> u32 {
        let rcode = bytes.get(3).map_or(0, |b| b & 0x0f);
        let ancount = match (bytes.get(6), bytes.get(7)) {
            (Some(hi), Some(lo)) => u16::from_be_bytes([*hi, *lo]),
            _ => 0,
        };
        let negative = rcode == 3 || ancount == 0;
        let cap = if negative {
            self.inner.max_negative_ttl
        } else {
            self.inner.max_ttl
        };
        ttl.min(cap)
    }
}

/// `now + wait`, or a minute from now when that overflows (`Duration::MAX` must not
/// panic).
fn later(now: Instant, wait: Duration) -> Instant {
    now.checked_add(wait)
        .or_else(|| now.checked_add(Duration::from_secs(60)))
        .unwrap_or(now)
}

/// The route cache key of `domain`: DNS names compare without regard to ASCII case
/// (RFC 4343), so `Example.COM` and `example.com` share one entry. Borrowed when the name
/// is already lower case, which is the common case on the hot path.
fn route_key(domain: &str) -> std::borrow::Cow<'_, str> {
    if domain.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(domain.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(domain)
    }
}

#[cfg(test)]
mod tests {
    use super::route_key;

    #[test]
    fn route_keys_ignore_ascii_case_and_borrow_lower_case_names() {
        assert_eq!(route_key("Example.COM"), "example.com");
        assert!(matches!(
            route_key("example.com"),
            std::borrow::Cow::Borrowed("example.com")
        ));
    }
}
