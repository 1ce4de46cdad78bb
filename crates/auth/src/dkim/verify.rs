//! The verifier machine (RFC 6376 section 6).

use super::canon::{self, BodyHasher};
use super::headers::{self, Push, Splitter};
use super::key::KeyRecord;
use super::signature::{Signature, is_same_or_subdomain};
use super::{Algorithm, DkimError, KeyQuery};
use crate::dns::Answer;

/// Verifier limits and policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierConfig {
    /// At most this many `DKIM-Signature` fields are evaluated (top-most first); the
    /// others get [`DkimError::TooManySignatures`]. Default 8.
    pub max_signatures: usize,
    /// The largest header block looked at; a larger one is treated as unsigned.
    /// Default 256 KiB.
    pub max_header_bytes: usize,
    /// Trust `l=`: hash only the first `l=` octets of the body, so that content appended
    /// after signing still passes (reported in [`SignatureResult::unsigned_body_octets`]).
    /// Default `false`: `l=` is reported and the whole body must match `bh=`.
    pub honor_body_length: bool,
    /// Give a valid `rsa-sha1` signature `pass` (still flagged `weak`). Default `false`:
    /// it gets `neutral` with [`DkimError::WeakAlgorithm`] (RFC 8301 section 3.1).
    pub accept_rsa_sha1: bool,
    /// How far in the future `t=` may be, in seconds, before the signature is refused.
    /// Default 300.
    pub allowed_clock_skew: u64,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        Self {
            max_signatures: 8,
            max_header_bytes: 256 * 1024,
            honor_body_length: false,
            accept_rsa_sha1: false,
            allowed_clock_skew: 300,
        }
    }
}

/// The result of one signature (RFC 8601 section 2.7.1 result names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DkimStatus {
    /// The signature verified.
    Pass,
    /// The signature or body hash did not verify.
    Fail,
    /// Signed, but not usable under this verifier's policy (e.g. `rsa-sha1`).
    Neutral,
    /// A temporary failure (DNS) prevented verification; retrying may help.
    TempError,
    /// A permanent error (syntax, key record, expiry) prevented verification.
    PermError,
}

impl DkimStatus {
    /// The RFC 8601 result keyword: `pass`, `fail`, `neutral`, `temperror`, `permerror`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Neutral => "neutral",
            Self::TempError => "temperror",
            Self::PermError => "permerror",
        }
    }
}

/// What the verifier concluded about one `DKIM-Signature` field.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignatureResult {
    /// pass / fail / neutral / temperror / permerror.
    pub status: DkimStatus,
    /// Why it is not `pass` (`None` for `pass`).
    pub reason: Option<DkimError>,
    /// The parsed signature, when it parsed.
    pub signature: Option<Signature>,
    /// `t=y` in the key record: the signer is testing DKIM.
    pub testing: bool,
    /// The algorithm is `rsa-sha1`, which RFC 8301 deprecates.
    pub weak: bool,
    /// With [`VerifierConfig::honor_body_length`], the body octets after `l=` that no
    /// signature covers; 0 otherwise.
    pub unsigned_body_octets: u64,
}

impl SignatureResult {
    fn error(status: DkimStatus, reason: DkimError, signature: Option<Signature>) -> Self {
        let weak = signature
            .as_ref()
            .is_some_and(|s| s.algorithm == Algorithm::RsaSha1);
        Self {
            status,
            reason: Some(reason),
            signature,
            testing: false,
            weak,
            unsigned_body_octets: 0,
        }
    }

    /// `d=`, or `""` when the signature did not parse.
    pub fn domain(&self) -> &str {
        self.signature.as_ref().map_or("", |s| s.domain.as_str())
    }

    /// `s=`, or `""` when the signature did not parse.
    pub fn selector(&self) -> &str {
        self.signature.as_ref().map_or("", |s| s.selector.as_str())
    }
}

#[derive(Debug)]
enum Slot {
    /// Decided before any key or body (syntax error, too many signatures).
    Done(Box<SignatureResult>),
    Pending(Box<Pending>),
}

