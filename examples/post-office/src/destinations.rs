//! Per-destination delivery control, as Postfix's queue manager does it: each destination
//! (a recipient domain, or the smarthost) has a concurrency window, a rate delay and a
//! health record.
//!
//! * The window starts at `[outbound] initial_destination_concurrency`, grows by one with
//!   each delivery whose session got as far as an answer to MAIL, up to
//!   `destination_concurrency`, and is halved (at least 1) by each connection-level
//!   failure: refused, timed out, a greeting or EHLO that fails, a failed TLS handshake.
//!   Failures later in a session (a lost connection during the data) change nothing.
//! * `destination_rate_delay_ms` spaces the starts of deliveries to one destination.
//! * After `destination_failure_limit` consecutive connection-level failures the
//!   destination is down for a backoff period (`destination_backoff_secs`, doubled for each
//!   further failure in a row, at most [`MAX_BACKOFF`]): deliveries to it are deferred at
//!   once without a connection, so a dead destination gets no retry storm, whatever the
//!   queue holds for it. When the period ends, one delivery probes it (window 1).
//!
//! A delivery holds a [`Slot`] while it runs; the slot tells the destination how it went
//! ([`Slot::succeeded`], [`Slot::failed`]; dropped without either: no feedback).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::config::Outbound;
use crate::listen::lock;

/// Above this many destinations remembered, the idle ones are forgotten.
const SWEEP_AT: usize = 4096;

/// The longest a destination stays down at a time.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// The settings, from `[outbound]` (read at each acquisition: a reload applies at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The window of a destination not seen before.
    pub initial: usize,
    /// The largest window.
    pub limit: usize,
    /// The least time between two delivery starts to one destination.
    pub rate_delay: Duration,
    /// Consecutive connection-level failures before the destination is down.
    pub failure_limit: u32,
    /// The first backoff period.
    pub backoff: Duration,
}

impl Policy {
    /// The policy of `[outbound]`.
    pub fn of(outbound: &Outbound) -> Policy {
        Policy {
            initial: outbound.initial_destination_concurrency,
            limit: outbound.destination_concurrency,
            rate_delay: Duration::from_millis(outbound.destination_rate_delay_ms),
            failure_limit: outbound.destination_failure_limit,
            backoff: Duration::from_secs(outbound.destination_backoff_secs),
        }
    }
}

/// A concurrency window: how many deliveries to one destination may run at once. It grows
/// by one after as many deliveries that worked as it is wide (Postfix's positive feedback
/// of 1/concurrency: a burst of queued mail does not open the whole limit at once), and
/// halves after a connection-level failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    size: usize,
    /// Deliveries that worked since the window last grew.
    credit: usize,
}

impl Window {
    /// A new destination's window: `initial`, within 1 and `limit`.
    pub fn new(initial: usize, limit: usize) -> Window {
        Window::of(initial.min(limit).max(1))
    }

    fn of(size: usize) -> Window {
        Window { size, credit: 0 }
    }

    /// The number of deliveries allowed at once.
    pub fn get(self) -> usize {
        self.size
    }

    /// After a delivery that worked: one more once `size` deliveries worked, up to `limit`.
    pub fn grow(self, limit: usize) -> Window {
        let limit = limit.max(1);
        let credit = self.credit.saturating_add(1);
        if credit >= self.size {
            Window::of(self.size.saturating_add(1).min(limit))
        } else {
            Window {
                size: self.size.min(limit),
                credit,
            }
        }
    }

    /// After a connection-level failure: half, at least 1.
    pub fn shrink(self) -> Window {
        Window::of((self.size / 2).max(1))
    }
}

/// The backoff period after the destination went down for the `downs`-th time in a row:
/// `base`, doubled each time, at most [`MAX_BACKOFF`] (or `base` when that is longer).
pub fn backoff(base: Duration, downs: u32) -> Duration {
    let factor = 1u32
        .checked_shl(downs.saturating_sub(1))
        .unwrap_or(u32::MAX);
    base.checked_mul(factor)
        .unwrap_or(Duration::MAX)
        .min(MAX_BACKOFF.max(base))
}

/// What one destination has learned.
#[derive(Debug)]
struct Destination {
    window: Window,
    in_flight: usize,
    /// Connection-level failures in a row.
    failures: u32,
    /// Times in a row it went down (doubles the backoff).
    downs: u32,
    down_until: Option<Instant>,
    last_error: String,
    /// No delivery starts before this (the rate delay).
    next_start: Option<Instant>,
    /// Wakes the deliveries waiting for a slot; its clones count them.
    notify: Arc<Notify>,
}

impl Destination {
    fn new(policy: &Policy) -> Destination {
        Destination {
            window: Window::new(policy.initial, policy.limit),
            in_flight: 0,
            failures: 0,
            downs: 0,
            down_until: None,
            last_error: String::new(),
            next_start: None,
            notify: Arc::new(Notify::new()),
        }
    }

