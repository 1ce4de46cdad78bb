//! DKIM (RFC 6376, RFC 8463, RFC 8301): a sans-IO verifier and a signer.
//!
//! | RFC | Section | Status |
//! |-----|---------|--------|
//! | 6376 | 3.2 tag lists | implemented |
//! | 6376 | 3.3 `rsa-sha256`, `rsa-sha1` | implemented (`rsa-sha1` verify only, `neutral` by default per RFC 8301) |
//! | 6376 | 3.4 simple / relaxed canonicalization, header and body | implemented, body streamed |
//! | 6376 | 3.5 `DKIM-Signature` tags | all (`z=` ignored) |
//! | 6376 | 3.6 key records | implemented (`v k h p s t`; `g=` ignored) |
//! | 6376 | 5 signing | implemented (ed25519-sha256, rsa-sha256) |
//! | 6376 | 6 verifying | implemented; several signatures, one result each |
//! | 8463 | Ed25519-SHA256 | implemented |
//! | 8301 | key size ≥ 1024 bits, no SHA-1 | implemented |
//!
//! The input is the message as it travels: CRLF line ends, SMTP dot-stuffing already
//! undone (as the SMTP machine delivers it).

mod canon;
mod error;
mod headers;
mod key;
mod sign;
mod signature;
mod tags;
mod verify;

pub use canon::Canonicalization;
pub use error::{DkimError, SignError};
pub use key::{HashAlgorithm, KeyRecord, KeyType};
pub use sign::{
    DEFAULT_OVERSIGNED_HEADERS, DEFAULT_SIGNED_HEADERS, HeaderListStyle, Signer, Signing,
    SigningKey,
};
pub use signature::Signature;
pub use verify::{DkimStatus, SignatureResult, Verifier, VerifierConfig};

use crate::dns::{Query, RecordKind};
use ring::digest;

/// A DKIM signing algorithm (`a=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// `rsa-sha1`: verify only, deprecated by RFC 8301.
    RsaSha1,
    /// `rsa-sha256`.
    RsaSha256,
    /// `ed25519-sha256` (RFC 8463).
    Ed25519Sha256,
}

impl Algorithm {
    /// The tag value, e.g. `ed25519-sha256`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RsaSha1 => "rsa-sha1",
            Self::RsaSha256 => "rsa-sha256",
            Self::Ed25519Sha256 => "ed25519-sha256",
        }
    }

    fn parse(s: &[u8]) -> Option<Self> {
        [Self::RsaSha1, Self::RsaSha256, Self::Ed25519Sha256]
            .into_iter()
            .find(|a| s.eq_ignore_ascii_case(a.as_str().as_bytes()))
    }

    /// The key type it needs.
    pub fn key_type(self) -> KeyType {
        match self {
            Self::RsaSha1 | Self::RsaSha256 => KeyType::Rsa,
            Self::Ed25519Sha256 => KeyType::Ed25519,
        }
    }

    /// The hash algorithm it uses.
    pub fn hash(self) -> HashAlgorithm {
        match self {
            Self::RsaSha1 => HashAlgorithm::Sha1,
            Self::RsaSha256 | Self::Ed25519Sha256 => HashAlgorithm::Sha256,
        }
    }

    fn digest(self) -> &'static digest::Algorithm {
        match self {
            Self::RsaSha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::RsaSha256 | Self::Ed25519Sha256 => &digest::SHA256,
        }
    }
}

/// A key record to look up: a TXT query for `name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct KeyQuery {
    /// `selector._domainkey.domain`, lower case, no trailing dot.
    pub name: String,
    /// `s=` of the signature(s) needing it.
    pub selector: String,
    /// `d=` of the signature(s) needing it.
    pub domain: String,
}

impl KeyQuery {
    /// The DNS question: TXT at [`name`](Self::name).
    pub fn query(&self) -> Query {
        Query::new(&self.name, RecordKind::Txt)
    }

    /// The DNS query message (recursion desired, TXT, class IN) with `id`, for a caller
    /// that speaks DNS wire format; `None` when the name is not a valid DNS name.
    pub fn dns_message(&self, id: u16) -> Option<hickory_proto::op::Message> {
        self.query().dns_message(id)
    }
}
