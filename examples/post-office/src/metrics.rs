//! Metrics: process-wide counters, served in the Prometheus text format (version 0.0.4)
//! at `GET /metrics` on the addresses of `[metrics] listen` (opt-in; absent: no listener).
//!
//! The HTTP side is a minimal HTTP/1.1 responder: one request per connection, a bounded
//! request head (8 KiB) read within 10 seconds, `Connection: close`. It serves nothing
//! but `/metrics` and has no authentication: bind it to loopback or a management network.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::config::Role;
use crate::queue::QueueStore;

/// Metrics connections served at the same time, per listener.
const MAX_CONNECTIONS: usize = 16;

/// The counters. Each is monotonic; the queue gauges are measured at each scrape.
#[derive(Debug)]
pub struct Metrics {
    /// Accepted connections, per listener role (indexed by [`role_index`]).
    pub connections: [AtomicU64; 5],
    /// Messages accepted into the queue (SMTP and submission).
    pub accepted: AtomicU64,
    /// Recipients delivered (to a Maildir or to a remote server).
    pub delivered: AtomicU64,
    /// Attempts that ended with recipients left for a later try.
    pub deferred: AtomicU64,
    /// Finished messages with at least one failed recipient (a bounce is sent unless the
    /// sender is null).
    pub bounced: AtomicU64,
    /// Logins refused (wrong password or unknown user), SMTP AUTH and POP3 together.
    pub failed_logins: AtomicU64,
    /// Outbound SMTP sessions that used STARTTLS.
    pub outbound_tls: AtomicU64,
    /// Outbound SMTP sessions in cleartext.
    pub outbound_plain: AtomicU64,
    /// LMTP sessions to the local delivery agent that reached a result.
    pub lmtp_sessions: AtomicU64,
    /// MX lookups that failed (no route for a destination domain).
    pub dns_failures: AtomicU64,
    /// Configuration reloads that took effect.
    pub reloads: AtomicU64,
    /// Configuration reloads refused (the old configuration was kept).
    pub reload_failures: AtomicU64,
}

/// The process's counters.
pub static METRICS: Metrics = Metrics {
    connections: [const { AtomicU64::new(0) }; 5],
    accepted: AtomicU64::new(0),
    delivered: AtomicU64::new(0),
    deferred: AtomicU64::new(0),
    bounced: AtomicU64::new(0),
    failed_logins: AtomicU64::new(0),
    outbound_tls: AtomicU64::new(0),
    outbound_plain: AtomicU64::new(0),
    lmtp_sessions: AtomicU64::new(0),
    dns_failures: AtomicU64::new(0),
    reloads: AtomicU64::new(0),
    reload_failures: AtomicU64::new(0),
};

/// Adds one to a counter.
pub fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

const ROLES: [Role; 5] = [
    Role::Smtp,
    Role::Submission,
    Role::Submissions,
    Role::Pop3,
    Role::Pop3s,
];

/// The index of a role in [`Metrics::connections`].
pub fn role_index(role: Role) -> usize {
    ROLES.iter().position(|r| *r == role).unwrap_or(0)
}

/// Counts an accepted connection of `role`.
pub fn count_connection(role: Role) {
    if let Some(counter) = METRICS.connections.get(role_index(role)) {
        count(counter);
    }
}

/// The number of queued messages and the age in seconds of the oldest (by the time its
/// file was written).
fn queue_gauges(store: &QueueStore) -> (usize, u64) {
    let ids = store.ids().unwrap_or_default();
    let now = SystemTime::now();
    let oldest = ids
        .iter()
        .filter_map(|id| store.file_info(id).ok())
        .map(|(_, written)| now.duration_since(written).unwrap_or_default().as_secs())
        .max()
        .unwrap_or(0);
    (ids.len(), oldest)
}

