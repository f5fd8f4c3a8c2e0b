//! Secrets become same-shape sentinels; the proxy swaps them back only toward their own hosts.
//!
//! The agent's environment holds sentinels, never real values. On a request to a host a secret
//! belongs to, the proxy replaces that secret's sentinel with the real value only where
//! credentials go: the credential headers ([`policy::CREDENTIAL_HEADERS`]) and the positions the
//! policy names for that secret (`secrets.<NAME>.in`); see [`Vault::rewrite_header`] and
//! [`Vault::rewrite_url`]. Anywhere else the sentinel is left as it is, so a host that reflects
//! what it was sent (an echo, an error page, a stored field) reflects the sentinel. A sentinel
//! bound for any other host is *foreign*: it is reported and never replaced, so a
//! prompt-injected agent that posts its key to an attacker posts a worthless string and leaves a
//! record of trying.
//!
//! Request bodies are only scanned ([`Vault::body_scanner`]), never rewritten: a body can be
//! large, streamed, compressed or signed, and no client ringfence supports sends its key there.
//! Responses are scrubbed ([`Vault::response_scrubber`], [`Vault::scrub`]): a real value that
//! comes back, plain or encoded, is replaced by its sentinel before the agent reads it.

mod forms;
mod inflate;
pub(crate) use forms::escaped_byte;
mod scan;
mod scrub;
mod shape;

use std::fmt;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use policy::{CREDENTIAL_HEADERS, HostPattern, Position};

pub use scan::{BodyScanner, SCAN_LIMIT};
pub use scrub::{Found, Pass, ResponseScrubber, Scrubbed, Unscannable};
pub use shape::{KNOWN_PREFIXES, known_prefix, sentinel_for};

use forms::{PercentView, base64_forms, percent_encode};

/// Shortest secret ringfence will fence. A shorter value's sentinel is so short that it turns up
/// in ordinary text (a commit hash, a word in a body), and a short real value would be injected
/// wherever that text happened to match.
pub const MIN_SECRET_LEN: usize = 8;

/// One secret as the policy declares it: the environment variable name, its real value, the
/// hosts the real value may be sent to, and where in a request besides the credential headers.
#[derive(Clone)]
pub struct SecretSpec {
    pub name: String,
    pub value: String,
    pub hosts: Vec<HostPattern>,
    pub inject: Vec<Position>,
}

impl fmt::Debug for SecretSpec {
    /// Never prints the value: debug output ends up in logs the agent may read.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretSpec")
            .field("name", &self.name)
            .field("value", &Hidden(self.value.len()))
            .field("hosts", &HostList(&self.hosts))
            .field("inject", &self.inject)
            .finish()
    }
}

/// Why a set of secrets cannot be fenced; each names the secret and says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("secret `{name}` is empty; set it, or remove it from `secrets:`")]
    Empty { name: String },
    #[error(
        "secret `{name}` is {len} bytes; secrets shorter than {MIN_SECRET_LEN} bytes cannot be fenced \
         because their sentinel would match ordinary text; pass it through `env.pass` if it is not secret"
    )]
    TooShort { name: String, len: usize },
    #[error("secret `{name}` is declared twice; declare each name once")]
    Duplicate { name: String },
    #[error(
        "the value of secret `{outer}` contains the value of secret `{inner}`, so a request could \
         not say which one it carries; declare only one of them"
    )]
    Contains { outer: String, inner: String },
    #[error("no distinct sentinel could be drawn for secret `{name}`; its value has too little variety")]
    NoSentinel { name: String },
}

/// Query parameters a provider documents for its API key: a secret that belongs to the
/// provider's host is swapped there too without an `in:` entry. The Gemini API takes
/// `?key=` beside `x-goog-api-key`.
const PROVIDER_QUERY_KEYS: &[(&str, &str)] = &[("generativelanguage.googleapis.com", "key")];

