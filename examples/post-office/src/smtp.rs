//! The SMTP listeners (MX role and submission): the driver loop around
//! `postwerk_smtp::server::Connection`, and the policy that answers its events.
//!
//! Policy: the MX role takes mail for local users from anyone, and for other destinations
//! only after a login (554 5.7.1 otherwise); unknown local users get 550 5.1.1 at RCPT.
//! Submission needs a login before MAIL (530 5.7.0, the machine's `auth_required`), and
//! the sender must be one of the user's addresses (553 5.7.1). Every message is written to
//! the queue and fsync'd before the 250; a `Received:` field is added in front of it, and a
//! message that already carries too many of them is refused as a loop (554 5.4.6). When
//! the disk is nearly full, MAIL and the end of data get 452 4.3.1.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use postwerk_message::DateTime;
use postwerk_message::build::{Protocol, ReceivedBuilder};
use postwerk_smtp::codec::path::{ForwardPath, ReversePath};
use postwerk_smtp::codec::reply::{EnhancedStatus, Reply};
use postwerk_smtp::server::{Config, Connection, Decision, Event, RequestId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::config::Role;
use crate::delivery::{sleep_until, unix_now};
use crate::listen::App;
use crate::net::{Stream, send_all};
use crate::queue::{Envelope, Incoming, free_bytes};
use crate::users::Lookup;

/// The header section is kept (up to this size) to count its `Received:` fields.
const MAX_HEADER_SCAN: usize = 256 * 1024;

/// What the driver knows about the session beyond the machine.
struct Session {
    app: Arc<App>,
    role: Role,
    peer: SocketAddr,
    helo: String,
    extended: bool,
    tls: bool,
    user: Option<String>,
    from: Option<String>,
    recipients: Vec<String>,
    message: Option<Message>,
}

/// A message being received.
struct Message {
    incoming: Option<Incoming>,
    header: Vec<u8>,
    header_complete: bool,
    failed: bool,
}

/// Serves one SMTP connection to its end.
pub async fn session(
    app: Arc<App>,
    role: Role,
    mut stream: Stream,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    mut shutdown: watch::Receiver<bool>,
) {
    let config = machine_config(&app, role, stream.is_tls());
    let mut conn = Connection::new(config, Instant::now());
    if stream.is_tls() {
        conn.set_tls_active();
    }
    let mut s = Session {
        app: app.clone(),
        role,
        peer,
        helo: String::new(),
        extended: false,
        tls: stream.is_tls(),
        user: None,
        from: None,
        recipients: Vec::new(),
        message: None,
    };
    info!(role = role.name(), %peer, local = ?local, tls = s.tls, "smtp connection");
    let write_limit = Duration::from_secs(app.config.limits.command_timeout_secs);
    let mut buf = vec![0u8; 64 * 1024];
    let mut unread: Vec<u8> = Vec::new();
    loop {
        while let Some(event) = conn.poll_event() {
            if let Event::StartTls = event {
                if flush(&mut conn, &mut stream, write_limit).await.is_err() {
                    s.abort();
                    return;
                }
                if let Err(e) = stream.accept_tls(app.tls.clone()).await {
                    info!(%peer, error = %e, "STARTTLS handshake failed");
                    s.abort();
                    return;
                }
                // Nothing read in cleartext may reach the session inside TLS.
                unread.clear();
                s.tls = true;
                s.user = None;
                let _ = conn.tls_started(Instant::now());
                continue;
            }
            s.event(&mut conn, event).await;
        }
        if flush(&mut conn, &mut stream, write_limit).await.is_err() {
            break;
        }
        if conn.is_closed() {
            break;
        }
        if !unread.is_empty() {
            let used = conn.handle_input(&unread, Instant::now());
            unread.drain(..used.min(unread.len()));
            if used > 0 {
                continue;
            }
        }
        let deadline = conn.poll_timeout().map(tokio::time::Instant::from_std);
        tokio::select! {
            read = stream.read(&mut buf), if unread.is_empty() => match read {
                Ok(0) | Err(_) => conn.handle_eof(Instant::now()),
                Ok(n) => {
                    let input = buf.get(..n).unwrap_or_default();
                    let used = conn.handle_input(input, Instant::now());
                    unread.extend_from_slice(input.get(used..).unwrap_or_default());
                }
            },
            () = sleep_until(deadline) => conn.handle_timeout(Instant::now()),
            _ = shutdown.changed(), if s.message.is_none() => break,
        }
    }
    s.abort();
    let _ = stream.shutdown().await;
    info!(role = role.name(), %peer, "smtp connection closed");
}

fn machine_config(app: &App, role: Role, implicit_tls: bool) -> Config {
    let limits = &app.config.limits;
    let mut config = Config::new(app.config.hostname.clone());
    config.greeting = "ESMTP post-office".into();
    config.extensions.starttls = !implicit_tls;
    config.allow_plaintext_auth = app.config.allow_plaintext_auth;
    config.auth_required = matches!(role, Role::Submission | Role::Submissions);
    config.limits.max_message_size = limits.max_message_size;
    config.limits.max_recipients = limits.max_recipients;
    config.limits.max_errors = u32::try_from(limits.max_errors).unwrap_or(u32::MAX);
    config.timeouts.command = Duration::from_secs(limits.command_timeout_secs);
    config.timeouts.data = Duration::from_secs(limits.data_timeout_secs);
    config.timeouts.greeting_delay = Duration::from_millis(limits.greeting_delay_ms);
    config
}

async fn flush(conn: &mut Connection, stream: &mut Stream, limit: Duration) -> std::io::Result<()> {
    send_all(stream, limit, || conn.poll_transmit()).await
}

fn reply(code: u16, status: (u8, u16, u16), text: &str) -> Reply {
    Reply::new(
        code,
        Some(EnhancedStatus::new(status.0, status.1, status.2)),
        text,
    )
}

impl Session {
    fn submission(&self) -> bool {
        matches!(self.role, Role::Submission | Role::Submissions)
    }

    async fn event(&mut self, conn: &mut Connection, event: Event) {
        match event {
            Event::Helo { domain, extended } => {
                self.helo = domain;
                self.extended = extended;
            }
            Event::Mail { id, from, .. } => {
                let decision = self.mail(&from).await;
                answer(conn, id, decision);
            }
            Event::Rcpt { id, to, .. } => {
                let decision = self.rcpt(&to);
                answer(conn, id, decision);
            }
            Event::Auth {
                id,
                authzid,
                authcid,
                password,
                ..
            } => {
                let decision = self.auth(authzid, authcid, password).await;
                answer(conn, id, decision);
            }
            Event::AuthExchange { id, .. } => {
                answer(
                    conn,
                    id,
                    Decision::Reject(Reply::auth_mechanism_unsupported()),
                );
            }
            Event::Vrfy { id, .. } => answer(conn, id, Decision::Accept),
            Event::DataStart => self.data_start(),
            Event::BodyChunk(chunk) => self.body(&chunk),
            Event::DataEnd { id, envelope, .. } => {
                let count = envelope.recipients.len();
                let decision = self.data_end(count).await;
                answer(conn, id, decision);
            }
            Event::DataAborted(reason) => {
                info!(peer = %self.peer, ?reason, "message aborted");
                self.abort();
            }
            Event::Reset => {
                self.abort();
                self.from = None;
                self.recipients.clear();
            }
            Event::Closing(reason) => {
                info!(peer = %self.peer, ?reason, "closing");
            }
            _ => {}
        }
    }

    async fn mail(&mut self, from: &ReversePath) -> Decision {
        self.abort();
        self.recipients.clear();
        let address = from.mailbox().map(|m| m.to_string()).unwrap_or_default();
        if let Some(user) = &self.user {
            if !self.app.users.may_send_as(user, &address) {
                info!(peer = %self.peer, user, from = address, "sender refused: not the user's address");
                return Decision::Reject(reply(
                    553,
                    (5, 7, 1),
                    "Sender address not owned by the authenticated user",
                ));
            }
        } else if self.submission() {
            return Decision::Reject(Reply::auth_required());
        }
        if !self.disk_has_room().await {
            return Decision::Reject(reply(452, (4, 3, 1), "Insufficient system storage"));
        }
        self.from = Some(address);
        Decision::Accept
    }

    fn rcpt(&mut self, to: &ForwardPath) -> Decision {
        let users = &self.app.users;
        let (address, lookup) = match to {
            ForwardPath::Postmaster => {
                let domain = self.app.config.domains.first().cloned().unwrap_or_default();
                let address = format!("postmaster@{domain}");
                let lookup = users.lookup_address(&address);
                (address, lookup)
            }
            ForwardPath::Mailbox(m) => (m.to_string(), users.lookup(m.local_part(), m.domain())),
        };
        let decision = match lookup {
            Lookup::Mailbox(_) => Decision::Accept,
            Lookup::Unknown => Decision::Reject(reply(550, (5, 1, 1), "No such user here")),
            Lookup::Routing => {
                Decision::Reject(reply(550, (5, 7, 1), "Source routing is not accepted"))
            }
            Lookup::NotLocal if self.user.is_some() => Decision::Accept,
            Lookup::NotLocal => Decision::Reject(Reply::relay_denied()),
        };
        if matches!(decision, Decision::Accept) {
            self.recipients.push(address);
        } else {
            info!(peer = %self.peer, to = address, "recipient refused");
        }
        decision
    }

    async fn auth(&mut self, authzid: String, authcid: String, password: Vec<u8>) -> Decision {
        if !authzid.is_empty() && !authzid.eq_ignore_ascii_case(&authcid) {
            return Decision::Reject(Reply::auth_invalid_credentials());
        }
        let users = self.app.users.clone();
        let login = authcid.clone();
        let checked = tokio::task::spawn_blocking(move || users.verify(&login, &password)).await;
        match checked {
            Ok(Some(user)) => {
                info!(peer = %self.peer, user, "authenticated");
                self.user = Some(user);
                Decision::Accept
            }
            Ok(None) => {
                info!(peer = %self.peer, login = authcid, "authentication failed");
                Decision::Reject(Reply::auth_invalid_credentials())
            }
            Err(_) => Decision::Reject(Reply::auth_temporary_failure()),
        }
    }

    fn data_start(&mut self) {
        let envelope = Envelope {
            from: self.from.clone().unwrap_or_default(),
            recipients: self.recipients.clone(),
            received_at: unix_now(),
        };
        let mut message = Message {
            incoming: None,
            header: Vec::new(),
            header_complete: false,
            failed: false,
        };
        match self.app.store.begin(&envelope) {
            Ok(mut incoming) => {
                let protocol = Protocol::for_session(
                    false,
                    self.extended,
                    self.tls,
                    self.user.is_some(),
                    false,
                );
                let mut received = ReceivedBuilder::new(
                    &self.app.config.hostname,
                    DateTime::from_unix(unix_now() as i64, 0),
                )
                .from(&self.helo, None, Some(self.peer.ip()))
                .with(protocol)
                .id(incoming.id());
                if let [only] = self.recipients.as_slice() {
                    received = received.for_path(only);
                }
                if incoming.write(received.to_field().as_bytes()).is_err() {
                    message.failed = true;
                }
                message.incoming = Some(incoming);
            }
            Err(e) => {
                warn!(error = %e, "cannot create a queue file");
                message.failed = true;
            }
        }
        self.message = Some(message);
    }

    fn body(&mut self, chunk: &Bytes) {
        let Some(message) = &mut self.message else {
            return;
        };
        if !message.header_complete {
            let room = MAX_HEADER_SCAN.saturating_sub(message.header.len());
            message
                .header
                .extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
            message.header_complete = message.header.len() >= MAX_HEADER_SCAN
                || message.header.windows(4).any(|w| w == b"\r\n\r\n")
                || message.header.starts_with(b"\r\n");
        }
        if let Some(incoming) = &mut message.incoming
            && incoming.write(chunk).is_err()
        {
            message.failed = true;
        }
    }

    async fn data_end(&mut self, machine_recipients: usize) -> Decision {
        let Some(mut message) = self.message.take() else {
            return Decision::Reject(reply(451, (4, 3, 0), "Local error in processing"));
        };
        let incoming = message.incoming.take();
        let Some(incoming) =
            incoming.filter(|_| !message.failed && machine_recipients == self.recipients.len())
        else {
            warn!(peer = %self.peer, "message could not be written to the queue");
            return Decision::Reject(reply(451, (4, 3, 0), "Local error in processing"));
        };
        let hops = received_count(&message.header);
        if hops >= self.app.config.queue.max_received {
            incoming.abort();
            info!(peer = %self.peer, hops, "refused: mail loop");
            return Decision::Reject(reply(554, (5, 4, 6), "Too many hops: mail loop detected"));
        }
        if !self.disk_has_room().await {
            incoming.abort();
            return Decision::Reject(reply(452, (4, 3, 1), "Insufficient system storage"));
        }
        let size = incoming.len();
        let store = self.app.store.clone();
        let committed = tokio::task::spawn_blocking(move || store.commit(incoming)).await;
        match committed {
            Ok(Ok(id)) => {
                info!(
                    queue_id = id,
                    peer = %self.peer,
                    role = self.role.name(),
                    user = self.user.as_deref().unwrap_or("-"),
                    from = self.from.as_deref().unwrap_or(""),
                    to = self.recipients.join(","),
                    size,
                    "message accepted"
                );
                let _ = self.app.queue_tx.send(id.clone());
                self.from = None;
                self.recipients.clear();
                Decision::AcceptWith(Reply::message_accepted(Some(&id)))
            }
            _ => {
                warn!(peer = %self.peer, "queue commit failed");
                Decision::Reject(reply(451, (4, 3, 0), "Local error in processing"))
            }
        }
    }

    async fn disk_has_room(&self) -> bool {
        let dir = self.app.config.data_dir.clone();
        let min = self.app.config.limits.min_free_bytes;
        let free = tokio::task::spawn_blocking(move || free_bytes(&dir)).await;
        match free {
            Ok(Ok(free)) => free >= min,
            _ => false,
        }
    }

    /// Drops a message being received (never acknowledged).
    fn abort(&mut self) {
        if let Some(incoming) = self.message.take().and_then(|m| m.incoming) {
            incoming.abort();
        }
    }
}

fn answer(conn: &mut Connection, id: RequestId, decision: Decision) {
    if let Err(e) = conn.respond(id, decision, Instant::now()) {
        warn!(error = %e, "the SMTP machine refused a decision");
    }
}

/// `Received:` fields in a header section (a truncated one counts what it holds).
fn received_count(header: &[u8]) -> usize {
    let end = header
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .unwrap_or(header.len());
    let section = header.get(..end).unwrap_or(header);
    match postwerk_message::Message::parse(section) {
        Ok(message) => message.header_all("Received").count(),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_fields_are_counted_in_the_header_only() {
        let mut header = Vec::new();
        for i in 0..3 {
            header.extend_from_slice(
                format!("Received: from a{i} by b; Sat, 28 Nov 2026 20:51:10 +0000\r\n").as_bytes(),
            );
        }
        header.extend_from_slice(b"Subject: x\r\n\r\nReceived: not a header\r\n");
        assert_eq!(received_count(&header), 3);
        assert_eq!(received_count(b"Subject: none\r\n\r\n"), 0);
    }
}
