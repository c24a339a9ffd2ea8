#!/usr/bin/python3
"""The PETSc side of the Poisson benchmark: the identical cell-centred FD matrix (homogeneous
Dirichlet through the ghost value u_g = -u_c, so boundary faces add 2/h² to the diagonal),
f ≡ 1, zero initial guess, CG to a relative unpreconditioned residual of 1e-8 with one of
  asm    symmetric PCASM (basic, overlap 1, BLOCKS blocks in total, Cholesky per block);
  hypre  hypre BoomerAMG with PETSc's defaults (-pc_type hypre -pc_hypre_type boomeramg);
  gamg   PETSc's GAMG with its defaults (smoothed aggregation; the constant near-null space,
         which is the right one for Poisson).
Further PETSc options can be given through the PETSC_OPTIONS environment variable (e.g.
PETSC_OPTIONS="-pc_hypre_boomeramg_strong_threshold 0.5"); they are recorded in the report, as
is the preconditioner's -pc_view, so the options actually used (PETSc's defaults included) can be
read back. The report (rank 0 writes it) holds iterations, convergence reason, the true relative
residual ‖b − Ax‖/‖b‖, assembly, set-up (KSPSetUp and PCSetUpOnBlocks: PCSetUp with PCASM's
block factorizations), solve and total (set-up + solve) seconds and the peak resident memory
(MiB, the largest over the ranks).

Usage: mpirun -np 2 /usr/bin/python3 petsc_poisson.py 2d|3d N asm BLOCKS OUT.json
       mpirun -np 2 /usr/bin/python3 petsc_poisson.py 2d|3d N hypre|gamg OUT.json
       mpirun -np 2 /usr/bin/python3 petsc_poisson.py 2d|3d N BLOCKS OUT.json   (= asm BLOCKS)
"""
import json
import os
import resource
import sys
import tempfile
import time

import numpy as np
import petsc4py

petsc4py.init(sys.argv[:1])
from petsc4py import PETSc  # noqa: E402

args = sys.argv[1:]
if len(args) == 4 and args[2].isdigit():  # the old form: 2d|3d N BLOCKS OUT.json
    args = args[:2] + ["asm"] + args[2:]
if len(args) < 4 or args[2] not in ("asm", "hypre", "gamg") or len(args) != (5 if args[2] == "asm" else 4):
    sys.exit(__doc__)
dim, n, pc_name, out = args[0], int(args[1]), args[2], args[-1]
blocks = int(args[3]) if pc_name == "asm" else None
shape = (n, n) if dim == "2d" else (n, n, n)
N = int(np.prod(shape))
comm = PETSc.COMM_WORLD
t0 = time.perf_counter()
rank, size = comm.getRank(), comm.getSize()
lo, hi = N * rank // size, N * (rank + 1) // size
ids = np.arange(lo, hi)
coords = np.unravel_index(ids, shape[::-1])[::-1]  # x fastest, as ddkit numbers cells
h2 = float(n * n)
cols, vals = [], []
diag = np.zeros(len(ids))
for axis in range(len(shape)):
    stride = int(np.prod(shape[:axis]))
    for side in (-1, 1):
        c = coords[axis] + side
        inside = (c >= 0) & (c < shape[axis])
        diag += np.where(inside, h2, 2 * h2)
        cols.append(np.where(inside, ids + side * stride, -1))
        vals.append(np.full(len(ids), -h2))
cols.append(ids)
vals.append(diag)
C = np.stack(cols, axis=1)
V = np.stack(vals, axis=1)
order = np.argsort(np.where(C < 0, np.iinfo(np.int64).max, C), axis=1)
C = np.take_along_axis(C, order, axis=1)
V = np.take_along_axis(V, order, axis=1)
keep = C >= 0
indptr = np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype(PETSc.IntType)
A = PETSc.Mat().createAIJ(size=((hi - lo, N), (hi - lo, N)), csr=(indptr, C[keep].astype(PETSc.IntType), V[keep]), comm=comm)
A.assemble()
b = A.createVecLeft()
b.set(1.0)
x = A.createVecRight()
x.set(0.0)
ksp = PETSc.KSP().create(comm)
ksp.setOperators(A)
ksp.setType("cg")
ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
ksp.setTolerances(rtol=1e-8, max_it=10000)
pc = ksp.getPC()
opts = PETSc.Options()
if pc_name == "asm":
    pc.setType("asm")
    pc.setASMType(PETSc.PC.ASMType.BASIC)
    pc.setASMOverlap(1)
    pc.setASMTotalSubdomains(blocks)
    opts["sub_pc_type"] = "cholesky"
    opts["sub_ksp_type"] = "preonly"
elif pc_name == "hypre":
    pc.setType("hypre")
    pc.setHYPREType("boomeramg")
else:
    pc.setType("gamg")
ksp.setFromOptions()
comm.barrier()
t1 = time.perf_counter()
ksp.setUp()
pc.setUpOnBlocks()  # PCASM's block factorizations, which KSPSolve would otherwise do first
t2 = time.perf_counter()
ksp.solve(b, x)
t3 = time.perf_counter()
# The true relative residual, whatever norm the KSP monitored.
res = b.duplicate()
A.mult(x, res)
res.aypx(-1.0, b)
true_rel = res.norm() / b.norm()
# Peak resident memory, the largest over the ranks (no mpi4py here: reduced through a Vec).
peak_v = PETSc.Vec().createMPI((1, None), comm=comm)
peak_v.setValue(rank, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
peak_v.assemble()
peak = peak_v.max()[1]
# The preconditioner as PETSc reports it (-pc_view), for the options actually used.
view_path = out + ".pcview.tmp"
viewer = PETSc.Viewer().createASCII(view_path, comm=comm)
pc.view(viewer)
viewer.destroy()
r = {"pc": pc_name, "dim": dim, "n": n, "ranks": size, "blocks": blocks,
     "ksp_type": ksp.getType(), "pc_type": pc.getType(),
     "norm_type": {v: k for k, v in vars(PETSc.KSP.NormType).items() if k.isupper()}.get(ksp.getNormType()),
     "rtol": ksp.getTolerances()[0],
     "petsc_options": os.environ.get("PETSC_OPTIONS", ""), "options": opts.getAll(),
     "iterations": ksp.getIterationNumber(), "reason": int(ksp.getConvergedReason()),
     "true_relative_residual": true_rel,
     "assembly": t1 - t0, "setup": t2 - t1, "solve": t3 - t2, "total": t3 - t1, "peak_mib": peak}
if rank == 0:
    r["pc_view"] = open(view_path).read().splitlines()
    os.remove(view_path)
    json.dump(r, open(out, "w"), indent=1)
    print(f"petsc {dim} {n} {pc_name}" + (f" blocks {blocks}" if blocks else "") + ": "
          + str({k: r[k] for k in ("iterations", "reason", "true_relative_residual", "setup", "solve", "total", "peak_mib")}))
