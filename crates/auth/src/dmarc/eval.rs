//! The evaluator machine: policy discovery, Organizational Domains, alignment
//! (RFC 9989 4.10, 5.3).

use std::collections::HashMap;

use super::author::{AuthorDomains, normalize_domain};
use super::record::{AlignmentMode, PolicyRecord, Requested, is_dmarc_record};
use super::result::{DmarcResult, DmarcStatus, PolicyTag};
use super::walk::{Walked, is_same_or_subdomain, tree_walk};
use super::{DmarcError, RecordError};
use crate::dkim::{DkimStatus, SignatureResult};
use crate::dns::{Answer, Query, RecordKind};

/// What to do when the `From:` field names several domains (RFC 9989 5.3.1, 11.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MultipleAuthors {
    /// Evaluate every Author Domain (up to [`Config::max_author_domains`]) and keep the
    /// strictest outcome; the message passes only if every domain passes (the approach
    /// RFC 9989 11.5 recommends). The default.
    #[default]
    EvaluateEach,
    /// Do not evaluate: `permerror` with [`DmarcError::MultipleAuthorDomains`], which an
    /// enforcing receiver rejects.
    Refuse,
}

/// Evaluator limits and choices.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// With [`MultipleAuthors::EvaluateEach`], at most this many different Author
    /// Domains are evaluated; more give `permerror`
    /// ([`DmarcError::TooManyAuthorDomains`]). Default 4.
    pub max_author_domains: usize,
    /// Several Author Domains: evaluate each, or refuse. Default
    /// [`MultipleAuthors::EvaluateEach`].
    pub multiple_authors: MultipleAuthors,
    /// At most this many different Authenticated Identifiers (SPF domain, DKIM `d=`)
    /// get a DNS Tree Walk for relaxed alignment; the others count as not aligned.
    /// Default 4.
    pub max_identifier_walks: usize,
    /// At most this many different passing DKIM domains are considered (in the order
    /// given). Default 16.
    pub max_dkim_identifiers: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_author_domains: 4,
            multiple_authors: MultipleAuthors::EvaluateEach,
            max_identifier_walks: 4,
            max_dkim_identifiers: 16,
        }
    }
}

impl Config {
    /// The most DNS questions one evaluation can ask: one tree walk of at most 8 names
    /// and one existence question per Author Domain, and one walk per walked
    /// identifier.
    pub fn max_queries(&self) -> usize {
        let authors = match self.multiple_authors {
            MultipleAuthors::EvaluateEach => self.max_author_domains.max(1),
            MultipleAuthors::Refuse => 1,
        };
        authors * (super::MAX_WALK_STEPS + 1) + self.max_identifier_walks * super::MAX_WALK_STEPS
    }
}

/// The SPF result DMARC needs: the domain SPF checked (the MAIL FROM domain, or the
/// HELO identity for a null reverse path; RFC 9989 3.2.4) and whether it passed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpfIdentifier {
    /// The domain SPF checked.
    pub domain: String,
    /// SPF gave `pass` for it.
    pub pass: bool,
}

impl SpfIdentifier {
    /// An SPF outcome for `domain`.
    pub fn new(domain: &str, pass: bool) -> Self {
        Self {
            domain: domain.to_owned(),
            pass,
        }
    }
}

/// A DKIM outcome DMARC needs: the signing domain (`d=`) and whether the signature
/// passed. Built from a verifier result with `From<&SignatureResult>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DkimIdentifier {
    /// The `d=` domain.
    pub domain: String,
    /// The signature verified (`pass`).
    pub pass: bool,
}

impl DkimIdentifier {
    /// A DKIM outcome for `domain`.
    pub fn new(domain: &str, pass: bool) -> Self {
        Self {
            domain: domain.to_owned(),
            pass,
        }
    }
}

impl From<&SignatureResult> for DkimIdentifier {
    fn from(r: &SignatureResult) -> Self {
        Self::new(r.domain(), r.status == DkimStatus::Pass)
    }
}

/// What a `_dmarc` TXT answer says.
#[derive(Debug, Clone)]
enum Lookup {
    /// No DMARC Policy Record (none, several, or only non-DMARC TXT records);
    /// `name_exists` when the answer proves the `_dmarc` name exists.
    NoRecord {
        name_exists: bool,
    },
    /// Exactly one record; `Err` when it starts with `v=DMARC1` but cannot be read.
    Record(Result<Box<PolicyRecord>, RecordError>),
    TempFail,
}

