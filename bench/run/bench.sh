#!/usr/bin/env bash
# Overhead of `ringfence run` against the same command unfenced and under
# `strace -f -e trace=execve`, measured with hyperfine in one invocation (see README.md).
#
# Usage (as root, from anywhere):
#   bench/run/bench.sh [path/to/ringfence]
# Environment:
#   RINGFENCE   ringfence binary (default: target/release/ringfence, relative to the repo root)
#   RUNS        hyperfine runs per command and round (default 5, at least 5)
#   ROUNDS      rounds of the three workloads, interleaved (default 3)
#   RESULTS     directory for the hyperfine JSON and the summary (default: a temporary directory)
set -euo pipefail

. "$(dirname "$0")/../lib.sh"
bench_binary "${1:-}"
runs=${RUNS:-5}
rounds=${ROUNDS:-3}
[ "$runs" -ge 5 ] || { echo "RUNS must be at least 5" >&2; exit 2; }

# --- dependencies -----------------------------------------------------------------------------
need=()
for tool in hyperfine strace gcc make python3; do
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
# Everything lives under one directory outside any repository, so ringfence's default
# ./ringfence.yml lookup finds no policy and the run uses the built-in defaults.
results=${RESULTS:-$(mktemp -d /tmp/ringfence-bench-results.XXXXXX)}
mkdir -p "$results"
results=$(cd "$results" && pwd)
work=$(mktemp -d /tmp/ringfence-bench.XXXXXX)
chmod 755 "$work"
cd "$work"
cleanup() {
    status=$?
    # A failed fenced run leaves its run directory (journal with run.end and its reason) behind.
    if [ $status -ne 0 ] && [ -n "$(ls -A "${outs:-/nonexistent}" 2>/dev/null)" ]; then
        cp -r "$outs" "$results/failed-run-dirs" && echo "run directories kept in $results/failed-run-dirs" >&2
    fi
    rm -rf "$work"
}
trap cleanup EXIT
outs=$work/outs # the fenced runs' --out directories
mkdir -p "$outs"

# Every fenced run gets a fresh run directory: hyperfine's --prepare removes the previous one
# right before each timed run (ringfence refuses to reuse a journal), outside the timing.
fenced() { echo "$rf run --mode block --out $outs/$1 --"; }
fresh() { echo "rm -rf $outs/$1"; }
trace="strace -f -qq -e trace=execve -o /dev/null"

# --- workloads --------------------------------------------------------------------------------
storm='i=0; while [ $i -lt 2000 ]; do /bin/true; i=$((i+1)); done'

# A small C project: 40 translation units with a few functions each, linked into one program.
# Owned by nobody (65534): ringfence runs the agent as the owner of its working directory, and
# nobody if that is root, so the fenced build runs exactly as it would in CI.
proj=$work/proj
mkdir -p "$proj"
for i in $(seq -w 1 40); do
    {
        echo "#include <stdio.h>"
        echo "#include <string.h>"
        for f in 1 2 3 4; do
            cat <<C
static unsigned mix${f}_$i(unsigned x) { for (int k = 0; k < 8; k++) x = x * 2654435761u + $f$i; return x; }
unsigned fn${f}_$i(const char *s) {
    unsigned h = mix${f}_$i((unsigned)strlen(s));
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    char buf[64]; snprintf(buf, sizeof buf, "%u-%d", h, $f);
    return h ^ (unsigned)buf[0];
}
C
        done
    } >"$proj/unit$i.c"
done
{
    echo "#include <stdio.h>"
    for i in $(seq -w 1 40); do echo "unsigned fn1_$i(const char *);"; done
    echo "int main(void) { unsigned h = 0;"
    for i in $(seq -w 1 40); do echo "  h ^= fn1_$i(\"ringfence\");"; done
    echo "  printf(\"%u\\n\", h); return 0; }"
} >"$proj/main.c"
cat >"$proj/Makefile" <<'MK'
CC ?= cc
CFLAGS ?= -O2 -Wall
SRCS := $(wildcard *.c)
OBJS := $(SRCS:.c=.o)
prog: $(OBJS)
	$(CC) $(CFLAGS) -o $@ $(OBJS)
%.o: %.c
	$(CC) $(CFLAGS) -c -o $@ $<
clean:
	rm -f prog $(OBJS)
.PHONY: clean
MK
chown -R 65534:65534 "$proj"
make -s -C "$proj" clean # sanity: the project builds
make -s -C "$proj" -j2 >/dev/null && "$proj/prog" >/dev/null
make -s -C "$proj" clean

