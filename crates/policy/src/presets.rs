//! Curated endpoint sets compiled into the binary.
//!
//! Each preset carries a version (the month its list was last reviewed) so a report can say which
//! list decided. Hosts are exact where possible: a preset is a convenience, not a reason to widen.
//! Deliberately absent: `gist.githubusercontent.com` (a classic exfiltration and payload host) and
//! shared telemetry hosts used by many unrelated products.

use crate::hosts::HostPattern;

/// One preset: a named, versioned list of `(host pattern, ports)`.
#[derive(Debug, PartialEq)]
pub struct Preset {
    pub name: &'static str,
    pub version: &'static str,
    pub description: &'static str,
    pub hosts: &'static [(&'static str, &'static [u16])],
    /// Hosts the agent calls for things it works without (model catalogs, experiments,
    /// update checks): refused, and journaled, but not counted as violations, so a clean run
    /// of the agent stays clean. Any allow rule still allows them.
    pub optional: &'static [&'static str],
}

impl Preset {
    /// How decisions name this preset, e.g. `preset github@2026-11`.
    pub fn rule_text(&self) -> String {
        format!("preset {}@{}", self.name, self.version)
    }

    /// The preset's patterns; the list is checked by a unit test, so parsing cannot fail here.
    pub fn patterns(&self) -> impl Iterator<Item = (HostPattern, &'static [u16])> + '_ {
        self.hosts.iter().filter_map(|(h, ports)| HostPattern::parse(h).ok().map(|p| (p, *ports)))
    }

    /// The patterns of [`Preset::optional`].
    pub fn optional_patterns(&self) -> impl Iterator<Item = HostPattern> + '_ {
        self.optional.iter().filter_map(|h| HostPattern::parse(h).ok())
    }
}

const HTTPS: &[u16] = &[443];
const HTTP_HTTPS: &[u16] = &[80, 443];