/// What an A question for an Author Domain says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Existence {
    Exists,
    Missing,
    Unknown,
}

/// A lookup as the evaluation sees it.
enum Got<'a> {
    Pending,
    NoRecord,
    Record(Option<&'a PolicyRecord>),
    Failed(DmarcError),
}

enum WalkOutcome<'a> {
    Pending,
    Failed(DmarcError),
    Done(Walked<'a>),
}

/// The alignment of one identifier.
enum Aligned {
    Yes,
    No,
    Unknown(DmarcError),
    Pending,
    OverLimit,
}

/// Policy discovery for one Author Domain (phase 1).
enum Discovery<'a> {
    Final(Box<DmarcResult>),
    Found(Box<Found<'a>>),
}

impl Discovery<'_> {
    fn temperror(author: &str, e: DmarcError) -> Self {
        Self::Final(Box::new(DmarcResult::error(
            DmarcStatus::TempError,
            author,
            e,
        )))
    }

    fn none(author: &str) -> Self {
        Self::Final(Box::new(DmarcResult::new(DmarcStatus::None, author)))
    }
}

struct Found<'a> {
    author: &'a str,
    policy_domain: String,
    record: &'a PolicyRecord,
    requested: Requested,
    subdomain: bool,
    /// The Author Domain's Organizational Domain, when determined (or why not).
    org: Option<Result<String, DmarcError>>,
}

#[derive(Default)]
struct Ctx {
    needs: Vec<Query>,
    walked_identifiers: Vec<String>,
}

/// A sans-IO DMARC evaluator: Author Domain(s) and authentication results in, DNS
/// questions out, answers in, one [`DmarcResult`] out.
///
/// Call order:
/// 1. build it with [`from_message`](Self::from_message) (the header section),
///    [`from_domain`](Self::from_domain) or [`new`](Self::new);
/// 2. give the SPF outcome ([`set_spf`](Self::set_spf)) and the DKIM results
///    ([`add_dkim_results`](Self::add_dkim_results) or [`add_dkim`](Self::add_dkim));
/// 3. while [`queries`](Self::queries) is not empty, look each question up and hand the
///    answer to [`supply`](Self::supply) (in any order; `queries` lists every question
///    needed now that has no answer yet, including ones listed before);
/// 4. [`result`](Self::result) is `Some` once no question is outstanding. To end early
///    (time budget spent), call [`give_up`](Self::give_up): every unanswered question
///    then counts as a temporary failure (`temperror`, never `pass`).
///
/// The questions are TXT at `_dmarc.<name>` (the DNS Tree Walk, RFC 9989 4.10) and, when
/// an `np` policy may apply, A at the Author Domain (an NXDOMAIN answer means it does
/// not exist; RFC 9989 3.2.13, A.4). Their number is bounded by
/// [`Config::max_queries`]; answers to questions never asked are ignored.
#[derive(Debug, Clone)]
pub struct Evaluator {
    config: Config,
    authors: Result<Vec<String>, DmarcError>,
    spf: Option<SpfIdentifier>,
    dkim: Vec<String>,
    txt: HashMap<String, Lookup>,
    exists: HashMap<String, Existence>,
    asked: Vec<Query>,
    gave_up: bool,
    pending: Vec<Query>,
    result: Option<DmarcResult>,
}

impl Evaluator {
    /// An evaluator for `author` (the outcome of [`AuthorDomains::from_message`] or
    /// [`AuthorDomains::from_domain`]; an error is the result: `permerror`).
    pub fn new(author: Result<AuthorDomains, DmarcError>, config: Config) -> Self {
        let authors = author.and_then(|a| {
            let d = a.domains().to_vec();
            match (d.len(), config.multiple_authors) {
                (1, _) => Ok(d),
                (n, MultipleAuthors::Refuse) => Err(DmarcError::MultipleAuthorDomains(n)),
                (n, MultipleAuthors::EvaluateEach) if n > config.max_author_domains => {
                    Err(DmarcError::TooManyAuthorDomains(n))
                }
                _ => Ok(d),
            }
        });
        let mut e = Self {
            config,
            authors,
            spf: None,
            dkim: Vec::new(),
            txt: HashMap::new(),
            exists: HashMap::new(),
            asked: Vec::new(),
            gave_up: false,
            pending: Vec::new(),
            result: None,
        };
        e.refresh();
        e
    }

