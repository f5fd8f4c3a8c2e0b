use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use flate2::Compression;
use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use proptest::prelude::*;

use super::*;

const ANTHROPIC_KEY: &str =
    "sk-ant-api03-R2D2c3p0R2D2c3p0R2D2c3p0R2D2c3p0R2D2c3p0R2D2c3p0_-AbCdEfGhIjKlMnOp-AAAA";
const GITHUB_TOKEN: &str = "ghs_16C7e42F292c6912E7710c838347Ae178B4a";

fn spec(name: &str, value: &str, hosts: &[&str]) -> SecretSpec {
    SecretSpec {
        name: name.into(),
        value: value.into(),
        hosts: hosts.iter().map(|h| HostPattern::parse(h).unwrap()).collect(),
        inject: Vec::new(),
    }
}

fn vault() -> Vault {
    Vault::new(vec![
        spec("ANTHROPIC_API_KEY", ANTHROPIC_KEY, &["api.anthropic.com"]),
        spec("GITHUB_TOKEN", GITHUB_TOKEN, &["api.github.com", "**.github.com"]),
    ])
    .unwrap()
}

fn sentinel(v: &Vault, name: &str) -> String {
    v.sentinels().into_iter().find(|(n, _)| n == name).unwrap().1
}

#[test]
fn refuses_ambiguous_secrets() {
    let err = |specs| Vault::new(specs).unwrap_err();
    assert_eq!(err(vec![spec("A", "", &[])]), VaultError::Empty { name: "A".into() });
    assert_eq!(err(vec![spec("A", "short", &[])]), VaultError::TooShort { name: "A".into(), len: 5 });
    assert_eq!(
        err(vec![spec("A", "abcdefgh1", &[]), spec("A", "zzzzzzzz2", &[])]),
        VaultError::Duplicate { name: "A".into() }
    );
    assert_eq!(
        err(vec![spec("A", "prefix-abcdefgh-suffix", &[]), spec("B", "abcdefgh", &[])]),
        VaultError::Contains { outer: "A".into(), inner: "B".into() }
    );
    assert!(err(vec![spec("A", "abc", &[])]).to_string().contains("shorter than 8 bytes"));
}

#[test]
fn sentinels_are_same_shape_and_distinct() {
    let v = vault();
    let ant = sentinel(&v, "ANTHROPIC_API_KEY");
    let gh = sentinel(&v, "GITHUB_TOKEN");
    assert!(ant.starts_with("sk-ant-api03-") && ant.len() == ANTHROPIC_KEY.len() && ant != ANTHROPIC_KEY);
    assert!(gh.starts_with("ghs_") && gh.len() == GITHUB_TOKEN.len() && gh != GITHUB_TOKEN);
    assert!(!v.is_empty());
    assert!(Vault::new(Vec::new()).unwrap().is_empty());
}

#[test]
fn debug_never_prints_real_values() {
    let v = vault();
    let printed = format!("{v:?} {v:#?}");
    assert!(!printed.contains(ANTHROPIC_KEY) && !printed.contains(GITHUB_TOKEN), "{printed}");
    assert!(printed.contains("GITHUB_TOKEN"));
    let s = spec("A", ANTHROPIC_KEY, &["api.anthropic.com"]);
    let printed = format!("{s:?} {s:#?}");
    assert!(!printed.contains(ANTHROPIC_KEY) && !printed.contains("R2D2"), "{printed}");
}

#[test]
fn ownership_follows_host_patterns() {
    let v = vault();
    assert!(v.owns("GITHUB_TOKEN", "api.github.com"));
    assert!(v.owns("GITHUB_TOKEN", "API.GitHub.com.:443"));
    assert!(v.owns("GITHUB_TOKEN", "codeload.github.com"));
    assert!(!v.owns("GITHUB_TOKEN", "github.com"), "apex not implied by **.github.com");
    assert!(!v.owns("GITHUB_TOKEN", "api.anthropic.com"));
    assert!(!v.owns("NOPE", "api.github.com"));
    assert!(v.wants_inspection("api.anthropic.com"));
    assert!(!v.wants_inspection("evil.example"));
}

#[test]
fn injects_only_toward_own_hosts() {
    let v = vault();
    let header = format!("Bearer {}", sentinel(&v, "GITHUB_TOKEN"));
    let own = v.rewrite("api.github.com", header.as_bytes());
    assert_eq!(own.bytes, format!("Bearer {GITHUB_TOKEN}").as_bytes());
    assert_eq!(own.injected, ["GITHUB_TOKEN"]);
    assert!(own.foreign.is_empty() && own.changed());

    let wildcard = v.rewrite("uploads.github.com", header.as_bytes());
    assert_eq!(wildcard.injected, ["GITHUB_TOKEN"]);

    let elsewhere = v.rewrite("evil.example", header.as_bytes());
    assert_eq!(elsewhere.bytes, header.as_bytes(), "foreign sentinels are left as sent");
    assert_eq!(elsewhere.foreign, ["GITHUB_TOKEN"]);
    assert!(!elsewhere.changed());

    let both = format!("{} {}", sentinel(&v, "ANTHROPIC_API_KEY"), sentinel(&v, "GITHUB_TOKEN"));
    let mixed = v.rewrite("api.anthropic.com", both.as_bytes());
    assert_eq!(mixed.injected, ["ANTHROPIC_API_KEY"]);
    assert_eq!(mixed.foreign, ["GITHUB_TOKEN"]);
    assert_eq!(mixed.bytes, format!("{ANTHROPIC_KEY} {}", sentinel(&v, "GITHUB_TOKEN")).as_bytes());

    let plain = v.rewrite("api.github.com", b"no secrets here");
    assert_eq!(plain.bytes, b"no secrets here");
    assert!(plain.injected.is_empty() && plain.foreign.is_empty());
}

