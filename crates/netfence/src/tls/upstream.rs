//! The proxy's own TLS client toward real servers: verified against the host's trusted roots
//! (the system store) plus any CA the caller adds (a company proxy's, or a test CA), never
//! against the run's CA.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamTlsError {
    #[error("reading the upstream CA file {path}: {message}; give a PEM file of CA certificates")]
    CaFile { path: PathBuf, message: String },
}

/// Client configs for upstream connections, one per ALPN offer. The system's roots are read
/// and parsed at the first upstream handshake, not at start: a few milliseconds of every run's
/// start-up (each of ~140 certificate files, twice) that a run making no TLS connection never
/// needs. The added CA files are read at once, so a bad one is an error before the run starts.
#[derive(Clone)]
pub struct UpstreamTls {
    extra: Arc<Vec<CertificateDer<'static>>>,
    configs: Arc<OnceLock<Configs>>,
}

struct Configs {
    /// Offers h2 and http/1.1: for clients that negotiated h2 with the proxy.
    h2: Arc<rustls::ClientConfig>,
    /// Offers http/1.1 only: keeps upgrades (websockets) and HTTP/1 semantics end to end.
    h1: Arc<rustls::ClientConfig>,
    /// How many roots came from where, for error messages.
    summary: String,
}

impl std::fmt::Debug for UpstreamTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.configs.get() {
            Some(c) => f.write_str(&c.summary),
            None => write!(f, "system roots (not read yet), {} added", self.extra.len()),
        }
    }
}

impl UpstreamTls {
    /// The system's roots (honouring SSL_CERT_FILE / SSL_CERT_DIR; read at first use) plus
    /// every certificate in `extra`.
    pub fn new(extra: &[PathBuf]) -> Result<UpstreamTls, UpstreamTlsError> {
        let mut certs = Vec::new();
        let mut check = rustls::RootCertStore::empty();
        for path in extra {
            for cert in read_pem(path)? {
                check
                    .add(cert.clone())
                    .map_err(|e| UpstreamTlsError::CaFile { path: path.clone(), message: e.to_string() })?;
                certs.push(cert);
            }
        }
        Ok(UpstreamTls { extra: Arc::new(certs), configs: Arc::new(OnceLock::new()) })
    }

    /// The config offering h2 and http/1.1.
    pub fn h2(&self) -> Arc<rustls::ClientConfig> {
        self.configs().h2.clone()
    }

    /// The config offering http/1.1 only.
    pub fn h1(&self) -> Arc<rustls::ClientConfig> {
        self.configs().h1.clone()
    }

    /// How many roots came from where.
    pub fn summary(&self) -> &str {
        &self.configs().summary
    }

    fn configs(&self) -> &Configs {
        self.configs.get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let native = rustls_native_certs::load_native_certs();
            let (system, _) = roots.add_parsable_certificates(native.certs);
            for cert in self.extra.iter() {
                // Checked in new().
                let _ = roots.add(cert.clone());
            }
            let added = self.extra.len();
            let roots = Arc::new(roots);
            let config = |alpn: &[&[u8]]| {
                let mut c = rustls::ClientConfig::builder_with_provider(super::provider())
                    .with_protocol_versions(rustls::ALL_VERSIONS)
                    .expect("ring supports every TLS version rustls offers")
                    .with_root_certificates(roots.clone())
                    .with_no_client_auth();
                c.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
                Arc::new(c)
            };
            Configs {
                h2: config(&[b"h2", b"http/1.1"]),
                h1: config(&[b"http/1.1"]),
                // No roots is not an error here: a run that inspects nothing never needs them,
                // and one that does fails each upstream handshake with this summary in its
                // reason.
                summary: if system + added == 0 {
                    "no trusted root certificates (install ca-certificates, or give --upstream-ca)".into()
                } else {
                    format!("{system} system root(s), {added} added")
                },
            }
        })
    }
}

fn read_pem(path: &Path) -> Result<Vec<CertificateDer<'static>>, UpstreamTlsError> {
    let fail = |message: String| UpstreamTlsError::CaFile { path: path.to_path_buf(), message };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    if certs.is_empty() {
        return Err(fail("no CERTIFICATE block in it".into()));
    }
    Ok(certs)
}