#[derive(Debug)]
struct Pending {
    sig: Signature,
    /// The canonicalized header data (selected fields + the signature field without b=).
    header_data: Vec<u8>,
    body: BodyHasher,
    key_name: String,
}

#[derive(Debug)]
struct SuppliedKey {
    name: String,
    answer: Answer,
}

/// A sans-IO DKIM verifier: message bytes in, key questions out, key answers in,
/// results out.
///
/// Call order:
/// 1. [`update`](Self::update) with the message (CRLF line ends, dot-stuffing undone)
///    in chunks of any size;
/// 2. as soon as [`headers_complete`](Self::headers_complete) is true (the header block
///    has been seen; or after [`end_of_message`](Self::end_of_message)),
///    [`key_queries`](Self::key_queries) lists the TXT names to look
///    up; answer each with [`supply_key`](Self::supply_key) (before or after the rest
///    of the body);
/// 3. [`finish`](Self::finish) with the current time: one [`SignatureResult`] per
///    `DKIM-Signature` field, top-most first.
///
/// Memory is bounded by the header limit, a fixed state per signature and the key
/// answers; the body is never kept.
#[derive(Debug)]
pub struct Verifier {
    config: VerifierConfig,
    splitter: Splitter,
    slots: Vec<Slot>,
    answers: Vec<SuppliedKey>,
    headers_done: bool,
    ended: bool,
}

impl Verifier {
    /// A verifier with `config`.
    pub fn new(config: VerifierConfig) -> Self {
        Self {
            splitter: Splitter::new(config.max_header_bytes),
            config,
            slots: Vec::new(),
            answers: Vec::new(),
            headers_done: false,
            ended: false,
        }
    }

    /// Feeds message bytes (any split).
    pub fn update(&mut self, data: &[u8]) {
        if self.ended {
            return;
        }
        match self.splitter.push(data) {
            Push::Header | Push::Overflow => {}
            Push::HeaderDone(body) => {
                self.on_headers();
                self.body(body);
            }
            Push::Body(body) => self.body(body),
        }
    }

    /// True once the header block has been read (or was too large): from then on
    /// [`key_queries`](Self::key_queries) is complete.
    pub fn headers_complete(&self) -> bool {
        self.headers_done || self.splitter.is_overflow()
    }

    /// True when the header block was larger than [`VerifierConfig::max_header_bytes`]:
    /// the message is then treated as unsigned (no results).
    pub fn header_overflow(&self) -> bool {
        self.splitter.is_overflow()
    }

    fn body(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        for slot in &mut self.slots {
            if let Slot::Pending(p) = slot {
                p.body.update(data);
            }
        }
    }

    fn on_headers(&mut self) {
        self.headers_done = true;
        let block = self.splitter.header();
        let fields = headers::split_fields(block);
        let mut seen = 0usize;
        for field in &fields {
            if !field.name(block).eq_ignore_ascii_case(b"dkim-signature") {
                continue;
            }
            seen += 1;
            if seen > self.config.max_signatures {
                self.slots.push(Slot::Done(Box::new(SignatureResult::error(
                    DkimStatus::PermError,
                    DkimError::TooManySignatures,
                    None,
                ))));
                continue;
            }
            let raw = field.raw(block);
            let value_start = field.name_end - field.start;
            let colon = raw[value_start..]
                .iter()
                .position(|&b| b == b':')
                .map(|p| p + value_start);
            let Some(colon) = colon else { continue };
            let value = &raw[colon + 1..];
            let sig = match Signature::parse(value) {
                Ok(s) => s,
                Err(e) => {
                    self.slots.push(Slot::Done(Box::new(SignatureResult::error(
                        DkimStatus::PermError,
                        e,
                        None,
                    ))));
                    continue;
                }
            };
            let header_data = header_data(block, &fields, &sig, raw, colon + 1);
            let limit = if self.config.honor_body_length {
                sig.body_length
            } else {
                None
            };
            let body = BodyHasher::new(sig.body_canonicalization, sig.algorithm.digest(), limit);
            let key_name = sig.key_name();
            self.slots.push(Slot::Pending(Box::new(Pending {
                sig,
                header_data,
                body,
                key_name,
            })));
        }
    }

