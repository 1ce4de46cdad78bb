//! Delivery status notifications (RFC 3461, RFC 3464), queued like any other message:
//!
//! * one **failure** report (the bounce) per finished message with failed recipients
//!   (SECURITY.md 33);
//! * one **delay** notice per message still undelivered after `queue.delay_warning_secs`;
//! * **success** notices for recipients that asked for them (`NOTIFY=SUCCESS`): `delivered`
//!   for local delivery, `relayed` when the next server does not speak DSN.
//!
//! Each recipient is reported only in the kinds its `NOTIFY` allows (none for
//! `NOTIFY=NEVER`; without NOTIFY: failures and delays), with its `ORCPT` as
//! `Original-Recipient`, the message's `ENVID` as `Original-Envelope-Id`, and the whole
//! message returned only with `RET=FULL` (else its header section). Never to the null
//! sender. Report ids derive from the original's (`B`, `D`, `S<n>` appended), which makes
//! queueing one idempotent.

use std::io;

use bytes::Bytes;
use postwerk_message::DateTime;
use postwerk_message::build::{Action, DsnBuilder, DsnRecipient};
use postwerk_smtp::codec::params::Ret;
use tracing::info;

use crate::clock::unix_now;
use crate::delivery::Deliverer;
use crate::queue::{Envelope, Failure, RcptState, Report, State};

/// One recipient of a report.
#[derive(Debug, Clone)]
struct Line {
    index: usize,
    action: Action,
    status: String,
    remote: Option<String>,
    diagnostic: Option<String>,
    retry_until: Option<u64>,
}

/// The report line of a recipient that failed for good (a temporary status of an
/// expired message is reported as permanent).
fn failure_line(index: usize, failure: &Failure) -> Line {
    let status = match failure.status.strip_prefix('4') {
        Some(rest) => format!("5{rest}"),
        None => failure.status.clone(),
    };
    Line {
        index,
        action: Action::Failed,
        status,
        remote: failure.remote.clone(),
        diagnostic: Some(failure.diagnostic.clone()).filter(|d| !d.is_empty()),
        retry_until: None,
    }
}

/// The first enhanced status code of class 4 in `text` (`4.x.y`), or `4.0.0`.
fn temporary_status(text: &str) -> String {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|w| {
            let parts: Vec<&str> = w.split('.').collect();
            parts.len() == 3
                && parts[0] == "4"
                && parts[1..]
                    .iter()
                    .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .map_or_else(|| "4.0.0".to_owned(), str::to_owned)
}

/// Queues one report `report_id` about `lines` of the message `id`.
async fn queue_report(
    deliverer: &Deliverer,
    id: &str,
    report_id: String,
    envelope: &Envelope,
    content: &Bytes,
    lines: &[Line],
) -> io::Result<()> {
    if lines.is_empty() || deliverer.store.contains(&report_id) {
        return Ok(());
    }
    let config = &deliverer.config;
    let now = DateTime::from_unix(unix_now() as i64, 0);
    let mut dsn = DsnBuilder::new(
        &config.hostname,
        &envelope.from,
        now,
        &format!("{report_id}.dsn"),
    )
    .arrival_date(DateTime::from_unix(envelope.received_at as i64, 0))
    .original(content)
    .return_full(envelope.ret == Some(Ret::Full));
    if let Some(envid) = &envelope.envid {
        dsn = dsn.envelope_id(envid);
    }
    for line in lines {
        let rcpt = envelope
            .recipients
            .get(line.index)
            .map(String::as_str)
            .unwrap_or_default();
        let fallback = match line.action {
            Action::Failed => "5.0.0",
            Action::Delayed => "4.0.0",
            _ => "2.0.0",
        };
        let mut recipient = DsnRecipient::new(rcpt, line.action, &line.status)
            .or_else(|_| DsnRecipient::new(rcpt, line.action, fallback))
            .map_err(io::Error::other)?
            .last_attempt(now);
        if let Some(diagnostic) = &line.diagnostic {
            recipient = recipient.diagnostic(diagnostic);
        }
        if let Some(remote) = &line.remote {
            recipient = recipient.remote_mta(remote);
        }
        if let Some((kind, address)) = envelope.dsn(line.index).orcpt {
            recipient = recipient.original_recipient(&format!("{kind};{address}"));
        }
        if let Some(until) = line.retry_until {
            recipient = recipient.will_retry_until(DateTime::from_unix(until as i64, 0));
        }
        dsn = dsn.recipient(recipient);
    }
    let bytes = dsn.build().map_err(io::Error::other)?;
    let report = Envelope {
        recipients: vec![envelope.from.clone()],
        received_at: unix_now(),
        ..Envelope::default()
    };
    let store = deliverer.store.clone();
    let queued = report_id.clone();
    match tokio::task::spawn_blocking(move || store.enqueue(queued, &report, &bytes))
        .await
        .map_err(io::Error::other)?
    {
        Ok(_) => {}
        // Queued by an earlier try that did not get to record it.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(e),
    }
    let action = lines.first().map_or("", |l| l.action.as_str());
    let what = match action {
        "failed" => "bounce queued",
        "delayed" => "delay notice queued",
        _ => "success notice queued",
    };
    info!(
        queue_id = id,
        report_id,
        to = envelope.from,
        recipients = lines.len(),
        action,
        "{what}"
    );
    let _ = deliverer.notify.send(report_id);
    Ok(())
}

/// Queues one bounce for the failed recipients of a finished message that want failure
/// reports (none for the null sender, none when nothing is to be reported). The bounce
/// has the id of its original with `B` appended.
pub async fn queue_bounce(
    deliverer: &Deliverer,
    id: &str,
    envelope: &Envelope,
    content: &Bytes,
    state: &State,
) -> io::Result<()> {
    let lines: Vec<Line> = state
        .recipients
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            RcptState::Failed(failure) if envelope.wants(i, Report::Failure) => {
                Some(failure_line(i, failure))
            }
            _ => None,
        })
        .collect();
    if lines.is_empty() {
        return Ok(());
    }
    if envelope.from.is_empty() {
        info!(
            queue_id = id,
            failed = lines.len(),
            "not bouncing a message from the null sender"
        );
        return Ok(());
    }
    queue_report(deliverer, id, format!("{id}B"), envelope, content, &lines).await
}

