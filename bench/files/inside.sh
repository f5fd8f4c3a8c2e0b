#!/usr/bin/env bash
# The file sensor's and Landlock's cost on a workload itself, without the fixed cost of starting
# and stopping a fence: each run times its workload from inside (date +%s%N before and after, in
# the same shell), fenced and unfenced alternately, and the medians are compared. cli.sh measures
# what a user sees end to end; this isolates what the fence costs per file operation.
#
# Usage (as root): bench/files/inside.sh [path/to/ringfence]
# Environment: FILES (default 50000, created and untarred), GIT_FILES (20000), GIT_REPEAT
#              (git status per run, 10), RUNS (per side, default 7)
set -euo pipefail

. "$(dirname "$0")/../lib.sh"
bench_binary "${1:-}"
files=${FILES:-50000}
git_files=${GIT_FILES:-20000}
repeat=${GIT_REPEAT:-10}
runs=${RUNS:-7}
work=$(mktemp -d /var/lib/ringfence-inside.XXXXXX)
cleanup() { umount "$work/fs" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
loop_fs "$work"
mkdir -p "$work/outs"
chmod 755 "$work"
ws=$work/fs/ws
gitrepo=$work/fs/gitrepo
mkdir -p "$ws"
git_tree "$gitrepo" "$git_files"
package_tarball "$work/fs/pkg.tar" "$files"
chmod 644 "$work/fs/pkg.tar"
chown -R 65534:65534 "$ws" "$gitrepo"

# Each prints its own elapsed nanoseconds on the last line of stdout.
timed() { echo "t0=\$(date +%s%N); $1; t1=\$(date +%s%N); echo \$((t1 - t0))"; }
create=$(timed "mkdir d && cd d && i=0; while [ \$i -lt $files ]; do echo x > f\$i; i=\$((i+1)); done")
untar=$(timed "mkdir d && tar -C d -xf $work/fs/pkg.tar")
status=$(timed "i=0; while [ \$i -lt $repeat ]; do git status >/dev/null; i=\$((i+1)); done")
nobody=(setpriv --reuid 65534 --regid 65534 --clear-groups env HOME=/tmp)

run_side() { # side workload dir
    local side=$1 script=$2 dir=$3 n=$4
    rm -rf "$ws/d" "$work/outs/$side"
    case $side in
        unfenced) (cd "$dir" && "${nobody[@]}" sh -c "$script" | tail -1) ;;
        *) (cd "$dir" && "$rf" run --mode "$side" --out "$work/outs/$side" -- sh -c "$script" 2>/dev/null | tail -1) ;;
    esac >>"$work/$n.$side"
}

for i in $(seq 1 "$runs"); do
    for side in unfenced block audit; do
        run_side "$side" "$create" "$ws" create
        run_side "$side" "$untar" "$ws" untar
        run_side "$side" "$status" "$gitrepo" status
    done
done

python3 - "$work" "$files" "$git_files" "$repeat" "$runs" <<'PY'
import statistics, sys
work, files, git_files, repeat, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def med(name, side):
    with open(f"{work}/{name}.{side}") as f:
        xs = [int(l) / 1e6 for l in f if l.strip()]
    assert len(xs) == runs, (name, side, xs)
    return statistics.median(xs), min(xs), max(xs)
print(f"| workload, timed inside the run | unfenced | block | audit | block / unfenced | audit / unfenced |")
print("|---|---:|---:|---:|---:|---:|")
for name, label in [("create", f"create {files:,} files"), ("untar", f"untar {files:,} files"), ("status", f"`git status` ×{repeat}, {git_files:,} files")]:
    u, b, a = (med(name, s) for s in ("unfenced", "block", "audit"))
    print(f"| {label} | {u[0]:.0f} ms ({u[1]:.0f}–{u[2]:.0f}) | {b[0]:.0f} ms ({b[1]:.0f}–{b[2]:.0f}) | "
          f"{a[0]:.0f} ms ({a[1]:.0f}–{a[2]:.0f}) | **{b[0]/u[0]:.2f}×** | **{a[0]/u[0]:.2f}×** |")
print(f"\nmedians of {runs} runs per side (min–max), sides interleaved; load: {open('/proc/loadavg').read().split()[:3]}")
PY
