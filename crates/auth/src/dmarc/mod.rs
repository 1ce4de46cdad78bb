//! DMARC (RFC 9989, which obsoletes RFC 7489 and RFC 9091): policy discovery by DNS
//! Tree Walk, Organizational Domains without a Public Suffix List, identifier alignment,
//! and the policy to apply, as a sans-IO machine.
//!
//! The [`Evaluator`] takes the Author Domain (from the message's `From:` field or given
//! directly), the SPF outcome for the MAIL FROM domain ([`SpfIdentifier`]) and the DKIM
//! results ([`SignatureResult`](crate::dkim::SignatureResult) or [`DkimIdentifier`]); it
//! asks DNS questions ([`dns::Query`](crate::dns::Query): TXT at `_dmarc.<name>`, and A at
//! the Author Domain when an `np` policy may apply), takes the
//! [`dns::Answer`](crate::dns::Answer)s, and gives one [`DmarcResult`].
//!
//! ```
//! use postwerk_auth::dmarc::{Config, Disposition, DmarcStatus, Evaluator, SpfIdentifier};
//! use postwerk_auth::dns::Answer;
//!
//! let header = b"From: Alice <alice@news.example.com>\r\nSubject: hi\r\n\r\n";
//! let mut e = Evaluator::from_message(header, Config::default());
//! e.set_spf(SpfIdentifier::new("bounces.example.com", true)); // SPF passed for MAIL FROM
//! // e.add_dkim_results(&dkim_results); // from dkim::Verifier::finish
//! while !e.is_done() {
//!     for q in e.queries() {
//!         // A real caller sends q.dns_message(id) and reads Answer::from_dns_response.
//!         let answer = match q.name.as_str() {
//!             "_dmarc.example.com" => Answer::txt("v=DMARC1; p=reject; rua=mailto:d@example.com"),
//!             _ => Answer::NxDomain,
//!         };
//!         e.supply(&q, answer);
//!     }
//! }
//! let r = e.result().unwrap();
//! assert_eq!(r.status, DmarcStatus::Pass); // relaxed: same Organizational Domain
//! assert_eq!(r.policy_domain.as_deref(), Some("example.com"));
//! assert_eq!(r.organizational_domain.as_deref(), Some("example.com"));
//! assert!(r.spf_aligned);
//! assert_eq!(r.disposition(), Disposition::Accept);
//! assert_eq!(r.header_from(), "news.example.com");
//! ```
//!
//! Section numbers are RFC 9989's (they are those of draft-ietf-dmarc-dmarcbis-41, the
//! text the RFC was published from).
//!
//! | RFC 9989 | Section | Status |
//! |----------|---------|--------|
//! | 3.2.10 | relaxed and strict Identifier Alignment | implemented, case-insensitive |
//! | 3.2.13, A.4 | Non-existent Domains (NXDOMAIN) for `np` | implemented: one A question at the Author Domain, skipped when `_dmarc.<author>` is known to exist; unknown → the stricter policy |
//! | 4.4.1, 4.4.2 | DKIM- and SPF-Authenticated Identifiers | implemented (pass only; SPF given by the caller) |
//! | 4.5 | TXT strings concatenated | by [`dns::Answer`](crate::dns::Answer) |
//! | 4.7, 4.8 | record format: `v p sp np psd t adkim aspf rua ruf fo` | implemented; unknown tags (and RFC 7489's `pct rf ri`) ignored; bad values named in [`PolicyRecord::problems`], defaults kept; `!size` URI suffix dropped |
//! | 4.10 | DNS Tree Walk, at most 8 queries, jump to 7 labels | implemented ([`tree_walk`]) |
//! | 4.10 step 2 | non-DMARC TXT discarded; several DMARC records discarded | implemented |
//! | 4.10.1 | policy discovery: Author Domain, Organizational Domain, PSD; `p`/`sp`/`np`; invalid `p`/`sp`/`np` → `p=none` with a valid `rua`, else no processing (`permerror`) | implemented |
//! | 4.10.2 | Organizational Domain: `psd=n`, `psd=y` one label below, fewest labels, else the start | implemented; identifier walks only when relaxed alignment could hold |
//! | 5.3.1 | Author Domain, U-label → A-label; zero or several domains | implemented ([`AuthorDomains`]); several domains: [`MultipleAuthors`] |
//! | 5.3.5, 5.3.6 | pass / fail; DNS errors → neither (`temperror`) | implemented |
//! | 4.7 `t` | testing: policy one level below | implemented ([`DmarcResult::applied_policy`]) |
//! | 9.1, 9.2 | `header.from`, `policy.dmarc`, result names | [`DmarcResult::method_result`] |
//! | 11.5 | several `From:` fields / domains: never pass; each domain evaluated, the strictest kept | implemented |
//! | 6, RFC 9990, 9991 | aggregate and failure reports | not implemented (`rua`/`ruf`/`fo` are parsed and kept) |
//!
//! Limits: a walk asks at most 8 names ([`MAX_WALK_STEPS`]); the evaluation as a whole at
//! most [`Config::max_queries`]; records above [`MAX_RECORD_LEN`] octets are not read;
//! at most [`MAX_URIS`] URIs per report tag. A DNS failure or an unanswered question
//! ([`Evaluator::give_up`], the caller's time budget) gives `temperror`, never `pass`.
//!
//! Not done here: when a `psd=y` record stops a walk that jumped over labels (an Author
//! Domain of more than 8 labels), the Organizational Domain one label below it was
//! never queried and counts as having no record, so the PSD's record applies.

mod author;
mod error;
mod eval;
mod record;
mod result;
mod walk;

pub use author::AuthorDomains;
pub use error::{DmarcError, RecordError};
pub use eval::{Config, DkimIdentifier, Evaluator, MultipleAuthors, SpfIdentifier};
pub use record::{
    AlignmentMode, MAX_RECORD_LEN, MAX_URIS, Policy, PolicyRecord, PsdFlag, is_dmarc_record,
};
pub use result::{Disposition, DmarcResult, DmarcStatus, PolicyTag};
pub use walk::{MAX_WALK_STEPS, tree_walk};
