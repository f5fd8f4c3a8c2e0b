#!/usr/bin/env bash
# The file sensor's and Landlock's cost on a workload itself, without the fixed cost of starting
# and stopping a fence: each run times its workload from inside (date +%s%N before and after, in
# the same shell) and reports the CPU time of the shell and its children (`times`). Each round
# runs every side once, in a shuffled order, and the figure is the median over rounds of each
# round's fenced / unfenced ratio: on a shared machine the load drifts by more than the effect
# between rounds, and pairing within a round cancels the drift. cli.sh measures what a user sees
# end to end; this isolates what the fence costs per file operation.
#
# Usage (as root): bench/files/inside.sh [path/to/ringfence]
# Environment: FILES (default 50000, created and untarred), GIT_FILES (20000), GIT_REPEAT
#              (git status per run, 10), RUNS (rounds, default 11)
set -euo pipefail

. "$(dirname "$0")/../lib.sh"
bench_binary "${1:-}"
files=${FILES:-50000}
git_files=${GIT_FILES:-20000}
repeat=${GIT_REPEAT:-10}
runs=${RUNS:-11}
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

# Each prints "wall NS" and then `times` (the shell's and its children's user and system time).
timed() { echo "t0=\$(date +%s%N); $1; t1=\$(date +%s%N); echo wall \$((t1 - t0)); times"; }
create=$(timed "mkdir d && cd d && i=0; while [ \$i -lt $files ]; do echo x > f\$i; i=\$((i+1)); done")
untar=$(timed "mkdir d && tar -C d -xf $work/fs/pkg.tar")
status=$(timed "i=0; while [ \$i -lt $repeat ]; do git status >/dev/null; i=\$((i+1)); done")
nobody=(setpriv --reuid 65534 --regid 65534 --clear-groups env HOME=/tmp)

run_side() { # round side script dir workload
    local round=$1 side=$2 script=$3 dir=$4 name=$5 out
    rm -rf "$ws/d" "$work/outs/$side"
    case $side in
        unfenced) out=$(cd "$dir" && "${nobody[@]}" sh -c "$script") ;;
        *) out=$(cd "$dir" && "$rf" run --mode "$side" --out "$work/outs/$side" -- sh -c "$script" 2>/dev/null) ;;
    esac
    echo "$round $side $name $(echo "$out" | tail -3 | tr '\n' ' ')" >>"$work/results"
}

for round in $(seq 1 "$runs"); do
    for side in $(printf '%s\n' unfenced block audit | shuf); do
        run_side "$round" "$side" "$create" "$ws" create
        run_side "$round" "$side" "$untar" "$ws" untar
        run_side "$round" "$side" "$status" "$gitrepo" status
    done
done

python3 - "$work/results" "$files" "$git_files" "$repeat" <<'PY'
import collections, re, statistics, sys
results, files, git_files, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def seconds(text):
    m = re.fullmatch(r"(\d+)m([\d.]+)s", text)
    return int(m.group(1)) * 60 + float(m.group(2))
runs = collections.defaultdict(dict)  # (workload, round) -> side -> (wall ms, cpu s)
for line in open(results):
    f = line.split()
    if len(f) != 9 or f[3] != "wall":
        sys.exit(f"a run failed or printed something unexpected: {line!r}")
    runs[(f[2], f[0])][f[1]] = (int(f[4]) / 1e6, sum(seconds(x) for x in f[5:9]))
def ratios(name, side, i):
    return [r[side][i] / r["unfenced"][i] for (w, _), r in runs.items() if w == name and r["unfenced"][i] > 0]
def spread(xs):
    if not xs:
        return "n/a (too short to time)"
    q = statistics.quantiles(xs, n=4) if len(xs) > 1 else [xs[0]] * 3
    return f"**{statistics.median(xs):.2f}×** ({q[0]:.2f}–{q[2]:.2f})"
rounds = len({r for (_, r) in runs})
print("| workload, timed inside the run | unfenced, median | block / unfenced: wall (IQR) | CPU | audit / unfenced: wall (IQR) | CPU |")
print("|---|---:|---:|---:|---:|---:|")
for name, label in [("create", f"create {files:,} files"), ("untar", f"untar {files:,} files"),
                    ("status", f"`git status` ×{repeat}, {git_files:,} files")]:
    base = statistics.median(r["unfenced"][0] for (w, _), r in runs.items() if w == name)
    cells = [spread(ratios(name, side, i)) for side in ("block", "audit") for i in (0, 1)]
    print(f"| {label} | {base:.0f} ms | " + " | ".join(cells) + " |")
print(f"\nmedians over {rounds} rounds of each round's fenced / unfenced ratio (interquartile range); "
      f"CPU: user + system of the shell and its children; load: {open('/proc/loadavg').read().split()[:3]}")
PY
