//! The check machine: `check_host()` of RFC 7208 section 4 over DNS answers supplied by
//! the caller.
//!
//! The machine keeps the answers it was given and evaluates `check_host()` from the
//! start each time the last outstanding question is answered. An evaluation stops at the
//! first term that needs an answer it does not have, and lists every question that term
//! needs (all the address questions of an `mx` at once). Evaluation is deterministic, so
//! each run gets one step further; the limits of RFC 7208 4.6.4 bound the number of runs
//! and of questions.

use std::collections::HashMap;
use std::net::IpAddr;

use super::error::SpfError;
use super::macros::{self, Letter, MacroString, Target};
use super::record::{self, Mechanism, SpfRecord, in_network};
use super::{Identity, SpfConfig, SpfOutput, SpfResult};
use crate::dns::{Answer, Query, Record, RecordKind};

/// Whatever the configuration says, no check evaluates more DNS-querying terms than this
/// (it also bounds the nesting of `include` and `redirect`).
const HARD_MAX_LOOKUPS: u32 = 100;
/// At most this many MX names per `mx` (RFC 7208 4.6.4: more is `permerror`).
const MAX_MX_NAMES: usize = 10;
/// At most this many PTR names are checked per `ptr` or `%{p}` (RFC 7208 4.6.4: the
/// others are ignored).
const MAX_PTR_NAMES: usize = 10;

/// One SPF check (RFC 7208 `check_host()`) of a client address for the MAIL FROM or
/// HELO identity.
///
/// Call order: [`queries`](Self::queries) lists the unanswered DNS questions;
/// [`supply`](Self::supply) answers one (any order; several may be outstanding);
/// repeat until [`result`](Self::result) is `Some`. [`handle_timeout`](Self::handle_timeout)
/// ends a check that outlived its time budget. See the [module docs](super) for a
/// driver loop.
#[derive(Debug, Clone)]
pub struct SpfCheck {
    config: SpfConfig,
    identity: Identity,
    ip: IpAddr,
    sender: String,
    local: String,
    sender_domain: String,
    helo: String,
    domain: String,
    now: u64,
    answers: HashMap<Query, Answer>,
    outstanding: Vec<Query>,
    output: Option<SpfOutput>,
}

impl SpfCheck {
    /// A check of the MAIL FROM identity (RFC 7208 2.4): `mail_from` is the reverse-path
    /// without angle brackets, empty for the null sender (then `postmaster@helo` is
    /// checked); `helo` is the HELO/EHLO name (for `%{h}`); `now` is the current time in
    /// seconds since the Unix epoch (for `%{t}` and the time budget).
    ///
    /// An IPv4-mapped IPv6 `ip` is checked as the IPv4 address (RFC 7208 5).
    pub fn mail_from(config: SpfConfig, ip: IpAddr, mail_from: &str, helo: &str, now: u64) -> Self {
        let (local, domain) = if mail_from.is_empty() {
            ("", helo)
        } else {
            match mail_from.rfind('@') {
                Some(at) => (&mail_from[..at], &mail_from[at + 1..]),
                None => ("", mail_from),
            }
        };
        Self::start(config, Identity::MailFrom, ip, local, domain, helo, now)
    }

    /// A check of the HELO identity (RFC 7208 2.3): `helo` is the HELO/EHLO name, checked
    /// as `postmaster@helo`.
    pub fn helo(config: SpfConfig, ip: IpAddr, helo: &str, now: u64) -> Self {
        Self::start(config, Identity::Helo, ip, "", helo, helo, now)
    }

    fn start(
        config: SpfConfig,
        identity: Identity,
        ip: IpAddr,
        local: &str,
        domain: &str,
        helo: &str,
        now: u64,
    ) -> Self {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        // RFC 7208 4.3: "postmaster" for a missing local-part.
        let local = if local.is_empty() {
            "postmaster"
        } else {
            local
        };
        let domain = domain.strip_suffix('.').unwrap_or(domain);
        let mut check = Self {
            config,
            identity,
            ip,
            sender: format!("{local}@{domain}"),
            local: local.to_owned(),
            sender_domain: domain.to_owned(),
            helo: helo.to_owned(),
            domain: domain.to_owned(),
            now,
            answers: HashMap::new(),
            outstanding: Vec::new(),
            output: None,
        };
        if is_valid_initial_domain(domain) {
            check.evaluate();
        } else {
            // RFC 7208 4.3: a malformed or single-label domain: "none", no DNS.
            check.finish(SpfResult::None, None, None, None, 0, 0);
        }
        check
    }

