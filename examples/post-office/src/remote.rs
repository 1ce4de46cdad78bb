//! Remote delivery: the recipients of a message at one remote domain, routed by MX (or
//! through the smarthost) and sent with the SMTP client driver ([`crate::outbound`]),
//! over a cached session when one is parked for the server.
//!
//! Each delivery holds a slot of its destination ([`crate::destinations`]: the domain, or
//! the smarthost) and one of the remote total, and tells the destination how it went:
//! a session that got an answer to MAIL is a success, a destination whose every address
//! failed at connection level (refused, timed out, failed greeting or handshake) a
//! failure. A destination that is down defers its recipients at once, without a
//! connection.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use postwerk_message::build::Action;
use postwerk_mx::RouteError;
use postwerk_smtp::client::{Delivery, Recipient, Transaction, TransactionResult};
use postwerk_smtp::codec::path::{
    ForwardPath, PathOptions, ReversePath, parse_forward_path, parse_reverse_path,
};
use tracing::info;

use crate::delivery::{Deliverer, Outcome, Progress};
use crate::destinations::{Acquired, Policy};
use crate::outbound::{Refusal, SessionError};
use crate::queue::Envelope;

/// At most this many MX addresses are tried for one domain in one attempt.
const MAX_ADDRESSES: usize = 10;

impl Deliverer {
    /// The recipients at one remote domain, in a slot of that destination: through the
    /// smarthost when one is configured, else to the domain's MX hosts.
    pub(crate) async fn remote_part(
        &self,
        progress: &Progress,
        domain: String,
        indexes: Vec<usize>,
    ) {
        let id = progress.id.as_str();
        let relay = self.config.outbound.relay.clone();
        // Through a smarthost, every domain is one destination: the smarthost.
        let destination = relay.clone().unwrap_or_else(|| domain.clone());
        let policy = Policy::of(&self.config.outbound);
        let mut slot = match self.destinations.acquire(&destination, &policy).await {
            Acquired::Slot(slot) => slot,
            Acquired::Closed => {
                progress.cancelled.store(true, Ordering::Relaxed);
                return;
            }
            Acquired::Down { until, why } => {
                info!(
                    queue_id = id,
                    destination,
                    reason = why,
                    "destination down; deferred without connecting"
                );
                progress.not_before.fetch_max(until, Ordering::Relaxed);
                self.record_all(progress, &indexes, Outcome::Temporary(why))
                    .await;
                return;
            }
        };
        let Some(_total) = self.lanes.remote().await else {
            progress.cancelled.store(true, Ordering::Relaxed);
            return;
        };
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
                    self.record_all(progress, &indexes, route_failure(&e)).await;
                    return;
                }
            },
        };
        let targets = match targets {
            Ok(targets) => targets,
            Err(why) => {
                crate::metrics::count(&crate::metrics::METRICS.dns_failures);
                self.record_all(progress, &indexes, Outcome::Temporary(why))
                    .await;
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
        // Addresses whose session failed before EHLO was answered.
        let mut unreachable = 0usize;
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
            match &sent {
                Ok(sent) if sent.result.mail_reply().is_some() => slot.succeeded(),
                Ok(sent) if !sent.established => {
                    unreachable += 1;
                    let why = sent.result.error().map(ToString::to_string);
                    last_error = format!("{host}[{}]: {}", addr.ip(), why.unwrap_or_default());
                }
                Err(SessionError::Io(_) | SessionError::Tls(_)) => unreachable += 1,
                _ => {}
            }
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
        if tried > 0 && unreachable == tried {
            slot.failed(last_error.clone());
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
pub(crate) fn outcomes_of(
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
pub(crate) fn transaction(
    envelope: &Envelope,
    waiting: &[usize],
    body: Bytes,
) -> io::Result<Transaction> {
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

fn route_failure(e: &RouteError) -> Outcome {
    let text = format!("{} {} {e}", e.smtp_code(), e.enhanced_status());
    if e.is_permanent() {
        Outcome::Permanent(e.enhanced_status().to_string(), None, text)
    } else {
        Outcome::Temporary(text)
    }
}
