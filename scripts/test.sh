#!/usr/bin/env bash
# The whole test suite. Privileged tests (cgroups, namespaces, eBPF) need root; with
# RINGFENCE_REQUIRE_PRIVILEGED=1 they fail instead of skipping when they cannot get it.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --release -p ringfence
if command -v cargo-nextest >/dev/null; then
  cargo nextest run --locked --workspace --no-fail-fast
else
  cargo test --locked --workspace --no-fail-fast
fi
# The GitHub Action's own tests (node) and actionlint on action.yml and the example workflows.
./scripts/test-action.sh