    /// The key records to look up: one per distinct `selector._domainkey.domain` among
    /// the signatures that parsed, without the ones already answered. Empty until the
    /// header block has been read.
    pub fn key_queries(&self) -> Vec<KeyQuery> {
        let mut out: Vec<KeyQuery> = Vec::new();
        for slot in &self.slots {
            if let Slot::Pending(p) = slot {
                if out.iter().any(|q| q.name == p.key_name)
                    || self.answers.iter().any(|a| a.name == p.key_name)
                {
                    continue;
                }
                out.push(KeyQuery {
                    name: p.key_name.clone(),
                    selector: p.sig.selector.clone(),
                    domain: p.sig.domain.clone(),
                });
            }
        }
        out
    }

    /// Supplies the DNS answer for a key query `name` (case-insensitive, a trailing dot
    /// is ignored). A later answer for the same name replaces an earlier one.
    pub fn supply_key(&mut self, name: &str, answer: Answer) {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        // Bound memory: answers for names nobody asked for are dropped.
        let wanted = self
            .slots
            .iter()
            .any(|s| matches!(s, Slot::Pending(p) if p.key_name == name));
        if !wanted {
            return;
        }
        self.answers.retain(|a| a.name != name);
        self.answers.push(SuppliedKey { name, answer });
    }

    /// Signals the end of the message. Only needed before
    /// [`key_queries`](Self::key_queries) when the message may lack the blank line that
    /// ends the header block (a message that is all header); [`finish`](Self::finish)
    /// calls it too. Further input is ignored.
    pub fn end_of_message(&mut self) {
        if !self.headers_done && !self.splitter.is_overflow() {
            self.splitter.finish();
            self.on_headers();
        }
        self.ended = true;
    }

    /// Ends the message and evaluates every signature against the supplied keys and the
    /// caller's clock `now` (seconds since the Unix epoch).
    pub fn finish(mut self, now: u64) -> Vec<SignatureResult> {
        self.end_of_message();
        // Each key record is parsed once, however many signatures name it.
        let keys: Vec<ParsedKey> = std::mem::take(&mut self.answers)
            .into_iter()
            .map(|a| ParsedKey {
                key: select_key(&a.answer),
                name: a.name,
            })
            .collect();
        let config = &self.config;
        self.slots
            .into_iter()
            .map(|slot| match slot {
                Slot::Done(r) => *r,
                Slot::Pending(p) => evaluate(*p, &keys, config, now),
            })
            .collect()
    }
}

/// Builds the data the header signature covers (RFC 6376 section 3.7).
fn header_data(
    block: &[u8],
    fields: &[headers::Field],
    sig: &Signature,
    raw_sig_field: &[u8],
    value_offset: usize,
) -> Vec<u8> {
    let c = sig.header_canonicalization;
    let mut data = Vec::with_capacity(block.len() + raw_sig_field.len());
    for f in headers::select(block, fields, &sig.signed_headers)
        .into_iter()
        .flatten()
    {
        canon::header(c, f.raw(block), &mut data);
    }
    // The signature field itself, b= value removed, no trailing CRLF.
    let (bs, be) = sig.b_span;
    let mut own = Vec::with_capacity(raw_sig_field.len());
    own.extend_from_slice(&raw_sig_field[..value_offset + bs]);
    own.extend_from_slice(&raw_sig_field[value_offset + be..]);
    let own = own.strip_suffix(b"\r\n").unwrap_or(&own);
    let start = data.len();
    canon::header(c, own, &mut data);
    // canon::header always appends CRLF; the signature field is hashed without it.
    if data.len() >= start + 2 {
        data.truncate(data.len() - 2);
    }
    data
}

