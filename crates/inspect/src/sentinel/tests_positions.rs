//! Where real values go in a request, how they are taken back out of responses, and the
//! body scanner's view of line-wrapped base64.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;

use super::*;

const GITHUB_TOKEN: &str = "ghs_16C7e42F292c6912E7710c838347Ae178B4a";
const GOOGLE_KEY: &str = "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY/x";

fn vault() -> Vault {
    let host = |h: &str| HostPattern::parse(h).unwrap();
    Vault::new(vec![
        SecretSpec {
            name: "GITHUB_TOKEN".into(),
            value: GITHUB_TOKEN.into(),
            hosts: vec![host("api.github.com")],
            inject: Vec::new(),
        },
        SecretSpec {
            name: "GOOGLE_KEY".into(),
            value: GOOGLE_KEY.into(),
            hosts: vec![host("generativelanguage.googleapis.com")],
            inject: vec![Position::Query("key".into()), Position::Header("x-custom-key".into())],
        },
    ])
    .unwrap()
}

fn sentinel(v: &Vault, name: &str) -> String {
    v.sentinels().into_iter().find(|(n, _)| n == name).unwrap().1
}

const GOOGLE: &str = "generativelanguage.googleapis.com";

#[test]
fn real_values_go_only_into_credential_headers() {
    let v = vault();
    let gh = sentinel(&v, "GITHUB_TOKEN");
    for header in ["authorization", "Authorization", "x-api-key", "x-goog-api-key", "api-key"] {
        let r = v.rewrite_header("api.github.com", header, format!("token {gh}").as_bytes());
        assert_eq!(r.injected, ["GITHUB_TOKEN"], "{header}");
        assert_eq!(r.bytes, format!("token {GITHUB_TOKEN}").as_bytes());
    }
    for header in ["x-echo", "user-agent", "cookie", "proxy-authorization", "x-custom-key"] {
        let r = v.rewrite_header("api.github.com", header, gh.as_bytes());
        assert!(r.injected.is_empty(), "{header}");
        assert_eq!(r.kept, ["GITHUB_TOKEN"], "{header}");
        assert_eq!(r.bytes, gh.as_bytes(), "the sentinel stays in {header}");
        assert!(r.foreign.is_empty());
    }
    // A position the policy names for that secret.
    let g = sentinel(&v, "GOOGLE_KEY");
    let r = v.rewrite_header(GOOGLE, "X-Custom-Key", g.as_bytes());
    assert_eq!((r.injected, r.bytes), (vec!["GOOGLE_KEY".to_string()], GOOGLE_KEY.as_bytes().to_vec()));
    // Another host's sentinel in any header is foreign, credential header or not.
    assert_eq!(v.rewrite_header(GOOGLE, "x-echo", gh.as_bytes()).foreign, ["GITHUB_TOKEN"]);
}

#[test]
fn a_gemini_key_goes_into_key_without_an_in_entry() {
    let host = |h: &str| HostPattern::parse(h).unwrap();
    let spec = |name: &str, on: &str| SecretSpec {
        name: name.into(),
        value: format!("{GOOGLE_KEY}{name}"),
        hosts: vec![host(on)],
        inject: Vec::new(),
    };
    let v = Vault::new(vec![spec("GEMINI_API_KEY", GOOGLE), spec("OTHER_KEY", "api.example.com")]).unwrap();
    let g = sentinel(&v, "GEMINI_API_KEY");
    let r = v.rewrite_url(GOOGLE, format!("/v1beta/models/m:generateContent?key={g}").as_bytes());
    assert_eq!(r.injected, ["GEMINI_API_KEY"]);
    assert_eq!(
        r.bytes,
        format!("/v1beta/models/m:generateContent?key={GOOGLE_KEY}GEMINI_API_KEY").as_bytes()
    );
    // Only Google's documented parameter, and only for a secret of that host.
    let o = sentinel(&v, "OTHER_KEY");
    let r = v.rewrite_url("api.example.com", format!("/x?key={o}").as_bytes());
    assert!(r.injected.is_empty() && r.kept == ["OTHER_KEY"], "{r:?}");
    let r = v.rewrite_url(GOOGLE, format!("/x?token={g}").as_bytes());
    assert!(r.injected.is_empty(), "{r:?}");
}

