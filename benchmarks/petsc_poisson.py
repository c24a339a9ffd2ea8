#!/usr/bin/python3
"""The PETSc side of the Poisson benchmark: the identical cell-centred FD matrix (homogeneous
Dirichlet through the ghost value u_g = -u_c, so boundary faces add 2/h² to the diagonal),
f ≡ 1, zero initial guess, CG with symmetric PCASM (basic, overlap 1, K blocks, Cholesky per
block), relative unpreconditioned residual 1e-8.

Usage: mpirun -np 2 /usr/bin/python3 petsc_poisson.py 2d|3d N BLOCKS OUT.json
"""
import json
import resource
import sys
import time

import numpy as np
import petsc4py

petsc4py.init(sys.argv[:1])
from petsc4py import PETSc  # noqa: E402

dim, n, blocks, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
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
pc.setType("asm")
pc.setASMType(PETSc.PC.ASMType.BASIC)
pc.setASMOverlap(1)
pc.setASMTotalSubdomains(blocks)
opts = PETSc.Options()
opts["sub_pc_type"] = "cholesky"
opts["sub_ksp_type"] = "preonly"
ksp.setFromOptions()
comm.barrier()
t1 = time.perf_counter()
ksp.setUp()
t2 = time.perf_counter()
ksp.solve(b, x)
t3 = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
r = {"iterations": ksp.getIterationNumber(), "reason": int(ksp.getConvergedReason()),
     "assembly": t1 - t0, "setup": t2 - t1, "solve": t3 - t2, "peak_mib": peak}
if rank == 0:
    json.dump(r, open(out, "w"), indent=1)
    print(f"petsc {dim} {n} blocks {blocks}: {r}")
