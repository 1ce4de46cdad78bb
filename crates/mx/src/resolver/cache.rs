//! A bounded map whose entries expire.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::time::Instant;

/// Entries with an expiry instant; at most `capacity` of them.
#[derive(Debug)]
pub(crate) struct TtlCache<K, V> {
    map: HashMap<K, (V, Instant)>,
    capacity: usize,
}

impl<K: Hash + Eq + Clone, V> TtlCache<K, V> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            map: HashMap::new(),
            capacity,
        }
    }

    /// The live entry for `key` and its expiry.
    pub(crate) fn get<Q>(&self, key: &Q, now: Instant) -> Option<(&V, Instant)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self.map.get(key) {
            Some((value, expires)) if *expires > now => Some((value, *expires)),
            _ => None,
        }
    }

    /// Inserts or replaces; when full, drops expired entries, then the one expiring first.
    pub(crate) fn insert(&mut self, key: K, value: V, expires: Instant, now: Instant) {
        if self.capacity == 0 || expires <= now {
            return;
        }
        if self.map.len() >= self.capacity && !self.map.contains_key(&key) {
            self.map.retain(|_, (_, e)| *e > now);
            while self.map.len() >= self.capacity {
                let victim = self
                    .map
                    .iter()
                    .min_by_key(|(_, (_, e))| *e)
                    .map(|(k, _)| k.clone());
                match victim {
                    Some(k) => self.map.remove(&k),
                    None => break,
                };
            }
        }
        self.map.insert(key, (value, expires));
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn expiry_and_capacity() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut c = TtlCache::new(2);
        c.insert("a".to_string(), 1, t0 + 10 * s, t0);
        c.insert("b".to_string(), 2, t0 + 5 * s, t0);
        assert_eq!(c.get("a", t0).map(|v| *v.0), Some(1));
        assert_eq!(c.get("b", t0 + 6 * s), None);
        c.insert("c".to_string(), 3, t0 + 20 * s, t0);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("b", t0), None, "the entry expiring first was evicted");
        assert_eq!(c.get("c", t0).map(|v| *v.0), Some(3));
        c.insert("d".to_string(), 4, t0, t0);
        assert_eq!(
            c.get("d", t0),
            None,
            "already expired entries are not stored"
        );
    }
}
