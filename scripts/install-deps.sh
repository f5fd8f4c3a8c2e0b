#!/usr/bin/env bash
# System packages ringfence builds and tests with (Debian/Ubuntu). Idempotent; needs root.
set -euo pipefail
packages=(clang llvm libelf-dev zlib1g-dev pkg-config libseccomp-dev util-linux iproute2 nftables procps bash python3
  python3-venv curl dnsutils openssl ca-certificates git nghttp2-server openssh-server openssh-client
  postgresql sudo)
# sudo plays the runner user's sudo in the job-mode tests; python3-venv holds actionlint and aider.
# npm and python3-venv install the real agents the end-to-end tests drive (Claude Code, Codex,
# Gemini CLI from npm; aider from PyPI into a venv); a Node.js already installed is kept.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null; then
  echo "cargo is missing: install a Rust toolchain (1.95 or newer) first" >&2
  exit 1
fi