    /// The DNS questions asked and not yet answered (empty once the check is done).
    pub fn queries(&self) -> Vec<Query> {
        self.outstanding.clone()
    }

    /// Answers a question from [`queries`](Self::queries). An answer to a question that
    /// is not outstanding is ignored. When the last outstanding question is answered the
    /// machine evaluates further: it then has new questions or a result.
    pub fn supply(&mut self, query: &Query, answer: Answer) {
        if self.output.is_some() {
            return;
        }
        let Some(pos) = self.outstanding.iter().position(|q| q == query) else {
            return;
        };
        let query = self.outstanding.remove(pos);
        self.answers.insert(query, answer);
        if self.outstanding.is_empty() {
            self.evaluate();
        }
    }

    /// The outcome, once the check is done.
    pub fn result(&self) -> Option<&SpfOutput> {
        self.output.as_ref()
    }

    /// When the time budget ends ([`SpfConfig::time_budget_secs`] after the `now` given
    /// at construction), while the check is not done.
    pub fn deadline(&self) -> Option<u64> {
        self.output
            .is_none()
            .then(|| self.now.saturating_add(self.config.time_budget_secs))
    }

    /// Tells the machine the time: at or after the [`deadline`](Self::deadline) a check
    /// still waiting for DNS ends `temperror` ([`SpfError::TimeBudget`]).
    pub fn handle_timeout(&mut self, now: u64) {
        if let Some(deadline) = self.deadline()
            && now >= deadline
        {
            let problem = SpfError::TimeBudget(self.config.time_budget_secs);
            self.finish(SpfResult::TempError, None, None, Some(problem), 0, 0);
        }
    }

    fn finish(
        &mut self,
        result: SpfResult,
        mechanism: Option<String>,
        explanation: Option<String>,
        problem: Option<SpfError>,
        dns_lookups: u32,
        void_lookups: u32,
    ) {
        self.outstanding.clear();
        self.output = Some(SpfOutput {
            result,
            identity: self.identity,
            domain: self.domain.clone(),
            explanation,
            mechanism,
            problem,
            dns_lookups,
            void_lookups,
        });
    }

    fn evaluate(&mut self) {
        let mut eval = Eval {
            chk: self,
            lookups: 0,
            voids: 0,
            need: Vec::new(),
        };
        let step = eval.run();
        let (lookups, voids, mut need) = (eval.lookups, eval.voids, eval.need);
        match step {
            Ok(done) => self.finish(
                done.result,
                done.mechanism,
                done.explanation,
                None,
                lookups,
                voids,
            ),
            Err(Halt::Error(e)) => self.finish(e.result(), None, None, Some(e), lookups, voids),
            Err(Halt::Need) => {
                let mut seen = std::collections::HashSet::new();
                need.retain(|q| !self.answers.contains_key(q) && seen.insert(q.clone()));
                self.outstanding = need;
            }
        }
    }
}

/// Why an evaluation stopped before a result.
enum Halt {
    /// Answers are missing (listed in [`Eval::need`]).
    Need,
    /// `permerror` or `temperror`.
    Error(SpfError),
}

impl From<SpfError> for Halt {
    fn from(e: SpfError) -> Self {
        Self::Error(e)
    }
}

/// What one `check_host()` gave.
struct Outcome {
    result: SpfResult,
    /// `exp=` of the record that decided, with that record's domain.
    exp: Option<(MacroString, String)>,
    mechanism: Option<String>,
}

impl Outcome {
    fn plain(result: SpfResult) -> Self {
        Self {
            result,
            exp: None,
            mechanism: None,
        }
    }
}

struct Done {
    result: SpfResult,
    mechanism: Option<String>,
    explanation: Option<String>,
}

