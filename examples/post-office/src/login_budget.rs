//! The login budget (SECURITY.md 42): password verification (argon2, slow and memory-hard
//! on purpose) is the most expensive thing a peer can make the post office do, so it is
//! rationed.
//!
//! - At most `[limits] login_concurrency` verifications run at once (default: the number of
//!   CPU cores), on as many dedicated threads, so the memory they use is bounded by that
//!   number times the argon2 memory parameter (see `crate::users`).
//! - Logins from one client (an IPv4 address, or an IPv6 /64) take turns: one at a time.
//!   A flood from one address therefore waits behind itself, and holds at most one place
//!   in the queue for a verification; a login from another address is not slowed.
//! - Failed logins are penalised per client, as Dovecot's auth penalty does: after `n`
//!   recent failures the next login from that client waits `login_penalty_ms × 2^(n-1)`,
//!   capped at `login_penalty_max_ms`, before it is checked. The wait holds the client's
//!   turn but no verification slot. A success clears the penalty; failures older than
//!   [`PENALTY_MEMORY`] are forgotten.
//! - A login that cannot get its turn or a slot within `login_queue_timeout_ms` ends with
//!   [`Verdict::Busy`]: a temporary failure (SMTP `454 4.7.0`, POP3 `-ERR [SYS/TEMP]`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore, oneshot};

use crate::config::Limits;
use crate::listen::lock;

/// Failures older than this are forgotten (Dovecot keeps its penalty for an hour).
pub const PENALTY_MEMORY: Duration = Duration::from_secs(3600);

/// Most clients tracked (penalties and turns each); beyond it the stalest entry goes.
const MAX_TRACKED: usize = 100_000;

/// A far deadline, used when configured durations overflow `Instant`.
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(86_400 * 365)))
        .unwrap_or(now)
}

/// The outcome of a login check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The password is right: the canonical user.
    Accepted(String),
    /// Wrong password or unknown login.
    Rejected,
    /// No turn or verification slot in time: try again later.
    Busy,
}

/// Whose failures are counted together: an IPv4 address, or the /64 of an IPv6 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// An IPv4 client (IPv4-mapped IPv6 addresses count as IPv4).
    V4([u8; 4]),
    /// The first 64 bits of an IPv6 client.
    V6([u8; 8]),
}

