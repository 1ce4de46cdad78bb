//! Delivery attempts: one per due message. Local recipients go to their Maildirs in the
//! local lane; the recipients of each remote domain are routed by MX and sent with the
//! SMTP client driver ([`crate::outbound`]) in a slot of that destination (see
//! [`crate::scheduler`]). The parts of one attempt run side by side, so a stalled
//! destination delays neither local delivery nor the other destinations of the message.
//!
//! Progress is written to the queue as soon as it happens: after each local delivery and
//! right after each remote transaction's final reply, so a crash re-sends at most the
//! transaction in flight. A finished message gets one bounce (RFC 3464, see
//! [`crate::bounce`]) when recipients failed, then leaves the queue.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use postwerk_message::build::return_path_field;
use postwerk_mx::RouteError;
use postwerk_mx::resolver::Resolver;
use postwerk_smtp::client::{Delivery, Recipient, Transaction, TransactionResult};
use postwerk_smtp::codec::path::{
    ForwardPath, PathOptions, ReversePath, parse_forward_path, parse_reverse_path,
};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::config::Config;
use crate::maildir::MaildirStore;
use crate::outbound::{Dialer, Refusal, SessionError};
use crate::queue::{Envelope, QueueStore, RcptState, State};
use crate::scheduler::Lanes;
use crate::users::{Lookup, Users};
use postwerk_message::build::Action;

/// At most this many MX addresses are tried for one domain in one attempt.
const MAX_ADDRESSES: usize = 10;

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
    /// Tells the runner about new queue entries (bounces).
    pub notify: mpsc::UnboundedSender<String>,
}

/// Seconds since the epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
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
    fn is_final(&self) -> bool {
        matches!(self, Outcome::Delivered | Outcome::Permanent(..))
    }
}

/// The state of one message during an attempt, shared by its parts.
#[derive(Debug)]
struct Progress {
    id: String,
    envelope: Envelope,
    state: Mutex<State>,
    /// The content failed its checksum: the message goes to `corrupt/`.
    corrupt: AtomicBool,
    /// A part gave up because the lanes closed (shutdown): the attempt does not count.
    cancelled: AtomicBool,
    /// Recipients delivered in this attempt that a success notice may be due for: the
    /// action (`delivered`, or `relayed` to a server without DSN) and the remote MTA.
    notices: Mutex<Vec<(usize, Action, Option<String>)>>,
}

