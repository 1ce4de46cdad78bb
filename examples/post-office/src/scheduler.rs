//! The queue runner and its lanes.
//!
//! The runner keeps every queued message at its next attempt time and starts one attempt
//! per due message. An attempt holds no slot while it waits: its local recipients take a
//! slot of the local lane, its recipients at each remote domain take a slot of that
//! destination and one of the remote total, only for the time of the delivery itself.
//! So local delivery never waits behind remote attempts, and a stalled destination holds
//! at most `[outbound] destination_concurrency` slots (SECURITY.md 45).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use crate::config::Config;
use crate::delivery::{Deliverer, unix_now};
use crate::queue::Queued;

/// The delivery slots: a local lane, a remote total, and one limit per destination.
#[derive(Debug)]
pub struct Lanes {
    local: Arc<Semaphore>,
    remote: Arc<Semaphore>,
    per_destination: usize,
    destinations: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

/// A slot of the local lane.
#[derive(Debug)]
pub struct LocalSlot {
    _permit: OwnedSemaphorePermit,
}

/// A slot for one remote destination (and of the remote total).
#[derive(Debug)]
pub struct RemoteSlot {
    total: Option<OwnedSemaphorePermit>,
    destination: Option<OwnedSemaphorePermit>,
    domain: String,
    destinations: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Lanes {
    /// Lanes sized by the configuration.
    pub fn new(config: &Config) -> Lanes {
        Lanes {
            local: Arc::new(Semaphore::new(config.queue.local_concurrency)),
            remote: Arc::new(Semaphore::new(config.outbound.concurrency)),
            per_destination: config.outbound.destination_concurrency,
            destinations: Arc::default(),
        }
    }

    /// Waits for a local slot; `None` once the lanes are closed (shutdown).
    pub async fn local(&self) -> Option<LocalSlot> {
        let permit = self.local.clone().acquire_owned().await.ok()?;
        Some(LocalSlot { _permit: permit })
    }

    /// Waits for a slot of `domain` (first) and of the remote total (second); `None` once
    /// the lanes are closed. A destination whose slots are all taken makes only its own
    /// messages wait.
    pub async fn remote(&self, domain: &str) -> Option<RemoteSlot> {
        let semaphore = lock(&self.destinations)
            .entry(domain.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_destination)))
            .clone();
        let mut slot = RemoteSlot {
            total: None,
            destination: None,
            domain: domain.to_owned(),
            destinations: self.destinations.clone(),
        };
        slot.destination = Some(semaphore.acquire_owned().await.ok()?);
        slot.total = Some(self.remote.clone().acquire_owned().await.ok()?);
        Some(slot)
    }

    /// Closes every lane: waiting attempts give up (they are retried after the restart).
    pub fn close(&self) {
        self.local.close();
        self.remote.close();
        for semaphore in lock(&self.destinations).values() {
            semaphore.close();
        }
    }
}

impl Drop for RemoteSlot {
    fn drop(&mut self) {
        self.total.take();
        self.destination.take();
        // Forget a destination nobody uses or waits for, so the map stays small.
        let mut destinations = lock(&self.destinations);
        if destinations
            .get(&self.domain)
            .is_some_and(|s| Arc::strong_count(s) == 1)
        {
            destinations.remove(&self.domain);
        }
    }
}

/// Runs the queue until `shutdown` turns true: the messages the start-up scan sends on
/// `scanned`, then every id sent on `incoming`, each at its next attempt time. At shutdown
/// the lanes close, attempts waiting for a slot give up, and attempts in flight are
/// finished (they are bounded by the outbound deadlines).
pub async fn run(
    deliverer: Arc<Deliverer>,
    mut scanned: mpsc::Receiver<Queued>,
    mut incoming: mpsc::UnboundedReceiver<String>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut due: BTreeSet<(u64, String)> = BTreeSet::new();
    let mut busy: HashSet<String> = HashSet::new();
    let mut attempts: JoinSet<(String, Option<u64>)> = JoinSet::new();
    let mut scanning = true;
    loop {
        let now = unix_now();
        while let Some((when, _)) = due.first() {
            if *when > now {
                break;
            }
            let Some((_, id)) = due.pop_first() else {
                break;
            };
            if !busy.insert(id.clone()) {
                continue;
            }
            let deliverer = deliverer.clone();
            attempts.spawn(async move {
                let next = deliverer.attempt(&id).await;
                (id, next)
            });
        }
        let wait = due
            .first()
            .map(|(when, _)| Duration::from_secs(when.saturating_sub(now)))
            .unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            id = incoming.recv() => match id {
                Some(id) => { due.insert((0, id)); }
                None => break,
            },
            queued = scanned.recv(), if scanning => match queued {
                Some(q) => { due.insert((q.state.next_attempt, q.id)); }
                None => scanning = false,
            },
            Some(done) = attempts.join_next() => {
                if let Ok((id, next)) = done {
                    busy.remove(&id);
                    if let Some(next) = next {
                        due.insert((next, id));
                    }
                }
            }
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => break,
        }
    }
    deliverer.lanes.close();
    while attempts.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EMBEDDED_DEFAULT;

    fn lanes(extra: &str) -> Lanes {
        let text = format!("{EMBEDDED_DEFAULT}\n{extra}");
        let config = Config::parse(&text, "t", std::path::Path::new("/")).unwrap();
        Lanes::new(&config)
    }

    #[tokio::test]
    async fn a_full_destination_blocks_only_itself() {
        let lanes = lanes("[outbound]\ndestination_concurrency = 2\nconcurrency = 3\n");
        let a1 = lanes.remote("a.test").await.unwrap();
        let _a2 = lanes.remote("a.test").await.unwrap();
        let wait = Duration::from_millis(50);
        assert!(
            tokio::time::timeout(wait, lanes.remote("a.test"))
                .await
                .is_err(),
            "a third slot for a.test"
        );
        // Another destination and the local lane are free.
        let b = lanes.remote("b.test").await.unwrap();
        let _local = lanes.local().await.unwrap();
        // The total is reached now: b.test waits too, until a slot frees.
        assert!(
            tokio::time::timeout(wait, lanes.remote("b.test"))
                .await
                .is_err()
        );
        drop(a1);
        assert!(lanes.remote("b.test").await.is_some());
        drop(b);
        lanes.close();
        assert!(lanes.local().await.is_none());
        assert!(lanes.remote("c.test").await.is_none());
    }
}
