#!/usr/bin/env python3
"""The build-like workload of bench.sh (41 C files, `make -j2`, as nobody), fenced against
unfenced in paired, shuffled rounds: each round builds once unfenced, once under each ringfence
binary given, in a random order, and the figure is the median of the rounds' fenced / unfenced
ratios. bench.sh's hyperfine batches (5 runs of one command, then the next) let the load drift
between the sides by more than the 5 % this target is about; pairing within a round cancels it.

Usage (root): bench/run/paired.py [--rounds N] RINGFENCE [NAME=RINGFENCE]...
"""

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

NOBODY = 65534


def write_project(proj):
    """The same 40 units + main.c and Makefile bench.sh builds."""
    os.makedirs(proj)
    for i in range(1, 41):
        n = f"{i:02d}"
        parts = ["#include <stdio.h>", "#include <string.h>"]
        for f in range(1, 5):
            parts.append(
                f"static unsigned mix{f}_{n}(unsigned x) {{ for (int k = 0; k < 8; k++) x = x * 2654435761u + {f}{n}; return x; }}\n"
                f"unsigned fn{f}_{n}(const char *s) {{\n"
                f"    unsigned h = mix{f}_{n}((unsigned)strlen(s));\n"
                "    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;\n"
                f'    char buf[64]; snprintf(buf, sizeof buf, "%u-%d", h, {f});\n'
                "    return h ^ (unsigned)buf[0];\n}"
            )
        with open(os.path.join(proj, f"unit{n}.c"), "w") as out:
            out.write("\n".join(parts) + "\n")
    names = [f"{i:02d}" for i in range(1, 41)]
    with open(os.path.join(proj, "main.c"), "w") as out:
        out.write("#include <stdio.h>\n")
        out.writelines(f"unsigned fn1_{n}(const char *);\n" for n in names)
        out.write("int main(void) { unsigned h = 0;\n")
        out.writelines(f'  h ^= fn1_{n}("ringfence");\n' for n in names)
        out.write('  printf("%u\\n", h); return 0; }\n')
    with open(os.path.join(proj, "Makefile"), "w") as out:
        out.write("CC ?= cc\nCFLAGS ?= -O2 -Wall\nSRCS := $(wildcard *.c)\nOBJS := $(SRCS:.c=.o)\n"
                  "prog: $(OBJS)\n\t$(CC) $(CFLAGS) -o $@ $(OBJS)\n%.o: %.c\n\t$(CC) $(CFLAGS) -c -o $@ $<\n"
                  "clean:\n\trm -f prog $(OBJS)\n.PHONY: clean\n")
    for root, dirs, files in os.walk(os.path.dirname(proj)):
        for name in [root] + [os.path.join(root, x) for x in dirs + files]:
            os.chown(name, NOBODY, NOBODY)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("binaries", nargs="+", metavar="[NAME=]RINGFENCE")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("ringfence run needs root; run this as root")
    for tool in ("make", "cc", "setpriv"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed (apt-get install build-essential util-linux)")
    work = tempfile.mkdtemp(prefix="rf-build-")
    os.chmod(work, 0o755)
    proj = os.path.join(work, "proj")
    out = os.path.join(work, "out")
    write_project(proj)
    sides = {"unfenced": ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                          "make", "-s", "-j2"]}
    for given in args.binaries:
        name, _, path = given.rpartition("=")
        sides[name or "fenced"] = [os.path.abspath(path), "run", "--mode", "block", "--out", out, "--",
                                   "make", "-s", "-j2"]
    times = {name: [] for name in sides}
    loads = [os.getloadavg()[0]]
    try:
        for _ in range(args.rounds):
            order = list(sides)
            random.shuffle(order)
            for name in order:
                subprocess.run(["make", "-s", "clean"], cwd=proj, check=True)
                shutil.rmtree(out, ignore_errors=True)
                start = time.perf_counter()
                done = subprocess.run(sides[name], cwd=proj, capture_output=True)
                times[name].append((time.perf_counter() - start) * 1000)
                if done.returncode != 0:
                    sys.exit(f"{name}: exit {done.returncode}: {done.stderr.decode(errors='replace')[-2000:]}")
            loads.append(os.getloadavg()[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.rounds} rounds, load (1 min) {min(loads):.2f}-{max(loads):.2f}")
    print(f"unfenced: median {statistics.median(times['unfenced']):.0f} ms")
    for name in sides:
        if name == "unfenced":
            continue
        ratios = sorted(a / b for a, b in zip(times[name], times["unfenced"]))
        q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
        print(f"{name}: median {statistics.median(times[name]):.0f} ms, fenced / unfenced paired "
              f"{statistics.median(ratios):.3f}x (IQR {q[0]:.3f}-{q[2]:.3f})")


if __name__ == "__main__":
    main()
