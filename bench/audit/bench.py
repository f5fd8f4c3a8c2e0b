#!/usr/bin/env python3
"""Files per second of `ringfence audit` and `zizmor` over the same workflow files.

Usage: bench.py RINGFENCE_BIN [EXTRA_DIR...]

The corpus is every .yml/.yaml under corpus/ plus any EXTRA_DIR, keeping only the files both
tools accept (a file one tool rejects would measure error handling, not auditing). Each tool
gets all files in one invocation, offline, output discarded; the median of RUNS wall-clock
times is reported.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 7
HERE = os.path.dirname(os.path.abspath(__file__))


def collect(dirs):
    files = []
    for d in dirs:
        for root, _, names in os.walk(d):
            files += [os.path.join(root, n) for n in sorted(names) if n.endswith((".yml", ".yaml"))]
    return files


def accepted(cmd, path):
    r = subprocess.run(cmd + [path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # Both tools exit non-zero when they find something; only parse failures disqualify a file.
    return r.returncode not in (1, 2, 3, 125) or "error" not in r.stderr.lower()


def timed(cmd):
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ringfence = sys.argv[1]
    zizmor = shutil.which("zizmor")
    if not zizmor:
        sys.exit("zizmor is not installed: pip install zizmor")
    rf = [ringfence, "audit", "--no-config", "--format", "json"]
    zz = [zizmor, "--offline", "--no-progress", "--no-config", "--format", "json"]
    candidates = collect([os.path.join(HERE, "corpus")] + sys.argv[2:])
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, path in enumerate(candidates):
            # Flat copies with unique names: both tools see identical inputs.
            name = "action.yml" if os.path.basename(path) in ("action.yml", "action.yaml") else f"w{i:04}.yml"
            dest_dir = os.path.join(tmp, f"d{i:04}")
            os.makedirs(dest_dir)
            dest = os.path.join(dest_dir, name)
            shutil.copyfile(path, dest)
            if accepted(rf, dest) and accepted(zz, dest):
                files.append(dest)
        n = len(files)
        t_rf = timed(rf + files)
        t_zz = timed(zz + files)
        version = subprocess.run([zizmor, "--version"], capture_output=True, text=True).stdout.strip()
        print(f"files: {n} (of {len(candidates)} candidates), median of {RUNS} runs, one process per tool per run")
        print(f"ringfence audit: {t_rf:.3f} s  {n / t_rf:,.0f} files/s")
        print(f"{version}: {t_zz:.3f} s  {n / t_zz:,.0f} files/s")
        print(f"ratio: ringfence is {t_zz / t_rf:.1f}x zizmor's throughput")


if __name__ == "__main__":
    main()