fn percent_all(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02x}")).collect()
}

#[test]
fn urls_plain_and_percent_encoded() {
    let v = vault();
    let gh = sentinel(&v, "GITHUB_TOKEN");
    let url = format!("/upload?token={gh}&x=1");
    assert_eq!(v.rewrite("evil.example", url.as_bytes()).foreign, ["GITHUB_TOKEN"]);
    let encoded = format!("/upload?token={}", percent_all(&gh));
    let found = v.rewrite("evil.example", encoded.as_bytes());
    assert_eq!(found.foreign, ["GITHUB_TOKEN"]);
    assert_eq!(found.bytes, encoded.as_bytes());
    // Half-encoded toward its own host: the real value goes in, percent-encoded where needed.
    let half = format!("/x?t={}{}&y", &gh[..4], percent_all(&gh[4..]));
    let injected = v.rewrite("api.github.com", half.as_bytes());
    assert_eq!(injected.injected, ["GITHUB_TOKEN"]);
    assert_eq!(injected.bytes, format!("/x?t={GITHUB_TOKEN}&y").as_bytes());
}

#[test]
fn base64_in_headers_is_foreign_too() {
    let v = vault();
    let hidden = URL_SAFE_NO_PAD.encode(format!("k={}", sentinel(&v, "ANTHROPIC_API_KEY")));
    let r = v.rewrite("evil.example", format!("X-Data: {hidden}").as_bytes());
    assert_eq!(r.foreign, ["ANTHROPIC_API_KEY"]);
}

