//! The queue runner: delivers queued messages to local Maildirs and, routed by MX, to other
//! mail servers with the postwerk-smtp client machine; retries temporary failures on the
//! configured schedule; sends one bounce (RFC 3464) when a message is finished with failed
//! recipients.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use postwerk_message::DateTime;
use postwerk_message::build::{Action, DsnBuilder, DsnRecipient, return_path_field};
use postwerk_mx::RouteError;
use postwerk_mx::resolver::Resolver;
use postwerk_smtp::client::{
    self, BareLineEndings, Delivery, Event, Recipient, Transaction, TransactionResult,
};
use postwerk_smtp::codec::path::{
    ForwardPath, PathOptions, ReversePath, parse_forward_path, parse_reverse_path,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc, watch};
use tracing::{info, warn};

use crate::config::Config;
use crate::maildir::MaildirStore;
use crate::net::Stream;
use crate::queue::{Envelope, QueueStore, Queued, RcptState, State};
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
    /// Outbound STARTTLS.
    pub client_tls: Arc<rustls::ClientConfig>,
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

/// Runs the queue until `shutdown` turns true: messages found at start, then every id sent
/// on `incoming`, each at its next attempt time, `[outbound] concurrency` at a time.
/// In-flight attempts are finished before it returns.
pub async fn run(
    deliverer: Arc<Deliverer>,
    initial: Vec<Queued>,
    mut incoming: mpsc::UnboundedReceiver<String>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut due: BTreeSet<(u64, String)> = initial
        .into_iter()
        .map(|q| (q.state.next_attempt, q.id))
        .collect();
    let mut busy: HashSet<String> = HashSet::new();
    let limit = Arc::new(Semaphore::new(deliverer.config.outbound.concurrency));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(String, Option<u64>)>();
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
            let done = done_tx.clone();
            let limit = limit.clone();
            tokio::spawn(async move {
                let _permit = limit.acquire_owned().await;
                let next = deliverer.attempt(&id).await;
                let _ = done.send((id, next));
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
            Some((id, next)) = done_rx.recv() => {
                busy.remove(&id);
                if let Some(next) = next {
                    due.insert((next, id));
                }
            }
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => break,
        }
    }
    // Let attempts in flight finish (they are bounded by the SMTP client's timeouts);
    // anything not finished is simply retried after the next start.
    let _ = limit
        .acquire_many(deliverer.config.outbound.concurrency as u32)
        .await;
}

/// The outcome for one recipient in one attempt.
enum Outcome {
    Delivered,
    Temporary(String),
    /// Status (`5.1.1`), the remote MTA if any, the diagnostic.
    Permanent(String, Option<String>, String),
}

impl Deliverer {
    /// One attempt at a queued message; returns when to try again, or `None` when the
    /// message is finished (delivered, bounced, or moved aside).
    pub async fn attempt(&self, id: &str) -> Option<u64> {
        let store = self.store.clone();
        let owned = id.to_owned();
        let loaded = tokio::task::spawn_blocking(move || {
            let (envelope, content) = store.read(&owned)?;
            let state = store.read_state(&owned, envelope.recipients.len())?;
            Ok::<_, io::Error>((envelope, content, state))
        })
        .await;
        let (envelope, content, mut state) = match loaded {
            Ok(Ok(loaded)) => loaded,
            Ok(Err(e)) if e.kind() == io::ErrorKind::NotFound => return None,
            Ok(Err(e)) => {
                warn!(queue_id = id, error = %e, "queue file is corrupt, moved to queue/corrupt");
                let _ = self.store.quarantine(id);
                return None;
            }
            Err(_) => return Some(unix_now() + 60),
        };
        let content = Bytes::from(content);
        let now = unix_now();
        let expired = now
            >= envelope
                .received_at
                .saturating_add(self.config.queue.expiry_secs);
        state.attempts += 1;
        if expired {
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
        } else {
            self.deliver_pending(id, &envelope, &content, &mut state)
                .await;
        }
        if state.has_pending() {
            let next = unix_now() + self.config.queue.retry_delay(state.attempts).as_secs();
            state.next_attempt = next;
            let store = self.store.clone();
            let owned = id.to_owned();
            let written =
                tokio::task::spawn_blocking(move || store.write_state(&owned, &state)).await;
            if !matches!(written, Ok(Ok(()))) {
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
            return Some(next);
        }
        if let Err(e) = self.bounce(id, &envelope, &content, &state).await {
            warn!(queue_id = id, error = %e, "could not queue the bounce; retrying later");
            return Some(unix_now() + 60);
        }
        let store = self.store.clone();
        let owned = id.to_owned();
        let _ = tokio::task::spawn_blocking(move || store.remove(&owned)).await;
        info!(queue_id = id, "finished, removed from the queue");
        None
    }

    async fn deliver_pending(
        &self,
        id: &str,
        envelope: &Envelope,
        content: &Bytes,
        state: &mut State,
    ) {
        let mut remote: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, rcpt) in envelope.recipients.iter().enumerate() {
            if !matches!(state.recipients.get(i), Some(RcptState::Pending(_))) {
                continue;
            }
            let outcome = match self.users.lookup_address(rcpt) {
                Lookup::Mailbox(user) => Some(
                    self.deliver_local(id, i, envelope, content, rcpt, &user)
                        .await,
                ),
                Lookup::Unknown | Lookup::Routing => Some(Outcome::Permanent(
                    "5.1.1".into(),
                    None,
                    "550 5.1.1 no such mailbox here".into(),
                )),
                Lookup::NotLocal => {
                    let domain = rcpt
                        .rsplit_once('@')
                        .map(|(_, d)| d.to_ascii_lowercase())
                        .unwrap_or_default();
                    remote.entry(domain).or_default().push(i);
                    None
                }
            };
            if let Some(outcome) = outcome {
                record(state, i, outcome);
            }
        }
        for (domain, indexes) in remote {
            let outcomes = self
                .deliver_remote(id, envelope, content, &domain, &indexes)
                .await;
            for (i, outcome) in indexes.into_iter().zip(outcomes) {
                record(state, i, outcome);
            }
        }
    }

