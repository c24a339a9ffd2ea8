#!/usr/bin/python3
"""Prints the Poisson benchmark table (markdown) from the JSON reports in DIR."""
import glob
import json
import os
import sys

d = sys.argv[1]
rows = {}
for path in sorted(glob.glob(os.path.join(d, "*.json"))):
    r = json.load(open(path))
    name = os.path.basename(path)[:-5]
    rows[name] = r

print("| problem | ranks | subdomains | code | iterations | set-up s | solve s | total s | peak MiB/rank |")
print("|---|---|---|---|---|---|---|---|---|")
for name, r in sorted(rows.items()):
    if name.startswith("petsc_"):
        _, dim, np_, n = name.split("_")
        print(f"| {dim} | {np_[2:]} | {n[1:]} | PETSc 3.18 PCASM | {r['iterations']} | {r['setup']:.2f} | {r['solve']:.2f} | "
              f"{r['setup'] + r['solve']:.2f} | {r.get('peak_mib', 0):.0f} |")
    else:
        dim, np_, n = name.split("_")
        w = r["wall"]
        setup = w["setup"] + w["pc_setup"]
        print(f"| {dim} | {np_[2:]} | {n[1:]} | ddkit cg-asm | {r['stats']['iterations']} | {setup:.2f} | {w['solve']:.2f} | "
              f"{setup + w['solve']:.2f} | {r['peak_memory_mib_per_rank']:.0f} |")
