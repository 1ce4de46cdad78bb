//! Sender authentication as sans-IO machines: SPF (RFC 7208), DKIM (RFC 6376, RFC 8463),
//! DMARC (RFC 9989) and Authentication-Results (RFC 8601). DNS answers and the time are
//! inputs; message bytes are streamed in. Nothing here opens a socket, reads a clock or
//! draws random numbers (RSA signing blinds with the system's random source inside
//! `ring`; the signatures themselves are deterministic).
//!
//! - [`spf`]: the RFC 7208 `check_host()` machine for the MAIL FROM and HELO identities:
//!   every mechanism, modifier and macro, the limits of section 4.6.4, `exp=`
//!   explanations; passes the openspf RFC 7208 and RFC 4408 test suites.
//! - [`dkim`]: verify and sign (RFC 6376, RFC 8463 Ed25519, RFC 8301).
//! - [`dmarc`]: RFC 9989 policy discovery by DNS Tree Walk, Organizational Domains
//!   without a Public Suffix List, relaxed and strict alignment of the SPF and DKIM
//!   identifiers, `p`/`sp`/`np`/`t=y`; several From fields or author domains never pass.
//! - [`results`]: the `Authentication-Results` writer and parser (RFC 8601).
//! - [`dns`]: the questions the machines ask and the answers they take, as hickory-proto
//!   messages; `driver` (feature `tokio`) answers them over postwerk-mx's resolver.
//!
//! # Sign and verify
//!
//! ```
//! use postwerk_auth::dns::Answer;
//! use postwerk_auth::dkim::{DkimStatus, Signer, SigningKey, Verifier, VerifierConfig};
//!
//! let now = 1_700_000_000;
//! let key = SigningKey::ed25519_from_seed(&[42u8; 32]).unwrap();
//! let record = key.dns_record(); // publish at sel._domainkey.example.com
//! let signer = Signer::new(key, "example.com", "sel").unwrap();
//!
//! let message = b"From: Alice <alice@example.com>\r\nTo: bob@example.net\r\n\
//!                 Subject: hello\r\n\r\nHi Bob.\r\n";
//! let field = signer.sign(message, now).unwrap();
//! let signed = [field.as_bytes(), message].concat();
//!
//! // Driver loop of a receiver: bytes in, DNS questions out, answers in, results out.
//! let mut verifier = Verifier::new(VerifierConfig::default());
//! for chunk in signed.chunks(7) {
//!     verifier.update(chunk);
//! }
//! for query in verifier.key_queries() {
//!     assert_eq!(query.name, "sel._domainkey.example.com");
//!     // A real caller sends query.dns_message(id) and reads Answer::from_dns_response.
//!     verifier.supply_key(&query.name, Answer::txt(&record));
//! }
//! let results = verifier.finish(now);
//! assert_eq!(results[0].status, DkimStatus::Pass);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod dkim;
pub mod dmarc;
pub mod dns;
#[cfg(feature = "tokio")]
pub mod driver;
pub mod results;
pub mod spf;
