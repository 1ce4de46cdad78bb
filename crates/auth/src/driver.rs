//! An async driver (feature `tokio`): the machines' DNS questions answered by
//! postwerk-mx's [`Resolver`], which brings its answer cache, its RFC 5452 hardening
//! (random ids and ports per transmission, answers checked against the question), its
//! retries over the name servers and its lookup deadline.
//!
//! ```no_run
//! # async fn demo(message: &[u8]) -> std::io::Result<()> {
//! use postwerk_auth::dkim::{Verifier, VerifierConfig};
//! use postwerk_mx::{Options, resolver::Resolver};
//! let resolver = Resolver::from_system_conf(Options::default())?;
//! let mut verifier = Verifier::new(VerifierConfig::default());
//! verifier.update(message);
//! postwerk_auth::driver::supply_dkim_keys(&resolver, &mut verifier).await;
//! let results = verifier.finish(1_700_000_000);
//! # let _ = results; Ok(()) }
//! ```

use hickory_proto::op::Message;
use postwerk_mx::RouteError;
use postwerk_mx::resolver::Resolver;
use tokio::task::JoinSet;

use crate::dkim::Verifier;
use crate::dns::{Answer, Query, RecordKind};

/// At most this many questions of one batch are in flight at once.
const MAX_CONCURRENT: usize = 16;

fn mx_kind(kind: RecordKind) -> postwerk_mx::RecordKind {
    match kind {
        RecordKind::Txt => postwerk_mx::RecordKind::Txt,
        RecordKind::A => postwerk_mx::RecordKind::A,
        RecordKind::Aaaa => postwerk_mx::RecordKind::Aaaa,
        RecordKind::Mx => postwerk_mx::RecordKind::Mx,
        RecordKind::Ptr => postwerk_mx::RecordKind::Ptr,
    }
}

/// The answer to one question. A name that cannot be asked (not a valid DNS name) is
/// [`Answer::NxDomain`]: no such name can exist. Every other failure (timeouts, server
/// failures, lame answers, the lookup deadline) is [`Answer::TempFail`].
pub async fn answer(resolver: &Resolver, query: &Query) -> Answer {
    match resolver.query(&query.name, mx_kind(query.kind)).await {
        Ok(bytes) => match Message::from_vec(&bytes) {
            Ok(msg) => Answer::from_dns_response(&msg),
            Err(_) => Answer::TempFail,
        },
        Err(RouteError::InvalidDomain { .. }) => Answer::NxDomain,
        Err(_) => Answer::TempFail,
    }
}

/// The answers to several questions, asked concurrently (at most 16 at a time), in the
/// order of `queries`.
pub async fn answers(resolver: &Resolver, queries: &[Query]) -> Vec<(Query, Answer)> {
    let mut out: Vec<Option<Answer>> = vec![None; queries.len()];
    let mut set = JoinSet::new();
    let mut next = 0;
    loop {
        while set.len() < MAX_CONCURRENT
            && let Some(q) = queries.get(next)
        {
            let (resolver, q, i) = (resolver.clone(), q.clone(), next);
            set.spawn(async move { (i, answer(&resolver, &q).await) });
            next += 1;
        }
        match set.join_next().await {
            Some(Ok((i, a))) => {
                if let Some(slot) = out.get_mut(i) {
                    *slot = Some(a);
                }
            }
            // A task that panicked or was cancelled leaves its answer a temporary failure.
            Some(Err(_)) => {}
            None => break,
        }
    }
    queries
        .iter()
        .cloned()
        .zip(out.into_iter().map(|a| a.unwrap_or(Answer::TempFail)))
        .collect()
}

/// Looks up every key `verifier` asks for (call it once the header block has been fed,
/// see [`Verifier::headers_complete`]) and supplies the answers.
pub async fn supply_dkim_keys(resolver: &Resolver, verifier: &mut Verifier) {
    let keys = verifier.key_queries();
    let queries: Vec<Query> = keys.iter().map(|k| k.query()).collect();
    for (q, a) in answers(resolver, &queries).await {
        verifier.supply_key(&q.name, a);
    }
}