# Fail early, with ringfence's own message, if the fence cannot be built here.
$(fenced check1) /bin/true
(cd "$proj" && $(fenced check2) make -s -j2 >/dev/null && "$proj/prog" >/dev/null && make -s clean)
rm -rf "${outs:?}"/*

# --- measurements -----------------------------------------------------------------------------
hf=(hyperfine --warmup 2 --runs "$runs" --style basic --shell=none)
machine() {
    echo "nproc: $(nproc)"
    echo "kernel: $(uname -r)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    free -h | sed -n 1,2p
}
machine | tee "$results/machine.txt"
load() { echo "$1: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$results/load.txt"; }
: >"$results/load.txt"

# The machine may be shared: each workload is measured in ROUNDS hyperfine invocations
# (RUNS runs of each command per invocation, interleaved round by round), so a burst of outside
# load hits all three variants alike; the medians pool every run of every round.
as_nobody="setpriv --reuid 65534 --regid 65534 --clear-groups"
for round in $(seq 1 "$rounds"); do
    load "round $round: exec-storm"
    "${hf[@]}" --export-json "$results/exec-storm.$round.json" \
        --prepare /bin/true --prepare "$(fresh storm)" --prepare /bin/true \
        -n unfenced "sh -c '$storm'" \
        -n fenced "$(fenced storm) sh -c '$storm'" \
        -n strace "$trace sh -c '$storm'"

    load "round $round: build"
    # In the fence the build runs as nobody (the owner of the project), so do the other two.
    (cd "$proj" && "${hf[@]}" --export-json "$results/build.$round.json" \
        --prepare "make -s clean" --prepare "sh -c 'make -s clean; $(fresh build)'" --prepare "make -s clean" \
        -n unfenced "$as_nobody make -s -j2" \
        -n fenced "$(fenced build) make -s -j2" \
        -n strace "$trace $as_nobody make -s -j2")

    load "round $round: setup-teardown"
    "${hf[@]}" --export-json "$results/setup-teardown.$round.json" \
        --prepare /bin/true --prepare "$(fresh true)" \
        -n unfenced "/bin/true" \
        -n fenced "$(fenced true) /bin/true"
done
load "end"

# --- summary ----------------------------------------------------------------------------------
python3 - "$results" "$rounds" <<'PY' | tee "$results/summary.md"
import json, os, statistics, sys
res, rounds = sys.argv[1], int(sys.argv[2])

def pooled(name):
    """Every run of every round, per command: wall times, and each round's mean user+system
    CPU time (hyperfine exports CPU time only as a mean), in seconds."""
    out = {}
    for i in range(1, rounds + 1):
        with open(os.path.join(res, f"{name}.{i}.json")) as f:
            for r in json.load(f)["results"]:
                d = out.setdefault(r["command"], {"wall": [], "cpu": []})
                d["wall"] += r["times"]
                d["cpu"].append(r["user"] + r["system"])
    return out

def med(xs): return statistics.median(xs) * 1000
def iqr(xs):
    q = statistics.quantiles(xs, n=4)
    return (q[2] - q[0]) * 1000

print("| workload | unfenced | ringfence | strace -f | **ringfence / unfenced** | strace / unfenced | target | CPU time (user+sys) ringfence / unfenced |")
print("|---|---:|---:|---:|---:|---:|---|---:|")
for name, label, target in [("exec-storm", "exec storm (2,000 `/bin/true`)", 1.3),
                            ("build", "build-like (41 C files, `make -j2`)", 1.05)]:
    r = pooled(name)
    u, f, s = (med(r[k]["wall"]) for k in ("unfenced", "fenced", "strace"))
    cu, cf = med(r["unfenced"]["cpu"]), med(r["fenced"]["cpu"])
    verdict = "met" if f / u <= target else "**missed**"
    print(f"| {label} | {u:.0f} ms | {f:.0f} ms | {s:.0f} ms | **{f/u:.2f}×** | {s/u:.2f}× | ≤ {target}× ({verdict}) | {cf/cu:.2f}× |")
r = pooled("setup-teardown")
u, f = med(r["unfenced"]["wall"]), med(r["fenced"]["wall"])
fixed = f - u
print()
print("| setup + teardown | median | IQR |")
print("|---|---:|---:|")
print(f"| `/bin/true` unfenced | {u:.1f} ms | {iqr(r['unfenced']['wall']):.1f} ms |")
print(f"| `ringfence run --mode block -- /bin/true` | {f:.1f} ms | {iqr(r['fenced']['wall']):.1f} ms |")
print(f"| **fixed cost** (difference) | **{fixed:.1f} ms** | target ≤ 300 ms ({'met' if fixed <= 300 else '**missed**'}) |")
print()
print("Runs per command (all rounds pooled), median wall time ± interquartile range:")
for name in ("exec-storm", "build", "setup-teardown"):
    r = pooled(name)
    print(f"- {name}: " + "; ".join(
        f"{k} {med(v['wall']):.1f} ± {iqr(v['wall']):.1f} ms (n={len(v['wall'])})" for k, v in r.items()))
PY
echo "load averages (1/5/15 min) during the run:"
cat "$results/load.txt"
echo "results in $results"
