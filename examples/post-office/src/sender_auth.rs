//! Sender authentication in the SMTP sessions.
//!
//! * **Submission** ([`Submitted`]): the header is watched as it streams to the queue;
//!   at the end of DATA a missing `Date:` or `Message-ID:` is added (RFC 6409 section 8)
//!   and, when the From domain is a local domain, the message is DKIM-signed with every
//!   key of that domain (see [`crate::dkim`]). The body is hashed once, while it streams.
//! * **MX port** ([`Received`]): DKIM signatures are verified as the message streams, SPF
//!   is checked at MAIL FROM (the MAIL FROM identity, or the HELO identity for the null
//!   sender, RFC 7208 section 2.4), DMARC is evaluated at the end of DATA, and an
//!   `Authentication-Results:` field with our host name is put on top, after any forged
//!   field claiming our host name has been removed (RFC 8601 section 5).

use std::ops::Range;

use postwerk_auth::dkim::{Signing, Verifier, VerifierConfig};
use postwerk_auth::dmarc::{
    AuthorDomains, Config as DmarcConfig, DmarcResult, Evaluator, SpfIdentifier,
};
use postwerk_auth::results::{AuthenticationResults, MethodResult};
use postwerk_auth::spf::{SpfCheck, SpfConfig, SpfOutput, SpfResult};
use postwerk_message::{DateTime, Message};

use crate::dkim::DkimKeys;

/// The largest header block kept for signing and checks. A message whose header is
/// larger is refused (552 5.3.4), on both ports.
pub const MAX_HEADER_BYTES: usize = 256 * 1024;

/// The header block of a message as it streams in: kept (bounded) until the empty line.
#[derive(Debug, Default)]
pub struct HeaderCapture {
    bytes: Vec<u8>,
    done: bool,
    overflow: bool,
}

impl HeaderCapture {
    /// Feeds message bytes (CRLF line ends, dot-stuffing undone).
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.done || self.overflow {
            return;
        }
        let from = self.bytes.len().saturating_sub(3);
        self.bytes.extend_from_slice(chunk);
        if self.bytes.starts_with(b"\r\n") {
            self.bytes.truncate(2);
            self.done = true;
            return;
        }
        if let Some(end) = memchr::memmem::find(&self.bytes[from..], b"\r\n\r\n") {
            self.bytes.truncate(from + end + 4);
            self.done = true;
        } else if self.bytes.len() > MAX_HEADER_BYTES {
            self.bytes = Vec::new();
            self.overflow = true;
        }
    }

    /// The header block (with its empty line when it was seen): all of the message when
    /// the message has no body.
    pub fn header(&self) -> &[u8] {
        &self.bytes
    }

    /// The header block was larger than [`MAX_HEADER_BYTES`].
    pub fn overflow(&self) -> bool {
        self.overflow
    }

    /// The header parsed (lenient: whatever postwerk-message recovers).
    fn parsed(&self) -> Option<Message<'_>> {
        Message::parse(&self.bytes).ok()
    }
}

/// A message arriving on a submission port.
#[derive(Debug)]
pub struct Submitted {
    header: HeaderCapture,
    /// Hashes the body for DKIM as it streams (any local key's signer started it: all
    /// use the same canonicalization).
    signing: Option<Signing>,
}

impl Submitted {
    /// Starts watching a message; `keys` decides whether a DKIM pass is needed at all.
    pub fn new(keys: &DkimKeys) -> Submitted {
        Submitted {
            header: HeaderCapture::default(),
            signing: keys.any_signer().map(|s| s.start()),
        }
    }

    /// Feeds message bytes.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.header.feed(chunk);
        if let Some(s) = &mut self.signing {
            s.update(chunk);
        }
    }

    /// The header was too large to keep.
    pub fn overflow(&self) -> bool {
        self.header.overflow()
    }

    /// The header fields to put on top of the message at the end of DATA: the
    /// `DKIM-Signature:` fields (when the From domain is local) above a `Date:` and a
    /// `Message-ID:` the client left out. `message_id` is the id to use then.
    pub fn finish(mut self, keys: &DkimKeys, now: u64, message_id: &str) -> Vec<u8> {
        let mut added = String::new();
        let parsed = self.header.parsed();
        let has = |name: &str| {
            parsed
                .as_ref()
                .is_some_and(|m| m.headers().iter().any(|h| h.is(name)))
        };
        if !has("date") {
            let date = DateTime::from_unix(i64::try_from(now).unwrap_or(0), 0);
            added.push_str(&format!("Date: {date}\r\n"));
        }
        if !has("message-id") {
            added.push_str(&format!("Message-ID: <{message_id}>\r\n"));
        }
        // The author domain as DMARC reads it (one From field; A-labels, lower case): the
        // domain receivers will align the signature with.
        let domain = AuthorDomains::from_message(self.header.header())
            .ok()
            .and_then(|a| a.domains().first().cloned());
        let mut out = Vec::new();
        if let (Some(domain), Some(signing)) = (domain, self.signing.as_mut())
            && let Some(domain_keys) = keys.for_domain(&domain)
        {
            signing.prepend_fields(added.as_bytes());
            for key in domain_keys.iter() {
                match signing.sign(&key.signer, now) {
                    Ok(field) => out.extend_from_slice(field.as_bytes()),
                    Err(e) => {
                        tracing::warn!(domain, selector = key.selector, error = %e, "not DKIM-signed");
                    }
                }
            }
        }
        out.extend_from_slice(added.as_bytes());
        out
    }
}