    /// Idle and healthy: nothing in flight or waiting, no failure to count on, no rate
    /// delay running. Forgetting it only resets its window (as Postfix forgets idle
    /// destinations).
    fn is_forgettable(&self, now: Instant) -> bool {
        self.is_idle(now) && self.failures == 0 && self.down_until.is_none()
    }

    /// Nothing in flight or waiting, and no backoff or rate delay running.
    fn is_idle(&self, now: Instant) -> bool {
        self.in_flight == 0
            && Arc::strong_count(&self.notify) == 1
            && self.down_until.is_none_or(|t| t <= now)
            && self.next_start.is_none_or(|t| t <= now)
    }
}

/// The answer to [`Destinations::acquire`].
#[derive(Debug)]
pub enum Acquired {
    /// Deliver now, holding the slot.
    Slot(Slot),
    /// The destination is down: defer without connecting. `until` is when it is tried
    /// again (seconds since the epoch); `why` says so for the queue and the logs.
    Down {
        /// When the backoff ends, in seconds since the epoch.
        until: u64,
        /// The reason, with the last connection error.
        why: String,
    },
    /// Shutting down.
    Closed,
}

/// The destinations, shared by every generation of the deliverer.
#[derive(Debug, Default)]
pub struct Destinations {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<String, Destination>,
    closed: bool,
    /// Waiters of every destination, woken at shutdown.
    closing: Arc<Notify>,
}

impl Destinations {
    /// Waits for a slot of `name` (its window and rate delay allowing); answers at once
    /// when the destination is down or the registry closed.
    pub async fn acquire(self: &Arc<Self>, name: &str, policy: &Policy) -> Acquired {
        loop {
            let (notify, closing, wake_at) = {
                let mut inner = lock(&self.inner);
                if inner.closed {
                    return Acquired::Closed;
                }
                let closing = inner.closing.clone();
                let now = Instant::now();
                let d = inner
                    .map
                    .entry(name.to_owned())
                    .or_insert_with(|| Destination::new(policy));
                if let Some(until) = d.down_until {
                    if now < until {
                        let left = until.saturating_duration_since(now);
                        return Acquired::Down {
                            until: crate::clock::unix_now()
                                .saturating_add(left.as_secs())
                                .saturating_add(1),
                            why: format!(
                                "{name}: destination backed off for {}s after {} connection failures in a row; last error: {}",
                                left.as_secs().max(1),
                                d.failures,
                                d.last_error
                            ),
                        };
                    }
                    // The backoff is over: one delivery probes it.
                    d.down_until = None;
                    d.window = Window::new(1, policy.limit);
                }
                let window = d.window.get().min(policy.limit.max(1));
                let rate_ok = d.next_start.is_none_or(|t| now >= t);
                if d.in_flight < window && rate_ok {
                    d.in_flight += 1;
                    d.next_start = if policy.rate_delay.is_zero() {
                        None
                    } else {
                        now.checked_add(policy.rate_delay)
                    };
                    return Acquired::Slot(Slot {
                        registry: self.clone(),
                        name: name.to_owned(),
                        policy: *policy,
                        feedback: None,
                    });
                }
                let wake_at = if d.in_flight < window {
                    d.next_start
                } else {
                    None
                };
                (d.notify.clone(), closing, wake_at)
            };
            // Created before the lock is taken again by anyone who would notify.
            let released = notify.clone().notified_owned();
            let closed = closing.notified_owned();
            // A release may have happened between dropping the lock and creating the
            // futures above; re-check soon in that case rather than miss it.
            if self.changed_since(name, &notify) {
                continue;
            }
            tokio::select! {
                () = released => {}
                () = closed => {}
                () = crate::clock::sleep_until(wake_at) => {}
            }
            drop(notify);
        }
    }

    /// True when `name` could take a delivery now (so a waiter must look again).
    fn changed_since(&self, name: &str, notify: &Arc<Notify>) -> bool {
        let inner = lock(&self.inner);
        if inner.closed {
            return true;
        }
        match inner.map.get(name) {
            Some(d) => {
                !Arc::ptr_eq(&d.notify, notify)
                    || d.in_flight < d.window.get()
                        && d.next_start.is_none_or(|t| Instant::now() >= t)
                    || d.down_until.is_some()
            }
            None => true,
        }
    }

