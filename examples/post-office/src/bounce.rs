//! The bounce writer: one RFC 3464 report per finished message with failed recipients,
//! queued like any other message (SECURITY.md 33).

use std::io;

use bytes::Bytes;
use postwerk_message::DateTime;
use postwerk_message::build::{Action, DsnBuilder, DsnRecipient};
use tracing::info;

use crate::delivery::{Deliverer, unix_now};
use crate::queue::{Envelope, RcptState, State};

/// Queues one bounce for the failed recipients of a finished message (none for the null
/// sender, none when nothing failed). Idempotent: the bounce has the id of its original
/// with `B` appended.
pub async fn queue_bounce(
    deliverer: &Deliverer,
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
    if deliverer.store.contains(&bounce_id) {
        return Ok(());
    }
    let config = &deliverer.config;
    let now = DateTime::from_unix(unix_now() as i64, 0);
    let mut dsn = DsnBuilder::new(
        &config.hostname,
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
    let store = deliverer.store.clone();
    let queued = bounce_id.clone();
    match tokio::task::spawn_blocking(move || store.enqueue(queued, &bounce, &bytes))
        .await
        .map_err(io::Error::other)?
    {
        Ok(_) => {}
        // Queued by an earlier try that did not get to remove the original.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(e),
    }
    info!(
        queue_id = id,
        bounce_id,
        to = envelope.from,
        failed = failed.len(),
        "bounce queued"
    );
    let _ = deliverer.notify.send(bounce_id);
    Ok(())
}