#[test]
fn real_values_go_into_the_url_only_where_the_policy_says() {
    let v = vault();
    let gh = sentinel(&v, "GITHUB_TOKEN");
    let g = sentinel(&v, "GOOGLE_KEY");
    let url = format!("/repos/{gh}/x?q={gh}&access_token={gh}");
    let r = v.rewrite_url("api.github.com", url.as_bytes());
    assert!(r.injected.is_empty());
    assert_eq!(r.bytes, url.as_bytes(), "path and query keep the sentinel");
    assert_eq!(r.kept, ["GITHUB_TOKEN"]);

    let pe = |s: &str| String::from_utf8(forms::percent_encode(s.as_bytes())).unwrap();
    let url = format!("/v1/models?key={}&q={g}&k%65y={g}&alt=json", pe(&g));
    let r = v.rewrite_url(GOOGLE, url.as_bytes());
    assert_eq!(r.injected, ["GOOGLE_KEY"]);
    let expected = format!("/v1/models?key={}&q={g}&k%65y={}&alt=json", pe(GOOGLE_KEY), GOOGLE_KEY);
    assert_eq!(String::from_utf8(r.bytes).unwrap(), expected);
    // Foreign anywhere in the URL.
    let r = v.rewrite_url(GOOGLE, format!("/x/{gh}?key={gh}").as_bytes());
    assert_eq!(r.foreign, ["GITHUB_TOKEN"]);
    assert!(r.injected.is_empty());
}

/// Every form the scrubber replaces, each embedded in noise.
fn encoded_forms(value: &str) -> Vec<(&'static str, String)> {
    let mut out = vec![("plain", value.to_string())];
    out.push(("percent", String::from_utf8(forms::percent_encode(value.as_bytes())).unwrap()));
    out.push(("json", value.replace('/', "\\/")));
    out.push(("hex", value.bytes().map(|b| format!("{b:02x}")).collect()));
    out.push(("hex", value.bytes().map(|b| format!("{b:02X}")).collect()));
    for lead in ["", "a", "ab"] {
        out.push(("base64", STANDARD.encode(format!("{lead}{value}\n"))));
        out.push(("base64", URL_SAFE.encode(format!("{lead}:{value}"))));
    }
    out
}

#[test]
fn scrub_replaces_every_form_and_keeps_length() {
    let v = vault();
    for (name, real) in [("GITHUB_TOKEN", GITHUB_TOKEN), ("GOOGLE_KEY", GOOGLE_KEY)] {
        let fake = sentinel(&v, name);
        for (form, text) in encoded_forms(real) {
            let value = format!("echo: {text} end");
            let s = v.scrub(value.as_bytes());
            assert_eq!(s.bytes.len(), value.len(), "{form}");
            let out = String::from_utf8(s.bytes).unwrap();
            assert!(!out.contains(&text), "{name} {form}: {out}");
            // Percent and JSON forms of a value with nothing to escape are the plain form.
            let form = if text == real { "plain" } else { form };
            assert!(s.found.iter().any(|f| f.name == name && f.form == form), "{name} {form}: {:?}", s.found);
            if form == "plain" {
                assert_eq!(out, format!("echo: {fake} end"));
            }
        }
    }
    let untouched = v.scrub(b"nothing to see");
    assert_eq!((untouched.bytes, untouched.found), (b"nothing to see".to_vec(), Vec::new()));
}

#[test]
fn scrubbed_base64_decodes_to_the_sentinel() {
    let v = vault();
    let fake = sentinel(&v, "GITHUB_TOKEN");
    for lead in ["", "a", "ab", "abc"] {
        let encoded = STANDARD.encode(format!("{lead}{GITHUB_TOKEN}"));
        let s = v.scrub(encoded.as_bytes());
        let decoded = String::from_utf8_lossy(&STANDARD.decode(&s.bytes).unwrap()).into_owned();
        // The first byte's bits may share a base64 character with what precedes it, and the
        // last two bytes may sit in a group finished by what follows: those stay; everything
        // between is the sentinel's.
        let inner = &fake[1..fake.len() - 2];
        assert!(decoded.contains(inner), "lead {lead:?}: {decoded}");
        assert!(!decoded.contains(&GITHUB_TOKEN[1..GITHUB_TOKEN.len() - 2]));
    }
}

