//! TLS: the server configuration (a configured certificate, or a self-signed one generated
//! for the host name into `data_dir/tls` on first start and reused afterwards), and the
//! client configuration used for outbound STARTTLS.
//!
//! Outbound TLS is opportunistic (RFC 7435): the post office encrypts whenever the MX
//! offers STARTTLS but does not authenticate the server, because MX host names are not
//! protected by DNS without DNSSEC/DANE or MTA-STS anyway. The certificate chain and name
//! are not checked; the handshake signatures are, so the session key belongs to whoever
//! holds the presented certificate. This protects against passive eavesdropping, not
//! against an active attacker in the path.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, ServerConfig, SignatureScheme};

use crate::config::Config;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Where the certificate and key come from.
fn cert_paths(config: &Config) -> (PathBuf, PathBuf, bool) {
    match &config.tls {
        Some(files) => (files.cert.clone(), files.key.clone(), false),
        None => {
            let dir = config.data_dir.join("tls");
            (dir.join("cert.pem"), dir.join("key.pem"), true)
        }
    }
}

/// The server configuration; generates the self-signed pair when none is configured and
/// none was generated before.
pub fn server_config(config: &Config) -> io::Result<Arc<ServerConfig>> {
    let (cert_path, key_path, generated) = cert_paths(config);
    if generated && !(cert_path.exists() && key_path.exists()) {
        generate(&config.hostname, &cert_path, &key_path)?;
        tracing::info!(cert = %cert_path.display(), "generated a self-signed certificate for {}", config.hostname);
    }
    let certs = load_certs(&cert_path)?;
    let key = load_key(&key_path)?;
    let server = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", cert_path.display()),
            )
        })?;
    Ok(Arc::new(server))
}

fn generate(hostname: &str, cert_path: &Path, key_path: &Path) -> io::Result<()> {
    use std::io::Write;
    let certified =
        rcgen::generate_simple_self_signed(vec![hostname.to_owned()]).map_err(io::Error::other)?;
    if let Some(dir) = cert_path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut key = crate::maildir::create_private(key_path)?;
    key.write_all(certified.signing_key.serialize_pem().as_bytes())?;
    key.sync_all()?;
    std::fs::write(cert_path, certified.cert.pem())?;
    Ok(())
}

fn load_certs(path: &Path) -> io::Result<Vec<CertificateDer<'static>>> {
    let pem = std::fs::read(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice()).collect::<Result<Vec<_>, _>>()?;
    if certs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: no certificate", path.display()),
        ));
    }
    Ok(certs)
}

fn load_key(path: &Path) -> io::Result<PrivateKeyDer<'static>> {
    let pem = std::fs::read(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    rustls_pemfile::private_key(&mut pem.as_slice())?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: no private key", path.display()),
        )
    })
}

/// The client configuration for a smarthost: the certificate chain verified against
/// `ca_file`'s certificates, or the system's trusted roots, and the host name checked.
pub fn verified_client_config(ca_file: Option<&Path>) -> io::Result<Arc<ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            for cert in load_certs(path)? {
                roots.add(cert).map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{}: {e}", path.display()),
                    )
                })?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
        }
    }
    if roots.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "no trusted certificates for the smarthost (set outbound.relay_ca_file, or install ca-certificates)",
        ));
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The client configuration for opportunistic outbound STARTTLS (see the module docs).
pub fn opportunistic_client_config() -> io::Result<Arc<ClientConfig>> {
    let provider = provider();
    let verifier = Arc::new(Opportunistic {
        algorithms: provider.signature_verification_algorithms,
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Accepts any certificate, checks handshake signatures.
#[derive(Debug)]
struct Opportunistic {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Opportunistic {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EMBEDDED_DEFAULT;

    #[test]
    fn a_self_signed_certificate_is_generated_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::parse(EMBEDDED_DEFAULT, "t", dir.path()).unwrap();
        server_config(&config).unwrap();
        let cert = dir.path().join("post-office-data/tls/cert.pem");
        let first = std::fs::read(&cert).unwrap();
        server_config(&config).unwrap();
        assert_eq!(std::fs::read(&cert).unwrap(), first);
        opportunistic_client_config().unwrap();
    }

    #[test]
    fn a_missing_configured_certificate_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{EMBEDDED_DEFAULT}\n[tls]\ncert = \"nope.pem\"\nkey = \"k.pem\"\n");
        let config = Config::parse(&text, "t", dir.path()).unwrap();
        let err = server_config(&config).unwrap_err().to_string();
        assert!(err.contains("nope.pem"), "{err}");
    }
}