fn with_provider_positions(hosts: &[HostPattern], inject: &[Position]) -> Vec<Position> {
    let mut positions = inject.to_vec();
    for (host, param) in PROVIDER_QUERY_KEYS {
        let position = Position::Query((*param).to_string());
        if hosts.iter().any(|h| h.matches(host)) && !positions.contains(&position) {
            positions.push(position);
        }
    }
    positions
}

struct Entry {
    name: String,
    real: String,
    sentinel: String,
    hosts: Vec<HostPattern>,
    inject: Vec<Position>,
}

/// What a request's value may do with one secret's sentinel, by host and position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The secret belongs to the host and this is a credential position: put the real value in.
    Inject,
    /// The secret belongs to the host but this is not where credentials go: leave the sentinel.
    Keep,
    /// The secret belongs elsewhere: report it.
    Foreign,
}

/// Every fenced secret with its sentinel and hosts, plus the searchers built from them once.
pub struct Vault {
    entries: Vec<Entry>,
    /// Plain sentinels, one pattern per entry (pattern id = entry index).
    plain: Option<AhoCorasick>,
    /// Base64 fragments of every sentinel, for foreign detection in headers.
    encoded: Arc<Patterns>,
    /// Plain sentinels and their base64 fragments, searched in bodies as sent.
    body_raw: Arc<Patterns>,
    /// Real values in every form a response may carry them, each paired with the sentinel's.
    scrub: Arc<scrub::ScrubPatterns>,
    /// Plain sentinels, searched in bodies once `%XX` escapes are decoded.
    body_plain: Arc<Patterns>,
}

/// A multi-pattern searcher whose pattern ids map to vault entries.
pub(crate) struct Patterns {
    pub searcher: Option<AhoCorasick>,
    pub entry_of: Vec<usize>,
    pub longest: usize,
}

impl Patterns {
    fn new(patterns: Vec<(usize, Vec<u8>)>) -> Patterns {
        let longest = patterns.iter().map(|(_, p)| p.len()).max().unwrap_or(0);
        let entry_of = patterns.iter().map(|(e, _)| *e).collect();
        let searcher = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(patterns.iter().map(|(_, p)| p))
            .ok()
            .filter(|_| !patterns.is_empty());
        Patterns { searcher, entry_of, longest }
    }
}

impl fmt::Debug for Vault {
    /// Names and hosts only; real values never appear in debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for e in &self.entries {
            list.entry(&format_args!("{} -> {} ({:?})", e.name, HostList(&e.hosts), Hidden(e.real.len())));
        }
        list.finish()
    }
}

struct Hidden(usize);

impl fmt::Debug for Hidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes hidden>", self.0)
    }
}

struct HostList<'a>(&'a [HostPattern]);

impl fmt::Display for HostList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(HostPattern::as_str).collect();
        write!(f, "[{}]", names.join(", "))
    }
}

impl fmt::Debug for HostList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// One header value or URL after [`Vault::rewrite`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    /// The value to forward: owned sentinels replaced by real values, everything else as sent.
    pub bytes: Vec<u8>,
    /// Names of secrets whose real value was injected.
    pub injected: Vec<String>,
    /// Names of secrets whose sentinel was found on its way to a host it does not belong to.
    pub foreign: Vec<String>,
    /// Names of this host's secrets whose sentinel sat where credentials do not go, and was
    /// left as it is.
    pub kept: Vec<String>,
}

impl Rewrite {
    /// True when the value differs from what the agent sent.
    pub fn changed(&self) -> bool {
        !self.injected.is_empty()
    }
}