fn stream(v: &Vault, encoding: Option<&str>, chunks: &[&[u8]]) -> (Vec<u8>, Vec<Found>) {
    let mut s = v.response_scrubber(encoding).unwrap();
    let mut out = Vec::new();
    let mut found = Vec::new();
    for c in chunks {
        out.extend(s.feed(c).unwrap());
        found.extend(s.take_found());
    }
    out.extend(s.finish().unwrap());
    found.extend(s.take_found());
    (out, found)
}

#[test]
fn response_scrubber_decodes_gzip_and_refuses_what_it_cannot_read() {
    let v = vault();
    let body = format!("{{\"headers\":{{\"authorization\":\"token {GITHUB_TOKEN}\"}}}}");
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(body.as_bytes()).unwrap();
    let gz = e.finish().unwrap();
    let chunks: Vec<&[u8]> = gz.chunks(5).collect();
    let (out, found) = stream(&v, Some("gzip"), &chunks);
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out, body.replace(GITHUB_TOKEN, &sentinel(&v, "GITHUB_TOKEN")));
    assert_eq!(found, [Found { name: "GITHUB_TOKEN".into(), form: "plain" }]);
    assert!(v.response_scrubber(Some("gzip")).unwrap().decodes());
    assert!(v.response_scrubber(Some("identity")).unwrap().keeps_length());
    for bad in ["br", "zstd", "gzip, br", "compress"] {
        let err = v.response_scrubber(Some(bad)).err().expect(bad);
        assert!(err.0.contains("cannot be scanned"), "{err}");
    }
    let mut s = v.response_scrubber(Some("gzip")).unwrap();
    assert!(s.feed(b"this is not gzip at all").is_err() || s.finish().is_err());
}

#[test]
fn a_stream_of_small_events_is_not_held_back() {
    let v = vault();
    let mut s = v.response_scrubber(None).unwrap();
    let event = b"data: {\"delta\":\"hello\"}\n\n";
    assert_eq!(s.feed(event).unwrap(), event, "nothing in it could start a real value");
    // A tail that could start one waits for the next chunk.
    let out = s.feed(format!("data: {}", &GITHUB_TOKEN[..10]).as_bytes()).unwrap();
    assert_eq!(out, b"data: ");
    let out = s.feed(format!("{}\n\n", &GITHUB_TOKEN[10..]).as_bytes()).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), format!("{}\n\n", sentinel(&v, "GITHUB_TOKEN")));
}

/// Base64 of `text`, wrapped every `width` characters with `brk`.
fn wrapped(text: &str, width: usize, brk: &str) -> String {
    let b64 = STANDARD.encode(text);
    let lines: Vec<&str> = b64.as_bytes().chunks(width).map(|c| std::str::from_utf8(c).unwrap()).collect();
    lines.join(brk)
}

