//! DKIM key records (RFC 6376 section 3.6.1, RFC 8463 section 4) and the public keys in
//! them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::signature as sig;

use super::{Algorithm, DkimError, tags};

/// The key type of a record's `k=` tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// `k=rsa` (the default).
    Rsa,
    /// `k=ed25519` (RFC 8463).
    Ed25519,
}

/// A hash algorithm a key record's `h=` tag may allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// `sha1`.
    Sha1,
    /// `sha256`.
    Sha256,
}

/// A parsed key record: the TXT record at `selector._domainkey.domain`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyRecord {
    /// `k=`.
    pub key_type: KeyType,
    /// The public key: an RSAPublicKey (PKCS#1 DER) for RSA, the 32 raw bytes for Ed25519.
    pub public_key: Vec<u8>,
    /// The RSA modulus length in bits (0 for Ed25519).
    pub rsa_bits: usize,
    /// `h=`: the hash algorithms allowed; `None` when the tag is absent (all allowed).
    pub hashes: Option<Vec<HashAlgorithm>>,
    /// `t=y`: the domain is testing DKIM.
    pub testing: bool,
    /// `t=s`: `i=` must be in exactly the `d=` domain.
    pub strict: bool,
}

impl KeyRecord {
    /// Parses a key record (the TXT strings of one record, concatenated).
    ///
    /// ```
    /// use postwerk_auth::dkim::{KeyRecord, KeyType, DkimError};
    /// let k = KeyRecord::parse(b"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=").unwrap();
    /// assert_eq!(k.key_type, KeyType::Ed25519);
    /// assert_eq!(KeyRecord::parse(b"v=DKIM1; p="), Err(DkimError::KeyRevoked));
    /// ```
    pub fn parse(record: &[u8]) -> Result<Self, DkimError> {
        let list = tags::parse(record)?;
        if let Some(v) = tags::get(&list, "v")
            && (list.first().map(|t| t.name) != Some(b"v".as_slice()) || v.value != b"DKIM1")
        {
            return Err(DkimError::KeyBadVersion);
        }
        let key_type = match tags::get(&list, "k") {
            None => KeyType::Rsa,
            Some(k) if k.value.eq_ignore_ascii_case(b"rsa") => KeyType::Rsa,
            Some(k) if k.value.eq_ignore_ascii_case(b"ed25519") => KeyType::Ed25519,
            Some(k) => {
                return Err(DkimError::KeyUnknownType(
                    String::from_utf8_lossy(k.value).into_owned(),
                ));
            }
        };
        let hashes = tags::get(&list, "h").map(|h| {
            tags::split_list(h.value)
                .filter_map(|n| {
                    if n.eq_ignore_ascii_case(b"sha256") {
                        Some(HashAlgorithm::Sha256)
                    } else if n.eq_ignore_ascii_case(b"sha1") {
                        Some(HashAlgorithm::Sha1)
                    } else {
                        None
                    }
                })
                .collect()
        });
        if let Some(s) = tags::get(&list, "s")
            && !tags::split_list(s.value).any(|x| x == b"*" || x.eq_ignore_ascii_case(b"email"))
        {
            return Err(DkimError::KeyServiceNotEmail);
        }
        let (mut testing, mut strict) = (false, false);
        if let Some(t) = tags::get(&list, "t") {
            for flag in tags::split_list(t.value) {
                testing |= flag.eq_ignore_ascii_case(b"y");
                strict |= flag.eq_ignore_ascii_case(b"s");
            }
        }
        let p = tags::get(&list, "p").ok_or(DkimError::KeyMissing)?;
        let p = tags::strip_fws(p.value);
        if p.is_empty() {
            return Err(DkimError::KeyRevoked);
        }
        let der = STANDARD.decode(&p).map_err(|_| DkimError::BadBase64("p"))?;
        let (public_key, rsa_bits) = match key_type {
            KeyType::Ed25519 => {
                if der.len() != 32 {
                    return Err(DkimError::KeyMalformed);
                }
                (der, 0)
            }
            KeyType::Rsa => {
                let pkcs1 = match spki_rsa(&der) {
                    Some(inner) => inner.to_vec(),
                    // Some publishers put the bare RSAPublicKey in p=.
                    None => der,
                };
                let bits = rsa_modulus_bits(&pkcs1).ok_or(DkimError::KeyMalformed)?;
                (pkcs1, bits)
            }
        };
        Ok(Self {
            key_type,
            public_key,
            rsa_bits,
            hashes,
            testing,
            strict,
        })
    }