    /// An evaluator for the Author Domain(s) of a message (its header section is
    /// enough); see [`AuthorDomains::from_message`] for the errors.
    pub fn from_message(message: &[u8], config: Config) -> Self {
        Self::new(AuthorDomains::from_message(message), config)
    }

    /// An evaluator for an Author Domain already known.
    pub fn from_domain(domain: &str, config: Config) -> Self {
        Self::new(AuthorDomains::from_domain(domain), config)
    }

    /// The SPF outcome (only a pass gives an SPF-Authenticated Identifier).
    pub fn set_spf(&mut self, spf: SpfIdentifier) {
        self.spf = Some(spf);
        self.refresh();
    }

    /// DKIM results as the verifier gives them; only `pass` counts.
    pub fn add_dkim_results<'r>(&mut self, results: impl IntoIterator<Item = &'r SignatureResult>) {
        for r in results {
            self.push_dkim(&DkimIdentifier::from(r));
        }
        self.refresh();
    }

    /// One DKIM outcome; only a pass counts.
    pub fn add_dkim(&mut self, dkim: DkimIdentifier) {
        self.push_dkim(&dkim);
        self.refresh();
    }

    fn push_dkim(&mut self, dkim: &DkimIdentifier) {
        if !dkim.pass || self.dkim.len() >= self.config.max_dkim_identifiers {
            return;
        }
        if let Some(d) = normalize_domain(&dkim.domain)
            && !self.dkim.contains(&d)
        {
            self.dkim.push(d);
        }
    }

    /// The DNS questions needed now and not answered yet.
    pub fn queries(&self) -> Vec<Query> {
        self.pending.clone()
    }

    /// The answer to a question from [`queries`](Self::queries). The first answer to a
    /// question counts; answers to questions not asked are ignored.
    pub fn supply(&mut self, query: &Query, answer: Answer) {
        if !self.asked.contains(query) {
            return;
        }
        match query.kind {
            RecordKind::Txt => {
                let Some(domain) = query.name.strip_prefix("_dmarc.") else {
                    return;
                };
                if self.txt.contains_key(domain) {
                    return;
                }
                self.txt.insert(domain.to_owned(), read_txt(&answer));
            }
            RecordKind::A => {
                if self.exists.contains_key(&query.name) {
                    return;
                }
                let e = match answer {
                    Answer::NxDomain => Existence::Missing,
                    Answer::TempFail => Existence::Unknown,
                    _ => Existence::Exists,
                };
                self.exists.insert(query.name.clone(), e);
            }
            _ => return,
        }
        self.refresh();
    }

    /// Stops waiting (the time budget is spent): every unanswered question counts as a
    /// temporary DNS failure, so [`result`](Self::result) is available now.
    pub fn give_up(&mut self) {
        self.gave_up = true;
        self.refresh();
    }

    /// True once the result is known.
    pub fn is_done(&self) -> bool {
        self.result.is_some()
    }

    /// The result, once no DNS question is outstanding.
    pub fn result(&self) -> Option<&DmarcResult> {
        self.result.as_ref()
    }

    /// Every DNS question asked so far (for tests and logs).
    pub fn asked(&self) -> &[Query] {
        &self.asked
    }

    fn refresh(&mut self) {
        let mut ctx = Ctx::default();
        let result = self.run(&mut ctx);
        for q in &ctx.needs {
            if !self.asked.contains(q) {
                self.asked.push(q.clone());
            }
        }
        self.pending = ctx.needs;
        self.result = result;
    }

    fn run(&self, ctx: &mut Ctx) -> Option<DmarcResult> {
        let authors = match &self.authors {
            Ok(a) => a,
            Err(e) => return Some(DmarcResult::error(DmarcStatus::PermError, "", e.clone())),
        };
        // Phase 1: policy discovery (and the Author Domain's Organizational Domain when
        // relaxed alignment needs it) for every Author Domain at once.
        let mut found = Vec::with_capacity(authors.len());
        for a in authors {
            found.push(self.discover(a, ctx));
        }
        if !ctx.needs.is_empty() {
            return None;
        }
        // Phase 2: alignment, walking the identifiers' trees where needed.
        let mut results = Vec::with_capacity(found.len());
        for f in found.into_iter().flatten() {
            match f {
                Discovery::Final(r) => results.push(Some(*r)),
                Discovery::Found(f) => results.push(self.align(&f, ctx)),
            }
        }
        if !ctx.needs.is_empty() {
            return None;
        }
        let results: Vec<DmarcResult> = results.into_iter().flatten().collect();
        Some(combine(results))
    }

    fn need(&self, ctx: &mut Ctx, q: Query) {
        if !ctx.needs.contains(&q) {
            ctx.needs.push(q);
        }
    }

    fn got(&self, domain: &str, ctx: &mut Ctx) -> Got<'_> {
        let name = format!("_dmarc.{domain}");
        if name.len() > 253 {
            // No such DNS name can exist.
            return Got::NoRecord;
        }
        match self.txt.get(domain) {
            Some(Lookup::NoRecord { .. }) => Got::NoRecord,
            Some(Lookup::Record(r)) => Got::Record(r.as_deref().ok()),
            Some(Lookup::TempFail) => Got::Failed(DmarcError::DnsTempFail { name }),
            None if self.gave_up => Got::Failed(DmarcError::Unanswered { name }),
            None => {
                self.need(ctx, Query::new(&name, RecordKind::Txt));
                Got::Pending
            }
        }
    }

    /// The DNS Tree Walk from `start` (RFC 9989 4.10), stopping at the first record
    /// with `psd=y` or `psd=n`.
    fn walk(&self, start: &str, ctx: &mut Ctx) -> WalkOutcome<'_> {
        let names = tree_walk(start);
        let mut records = Vec::new();
        for name in names {
            match self.got(&name, ctx) {
                Got::Pending => return WalkOutcome::Pending,
                Got::Failed(e) => return WalkOutcome::Failed(e),
                Got::NoRecord => {}
                Got::Record(r) => {
                    let stop = r.is_some_and(|r| r.psd != super::PsdFlag::Unknown);
                    records.push((name, r));
                    if stop {
                        break;
                    }
                }
            }
        }
        WalkOutcome::Done(Walked {
            start: start.to_owned(),
            records,
        })
    }

    /// The identifiers that need relaxed alignment against `author` under `record`.
    fn needs_org(&self, author: &str, record: &PolicyRecord) -> bool {
        let spf = self
            .spf
            .as_ref()
            .filter(|s| s.pass)
            .and_then(|s| normalize_domain(&s.domain));
        let spf_needs = record.aspf == AlignmentMode::Relaxed && spf.is_some_and(|d| d != author);
        let dkim_needs =
            record.adkim == AlignmentMode::Relaxed && self.dkim.iter().any(|d| d != author);
        spf_needs || dkim_needs
    }

    /// Phase 1 for one Author Domain; `None` while questions are pending.
    fn discover<'a>(&'a self, author: &'a str, ctx: &mut Ctx) -> Option<Discovery<'a>> {
        let first = self.got(author, ctx);
        let (policy_domain, record, org) = match first {
            Got::Pending => return None,
            Got::Failed(e) => {
                return Some(Discovery::temperror(author, e));
            }
            Got::Record(r) => {
                // The Author Domain's own record is the policy record (RFC 9989 4.10.1).
                let org = match r {
                    Some(rec) if self.needs_org(author, rec) => match self.walk(author, ctx) {
                        WalkOutcome::Pending => return None,
                        WalkOutcome::Failed(e) => Some(Err(e)),
                        WalkOutcome::Done(w) => Some(Ok(w.organizational_domain())),
                    },
                    _ => None,
                };
                (author.to_owned(), r, org)
            }
            Got::NoRecord => match self.walk(author, ctx) {
                WalkOutcome::Pending => return None,
                WalkOutcome::Failed(e) => {
                    return Some(Discovery::temperror(author, e));
                }
                WalkOutcome::Done(w) => {
                    if w.records.is_empty() {
                        return Some(Discovery::none(author));
                    }
                    let org = w.organizational_domain();
                    // The Organizational Domain's record, else the Public Suffix
                    // Domain's (RFC 9989 4.10.1).
                    let (domain, r) = match w.record_at(&org) {
                        Some(r) => (org.clone(), r),
                        None => match w.public_suffix_record() {
                            Some((n, r)) => (n.to_owned(), r),
                            None => {
                                return Some(Discovery::none(author));
                            }
                        },
                    };
                    (domain, r, Some(Ok(org)))
                }
            },
        };
        let unusable = |org: Option<Result<String, DmarcError>>| {
            let mut r = DmarcResult::error(
                DmarcStatus::PermError,
                author,
                DmarcError::InvalidPolicyRecord {
                    domain: policy_domain.clone(),
                },
            );
            r.policy_domain = Some(policy_domain.clone());
            r.organizational_domain = org.and_then(Result::ok);
            Some(Discovery::Final(Box::new(r)))
        };
        let Some(record) = record else {
            return unusable(org);
        };
        let Some(requested) = record.requested() else {
            let mut d = unusable(org);
            if let Some(Discovery::Final(r)) = &mut d {
                r.record = Some(record.clone());
            }
            return d;
        };
        let subdomain = policy_domain != author;
        Some(Discovery::Found(Box::new(Found {
            author,
            policy_domain,
            record,
            requested,
            subdomain,
            org,
        })))
    }

    /// Whether the Author Domain exists, when an `np` policy makes it matter.
    fn existence(&self, f: &Found<'_>, ctx: &mut Ctx) -> Option<Existence> {
        if let Some(Lookup::NoRecord { name_exists: true }) | Some(Lookup::Record(_)) =
            self.txt.get(f.author)
        {
            // `_dmarc.<author>` exists, so the Author Domain does too.
            return Some(Existence::Exists);
        }
        match self.exists.get(f.author) {
            Some(e) => Some(*e),
            None if self.gave_up => Some(Existence::Unknown),
            None => {
                self.need(ctx, Query::new(f.author, RecordKind::A));
                None
            }
        }
    }

    fn align_one(&self, f: &Found<'_>, id: &str, mode: AlignmentMode, ctx: &mut Ctx) -> Aligned {
        if id == f.author {
            return Aligned::Yes;
        }
        if mode == AlignmentMode::Strict {
            return Aligned::No;
        }
        let org_a = match &f.org {
            Some(Ok(o)) => o,
            Some(Err(e)) => return Aligned::Unknown(e.clone()),
            // Not determined: only when no relaxed alignment was needed.
            None => return Aligned::No,
        };
        // The identifier's Organizational Domain is itself or one of its parents, so
        // it can only equal the author's if that is one.
        if !is_same_or_subdomain(id, org_a) {
            return Aligned::No;
        }
        if !ctx.walked_identifiers.iter().any(|w| w == id) {
            if ctx.walked_identifiers.len() >= self.config.max_identifier_walks {
                return Aligned::OverLimit;
            }
            ctx.walked_identifiers.push(id.to_owned());
        }
        match self.walk(id, ctx) {
            WalkOutcome::Pending => Aligned::Pending,
            WalkOutcome::Failed(e) => Aligned::Unknown(e),
            WalkOutcome::Done(w) => {
                if w.organizational_domain() == *org_a {
                    Aligned::Yes
                } else {
                    Aligned::No
                }
            }
        }
    }

    /// Phase 2 for one Author Domain; `None` while questions are pending.
    fn align(&self, f: &Found<'_>, ctx: &mut Ctx) -> Option<DmarcResult> {
        let mut r = DmarcResult::new(DmarcStatus::Fail, f.author);
        r.policy_domain = Some(f.policy_domain.clone());
        r.organizational_domain = f.org.clone().and_then(Result::ok);
        r.record = Some(f.record.clone());
        r.testing = f.record.testing;
        let mut pending = false;
        let mut unknown: Option<DmarcError> = None;
        let mut note = |a: Aligned, r: &mut DmarcResult| -> bool {
            match a {
                Aligned::Yes => return true,
                Aligned::No => {}
                Aligned::Pending => pending = true,
                Aligned::OverLimit => r.identifier_limit_reached = true,
                Aligned::Unknown(e) => {
                    unknown.get_or_insert(e);
                }
            }
            false
        };
        if let Some(spf) = self.spf.as_ref().filter(|s| s.pass)
            && let Some(d) = normalize_domain(&spf.domain)
        {
            let a = self.align_one(f, &d, f.record.aspf, ctx);
            r.spf_aligned = note(a, &mut r);
            r.spf_domain = Some(d);
        }
        for d in &self.dkim {
            let a = self.align_one(f, d, f.record.adkim, ctx);
            if note(a, &mut r) {
                r.dkim_aligned.push(d.clone());
            }
        }
        // The policy (RFC 9989 4.10.1): p for the Author Domain's own record; for a
        // subdomain sp, or np when it does not exist.
        let req = f.requested;
        let (policy, tag) = if !f.subdomain {
            (req.p, PolicyTag::P)
        } else {
            let existing = match req.sp {
                Some(sp) => (sp, PolicyTag::Sp),
                None => (req.p, PolicyTag::P),
            };
            match req.np {
                Some(np) if np != existing.0 => match self.existence(f, ctx) {
                    None => {
                        pending = true;
                        existing
                    }
                    Some(Existence::Exists) => existing,
                    Some(Existence::Missing) => (np, PolicyTag::Np),
                    // Existence unknown: the stricter of the two, never the friendlier.
                    Some(Existence::Unknown) => {
                        if np > existing.0 {
                            (np, PolicyTag::Np)
                        } else {
                            existing
                        }
                    }
                },
                _ => existing,
            }
        };
        if pending {
            return None;
        }
        r.policy = Some(policy);
        r.policy_tag = Some(tag);
        if r.spf_aligned || !r.dkim_aligned.is_empty() {
            r.status = DmarcStatus::Pass;
        } else if let Some(e) = unknown {
            r.status = DmarcStatus::TempError;
            r.error = Some(e);
        }
        Some(r)
    }
}