/// One evaluation run over the answers known so far.
struct Eval<'a> {
    chk: &'a SpfCheck,
    lookups: u32,
    voids: u32,
    need: Vec<Query>,
}

impl<'a> Eval<'a> {
    fn run(&mut self) -> Result<Done, Halt> {
        let top = self.check_host(&self.chk.domain)?;
        let explanation = match (&top.result, top.exp) {
            (SpfResult::Fail, Some((spec, domain))) => self.explain(&spec, &domain)?,
            _ => None,
        };
        Ok(Done {
            result: top.result,
            mechanism: top.mechanism,
            explanation,
        })
    }

    /// The answer to `query`, or `None` (and `query` listed as needed).
    fn lookup(&mut self, query: Query) -> Option<&'a Answer> {
        let chk: &'a SpfCheck = self.chk;
        match chk.answers.get(&query) {
            Some(a) => Some(a),
            None => {
                self.need.push(query);
                None
            }
        }
    }

    fn answer(&mut self, query: Query) -> Result<&'a Answer, Halt> {
        self.lookup(query).ok_or(Halt::Need)
    }

    fn count_lookup(&mut self) -> Result<(), Halt> {
        let max = self.chk.config.max_dns_lookups.min(HARD_MAX_LOOKUPS);
        self.lookups += 1;
        if self.lookups > max {
            return Err(SpfError::TooManyDnsLookups(max).into());
        }
        Ok(())
    }

    fn void(&mut self) -> Result<(), Halt> {
        self.voids += 1;
        if self.voids > self.chk.config.max_void_lookups {
            return Err(SpfError::TooManyVoidLookups(self.chk.config.max_void_lookups).into());
        }
        Ok(())
    }

    fn addr_kind(&self) -> RecordKind {
        match self.chk.ip {
            IpAddr::V4(_) => RecordKind::A,
            IpAddr::V6(_) => RecordKind::Aaaa,
        }
    }

    /// RFC 7208 4.4 - 4.7 for `domain`.
    fn check_host(&mut self, domain: &str) -> Result<Outcome, Halt> {
        let query = Query::new(domain, RecordKind::Txt);
        let answer = self.answer(query.clone())?;
        let text = match answer {
            Answer::TempFail => return Err(SpfError::DnsTempFail(query).into()),
            Answer::Records(_) => {
                let mut spf = answer
                    .txt_records()
                    .filter(|t| record::strip_version(t).is_some());
                match (spf.next(), spf.next()) {
                    (None, _) => return Ok(Outcome::plain(SpfResult::None)),
                    (Some(t), None) => t,
                    (Some(_), Some(_)) => {
                        return Err(SpfError::MultipleRecords(domain.to_owned()).into());
                    }
                }
            }
            _ => return Ok(Outcome::plain(SpfResult::None)),
        };
        let record_error = |error| SpfError::Record {
            domain: domain.to_owned(),
            error,
        };
        let text =
            std::str::from_utf8(text).map_err(|_| record_error(super::RecordError::NotAscii))?;
        let rec = SpfRecord::parse(text).map_err(record_error)?;

        for d in rec.directives() {
            if self.matches(&d.mechanism, domain)? {
                return Ok(Outcome {
                    result: d.qualifier.result(),
                    exp: rec.explanation().map(|e| (e.clone(), domain.to_owned())),
                    mechanism: Some(d.to_string()),
                });
            }
        }
        if let (Some(target), false) = (rec.redirect(), rec.has_all()) {
            // RFC 7208 6.1: the redirect target's result, with its own exp=.
            self.count_lookup()?;
            let Some(name) = self.expand_domain(target, domain)? else {
                return Err(SpfError::InvalidRedirectTarget(target.as_str().to_owned()).into());
            };
            let out = self.check_host(&name)?;
            if out.result == SpfResult::None {
                return Err(SpfError::NoRecordAtTarget(name).into());
            }
            return Ok(out);
        }
        Ok(Outcome::plain(SpfResult::Neutral))
    }

    /// The explanation of RFC 7208 6.2: problems give `None`, never an error.
    fn explain(&mut self, spec: &MacroString, domain: &str) -> Result<Option<String>, Halt> {
        let Some(name) = self.expand_domain(spec, domain)? else {
            return Ok(None);
        };
        let answer = self.answer(Query::new(&name, RecordKind::Txt))?;
        let mut txt = answer.txt_records();
        let (Some(text), None) = (txt.next(), txt.next()) else {
            return Ok(None);
        };
        let Ok(text) = std::str::from_utf8(text) else {
            return Ok(None);
        };
        let Ok(m) = MacroString::explanation(text) else {
            return Ok(None);
        };
        self.expand(&m, domain, Target::Explanation).map(Some)
    }

    fn matches(&mut self, mechanism: &Mechanism, domain: &str) -> Result<bool, Halt> {
        let ip = self.chk.ip;
        match mechanism {
            Mechanism::All => Ok(true),
            Mechanism::Ip4 { addr, prefix } => Ok(in_network(ip, IpAddr::V4(*addr), *prefix)),
            Mechanism::Ip6 { addr, prefix } => Ok(in_network(ip, IpAddr::V6(*addr), *prefix)),
            Mechanism::Include(spec) => {
                self.count_lookup()?;
                let Some(name) = self.expand_domain(spec, domain)? else {
                    return Err(SpfError::NoRecordAtTarget(spec.as_str().to_owned()).into());
                };
                let out = self.check_host(&name)?;
                match out.result {
                    SpfResult::Pass => Ok(true),
                    SpfResult::None => Err(SpfError::NoRecordAtTarget(name).into()),
                    _ => Ok(false),
                }
            }
            Mechanism::A {
                domain: spec,
                cidr4,
                cidr6,
            } => {
                self.count_lookup()?;
                let Some(name) = self.target(spec.as_ref(), domain)? else {
                    return Ok(false);
                };
                let query = Query::new(&name, self.addr_kind());
                let answer = self.answer(query.clone())?;
                match answer {
                    Answer::TempFail => Err(SpfError::DnsTempFail(query).into()),
                    Answer::Records(r) => Ok(addresses_match(ip, r, *cidr4, *cidr6)),
                    _ => self.void().map(|()| false),
                }
            }
            Mechanism::Mx {
                domain: spec,
                cidr4,
                cidr6,
            } => {
                self.count_lookup()?;
                let Some(name) = self.target(spec.as_ref(), domain)? else {
                    return Ok(false);
                };
                let query = Query::new(&name, RecordKind::Mx);
                let answer = self.answer(query.clone())?;
                let records = match answer {
                    Answer::TempFail => return Err(SpfError::DnsTempFail(query).into()),
                    Answer::Records(r) => r,
                    _ => return self.void().map(|()| false),
                };
                let exchanges: Vec<&str> = records
                    .iter()
                    .filter_map(|r| match r {
                        Record::Mx { exchange, .. } => Some(exchange.as_str()),
                        _ => None,
                    })
                    .collect();
                if exchanges.len() > MAX_MX_NAMES {
                    return Err(SpfError::TooManyMxRecords(name).into());
                }
                let kind = self.addr_kind();
                let mut answers = Vec::new();
                let mut missing = false;
                // An empty exchange is the null MX (RFC 7505): no address to match.
                for ex in exchanges.into_iter().filter(|e| is_valid_name(e)) {
                    let q = Query::new(ex, kind);
                    match self.lookup(q.clone()) {
                        Some(a) => answers.push((q, a)),
                        None => missing = true,
                    }
                }
                if missing {
                    return Err(Halt::Need);
                }
                let mut temp = None;
                for (q, a) in answers {
                    match a {
                        Answer::Records(r) if addresses_match(ip, r, *cidr4, *cidr6) => {
                            return Ok(true);
                        }
                        Answer::TempFail => {
                            temp.get_or_insert(q);
                        }
                        _ => {}
                    }
                }
                match temp {
                    Some(q) => Err(SpfError::DnsTempFail(q).into()),
                    None => Ok(false),
                }
            }
            Mechanism::Ptr(spec) => {
                self.count_lookup()?;
                let Some(target) = self.target(spec.as_ref(), domain)? else {
                    return Ok(false);
                };
                let answer = self.answer(Query::new(&reverse_name(ip), RecordKind::Ptr))?;
                let names = match answer {
                    // RFC 7208 5.5: a DNS error on the PTR lookup: no match.
                    Answer::TempFail => return Ok(false),
                    Answer::Records(r) => ptr_names(r),
                    _ => return self.void().map(|()| false),
                };
                let candidates: Vec<&str> = names
                    .into_iter()
                    .filter(|n| is_same_or_subdomain(n, &target))
                    .collect();
                Ok(!self.validated(&candidates)?.is_empty())
            }
            Mechanism::Exists(spec) => {
                self.count_lookup()?;
                let Some(name) = self.expand_domain(spec, domain)? else {
                    return Ok(false);
                };
                // RFC 7208 5.7: always an A query, whatever the client's family.
                let query = Query::new(&name, RecordKind::A);
                match self.answer(query.clone())? {
                    Answer::TempFail => Err(SpfError::DnsTempFail(query).into()),
                    Answer::Records(_) => Ok(true),
                    _ => self.void().map(|()| false),
                }
            }
        }
    }

    /// The names among `names` that have the client's address (RFC 7208 5.5); DNS errors
    /// skip a name.
    fn validated<'n>(&mut self, names: &[&'n str]) -> Result<Vec<&'n str>, Halt> {
        let kind = self.addr_kind();
        let ip = self.chk.ip;
        let mut answers = Vec::new();
        let mut missing = false;
        for name in names.iter().copied().filter(|n| is_valid_name(n)) {
            match self.lookup(Query::new(name, kind)) {
                Some(a) => answers.push((name, a)),
                None => missing = true,
            }
        }
        if missing {
            return Err(Halt::Need);
        }
        Ok(answers
            .into_iter()
            .filter(|(_, a)| {
                a.records().iter().any(|r| match (r, ip) {
                    (Record::A(a), IpAddr::V4(ip)) => *a == ip,
                    (Record::Aaaa(a), IpAddr::V6(ip)) => *a == ip,
                    _ => false,
                })
            })
            .map(|(n, _)| n)
            .collect())
    }

    /// `%{p}`: the validated name of the client in `domain`, else any validated name,
    /// else `unknown` (RFC 7208 7.3).
    fn validated_name(&mut self, domain: &str) -> Result<String, Halt> {
        let answer = self.answer(Query::new(&reverse_name(self.chk.ip), RecordKind::Ptr))?;
        let names = ptr_names(answer.records());
        let valid = self.validated(&names)?;
        let pick = valid
            .iter()
            .find(|n| n.eq_ignore_ascii_case(domain))
            .or_else(|| valid.iter().find(|n| is_same_or_subdomain(n, domain)))
            .or_else(|| valid.first());
        Ok(pick.map_or_else(|| "unknown".to_owned(), |n| (*n).to_owned()))
    }

    fn target(&mut self, spec: Option<&MacroString>, domain: &str) -> Result<Option<String>, Halt> {
        match spec {
            None => Ok(Some(domain.to_owned())),
            Some(s) => self.expand_domain(s, domain),
        }
    }

    /// The expansion of a domain-spec, `None` when it is no valid DNS name (such a
    /// target does not exist: RFC 7208 4.8 leaves the case open).
    fn expand_domain(&mut self, spec: &MacroString, domain: &str) -> Result<Option<String>, Halt> {
        let name = self.expand(spec, domain, Target::Domain)?;
        Ok(is_valid_name(&name).then_some(name))
    }

    fn expand(&mut self, m: &MacroString, domain: &str, target: Target) -> Result<String, Halt> {
        macros::expand(m.tokens(), target, |letter| self.letter(letter, domain))
    }

    fn letter(&mut self, letter: Letter, domain: &str) -> Result<String, Halt> {
        let chk = self.chk;
        Ok(match letter {
            Letter::S => chk.sender.clone(),
            Letter::L => chk.local.clone(),
            Letter::O => chk.sender_domain.clone(),
            Letter::D => domain.to_owned(),
            Letter::H => chk.helo.clone(),
            Letter::I => dotted_ip(chk.ip),
            Letter::C => chk.ip.to_string(),
            Letter::V => match chk.ip {
                IpAddr::V4(_) => "in-addr".to_owned(),
                IpAddr::V6(_) => "ip6".to_owned(),
            },
            Letter::R => chk
                .config
                .receiver
                .clone()
                .unwrap_or_else(|| "unknown".to_owned()),
            Letter::T => chk.now.to_string(),
            Letter::P => self.validated_name(domain)?,
        })
    }
}

