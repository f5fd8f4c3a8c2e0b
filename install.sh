#!/usr/bin/env bash
# Installs ringfence from this checkout: system packages, a release build, /usr/local/bin/ringfence.
# Then try it: `sudo ringfence run --demo`.
set -euo pipefail
cd "$(dirname "$0")"
if [ "$(id -u)" -ne 0 ]; then exec sudo -E "$0" "$@"; fi
./scripts/install-deps.sh
cargo build --locked --release -p ringfence
install -m 0755 target/release/ringfence /usr/local/bin/ringfence
echo "installed: $(/usr/local/bin/ringfence --version) at /usr/local/bin/ringfence"
