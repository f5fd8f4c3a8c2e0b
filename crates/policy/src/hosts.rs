//! Host name patterns: exact names and label-aware wildcards.
//!
//! `*` stands for exactly one label and `**` (leftmost only) for one or more labels. The apex is
//! never implied: `*.example.com` does not match `example.com`. Unlike glob matching, a wildcard
//! never crosses a dot, so `*.example.com` cannot be satisfied by `evil.com/.example.com`-style
//! tricks or by deeper names the user did not ask for.

use std::fmt;

/// Why a host name or pattern was refused; the loader turns it into a located error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError {
    pub message: String,
    pub help: String,
}

impl HostError {
    fn new(message: impl Into<String>, help: impl Into<String>) -> Self {
        HostError { message: message.into(), help: help.into() }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.help)
    }
}

impl std::error::Error for HostError {}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Label {
    Exact(String),
    /// `*`: exactly one label.
    One,
    /// `**`: one or more labels; only ever the leftmost label.
    Many,
}

/// A validated host pattern such as `api.github.com`, `*.example.com` or `**.example.com`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPattern {
    /// Normalised text (lower case, no trailing dot), as it is shown in decisions.
    text: String,
    labels: Vec<Label>,
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl HostPattern {
    /// Parses and validates a pattern; see the module docs for the wildcard rules.
    pub fn parse(text: &str) -> Result<HostPattern, HostError> {
        let name = normalize_text(text)?;
        let mut labels = Vec::new();
        for (i, label) in name.split('.').enumerate() {
            labels.push(match label {
                "*" => Label::One,
                "**" if i == 0 => Label::Many,
                "**" => {
                    return Err(HostError::new(
                        format!("`**` in `{text}` is not the leftmost label"),
                        "`**` may only start a pattern, as in `**.example.com`",
                    ));
                }
                _ if label.contains('*') => {
                    return Err(HostError::new(
                        format!("`{label}` in `{text}` mixes `*` with other characters"),
                        "`*` must be a whole label: write `*.example.com`, not `api-*.example.com`",
                    ));
                }
                _ => {
                    check_label(label, text)?;
                    Label::Exact(label.to_string())
                }
            });
        }
        let pattern = HostPattern { text: name, labels };
        pattern.check_fixed_part(text)?;
        Ok(pattern)
    }

    /// The pattern text as normalised (lower case, no trailing dot).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the pattern has a `*` or `**` label.
    pub fn is_wildcard(&self) -> bool {
        self.labels.iter().any(|l| !matches!(l, Label::Exact(_)))
    }

    /// Does `name` (any case, trailing dot allowed) match? Invalid names never match.
    pub fn matches(&self, name: &str) -> bool {
        let Ok(name) = normalize_name(name) else { return false };
        self.matches_normalized(&name)
    }

    /// Like [`HostPattern::matches`] for a name already passed through [`normalize_name`].
    pub(crate) fn matches_normalized(&self, name: &str) -> bool {
        let names: Vec<&str> = name.split('.').collect();
        match self.labels.split_first() {
            Some((Label::Many, rest)) => {
                names.len() > rest.len() && labels_match(rest, &names[names.len() - rest.len()..])
            }
            _ => names.len() == self.labels.len() && labels_match(&self.labels, &names),
        }
    }

    /// Refuses wildcards that would span registrants: `*.com`, `**.co.uk`, `*.github.io`.
    fn check_fixed_part(&self, original: &str) -> Result<(), HostError> {
        let Some(last_wild) = self.labels.iter().rposition(|l| !matches!(l, Label::Exact(_))) else {
            return Ok(());
        };
        let fixed: Vec<&str> = self.labels[last_wild + 1..]
            .iter()
            .filter_map(|l| match l {
                Label::Exact(s) => Some(s.as_str()),
                _ => None,
            })
            .collect();
        if fixed.is_empty() {
            return Err(HostError::new(
                format!("`{original}` matches every host"),
                "name the hosts to allow; a wildcard needs a fixed domain such as `*.example.com`",
            ));
        }
        let fixed = fixed.join(".");
        if is_public_suffix(&fixed) {
            return Err(HostError::new(
                format!("`{original}` is a wildcard over the public suffix `{fixed}`"),
                format!(
                    "names under `{fixed}` belong to unrelated owners, so a wildcard there would \
                     allow anyone's host; list the exact hosts instead (e.g. `name.{fixed}`)"
                ),
            ));
        }
        Ok(())
    }
}

fn labels_match(pattern: &[Label], names: &[&str]) -> bool {
    pattern.iter().zip(names).all(|(p, n)| match p {
        Label::Exact(s) => s == n,
        Label::One | Label::Many => true,
    })
}

/// True when `name` is itself a public suffix (or a single label, which acts as one).
pub(crate) fn is_public_suffix(name: &str) -> bool {
    if !name.contains('.') {
        return true;
    }
    psl::suffix(name.as_bytes()).is_some_and(|s| s.as_bytes() == name.as_bytes())
}