    /// Ends one delivery with its feedback.
    fn release(&self, name: &str, policy: &Policy, feedback: Option<Result<(), String>>) {
        let mut inner = lock(&self.inner);
        let now = Instant::now();
        let Some(d) = inner.map.get_mut(name) else {
            return;
        };
        d.in_flight = d.in_flight.saturating_sub(1);
        match feedback {
            Some(Ok(())) => {
                d.failures = 0;
                d.downs = 0;
                d.window = d.window.grow(policy.limit);
            }
            Some(Err(why)) => {
                d.failures = d.failures.saturating_add(1);
                d.window = d.window.shrink();
                d.last_error = why;
                if d.failures >= policy.failure_limit.max(1) && d.down_until.is_none() {
                    d.downs = d.downs.saturating_add(1);
                    let period = backoff(policy.backoff, d.downs);
                    d.down_until = now
                        .checked_add(period)
                        .or_else(|| now.checked_add(MAX_BACKOFF));
                    warn!(
                        destination = name,
                        failures = d.failures,
                        backoff_secs = period.as_secs(),
                        last_error = d.last_error,
                        "destination down: deferring its mail without connecting until the backoff ends"
                    );
                }
            }
            None => {}
        }
        d.notify.notify_waiters();
        if d.is_forgettable(now) {
            inner.map.remove(name);
        }
        // Destinations that failed and were not tried since stay until the map is large;
        // then the idle ones go (their failure counts start again from zero).
        if inner.map.len() > SWEEP_AT {
            inner.map.retain(|_, d| !d.is_idle(now));
        }
    }

    /// `queue flush`: every destination that is down may be tried again at once (as
    /// Postfix's `postqueue -f` does with dead destinations). One that fails again goes
    /// down for longer: its backoff keeps doubling.
    pub fn retry_now(&self) {
        let mut inner = lock(&self.inner);
        for (name, d) in inner.map.iter_mut() {
            if d.down_until.take().is_some() {
                d.failures = 0;
                d.notify.notify_waiters();
                info!(destination = name, "backoff lifted by a queue flush");
            }
        }
    }

    /// Shutting down: every waiting and later acquisition answers [`Acquired::Closed`].
    pub fn close(&self) {
        let mut inner = lock(&self.inner);
        inner.closed = true;
        inner.closing.notify_waiters();
        for d in inner.map.values() {
            d.notify.notify_waiters();
        }
    }

    /// The current window of `name` (tests and logs).
    #[cfg(test)]
    fn window(&self, name: &str) -> Option<usize> {
        lock(&self.inner).map.get(name).map(|d| d.window.get())
    }
}

/// A delivery to one destination in progress.
#[derive(Debug)]
pub struct Slot {
    registry: Arc<Destinations>,
    name: String,
    policy: Policy,
    feedback: Option<Result<(), String>>,
}

impl Slot {
    /// A session got as far as an answer to MAIL: the destination works.
    pub fn succeeded(&mut self) {
        self.feedback = Some(Ok(()));
    }