#[test]
fn basic_auth_round_trip() {
    let v = vault();
    let gh = sentinel(&v, "GITHUB_TOKEN");
    let header = format!("Basic {}", STANDARD.encode(format!("x-access-token:{gh}")));
    let r = v.rewrite("github.com.example", header.as_bytes());
    assert_eq!(r.foreign, ["GITHUB_TOKEN"]);
    assert_eq!(r.bytes, header.as_bytes());

    let r = v.rewrite("api.github.com", header.as_bytes());
    assert_eq!(r.injected, ["GITHUB_TOKEN"]);
    let text = String::from_utf8(r.bytes).unwrap();
    let decoded = STANDARD.decode(text.strip_prefix("Basic ").unwrap()).unwrap();
    assert_eq!(decoded, format!("x-access-token:{GITHUB_TOKEN}").as_bytes());

    // Lower-case scheme, unpadded base64, token as the user name.
    let header =
        format!("basic {}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("{gh}:")));
    let r = v.rewrite("api.github.com", header.as_bytes());
    assert_eq!(r.injected, ["GITHUB_TOKEN"]);
}

fn scan(v: &Vault, host: &str, encoding: Option<&str>, chunks: &[&[u8]]) -> (Vec<String>, BodyScanner) {
    let mut scanner = v.body_scanner(host, encoding);
    let mut found = Vec::new();
    for chunk in chunks {
        found.extend(scanner.feed(chunk));
    }
    found.extend(scanner.finish());
    (found, scanner)
}

#[test]
fn body_plain_and_split_across_chunks() {
    let v = vault();
    let body = format!("{{\"note\":\"{}\"}}", sentinel(&v, "GITHUB_TOKEN"));
    let (found, scanner) = scan(&v, "evil.example", None, &[body.as_bytes()]);
    assert_eq!(found, ["GITHUB_TOKEN"]);
    assert!(scanner.fully_scanned());
    // A sentinel split between two chunks, as chunked transfer encoding may deliver it.
    for cut in 1..body.len() {
        let (found, _) = scan(&v, "evil.example", None, &[&body.as_bytes()[..cut], &body.as_bytes()[cut..]]);
        assert_eq!(found, ["GITHUB_TOKEN"], "cut at {cut}");
    }
    let one_byte: Vec<&[u8]> = body.as_bytes().chunks(1).collect();
    assert_eq!(scan(&v, "evil.example", None, &one_byte).0, ["GITHUB_TOKEN"]);
}

#[test]
fn body_owned_sentinels_are_reported_apart_and_not_replaced() {
    let v = vault();
    let body = format!("{} {}", sentinel(&v, "GITHUB_TOKEN"), sentinel(&v, "ANTHROPIC_API_KEY"));
    let (found, scanner) = scan(&v, "api.github.com", None, &[body.as_bytes()]);
    assert_eq!(found, ["ANTHROPIC_API_KEY"]);
    assert_eq!(scanner.owned_seen(), ["GITHUB_TOKEN"]);
    assert_eq!(scanner.foreign_seen(), ["ANTHROPIC_API_KEY"]);
}

#[test]
fn body_percent_and_base64() {
    let v = vault();
    let gh = sentinel(&v, "GITHUB_TOKEN");
    let form = format!("a=1&t={}", percent_all(&gh));
    let chunks: Vec<&[u8]> = form.as_bytes().chunks(5).collect();
    assert_eq!(scan(&v, "evil.example", None, &chunks).0, ["GITHUB_TOKEN"]);
    for lead in ["", "x", "xy"] {
        let b64 = STANDARD.encode(format!("{lead}{gh}"));
        let chunks: Vec<&[u8]> = b64.as_bytes().chunks(7).collect();
        assert_eq!(scan(&v, "evil.example", None, &chunks).0, ["GITHUB_TOKEN"], "lead {lead:?}");
    }
}

fn compress(kind: &str, data: &[u8]) -> Vec<u8> {
    match kind {
        "gzip" => {
            let mut e = GzEncoder::new(Vec::new(), Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "zlib" => {
            let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        _ => {
            let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
    }
}

#[test]
fn body_compressed() {
    let v = vault();
    let mut body = vec![b'a'; 100_000];
    body.extend_from_slice(sentinel(&v, "ANTHROPIC_API_KEY").as_bytes());
    body.extend_from_slice(&[b'z'; 5000]);
    for (kind, encoding) in [("gzip", "gzip"), ("gzip", "x-gzip"), ("zlib", "deflate"), ("raw", "Deflate")] {
        let packed = compress(kind, &body);
        let chunks: Vec<&[u8]> = packed.chunks(1).collect();
        let (found, scanner) = scan(&v, "api.github.com", Some(encoding), &chunks);
        assert_eq!(found, ["ANTHROPIC_API_KEY"], "{encoding}");
        assert!(scanner.fully_scanned(), "{encoding}: {:?}", scanner.gap());
        assert_eq!(scanner.scanned_bytes(), body.len() as u64);
    }
}

#[test]
fn body_limits_and_unknown_encodings() {
    let v = vault();
    let mut body = vec![b'a'; 10_000];
    body.extend_from_slice(sentinel(&v, "GITHUB_TOKEN").as_bytes());
    let packed = compress("gzip", &body);
    let mut scanner = v.body_scanner("evil.example", Some("gzip")).with_limit(1000);
    assert!(scanner.feed(&packed).is_empty());
    assert!(scanner.finish().is_empty());
    assert!(!scanner.fully_scanned());
    assert!(scanner.gap().unwrap().contains("1000"), "{:?}", scanner.gap());
    assert_eq!(scanner.scanned_bytes(), 1000);

    let (found, scanner) = scan(&v, "evil.example", Some("br"), &[&body]);
    assert_eq!(found, ["GITHUB_TOKEN"], "unknown encodings are scanned as sent");
    assert!(scanner.gap().unwrap().contains("`br`"));

    let (_, scanner) = scan(&v, "evil.example", Some("gzip"), &[b"not gzip at all"]);
    assert!(!scanner.fully_scanned());
    let (_, scanner) = scan(&v, "evil.example", Some("identity"), &[b"fine"]);
    assert!(scanner.fully_scanned());
}

#[test]
fn empty_vault_scans_nothing() {
    let v = Vault::new(Vec::new()).unwrap();
    let r = v.rewrite("api.github.com", b"Bearer x");
    assert_eq!(r.bytes, b"Bearer x");
    assert!(scan(&v, "x.example", None, &[b"anything"]).0.is_empty());
    assert!(!v.wants_inspection("api.github.com"));
}

proptest! {
    #[test]
    fn vault_debug_never_leaks(value in "[A-Za-z0-9_-]{8,60}") {
        let v = Vault::new(vec![spec("S", &value, &["api.example.com"])]).unwrap();
        let printed = format!("{v:?} {:?}", spec("S", &value, &[]));
        prop_assert!(!printed.contains(&value));
    }

    #[test]
    fn foreign_found_at_any_split(prefix in "[ -~]{0,40}", suffix in "[ -~]{0,40}", cut in 0usize..200) {
        let v = vault();
        let body = format!("{prefix}{}{suffix}", sentinel(&v, "GITHUB_TOKEN"));
        let cut = cut.min(body.len());
        let (found, _) = scan(&v, "evil.example", None, &[&body.as_bytes()[..cut], &body.as_bytes()[cut..]]);
        prop_assert_eq!(found, vec!["GITHUB_TOKEN".to_string()]);
    }

    #[test]
    fn rewrite_toward_own_host_leaves_no_sentinel(noise in "[ -~]{0,40}") {
        let v = vault();
        let gh = sentinel(&v, "GITHUB_TOKEN");
        let value = format!("{noise}{gh}{noise}");
        let r = v.rewrite("api.github.com", value.as_bytes());
        let text = String::from_utf8(r.bytes).unwrap();
        prop_assert!(!text.contains(&gh));
        prop_assert!(text.contains(GITHUB_TOKEN));
    }
}
