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

use std::time::Duration;

use crate::dkim::Verifier;
use crate::dmarc::{DmarcResult, Evaluator};
use crate::dns::{Answer, Query, RecordKind};
use crate::spf::{SpfCheck, SpfOutput};

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
        Ok(bytes) => parsed(&bytes),
        Err(RouteError::InvalidDomain { .. }) => Answer::NxDomain,
        Err(_) => Answer::TempFail,
    }
}

/// The answer in a validated DNS response (as [`Resolver::query`] returns it).
fn parsed(bytes: &[u8]) -> Answer {
    match Message::from_vec(bytes) {
        Ok(msg) => Answer::from_dns_response(&msg),
        Err(_) => Answer::TempFail,
    }
}

/// The answers to several questions, asked concurrently (at most 16 at a time), in the
/// order of `queries`.
pub async fn answers(resolver: &Resolver, queries: &[Query]) -> Vec<(Query, Answer)> {
    // Cached answers are read here; only the others need a task each.
    let mut out: Vec<Option<Answer>> = queries
        .iter()
        .map(|q| Some(parsed(&resolver.cached_query(&q.name, mx_kind(q.kind))?)))
        .collect();
    let mut missing = (0..queries.len())
        .filter(|&i| out[i].is_none())
        .collect::<Vec<_>>()
        .into_iter();
    let mut set = JoinSet::new();
    loop {
        while set.len() < MAX_CONCURRENT
            && let Some(i) = missing.next()
        {
            let (resolver, q) = (resolver.clone(), queries[i].clone());
            set.spawn(async move { (i, answer(&resolver, &q).await) });
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

/// A machine that asks DNS questions in rounds.
trait Asks {
    fn pending(&self) -> Vec<Query>;
    fn answer(&mut self, query: &Query, answer: Answer);
    fn done(&self) -> bool;
}

impl Asks for SpfCheck {
    fn pending(&self) -> Vec<Query> {
        self.queries()
    }
    fn answer(&mut self, query: &Query, answer: Answer) {
        self.supply(query, answer);
    }
    fn done(&self) -> bool {
        self.result().is_some()
    }
}

impl Asks for Evaluator {
    fn pending(&self) -> Vec<Query> {
        self.queries()
    }
    fn answer(&mut self, query: &Query, answer: Answer) {
        self.supply(query, answer);
    }
    fn done(&self) -> bool {
        self.is_done()
    }
}

/// At most this many rounds of questions (each machine bounds its questions itself; this
/// only guards against a machine that would ask again and again).
const MAX_ROUNDS: usize = 64;

/// Answers the machine's questions, round after round, until it is done, it stops
/// asking, or `budget` has passed. Returns whether it finished within the budget.
async fn drive(resolver: &Resolver, machine: &mut impl Asks, budget: Duration) -> bool {
    let work = async {
        for _ in 0..MAX_ROUNDS {
            if machine.done() {
                return;
            }
            let queries = machine.pending();
            if queries.is_empty() {
                return;
            }
            for (q, a) in answers(resolver, &queries).await {
                machine.answer(&q, a);
            }
        }
    };
    tokio::time::timeout(budget, work).await.is_ok() && machine.done()
}

/// Runs an SPF check to its result. The check's own time budget
/// ([`SpfConfig::time_budget_secs`](crate::spf::SpfConfig::time_budget_secs), counted
/// from `now`, the time the check was created with) bounds it: a check still waiting then
/// ends `temperror`. The result is `None` only if the machine stopped asking without
/// concluding, which its contract rules out.
pub async fn check_spf(resolver: &Resolver, mut check: SpfCheck, now: u64) -> Option<SpfOutput> {
    let budget = check.deadline().map_or(Duration::ZERO, |d| {
        Duration::from_secs(d.saturating_sub(now))
    });
    if !drive(resolver, &mut check, budget).await {
        check.handle_timeout(u64::MAX);
    }
    check.result().cloned()
}

/// Runs a DMARC evaluation to its result within `budget`; questions left unanswered then
/// count as temporary failures ([`Evaluator::give_up`]: `temperror`, never `pass`). The
/// result is `None` only if the machine stopped asking without concluding, which its
/// contract rules out.
pub async fn evaluate_dmarc(
    resolver: &Resolver,
    mut evaluator: Evaluator,
    budget: Duration,
) -> Option<DmarcResult> {
    if !drive(resolver, &mut evaluator, budget).await {
        evaluator.give_up();
    }
    evaluator.result().cloned()
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
