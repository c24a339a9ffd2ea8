#!/usr/bin/python3
"""Prints the Poisson benchmark tables (markdown) from the JSON reports in DIR.

Reports: ddkit's (`ddkit poisson --report`, any file name; the solver, ranks, subdomains, split
and coarse dimension are read from the report) and petsc_poisson.py's, named
petsc-PC_DIM_npNP[_nBLOCKS].json (older petsc_DIM_npNP_nBLOCKS.json: PCASM). Times: ddkit's
set-up is its problem set-up plus the preconditioner set-up (wall.setup + wall.pc_setup), PETSc's
is KSPSetUp (the matrix assembly is not counted); total = set-up + solve.

A second table gives the targets for the two-level rows on each problem: the best PETSc PCASM
total divided by five, and 1.5 × the PETSc hypre BoomerAMG total, with each ddkit two-level row's
total as a ratio of them (at most 1 meets the target).
"""
import glob
import json
import os
import sys

PETSC_CODES = {"asm": "PETSc PCASM", "hypre": "PETSc hypre BoomerAMG", "gamg": "PETSc GAMG"}
ORDER = ["ddkit cg-asm", "ddkit cg-nicolaides", "ddkit cg-gdsw", "ddkit cg-geneo", "ddkit feti-1",
         "ddkit feti-dp", "ddkit bddc", "PETSc PCASM",
         "PETSc hypre BoomerAMG", "PETSc GAMG"]


def petsc_row(name, r):
    prefix, dim, np_, *rest = name.split("_")
    pc = r.get("pc", prefix[len("petsc-"):] if prefix.startswith("petsc-") else "asm")
    blocks = r.get("blocks") or (int(rest[0][1:]) if rest else None)
    return {"dim": r.get("dim", dim), "ranks": r.get("ranks", int(np_[2:])),
            "subdomains": blocks if pc == "asm" else None, "code": PETSC_CODES[pc], "split": None,
            "coarse": None, "iterations": r["iterations"], "setup": r["setup"], "solve": r["solve"],
            "peak": r.get("peak_mib", 0.0), "two_level": False}


def flat_solver(s):
    """The report's solver tree as the flat keys of older reports (benchmarks/results keeps both)."""
    if "pc" not in s or not isinstance(s["pc"], dict):
        return s
    pc = s["pc"]
    return {"krylov": s["krylov"]["method"], "subdomains-per-rank": pc["subdomains-per-rank"],
            "subdomain-split": pc["subdomain-split"], "coarse": pc["coarse"]["space"]}


def ddkit_row(r):
    if r["solver"].get("family") == "feti":
        s, w = r["solver"], r["wall"]
        return {"dim": f"{len(r['mesh'].split('x'))}d", "ranks": r["ranks"],
                "subdomains": r["ranks"] * s["pc"]["subdomains-per-rank"],
                "code": f"ddkit {s['feti']['method']}", "split": s["pc"]["subdomain-split"],
                "coarse": r.get("coarse_dimension"), "iterations": r["stats"]["iterations"],
                "setup": w["setup"] + w["pc_setup"], "solve": w["solve"],
                "peak": r["peak_memory_mib_per_rank"], "two_level": True,
                "converged": r["stats"]["reason"] == "converged"}
    s, w = flat_solver(r["solver"]), r["wall"]
    coarse = s.get("coarse", "none")
    method = "asm" if coarse == "none" else coarse
    return {"dim": f"{len(r['mesh'].split('x'))}d", "ranks": r["ranks"],
            "subdomains": r["ranks"] * s["subdomains-per-rank"], "code": f"ddkit {s['krylov']}-{method}",
            "split": s.get("subdomain-split") if coarse != "none" else None,
            "coarse": r.get("coarse_dimension"), "iterations": r["stats"]["iterations"],
            "setup": w["setup"] + w["pc_setup"], "solve": w["solve"],
            "peak": r["peak_memory_mib_per_rank"], "two_level": coarse != "none",
            "converged": r["stats"]["reason"] == "converged"}


rows = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    name = os.path.basename(path)[:-5]
    r = json.load(open(path))
    row = ddkit_row(r) if "problem" in r else petsc_row(name, r)
    row["total"] = row["setup"] + row["solve"]
    rows.append(row)
rows.sort(key=lambda x: (x["dim"], x["ranks"], ORDER.index(x["code"]) if x["code"] in ORDER else 99,
                         x["subdomains"] or 0, {"metis": 0, "contiguous": 1}.get(x["split"], -1)))


def opt(v):
    return "–" if v is None else str(v)


def code(row):
    return row["code"] + (f" ({row['split']} split)" if row["split"] else "")


print("| problem | ranks | subdomains | code | coarse dim | iterations | set-up s | solve s | total s | peak MiB/rank |")
print("|---|---|---|---|---|---|---|---|---|---|")
for x in rows:
    its = str(x["iterations"]) + ("" if x.get("converged", True) else " (not converged)")
    print(f"| {x['dim']} | {x['ranks']} | {opt(x['subdomains'])} | {code(x)} | {opt(x['coarse'])} | {its} | "
          f"{x['setup']:.2f} | {x['solve']:.2f} | {x['total']:.2f} | {x['peak']:.0f} |")

print()
print("Targets of the two-level rows: the best PETSc PCASM total / 5 and 1.5 × the PETSc hypre BoomerAMG total "
      "(ratio = ddkit total / target; at most 1 meets it).")
print()
print("| problem | ranks | subdomains | code | total s | vs PCASM / 5 | vs 1.5 × BoomerAMG |")
print("|---|---|---|---|---|---|---|")
for dim in sorted({x["dim"] for x in rows}):
    asm = [x["total"] for x in rows if x["dim"] == dim and x["code"] == "PETSc PCASM"]
    amg = [x["total"] for x in rows if x["dim"] == dim and x["code"] == "PETSc hypre BoomerAMG"]
    t_asm = min(asm) / 5 if asm else None
    t_amg = 1.5 * min(amg) if amg else None
    print(f"| {dim} | | | target | | {'–' if t_asm is None else f'{t_asm:.2f} s'} | "
          f"{'–' if t_amg is None else f'{t_amg:.2f} s'} |")
    for x in rows:
        if x["dim"] != dim or not x["two_level"]:
            continue
        ra = "–" if t_asm is None else f"{x['total'] / t_asm:.2f}"
        rb = "–" if t_amg is None else f"{x['total'] / t_amg:.2f}"
        print(f"| {dim} | {x['ranks']} | {x['subdomains']} | {code(x)} | {x['total']:.2f} | {ra} | {rb} |")
