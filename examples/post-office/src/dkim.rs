//! DKIM keys of the local domains.
//!
//! Each local domain has a directory `data_dir/dkim/DOMAIN/` (0700) of private keys, one
//! file `SELECTOR.key` (0600, PKCS#8 DER) per key; every key in it signs mail from that
//! domain, so a rotation is: add the new key, publish its record, remove the old file,
//! reload. On first start (and on a reload that adds a domain) a domain without any key
//! gets two: Ed25519 (RFC 8463) and RSA-2048 (RFC 8301), with selectors named after the
//! month they were made (`ed202612`, `rsa202612`). Receivers that do not know Ed25519 yet
//! still have the RSA signature.
//!
//! `post-office dkim-record DOMAIN` prints the TXT records to publish.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use postwerk_auth::dkim::{Signer, SigningKey};
use rsa::pkcs8::EncodePrivateKey as _;
use tracing::info;

use crate::maildir::{create_dir_durable, create_private, sync_dir};

/// One key of a domain, ready to sign.
#[derive(Debug)]
pub struct DomainKey {
    /// The selector (`s=`), the key file's name without `.key`.
    pub selector: String,
    /// The signer for this domain and selector.
    pub signer: Signer,
}

/// The signing keys of every local domain.
#[derive(Debug, Default)]
pub struct DkimKeys {
    by_domain: HashMap<String, Arc<Vec<DomainKey>>>,
}

impl DkimKeys {
    /// Loads the keys of `domains` from `data_dir/dkim`, generating a pair for each
    /// domain that has none.
    pub fn load_or_generate(data_dir: &Path, domains: &[String]) -> io::Result<DkimKeys> {
        let mut by_domain = HashMap::new();
        for domain in domains {
            let domain = domain.to_ascii_lowercase();
            let dir = data_dir.join("dkim").join(&domain);
            create_dir_durable(&dir)?;
            let mut keys = load_dir(&dir, &domain)?;
            if keys.is_empty() {
                generate_pair(&dir)?;
                keys = load_dir(&dir, &domain)?;
                info!(
                    domain,
                    dir = %dir.display(),
                    "generated DKIM keys; publish them (post-office dkim-record {domain})"
                );
            }
            by_domain.insert(domain, Arc::new(keys));
        }
        Ok(DkimKeys { by_domain })
    }

    /// The keys that sign mail from `domain` (compared without regard to ASCII case).
    pub fn for_domain(&self, domain: &str) -> Option<Arc<Vec<DomainKey>>> {
        self.by_domain.get(&domain.to_ascii_lowercase()).cloned()
    }

    /// Some signer of any domain: all of them hash bodies the same way, so one body pass
    /// started with it serves every key ([`postwerk_auth::dkim::Signing::sign`]).
    pub fn any_signer(&self) -> Option<&Signer> {
        self.by_domain
            .values()
            .find_map(|keys| keys.first())
            .map(|k| &k.signer)
    }

    /// The TXT records to publish for `domain`, one zone-file line per key, long values
    /// split into strings of at most 255 octets (RFC 1035 section 3.3.14).
    pub fn dns_records(&self, domain: &str) -> Option<Vec<String>> {
        let domain = domain.to_ascii_lowercase();
        let keys = self.by_domain.get(&domain)?;
        Some(
            keys.iter()
                .map(|k| {
                    let value = k.signer.dns_record();
                    let strings: Vec<String> = value
                        .as_bytes()
                        .chunks(255)
                        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
                        .collect();
                    format!(
                        "{}._domainkey.{domain}. IN TXT {}",
                        k.selector,
                        strings.join(" ")
                    )
                })
                .collect(),
        )
    }
}

/// The keys in `dir`, sorted by selector. A file that is not a usable key is an error
/// naming it (a broken key must not silently stop signing).
fn load_dir(dir: &Path, domain: &str) -> io::Result<Vec<DomainKey>> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "key"))
        .collect();
    paths.sort();
    let mut keys = Vec::new();
    for path in paths {
        let bad = |why: String| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {why}", path.display()),
            )
        };
        let selector = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let der = fs::read(&path)?;
        let key = SigningKey::from_pkcs8_der(&der).map_err(|e| bad(e.to_string()))?;
        let signer = Signer::new(key, domain, &selector).map_err(|e| bad(e.to_string()))?;
        keys.push(DomainKey { selector, signer });
    }
    Ok(keys)
}

/// Writes a new Ed25519 and RSA-2048 key into `dir`.
fn generate_pair(dir: &Path) -> io::Result<()> {
    let month = month_stamp(crate::clock::unix_now());
    let rng = ring::rand::SystemRandom::new();
    let ed = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng)
        .map_err(|_| io::Error::other("cannot generate an Ed25519 key"))?;
    write_key(&dir.join(format!("ed{month}.key")), ed.as_ref())?;
    let rsa = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
        .map_err(|e| io::Error::other(format!("cannot generate an RSA key: {e}")))?;
    let der = rsa
        .to_pkcs8_der()
        .map_err(|e| io::Error::other(format!("cannot encode the RSA key: {e}")))?;
    write_key(&dir.join(format!("rsa{month}.key")), der.as_bytes())?;
    sync_dir(dir)
}

fn write_key(path: &Path, der: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = create_private(&tmp)?;
    file.write_all(der)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

/// `YYYYMM` of a Unix time (UTC), for selector names.
fn month_stamp(unix: u64) -> String {
    let dt = postwerk_message::DateTime::from_unix(i64::try_from(unix).unwrap_or(0), 0);
    format!("{:04}{:02}", dt.year, dt.month)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_generated_once_private_and_published_in_255_octet_strings() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let domains = vec!["Alpha.Test".to_owned()];
        let keys = DkimKeys::load_or_generate(dir.path(), &domains).unwrap();
        let signing = keys.for_domain("alpha.test").unwrap();
        assert_eq!(signing.len(), 2);
        let mut files: Vec<PathBuf> = fs::read_dir(dir.path().join("dkim/alpha.test"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert_eq!(files.len(), 2);
        for f in &files {
            let mode = fs::metadata(f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", f.display());
        }
        let records = keys.dns_records("alpha.test").unwrap();
        assert!(records[0].starts_with("ed") && records[0].contains("k=ed25519"));
        assert!(records[1].starts_with("rsa") && records[1].contains("k=rsa"));
        for r in &records {
            assert!(
                r.contains("._domainkey.alpha.test. IN TXT \"v=DKIM1;"),
                "{r}"
            );
            for s in r.split('"').skip(1).step_by(2) {
                assert!(s.len() <= 255, "{s}");
            }
        }
        // A second start loads the same keys instead of making new ones.
        let again = DkimKeys::load_or_generate(dir.path(), &domains).unwrap();
        assert_eq!(again.dns_records("alpha.test").unwrap(), records);
    }

    #[test]
    fn a_broken_key_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let kdir = dir.path().join("dkim/alpha.test");
        fs::create_dir_all(&kdir).unwrap();
        fs::write(kdir.join("sel.key"), b"not a key").unwrap();
        let e = DkimKeys::load_or_generate(dir.path(), &["alpha.test".into()]).unwrap_err();
        assert!(e.to_string().contains("sel.key"), "{e}");
    }

    #[test]
    fn month_stamps() {
        assert_eq!(month_stamp(1_796_083_200), "202612");
        assert_eq!(month_stamp(0), "197001");
    }
}
