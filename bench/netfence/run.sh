#!/bin/sh
# Benchmarks the network fence against the fake internet the tests build (network namespaces on
# this machine only; nothing leaves it). Needs root, iproute2, nftables, python3, openssl, curl, dig.
set -eu
cd "$(dirname "$0")/../.."
exec cargo test --release -p netfence --test bench -- --ignored --nocapture --test-threads=1