impl Vault {
    /// Checks the secrets and draws a sentinel for each. Refuses empty, short, duplicate and
    /// nested values: each would make a sentinel ambiguous (see [`VaultError`]).
    pub fn new(secrets: Vec<SecretSpec>) -> Result<Vault, VaultError> {
        for (i, s) in secrets.iter().enumerate() {
            if s.value.is_empty() {
                return Err(VaultError::Empty { name: s.name.clone() });
            }
            if s.value.len() < MIN_SECRET_LEN {
                return Err(VaultError::TooShort { name: s.name.clone(), len: s.value.len() });
            }
            if secrets[..i].iter().any(|o| o.name == s.name) {
                return Err(VaultError::Duplicate { name: s.name.clone() });
            }
        }
        for outer in &secrets {
            for inner in &secrets {
                if !std::ptr::eq(outer, inner) && outer.value.contains(&inner.value) {
                    return Err(VaultError::Contains {
                        outer: outer.name.clone(),
                        inner: inner.name.clone(),
                    });
                }
            }
        }
        let mut entries: Vec<Entry> = Vec::with_capacity(secrets.len());
        for s in &secrets {
            let sentinel = distinct_sentinel(&s.value, &secrets, &entries)
                .ok_or_else(|| VaultError::NoSentinel { name: s.name.clone() })?;
            entries.push(Entry {
                name: s.name.clone(),
                real: s.value.clone(),
                sentinel,
                hosts: s.hosts.clone(),
                inject: with_provider_positions(&s.hosts, &s.inject),
            });
        }
        let plain = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(entries.iter().map(|e| &e.sentinel))
            .ok()
            .filter(|_| !entries.is_empty());
        let plain_forms: Vec<(usize, Vec<u8>)> =
            entries.iter().enumerate().map(|(i, e)| (i, e.sentinel.as_bytes().to_vec())).collect();
        let encoded_forms: Vec<(usize, Vec<u8>)> = entries
            .iter()
            .enumerate()
            .flat_map(|(i, e)| base64_forms(e.sentinel.as_bytes()).into_iter().map(move |f| (i, f)))
            .collect();
        let body_raw = Patterns::new(plain_forms.iter().chain(&encoded_forms).cloned().collect());
        let scrub = Arc::new(scrub::ScrubPatterns::new(
            entries.iter().map(|e| (e.real.as_bytes(), e.sentinel.as_bytes())),
        ));
        Ok(Vault {
            entries,
            scrub,
            plain,
            encoded: Arc::new(Patterns::new(encoded_forms)),
            body_raw: Arc::new(body_raw),
            body_plain: Arc::new(Patterns::new(plain_forms)),
        })
    }

    /// `(NAME, sentinel)` for each secret, to put in the agent's environment.
    pub fn sentinels(&self) -> Vec<(String, String)> {
        self.entries.iter().map(|e| (e.name.clone(), e.sentinel.clone())).collect()
    }

    /// True when no secret is fenced, so no host needs terminating for credentials.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Is `host` (a name, optionally with `:port`) one of the hosts secret `name` may be sent to?
    pub fn owns(&self, name: &str, host: &str) -> bool {
        self.entries.iter().any(|e| e.name == name && entry_owns(e, host))
    }

    /// Does some secret belong to `host`? Those hosts must be TLS-terminated so the proxy can
    /// inject the real value.
    pub fn wants_inspection(&self, host: &str) -> bool {
        self.entries.iter().any(|e| entry_owns(e, host))
    }

