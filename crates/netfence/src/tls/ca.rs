//! The run's certificate authority: made fresh for every run, its private key never leaves
//! ringfence's memory, and it is trusted only inside the fence (the CA bundle the fence sees).
//! It signs a leaf certificate for each host name the proxy terminates, on demand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Leaf certificates outlive the longest run comfortably; the CA a little longer.
const LEAF_VALIDITY: Duration = Duration::from_secs(2 * 24 * 3600);
/// Clock skew between the host and whatever checks the certificate.
const BACKDATE: Duration = Duration::from_secs(3600);

pub struct RunCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    leaves: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl std::fmt::Debug for RunCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("RunCa").finish_non_exhaustive()
    }
}

impl RunCa {
    /// A new CA named for the run, valid from an hour ago for three days.
    pub fn new(run_id: &str) -> Result<RunCa, rcgen::Error> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.distinguished_name.push(DnType::CommonName, format!("ringfence run {run_id}"));
        params.distinguished_name.push(DnType::OrganizationName, "ringfence (this run only)");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let now = SystemTime::now();
        params.not_before = (now - BACKDATE).into();
        params.not_after = (now + LEAF_VALIDITY + Duration::from_secs(24 * 3600)).into();
        let issuer = CertifiedIssuer::self_signed(params, key)?;
        Ok(RunCa { issuer, leaves: Mutex::new(HashMap::new()) })
    }

    /// The CA certificate, PEM: what the fence's CA bundle adds.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    pub fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// The certificate and key the proxy presents for `host`, made once per name.
    pub fn leaf(&self, host: &str) -> Result<Arc<CertifiedKey>, String> {
        let mut leaves = self.leaves.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(leaf) = leaves.get(host) {
            return Ok(leaf.clone());
        }
        let fail = |e: rcgen::Error| format!("a certificate for {host}: {e}");
        let key = KeyPair::generate().map_err(fail)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
        params.subject_alt_names = vec![match host.parse::<std::net::IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(host.try_into().map_err(fail)?),
        }];
        params.distinguished_name.push(DnType::CommonName, host);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let now = SystemTime::now();
        params.not_before = (now - BACKDATE).into();
        params.not_after = (now + LEAF_VALIDITY).into();
        let cert = params.signed_by(&key, &self.issuer).map_err(fail)?;
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signer = rustls::crypto::ring::sign::any_supported_type(&der)
            .map_err(|e| format!("a key for {host}: {e}"))?;
        let leaf = Arc::new(CertifiedKey::new(vec![cert.der().clone(), self.der()], signer));
        leaves.insert(host.to_string(), leaf.clone());
        Ok(leaf)
    }

    /// A server config that presents a leaf for whatever name the client asks for, offering
    /// HTTP/2 and HTTP/1.1.
    pub fn server_config(self: &Arc<Self>) -> Arc<rustls::ServerConfig> {
        self.config_with(Resolver(self.clone(), None))
    }

    /// As `server_config`, for a client that sent no SNI: it gets `host`'s leaf, the name its
    /// connection is for (the proxy knows it from the address).
    pub fn server_config_for(self: &Arc<Self>, host: &str) -> Arc<rustls::ServerConfig> {
        self.config_with(Resolver(self.clone(), Some(host.to_string())))
    }

    fn config_with(&self, resolver: Resolver) -> Arc<rustls::ServerConfig> {
        let mut config = rustls::ServerConfig::builder_with_provider(super::provider())
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .expect("ring supports every TLS version rustls offers")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver));
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

#[derive(Debug)]
struct Resolver(Arc<RunCa>, Option<String>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // Without SNI and without a name from elsewhere there is nothing to vouch for; the
        // handshake fails, which is the answer.
        self.0.leaf(hello.server_name().or(self.1.as_deref())?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier;

    #[test]
    fn leaves_are_cached_and_chain_to_the_ca() {
        let ca = RunCa::new("test").unwrap();
        let a = ca.leaf("api.example.test").unwrap();
        let b = ca.leaf("api.example.test").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.cert[1], ca.der());
        assert!(ca.pem().starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(!format!("{ca:?}").contains("PRIVATE"));
    }

    #[test]
    fn a_leaf_verifies_against_the_ca_only() {
        let ca = RunCa::new("test").unwrap();
        let leaf = ca.leaf("api.example.test").unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.der()).unwrap();
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            super::super::provider(),
        )
        .build()
        .unwrap();
        let name = rustls::pki_types::ServerName::try_from("api.example.test").unwrap();
        let now = rustls::pki_types::UnixTime::now();
        verifier.verify_server_cert(&leaf.cert[0], &leaf.cert[1..], &name, &[], now).unwrap();
        let other = rustls::pki_types::ServerName::try_from("other.example.test").unwrap();
        assert!(verifier.verify_server_cert(&leaf.cert[0], &[], &other, &[], now).is_err());
    }
}
