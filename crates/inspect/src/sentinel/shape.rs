//! Same-shape sentinels: a fake secret that passes the client's own format checks.
//!
//! Tools check a key's look before they use it (`sk-ant-` prefix, length, alphabet). A sentinel
//! that fails those checks would stop the agent before it ever makes the request the proxy can
//! inject into, so the sentinel keeps the vendor prefix, the length, every separator in place and
//! the alphabet of each run of the original's tail.

/// Vendor prefixes kept verbatim, longest first so `sk-ant-api03-` wins over `sk-ant-` and `sk-`.
/// Sources: each vendor's published token formats (Anthropic, OpenAI, GitHub, GitLab, Slack,
/// AWS, Google, npm, PyPI, Hugging Face, Stripe, SendGrid, DigitalOcean, Shopify, Groq, xAI,
/// Replicate, Linear, Doppler).
pub const KNOWN_PREFIXES: &[&str] = &[
    "sk-ant-admin01-",
    "sk-ant-api03-",
    "sk-ant-oat01-",
    "sk-svcacct-",
    "github_pat_",
    "sk-admin-",
    "sk-proj-",
    "lin_api_",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "rk_test_",
    "dp.st.",
    "dop_v1_",
    "shpat_",
    "sk-ant-",
    "glpat-",
    "gldt-",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xapp-",
    "pypi-",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "AKIA",
    "ASIA",
    "AIza",
    "npm_",
    "gsk_",
    "xai-",
    "SG.",
    "hf_",
    "r8_",
    "sk-",
];

const DIGITS: &[u8] = b"0123456789";
const LOWER_HEX: &[u8] = b"0123456789abcdef";
const UPPER_HEX: &[u8] = b"0123456789ABCDEF";
const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER_DIGITS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const BASE62: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// The vendor prefix `real` starts with, if any, provided something follows it.
pub fn known_prefix(real: &str) -> Option<&'static str> {
    KNOWN_PREFIXES.iter().copied().find(|p| real.len() > p.len() && real.starts_with(p))
}

/// A sentinel with the same length as `real`, keeping a known vendor prefix (see
/// [`KNOWN_PREFIXES`]) and every non-alphanumeric byte in place, and drawing each alphanumeric
/// byte from the alphabet its run uses in the original (hex stays hex, digits stay digits,
/// base62 stays base62), so client-side format checks still pass.
///
/// The result is never equal to `real` (so it never contains it) unless `real` is empty. It is
/// drawn from the operating system's random source: the agent must not be able to guess a
/// sentinel that belongs to a secret it was not given.
///
/// # Panics
/// If the operating system has no random source, which ringfence cannot run without.
pub fn sentinel_for(real: &str) -> String {
    if real.is_empty() {
        return String::new();
    }
    let prefix = known_prefix(real).unwrap_or("");
    let tail = &real.as_bytes()[prefix.len()..];
    let plan = alphabet_plan(tail);
    for _ in 0..64 {
        let candidate = draw(prefix, tail, &plan);
        if candidate != real {
            return candidate;
        }
    }
    // Only a tail with almost no freedom (a lone digit after the prefix, say) gets here: give up
    // the prefix and the separators rather than hand out the real value.
    let plan = vec![Some(BASE62); real.len()];
    loop {
        let candidate = draw("", real.as_bytes(), &plan);
        if candidate != real {
            return candidate;
        }
    }
}

/// For each byte of `tail`: the alphabet to draw from, or `None` to keep the byte. Alphanumeric
/// runs between separators get one alphabet each, so `abc123` stays lower-case-and-digits and
/// `0f3a` stays hex; non-ASCII bytes and separators are kept.
fn alphabet_plan(tail: &[u8]) -> Vec<Option<&'static [u8]>> {
    let mut plan = vec![None; tail.len()];
    let mut start = 0;
    while start < tail.len() {
        if !tail[start].is_ascii_alphanumeric() {
            start += 1;
            continue;
        }
        let end =
            tail[start..].iter().position(|b| !b.is_ascii_alphanumeric()).map_or(tail.len(), |n| start + n);
        let alphabet = alphabet_of(&tail[start..end]);
        plan[start..end].fill(Some(alphabet));
        start = end;
    }
    plan
}

/// The smallest usual alphabet that holds every byte of an alphanumeric run.
fn alphabet_of(run: &[u8]) -> &'static [u8] {
    let has = |f: fn(&u8) -> bool| run.iter().any(f);
    let (digit, lower, upper) =
        (has(u8::is_ascii_digit), has(u8::is_ascii_lowercase), has(u8::is_ascii_uppercase));
    let all_in = |set: &[u8]| run.iter().all(|b| set.contains(b));
    match (digit, lower, upper) {
        (true, false, false) => DIGITS,
        (_, true, false) if digit && all_in(LOWER_HEX) => LOWER_HEX,
        (_, false, true) if digit && all_in(UPPER_HEX) => UPPER_HEX,
        (false, true, false) => LOWER,
        (false, false, true) => UPPER,
        (true, true, false) => LOWER_DIGITS,
        (true, false, true) => UPPER_DIGITS,
        (false, true, true) => LETTERS,
        _ => BASE62,
    }
}