#[test]
fn wrapped_base64_in_a_body_is_found() {
    let v = vault();
    let gh = sentinel(&v, "GITHUB_TOKEN");
    for (width, brk) in [(76, "\r\n"), (76, "\n"), (64, "\n"), (60, "\\n"), (5, "\r\n")] {
        for lead in ["", "x", "xy", "Subject: hi\r\n\r\ntoken="] {
            let body = format!(
                "--b\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--",
                wrapped(&format!("{lead}{gh}"), width, brk)
            );
            let mut scanner = v.body_scanner(GOOGLE, None);
            let mut found = scanner.feed(body.as_bytes());
            found.extend(scanner.finish());
            assert_eq!(found, ["GITHUB_TOKEN"], "width {width} break {brk:?} lead {lead:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn scrubbing_is_the_same_at_every_split(
        noise in "[ -~]{0,30}",
        form in 0usize..11,
        cuts in proptest::collection::vec(0usize..400, 0..4),
    ) {
        let v = vault();
        let forms = encoded_forms(GITHUB_TOKEN);
        let (_, text) = &forms[form % forms.len()];
        let body = format!("{noise}{text}{noise}{text}");
        let whole = v.scrub(body.as_bytes()).bytes;
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(body.len())).collect();
        cuts.sort();
        let mut chunks = Vec::new();
        let mut last = 0;
        for c in cuts {
            chunks.push(&body.as_bytes()[last..c]);
            last = c;
        }
        chunks.push(&body.as_bytes()[last..]);
        let (out, found) = stream(&v, None, &chunks);
        prop_assert_eq!(&out, &whole);
        prop_assert_eq!(out.len(), body.len());
        prop_assert!(!String::from_utf8_lossy(&out).contains(text.as_str()));
        prop_assert!(found.iter().any(|f| f.name == "GITHUB_TOKEN"));
    }

    #[test]
    fn scrubbing_every_single_split(noise in "[ -~]{0,20}") {
        let v = vault();
        let body = format!("{noise}{GITHUB_TOKEN}{noise}");
        let whole = v.scrub(body.as_bytes()).bytes;
        for cut in 0..=body.len() {
            let (out, _) = stream(&v, None, &[&body.as_bytes()[..cut], &body.as_bytes()[cut..]]);
            prop_assert_eq!(&out, &whole, "cut at {}", cut);
        }
    }

    #[test]
    fn wrapped_base64_found_at_any_split_and_width(
        lead in "[ -~]{0,10}",
        width in 4usize..100,
        crlf in any::<bool>(),
        cut in 0usize..400,
    ) {
        let v = vault();
        let gh = sentinel(&v, "GITHUB_TOKEN");
        let body = wrapped(&format!("{lead}{gh}"), width, if crlf { "\r\n" } else { "\n" });
        let cut = cut.min(body.len());
        let mut scanner = v.body_scanner(GOOGLE, None);
        let mut found = scanner.feed(&body.as_bytes()[..cut]);
        found.extend(scanner.feed(&body.as_bytes()[cut..]));
        found.extend(scanner.finish());
        prop_assert_eq!(found, vec!["GITHUB_TOKEN".to_string()]);
    }
}

/// `cargo test --release -p inspect scrub_throughput -- --ignored --nocapture`: how fast a
/// response body is scrubbed (two secrets, 24 patterns, 64 KiB chunks).
#[test]
#[ignore]
fn scrub_throughput() {
    let v = vault();
    let chunk: Vec<u8> = (0..64 * 1024).map(|i| b"{\"delta\":\"hello world\"}\n"[i % 24]).collect();
    let mut s = v.response_scrubber(None).unwrap();
    let start = std::time::Instant::now();
    let mut n = 0usize;
    for _ in 0..4096 {
        n += s.feed(&chunk).unwrap().len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!("scrubbed {} MiB in {secs:.3}s: {:.0} MB/s", n >> 20, n as f64 / secs / 1e6);
}

/// `pass` releases exactly what `feed` does, in the caller's own buffer when nothing in it
/// changed, whatever the chunk boundaries.
#[test]
fn pass_releases_what_feed_does_and_uncopied_when_nothing_changed() {
    let v = vault();
    let mut body = b"{\"text\":\"".repeat(200);
    body.extend_from_slice(GITHUB_TOKEN.as_bytes());
    body.extend_from_slice(&b" and more ordinary text ".repeat(300));
    body.extend_from_slice(STANDARD.encode(GOOGLE_KEY).as_bytes());
    body.extend_from_slice(&b"x".repeat(5000));
    for size in [1, 7, 100, 1000, 4096, body.len()] {
        let (mut out, mut unchanged) = (Vec::new(), 0);
        let mut s = v.response_scrubber(None).unwrap();
        let mut found = Vec::new();
        for c in body.chunks(size) {
            match s.pass(c).unwrap() {
                Pass::Unchanged(n) => {
                    out.extend_from_slice(&c[..n]);
                    unchanged += n;
                }
                Pass::Replaced(r) => out.extend(r),
            }
            found.extend(s.take_found());
        }
        out.extend(s.finish().unwrap());
        found.extend(s.take_found());
        let (fed, fed_found) = stream(&v, None, &body.chunks(size).collect::<Vec<_>>());
        assert_eq!(out, fed, "chunks of {size}");
        assert_eq!(found, fed_found, "chunks of {size}");
        assert!(!String::from_utf8_lossy(&out).contains(GITHUB_TOKEN));
        assert_eq!(found.len(), 2, "chunks of {size}: {found:?}");
        assert!(unchanged > 0 || !matches!(size, 1000 | 4096), "chunks of {size}: nothing passed uncopied");
    }
    // Bytes no real value's form starts with (a large download) pass uncopied throughout.
    let mut s = v.response_scrubber(None).unwrap();
    for c in [b'x'; 1 << 16].chunks(4096) {
        assert_eq!(s.pass(c).unwrap(), Pass::Unchanged(c.len()));
    }
}
