//! One delivery attempt at one queued message, from loading it to its end: finished
//! (delivered, bounced, moved aside) or deferred to its next attempt time.
//!
//! The parts of one attempt run side by side, so a stalled destination delays neither
//! local delivery nor the other destinations of the message: the local recipients (see
//! [`crate::local`]) and the recipients of each remote domain (see [`crate::remote`]),
//! each in a slot of its lane or destination.
//!
//! Progress is written to the queue as soon as it happens: after each local delivery and
//! right after each remote transaction's final reply, so a crash re-sends at most the
//! transaction in flight. A finished message gets one bounce (RFC 3464, see
//! [`crate::bounce`]) when recipients failed, then leaves the queue.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use postwerk_message::build::Action;
use postwerk_mx::resolver::Resolver;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::clock::unix_now;
use crate::config::Config;
use crate::destinations::Destinations;
use crate::maildir::MaildirStore;
use crate::outbound::Dialer;
use crate::queue::{Envelope, Failure, QueueStore, RcptState, State};
use crate::scheduler::Lanes;
use crate::sessions::SessionCache;
use crate::users::{Lookup, Users};

/// Everything a delivery attempt needs.
#[derive(Debug)]
pub struct Deliverer {
    /// The configuration.
    pub config: Arc<Config>,
    /// The queue.
    pub store: Arc<QueueStore>,
    /// Local mailboxes.
    pub maildirs: Arc<MaildirStore>,
    /// The user table.
    pub users: Arc<Users>,
    /// MX lookups.
    pub resolver: Resolver,
    /// Outbound SMTP sessions.
    pub dialer: Dialer,
    /// The delivery slots (shared by the deliverers of successive reloads).
    pub lanes: Arc<Lanes>,
    /// Per-destination concurrency, rate and backoff (shared likewise).
    pub destinations: Arc<Destinations>,
    /// Outbound sessions kept between messages (shared likewise).
    pub sessions: Arc<SessionCache>,
    /// Tells the runner about new queue entries (bounces).
    pub notify: mpsc::UnboundedSender<String>,
}

/// The outcome for one recipient in one attempt.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Delivered,
    Temporary(String),
    /// Status (`5.1.1`), the remote MTA if any, the diagnostic.
    Permanent(String, Option<String>, String),
}

impl Outcome {
    pub(crate) fn is_final(&self) -> bool {
        matches!(self, Outcome::Delivered | Outcome::Permanent(..))
    }
}

/// The state of one message during an attempt, shared by its parts.
#[derive(Debug)]
pub(crate) struct Progress {
    pub(crate) id: String,
    pub(crate) envelope: Envelope,
    pub(crate) state: Mutex<State>,
    /// The content failed its checksum: the message goes to `corrupt/`.
    pub(crate) corrupt: AtomicBool,
    /// A part gave up because the lanes closed (shutdown): the attempt does not count.
    pub(crate) cancelled: AtomicBool,
    /// Recipients delivered in this attempt that a success notice may be due for: the
    /// action (`delivered`, or `relayed` to a server without DSN) and the remote MTA.
    pub(crate) notices: Mutex<Vec<(usize, Action, Option<String>)>>,
    /// No use trying again before this (seconds since the epoch): a destination of the
    /// message is down until then.
    pub(crate) not_before: AtomicU64,
    /// The content, read once for all parts (at the start when the message is small).
    pub(crate) content: tokio::sync::OnceCell<Bytes>,
}