    /// Every address failed at connection level (`why`: the last error), unless an
    /// earlier success was noted for this delivery.
    pub fn failed(&mut self, why: String) {
        if self.feedback.is_none() {
            info!(
                destination = self.name,
                error = why,
                "connection-level failure"
            );
            self.feedback = Some(Err(why));
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let feedback = self.feedback.take();
        self.registry.release(&self.name, &self.policy, feedback);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(initial: usize, limit: usize) -> Policy {
        Policy {
            initial,
            limit,
            rate_delay: Duration::ZERO,
            failure_limit: 3,
            backoff: Duration::from_secs(60),
        }
    }

    #[test]
    fn the_window_starts_low_grows_by_one_and_halves_on_failure() {
        let w = Window::new(5, 20);
        assert_eq!(w.get(), 5);
        // One more after five deliveries that worked, then after six, ...
        let mut w = w;
        for _ in 0..4 {
            w = w.grow(20);
        }
        assert_eq!(w.get(), 5);
        w = w.grow(20);
        assert_eq!(w.get(), 6);
        for _ in 0..6 {
            w = w.grow(20);
        }
        assert_eq!(w.get(), 7);
        for _ in 0..1000 {
            w = w.grow(20);
        }
        assert_eq!(w.get(), 20, "never above the limit");
        assert_eq!(w.shrink().get(), 10);
        assert_eq!(w.shrink().shrink().shrink().get(), 2);
        assert_eq!(Window::new(1, 20).shrink().get(), 1, "never below 1");
        assert_eq!(Window::new(3, 20).shrink().get(), 1);
        // An initial value above the limit, or 0, is brought within bounds.
        assert_eq!(Window::new(50, 20).get(), 20);
        assert_eq!(Window::new(0, 20).get(), 1);
        assert_eq!(Window::new(5, 20).grow(0).get(), 1);
        assert_eq!(
            Window::new(usize::MAX, usize::MAX).grow(usize::MAX).get(),
            usize::MAX
        );
    }

    #[test]
    fn the_backoff_doubles_up_to_an_hour() {
        let base = Duration::from_secs(60);
        assert_eq!(backoff(base, 1), base);
        assert_eq!(backoff(base, 2), Duration::from_secs(120));
        assert_eq!(backoff(base, 4), Duration::from_secs(480));
        assert_eq!(backoff(base, 7), MAX_BACKOFF);
        assert_eq!(backoff(base, u32::MAX), MAX_BACKOFF);
        // A configured base longer than the cap is kept.
        let long = Duration::from_secs(7200);
        assert_eq!(backoff(long, 3), long);
        assert_eq!(backoff(Duration::MAX, 2), Duration::MAX);
    }

    fn slot(a: Acquired) -> Slot {
        match a {
            Acquired::Slot(s) => s,
            other => panic!("no slot: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_full_window_makes_only_its_destination_wait_and_success_opens_it() {
        let d = Arc::new(Destinations::default());
        let p = policy(2, 3);
        let mut a1 = slot(d.acquire("a.test", &p).await);
        let _a2 = slot(d.acquire("a.test", &p).await);
        let third = tokio::spawn({
            let d = d.clone();
            async move { slot(d.acquire("a.test", &p).await) }
        });
        // Another destination is not held up.
        let _b = slot(d.acquire("b.test", &p).await);
        assert!(!third.is_finished());
        // A success frees a slot: the waiter gets in. The window of 2 grows to 3 after two
        // successes; then one more fits beside the three in flight.
        a1.succeeded();
        drop(a1);
        let mut a3 = third.await.unwrap();
        assert_eq!(d.window("a.test"), Some(2));
        a3.succeeded();
        drop(a3);
        assert_eq!(d.window("a.test"), Some(3));
        let _a4 = slot(d.acquire("a.test", &p).await);
        let _a5 = slot(d.acquire("a.test", &p).await);
        d.close();
        assert!(matches!(d.acquire("c.test", &p).await, Acquired::Closed));
    }

    #[tokio::test]
    async fn consecutive_connection_failures_put_the_destination_down() {
        let d = Arc::new(Destinations::default());
        let p = policy(5, 20);
        for expected in [2, 1] {
            let mut s = slot(d.acquire("dead.test", &p).await);
            s.failed("connection refused".into());
            drop(s);
            assert_eq!(d.window("dead.test"), Some(expected));
        }
        let mut s = slot(d.acquire("dead.test", &p).await);
        s.failed("connection refused".into());
        drop(s);
        match d.acquire("dead.test", &p).await {
            Acquired::Down { why, until } => {
                assert!(why.contains("connection refused"), "{why}");
                assert!(why.contains("3 connection failures"), "{why}");
                assert!(until >= crate::clock::unix_now() + 59, "{until}");
            }
            other => panic!("not down: {other:?}"),
        }
        // Others are unaffected.
        let _ok = slot(d.acquire("alive.test", &p).await);
        // A queue flush lifts the backoff: the next delivery connects.
        d.retry_now();
        let mut s = slot(d.acquire("dead.test", &p).await);
        // Failing again puts it down at once, for twice as long.
        for _ in 0..3 {
            s.failed("connection refused".into());
            drop(s);
            s = match d.acquire("dead.test", &p).await {
                Acquired::Slot(s) => s,
                Acquired::Down { until, .. } => {
                    assert!(until >= crate::clock::unix_now() + 119, "{until}");
                    return;
                }
                Acquired::Closed => panic!("closed"),
            };
        }
        panic!("not down again after three more failures");
    }

    #[tokio::test]
    async fn a_waiter_learns_at_once_that_its_destination_went_down() {
        let d = Arc::new(Destinations::default());
        let p = Policy {
            failure_limit: 1,
            ..policy(1, 1)
        };
        let mut first = slot(d.acquire("x.test", &p).await);
        let waiter = tokio::spawn({
            let d = d.clone();
            async move { d.acquire("x.test", &p).await }
        });
        tokio::task::yield_now().await;
        first.failed("timed out".into());
        drop(first);
        assert!(matches!(waiter.await.unwrap(), Acquired::Down { .. }));
    }

    #[tokio::test]
    async fn the_rate_delay_spaces_delivery_starts() {
        let d = Arc::new(Destinations::default());
        let p = Policy {
            rate_delay: Duration::from_millis(100),
            ..policy(5, 5)
        };
        let start = Instant::now();
        let a = slot(d.acquire("r.test", &p).await);
        let b = slot(d.acquire("r.test", &p).await);
        let c = slot(d.acquire("r.test", &p).await);
        assert!(start.elapsed() >= Duration::from_millis(200));
        // Another destination starts at once.
        let other = Instant::now();
        let _o = slot(d.acquire("s.test", &p).await);
        assert!(other.elapsed() < Duration::from_millis(100));
        drop((a, b, c));
    }
}