impl ClientKey {
    /// The key of `ip`.
    pub fn of(ip: IpAddr) -> ClientKey {
        match ip {
            IpAddr::V4(v4) => ClientKey::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::V4(v4.octets()),
                None => {
                    let o = v6.octets();
                    let mut prefix = [0u8; 8];
                    prefix.copy_from_slice(o.split_at(8).0);
                    ClientKey::V6(prefix)
                }
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Penalty {
    failures: u32,
    last: Instant,
}

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The budget, shared by every SMTP and POP3 session.
#[derive(Debug)]
pub struct LoginBudget {
    slots: Arc<Semaphore>,
    jobs: Mutex<mpsc::Sender<Job>>,
    turns: Mutex<HashMap<ClientKey, Arc<tokio::sync::Mutex<()>>>>,
    penalties: Mutex<HashMap<ClientKey, Penalty>>,
    queue_timeout: Duration,
    penalty: Duration,
    penalty_max: Duration,
}

/// A client's turn; the entry in the turn table goes when nobody waits for it any more.
struct Turn<'a> {
    budget: &'a LoginBudget,
    key: ClientKey,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut turns = lock(&self.budget.turns);
        self.guard = None;
        if turns
            .get(&self.key)
            .is_some_and(|m| Arc::strong_count(m) == 1)
        {
            turns.remove(&self.key);
        }
    }
}

impl LoginBudget {
    /// A budget from `[limits]`; starts the verification threads.
    pub fn new(limits: &Limits) -> LoginBudget {
        let workers = limits
            .login_concurrency
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..workers {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        let job = lock(&rx).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "cannot start a password verification thread");
            }
        }
        LoginBudget {
            slots: Arc::new(Semaphore::new(workers)),
            jobs: Mutex::new(tx),
            turns: Mutex::new(HashMap::new()),
            penalties: Mutex::new(HashMap::new()),
            queue_timeout: Duration::from_millis(limits.login_queue_timeout_ms),
            penalty: Duration::from_millis(limits.login_penalty_ms),
            penalty_max: Duration::from_millis(limits.login_penalty_max_ms),
        }
    }

    /// How long a login from `key` waits before it is checked, at `now`.
    pub fn penalty_for(&self, key: ClientKey, now: Instant) -> Duration {
        let penalties = lock(&self.penalties);
        match penalties.get(&key) {
            Some(p) if now.saturating_duration_since(p.last) < PENALTY_MEMORY => {
                penalty_delay(p.failures, self.penalty, self.penalty_max)
            }
            _ => Duration::ZERO,
        }
    }

    fn record(&self, key: ClientKey, success: bool, now: Instant) {
        let mut penalties = lock(&self.penalties);
        if success {
            penalties.remove(&key);
            return;
        }
        if !penalties.contains_key(&key) && penalties.len() >= MAX_TRACKED {
            penalties.retain(|_, p| now.saturating_duration_since(p.last) < PENALTY_MEMORY);
            if penalties.len() >= MAX_TRACKED
                && let Some(stalest) = penalties
                    .iter()
                    .min_by_key(|(_, p)| p.last)
                    .map(|(k, _)| *k)
            {
                penalties.remove(&stalest);
            }
        }
        let entry = penalties.entry(key).or_insert(Penalty {
            failures: 0,
            last: now,
        });
        if now.saturating_duration_since(entry.last) >= PENALTY_MEMORY {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last = now;
    }

    async fn turn(&self, key: ClientKey, deadline: Instant) -> Option<Turn<'_>> {
        let mutex = {
            let mut turns = lock(&self.turns);
            if !turns.contains_key(&key) && turns.len() >= MAX_TRACKED {
                // Only entries somebody holds are in the table; a full table is a flood
                // from very many clients: they wait for a verification slot instead.
                return None;
            }
            turns.entry(key).or_default().clone()
        };
        let mut turn = Turn {
            budget: self,
            key,
            guard: None,
        };
        let guard = tokio::time::timeout_at(deadline.into(), mutex.lock_owned()).await;
        // Dropping `turn` on timeout removes the table entry if we were the last.
        turn.guard = Some(guard.ok()?);
        Some(turn)
    }

    async fn slot(&self, deadline: Instant) -> Option<OwnedSemaphorePermit> {
        tokio::time::timeout_at(deadline.into(), self.slots.clone().acquire_owned())
            .await
            .ok()?
            .ok()
    }

    /// Runs `check` (a password verification) for a client at `ip` within the budget.
    /// `check` returns the canonical user for a good password.
    pub async fn check<F>(&self, ip: IpAddr, check: F) -> Verdict
    where
        F: FnOnce() -> Option<String> + Send + 'static,
    {
        let key = ClientKey::of(ip);
        let now = Instant::now();
        let Some(turn) = self.turn(key, later(now, self.queue_timeout)).await else {
            return Verdict::Busy;
        };
        let delay = self.penalty_for(key, Instant::now());
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let Some(permit) = self.slot(later(Instant::now(), self.queue_timeout)).await else {
            return Verdict::Busy;
        };
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let result = check();
            // The slot is free once the hash is done, even if the session went away.
            drop(permit);
            let _ = tx.send(result);
        });
        if lock(&self.jobs).send(job).is_err() {
            return Verdict::Busy;
        }
        let verdict = match rx.await {
            Ok(Some(user)) => Verdict::Accepted(user),
            Ok(None) => {
                crate::metrics::count(&crate::metrics::METRICS.failed_logins);
                Verdict::Rejected
            }
            Err(_) => return Verdict::Busy,
        };
        self.record(key, matches!(verdict, Verdict::Accepted(_)), Instant::now());
        drop(turn);
        verdict
    }
}

