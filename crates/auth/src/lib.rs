//! Sender authentication as sans-IO machines: SPF (RFC 7208), DKIM (RFC 6376, RFC 8463),
//! DMARC (RFC 9989) and Authentication-Results (RFC 8601). DNS answers and the time are
//! inputs; message bytes are streamed in. Nothing here opens a socket, reads a clock or
//! draws random numbers (RSA signing blinds with the system's random source inside
//! `ring`; the signatures themselves are deterministic).
//!
//! Implemented so far: [`dkim`] (verify and sign) and [`results`] (the
//! `Authentication-Results` writer and parser). SPF and DMARC are still to come.
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
