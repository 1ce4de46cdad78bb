//! Early-talker detection on the MX port (SECURITY.md 51), the way Postfix's postscreen
//! runs its pregreet test: a client address not seen recently waits `[smtp]
//! pregreet_delay_ms` for the greeting, and a client that talks in that time is answered
//! 554 and closed (by the SMTP machine). An address that waited politely is remembered for
//! `[smtp] pregreet_pass_ttl_secs` (the pass cache) and greeted at once after that, so
//! known clients are never slowed. Submission listeners never pause.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::SmtpListener;
use crate::listen::lock;

/// Most addresses remembered; beyond it expired entries go, then the oldest.
const MAX_ENTRIES: usize = 100_000;

/// The pass cache.
#[derive(Debug)]
pub struct PassCache {
    delay: Duration,
    ttl: Duration,
    passed: Mutex<HashMap<IpAddr, Instant>>,
}

impl PassCache {
    /// A cache with the settings of `[smtp]`.
    pub fn new(smtp: &SmtpListener) -> PassCache {
        PassCache {
            delay: Duration::from_millis(smtp.pregreet_delay_ms),
            ttl: Duration::from_secs(smtp.pregreet_pass_ttl_secs),
            passed: Mutex::new(HashMap::new()),
        }
    }

    /// The greeting pause for a new MX connection from `ip`: zero when the test is off or
    /// the address passed it recently.
    pub fn pause_for(&self, ip: IpAddr, now: Instant) -> Duration {
        if self.delay.is_zero() {
            return Duration::ZERO;
        }
        let passed = lock(&self.passed);
        match passed.get(&ip) {
            Some(at) if now.saturating_duration_since(*at) < self.ttl => Duration::ZERO,
            _ => self.delay,
        }
    }

    /// `ip` waited for its greeting without talking.
    pub fn pass(&self, ip: IpAddr, now: Instant) {
        if self.delay.is_zero() {
            return;
        }
        let mut passed = lock(&self.passed);
        if !passed.contains_key(&ip) && passed.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            passed.retain(|_, at| now.saturating_duration_since(*at) < ttl);
            if passed.len() >= MAX_ENTRIES
                && let Some(oldest) = passed.iter().min_by_key(|(_, at)| **at).map(|(k, _)| *k)
            {
                passed.remove(&oldest);
            }
        }
        passed.insert(ip, now);
    }

    /// An early talker: it must pass the test again next time.
    pub fn fail(&self, ip: IpAddr) {
        lock(&self.passed).remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(delay_ms: u64, ttl_secs: u64) -> PassCache {
        PassCache::new(&SmtpListener {
            pregreet_delay_ms: delay_ms,
            pregreet_pass_ttl_secs: ttl_secs,
            ..SmtpListener::default()
        })
    }

    #[test]
    fn new_addresses_pause_and_passed_ones_do_not() {
        let c = cache(1000, 60);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let now = Instant::now();
        assert_eq!(c.pause_for(ip, now), Duration::from_secs(1));
        c.pass(ip, now);
        assert_eq!(c.pause_for(ip, now), Duration::ZERO);
        assert_eq!(c.pause_for(other, now), Duration::from_secs(1));
        // The pass expires.
        assert_eq!(
            c.pause_for(ip, now + Duration::from_secs(61)),
            Duration::from_secs(1)
        );
        c.fail(ip);
        assert_eq!(c.pause_for(ip, now), Duration::from_secs(1));
    }

    #[test]
    fn zero_turns_the_test_off() {
        let c = cache(0, 60);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(c.pause_for(ip, Instant::now()), Duration::ZERO);
        c.pass(ip, Instant::now());
        assert!(lock(&c.passed).is_empty());
    }
}