fn draw(prefix: &str, tail: &[u8], plan: &[Option<&'static [u8]>]) -> String {
    let mut out = Vec::with_capacity(prefix.len() + tail.len());
    out.extend_from_slice(prefix.as_bytes());
    let mut random = RandomBytes::default();
    for (&original, alphabet) in tail.iter().zip(plan) {
        out.push(match alphabet {
            Some(alphabet) => alphabet[random.below(alphabet.len())],
            None => original,
        });
    }
    // Only ASCII replaced ASCII, so the bytes are as valid UTF-8 as `real` was.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Uniform small numbers from the OS random source, fetched a block at a time.
struct RandomBytes {
    buf: [u8; 32],
    used: usize,
}

impl Default for RandomBytes {
    fn default() -> Self {
        // Starts used up, so the first call fetches.
        RandomBytes { buf: [0; 32], used: 32 }
    }
}

impl RandomBytes {
    /// A uniform number below `n` (`n` ≤ 256), by rejection so no alphabet letter is favoured.
    fn below(&mut self, n: usize) -> usize {
        let limit = 256 - 256 % n;
        loop {
            let b = usize::from(self.next());
            if b < limit {
                return b % n;
            }
        }
    }

    fn next(&mut self) -> u8 {
        if self.used == self.buf.len() {
            getrandom::fill(&mut self.buf).expect("the operating system's random source failed");
            self.used = 0;
        }
        self.used += 1;
        self.buf[self.used - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn same_classes(real: &str, fake: &str) -> bool {
        let prefix = known_prefix(real).unwrap_or("");
        let plan = alphabet_plan(&real.as_bytes()[prefix.len()..]);
        fake.as_bytes()[prefix.len()..].iter().zip(real.as_bytes()[prefix.len()..].iter()).zip(&plan).all(
            |((f, r), a)| match a {
                Some(alphabet) => alphabet.contains(f),
                None => f == r,
            },
        )
    }

    #[test]
    fn vendor_shapes_survive() {
        for real in [
            "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-AbCdEf-AAAA",
            "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV",
            "AKIAIOSFODNN7EXAMPLE",
            "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
            "glpat-xxxxxxxxxxxxxxxxxxxx",
        ] {
            let fake = sentinel_for(real);
            assert_eq!(fake.len(), real.len());
            assert_ne!(fake, real);
            assert_eq!(known_prefix(&fake), known_prefix(real), "{real} -> {fake}");
            assert!(same_classes(real, &fake), "{real} -> {fake}");
        }
    }

    #[test]
    fn hex_stays_hex_and_separators_stay() {
        let real = "0123456789abcdef-0123456789ABCDEF_999";
        let fake = sentinel_for(real);
        assert!(fake[..16].bytes().all(|b| LOWER_HEX.contains(&b)), "{fake}");
        assert_eq!(&fake[16..17], "-");
        assert!(fake[17..33].bytes().all(|b| UPPER_HEX.contains(&b)), "{fake}");
        assert_eq!(&fake[33..34], "_");
        assert!(fake[34..].bytes().all(|b| b.is_ascii_digit()), "{fake}");
    }

    #[test]
    fn no_freedom_still_differs() {
        for real in ["sk-ant-1", "--------", "ghp_-_-_-_", "ghp_0"] {
            let fake = sentinel_for(real);
            assert_eq!(fake.len(), real.len());
            assert_ne!(fake, real);
        }
    }

    proptest! {
        #[test]
        fn shape_is_kept(
            prefix in proptest::sample::select(KNOWN_PREFIXES.to_vec()),
            tail in "[A-Za-z0-9_./+=-]{1,80}",
        ) {
            let real = format!("{prefix}{tail}");
            let fake = sentinel_for(&real);
            prop_assert_eq!(fake.len(), real.len());
            prop_assert_ne!(&fake, &real);
            prop_assert!(!fake.contains(real.as_str()));
            // A tail of separators only has no freedom; the sentinel then gives up the shape.
            if let Some(kept) = known_prefix(&real).filter(|k| real[k.len()..].bytes().any(|b| b.is_ascii_alphanumeric())) {
                prop_assert!(fake.starts_with(kept));
                prop_assert!(same_classes(&real, &fake), "{} -> {}", real, fake);
            }
        }

        #[test]
        fn any_text_gets_a_different_sentinel(real in "\\PC{1,60}") {
            let fake = sentinel_for(&real);
            prop_assert_eq!(fake.len(), real.len());
            prop_assert_ne!(fake, real);
        }
    }
}
