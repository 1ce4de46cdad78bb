//! Why a signature did not pass, and why signing failed.

use thiserror::Error;

/// Why a DKIM signature did not pass: the reason carried by a non-`pass`
/// [`SignatureResult`](super::SignatureResult), and the error of the record parsers.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DkimError {
    // --- signature field syntax (permerror)
    /// A tag list is not `name=value; ...` (RFC 6376 3.2).
    #[error("malformed tag list")]
    TagSyntax,
    /// The same tag appears twice (RFC 6376 3.2: invalid).
    #[error("duplicate tag {0:?}")]
    DuplicateTag(String),
    /// A required signature tag is missing (RFC 6376 6.1.1).
    #[error("signature has no {0}= tag")]
    MissingTag(&'static str),
    /// `v=` is not `1`.
    #[error("signature version is not 1")]
    UnsupportedVersion,
    /// `a=` names an algorithm this crate does not know.
    #[error("unknown signing algorithm {0:?}")]
    UnknownAlgorithm(String),
    /// `c=` is neither `simple` nor `relaxed` (for header or body).
    #[error("unknown canonicalization {0:?}")]
    UnknownCanonicalization(String),
    /// A base64 tag value (`b=`, `bh=`, key `p=`) does not decode.
    #[error("{0}= is not valid base64")]
    BadBase64(&'static str),
    /// A numeric tag (`l=`, `t=`, `x=`) is not a decimal number.
    #[error("{0}= is not a number")]
    BadNumber(&'static str),
    /// `d=` is not a domain name.
    #[error("d= is not a valid domain name")]
    BadDomain,
    /// `s=` is not a valid selector.
    #[error("s= is not a valid selector")]
    BadSelector,
    /// `h=` does not include `From` (RFC 6376 6.1.1).
    #[error("From is not among the signed header fields")]
    FromNotSigned,
    /// `i=` is not in the `d=` domain or one of its subdomains (RFC 6376 6.1.1).
    #[error("i= is not within the d= domain")]
    IdentityMismatch,
    /// `q=` does not include `dns/txt`.
    #[error("no supported query method in q=")]
    UnsupportedQueryMethod,
    /// `x=` is earlier than `t=` (RFC 6376 3.5).
    #[error("x= is earlier than t=")]
    ExpiryBeforeTimestamp,
    /// More signatures than the configured maximum; this one was not evaluated.
    #[error("too many signatures; this one was not evaluated")]
    TooManySignatures,

    // --- time (permerror)
    /// `x=` is in the past (RFC 6376 3.5, 6.1.1: signature expired).
    #[error("signature expired at {expired} (now {now})")]
    Expired {
        /// The `x=` value.
        expired: u64,
        /// The caller's clock.
        now: u64,
    },
    /// `t=` is in the future beyond the allowed clock skew.
    #[error("signature timestamp {timestamp} is in the future (now {now})")]
    FutureTimestamp {
        /// The `t=` value.
        timestamp: u64,
        /// The caller's clock.
        now: u64,
    },

    // --- key record (permerror unless noted)
    /// The DNS said the key record does not exist (NXDOMAIN or no TXT record).
    #[error("no key record for this selector")]
    NoKey,
    /// The key record name has several TXT records that parse as keys.
    #[error("several key records for this selector")]
    MultipleKeys,
    /// The key record's `v=` is not `DKIM1` or not the first tag (RFC 6376 3.6.1).
    #[error("key record version is not DKIM1")]
    KeyBadVersion,
    /// The key record has no `p=` tag.
    #[error("key record has no p= tag")]
    KeyMissing,
    /// The key record's `p=` is empty: the key was revoked (RFC 6376 3.6.1).
    #[error("key revoked (empty p=)")]
    KeyRevoked,
    /// The key record's `k=` is not a key type this crate knows.
    #[error("unknown key type {0:?}")]
    KeyUnknownType(String),
    /// The key type (`k=`) does not match the signature algorithm (`a=`).
    #[error("key type does not match the signature algorithm")]
    KeyTypeMismatch,
    /// The key record's `h=` does not allow the signature's hash algorithm.
    #[error("hash algorithm not allowed by the key record's h=")]
    HashNotAllowed,
    /// The key record's `s=` does not include `email` or `*`.
    #[error("key is not for e-mail (s=)")]
    KeyServiceNotEmail,
    /// The public key data (`p=`) is not a usable key of its type.
    #[error("public key data is malformed")]
    KeyMalformed,
    /// An RSA key shorter than 1024 bits (RFC 8301 3.2).
    #[error("RSA key of {0} bits is shorter than 1024")]
    KeyTooShort(usize),
    /// An RSA key longer than 8192 bits (not verified, to bound the work).
    #[error("RSA key of {0} bits is longer than 8192")]
    KeyTooLong(usize),
    /// The key record says `t=s` and `i=` is in a subdomain of `d=`.
    #[error("key record requires i= in exactly the d= domain (t=s)")]
    StrictIdentity,

    // --- DNS (temperror)
    /// The DNS answer was a temporary failure (SERVFAIL, timeout, …).
    #[error("temporary DNS failure looking up the key")]
    DnsTempFail,
    /// No answer was supplied for this signature's key query before `finish`.
    #[error("no DNS answer supplied for the key")]
    KeyNotSupplied,

    // --- verification (fail)
    /// The body hash does not match `bh=`.
    #[error("body hash does not match bh=")]
    BodyHashMismatch,
    /// `l=` is longer than the canonical body (RFC 6376 6.1.3).
    #[error("l= is longer than the body")]
    BodyLengthTooLong,
    /// The cryptographic signature does not verify.
    #[error("signature does not verify")]
    SignatureMismatch,

    // --- policy (neutral)
    /// An `rsa-sha1` signature: valid, but not accepted (RFC 8301 3.1) unless configured.
    #[error("rsa-sha1 is not accepted (RFC 8301)")]
    WeakAlgorithm,
}

/// Why signing failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SignError {
    /// The private key was not accepted (not PKCS#8/PKCS#1 DER of a supported key, or an
    /// RSA key outside 2048..=8192 bits).
    #[error("private key rejected: {0}")]
    KeyRejected(String),
    /// The domain is not a valid domain name.
    #[error("invalid signing domain")]
    BadDomain,
    /// The selector is not valid.
    #[error("invalid selector")]
    BadSelector,
    /// The identity (`i=`) is not within the signing domain.
    #[error("identity is not within the signing domain")]
    BadIdentity,
    /// A header field name in the list is not a valid field name.
    #[error("invalid header field name {0:?}")]
    BadHeaderName(String),
    /// The message has no `From` field; every DKIM signature must sign it.
    #[error("the message has no From field")]
    NoFrom,
    /// The header block is larger than the configured limit.
    #[error("header block larger than the limit")]
    HeaderTooLarge,
    /// The crypto library failed to sign.
    #[error("signing failed")]
    Crypto,
    /// A [`Signing`](super::Signing) was asked to sign for a signer with another body
    /// canonicalization or header limit than the one that started it.
    #[error("the signer does not match the one that started this message")]
    Mismatch,
}