/// Every preset, by name.
pub static PRESETS: &[Preset] = &[
    Preset {
        name: "github",
        version: "2026-11",
        description: "github.com (HTTPS and SSH), the REST/GraphQL API, code and release downloads, ghcr.io",
        hosts: &[
            ("github.com", &[443, 22]),
            ("api.github.com", HTTPS),
            ("codeload.github.com", HTTPS),
            ("uploads.github.com", HTTPS),
            ("objects.githubusercontent.com", HTTPS),
            ("raw.githubusercontent.com", HTTPS),
            ("release-assets.githubusercontent.com", HTTPS),
            ("ghcr.io", HTTPS),
            ("pkg-containers.githubusercontent.com", HTTPS),
        ],
        optional: &[],
    },
    Preset {
        name: "anthropic",
        version: "2026-11",
        description: "the Anthropic API used by Claude Code",
        hosts: &[("api.anthropic.com", HTTPS), ("statsig.anthropic.com", HTTPS)],
        optional: &[],
    },
    Preset {
        name: "openai",
        version: "2026-11",
        description: "the OpenAI API and ChatGPT sign-in used by Codex",
        hosts: &[("api.openai.com", HTTPS), ("auth.openai.com", HTTPS), ("chatgpt.com", HTTPS)],
        optional: &[],
    },
    Preset {
        name: "google-gemini",
        version: "2026-12",
        description: "the Gemini API and Code Assist endpoints used by Gemini CLI. Optional, refused \
                      quietly: its usage statistics (play.googleapis.com)",
        hosts: &[
            ("generativelanguage.googleapis.com", HTTPS),
            ("cloudcode-pa.googleapis.com", HTTPS),
            ("oauth2.googleapis.com", HTTPS),
        ],
        optional: &["play.googleapis.com"],
    },
    Preset {
        name: "codex",
        version: "2026-12",
        description: "Codex CLI (0.171) with an API key: the Responses API. Optional, refused quietly: \
                      ChatGPT's model catalog and experiments (chatgpt.com, ab.chatgpt.com) and its \
                      GitHub lookups (github.com, api.github.com)",
        hosts: &[("api.openai.com", HTTPS)],
        optional: &["chatgpt.com", "ab.chatgpt.com", "github.com", "api.github.com"],
    },
    Preset {
        name: "aider",
        version: "2026-12",
        description: "aider (0.86) with OpenAI models: the OpenAI API. Optional, refused quietly: \
                      litellm's model price list it fetches at start (raw.githubusercontent.com)",
        hosts: &[("api.openai.com", HTTPS)],
        optional: &["raw.githubusercontent.com"],
    },
    Preset {
        name: "npm",
        version: "2026-11",
        description: "the npm and Yarn registries",
        hosts: &[("registry.npmjs.org", HTTPS), ("registry.yarnpkg.com", HTTPS)],
        optional: &[],
    },
    Preset {
        name: "pypi",
        version: "2026-11",
        description: "PyPI's index and file host",
        hosts: &[("pypi.org", HTTPS), ("files.pythonhosted.org", HTTPS)],
        optional: &[],
    },
    Preset {
        name: "crates",
        version: "2026-11",
        description: "crates.io (sparse index and downloads) and rustup's distribution server",
        hosts: &[
            ("crates.io", HTTPS),
            ("index.crates.io", HTTPS),
            ("static.crates.io", HTTPS),
            ("static.rust-lang.org", HTTPS),
        ],
        optional: &[],
    },
    Preset {
        name: "go",
        version: "2026-11",
        description: "the Go module proxy and checksum database",
        hosts: &[("proxy.golang.org", HTTPS), ("sum.golang.org", HTTPS)],
        optional: &[],
    },
    Preset {
        name: "debian",
        version: "2026-11",
        description: "Debian package mirrors (apt still uses plain HTTP; packages are signed)",
        hosts: &[("deb.debian.org", HTTP_HTTPS), ("security.debian.org", HTTP_HTTPS)],
        optional: &[],
    },
    Preset {
        name: "ubuntu",
        version: "2026-11",
        description: "Ubuntu archives, including the regional mirrors hosted runners use",
        hosts: &[
            ("archive.ubuntu.com", HTTP_HTTPS),
            ("*.archive.ubuntu.com", HTTP_HTTPS),
            ("security.ubuntu.com", HTTP_HTTPS),
        ],
        optional: &[],
    },
    Preset {
        name: "docker",
        version: "2026-11",
        description: "Docker Hub pulls",
        hosts: &[
            ("registry-1.docker.io", HTTPS),
            ("auth.docker.io", HTTPS),
            ("production.cloudflare.docker.com", HTTPS),
        ],
        optional: &[],
    },
];

/// Looks a preset up by name (case-sensitive, as written in the file).
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// The names of every preset, for error messages and docs.
pub fn preset_names() -> Vec<&'static str> {
    PRESETS.iter().map(|p| p.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_host_is_a_valid_pattern_with_ports() {
        for p in PRESETS {
            assert!(!p.hosts.is_empty(), "{}", p.name);
            for (host, ports) in p.hosts {
                HostPattern::parse(host).unwrap_or_else(|e| panic!("{}: {host}: {e}", p.name));
                assert!(!ports.is_empty() && !ports.contains(&0), "{}: {host}", p.name);
            }
            assert_eq!(p.patterns().count(), p.hosts.len());
            assert_eq!(p.optional_patterns().count(), p.optional.len(), "{}", p.name);
            // A host both needed and optional would be allowed and never quiet: a listing error.
            for host in p.optional {
                assert!(!p.hosts.iter().any(|(h, _)| h == host), "{}: {host}", p.name);
            }
        }
    }

    #[test]
    fn names_are_unique_and_no_gist() {
        let mut names = preset_names();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), PRESETS.len());
        for p in PRESETS {
            assert!(!p.patterns().any(|(pat, _)| pat.matches("gist.githubusercontent.com")), "{}", p.name);
        }
    }
}
