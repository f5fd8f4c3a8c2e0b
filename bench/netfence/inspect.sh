#!/bin/sh
# HTTPS through ringfence's proxy (spliced and inspected) against direct, mitmproxy and Squid,
# in the fake internet the tests build (network namespaces on this machine only; nothing
# leaves it). Needs root, iproute2, nftables, util-linux (unshare), curl, python3, openssl, and
# `squid` (apt). mitmproxy is installed from PyPI into a venv under the scratch directory.
set -eu
cd "$(dirname "$0")/../.."
SCRATCH=${RINGFENCE_BENCH_SCRATCH:-/tmp/ringfence-bench}
mkdir -p "$SCRATCH"
if [ ! -x "$SCRATCH/mitm-venv/bin/mitmdump" ]; then
  python3 -m venv "$SCRATCH/mitm-venv"
  "$SCRATCH/mitm-venv/bin/pip" install -q mitmproxy
fi
uptime
git rev-parse --short HEAD
RINGFENCE_BENCH_SCRATCH=$SCRATCH exec cargo test --release -p netfence --test bench_inspect -- \
  --ignored --nocapture --test-threads=1