/// A supplied key answer, parsed.
struct ParsedKey {
    name: String,
    key: Result<KeyRecord, DkimError>,
}

fn evaluate(p: Pending, keys: &[ParsedKey], config: &VerifierConfig, now: u64) -> SignatureResult {
    let Pending {
        sig,
        header_data,
        body,
        key_name,
    } = p;
    use DkimStatus::*;
    if let Some(x) = sig.expiration
        && x < now
    {
        return SignatureResult::error(
            PermError,
            DkimError::Expired { expired: x, now },
            Some(sig),
        );
    }
    if let Some(t) = sig.timestamp
        && t > now.saturating_add(config.allowed_clock_skew)
    {
        return SignatureResult::error(
            PermError,
            DkimError::FutureTimestamp { timestamp: t, now },
            Some(sig),
        );
    }
    let Some(parsed) = keys.iter().find(|k| k.name == key_name) else {
        return SignatureResult::error(TempError, DkimError::KeyNotSupplied, Some(sig));
    };
    let key = match &parsed.key {
        Ok(k) => k,
        Err(e @ DkimError::DnsTempFail) => {
            return SignatureResult::error(TempError, e.clone(), Some(sig));
        }
        Err(e) => return SignatureResult::error(PermError, e.clone(), Some(sig)),
    };
    if let Err(e) = key.check(sig.algorithm) {
        return SignatureResult::error(PermError, e, Some(sig));
    }
    if key.strict && sig.identity.is_some() && sig.identity_domain() != sig.domain {
        return SignatureResult::error(PermError, DkimError::StrictIdentity, Some(sig));
    }
    debug_assert!(is_same_or_subdomain(&sig.identity_domain(), &sig.domain));
    let testing = key.testing;
    let (digest, total) = body.finish();
    let result = |status, reason: Option<DkimError>, sig: Signature| {
        let mut r = match reason {
            Some(e) => SignatureResult::error(status, e, Some(sig)),
            None => SignatureResult {
                status,
                reason: None,
                weak: sig.algorithm == Algorithm::RsaSha1,
                signature: Some(sig),
                testing,
                unsigned_body_octets: 0,
            },
        };
        r.testing = testing;
        r
    };
    if let Some(l) = sig.body_length
        && l > total
    {
        return result(Fail, Some(DkimError::BodyLengthTooLong), sig);
    }
    if digest.as_ref() != sig.body_hash.as_slice() {
        return result(Fail, Some(DkimError::BodyHashMismatch), sig);
    }
    if !key.verify(sig.algorithm, &header_data, &sig.signature) {
        return result(Fail, Some(DkimError::SignatureMismatch), sig);
    }
    let unsigned = match (config.honor_body_length, sig.body_length) {
        (true, Some(l)) => total - l,
        _ => 0,
    };
    let mut r = if sig.algorithm == Algorithm::RsaSha1 && !config.accept_rsa_sha1 {
        result(Neutral, Some(DkimError::WeakAlgorithm), sig)
    } else {
        result(Pass, None, sig)
    };
    r.unsigned_body_octets = unsigned;
    r
}

/// Picks the key record from a TXT answer: the only record that looks like a DKIM key.
fn select_key(answer: &Answer) -> Result<KeyRecord, DkimError> {
    match answer {
        Answer::TempFail => Err(DkimError::DnsTempFail),
        Answer::NoData | Answer::NxDomain => Err(DkimError::NoKey),
        Answer::Records(_) => {
            let mut found: Option<Result<KeyRecord, DkimError>> = None;
            for r in answer.txt_records() {
                let parsed = KeyRecord::parse(r);
                match (&found, &parsed) {
                    (None, _) => found = Some(parsed),
                    // A parsed key wins over an unrelated or broken record.
                    (Some(Err(_)), Ok(_)) => found = Some(parsed),
                    (Some(Ok(_)), Ok(_)) => return Err(DkimError::MultipleKeys),
                    _ => {}
                }
            }
            found.unwrap_or(Err(DkimError::NoKey))
        }
    }
}