/// `base × 2^(failures-1)`, capped at `max`; nothing for no failure.
pub fn penalty_delay(failures: u32, base: Duration, max: Duration) -> Duration {
    if failures == 0 || base.is_zero() {
        return Duration::ZERO;
    }
    let factor = 1u32
        .checked_shl(failures.saturating_sub(1).min(31))
        .unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(max).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(concurrency: usize, queue_ms: u64) -> Limits {
        Limits {
            login_concurrency: Some(concurrency),
            login_queue_timeout_ms: queue_ms,
            login_penalty_ms: 2000,
            login_penalty_max_ms: 15000,
            ..Limits::default()
        }
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientKey::of(a), ClientKey::of(b));
        assert_ne!(ClientKey::of(a), ClientKey::of(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(ClientKey::of(mapped), ClientKey::of(v4));
    }

    #[test]
    fn the_penalty_doubles_up_to_the_cap() {
        let base = Duration::from_secs(2);
        let max = Duration::from_secs(15);
        let delays: Vec<u64> = (0..40)
            .map(|n| penalty_delay(n, base, max).as_secs())
            .collect();
        assert_eq!(&delays[..6], &[0, 2, 4, 8, 15, 15]);
        assert!(delays.iter().all(|&d| d <= 15));
        assert_eq!(penalty_delay(5, Duration::ZERO, max), Duration::ZERO);
        assert_eq!(
            penalty_delay(u32::MAX, Duration::MAX, Duration::MAX),
            Duration::MAX
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failures_are_penalised_per_client_only() {
        let budget = LoginBudget::new(&limits(1, 5000));
        let bad: IpAddr = "192.0.2.7".parse().unwrap();
        let good: IpAddr = "192.0.2.8".parse().unwrap();
        assert_eq!(budget.check(bad, || None).await, Verdict::Rejected);
        assert_eq!(budget.check(bad, || None).await, Verdict::Rejected);
        let now = Instant::now();
        assert!(budget.penalty_for(ClientKey::of(bad), now) >= Duration::from_millis(3900));
        assert_eq!(budget.penalty_for(ClientKey::of(good), now), Duration::ZERO);
        let t = Instant::now();
        let verdict = budget.check(good, || Some("alice".into())).await;
        assert_eq!(verdict, Verdict::Accepted("alice".into()));
        assert!(t.elapsed() < Duration::from_secs(1));
        // A success clears the client's penalty.
        budget.record(ClientKey::of(bad), true, Instant::now());
        assert_eq!(
            budget.penalty_for(ClientKey::of(bad), Instant::now()),
            Duration::ZERO
        );
        assert!(lock(&budget.turns).is_empty(), "turns are released");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_budget_answers_busy_at_the_deadline() {
        let budget = Arc::new(LoginBudget::new(&limits(1, 200)));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = oneshot::channel();
        let holder = {
            let budget = budget.clone();
            tokio::spawn(async move {
                budget
                    .check("192.0.2.1".parse().unwrap(), move || {
                        let _ = started_tx.send(());
                        let _ = hold.recv();
                        None
                    })
                    .await
            })
        };
        started.await.unwrap();
        // The only slot is taken: another client times out with Busy.
        let verdict = budget
            .check("192.0.2.2".parse().unwrap(), || Some("x".into()))
            .await;
        assert_eq!(verdict, Verdict::Busy);
        release.send(()).unwrap();
        assert_eq!(holder.await.unwrap(), Verdict::Rejected);
        let verdict = budget
            .check("192.0.2.2".parse().unwrap(), || Some("x".into()))
            .await;
        assert_eq!(verdict, Verdict::Accepted("x".into()));
    }
}
