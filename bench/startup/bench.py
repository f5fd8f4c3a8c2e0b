#!/usr/bin/env python3
"""Fixed cost of a fenced run: `ringfence run -- /bin/true` against the same command unfenced and
under bubblewrap with every namespace, in paired, interleaved rounds (see README.md).

Per run it records the wall time timed directly (`direct_ms`: started straight from here, nothing
around it), then, in a second run of its own, the wall time through /usr/bin/time inside a fresh
memory group (`wall_ms`; both add to it, a fenced run more than /bin/true), the CPU time of the
tree (user + system, as /usr/bin/time counts it: every thread and reaped child), the largest single
process's peak RSS (what `/usr/bin/time -v` prints: wait4's ru_maxrss, which covers the reaped
descendants too) and the peak memory charged
to a cgroup v1 memory group holding the whole process tree (user pages, page tables, kernel
memory: BPF maps and ring buffers, sockets, namespaces).

Usage (root): bench/startup/bench.py [--rounds N] [--rf PATH] [--base PATH] [--also NAME=PATH]...
                                     [--only audit,block,...] [--json FILE]
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MEMCG_ROOT = "/sys/fs/cgroup/memory"


def memcg_setup(n):
    """A fresh v1 memory group for one run's process tree, or None where there is no v1 memory
    hierarchy. Fresh each run: a reused group's peak starts from what earlier runs left charged
    to it (dying namespaces, cgroups and sockets are freed late)."""
    if not os.path.isdir(MEMCG_ROOT):
        return None
    path = os.path.join(MEMCG_ROOT, f"rf-startup-{os.getpid()}-{n}")
    os.makedirs(path, exist_ok=True)
    return path


def memcg_remove(path):
    # The group is empty once the tree exited; its charges move to the parent.
    for _ in range(100):
        try:
            os.rmdir(path)
            return
        except OSError:
            time.sleep(0.01)


def memcg_read(path, name):
    try:
        with open(os.path.join(path, name)) as f:
            return int(f.read())
    except OSError:
        return None


def run_once(argv, workdir, n):
    memcg = memcg_setup(n)

    def enter():
        if memcg:
            with open(os.path.join(memcg, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

    # Started through /usr/bin/time (a ~2 MiB process): ru_maxrss keeps the high-water mark across
    # exec, so a child forked straight from this Python process would report Python's own RSS.
    rss_file = os.path.join(workdir, "maxrss")
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", rss_file, *argv], cwd=workdir,
                          preexec_fn=enter, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{argv} failed with {proc.returncode}: {proc.stderr.decode(errors='replace')}")
    with open(rss_file) as f:
        maxrss_kib, user, sys_ = f.read().split()[-3:]
    out = {"wall_ms": wall * 1000, "cpu_ms": (float(user) + float(sys_)) * 1000,
           "maxrss_mib": int(maxrss_kib) / 1024}
    if memcg:
        out["memcg_mib"] = memcg_read(memcg, "memory.max_usage_in_bytes") / 2**20
        kmem = memcg_read(memcg, "memory.kmem.max_usage_in_bytes")
        if kmem is not None:
            out["kmem_mib"] = kmem / 2**20
        memcg_remove(memcg)
    return out


def run_direct(argv, workdir):
    """Wall time alone: the command started straight from here, with neither /usr/bin/time nor
    a fresh memory group around it (measured: together they add ~4 ms to /bin/true and 7 - 10 ms
    to a fenced run, whose many threads and kernel objects they account for)."""
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{argv} failed with {proc.returncode}")
    return wall * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--rf", default=os.path.join(os.path.dirname(__file__), "../../target/release/ringfence"))
    ap.add_argument("--base", help="a second ringfence binary (the one before a change), timed as audit-base, block-base")
    ap.add_argument("--also", action="append", default=[], metavar="NAME=PATH",
                    help="more ringfence binaries, timed in block mode as NAME (one per commit, say)")
    ap.add_argument("--only", default="unfenced,bwrap,audit,block,audit-base,block-base")
    ap.add_argument("--json")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("ringfence run needs root; run this as root")
    rf = os.path.abspath(args.rf)
    work = tempfile.mkdtemp(prefix="rf-startup-")
    os.chmod(work, 0o755)
    outs = os.path.join(work, "outs")
    variants = {
        "unfenced": ["/bin/true"],
        "audit": [rf, "run", "--mode", "audit", "--out", os.path.join(outs, "r"), "--", "/bin/true"],
        "block": [rf, "run", "--mode", "block", "--out", os.path.join(outs, "r"), "--", "/bin/true"],
    }
    if args.base:
        base = os.path.abspath(args.base)
        for mode in ("audit", "block"):
            variants[f"{mode}-base"] = [base] + variants[mode][1:]
    bwrap = shutil.which("bwrap")
    if bwrap:
        variants["bwrap"] = [bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/",
                             "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "/bin/true"]
    names = [n for n in args.only.split(",") if n in variants]
    for also in args.also:
        name, _, path = also.partition("=")
        variants[name] = [os.path.abspath(path)] + variants["block"][1:]
        names.append(name)
    results = {n: [] for n in names}
    loads = [os.getloadavg()[0]]
    try:
        for _ in range(args.rounds):
            order = names[:]
            random.shuffle(order)
            for n in order:
                shutil.rmtree(outs, ignore_errors=True)
                os.makedirs(outs)
                out = run_once(variants[n], work, len(results[n]))
                shutil.rmtree(outs, ignore_errors=True)
                os.makedirs(outs)
                out["direct_ms"] = run_direct(variants[n], work)
                results[n].append(out)
            loads.append(os.getloadavg()[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.rounds} rounds, load (1 min) {min(loads):.2f}-{max(loads):.2f}, median {statistics.median(loads):.2f}")
    keys = ["direct_ms", "wall_ms", "cpu_ms", "maxrss_mib", "memcg_mib", "kmem_mib"]
    print(f"{'':10}" + "".join(f"{k:>22}" for k in keys))
    for n in names:
        row = f"{n:10}"
        for k in keys:
            vals = [r[k] for r in results[n] if k in r]
            if not vals:
                row += f"{'-':>22}"
                continue
            q = statistics.quantiles(vals, n=4) if len(vals) > 1 else [vals[0]] * 3
            row += f"{statistics.median(vals):>10.1f} ({q[0]:.0f}-{q[2]:.0f})".rjust(22)
        print(row)
    for n, against in (("audit", "bwrap"), ("block", "bwrap"), ("audit", "audit-base"), ("block", "block-base")):
        if n in names and against in names:
            ratios = [a["wall_ms"] / b["wall_ms"] for a, b in zip(results[n], results[against])]
            print(f"{n}/{against} paired wall ratio, median {statistics.median(ratios):.2f}x")
    for n in names:
        if n != "unfenced" and "unfenced" in names:
            for k in ("direct_ms", "wall_ms"):
                diffs = [a[k] - b[k] for a, b in zip(results[n], results["unfenced"])]
                print(f"{n} - unfenced, paired {k}: median {statistics.median(diffs):.1f} ms")
    for n, against in (("audit", "audit-base"), ("block", "block-base")):
        if n in names and against in names:
            ratios = [a["direct_ms"] / b["direct_ms"] for a, b in zip(results[n], results[against])]
            print(f"{n}/{against} paired direct wall ratio, median {statistics.median(ratios):.2f}x")
    for n, against in (("audit", "audit-base"), ("block", "block-base")):
        if n in names and against in names:
            cpu = statistics.median(r["cpu_ms"] for r in results[n])
            base = statistics.median(r["cpu_ms"] for r in results[against])
            print(f"{n}/{against} CPU (user+sys, 10 ms resolution), ratio of medians {cpu / base:.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"loads": loads, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