/// A message arriving on the MX port: DKIM verification as it streams.
#[derive(Debug)]
pub struct Received {
    header: HeaderCapture,
    verifier: Verifier,
}

impl Default for Received {
    fn default() -> Self {
        Received {
            header: HeaderCapture::default(),
            verifier: Verifier::new(VerifierConfig::default()),
        }
    }
}

impl Received {
    /// Feeds message bytes.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.header.feed(chunk);
        self.verifier.update(chunk);
    }

    /// The header was too large to keep.
    pub fn overflow(&self) -> bool {
        self.header.overflow()
    }

    /// The byte ranges (in the message as received) of `Authentication-Results:` fields
    /// that claim to come from `authserv_id`: forgeries to remove (RFC 8601 section 5).
    pub fn forged_results(&self, authserv_id: &str) -> Vec<Range<u64>> {
        let Some(parsed) = self.header.parsed() else {
            return Vec::new();
        };
        let bytes = self.header.header();
        parsed
            .headers()
            .iter()
            .filter(|h| h.is("authentication-results"))
            .filter(|h| claims(h.raw_value(), authserv_id))
            .map(|h| {
                let mut end = h.value_offset() + h.raw_value().len();
                if bytes.get(end) == Some(&b'\r') {
                    end += 1;
                }
                if bytes.get(end) == Some(&b'\n') {
                    end += 1;
                }
                h.offset() as u64..end as u64
            })
            .collect()
    }

    /// Ends the message and verifies its DKIM signatures with the keys from DNS.
    pub async fn verify_dkim(
        &mut self,
        resolver: &postwerk_mx::resolver::Resolver,
        now: u64,
    ) -> Vec<postwerk_auth::dkim::SignatureResult> {
        self.verifier.end_of_message();
        postwerk_auth::driver::supply_dkim_keys(resolver, &mut self.verifier).await;
        let verifier =
            std::mem::replace(&mut self.verifier, Verifier::new(VerifierConfig::default()));
        verifier.finish(now)
    }

    /// The header block as received.
    pub fn header(&self) -> &[u8] {
        self.header.header()
    }
}

/// Whether an `Authentication-Results` value names `authserv_id` as its producer. A value
/// that does not parse is judged by its first word, so a malformed forgery is removed too.
fn claims(value: &[u8], authserv_id: &str) -> bool {
    match postwerk_auth::results::parse(value) {
        Ok(parsed) => parsed.authserv_id.eq_ignore_ascii_case(authserv_id),
        Err(_) => {
            let text = String::from_utf8_lossy(value);
            let first = text
                .trim_start()
                .split([';', ' ', '\t', '\r', '\n', '('])
                .next()
                .unwrap_or_default()
                .trim_matches('"');
            first.eq_ignore_ascii_case(authserv_id)
        }
    }
}

/// How long the SPF check and the DMARC evaluation of one message may wait for DNS each
/// (RFC 7208 4.6.4 asks for at least 20 seconds).
const DNS_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);

/// The SPF check of a transaction on the MX port: the MAIL FROM identity, or
/// `postmaster@` the HELO name for the null sender (RFC 7208 2.4).
pub async fn check_spf(
    app: &crate::listen::App,
    ip: std::net::IpAddr,
    mail_from: &str,
    helo: &str,
) -> Option<SpfOutput> {
    let now = crate::clock::unix_now();
    let mut config = SpfConfig::with_receiver(&app.config.hostname);
    config.time_budget_secs = DNS_BUDGET.as_secs();
    let check = SpfCheck::mail_from(config, ip, mail_from, helo, now);
    postwerk_auth::driver::check_spf(&app.resolver, check, now).await
}

/// The SPF check of the HELO identity on the MX port (RFC 7208 2.3). A HELO name that is
/// not a domain (an address literal) gives `none`.
pub async fn check_spf_helo(
    app: &crate::listen::App,
    ip: std::net::IpAddr,
    helo: &str,
) -> Option<SpfOutput> {
    let now = crate::clock::unix_now();
    let mut config = SpfConfig::with_receiver(&app.config.hostname);
    config.time_budget_secs = DNS_BUDGET.as_secs();
    let check = SpfCheck::helo(config, ip, helo, now);
    postwerk_auth::driver::check_spf(&app.resolver, check, now).await
}