impl Deliverer {
    /// One attempt at a queued message; returns when to try again, or `None` when the
    /// message is finished (delivered, bounced, or moved aside).
    pub async fn attempt(self: &Arc<Self>, id: &str) -> Option<u64> {
        let store = self.store.clone();
        let owned = id.to_owned();
        // A held message is not attempted; `queue release` hands it back (issue 14).
        if tokio::task::spawn_blocking(move || store.is_held(&owned))
            .await
            .unwrap_or(false)
        {
            info!(queue_id = id, "held, not attempted");
            return None;
        }
        let store = self.store.clone();
        let owned = id.to_owned();
        let loaded = tokio::task::spawn_blocking(move || {
            let envelope = store.read_envelope(&owned)?;
            let state = store.read_state(&owned, envelope.recipients.len())?;
            Ok::<_, io::Error>((envelope, state))
        })
        .await;
        let (envelope, mut state) = match loaded {
            Ok(Ok(loaded)) => loaded,
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
                    *rcpt = RcptState::Failed(format!(
                        "4.4.7 - delivery time expired; last error: {why}"
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
            let retry = unix_now() + self.config.queue.retry_delay(state.attempts).as_secs();
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
        let content = match self.load_content(id).await {
            Ok(content) => content,
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
        let store = self.store.clone();
        let owned = id.to_owned();
        let _ = tokio::task::spawn_blocking(move || store.remove(&owned)).await;
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
    async fn record(&self, progress: &Progress, outcomes: &[(usize, Outcome)]) {
        if outcomes.is_empty() {
            return;
        }
        let mut state = progress.state.lock().await;
        for (i, outcome) in outcomes {
            record(&mut state, *i, outcome.clone());
        }
        self.append_history(progress, state.attempts, outcomes)
            .await;
        if outcomes.iter().any(|(_, o)| o.is_final())
            && state.has_pending()
            && let Err(e) = self.save(&progress.id, &state).await
        {
            warn!(queue_id = progress.id, error = %e, "could not record delivery progress");
        }
    }

    /// Adds one line per outcome to the message's history (`queue show`), and counts the
    /// deliveries (issue 14).
    async fn append_history(
        &self,
        progress: &Progress,
        attempt: u32,
        outcomes: &[(usize, Outcome)],
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
        let store = self.store.clone();
        let id = progress.id.clone();
        let _ = tokio::task::spawn_blocking(move || store.append_history(&id, &lines)).await;
    }

    /// Loads the content for a part; `None` (and the message marked corrupt) when it fails
    /// its checksum, `None` also when it cannot be read now.
    async fn part_content(&self, progress: &Progress) -> Option<Bytes> {
        match self.load_content(&progress.id).await {
            Ok(content) => Some(content),
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

    /// The local recipients, in a slot of the local lane.
    async fn local_part(&self, progress: &Progress, recipients: Vec<(usize, String)>) {
        let Some(_slot) = self.lanes.local().await else {
            progress.cancelled.store(true, Ordering::Relaxed);
            return;
        };
        let Some(content) = self.part_content(progress).await else {
            return;
        };
        if let Some(target) = self.config.delivery.lmtp_target() {
            self.deliver_lmtp(progress, &target, recipients, content)
                .await;
            return;
        }
        for (i, user) in recipients {
            let outcome = self.deliver_local(progress, i, &content, &user).await;
            self.record(progress, &[(i, outcome)]).await;
        }
    }

    /// The local recipients by LMTP: one transaction, each recipient addressed as its
    /// user (aliases and `+tags` resolved), one reply per recipient kept as the agent
    /// gave it. The agent writes `Return-Path:` itself.
    async fn deliver_lmtp(
        &self,
        progress: &Progress,
        target: &crate::config::LmtpTarget,
        recipients: Vec<(usize, String)>,
        content: Bytes,
    ) {
        let indexes: Vec<usize> = recipients.iter().map(|(i, _)| *i).collect();
        let mut envelope = progress.envelope.clone();
        for (i, user) in &recipients {
            if let Some(slot) = envelope.recipients.get_mut(*i) {
                slot.clone_from(user);
            }
        }
        let outcomes = match transaction(&envelope, &indexes, content) {
            Err(e) => indexes
                .iter()
                .map(|&i| (i, Outcome::Temporary(format!("LMTP: {e}"))))
                .collect(),
            Ok(tx) => match self.dialer.deliver_lmtp(target, tx).await {
                Ok(sent) => {
                    let result = sent.result;
                    let peer = match target {
                        crate::config::LmtpTarget::Unix(path) => format!("unix:{}", path.display()),
                        crate::config::LmtpTarget::Tcp(hostport) => hostport.clone(),
                    };
                    let outcomes: Vec<(usize, Outcome)> =
                        outcomes_of(progress, "lmtp", &peer, &indexes, &result)
                            .into_iter()
                            .map(|(i, o)| match o {
                                // The agent is our own last hop, not a remote MTA.
                                Outcome::Permanent(status, _, text) => {
                                    (i, Outcome::Permanent(status, None, text))
                                }
                                other => (i, other),
                            })
                            .collect();
                    let mut notices = progress.notices.lock().await;
                    for (i, o) in &outcomes {
                        if matches!(o, Outcome::Delivered) {
                            notices.push((*i, Action::Delivered, None));
                        }
                    }
                    drop(notices);
                    outcomes
                }
                Err(e) => {
                    warn!(queue_id = progress.id, error = %e, "LMTP delivery failed");
                    indexes
                        .iter()
                        .map(|&i| (i, Outcome::Temporary(format!("LMTP: {e}"))))
                        .collect::<Vec<_>>()
                }
            },
        };
        self.record(progress, &outcomes).await;
    }

    async fn deliver_local(
        &self,
        progress: &Progress,
        index: usize,
        content: &Bytes,
        user: &str,
    ) -> Outcome {
        let (id, envelope) = (&progress.id, &progress.envelope);
        let rcpt = envelope
            .recipients
            .get(index)
            .map(String::as_str)
            .unwrap_or_default();
        let maildirs = self.maildirs.clone();
        let return_path = return_path_field(&envelope.from);
        let content = content.clone();
        let owned = user.to_owned();
        // One name per queue entry and recipient: a retry after a crash finds the copy it
        // already delivered instead of writing a second one.
        let key = format!("{}.Q{id}R{index}", envelope.received_at);
        let result = tokio::task::spawn_blocking(move || {
            maildirs.deliver_once(&owned, &key, &[return_path.as_bytes(), &content])
        })
        .await;
        match result {
            Ok(Ok(name)) => {
                info!(
                    queue_id = id,
                    to = rcpt,
                    mailbox = user,
                    file = name,
                    "delivered to maildir"
                );
                progress
                    .notices
                    .lock()
                    .await
                    .push((index, Action::Delivered, None));
                Outcome::Delivered
            }
            Ok(Err(e)) => {
                warn!(queue_id = id, to = rcpt, error = %e, "maildir delivery failed");
                Outcome::Temporary(format!("local delivery failed: {e}"))
            }
            Err(e) => Outcome::Temporary(format!("local delivery failed: {e}")),
        }
    }

    /// The recipients at one remote domain, in a slot of that destination: through the
    /// smarthost when one is configured, else to the domain's MX hosts.
    async fn remote_part(&self, progress: &Progress, domain: String, indexes: Vec<usize>) {
        let id = progress.id.as_str();
        let Some(_slot) = self.lanes.remote(&domain).await else {
            progress.cancelled.store(true, Ordering::Relaxed);
            return;
        };
        let relay = self.config.outbound.relay.clone();
        let targets: Result<Vec<(String, SocketAddr)>, String> = match &relay {
            // A smarthost: its addresses from the system resolver.
            Some(relay) => {
                let host = relay.rsplit_once(':').map_or(relay.as_str(), |(h, _)| h);
                let host = host.trim_start_matches('[').trim_end_matches(']');
                match tokio::net::lookup_host(relay.as_str()).await {
                    Ok(found) => Ok(found
                        .take(MAX_ADDRESSES)
                        .map(|addr| (host.to_owned(), addr))
                        .collect()),
                    Err(e) => {
                        info!(queue_id = id, relay, error = %e, "smarthost not resolved");
                        Err(format!("smarthost {relay}: {e}"))
                    }
                }
            }
            None => match self.resolver.resolve_mx(&domain).await {
                Ok(route) => Ok(route
                    .addresses()
                    .take(MAX_ADDRESSES)
                    .map(|(host, ip)| {
                        (
                            host.name.clone(),
                            SocketAddr::new(ip, self.config.outbound.port),
                        )
                    })
                    .collect()),
                Err(e) => {
                    info!(queue_id = id, domain, error = %e, "no route");
                    crate::metrics::count(&crate::metrics::METRICS.dns_failures);
                    let outcome = route_failure(&e);
                    let all: Vec<(usize, Outcome)> =
                        indexes.iter().map(|&i| (i, outcome.clone())).collect();
                    self.record(progress, &all).await;
                    return;
                }
            },
        };
        let targets = match targets {
            Ok(targets) => targets,
            Err(why) => {
                crate::metrics::count(&crate::metrics::METRICS.dns_failures);
                let all: Vec<(usize, Outcome)> = indexes
                    .iter()
                    .map(|&i| (i, Outcome::Temporary(why.clone())))
                    .collect();
                self.record(progress, &all).await;
                return;
            }
        };
        let Some(content) = self.part_content(progress).await else {
            return;
        };
        let via_relay = relay.is_some();
        let mut outcomes: BTreeMap<usize, Outcome> = BTreeMap::new();
        let mut last_error = match &relay {
            Some(relay) => format!("smarthost {relay} could not be reached"),
            None => String::from("no mail exchanger could be reached"),
        };
        let (mut tried, mut ours) = (0usize, 0usize);
        for (host, addr) in targets {
            let waiting: Vec<usize> = indexes
                .iter()
                .copied()
                .filter(|i| !outcomes.get(i).is_some_and(Outcome::is_final))
                .collect();
            if waiting.is_empty() {
                break;
            }
            if let Err(why) = self.dialer.check(addr.ip()) {
                info!(queue_id = id, mx = host, %addr, reason = %why, "address not dialled");
                if why == Refusal::Ours {
                    ours += 1;
                }
                last_error = format!("{host}[{}]: not dialled: {why}", addr.ip());
                continue;
            }
            tried += 1;
            let tx = match transaction(&progress.envelope, &waiting, content.clone()) {
                Ok(tx) => tx,
                Err(e) => {
                    last_error = e.to_string();
                    break;
                }
            };
            let sent = if via_relay {
                self.dialer.deliver_relay(addr, &host, tx).await
            } else {
                self.dialer.deliver(addr, &host, tx).await
            };
            match sent {
                Ok(sent) => {
                    let peer = addr.to_string();
                    let now = outcomes_of(progress, &host, &peer, &waiting, &sent.result);
                    if !sent.peer_dsn {
                        relayed(progress, &host, &now).await;
                    }
                    let final_now: Vec<(usize, Outcome)> =
                        now.iter().filter(|(_, o)| o.is_final()).cloned().collect();
                    // Right after the final reply: a crash from here on re-sends nothing
                    // that this server accepted.
                    self.record(progress, &final_now).await;
                    outcomes.extend(now);
                }
                Err(e) => {
                    let what = if via_relay {
                        "smarthost attempt failed"
                    } else {
                        "delivery attempt failed"
                    };
                    info!(queue_id = id, mx = host, %addr, error = %e, "{what}");
                    if let SessionError::Refused(Refusal::Ours) = e {
                        ours += 1;
                    }
                    last_error = format!("{host}[{}]: {e}", addr.ip());
                }
            }
        }
        let rest: Vec<(usize, Outcome)> = indexes
            .iter()
            .filter(|i| !outcomes.get(i).is_some_and(Outcome::is_final))
            .map(|&i| {
                let outcome = match outcomes.get(&i) {
                    Some(o) => o.clone(),
                    None if tried == 0 && ours > 0 => Outcome::Permanent(
                        "5.4.6".into(),
                        None,
                        format!("550 5.4.6 mail for {domain} loops back to myself"),
                    ),
                    None => Outcome::Temporary(last_error.clone()),
                };
                (i, outcome)
            })
            .collect();
        self.record(progress, &rest).await;
    }
}

/// Notes `relayed` notices for the recipients a server without DSN accepted: from here
/// on nobody reports on them (RFC 3461 6.2.2.2).
async fn relayed(progress: &Progress, host: &str, outcomes: &[(usize, Outcome)]) {
    let mut notices = progress.notices.lock().await;
    for (i, o) in outcomes {
        if matches!(o, Outcome::Delivered) {
            notices.push((*i, Action::Relayed, Some(host.to_owned())));
        }
    }
}

/// The outcome of each recipient of a transaction.
fn outcomes_of(
    progress: &Progress,
    host: &str,
    peer: &str,
    waiting: &[usize],
    result: &TransactionResult,
) -> Vec<(usize, Outcome)> {
    let mut out = Vec::new();
    for (&i, r) in waiting.iter().zip(result.recipients()) {
        let reply = r
            .deciding_reply()
            .map(|r| r.to_string().trim_end().replace("\r\n", " "));
        let text = reply
            .or_else(|| r.error().map(|e| e.to_string()))
            .unwrap_or_default();
        let outcome = match r.delivery() {
            Delivery::Accepted => Outcome::Delivered,
            Delivery::PermanentFailure => {
                let status = r
                    .deciding_reply()
                    .and_then(|r| r.enhanced())
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "5.0.0".into());
                Outcome::Permanent(status, Some(host.to_owned()), text.clone())
            }
            _ => Outcome::Temporary(format!("{host}: {text}")),
        };
        info!(
            queue_id = progress.id,
            to = progress
                .envelope
                .recipients
                .get(i)
                .map(String::as_str)
                .unwrap_or_default(),
            mx = host,
            peer,
            reply = text,
            "delivery attempt"
        );
        out.push((i, outcome));
    }
    out
}

/// The SMTP transaction for the recipients `waiting` of `envelope`.
fn transaction(envelope: &Envelope, waiting: &[usize], body: Bytes) -> io::Result<Transaction> {
    let options = PathOptions {
        utf8: true,
        ..PathOptions::default()
    };
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let reverse = if envelope.from.is_empty() {
        ReversePath::Null
    } else {
        parse_reverse_path(format!("<{}>", envelope.from).as_bytes(), options)
            .map_err(|_| invalid("bad reverse path"))?
            .0
    };
    let mut tx = Transaction::new(reverse, body);
    if let Some(ret) = envelope.ret {
        tx = tx.with_ret(ret);
    }
    if let Some(envid) = &envelope.envid {
        tx = tx.with_envid(envid.clone());
    }
    for &i in waiting {
        let rcpt = envelope
            .recipients
            .get(i)
            .ok_or_else(|| invalid("no such recipient"))?;
        let path: ForwardPath = parse_forward_path(format!("<{rcpt}>").as_bytes(), options)
            .map_err(|_| invalid("bad recipient"))?
            .0;
        // NOTIFY and ORCPT go on with the recipient (sent when the server offers DSN).
        let dsn = envelope.dsn(i);
        let mut recipient = Recipient::new(path);
        recipient.notify = dsn.notify;
        recipient.orcpt = dsn.orcpt;
        tx = tx.with_recipient(recipient);
    }
    Ok(tx)
}

fn record(state: &mut State, i: usize, outcome: Outcome) {
    if let Some(slot) = state.recipients.get_mut(i) {
        *slot = match outcome {
            Outcome::Delivered => RcptState::Delivered,
            Outcome::Temporary(why) => RcptState::Pending(Some(why)),
            Outcome::Permanent(status, remote, diagnostic) => RcptState::Failed(format!(
                "{status} {} {diagnostic}",
                remote.as_deref().unwrap_or("-")
            )),
        };
    }
}

fn route_failure(e: &RouteError) -> Outcome {
    let text = format!("{} {} {e}", e.smtp_code(), e.enhanced_status());
    if e.is_permanent() {
        Outcome::Permanent(e.enhanced_status().to_string(), None, text)
    } else {
        Outcome::Temporary(text)
    }
}

/// Sleeps until `deadline`, or forever without one.
pub async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
