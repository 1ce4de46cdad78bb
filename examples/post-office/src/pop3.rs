//! The POP3 listener: the driver loop around `postwerk_pop3::server::Connection`, and the
//! policy: logins against the user table, one session per mailbox (`[IN-USE]`), the
//! Maildir as maildrop, deletions only when the machine reports a commit at QUIT.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use postwerk_pop3::server::{Config, Connection, Credentials, Event, LoginDecision, MessageInfo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::delivery::sleep_until;
use crate::listen::{App, lock};
use crate::maildir::Entry;
use crate::net::{Stream, send_all};

/// The mailbox lock of one session, released on drop.
struct Locked {
    app: Arc<App>,
    user: String,
    entries: Vec<Entry>,
}

impl Drop for Locked {
    fn drop(&mut self) {
        lock(&self.app.pop3_locks).remove(&self.user);
    }
}

/// Serves one POP3 connection to its end.
pub async fn session(
    app: Arc<App>,
    mut stream: Stream,
    peer: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) {
    let implicit = stream.is_tls();
    let mut config = Config::default();
    config.greeting = format!("{} POP3 ready", app.config.hostname);
    config.stls = !implicit;
    config.tls_active = implicit;
    config.allow_cleartext = app.config.allow_plaintext_auth;
    // RFC 1939 section 3: the autologout timer is at least 10 minutes.
    config.idle_timeout = Duration::from_secs(app.config.limits.command_timeout_secs.max(600));
    config.max_errors = u32::try_from(app.config.limits.max_errors).unwrap_or(u32::MAX);
    let mut conn = Connection::new(config, Instant::now());
    let mut locked: Option<Locked> = None;
    let write_limit = Duration::from_secs(app.config.limits.command_timeout_secs);
    let mut buf = vec![0u8; 16 * 1024];
    let mut committed = false;
    info!(%peer, tls = implicit, "pop3 connection");
    loop {
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Login { id, credentials } => {
                    let decision = login(&app, credentials, &mut locked).await;
                    let _ = conn.answer_login(id, decision);
                }
                Event::MessageRequest { id, index, .. } => {
                    let entry = locked.as_ref().and_then(|l| l.entries.get(index)).cloned();
                    let maildirs = app.maildirs.clone();
                    let read = match entry {
                        Some(entry) => tokio::task::spawn_blocking(move || maildirs.read(&entry))
                            .await
                            .ok(),
                        None => None,
                    };
                    let _ = match read {
                        Some(Ok(bytes)) => conn.supply_message(id, Bytes::from(bytes)),
                        _ => conn.message_unavailable(id),
                    };
                }
                Event::Commit { id, deletions } => {
                    let ok = match &locked {
                        Some(l) => {
                            let doomed: Vec<Entry> = deletions
                                .iter()
                                .filter_map(|d| l.entries.get(d.index).cloned())
                                .collect();
                            let maildirs = app.maildirs.clone();
                            let user = l.user.clone();
                            let count = doomed.len();
                            let result = tokio::task::spawn_blocking(move || {
                                let refs: Vec<&Entry> = doomed.iter().collect();
                                maildirs.delete(&user, &refs)
                            })
                            .await;
                            info!(%peer, user = l.user, deleted = count, "pop3 commit");
                            matches!(result, Ok(Ok(())))
                        }
                        None => false,
                    };
                    committed = ok;
                    let _ = conn.answer_commit(id, ok);
                }
                Event::StartTls => {
                    if flush(&mut conn, &mut stream, write_limit).await.is_err() {
                        return;
                    }
                    if let Err(e) = stream.accept_tls(app.tls.clone()).await {
                        info!(%peer, error = %e, "pop3 STLS handshake failed");
                        return;
                    }
                }
                Event::Closed { .. } => {}
                _ => {}
            }
        }
        if flush(&mut conn, &mut stream, write_limit).await.is_err() {
            break;
        }
        if conn.is_closed() {
            break;
        }
        let deadline = conn.poll_timeout().map(tokio::time::Instant::from_std);
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => conn.handle_eof(Instant::now()),
                Ok(n) => conn.handle_input(buf.get(..n).unwrap_or_default(), Instant::now()),
            },
            () = sleep_until(deadline) => conn.handle_timeout(Instant::now()),
            _ = shutdown.changed() => break,
        }
    }
    let _ = stream.shutdown().await;
    info!(%peer, user = locked.as_ref().map(|l| l.user.as_str()).unwrap_or("-"), committed, "pop3 connection closed");
}

async fn flush(conn: &mut Connection, stream: &mut Stream, limit: Duration) -> std::io::Result<()> {
    send_all(stream, limit, || conn.poll_transmit()).await
}

async fn login(
    app: &Arc<App>,
    credentials: Credentials,
    locked: &mut Option<Locked>,
) -> LoginDecision {
    let (user, password) = match credentials {
        Credentials::User { user, password } => (user, password),
        Credentials::Plain {
            authzid,
            user,
            password,
        } if authzid.is_empty() || authzid == user => (user, password),
        // APOP is never offered (it needs the plaintext password); other identities than
        // one's own are not supported.
        _ => return LoginDecision::Reject,
    };
    let users = app.users.clone();
    let checked =
        tokio::task::spawn_blocking(move || users.verify(&user, password.as_bytes())).await;
    let Ok(Some(user)) = checked else {
        return LoginDecision::Reject;
    };
    if !lock(&app.pop3_locks).insert(user.clone()) {
        return LoginDecision::InUse;
    }
    let mut guard = Locked {
        app: app.clone(),
        user: user.clone(),
        entries: Vec::new(),
    };
    let maildirs = app.maildirs.clone();
    let listed = tokio::task::spawn_blocking(move || maildirs.list(&user)).await;
    match listed {
        Ok(Ok(entries)) => {
            let listing = entries
                .iter()
                .map(|e| MessageInfo::from((e.size, e.uid.clone())))
                .collect();
            guard.entries = entries;
            *locked = Some(guard);
            LoginDecision::Accept(listing)
        }
        _ => {
            warn!(user = guard.user, "cannot list the maildir");
            LoginDecision::SysTemp
        }
    }
}