impl Deliverer {
    /// After an attempt: success notices for the recipients in `delivered` that asked
    /// for them, and the delay notice once the message has waited
    /// `queue.delay_warning_secs`. Records in `state` what was sent (the caller saves it
    /// with the attempt's outcome).
    pub(crate) async fn send_notices(
        &self,
        id: &str,
        envelope: &Envelope,
        state: &mut State,
        delivered: Vec<(usize, Action, Option<String>)>,
    ) -> io::Result<()> {
        if envelope.from.is_empty() {
            return Ok(());
        }
        let success: Vec<Line> = delivered
            .into_iter()
            .filter(|(i, _, _)| {
                envelope.wants(*i, Report::Success) && !state.success_notified.contains(i)
            })
            .map(|(index, action, remote)| Line {
                index,
                action,
                status: "2.0.0".into(),
                remote,
                diagnostic: None,
                retry_until: None,
            })
            .collect();
        let warn_after = self.config.queue.delay_warning_secs;
        let due = warn_after > 0
            && !state.delay_notified
            && unix_now() >= envelope.received_at.saturating_add(warn_after);
        let delayed: Vec<Line> = if due {
            let until = envelope
                .received_at
                .saturating_add(self.config.queue.expiry_secs);
            state
                .recipients
                .iter()
                .enumerate()
                .filter_map(|(i, s)| match s {
                    RcptState::Pending(why) if envelope.wants(i, Report::Delay) => Some(Line {
                        index: i,
                        action: Action::Delayed,
                        status: temporary_status(why.as_deref().unwrap_or_default()),
                        remote: None,
                        diagnostic: why.clone(),
                        retry_until: Some(until),
                    }),
                    _ => None,
                })
                .collect()
        } else {
            Vec::new()
        };
        if success.is_empty() && delayed.is_empty() {
            if due {
                state.delay_notified = true;
            }
            return Ok(());
        }
        let content = self.load_content(id).await?;
        if !success.is_empty() {
            let report_id = format!("{id}S{}", state.attempts);
            queue_report(self, id, report_id, envelope, &content, &success).await?;
            state
                .success_notified
                .extend(success.iter().map(|l| l.index));
        }
        if due {
            queue_report(self, id, format!("{id}D"), envelope, &content, &delayed).await?;
            state.delay_notified = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_statuses_are_found_in_reply_text() {
        assert_eq!(
            temporary_status("mx.beta.test: 451 4.3.0 Try again later"),
            "4.3.0"
        );
        assert_eq!(temporary_status("connection refused"), "4.0.0");
        assert_eq!(temporary_status("5.1.1 and 4.4.1"), "4.4.1");
        assert_eq!(temporary_status("4.1234.5"), "4.0.0");
    }

    #[test]
    fn failure_lines_make_temporary_statuses_permanent() {
        let expired = Failure::new("4.4.7", None, "delivery time expired");
        let l = failure_line(3, &expired);
        assert_eq!((l.index, l.status.as_str(), l.remote), (3, "5.4.7", None));
        let full = Failure::new("5.2.2", Some("mx.beta.test"), "552 5.2.2 full");
        let l = failure_line(0, &full);
        assert_eq!(l.status, "5.2.2");
        assert_eq!(l.remote.as_deref(), Some("mx.beta.test"));
        assert_eq!(l.diagnostic.as_deref(), Some("552 5.2.2 full"));
    }
}
