//! The outbound session cache: after a transaction, a session is parked under the
//! destination it was opened for (address, MX host name, TLS mode; for the smarthost, its
//! login), and the next message to the same destination takes it instead of connecting
//! again (the client machine says RSET first when the server's transaction is still
//! open). A session carries at most `[outbound] session_max_messages` messages.
//!
//! Each parked session waits in a task of its own, which ends it with QUIT when its idle
//! time (`session_idle_secs`) runs out or at shutdown, and drops it at once when the
//! server speaks or closes meanwhile (a `421` on idle sessions is common). A session the
//! server closed without a word is found out at the next use: the answer to MAIL (or the
//! socket error before it) tells, and the sender opens a new session without counting it
//! as a failed attempt (see [`crate::outbound::Dialer`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tracing::{debug, warn};

use crate::listen::lock;
use crate::outbound::Session;

/// How a session to an MX host went about TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MxTls {
    /// STARTTLS when offered (the session may be encrypted or not).
    Opportunistic,
    /// Cleartext, after a failed STARTTLS handshake with this host.
    Cleartext,
}

/// What a parked session can be used for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionKey {
    addr: SocketAddr,
    host: String,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Kind {
    Mx(MxTls),
    /// The smarthost, TLS required, logged in as this user (or not at all).
    Relay(Option<String>),
}

impl SessionKey {
    /// A session to the MX host `host` at `addr`.
    pub fn mx(addr: SocketAddr, host: &str, tls: MxTls) -> SessionKey {
        SessionKey {
            addr,
            host: host.to_ascii_lowercase(),
            kind: Kind::Mx(tls),
        }
    }

    /// A session to the smarthost `host` at `addr`, logged in as `user`.
    pub fn relay(addr: SocketAddr, host: &str, user: Option<String>) -> SessionKey {
        SessionKey {
            addr,
            host: host.to_ascii_lowercase(),
            kind: Kind::Relay(user),
        }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's host name.
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// A parked session's handle: send it a reply channel and the session comes back on it.
type Take = oneshot::Sender<oneshot::Sender<Session>>;

/// The parked sessions, shared by every generation of the deliverer.
#[derive(Debug)]
pub struct SessionCache {
    inner: Mutex<Inner>,
    closed: watch::Sender<bool>,
}

#[derive(Debug, Default)]
struct Inner {
    parked: HashMap<SessionKey, Vec<(u64, Take)>>,
    next_id: u64,
    /// Parked sessions and sessions saying QUIT: awaited at shutdown.
    tasks: JoinSet<()>,
    closed: bool,
}

impl Default for SessionCache {
    fn default() -> Self {
        SessionCache {
            inner: Mutex::default(),
            closed: watch::Sender::new(false),
        }
    }
}

impl SessionCache {
    /// A parked session for `key`, the most recently parked first; `None` when there is
    /// none (left).
    pub async fn take(&self, key: &SessionKey) -> Option<Session> {
        loop {
            let parked = {
                let mut inner = lock(&self.inner);
                let list = inner.parked.get_mut(key)?;
                let parked = list.pop();
                if list.is_empty() {
                    inner.parked.remove(key);
                }
                parked
            };
            let (_, take) = parked?;
            let (reply, session) = oneshot::channel();
            if take.send(reply).is_err() {
                // Its idle time ran out, or the server closed it, just now.
                continue;
            }
            if let Ok(session) = session.await {
                return Some(session);
            }
        }
    }

    /// Parks `session` under `key` for at most `idle`.
    pub fn park(self: &Arc<Self>, key: SessionKey, session: Session, idle: Duration) {
        let mut inner = lock(&self.inner);
        if inner.closed {
            inner.tasks.spawn(session.quit());
            return;
        }
        while inner.tasks.try_join_next().is_some() {}
        inner.next_id += 1;
        let id = inner.next_id;
        let (take, taken) = oneshot::channel();
        inner
            .parked
            .entry(key.clone())
            .or_default()
            .push((id, take));
        let me = self.clone();
        let closed = self.closed.subscribe();
        inner
            .tasks
            .spawn(me.wait(key, id, session, idle, taken, closed));
    }

    /// Ends `session` with QUIT in the background (awaited at shutdown).
    pub fn retire(&self, session: Session) {
        let mut inner = lock(&self.inner);
        while inner.tasks.try_join_next().is_some() {}
        inner.tasks.spawn(session.quit());
    }

    /// A parked session's life: taken, or ended at its idle time, at shutdown, or when
    /// the server speaks.
    async fn wait(
        self: Arc<Self>,
        key: SessionKey,
        id: u64,
        mut session: Session,
        idle: Duration,
        taken: oneshot::Receiver<oneshot::Sender<Session>>,
        mut closed: watch::Receiver<bool>,
    ) {
        enum Wake {
            Taken(oneshot::Sender<Session>),
            Expired,
            Peer,
        }
        let deadline = crate::clock::deadline_after(idle);
        let wake = tokio::select! {
            taken = taken => match taken {
                Ok(reply) => Wake::Taken(reply),
                Err(_) => Wake::Expired,
            },
            () = crate::clock::sleep_until(deadline) => Wake::Expired,
            _ = closed.wait_for(|closed| *closed) => Wake::Expired,
            () = session.watch() => Wake::Peer,
        };
        match wake {
            Wake::Taken(reply) => {
                if let Err(session) = reply.send(session) {
                    session.quit().await;
                }
            }
            Wake::Expired => {
                self.forget(&key, id);
                debug!(mx = key.host, addr = %key.addr, "idle session closed");
                session.quit().await;
            }
            Wake::Peer => {
                self.forget(&key, id);
                debug!(mx = key.host, addr = %key.addr, "idle session ended by the server");
                session.quit().await;
            }
        }
    }

    fn forget(&self, key: &SessionKey, id: u64) {
        let mut inner = lock(&self.inner);
        if let Some(list) = inner.parked.get_mut(key) {
            list.retain(|(i, _)| *i != id);
            if list.is_empty() {
                inner.parked.remove(key);
            }
        }
    }

    /// Shutting down: parked sessions say QUIT, sessions parked later too; waits up to
    /// `grace` for every QUIT to finish, then drops what is left.
    pub async fn close(&self, grace: Duration) {
        let mut tasks = {
            let mut inner = lock(&self.inner);
            inner.closed = true;
            inner.parked.clear();
            std::mem::take(&mut inner.tasks)
        };
        self.closed.send_replace(true);
        let all = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, all).await.is_err() {
            warn!("outbound sessions still closing after the grace period; dropping them");
            tasks.abort_all();
        }
    }
}