    async fn deliver_local(
        &self,
        id: &str,
        index: usize,
        envelope: &Envelope,
        content: &Bytes,
        rcpt: &str,
        user: &str,
    ) -> Outcome {
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
                Outcome::Delivered
            }
            Ok(Err(e)) => {
                warn!(queue_id = id, to = rcpt, error = %e, "maildir delivery failed");
                Outcome::Temporary(format!("local delivery failed: {e}"))
            }
            Err(e) => Outcome::Temporary(format!("local delivery failed: {e}")),
        }
    }

    async fn deliver_remote(
        &self,
        id: &str,
        envelope: &Envelope,
        content: &Bytes,
        domain: &str,
        indexes: &[usize],
    ) -> Vec<Outcome> {
        let route = match self.resolver.resolve_mx(domain).await {
            Ok(route) => route,
            Err(e) => {
                info!(queue_id = id, domain, error = %e, "no route");
                return indexes.iter().map(|_| route_failure(&e)).collect();
            }
        };
        let mut outcomes: Vec<Option<Outcome>> = indexes.iter().map(|_| None).collect();
        let mut last_error = String::from("no mail exchanger could be reached");
        for (host, ip) in route.addresses().take(10) {
            let waiting: Vec<usize> = (0..indexes.len())
                .filter(|&k| {
                    !matches!(
                        outcomes.get(k),
                        Some(Some(Outcome::Delivered | Outcome::Permanent(..)))
                    )
                })
                .collect();
            if waiting.is_empty() {
                break;
            }
            let rcpts: Vec<&str> = waiting
                .iter()
                .filter_map(|&k| {
                    indexes
                        .get(k)
                        .and_then(|&i| envelope.recipients.get(i))
                        .map(String::as_str)
                })
                .collect();
            let addr = SocketAddr::new(ip, self.config.outbound.port);
            match self
                .smtp_attempt(addr, &host.name, &envelope.from, &rcpts, content.clone())
                .await
            {
                Ok(result) => {
                    for ((k, rcpt), r) in waiting.iter().zip(&rcpts).zip(result.recipients()) {
                        let reply = r
                            .deciding_reply()
                            .map(|r| r.to_string().trim_end().replace("\r\n", " "));
                        let text = reply
                            .clone()
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
                                Outcome::Permanent(status, Some(host.name.clone()), text.clone())
                            }
                            _ => Outcome::Temporary(format!("{}: {text}", host.name)),
                        };
                        info!(
                            queue_id = id,
                            to = rcpt,
                            mx = host.name,
                            %addr,
                            reply = text,
                            "delivery attempt"
                        );
                        if let Some(slot) = outcomes.get_mut(*k) {
                            *slot = Some(outcome);
                        }
                    }
                }
                Err(e) => {
                    info!(queue_id = id, mx = host.name, %addr, error = %e, "delivery attempt failed");
                    last_error = format!("{}[{ip}]: {e}", host.name);
                }
            }
        }
        outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Outcome::Temporary(last_error.clone())))
            .collect()
    }

    /// One SMTP session to `addr` sending one transaction.
    async fn smtp_attempt(
        &self,
        addr: SocketAddr,
        host: &str,
        from: &str,
        rcpts: &[&str],
        body: Bytes,
    ) -> io::Result<TransactionResult> {
        let options = PathOptions {
            utf8: true,
            ..PathOptions::default()
        };
        let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
        let reverse = if from.is_empty() {
            ReversePath::Null
        } else {
            parse_reverse_path(format!("<{from}>").as_bytes(), options)
                .map_err(|_| invalid("bad reverse path"))?
                .0
        };
        let mut tx = Transaction::new(reverse, body);
        for rcpt in rcpts {
            let path: ForwardPath = parse_forward_path(format!("<{rcpt}>").as_bytes(), options)
                .map_err(|_| invalid("bad recipient"))?
                .0;
            tx = tx.with_recipient(Recipient::new(path));
        }
        let connect = Duration::from_secs(self.config.outbound.connect_timeout_secs);
        let tcp = tokio::time::timeout(connect, TcpStream::connect(addr))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        let mut stream = Stream::Plain(tcp);
        let mut config = client::Config::new(self.config.hostname.clone());
        config.bare_line_endings = BareLineEndings::Normalise;
        let now = Instant::now();
        let mut conn = client::Connection::new(config, now);
        conn.send(tx, now).map_err(io::Error::other)?;
        conn.quit(now);
        let mut result = None;
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            while let Some(chunk) = conn.poll_transmit() {
                stream.write_all(&chunk).await?;
            }
            let mut start_tls = false;
            while let Some(event) = conn.poll_event() {
                match event {
                    Event::StartTls => start_tls = true,
                    Event::TransactionDone(done) => result = Some(done),
                    _ => {}
                }
            }
            if start_tls {
                stream.flush().await?;
                stream.connect_tls(self.client_tls.clone(), host).await?;
                conn.tls_established(Instant::now());
                continue;
            }
            if conn.is_closed() {
                break;
            }
            let deadline = conn.poll_timeout().map(tokio::time::Instant::from_std);
            tokio::select! {
                read = stream.read(&mut buf) => {
                    let n = read?;
                    if n == 0 {
                        conn.handle_eof(Instant::now());
                    } else {
                        conn.handle_input(buf.get(..n).unwrap_or_default(), Instant::now());
                    }
                }
                () = sleep_until(deadline) => conn.handle_timeout(Instant::now()),
            }
        }
        let _ = stream.shutdown().await;
        result.ok_or_else(|| io::Error::other("the session ended without a result"))
    }

    /// Queues one bounce for the failed recipients of a finished message (none for the
    /// null sender, none when nothing failed). Idempotent: the bounce has the id of its
    /// original with `B` appended.
    async fn bounce(
        &self,
        id: &str,
        envelope: &Envelope,
        content: &Bytes,
        state: &State,
    ) -> io::Result<()> {
        let failed: Vec<(&String, &String)> = envelope
            .recipients
            .iter()
            .zip(&state.recipients)
            .filter_map(|(rcpt, s)| match s {
                RcptState::Failed(why) => Some((rcpt, why)),
                _ => None,
            })
            .collect();
        if failed.is_empty() {
            return Ok(());
        }
        if envelope.from.is_empty() {
            info!(
                queue_id = id,
                failed = failed.len(),
                "not bouncing a message from the null sender"
            );
            return Ok(());
        }
        let bounce_id = format!("{id}B");
        if self.store.contains(&bounce_id) {
            return Ok(());
        }
        let now = DateTime::from_unix(unix_now() as i64, 0);
        let mut dsn = DsnBuilder::new(
            &self.config.hostname,
            &envelope.from,
            now,
            &format!("{bounce_id}.bounce"),
        )
        .arrival_date(DateTime::from_unix(envelope.received_at as i64, 0))
        .original(content);
        for (rcpt, why) in &failed {
            let mut parts = why.splitn(3, ' ');
            let status = parts.next().unwrap_or("5.0.0");
            let remote = parts.next().filter(|r| *r != "-");
            let diagnostic = parts.next().unwrap_or("");
            let status = if status.starts_with('4') {
                status.replacen('4', "5", 1)
            } else {
                status.to_owned()
            };
            let recipient = DsnRecipient::new(rcpt, Action::Failed, &status)
                .or_else(|_| DsnRecipient::new(rcpt, Action::Failed, "5.0.0"))
                .map_err(io::Error::other)?;
            let mut recipient = recipient.diagnostic(diagnostic).last_attempt(now);
            if let Some(remote) = remote {
                recipient = recipient.remote_mta(remote);
            }
            dsn = dsn.recipient(recipient);
        }
        let bytes = dsn.build().map_err(io::Error::other)?;
        let bounce = Envelope {
            from: String::new(),
            recipients: vec![envelope.from.clone()],
            received_at: unix_now(),
        };
        let store = self.store.clone();
        let queued = bounce_id.clone();
        tokio::task::spawn_blocking(move || store.enqueue(queued, &bounce, &bytes))
            .await
            .map_err(io::Error::other)??;
        info!(
            queue_id = id,
            bounce_id,
            to = envelope.from,
            failed = failed.len(),
            "bounce queued"
        );
        let _ = self.notify.send(bounce_id);
        Ok(())
    }
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
