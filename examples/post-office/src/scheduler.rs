//! The queue runner and its lanes.
//!
//! The runner keeps every queued message at its next attempt time and starts one attempt
//! per due message. An attempt holds no slot while it waits: its local recipients take a
//! slot of the local lane, its recipients at each remote domain take a slot of that
//! destination (see [`crate::destinations`]) and one of the remote total, only for the
//! time of the delivery itself. So local delivery never waits behind remote attempts, and
//! a stalled destination holds at most `[outbound] destination_concurrency` slots
//! (SECURITY.md 45).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinSet;

use crate::clock::unix_now;
use crate::config::Config;
use crate::delivery::Deliverer;
use crate::queue::Queued;

/// The delivery slots: a local lane and a remote total (the slots of each destination are
/// in [`crate::destinations`]).
#[derive(Debug)]
pub struct Lanes {
    local: Arc<Semaphore>,
    remote: Arc<Semaphore>,
}

/// A slot of the local lane.
#[derive(Debug)]
pub struct LocalSlot {
    _permit: OwnedSemaphorePermit,
}

/// A slot of the remote total.
#[derive(Debug)]
pub struct RemoteSlot {
    _permit: OwnedSemaphorePermit,
}

impl Lanes {
    /// Lanes sized by the configuration.
    pub fn new(config: &Config) -> Lanes {
        Lanes {
            local: Arc::new(Semaphore::new(config.queue.local_concurrency)),
            remote: Arc::new(Semaphore::new(config.outbound.concurrency)),
        }
    }

    /// Waits for a local slot; `None` once the lanes are closed (shutdown).
    pub async fn local(&self) -> Option<LocalSlot> {
        let permit = self.local.clone().acquire_owned().await.ok()?;
        Some(LocalSlot { _permit: permit })
    }

    /// Waits for a slot of the remote total (taken after the destination's own slot, so
    /// a destination whose slots are all taken makes only its own messages wait); `None`
    /// once the lanes are closed.
    pub async fn remote(&self) -> Option<RemoteSlot> {
        let permit = self.remote.clone().acquire_owned().await.ok()?;
        Some(RemoteSlot { _permit: permit })
    }

    /// Closes every lane: waiting attempts give up (they are retried after the restart).
    pub fn close(&self) {
        self.local.close();
        self.remote.close();
    }
}

/// A job run on one message while no attempt on it runs (see [`Command::Exclusive`]).
/// It gets the current deliverer and returns when to attempt the message next, or `None`
/// when the message is gone (or is to be forgotten).
pub type Job = Box<dyn FnOnce(Arc<Deliverer>) -> BoxFuture + Send>;

/// The future of a [`Job`].
pub type BoxFuture = Pin<Box<dyn Future<Output = Option<u64>> + Send>>;

/// What the control socket asks of the runner (`post-office queue ...`).
pub enum Command {
    /// Attempt now: one message (`Some`) or every waiting one; the reply is how many
    /// were scheduled (0 for a message being attempted right now).
    Flush(Option<String>, oneshot::Sender<usize>),
    /// Run a job on one message once no attempt on it is in flight (delete, bounce).
    Exclusive(String, Job),
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Flush(id, _) => f.debug_tuple("Flush").field(id).finish(),
            Command::Exclusive(id, _) => f.debug_tuple("Exclusive").field(id).finish(),
        }
    }
}

/// The due messages: each id at most once.
#[derive(Debug, Default)]
struct Due {
    order: BTreeSet<(u64, String)>,
    at: HashMap<String, u64>,
}

impl Due {
    fn schedule(&mut self, id: String, when: u64) {
        if let Some(old) = self.at.insert(id.clone(), when) {
            self.order.remove(&(old, id.clone()));
        }
        self.order.insert((when, id));
    }

    fn forget(&mut self, id: &str) {
        if let Some(old) = self.at.remove(id) {
            self.order.remove(&(old, id.to_owned()));
        }
    }

    fn first(&self) -> Option<u64> {
        self.order.first().map(|(when, _)| *when)
    }

    fn pop_due(&mut self, now: u64) -> Option<String> {
        if self.first()? > now {
            return None;
        }
        let (_, id) = self.order.pop_first()?;
        self.at.remove(&id);
        Some(id)
    }
}