fn addresses_match(ip: IpAddr, records: &[Record], cidr4: u8, cidr6: u8) -> bool {
    records.iter().any(|r| match r {
        Record::A(a) => in_network(ip, IpAddr::V4(*a), cidr4),
        Record::Aaaa(a) => in_network(ip, IpAddr::V6(*a), cidr6),
        _ => false,
    })
}

/// The first [`MAX_PTR_NAMES`] PTR names of an answer.
fn ptr_names(records: &[Record]) -> Vec<&str> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Ptr(n) => Some(n.as_str()),
            _ => None,
        })
        .take(MAX_PTR_NAMES)
        .collect()
}

/// `%{i}`: dotted-quad, or the 32 nibbles of an IPv6 address separated by dots (upper
/// case, as the RFC 7208 conformance suite writes them; DNS ignores the case).
fn dotted_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let mut s = String::with_capacity(63);
            for (i, b) in v6.octets().iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                s.push_str(&format!("{:X}.{:X}", b >> 4, b & 15));
            }
            s
        }
    }
}

/// The reverse-mapping name of an address (`in-addr.arpa` / `ip6.arpa`).
fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        IpAddr::V6(v6) => {
            let mut s = String::with_capacity(73);
            for b in v6.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", b & 15, b >> 4));
            }
            s.push_str("ip6.arpa");
            s
        }
    }
}

