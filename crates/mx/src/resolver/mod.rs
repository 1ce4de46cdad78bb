//! An async driver for [`Lookup`] over UDP and TCP, with a TTL cache (feature `tokio`).
//!
//! [`Resolver`] asks the configured name servers (or those of `/etc/resolv.conf`), sends
//! each query of a lookup over UDP from an ephemeral port, re-asks over TCP when an answer
//! is truncated, retransmits on the lookup's own timeouts (rotating through the servers),
//! and caches
//!
//! * DNS answers by (name, type) for their TTL, negative answers for the SOA-derived
//!   time of RFC 2308 (and never without an SOA), so lookups of other domains sharing
//!   exchangers reuse them;
//! * finished routes by domain for the smallest TTL of the answers they came from, so a
//!   repeated lookup costs a hash-map hit, a clone and a reshuffle of equal preferences.
//!
//! Temporary failures are not cached. Both caches are bounded.

mod cache;
mod resolv_conf;
mod transport;

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

/// Answers larger than this are used but not kept in the answer cache, so that the
/// cache's memory stays below `answer_cache_size` × 8 KiB.
pub const MAX_CACHED_ANSWER: usize = 8 * 1024;

/// How a [`Resolver`] is set up.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ResolverConfig {
    /// Name servers (recursive resolvers), tried in turn on retransmission.
    pub servers: Vec<SocketAddr>,
    /// Lookup options (families, caps, our host names, timeouts, attempts).
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
    /// Seed of the generator for query ids and shuffles. Seed it from an entropy source
    /// in production; a fixed seed makes routes reproducible in tests.
    pub seed: u64,
}

impl ResolverConfig {
    /// A configuration asking `servers`, with default options and cache sizes.
    pub fn new(servers: Vec<SocketAddr>) -> Self {
        Self {
            servers,
            options: Options::default(),
            answer_cache_size: 4096,
            route_cache_size: 4096,
            max_ttl: 86_400,
            max_negative_ttl: 10_800,
            seed: 0x6d78_5f72_6f75_7465,
        }
    }
}

/// An async MX resolver: cheap to clone, safe to share between tasks.
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
    max_ttl: u32,
    max_negative_ttl: u32,
    rng: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a cache inconsistent in a way that
    // matters (entries are inserted whole), so a poisoned lock is simply taken over.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Resolver {
    /// A resolver with this configuration.
    pub fn new(config: ResolverConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                servers: config.servers,
                options: Arc::new(config.options),
                answers: Mutex::new(TtlCache::new(config.answer_cache_size)),
                routes: Mutex::new(TtlCache::new(config.route_cache_size)),
                max_ttl: config.max_ttl,
                max_negative_ttl: config.max_negative_ttl,
                rng: AtomicU64::new(config.seed),
            }),
        }
    }

    /// A resolver using the name servers and `timeout`/`attempts` options of
    /// `/etc/resolv.conf`.
    pub fn from_system_conf(options: Options) -> std::io::Result<Self> {
        Self::from_resolv_conf(Path::new("/etc/resolv.conf"), options)
    }

    /// A resolver using the name servers and options of a resolv.conf file (at most
    /// [`MAX_FILE`] octets of it are read). The seed is taken from the clock and the
    /// process id; use [`Resolver::new`] for a fixed one.
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
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        config.seed = mix(nanos ^ (u64::from(std::process::id()) << 32));
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
    pub async fn resolve_mx(&self, domain: &str) -> Result<Route, RouteError> {
        if let Some(hit) = self.cached_route(domain) {
            return hit;
        }
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

    /// Runs one lookup to completion; returns its result and until when it may be cached.
    async fn run(&self, domain: &str) -> (Result<Route, RouteError>, Option<Instant>) {
        let inner = &*self.inner;
        let mut lookup = Lookup::new(
            domain,
            inner.options.clone(),
            self.next_rng(),
            Instant::now(),
        );
        if !lookup.is_finished() && inner.servers.is_empty() {
            return (Err(RouteError::NoNameServers), None);
        }
        let mut io = transport::Exchange::new(&inner.servers, inner.options.timeout);
        let mut expires: Option<Instant> = None;
        let mut uncacheable = false;
        loop {
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
                io.send(query, key).await;
                for id in io.take_failed() {
                    lookup.handle_error(id, Instant::now());
                }
            }
            if lookup.is_finished() {
                break;
            }
            let deadline = lookup
                .poll_timeout()
                .unwrap_or_else(|| Instant::now() + inner.options.timeout);
            match io.next(deadline.into()).await {
                transport::Event::Response(bytes) => {
                    let now = Instant::now();
                    let key = transport::peek_id(&bytes).and_then(|id| io.key_of(id));
                    if let Handled::Accepted { cache_ttl } = lookup.handle_response(&bytes, now) {
                        let truncated = bytes.get(2).is_some_and(|b| b & 0x02 != 0);
                        match (cache_ttl, key) {
                            (Some(ttl), Some(key)) => {
                                let until =
                                    now + Duration::from_secs(u64::from(self.cap_ttl(ttl, &bytes)));
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
                transport::Event::Timeout => lookup.handle_timeout(Instant::now()),
            }
        }
        let result = lookup.result().unwrap_or(Err(RouteError::NoNameServers));
        (result, if uncacheable { None } else { expires })
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
