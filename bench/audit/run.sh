#!/usr/bin/env bash
# Benchmark `ringfence audit` against zizmor on the same files (see README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -p ringfence
command -v zizmor >/dev/null || pip install zizmor
# Pad the committed corpus with the workflow files shipped in zizmor's own crate package
# (fetched through cargo, not committed here).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo new -q --vcs none "$tmp/pad"
(cd "$tmp/pad" && cargo add -q zizmor@=1.32.0 && cargo fetch -q)
pad=$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -maxdepth 1 -mindepth 1 -type d | head -1)/zizmor-1.32.0/tests
python3 bench/audit/bench.py "${CARGO_TARGET_DIR:-target}/release/ringfence" "$pad"
