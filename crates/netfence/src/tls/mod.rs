//! TLS for inspected hosts: the run's own certificate authority, which the fence trusts and
//! nothing else does, and the client side that verifies real upstream servers.

mod ca;
mod upstream;

pub use ca::RunCa;
pub use upstream::{UpstreamTls, UpstreamTlsError};

/// The crypto provider every TLS config here uses: ring, which builds with a C compiler only.
pub(crate) fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}
