#!/bin/sh
# Overhead of ringfence's file sensor: creating small files in a workspace, watched vs unwatched.
# Usage (as root): bench/files/run.sh [FILES] [RUNS]   (defaults: 50000 files, 5 runs each)
set -eu
cd "$(dirname "$0")/../.."
cargo build --release -p sensors --example file_bench
exec "${CARGO_TARGET_DIR:-target}/release/examples/file_bench" "${1:-50000}" "${2:-5}"