/// The `spf=` entry of `Authentication-Results` (RFC 8601 2.7.2): `smtp.mailfrom` for a
/// sender, `smtp.helo` for the null sender. A value the writer refuses leaves the identity
/// out.
pub fn spf_method(spf: &SpfOutput, mail_from: &str) -> Option<MethodResult> {
    let (name, value) = if mail_from.is_empty() {
        ("helo", spf.domain.as_str())
    } else {
        ("mailfrom", mail_from)
    };
    let plain = || MethodResult::new("spf", spf.result.as_str()).ok();
    plain()
        .and_then(|m| m.property("smtp", name, value).ok())
        .or_else(plain)
}

/// The DMARC evaluation of a message on the MX port.
pub async fn check_dmarc(
    app: &crate::listen::App,
    header: &[u8],
    spf: Option<&SpfOutput>,
    dkim: &[postwerk_auth::dkim::SignatureResult],
) -> Option<DmarcResult> {
    let mut evaluator = Evaluator::from_message(header, DmarcConfig::default());
    if let Some(spf) = spf {
        evaluator.set_spf(SpfIdentifier::new(
            &spf.domain,
            spf.result == SpfResult::Pass,
        ));
    }
    evaluator.add_dkim_results(dkim);
    postwerk_auth::driver::evaluate_dmarc(&app.resolver, evaluator, DNS_BUDGET).await
}

/// Writes the `Authentication-Results:` field.
pub fn results_field(authserv_id: &str, methods: Vec<MethodResult>) -> String {
    match AuthenticationResults::new(authserv_id) {
        Ok(mut ar) => {
            for m in methods {
                ar.push(m);
            }
            ar.to_field()
        }
        // A host name that is not a token cannot be an authserv-id; the configuration
        // validates it, so this is not reached in practice.
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_captured_to_its_empty_line_across_chunks() {
        let msg = b"From: a@alpha.test\r\nSubject: x\r\n\r\nbody\r\n\r\nmore\r\n";
        for split in 1..msg.len() {
            let mut c = HeaderCapture::default();
            for chunk in msg.chunks(split) {
                c.feed(chunk);
            }
            assert_eq!(
                c.header(),
                b"From: a@alpha.test\r\nSubject: x\r\n\r\n",
                "{split}"
            );
        }
        let mut empty = HeaderCapture::default();
        empty.feed(b"\r\nbody only\r\n");
        assert_eq!(empty.header(), b"\r\n");
    }

    #[test]
    fn an_oversized_header_is_dropped_not_kept() {
        let mut c = HeaderCapture::default();
        let line = format!("X-Filler: {}\r\n", "a".repeat(990));
        for _ in 0..300 {
            c.feed(line.as_bytes());
        }
        assert!(c.overflow());
        assert!(c.header().is_empty());
    }

    #[test]
    fn forged_results_claiming_our_name_are_found_with_their_line_ends() {
        let mut r = Received::default();
        let msg = "Authentication-Results: mx.beta.test; dkim=pass\r\n\
                   From: a@alpha.test\r\n\
                   Authentication-Results: other.example; spf=pass\r\n\
                   authentication-results: MX.BETA.TEST;\r\n dmarc=pass\r\n\
                   Authentication-Results: mx.beta.test dkim=garbage(\r\n\
                   \r\nbody\r\n";
        r.feed(msg.as_bytes());
        let ranges = r.forged_results("mx.beta.test");
        let cut: Vec<&str> = ranges
            .iter()
            .map(|x| &msg[x.start as usize..x.end as usize])
            .collect();
        assert_eq!(
            cut,
            [
                "Authentication-Results: mx.beta.test; dkim=pass\r\n",
                "authentication-results: MX.BETA.TEST;\r\n dmarc=pass\r\n",
                "Authentication-Results: mx.beta.test dkim=garbage(\r\n",
            ]
        );
    }

    #[test]
    fn submission_adds_date_and_message_id_only_when_missing() {
        let keys = DkimKeys::default();
        let mut s = Submitted::new(&keys);
        s.feed(b"From: a@elsewhere.test\r\nSubject: x\r\n\r\nhi\r\n");
        let added = String::from_utf8(s.finish(&keys, 1_796_083_200, "q1@mx.alpha.test")).unwrap();
        assert!(added.starts_with("Date: "), "{added}");
        assert!(
            added.ends_with("Message-ID: <q1@mx.alpha.test>\r\n"),
            "{added}"
        );
        let mut s = Submitted::new(&keys);
        s.feed(b"From: a@x.test\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\nMessage-Id: <m@x>\r\n\r\nhi\r\n");
        assert!(s.finish(&keys, 0, "q2@h").is_empty());
    }
}