    /// Checks the record against a signature algorithm: key type, `h=`, key size.
    pub(crate) fn check(&self, alg: Algorithm) -> Result<(), DkimError> {
        if self.key_type != alg.key_type() {
            return Err(DkimError::KeyTypeMismatch);
        }
        if let Some(h) = &self.hashes
            && !h.contains(&alg.hash())
        {
            return Err(DkimError::HashNotAllowed);
        }
        if self.key_type == KeyType::Rsa {
            if self.rsa_bits < 1024 {
                return Err(DkimError::KeyTooShort(self.rsa_bits));
            }
            if self.rsa_bits > 8192 {
                return Err(DkimError::KeyTooLong(self.rsa_bits));
            }
        }
        Ok(())
    }

    /// Verifies `signature` over `data` (the canonicalized header data; Ed25519 signs its
    /// SHA-256 digest, RFC 8463 section 3).
    pub(crate) fn verify(&self, alg: Algorithm, data: &[u8], signature: &[u8]) -> bool {
        match alg {
            Algorithm::Ed25519Sha256 => {
                let digest = ring::digest::digest(&ring::digest::SHA256, data);
                sig::UnparsedPublicKey::new(&sig::ED25519, &self.public_key)
                    .verify(digest.as_ref(), signature)
                    .is_ok()
            }
            Algorithm::RsaSha256 => sig::UnparsedPublicKey::new(
                &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                &self.public_key,
            )
            .verify(data, signature)
            .is_ok(),
            Algorithm::RsaSha1 => sig::UnparsedPublicKey::new(
                &sig::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
                &self.public_key,
            )
            .verify(data, signature)
            .is_ok(),
        }
    }
}

// --- minimal DER reading, enough for SubjectPublicKeyInfo and RSAPublicKey

