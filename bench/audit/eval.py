#!/usr/bin/env python3
"""Precision and recall per category of `ringfence audit` on corpus/agent/ against labels.txt.

Usage: eval.py RINGFENCE_BIN [--details] [--new]

--new scores corpus/agent-new/ against labels-new.txt (the part added for issue 18) instead.
"""
import json, os, subprocess, sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
CATS = ["trigger", "injection", "tools", "secrets", "egress", "permissions", "supply-chain", "budget"]


def main():
    bin_, details = sys.argv[1], "--details" in sys.argv
    new = "--new" in sys.argv
    corpus = os.path.join(HERE, "corpus", "agent-new" if new else "agent")
    files = sorted(f for f in os.listdir(corpus) if f.endswith((".yml", ".yaml")))
    want = set()
    for line in open(os.path.join(HERE, "labels-new.txt" if new else "labels.txt")):
        if line.strip() and not line.startswith("#"):
            f, rule, at = line.split()
            want.add((f, rule, at))
    got, cat_of = set(), {}
    for f in files:
        out = subprocess.run([bin_, "audit", "--no-config", "--format", "json", os.path.join(corpus, f)],
                             capture_output=True, text=True).stdout
        for x in json.loads(out)["findings"]:
            got.add((f, x["rule"], str(x["line"])))
            cat_of[x["rule"]] = x["category"]
    listed = subprocess.run([bin_, "audit", "--list-rules"], capture_output=True, text=True).stdout
    for line in listed.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            cat_of[parts[0]] = parts[1]
    rows = defaultdict(lambda: [0, 0, 0])
    for k in got | want:
        cat = cat_of.get(k[1], "?")
        i = 0 if k in got and k in want else (1 if k in got else 2)
        rows[cat][i] += 1
        if details and i:
            print(("FP " if i == 1 else "FN ") + " ".join(k))
    print(f"files: {len(files)}, repositories: {len({f.split('__')[0] + '/' + f.split('__')[1] for f in files})}")
    print("| category | TP | FP | FN | precision | recall |\n|---|---|---|---|---|---|")
    tot = [0, 0, 0]
    for c in CATS + ["all"]:
        tp, fp, fn = tot if c == "all" else rows[c]
        if c != "all":
            tot = [a + b for a, b in zip(tot, rows[c])]
        p = f"{tp / (tp + fp):.2f}" if tp + fp else "–"
        r = f"{tp / (tp + fn):.2f}" if tp + fn else "–"
        print(f"| {c} | {tp} | {fp} | {fn} | {p} | {r} |")


if __name__ == "__main__":
    main()
