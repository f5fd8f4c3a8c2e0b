//! The one GitHub REST call the gate makes: the actor's permission on the repository.
//!
//! Built on the HTTP and TLS stack ringfence already ships (hyper, rustls with the system's roots,
//! so a GitHub Enterprise Server behind a private CA works once its CA is installed on the
//! runner); no second client is linked in. The token only ever goes into the `Authorization`
//! header: no error message carries it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use policy::Role;
use tokio::net::TcpStream;

/// How many times a call is tried when GitHub is unreachable or answers 5xx / 429.
pub const ATTEMPTS: u32 = 3;
/// The most of a response body that is read; a permission answer is a few hundred bytes.
const BODY_LIMIT: usize = 256 * 1024;

/// A token kept out of `Debug` output.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(value: String) -> Option<Token> {
        let value = value.trim().to_string();
        (!value.is_empty()).then_some(Token(value))
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApiError {
    #[error("GITHUB_API_URL `{0}` is not an http(s) URL")]
    BadUrl(String),
    #[error(
        "GITHUB_API_URL `{0}` is plain http to a host that is not this machine: the token would cross the network in clear; use https"
    )]
    Cleartext(String),
    #[error(
        "GitHub refused the token (401 Unauthorized) asking {what}: pass a valid token, e.g. `env: GITHUB_TOKEN: ${{{{ github.token }}}}`"
    )]
    Unauthorized { what: String },
    #[error(
        "GitHub answered 403 Forbidden asking {what} ({message}): the token lacks the repository `metadata: read` permission, or the API rate limit is spent"
    )]
    Forbidden { what: String, message: String },
    #[error("GitHub could not be asked {what}: {last} (tried {attempts} times, {timeout:?} each)")]
    Unreachable { what: String, attempts: u32, timeout: Duration, last: String },
    #[error("GitHub answered {status} asking {what}")]
    Status { what: String, status: u16 },
    #[error("GitHub's answer asking {what} is not a permission: {detail}")]
    BadAnswer { what: String, detail: String },
}

/// Where and how to ask.
pub struct Api {
    scheme_https: bool,
    host: String,
    port: u16,
    /// The path prefix (`/api/v3` on GitHub Enterprise Server), without a trailing slash.
    prefix: String,
    token: Token,
    timeout: Duration,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Api {
    /// `base` is GITHUB_API_URL (`https://api.github.com`, or `https://HOST/api/v3`).
    pub fn new(base: &str, token: Token, timeout: Duration) -> Result<Api, ApiError> {
        let bad = || ApiError::BadUrl(base.to_string());
        let uri: http::Uri = base.trim_end_matches('/').parse().map_err(|_| bad())?;
        let scheme_https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(bad()),
        };
        let host = uri.host().ok_or_else(bad)?.trim_matches(['[', ']']).to_string();
        let port = uri.port_u16().unwrap_or(if scheme_https { 443 } else { 80 });
        if uri.query().is_some() {
            return Err(bad());
        }
        if !scheme_https && !is_loopback(&host) {
            return Err(ApiError::Cleartext(base.to_string()));
        }
        let prefix = uri.path().trim_end_matches('/').to_string();
        let tls = scheme_https.then(tls_config);
        Ok(Api { scheme_https, host, port, prefix, token, timeout, tls })
    }