/// Lower-cases, drops one trailing dot and refuses what can never be a host name.
fn normalize_text(text: &str) -> Result<String, HostError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(HostError::new("the host name is empty", "write a host name such as `api.github.com`"));
    }
    if !trimmed.is_ascii() {
        return Err(HostError::new(
            format!("`{trimmed}` is not ASCII"),
            "write internationalised names in their punycode form (`xn--…`), as DNS sees them",
        ));
    }
    if trimmed.contains("://") || trimmed.contains('/') {
        return Err(HostError::new(
            format!("`{trimmed}` looks like a URL"),
            "write only the host name, e.g. `api.github.com` (ports go in `ports:`)",
        ));
    }
    if trimmed.parse::<std::net::IpAddr>().is_ok()
        || trimmed.trim_start_matches('[').trim_end_matches(']').parse::<std::net::Ipv6Addr>().is_ok()
    {
        return Err(HostError::new(
            format!("`{trimmed}` is an IP address, not a host name"),
            format!("allow direct-IP destinations with `{{ cidr: {trimmed}/32 }}` (use /128 for IPv6)"),
        ));
    }
    let name = trimmed.strip_suffix('.').unwrap_or(trimmed).to_ascii_lowercase();
    if name.len() > 253 {
        return Err(HostError::new("the host name is longer than 253 characters", "shorten it"));
    }
    if name.rsplit('.').next().is_some_and(|tld| !tld.is_empty() && tld.bytes().all(|b| b.is_ascii_digit())) {
        return Err(HostError::new(
            format!("`{trimmed}` ends in a numeric label, like an IP address"),
            "allow direct-IP destinations with `cidr:`",
        ));
    }
    Ok(name)
}

fn check_label(label: &str, original: &str) -> Result<(), HostError> {
    if label.is_empty() {
        return Err(HostError::new(
            format!("`{original}` has an empty label"),
            "remove the doubled or leading dot",
        ));
    }
    if label.len() > 63 {
        return Err(HostError::new(
            format!("a label of `{original}` is longer than 63 characters"),
            "DNS labels are at most 63 characters",
        ));
    }
    if let Some(bad) = label.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
        return Err(HostError::new(
            format!("`{original}` contains `{bad}`"),
            "host names use letters, digits, `-` and `_` only (and `*` as a whole label)",
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(HostError::new(
            format!("the label `{label}` of `{original}` starts or ends with `-`"),
            "fix the host name",
        ));
    }
    Ok(())
}

/// Normalises a concrete host name (no wildcards) for matching: lower case, no trailing dot.
pub fn normalize_name(name: &str) -> Result<String, HostError> {
    let normalized = normalize_text(name)?;
    for label in normalized.split('.') {
        check_label(label, name)?;
    }
    Ok(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> HostPattern {
        HostPattern::parse(s).unwrap()
    }

    #[test]
    fn exact_names_ignore_case_and_trailing_dot() {
        assert!(p("API.GitHub.com.").matches("api.github.com"));
        assert!(p("api.github.com").matches("API.GITHUB.COM."));
        assert!(!p("api.github.com").matches("github.com"));
        assert!(p("localhost").matches("localhost"));
    }

    #[test]
    fn one_label_wildcard() {
        let w = p("*.example.com");
        assert!(w.matches("a.example.com"));
        assert!(!w.matches("example.com"), "apex not implied");
        assert!(!w.matches("a.b.example.com"));
        assert!(!w.matches("aexample.com"));
        assert!(p("api.*.example.com").matches("api.eu.example.com"));
    }

    #[test]
    fn any_depth_wildcard() {
        let w = p("**.example.com");
        assert!(w.matches("a.example.com"));
        assert!(w.matches("a.b.c.example.com"));
        assert!(!w.matches("example.com"));
        assert!(!w.matches("badexample.com"));
    }

    #[test]
    fn refusals() {
        for bad in [
            "*",
            "**",
            "*.*",
            "*.com",
            "**.co.uk",
            "*.github.io",
            "a*.example.com",
            "a.**.example.com",
            "1.2.3.4",
            "::1",
            "[::1]",
            "https://x.com",
            "x.com/path",
            "bücher.de",
            "a..b",
            "-a.com",
            "a_b!.com",
            "",
            "x.123",
        ] {
            assert!(HostPattern::parse(bad).is_err(), "{bad} should be refused");
        }
        assert!(HostPattern::parse("xn--bcher-kva.de").is_ok());
        assert!(HostPattern::parse("*.example.co.uk").is_ok());
    }

    #[test]
    fn public_suffix_error_explains() {
        let e = HostPattern::parse("*.github.io").unwrap_err();
        assert!(e.message.contains("public suffix `github.io`"), "{e}");
        // GitHub registered githubusercontent.com as a public suffix: gist, raw and objects hosts
        // are separate origins, so the wildcard would also admit gist.githubusercontent.com.
        assert!(HostPattern::parse("*.githubusercontent.com").is_err());
    }

    #[test]
    fn invalid_names_never_match() {
        assert!(!p("**.example.com").matches("a b.example.com"));
        assert!(!p("*.example.com").matches("*.example.com."));
    }
}