    /// Rewrites one header value of a request to `host`. Sentinels of secrets that belong to
    /// `host` become real values when the header carries credentials
    /// ([`policy::CREDENTIAL_HEADERS`], or `header:<name>` in the secret's `in:`), and are left
    /// as they are ([`Rewrite::kept`]) in any other header; sentinels of other secrets are
    /// reported as foreign and left as they are.
    ///
    /// Sentinels are also found percent-encoded (`%73k-ant-…`; the real value is then injected
    /// percent-encoded too), inside `Basic base64(user:pass)` credentials (how git sends tokens
    /// over HTTPS: decoded, replaced, encoded again), and, for foreign detection only, as
    /// base64 anywhere in the value.
    pub fn rewrite_header(&self, host: &str, header: &str, value: &[u8]) -> Rewrite {
        let roles: Vec<Role> = self
            .entries
            .iter()
            .map(|e| {
                if !entry_owns(e, host) {
                    Role::Foreign
                } else if CREDENTIAL_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(header))
                    || e.inject
                        .iter()
                        .any(|p| matches!(p, Position::Header(h) if h.eq_ignore_ascii_case(header)))
                {
                    Role::Inject
                } else {
                    Role::Keep
                }
            })
            .collect();
        self.rewrite_with(&roles, value)
    }

    /// A value in a credential position (an `Authorization` header) of a request to `host`:
    /// [`Vault::rewrite_header`] for `authorization`.
    pub fn rewrite(&self, host: &str, value: &[u8]) -> Rewrite {
        self.rewrite_header(host, "authorization", value)
    }

    /// Rewrites a request's path and query toward `host`. A sentinel of this host's secret
    /// becomes the real value only as the value of a query parameter the secret's `in:` names
    /// (`query:key`); in the path and in any other parameter it is left as it is. Foreign
    /// sentinels are reported wherever they are.
    pub fn rewrite_url(&self, host: &str, path_and_query: &[u8]) -> Rewrite {
        let keep: Vec<Role> = self
            .entries
            .iter()
            .map(|e| if entry_owns(e, host) { Role::Keep } else { Role::Foreign })
            .collect();
        let split = path_and_query.iter().position(|&b| b == b'?').unwrap_or(path_and_query.len());
        let mut out = self.rewrite_with(&keep, &path_and_query[..split]);
        if split == path_and_query.len() {
            return out;
        }
        out.bytes.push(b'?');
        let query = &path_and_query[split + 1..];
        for (i, pair) in query.split(|&b| b == b'&').enumerate() {
            if i > 0 {
                out.bytes.push(b'&');
            }
            let eq = pair.iter().position(|&b| b == b'=');
            let (key, value) = match eq {
                Some(eq) => (&pair[..eq], &pair[eq + 1..]),
                None => (pair, &b""[..]),
            };
            let key_text = PercentView::new(key).bytes;
            let roles: Vec<Role> = self
                .entries
                .iter()
                .zip(&keep)
                .map(|(e, role)| {
                    let named =
                        e.inject.iter().any(|p| matches!(p, Position::Query(q) if q.as_bytes() == key_text));
                    if *role == Role::Keep && named { Role::Inject } else { *role }
                })
                .collect();
            let k = self.rewrite_with(&keep, key);
            out.bytes.extend_from_slice(&k.bytes);
            merge(&mut out, k);
            if eq.is_some() {
                out.bytes.push(b'=');
                let v = self.rewrite_with(&roles, value);
                out.bytes.extend_from_slice(&v.bytes);
                merge(&mut out, v);
            }
        }
        out
    }

    fn rewrite_with(&self, roles: &[Role], value: &[u8]) -> Rewrite {
        let mut out =
            Rewrite { bytes: value.to_vec(), injected: Vec::new(), foreign: Vec::new(), kept: Vec::new() };
        if let Some((scheme, credentials)) = basic_credentials(value) {
            let inner = self.rewrite_plain(roles, &credentials, &mut out);
            if inner != credentials {
                let mut bytes = value[..scheme].to_vec();
                bytes.extend_from_slice(STANDARD.encode(&inner).as_bytes());
                out.bytes = bytes;
            }
            return out;
        }
        out.bytes = self.rewrite_plain(roles, value, &mut out);
        for entry in scan::find_all(&self.encoded, value) {
            if roles[entry] == Role::Foreign {
                push_name(&mut out.foreign, &self.entries[entry].name);
            }
        }
        out
    }

    /// Replaces every secret's real value in `value` (a response header, a message), in any
    /// form the response scrubber knows, by its sentinel; says which were found.
    pub fn scrub(&self, value: &[u8]) -> Scrubbed {
        scrub::scrub_all(&self.scrub, value, &self.names())
    }

    /// A streaming scrubber for a response body with this `Content-Encoding`: gzip and deflate
    /// are decoded (the output is the decoded body), anything else but identity is refused
    /// because it cannot be scanned.
    pub fn response_scrubber(&self, content_encoding: Option<&str>) -> Result<ResponseScrubber, Unscannable> {
        ResponseScrubber::new(self.scrub.clone(), self.names(), content_encoding)
    }

    fn names(&self) -> Vec<String> {
        self.entries.iter().map(|e| e.name.clone()).collect()
    }

    /// A streaming detector for a request body sent to `host`; see [`BodyScanner`]. Bodies are
    /// never rewritten: an owned sentinel in a body reaches the host as the sentinel, and is
    /// reported separately ([`BodyScanner::owned_seen`]) so the report can explain a failure.
    pub fn body_scanner(&self, host: &str, content_encoding: Option<&str>) -> BodyScanner {
        let owned = self.entries.iter().map(|e| entry_owns(e, host)).collect();
        let names = self.entries.iter().map(|e| e.name.clone()).collect();
        BodyScanner::new(self.body_raw.clone(), self.body_plain.clone(), names, owned, content_encoding)
    }

    /// Replaces sentinels to inject found plain or percent-encoded in `value`, noting names in
    /// `out`.
    fn rewrite_plain(&self, roles: &[Role], value: &[u8], out: &mut Rewrite) -> Vec<u8> {
        let Some(plain) = &self.plain else { return value.to_vec() };
        let view = PercentView::new(value);
        let mut result = Vec::with_capacity(value.len());
        let mut copied = 0;
        for m in plain.find_iter(&view.bytes) {
            let entry = &self.entries[m.pattern().as_usize()];
            match roles[m.pattern().as_usize()] {
                Role::Foreign => {
                    push_name(&mut out.foreign, &entry.name);
                    continue;
                }
                Role::Keep => {
                    push_name(&mut out.kept, &entry.name);
                    continue;
                }
                Role::Inject => {}
            }
            let span = view.original(m.start(), m.end());
            result.extend_from_slice(&value[copied..span.start]);
            if value[span.clone()] == *entry.sentinel.as_bytes() {
                result.extend_from_slice(entry.real.as_bytes());
            } else {
                result.extend_from_slice(&percent_encode(entry.real.as_bytes()));
            }
            copied = span.end;
            push_name(&mut out.injected, &entry.name);
        }
        result.extend_from_slice(&value[copied..]);
        result
    }
}