    /// The repository role of `login` on `repo` (`owner/name`); `None` when GitHub says the
    /// login has no access (404, or `permission: none`).
    pub fn permission(&self, repo: &str, login: &str) -> Result<Option<Role>, ApiError> {
        let what = format!("for {login}'s permission on {repo}");
        let path = format!("{}/repos/{repo}/collaborators/{login}/permission", self.prefix);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| {
            ApiError::Unreachable {
                what: what.clone(),
                attempts: 0,
                timeout: self.timeout,
                last: e.to_string(),
            }
        })?;
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            if attempt > 1 {
                // 0.5 s, then 1 s: enough for a blip, short enough for a job step.
                std::thread::sleep(Duration::from_millis(250 << (attempt - 1)));
            }
            let result = rt.block_on(async { tokio::time::timeout(self.timeout, self.get(&path)).await });
            let (status, body) = match result {
                Err(_) => {
                    last = format!("no answer within {:?}", self.timeout);
                    continue;
                }
                Ok(Err(e)) => {
                    last = e;
                    continue;
                }
                Ok(Ok(answer)) => answer,
            };
            match status {
                200 => return parse_permission(&body).map_err(|detail| ApiError::BadAnswer { what, detail }),
                404 => return Ok(None),
                401 => return Err(ApiError::Unauthorized { what }),
                403 => {
                    let message = serde_json::from_slice::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| {
                            v.get("message").and_then(|m| m.as_str()).map(|m| m.chars().take(200).collect())
                        })
                        .unwrap_or_else(|| "no message".to_string());
                    return Err(ApiError::Forbidden { what, message });
                }
                429 | 500..=599 => last = format!("the last answer was {status}"),
                _ => return Err(ApiError::Status { what, status }),
            }
        }
        Err(ApiError::Unreachable { what, attempts: ATTEMPTS, timeout: self.timeout, last })
    }

    /// One GET; errors are described without the request headers.
    async fn get(&self, path: &str) -> Result<(u16, Bytes), String> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("cannot connect to {}:{}: {e}", self.host, self.port))?;
        let _ = tcp.set_nodelay(true);
        let host_header = if self.port == if self.scheme_https { 443 } else { 80 } {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        };
        let request = http::Request::get(path)
            .header(http::header::HOST, host_header)
            .header(http::header::AUTHORIZATION, format!("Bearer {}", self.token.0))
            .header(http::header::ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .header(http::header::USER_AGENT, concat!("ringfence-gate/", env!("CARGO_PKG_VERSION")))
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("cannot build the request: {e}"))?;
        match &self.tls {
            Some(config) => {
                let name = rustls::pki_types::ServerName::try_from(self.host.clone())
                    .map_err(|_| format!("`{}` is not a TLS server name", self.host))?;
                let tls = tokio_rustls::TlsConnector::from(config.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("TLS with {} failed: {e}", self.host))?;
                send(TokioIo::new(tls), request).await
            }
            None => send(TokioIo::new(tcp), request).await,
        }
    }
}

async fn send<IO>(io: IO, request: http::Request<Empty<Bytes>>) -> Result<(u16, Bytes), String>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(io).await.map_err(|e| format!("HTTP handshake failed: {e}"))?;
    let driver = tokio::spawn(conn);
    let response = sender.send_request(request).await.map_err(|e| format!("the request failed: {e}"))?;
    let status = response.status().as_u16();
    let body = Limited::new(response.into_body(), BODY_LIMIT)
        .collect()
        .await
        .map_err(|e| format!("reading the answer failed: {e}"))?
        .to_bytes();
    driver.abort();
    Ok((status, body))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `role_name` is the exact role (`maintain`, `triage`); `permission` the base one, which is
/// what an organisation's custom role is built on.
fn parse_permission(body: &[u8]) -> Result<Option<Role>, String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("not JSON ({e})"))?;
    if let Some(role) = v.get("role_name").and_then(|r| r.as_str()).and_then(Role::from_name) {
        return Ok(Some(role));
    }
    match v.get("permission").and_then(|p| p.as_str()) {
        Some("none") => Ok(None),
        Some(p) => Role::from_name(p).map(Some).ok_or_else(|| format!("unknown permission `{p}`")),
        None => Err("no `permission` field".into()),
    }
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions() {
        assert_eq!(
            parse_permission(br#"{"permission":"write","role_name":"maintain"}"#),
            Ok(Some(Role::Maintain))
        );
        assert_eq!(
            parse_permission(br#"{"permission":"admin","role_name":"security-lead"}"#),
            Ok(Some(Role::Admin))
        );
        assert_eq!(parse_permission(br#"{"permission":"none","role_name":"none"}"#), Ok(None));
        assert_eq!(parse_permission(br#"{"permission":"read"}"#), Ok(Some(Role::Read)));
        assert!(parse_permission(b"<html>").is_err());
        assert!(parse_permission(br#"{"message":"x"}"#).is_err());
    }

    #[test]
    fn urls() {
        let t = || Token::new("t".into()).unwrap();
        let ghes = Api::new("https://ghe.example.com/api/v3/", t(), Duration::from_secs(1)).unwrap();
        assert_eq!(
            (ghes.host.as_str(), ghes.port, ghes.prefix.as_str()),
            ("ghe.example.com", 443, "/api/v3")
        );
        let local = Api::new("http://127.0.0.1:8080", t(), Duration::from_secs(1)).unwrap();
        assert_eq!((local.port, local.prefix.as_str(), local.scheme_https), (8080, "", false));
        assert!(Api::new("ftp://x", t(), Duration::from_secs(1)).is_err());
        assert!(matches!(
            Api::new("http://ghe.example.com/api/v3", t(), Duration::from_secs(1)),
            Err(ApiError::Cleartext(_))
        ));
        assert!(Api::new("http://[::1]:8080", t(), Duration::from_secs(1)).is_ok());
        assert!(Api::new("api.github.com", t(), Duration::from_secs(1)).is_err());
        assert!(Token::new("  ".into()).is_none());
        assert_eq!(format!("{:?}", t()), "Token(…)");
    }
}