/// Runs the queue until `shutdown` turns true: the messages the start-up scan sends on
/// `scanned`, then every id sent on `incoming`, each at its next attempt time, and the
/// administrator's `commands`. Each attempt uses the deliverer current at its start (a
/// reload replaces it). At shutdown the lanes close, attempts waiting for a slot give up,
/// and attempts in flight are finished (they are bounded by the outbound deadlines).
pub async fn run(
    deliverers: watch::Receiver<Arc<Deliverer>>,
    mut scanned: mpsc::Receiver<Queued>,
    mut incoming: mpsc::UnboundedReceiver<String>,
    mut commands: mpsc::Receiver<Command>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut due = Due::default();
    let mut busy: HashSet<String> = HashSet::new();
    let mut waiting: HashMap<String, Vec<Job>> = HashMap::new();
    let mut attempts: JoinSet<(String, Option<u64>)> = JoinSet::new();
    let mut scanning = true;
    let mut commands_open = true;
    let current = |d: &watch::Receiver<Arc<Deliverer>>| d.borrow().clone();
    loop {
        let now = unix_now();
        while let Some(id) = due.pop_due(now) {
            if !busy.insert(id.clone()) {
                continue;
            }
            let deliverer = current(&deliverers);
            attempts.spawn(async move {
                let next = deliverer.attempt(&id).await;
                (id, next)
            });
        }
        let wait = due
            .first()
            .map(|when| Duration::from_secs(when.saturating_sub(now)))
            .unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            id = incoming.recv() => match id {
                Some(id) => due.schedule(id, 0),
                None => break,
            },
            queued = scanned.recv(), if scanning => match queued {
                Some(q) => due.schedule(q.id, q.state.next_attempt),
                None => scanning = false,
            },
            command = commands.recv(), if commands_open => match command {
                Some(Command::Flush(Some(id), reply)) => {
                    // Mail the administrator flushes is tried now, to down destinations too.
                    current(&deliverers).destinations.retry_now();
                    let scheduled = if busy.contains(&id) {
                        0
                    } else {
                        due.schedule(id, 0);
                        1
                    };
                    let _ = reply.send(scheduled);
                }
                Some(Command::Flush(None, reply)) => {
                    current(&deliverers).destinations.retry_now();
                    let ids: Vec<String> = due.at.keys().cloned().collect();
                    let count = ids.len();
                    for id in ids {
                        due.schedule(id, 0);
                    }
                    let _ = reply.send(count);
                }
                Some(Command::Exclusive(id, job)) => {
                    if busy.contains(&id) {
                        waiting.entry(id).or_default().push(job);
                    } else {
                        due.forget(&id);
                        busy.insert(id.clone());
                        let deliverer = current(&deliverers);
                        attempts.spawn(async move { (id, job(deliverer).await) });
                    }
                }
                None => commands_open = false,
            },
            Some(done) = attempts.join_next() => {
                if let Ok((id, next)) = done {
                    let job = waiting.get_mut(&id).and_then(|jobs| {
                        (!jobs.is_empty()).then(|| jobs.remove(0))
                    });
                    if waiting.get(&id).is_some_and(Vec::is_empty) {
                        waiting.remove(&id);
                    }
                    match job {
                        Some(job) => {
                            let deliverer = current(&deliverers);
                            attempts.spawn(async move { (id, job(deliverer).await) });
                        }
                        None => {
                            busy.remove(&id);
                            if let Some(next) = next {
                                due.schedule(id, next);
                            }
                        }
                    }
                }
            }
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => break,
        }
    }
    let deliverer = current(&deliverers);
    deliverer.lanes.close();
    deliverer.destinations.close();
    while attempts.join_next().await.is_some() {}
    // Parked outbound sessions say QUIT.
    deliverer.sessions.close(SESSIONS_GRACE).await;
}

/// How long parked outbound sessions get to say QUIT at shutdown.
const SESSIONS_GRACE: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EMBEDDED_DEFAULT;

    fn lanes(extra: &str) -> Lanes {
        let text = format!("{EMBEDDED_DEFAULT}\n{extra}");
        let config = Config::parse(&text, "t", std::path::Path::new("/")).unwrap();
        Lanes::new(&config)
    }

    #[test]
    fn a_message_is_due_once_at_its_latest_time() {
        let mut due = Due::default();
        due.schedule("a".into(), 100);
        due.schedule("b".into(), 50);
        // A flush moves "a" forward instead of adding a second entry.
        due.schedule("a".into(), 0);
        assert_eq!(due.order.len(), 2);
        assert_eq!(due.pop_due(10).as_deref(), Some("a"));
        assert_eq!(due.pop_due(10), None);
        due.forget("b");
        assert_eq!(due.pop_due(1000), None);
        assert!(due.at.is_empty());
    }

    #[tokio::test]
    async fn the_remote_total_is_shared_and_the_local_lane_apart() {
        let lanes = lanes("[outbound]\nconcurrency = 2\n[queue]\nlocal_concurrency = 1\n");
        let r1 = lanes.remote().await.unwrap();
        let _r2 = lanes.remote().await.unwrap();
        let wait = Duration::from_millis(50);
        assert!(
            tokio::time::timeout(wait, lanes.remote()).await.is_err(),
            "a third remote slot"
        );
        // The local lane is free.
        let _local = lanes.local().await.unwrap();
        drop(r1);
        assert!(lanes.remote().await.is_some());
        lanes.close();
        assert!(lanes.local().await.is_none());
        assert!(lanes.remote().await.is_none());
    }
}