/// A name the DNS can be asked about: 1 to 253 octets, labels of 1 to 63 octets.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 253 && name.split('.').all(|l| !l.is_empty() && l.len() <= 63)
}

/// RFC 7208 4.3: a well-formed, multi-label domain (no address literal).
fn is_valid_initial_domain(domain: &str) -> bool {
    is_valid_name(domain)
        && domain.contains('.')
        && domain
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'[' | b']' | b'@'))
}

/// `name` is `domain` or one of its subdomains (ASCII case-insensitive).
fn is_same_or_subdomain(name: &str, domain: &str) -> bool {
    let (n, d) = (name.as_bytes(), domain.as_bytes());
    if n.len() < d.len() || !n[n.len() - d.len()..].eq_ignore_ascii_case(d) {
        return false;
    }
    n.len() == d.len() || n[n.len() - d.len() - 1] == b'.'
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn reverse_names_and_dotted_ips() {
        let v4: IpAddr = "192.0.2.3".parse().unwrap();
        assert_eq!(reverse_name(v4), "3.2.0.192.in-addr.arpa");
        assert_eq!(dotted_ip(v4), "192.0.2.3");
        let v6: IpAddr = "2001:db8::cb01".parse().unwrap();
        assert_eq!(
            reverse_name(v6),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        );
        assert_eq!(
            dotted_ip(v6),
            "2.0.0.1.0.D.B.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.C.B.0.1"
        );
    }

    #[test]
    fn names() {
        assert!(is_same_or_subdomain("mx.Example.com", "example.COM"));
        assert!(is_same_or_subdomain("example.com", "example.com"));
        assert!(!is_same_or_subdomain("badexample.com", "example.com"));
        assert!(!is_same_or_subdomain("com", "example.com"));
        assert!(is_valid_name("a.b"));
        assert!(!is_valid_name("a..b"));
        assert!(!is_valid_name(&format!("{}.com", "a".repeat(64))));
        assert!(!is_valid_initial_domain("A2345678"));
        assert!(!is_valid_initial_domain("[1.2.3.5]"));
        assert!(is_valid_initial_domain("example.com"));
    }

    #[test]
    fn mapped_addresses_are_ipv4() {
        let ip: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        let c = SpfCheck::mail_from(SpfConfig::default(), ip, "a@example.com", "h.example", 0);
        assert_eq!(c.ip, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    }
}