/// Reads one TLV; returns (tag, contents, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&l0, mut rest) = rest.split_first()?;
    let len = if l0 < 0x80 {
        usize::from(l0)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let mut len = 0usize;
        for &b in &rest[..n] {
            len = (len << 8) | usize::from(b);
        }
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

const RSA_ENCRYPTION_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// Unwraps a SubjectPublicKeyInfo holding an RSA key to its RSAPublicKey DER.
fn spki_rsa(der: &[u8]) -> Option<&[u8]> {
    let (0x30, spki, _) = tlv(der)? else {
        return None;
    };
    let (0x30, alg, rest) = tlv(spki)? else {
        return None;
    };
    let (0x06, oid, _) = tlv(alg)? else {
        return None;
    };
    if oid != RSA_ENCRYPTION_OID {
        return None;
    }
    let (0x03, bits, _) = tlv(rest)? else {
        return None;
    };
    match bits.split_first()? {
        (0, key) => Some(key),
        _ => None,
    }
}

/// The bit length of the modulus of an RSAPublicKey.
fn rsa_modulus_bits(pkcs1: &[u8]) -> Option<usize> {
    let (0x30, seq, _) = tlv(pkcs1)? else {
        return None;
    };
    let (0x02, n, rest) = tlv(seq)? else {
        return None;
    };
    let (0x02, _e, _) = tlv(rest)? else {
        return None;
    };
    let first = n.iter().position(|&b| b != 0)?;
    let n = &n[first..];
    Some((n.len() - 1) * 8 + (8 - n[0].leading_zeros() as usize))
}

/// Encodes a DER length.
fn der_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Wraps an RSAPublicKey into a SubjectPublicKeyInfo (what `p=` holds for RSA).
pub(crate) fn rsa_spki(pkcs1: &[u8]) -> Vec<u8> {
    let mut alg = vec![0x06, RSA_ENCRYPTION_OID.len() as u8];
    alg.extend_from_slice(RSA_ENCRYPTION_OID);
    alg.extend_from_slice(&[0x05, 0x00]);
    let mut body = vec![0x30];
    der_len(alg.len(), &mut body);
    body.extend_from_slice(&alg);
    body.push(0x03);
    der_len(pkcs1.len() + 1, &mut body);
    body.push(0);
    body.extend_from_slice(pkcs1);
    let mut out = vec![0x30];
    der_len(body.len(), &mut out);
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_1024: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

    #[test]
    fn rsa_spki_round_trip_and_bits() {
        let k = KeyRecord::parse(format!("v=DKIM1; k=rsa; p={RSA_1024}").as_bytes()).unwrap();
        assert_eq!(k.rsa_bits, 1024);
        let spki = rsa_spki(&k.public_key);
        assert_eq!(STANDARD.encode(spki), RSA_1024);
    }

    #[test]
    fn every_key_record_error() {
        let p = format!("p={RSA_1024}");
        let parse = |s: String| KeyRecord::parse(s.as_bytes());
        assert_eq!(parse("v=DKIM1; p=".into()), Err(DkimError::KeyRevoked));
        assert_eq!(
            parse(format!("v=DKIM2; {p}")),
            Err(DkimError::KeyBadVersion)
        );
        assert_eq!(
            parse(format!("k=rsa; v=DKIM1; {p}")),
            Err(DkimError::KeyBadVersion)
        );
        assert_eq!(
            parse(format!("v=DKIM1; k=dsa; {p}")),
            Err(DkimError::KeyUnknownType("dsa".into()))
        );
        assert_eq!(parse("v=DKIM1; k=rsa".into()), Err(DkimError::KeyMissing));
        assert_eq!(
            parse(format!("v=DKIM1; s=http; {p}")),
            Err(DkimError::KeyServiceNotEmail)
        );
        assert_eq!(
            parse("v=DKIM1; p=!!!".into()),
            Err(DkimError::BadBase64("p"))
        );
        assert_eq!(
            parse("v=DKIM1; k=ed25519; p=AAAA".into()),
            Err(DkimError::KeyMalformed)
        );
        assert_eq!(
            parse("v=DKIM1; p=AAAA".into()),
            Err(DkimError::KeyMalformed)
        );
        let k = parse(format!("v=DKIM1; h=sha1; t=y:s; {p}")).unwrap();
        assert!(k.testing && k.strict);
        assert_eq!(
            k.check(Algorithm::RsaSha256),
            Err(DkimError::HashNotAllowed)
        );
        assert_eq!(k.check(Algorithm::RsaSha1), Ok(()));
        assert_eq!(
            k.check(Algorithm::Ed25519Sha256),
            Err(DkimError::KeyTypeMismatch)
        );
        let k = parse(format!("v=DKIM1; s=email:*; {p}")).unwrap();
        assert_eq!(k.hashes, None);
    }

    #[test]
    fn short_rsa_key_is_refused() {
        // A 512-bit modulus in an RSAPublicKey.
        let mut n = vec![0x00, 0xc0];
        n.extend_from_slice(&[0x11; 63]);
        let mut seq = vec![0x02, n.len() as u8];
        seq.extend_from_slice(&n);
        seq.extend_from_slice(&[0x02, 0x03, 0x01, 0x00, 0x01]);
        let mut pkcs1 = vec![0x30, seq.len() as u8];
        pkcs1.extend_from_slice(&seq);
        let rec = format!("v=DKIM1; p={}", STANDARD.encode(rsa_spki(&pkcs1)));
        let k = KeyRecord::parse(rec.as_bytes()).unwrap();
        assert_eq!(k.rsa_bits, 512);
        assert_eq!(
            k.check(Algorithm::RsaSha256),
            Err(DkimError::KeyTooShort(512))
        );
    }
}