/// The exposition text.
pub fn render(queue_len: usize, oldest_age: u64) -> String {
    use std::fmt::Write as _;
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let m = &METRICS;
    let mut out = String::new();
    let counter = |out: &mut String, name: &str, help: &str, value: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    };
    let _ = writeln!(
        out,
        "# HELP postoffice_connections_total Connections accepted, per listener role.\n# TYPE postoffice_connections_total counter"
    );
    for role in ROLES {
        let value = m.connections.get(role_index(role)).map(get).unwrap_or(0);
        let _ = writeln!(
            out,
            "postoffice_connections_total{{role=\"{}\"}} {value}",
            role.name()
        );
    }
    counter(
        &mut out,
        "postoffice_messages_accepted_total",
        "Messages accepted into the queue.",
        get(&m.accepted),
    );
    counter(
        &mut out,
        "postoffice_messages_delivered_total",
        "Recipients delivered, locally or to a remote server.",
        get(&m.delivered),
    );
    counter(
        &mut out,
        "postoffice_messages_deferred_total",
        "Delivery attempts that left recipients for a later try.",
        get(&m.deferred),
    );
    counter(
        &mut out,
        "postoffice_messages_bounced_total",
        "Finished messages with failed recipients.",
        get(&m.bounced),
    );
    counter(
        &mut out,
        "postoffice_failed_logins_total",
        "Logins refused (wrong password or unknown user).",
        get(&m.failed_logins),
    );
    let _ = writeln!(
        out,
        "# HELP postoffice_outbound_sessions_total Outbound SMTP sessions, with and without TLS.\n# TYPE postoffice_outbound_sessions_total counter\npostoffice_outbound_sessions_total{{tls=\"yes\"}} {}\npostoffice_outbound_sessions_total{{tls=\"no\"}} {}",
        get(&m.outbound_tls),
        get(&m.outbound_plain)
    );
    counter(
        &mut out,
        "postoffice_lmtp_sessions_total",
        "LMTP sessions to the local delivery agent.",
        get(&m.lmtp_sessions),
    );
    counter(
        &mut out,
        "postoffice_dns_failures_total",
        "MX lookups that failed.",
        get(&m.dns_failures),
    );
    counter(
        &mut out,
        "postoffice_reloads_total",
        "Configuration reloads that took effect.",
        get(&m.reloads),
    );
    counter(
        &mut out,
        "postoffice_reload_failures_total",
        "Configuration reloads refused (the old configuration kept).",
        get(&m.reload_failures),
    );
    let _ = writeln!(
        out,
        "# HELP postoffice_queue_messages Messages in the queue.\n# TYPE postoffice_queue_messages gauge\npostoffice_queue_messages {queue_len}"
    );
    let _ = writeln!(
        out,
        "# HELP postoffice_queue_oldest_age_seconds Age of the oldest queued message.\n# TYPE postoffice_queue_oldest_age_seconds gauge\npostoffice_queue_oldest_age_seconds {oldest_age}"
    );
    out
}

/// Serves `/metrics` on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    store: Arc<QueueStore>,
    mut shutdown: watch::Receiver<bool>,
) {
    if let Ok(addr) = listener.local_addr() {
        info!(role = "metrics", %addr, "listening");
    }
    // A scraper needs one connection; a few more are allowed, the rest closed at once.
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        match accepted {
            Ok((tcp, _)) => {
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    continue;
                };
                let store = store.clone();
                tokio::spawn(async move {
                    respond(tcp, store).await;
                    drop(slot);
                });
            }
            Err(e) => {
                warn!(error = %e, "metrics: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn respond(mut tcp: TcpStream, store: Arc<QueueStore>) {
    let mut head = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
            if head.len() > 8192 {
                return false;
            }
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => head.extend_from_slice(buf.get(..n).unwrap_or_default()),
            }
        }
        true
    })
    .await;
    if !matches!(read, Ok(true)) {
        return;
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let (method, path) = (parts.next(), parts.next());
    let (status, body) = match (method, path) {
        (Some(b"GET"), Some(b"/metrics")) => {
            let (len, oldest) = tokio::task::spawn_blocking(move || queue_gauges(&store))
                .await
                .unwrap_or((0, 0));
            ("200 OK", render(len, oldest))
        }
        (Some(b"GET"), _) => ("404 Not Found", "not found; try /metrics\n".to_owned()),
        _ => ("405 Method Not Allowed", "only GET\n".to_owned()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        let _ = tcp.write_all(response.as_bytes()).await;
        let _ = tcp.shutdown().await;
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_has_every_metric_once() {
        let text = render(3, 42);
        for name in [
            "postoffice_connections_total{role=\"smtp\"}",
            "postoffice_connections_total{role=\"pop3s\"}",
            "postoffice_messages_accepted_total",
            "postoffice_messages_delivered_total",
            "postoffice_messages_deferred_total",
            "postoffice_messages_bounced_total",
            "postoffice_failed_logins_total",
            "postoffice_outbound_sessions_total{tls=\"yes\"}",
            "postoffice_outbound_sessions_total{tls=\"no\"}",
            "postoffice_dns_failures_total",
        ] {
            assert_eq!(
                text.lines()
                    .filter(|l| l.starts_with(&format!("{name} ")))
                    .count(),
                1,
                "{name}\n{text}"
            );
        }
        assert!(text.contains("\npostoffice_queue_messages 3\n"), "{text}");
        assert!(
            text.contains("\npostoffice_queue_oldest_age_seconds 42\n"),
            "{text}"
        );
        // Every sample line is `name[{labels}] value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = line.rsplit_once(' ').unwrap();
            value.parse::<u64>().unwrap();
        }
    }
}