/// Reads a `_dmarc` TXT answer (RFC 9989 4.10 step 2): records not starting with
/// `v=DMARC1` are discarded; several DMARC records are all discarded.
fn read_txt(answer: &Answer) -> Lookup {
    match answer {
        Answer::TempFail => Lookup::TempFail,
        Answer::NxDomain => Lookup::NoRecord { name_exists: false },
        _ => {
            let mut dmarc = answer.txt_records().filter(|t| is_dmarc_record(t));
            match (dmarc.next(), dmarc.next()) {
                (Some(one), None) => Lookup::Record(PolicyRecord::parse(one).map(Box::new)),
                _ => Lookup::NoRecord { name_exists: true },
            }
        }
    }
}

/// Several Author Domains: the first fail (strictest policy first), else temperror,
/// permerror, none, pass (RFC 9989 11.5: "apply the most strict policy selected among
/// the checks that fail").
fn combine(mut results: Vec<DmarcResult>) -> DmarcResult {
    if results.len() == 1 {
        return results.remove(0);
    }
    let rank = |r: &DmarcResult| match r.status {
        DmarcStatus::Fail => (0, std::cmp::Reverse(r.applied_policy())),
        DmarcStatus::TempError => (1, std::cmp::Reverse(None)),
        DmarcStatus::PermError => (2, std::cmp::Reverse(None)),
        DmarcStatus::None => (3, std::cmp::Reverse(None)),
        DmarcStatus::Pass => (4, std::cmp::Reverse(None)),
    };
    let best = results
        .iter()
        .enumerate()
        .min_by_key(|(i, r)| (rank(r), *i))
        .map_or(0, |(i, _)| i);
    let mut top = results[best].clone();
    top.per_author = results;
    top
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dmarc::Policy;

    fn policy(s: &str) -> Policy {
        match s {
            "reject" => Policy::Reject,
            "quarantine" => Policy::Quarantine,
            _ => Policy::None,
        }
    }

    #[test]
    fn combine_prefers_the_strictest_failure() {
        let mut pass = DmarcResult::new(DmarcStatus::Pass, "a.example");
        pass.policy = Some(policy("reject"));
        let mut q = DmarcResult::new(DmarcStatus::Fail, "b.example");
        q.policy = Some(policy("quarantine"));
        let mut rj = DmarcResult::new(DmarcStatus::Fail, "c.example");
        rj.policy = Some(policy("reject"));
        let r = combine(vec![pass.clone(), q.clone(), rj.clone()]);
        assert_eq!(r.author_domain, "c.example");
        assert_eq!(r.per_author.len(), 3);
        let none = DmarcResult::new(DmarcStatus::None, "d.example");
        let r = combine(vec![pass.clone(), none]);
        assert_eq!(
            r.status,
            DmarcStatus::None,
            "pass needs every author domain"
        );
    }
}
