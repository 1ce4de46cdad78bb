//! Accept loops: one per listening address, each connection a task running its
//! protocol's driver; connection caps overall and per client address; implicit TLS.
//!
//! A session gives its connection slot back as soon as it is closing, before its last
//! reply is written and before the socket closes: a client that saw the end of a session
//! and reconnects is never refused at the per-address cap (SECURITY.md 52).

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::config::{Config, Role};
use crate::maildir::MaildirStore;
use crate::net::Stream;
use crate::queue::QueueStore;
use crate::users::Users;

/// What every connection shares.
#[derive(Debug)]
pub struct App {
    /// The configuration.
    pub config: Arc<Config>,
    /// The user table.
    pub users: Arc<Users>,
    /// Local mailboxes.
    pub maildirs: Arc<MaildirStore>,
    /// The queue.
    pub store: Arc<QueueStore>,
    /// Tells the queue runner about newly accepted messages.
    pub queue_tx: mpsc::UnboundedSender<String>,
    /// STARTTLS, STLS and implicit TLS.
    pub tls: Arc<rustls::ServerConfig>,
    /// Mailboxes with an open POP3 session (shared across reloads).
    pub pop3_locks: Arc<Mutex<HashSet<String>>>,
    /// Open connections, per client address (shared across reloads).
    pub connections: Arc<Mutex<HashMap<IpAddr, usize>>>,
    /// Password verifications: concurrency, turns and penalties (SECURITY.md 42).
    pub login: Arc<crate::login_budget::LoginBudget>,
    /// Early-talker pass cache of the MX listener (SECURITY.md 51).
    pub pregreet: Arc<crate::pregreet::PassCache>,
    /// DKIM keys of the local domains (signing at submission).
    pub dkim: Arc<crate::dkim::DkimKeys>,
    /// DNS for SPF, DKIM and DMARC checks on the MX port (shared with delivery's cache).
    pub resolver: postwerk_mx::resolver::Resolver,
}

/// Locks a mutex, taking over a poisoned one (every critical section here leaves the data
/// consistent).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits on `condvar` with `guard` (like [`lock`], taking over a poisoned mutex).
pub fn wait_on<'a, T>(condvar: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    condvar
        .wait(guard)
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A counted connection; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot {
    app: Arc<App>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = lock(&self.app.connections);
        if let Some(count) = map.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

impl App {
    /// Takes a connection slot for `ip`, unless a cap is reached.
    fn take_slot(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let mut map = lock(&self.connections);
        let total: usize = map.values().sum();
        let limits = &self.config.limits;
        let mine = map.get(&ip).copied().unwrap_or(0);
        if total >= limits.max_connections || mine >= limits.max_connections_per_ip {
            return None;
        }
        *map.entry(ip).or_insert(0) += 1;
        Some(Slot {
            app: self.clone(),
            ip,
        })
    }
}

/// Accepts connections on `listener` until `shutdown`; spawns each into `tasks`. Each
/// connection gets the `App` current when it is accepted: a reload (SIGHUP) replaces it
/// for new connections while open sessions keep theirs.
pub async fn serve(
    apps: watch::Receiver<Arc<App>>,
    role: Role,
    listener: TcpListener,
    tasks: Arc<tokio::sync::Mutex<JoinSet<()>>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and similar: wait a little instead of spinning.
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        crate::metrics::count_connection(role);
        let app = apps.borrow().clone();
        let Some(slot) = app.take_slot(peer.ip()) else {
            info!(role = role.name(), %peer, "refused: too many connections");
            tokio::spawn(refuse(role, tcp));
            continue;
        };
        let shutdown = shutdown.clone();
        lock_tasks(&tasks)
            .await
            .spawn(connection(app, role, tcp, peer, slot, shutdown));
    }
}

async fn lock_tasks(
    tasks: &tokio::sync::Mutex<JoinSet<()>>,
) -> tokio::sync::MutexGuard<'_, JoinSet<()>> {
    let mut guard = tasks.lock().await;
    // Reap finished connections so the set does not grow without bound.
    while guard.try_join_next().is_some() {}
    guard
}

async fn connection(
    app: Arc<App>,
    role: Role,
    tcp: TcpStream,
    peer: SocketAddr,
    slot: Slot,
    shutdown: watch::Receiver<bool>,
) {
    let local = tcp.local_addr().ok();
    let mut stream = Stream::Plain(tcp);
    let implicit = matches!(role, Role::Submissions | Role::Pop3s);
    if implicit {
        let handshake =
            tokio::time::timeout(Duration::from_secs(60), stream.accept_tls(app.tls.clone())).await;
        if !matches!(handshake, Ok(Ok(()))) {
            info!(role = role.name(), %peer, "TLS handshake failed");
            drop(slot);
            return;
        }
    }
    match role {
        Role::Smtp | Role::Submission | Role::Submissions => {
            crate::smtp::session(app, role, stream, peer, local, slot, shutdown).await
        }
        Role::Pop3 | Role::Pop3s => crate::pop3::session(app, stream, peer, slot, shutdown).await,
    }
}

/// Tells a client over the caps to come back later, through the protocol codecs.
async fn refuse(role: Role, mut tcp: TcpStream) {
    let line = match role {
        Role::Pop3 | Role::Pop3s => postwerk_pop3::codec::Response::err(
            Some(postwerk_pop3::codec::ResponseCode::SysTemp),
            "too many connections, try again later",
        )
        .to_line(),
        _ => postwerk_smtp::codec::Reply::new(
            421,
            Some(postwerk_smtp::codec::EnhancedStatus::new(4, 7, 0)),
            "too many connections, try again later",
        )
        .to_bytes(),
    };
    if matches!(role, Role::Submissions | Role::Pop3s) {
        // No TLS session for a refused client: just close.
        return;
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.write_all(&line)).await;
    let _ = tcp.shutdown().await;
}