fn entry_owns(entry: &Entry, host: &str) -> bool {
    let name = strip_port(host);
    entry.hosts.iter().any(|p| p.matches(name))
}

/// `api.github.com:443` → `api.github.com`; names without a port and IPv6 literals unchanged.
fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port))
            if !name.contains(':') && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            name
        }
        _ => host,
    }
}

/// Adds the names `part` found to `out` (its bytes are the caller's to place).
fn merge(out: &mut Rewrite, part: Rewrite) {
    for (into, from) in
        [(&mut out.injected, part.injected), (&mut out.foreign, part.foreign), (&mut out.kept, part.kept)]
    {
        for name in from {
            push_name(into, &name);
        }
    }
}

fn push_name(names: &mut Vec<String>, name: &str) {
    if !names.iter().any(|n| n == name) {
        names.push(name.to_string());
    }
}

/// `Basic <base64>` (any case, optional surrounding space): the offset where the base64 starts
/// and the decoded `user:pass`.
fn basic_credentials(value: &[u8]) -> Option<(usize, Vec<u8>)> {
    let lead = value.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let rest = &value[lead..];
    if rest.len() < 6 || !rest[..5].eq_ignore_ascii_case(b"basic") || !rest[5].is_ascii_whitespace() {
        return None;
    }
    let spaces = rest[5..].iter().take_while(|b| b.is_ascii_whitespace()).count();
    let start = lead + 5 + spaces;
    let encoded = value[start..].trim_ascii_end();
    let lenient = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    lenient.decode(encoded).ok().map(|decoded| (start, decoded))
}

/// A sentinel for `real` that neither contains nor is contained in any other sentinel or real
/// value, so every match names exactly one secret.
fn distinct_sentinel(real: &str, secrets: &[SecretSpec], drawn: &[Entry]) -> Option<String> {
    (0..64).map(|_| sentinel_for(real)).find(|candidate| {
        let clashes = |other: &str| other.contains(candidate.as_str()) || candidate.contains(other);
        !secrets.iter().any(|s| clashes(&s.value)) && !drawn.iter().any(|e| clashes(&e.sentinel))
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod tests_positions;
