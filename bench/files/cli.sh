#!/usr/bin/env bash
# Overhead of the file sensor and Landlock on file-heavy workloads, through the real CLI:
# `ringfence run --mode block` (file sensor + Landlock + mount masks) and `--mode audit` (file
# sensor, no Landlock) against the same command unfenced as the same uid (65534), with hyperfine
# in one session (see README.md).
#
# Usage (as root, from anywhere):
#   bench/files/cli.sh [path/to/ringfence]
# Environment:
#   RINGFENCE   ringfence binary (default: target/release/ringfence, relative to the repo root)
#   FILES       files the create workload writes (default 50000)
#   GIT_FILES   files in the generated git repository (default 20000)
#   RUNS        hyperfine runs per command and round (default 5, at least 5)
#   WARMUP      hyperfine warmup runs per command and round (default 1)
#   ROUNDS      rounds of the workloads, interleaved (default 1)
#   FS          where the workspaces live: `loop` (default), a fresh journaled ext4 image
#               loop-mounted for this run; or `tmp`, the filesystem of /tmp as it is
#   RESULTS     directory for the hyperfine JSON and the summary (default: a temporary directory)
set -euo pipefail

. "$(dirname "$0")/../lib.sh"
bench_binary "${1:-}"
files=${FILES:-50000}
git_files=${GIT_FILES:-20000}
runs=${RUNS:-5}
rounds=${ROUNDS:-1}
[ "$runs" -ge 5 ] || { echo "RUNS must be at least 5" >&2; exit 2; }
need=()
for tool in hyperfine git python3; do
    command -v "$tool" >/dev/null || need+=("$tool")
done
if [ ${#need[@]} -gt 0 ]; then
    pkgs=()
    for tool in "${need[@]}"; do
        case $tool in python3) pkgs+=(python3-minimal) ;; *) pkgs+=("$tool") ;; esac
    done
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi

# --- scratch space ----------------------------------------------------------------------------
# Outside any repository, so no ringfence.yml is found and the built-in defaults apply.
results=${RESULTS:-$(mktemp -d /tmp/ringfence-files-results.XXXXXX)}
mkdir -p "$results"
results=$(cd "$results" && pwd)
work=$(mktemp -d /tmp/ringfence-files.XXXXXX)
chmod 755 "$work"
cleanup() {
    [ -n "${mnt:-}" ] && umount "$mnt" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
base=$work
if [ "${FS:-loop}" = loop ]; then
    # A fresh journaled ext4 of its own (as a CI runner's disk is), so the workload is not
    # dominated by the state of a shared filesystem and the sensor's filesystem mark sees only
    # this benchmark's writes (see README.md).
    loop_fs "$work"
    mnt=$work/fs
    base=$mnt
fi
outs=$work/outs # the fenced runs' --out directories, outside the workspaces
mkdir -p "$outs"

nobody="setpriv --reuid 65534 --regid 65534 --clear-groups env HOME=/tmp"
fenced() { echo "$rf run --mode $1 --out $outs/$2 --"; }
fresh() { echo "rm -rf $outs/$1"; }

# --- workloads --------------------------------------------------------------------------------
# (i) create FILES small files in a fresh directory of the workspace (shell builtins only: one
# open, write, close per file, no exec).
ws=$base/ws
mkdir -p "$ws"
chown 65534:65534 "$ws"
create="mkdir d && cd d && i=0; while [ \$i -lt $files ]; do echo x > f\$i; i=\$((i+1)); done"
clean_ws="rm -rf $ws/d"

# (ii) git status in a committed repository of GIT_FILES files (100 per directory).
gitrepo=$base/gitrepo
git_tree "$gitrepo" "$git_files"
chown -R 65534:65534 "$gitrepo"
(cd "$gitrepo" && $nobody git status --porcelain | head -3) # warm the index as its owner

# Fail early, with ringfence's own message, if the fence cannot be built here.
for mode in block audit; do
    (cd "$ws" && $(fenced "$mode" "check-$mode") sh -c "$create" && test -f d/f$((files - 1)) && $clean_ws)
    (cd "$gitrepo" && $(fenced "$mode" "check-git-$mode") git status --porcelain >/dev/null)
done
rm -rf "${outs:?}"/*

# --- measurements -----------------------------------------------------------------------------
hf=(hyperfine --warmup "${WARMUP:-1}" --runs "$runs" --style basic --shell=none)
{
    echo "nproc: $(nproc)"
    echo "kernel: $(uname -r)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "workspace filesystem: $(df -T "$ws" | awk 'NR==2 {print $1, $2}') (FS=${FS:-loop})"
    free -h | sed -n 1,2p
    echo "repository HEAD (the binary may be older): $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
} | tee "$results/machine.txt"
load() { echo "$1: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$results/load.txt"; }
: >"$results/load.txt"

for round in $(seq 1 "$rounds"); do
    load "round $round: create"
    (cd "$ws" && "${hf[@]}" --export-json "$results/create.$round.json" \
        --prepare "$clean_ws" \
        --prepare "sh -c '$clean_ws; $(fresh create-block)'" \
        --prepare "sh -c '$clean_ws; $(fresh create-audit)'" \
        --prepare "$(fresh true-block)" \
        --prepare "$(fresh true-audit)" \
        -n unfenced "$nobody sh -c '$create'" \
        -n block "$(fenced block create-block) sh -c '$create'" \
        -n audit "$(fenced audit create-audit) sh -c '$create'" \
        -n true-block "$(fenced block true-block) /bin/true" \
        -n true-audit "$(fenced audit true-audit) /bin/true")
    rm -rf "${ws:?}/d"

    load "round $round: git-status"
    (cd "$gitrepo" && "${hf[@]}" --export-json "$results/git-status.$round.json" \
        --prepare /bin/true --prepare "$(fresh git-block)" --prepare "$(fresh git-audit)" \
        -n unfenced "$nobody git status" \
        -n block "$(fenced block git-block) git status" \
        -n audit "$(fenced audit git-audit) git status")
done
load "end"

# What the last fenced run of each kind journaled (the file sensor's events and losses).
for d in create-block create-audit git-block git-audit; do
    j=$outs/$d/events.jsonl
    [ -f "$j" ] || continue
    echo "$d: $(wc -l <"$j") journal lines, file events: $(grep -c '"file' "$j" || true)," \
        "sensor lost: $(grep -o '"sensor_lost[^}]*' "$j" | head -3 | tr '\n' ' ')"
done | tee "$results/journals.txt"

# --- summary ----------------------------------------------------------------------------------
python3 - "$results" "$rounds" "$files" "$git_files" <<'PY' | tee "$results/summary.md"
import json, os, statistics, sys
res, rounds, files, git_files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

def pooled(name):
    """Every run of every round, per command: wall times, user+system CPU times (s)."""
    out = {}
    for i in range(1, rounds + 1):
        with open(os.path.join(res, f"{name}.{i}.json")) as f:
            for r in json.load(f)["results"]:
                d = out.setdefault(r["command"], {"wall": [], "cpu": []})
                d["wall"] += r["times"]
                d["cpu"] += [u + s for u, s in zip(r["user"] if isinstance(r["user"], list) else [r["user"]] * len(r["times"]),
                                                     r["system"] if isinstance(r["system"], list) else [r["system"]] * len(r["times"]))]
                if "exit_codes" in r and any(r["exit_codes"]):
                    print(f"WARNING: {name} {r['command']}: nonzero exit codes {r['exit_codes']}", file=sys.stderr)
    return out

def med(xs): return statistics.median(xs) * 1000
def iqr(xs):
    q = statistics.quantiles(xs, n=4)
    return (q[2] - q[0]) * 1000

c = pooled("create")
g = pooled("git-status")
n = len(c["unfenced"]["wall"])
print(f"| workload | unfenced | block (sensor + Landlock) | audit (sensor) | **block / unfenced** | audit / unfenced | target | CPU ratio block / audit |")
print("|---|---:|---:|---:|---:|---:|---|---:|")
for label, r in [(f"create {files:,} files", c), (f"`git status`, {git_files:,} files", g)]:
    u, b, a = (med(r[k]["wall"]) for k in ("unfenced", "block", "audit"))
    cu, cb, ca = (med(r[k]["cpu"]) for k in ("unfenced", "block", "audit"))
    verdict = "met" if b / u <= 1.10 and a / u <= 1.10 else "**missed**"
    print(f"| {label} | {u:.0f} ms | {b:.0f} ms | {a:.0f} ms | **{b/u:.2f}×** | {a/u:.2f}× | ≤ 1.10× ({verdict}) | {cb/cu:.2f}× / {ca/cu:.2f}× |")
print()
tb, ta = med(c["true-block"]["wall"]), med(c["true-audit"]["wall"])
print(f"Fixed cost (`ringfence run -- /bin/true`, same session): block {tb:.0f} ms (IQR {iqr(c['true-block']['wall']):.0f}), "
      f"audit {ta:.0f} ms (IQR {iqr(c['true-audit']['wall']):.0f}); CPU block {med(c['true-block']['cpu']):.0f} ms, audit {med(c['true-audit']['cpu']):.0f} ms.")
print()
print("Net of the fixed cost ((fenced − fixed) / unfenced):")
for label, r in [("create", c), ("git status", g)]:
    u = med(r["unfenced"]["wall"])
    print(f"- {label}: block {(med(r['block']['wall']) - tb) / u:.2f}×, audit {(med(r['audit']['wall']) - ta) / u:.2f}×")
print()
print("Per command, median wall ± IQR, median CPU (user+sys):")
for name, r in [("create", c), ("git-status", g)]:
    for k, v in r.items():
        print(f"- {name} {k}: {med(v['wall']):.0f} ± {iqr(v['wall']):.0f} ms wall, {med(v['cpu']):.0f} ms CPU (n={len(v['wall'])})")
PY
echo "load averages (1/5/15 min) during the run:"
cat "$results/load.txt"
echo "results in $results"