impl Deliverer {
    /// One attempt at a queued message; returns when to try again, or `None` when the
    /// message is finished (delivered, bounced, or moved aside).
    pub async fn attempt(self: &Arc<Self>, id: &str) -> Option<u64> {
        // Right after its commit a message is still in memory: no blocking-pool trip.
        let loaded = match self.store.load_cached(id) {
            Some(loaded) => Ok(loaded.map(Some)),
            None => {
                let store = self.store.clone();
                let owned = id.to_owned();
                tokio::task::spawn_blocking(move || store.load(&owned)).await
            }
        };
        let (envelope, mut state, content) = match loaded {
            // A held message is not attempted; `queue release` hands it back (issue 14).
            Ok(Ok(None)) => {
                info!(queue_id = id, "held, not attempted");
                return None;
            }
            Ok(Ok(Some(loaded))) => loaded,
            Ok(Err(e)) if e.kind() == io::ErrorKind::NotFound => return None,
            Ok(Err(e)) => {
                self.quarantine(id, &e);
                return None;
            }
            Err(_) => return Some(unix_now() + 60),
        };
        let now = unix_now();
        let expires_at = envelope
            .received_at
            .saturating_add(self.config.queue.expiry_secs);
        state.attempts += 1;
        // Every message gets its attempts up to expiry, the last one at expiry itself
        // (the retry before it is scheduled no later than that); only then do the
        // recipients still pending fail.
        let progress = Arc::new(Progress {
            id: id.to_owned(),
            envelope: envelope.clone(),
            state: Mutex::new(state),
            corrupt: AtomicBool::new(false),
            cancelled: AtomicBool::new(false),
            notices: Mutex::new(Vec::new()),
            not_before: AtomicU64::new(0),
            content: tokio::sync::OnceCell::new_with(content),
        });
        self.deliver_pending(&progress).await;
        if progress.corrupt.load(Ordering::Relaxed) {
            let e = io::Error::new(io::ErrorKind::InvalidData, "checksum mismatch");
            self.quarantine(id, &e);
            return None;
        }
        let mut state = progress.state.lock().await.clone();
        if progress.cancelled.load(Ordering::Relaxed) {
            // Shutting down: what was delivered is recorded; the rest is tried after
            // the restart, without counting this attempt.
            return Some(unix_now());
        }
        if unix_now() >= expires_at {
            for rcpt in &mut state.recipients {
                if let RcptState::Pending(last) = rcpt {
                    let why = last
                        .clone()
                        .unwrap_or_else(|| "no attempt succeeded".into());
                    *rcpt = RcptState::Failed(Failure::new(
                        "4.4.7",
                        None,
                        format!("delivery time expired; last error: {why}"),
                    ));
                }
            }
        }
        let notices = progress.notices.lock().await.clone();
        if let Err(e) = self.send_notices(id, &envelope, &mut state, notices).await {
            warn!(queue_id = id, error = %e, "could not queue a delivery notice; retrying later");
            return Some(unix_now() + 60);
        }
        if state.has_pending() {
            let retry = unix_now()
                .saturating_add(self.config.queue.retry_delay(state.attempts).as_secs())
                .max(progress.not_before.load(Ordering::Relaxed));
            let next = if unix_now() < expires_at {
                retry.min(expires_at)
            } else {
                retry
            };
            state.next_attempt = next;
            if self.save(id, &state).await.is_err() {
                warn!(
                    queue_id = id,
                    "could not record the delivery state; retrying later"
                );
            }
            info!(
                queue_id = id,
                next_attempt_in = next.saturating_sub(now),
                "deferred"
            );
            crate::metrics::count(&crate::metrics::METRICS.deferred);
            return Some(next);
        }
        let loaded = progress
            .content
            .get_or_try_init(|| self.load_content(id))
            .await;
        let content = match loaded {
            Ok(content) => content.clone(),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                self.quarantine(id, &e);
                return None;
            }
            Err(_) => return Some(unix_now() + 60),
        };
        if let Err(e) = crate::bounce::queue_bounce(self, id, &envelope, &content, &state).await {
            warn!(queue_id = id, error = %e, "could not queue the bounce; retrying later");
            return Some(unix_now() + 60);
        }
        if state
            .recipients
            .iter()
            .any(|r| matches!(r, RcptState::Failed(_)))
        {
            crate::metrics::count(&crate::metrics::METRICS.bounced);
        }
        if !matches!(self.store.remove_cached(id), Ok(true)) {
            let store = self.store.clone();
            let owned = id.to_owned();
            let _ = tokio::task::spawn_blocking(move || store.remove(&owned)).await;
        }
        info!(queue_id = id, "finished, removed from the queue");
        None
    }

    fn quarantine(&self, id: &str, e: &io::Error) {
        warn!(queue_id = id, error = %e, "corrupt queue file moved to queue/corrupt");
        let _ = self.store.quarantine(id);
    }

    /// Writes the state of `id` durably.
    async fn save(&self, id: &str, state: &State) -> io::Result<()> {
        let store = self.store.clone();
        let owned = id.to_owned();
        let state = state.clone();
        tokio::task::spawn_blocking(move || store.write_state(&owned, &state))
            .await
            .map_err(io::Error::other)?
    }

    /// The message content, its checksum verified.
    pub(crate) async fn load_content(&self, id: &str) -> io::Result<Bytes> {
        let store = self.store.clone();
        let owned = id.to_owned();
        let (_, content) = tokio::task::spawn_blocking(move || store.read(&owned))
            .await
            .map_err(io::Error::other)??;
        Ok(Bytes::from(content))
    }

    /// Records outcomes and writes the state at once when one of them is final and other
    /// recipients are still to be done (so a crash re-sends at most the transactions in
    /// flight). When nothing is left, the message is finished and removed right after: the
    /// state is not written (two fsyncs per message saved; a crash in between re-delivers
    /// the last transaction, which the Maildir's once-per-queue-id names absorb locally).
    /// Records the same outcome for every recipient in `indexes`.
    pub(crate) async fn record_all(
        &self,
        progress: &Progress,
        indexes: &[usize],
        outcome: Outcome,
    ) {
        let all: Vec<(usize, Outcome)> = indexes.iter().map(|&i| (i, outcome.clone())).collect();
        self.record(progress, &all).await;
    }

    pub(crate) async fn record(&self, progress: &Progress, outcomes: &[(usize, Outcome)]) {
        if outcomes.is_empty() {
            return;
        }
        let mut state = progress.state.lock().await;
        for (i, outcome) in outcomes {
            record(&mut state, *i, outcome.clone());
        }
        // A message with nothing left is removed right after: its history would go with it
        // (no file created only to be deleted).
        self.append_history(progress, state.attempts, outcomes, state.has_pending())
            .await;
        if outcomes.iter().any(|(_, o)| o.is_final())
            && state.has_pending()
            && let Err(e) = self.save(&progress.id, &state).await
        {
            warn!(queue_id = progress.id, error = %e, "could not record delivery progress");
        }
    }

    /// Adds one line per outcome to the message's history (`queue show`) when `keep` (the
    /// message stays queued), and counts the deliveries (issue 14).
    async fn append_history(
        &self,
        progress: &Progress,
        attempt: u32,
        outcomes: &[(usize, Outcome)],
        keep: bool,
    ) {
        let now = unix_now();
        let mut lines = String::new();
        for (i, outcome) in outcomes {
            let rcpt = progress
                .envelope
                .recipients
                .get(*i)
                .map(String::as_str)
                .unwrap_or("?");
            let (what, text) = match outcome {
                Outcome::Delivered => {
                    crate::metrics::count(&crate::metrics::METRICS.delivered);
                    ("delivered", String::new())
                }
                Outcome::Temporary(why) => ("deferred", why.clone()),
                Outcome::Permanent(status, remote, why) => (
                    "failed",
                    format!("{status} {} {why}", remote.as_deref().unwrap_or("-")),
                ),
            };
            lines.push_str(&format!("{now} attempt {attempt} {rcpt} {what} {text}\n"));
        }
        if !keep {
            return;
        }
        let store = self.store.clone();
        let id = progress.id.clone();
        let _ = tokio::task::spawn_blocking(move || store.append_history(&id, &lines)).await;
    }

    /// Loads the content for a part; `None` (and the message marked corrupt) when it fails
    /// its checksum, `None` also when it cannot be read now.
    pub(crate) async fn part_content(&self, progress: &Progress) -> Option<Bytes> {
        let loaded = progress
            .content
            .get_or_try_init(|| self.load_content(&progress.id))
            .await;
        match loaded {
            Ok(content) => Some(content.clone()),
            Err(e) => {
                if e.kind() == io::ErrorKind::InvalidData {
                    progress.corrupt.store(true, Ordering::Relaxed);
                }
                None
            }
        }
    }

    async fn deliver_pending(self: &Arc<Self>, progress: &Arc<Progress>) {
        let mut local = Vec::new();
        let mut unknown = Vec::new();
        let mut remote: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        {
            let state = progress.state.lock().await;
            for (i, rcpt) in progress.envelope.recipients.iter().enumerate() {
                if !matches!(state.recipients.get(i), Some(RcptState::Pending(_))) {
                    continue;
                }
                match self.users.lookup_address(rcpt) {
                    Lookup::Mailbox(user) => local.push((i, user)),
                    Lookup::Unknown | Lookup::Routing => unknown.push((
                        i,
                        Outcome::Permanent(
                            "5.1.1".into(),
                            None,
                            "550 5.1.1 no such mailbox here".into(),
                        ),
                    )),
                    Lookup::NotLocal => {
                        let domain = rcpt
                            .rsplit_once('@')
                            .map(|(_, d)| d.to_ascii_lowercase())
                            .unwrap_or_default();
                        remote.entry(domain).or_default().push(i);
                    }
                }
            }
        }
        self.record(progress, &unknown).await;
        let mut parts = JoinSet::new();
        if !local.is_empty() {
            let (me, progress) = (self.clone(), progress.clone());
            parts.spawn(async move { me.local_part(&progress, local).await });
        }
        for (domain, indexes) in remote {
            let (me, progress) = (self.clone(), progress.clone());
            parts.spawn(async move { me.remote_part(&progress, domain, indexes).await });
        }
        while parts.join_next().await.is_some() {}
    }
}

fn record(state: &mut State, i: usize, outcome: Outcome) {
    if let Some(slot) = state.recipients.get_mut(i) {
        *slot = match outcome {
            Outcome::Delivered => RcptState::Delivered,
            Outcome::Temporary(why) => RcptState::Pending(Some(why)),
            Outcome::Permanent(status, remote, diagnostic) => {
                RcptState::Failed(Failure::new(&status, remote.as_deref(), diagnostic))
            }
        };
    }
}
