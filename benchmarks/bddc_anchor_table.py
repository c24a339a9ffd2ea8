#!/usr/bin/python3
"""The table of benchmarks/bddc_anchor.sh: per problem and code, the median (by total) of the
runs' reports in DIR, with all totals. Set-up: ddkit's preconditioner set-up (decomposition,
algebraic split, factorizations, primal problem; the problem set-up — partition and assembly —
is left out, as PETSc's assembly is), PETSc's MATIS subassembly plus KSPSetUp; total = set-up +
solve.

Usage: bddc_anchor_table.py DIR
"""
import glob
import json
import os
import statistics
import sys

if len(sys.argv) != 2:
    sys.exit(__doc__)
groups = {}
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    name = os.path.basename(path).rsplit("_r", 1)[0]
    r = json.load(open(path))
    if "wall" in r:  # ddkit
        w = r["wall"]
        row = {"iterations": r["stats"]["iterations"], "condition": r["stats"].get("condition_estimate"),
               "coarse": r.get("coarse_dimension"), "setup": w["pc_setup"], "solve": w["solve"],
               "residual": r["true_relative_residual"], "peak": r["peak_memory_mib_per_rank"]}
    else:
        coarse = [line for line in r.get("pc_view", []) if "Global dofs sizes" in line]
        row = {"iterations": r["iterations"], "condition": None,
               "coarse": int(coarse[0].split("coarse")[-1]) if coarse else None,
               "setup": r["setup"], "solve": r["solve"], "residual": r["true_relative_residual"],
               "peak": r["peak_mib"]}
    row["total"] = row["setup"] + row["solve"]
    groups.setdefault(name, []).append(row)
print("| run | coarse dim | iterations | condition estimate | set-up s | solve s | total s (runs) | true residual | peak MiB/process |")
print("|---|---|---|---|---|---|---|---|---|")
for name, rows in groups.items():
    rows.sort(key=lambda x: x["total"])
    m = rows[(len(rows) - 1) // 2] if len(rows) % 2 else rows[len(rows) // 2 - 1]
    runs = " / ".join(f"{x['total']:.2f}" for x in rows)
    cond = "–" if m["condition"] is None else f"{m['condition']:.1f}"
    print(f"| {name} | {m['coarse']} | {m['iterations']} | {cond} | {m['setup']:.2f} | {m['solve']:.2f} | "
          f"{m['total']:.2f} ({runs}) | {m['residual']:.1e} | {m['peak']:.0f} |")
