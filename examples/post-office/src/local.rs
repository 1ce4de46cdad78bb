//! Local delivery: the recipients of a message that have a mailbox here, in a slot of the
//! local lane (never behind remote delivery), to their Maildirs or, with `[delivery]
//! lmtp`, to the local delivery agent in one LMTP transaction.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use postwerk_message::build::{Action, return_path_field};
use tracing::{info, warn};

use crate::delivery::{Deliverer, Outcome, Progress};
use crate::remote::{outcomes_of, transaction};

impl Deliverer {
    /// The local recipients, in a slot of the local lane.
    pub(crate) async fn local_part(&self, progress: &Progress, recipients: Vec<(usize, String)>) {
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
        let return_path = Bytes::from(return_path_field(&envelope.from));
        // One name per queue entry and recipient: a retry after a crash finds the copy it
        // already delivered instead of writing a second one.
        let key = format!("{}.Q{id}R{index}", envelope.received_at);
        let result = self
            .maildirs
            .deliver(user.to_owned(), key, vec![return_path, content.clone()])
            .await;
        match result {
            Ok(name) => {
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
            Err(e) => {
                warn!(queue_id = id, to = rcpt, error = %e, "maildir delivery failed");
                Outcome::Temporary(format!("local delivery failed: {e}"))
            }
        }
    }
}
