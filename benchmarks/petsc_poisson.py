#!/usr/bin/python3
"""The PETSc side of the Poisson benchmark: the identical cell-centred FD matrix (homogeneous
Dirichlet through the ghost value u_g = -u_c, so boundary faces add 2/h² to the diagonal),
f ≡ 1, zero initial guess, CG to a relative unpreconditioned residual of 1e-8 with one of
  asm    symmetric PCASM (basic, overlap 1, BLOCKS blocks in total, Cholesky per block);
  hypre  hypre BoomerAMG with PETSc's defaults (-pc_type hypre -pc_hypre_type boomeramg);
  gamg   PETSc's GAMG with its defaults (smoothed aggregation; the constant near-null space,
         which is the right one for Poisson);
  bddc   PCBDDC on a MATIS with the subdomains' Neumann matrices (PETSc's defaults: vertices
         and edges primal, exact local solves, redundant coarse solve); bddc-deluxe adds
         -pc_bddc_use_deluxe_scaling. PETSc 3.18's MATIS holds one local matrix per process and
         merges repeated local-to-global entries, so two subdomains cannot share a process: the
         run needs SUBDOMAINS = the number of processes (mpirun -np SUBDOMAINS, oversubscribed
         on a small machine). The subdomains are boxes of cells (SUBDOMAINS factored into powers
         of two over the axes); the FD matrix is the sum of one 2×2 element per face between two
         cells (h⁻² [[1, −1], [−1, 1]]) and the boundary faces' 2h⁻² on the diagonal; a face
         between two boxes belongs to the box of its lower cell, whose Neumann matrix then holds
         the other cell too (an interface one cell thick). The MATIS is checked to assemble to
         the AIJ matrix, and the true residual is measured with the AIJ matrix.
Further PETSc options can be given through the PETSC_OPTIONS environment variable (e.g.
PETSC_OPTIONS="-pc_hypre_boomeramg_strong_threshold 0.5"); they are recorded in the report, as
is the preconditioner's -pc_view, so the options actually used (PETSc's defaults included) can be
read back. The report (rank 0 writes it) holds iterations, convergence reason, the true relative
residual ‖b − Ax‖/‖b‖, assembly, set-up (KSPSetUp and PCSetUpOnBlocks: PCSetUp with PCASM's
block factorizations; for PCBDDC also the MATIS subassembly, as ddkit's set-up includes its
split into Neumann matrices), solve and total (set-up + solve) seconds and the peak resident memory
(MiB, the largest over the ranks).

Usage: mpirun -np 2 /usr/bin/python3 petsc_poisson.py 2d|3d N asm BLOCKS OUT.json
       mpirun -np 2 /usr/bin/python3 petsc_poisson.py 2d|3d N bddc|bddc-deluxe SUBDOMAINS OUT.json
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
counted = ("asm", "bddc", "bddc-deluxe")
if len(args) < 4 or args[2] not in counted + ("hypre", "gamg") or len(args) != (5 if args[2] in counted else 4):
    sys.exit(__doc__)
dim, n, pc_name, out = args[0], int(args[1]), args[2], args[-1]
blocks = int(args[3]) if pc_name in counted else None
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


def box_edges(subdomains):
    """Cell boundaries of the boxes along each axis: SUBDOMAINS split into factors of two, each
    given to the axis with the widest boxes."""
    parts = [1] * len(shape)
    left = subdomains
    while left > 1:
        if left % 2:
            sys.exit(f"bddc: {subdomains} subdomains is not a power of two")
        axis = max(range(len(shape)), key=lambda a: shape[a] / parts[a])
        parts[axis] *= 2
        left //= 2
    return [np.array([shape[a] * k // parts[a] for k in range(parts[a] + 1)]) for a in range(len(shape))], parts


def matis(subdomains):
    """The FD matrix as a MATIS: this rank's box's Neumann matrix as its local matrix (see the
    module documentation)."""
    if subdomains != size:
        sys.exit(f"bddc: {subdomains} subdomains need as many processes (mpirun -np {subdomains}), not {size}")
    edges, parts = box_edges(subdomains)
    first, last = subdomains * rank // size, subdomains * (rank + 1) // size
    l2g, rows, cols, vals = [], [], [], []
    offset = 0
    for sub in range(first, last):
        box = np.unravel_index(sub, parts[::-1])[::-1]
        ranges = [np.arange(edges[a][box[a]], edges[a][box[a] + 1]) for a in range(len(shape))]
        grid = np.meshgrid(*ranges, indexing="ij")
        c = [g.ravel() for g in grid]
        own = np.ravel_multi_index(c[::-1], shape[::-1])  # x fastest
        i_list, j_list, diag = [], [], np.zeros(len(own))
        for axis in range(len(shape)):
            stride = int(np.prod(shape[:axis]))
            # The face towards +axis of each cell not on the domain's upper side is held here,
            # also where the other cell lies in the next box (which then holds the faces
            # below its cells only through the box below: every face once).
            up = c[axis] + 1 < shape[axis]
            i_list.append(own[up])
            j_list.append(own[up] + stride)
            diag += 2 * h2 * ((c[axis] == 0).astype(float) + (c[axis] == shape[axis] - 1))
        i_all, j_all = np.concatenate(i_list), np.concatenate(j_list)
        dofs = np.unique(np.concatenate([own, j_all]))
        li, lj, lo_own = (np.searchsorted(dofs, x) + offset for x in (i_all, j_all, own))
        rows += [li, lj, li, lj, lo_own]
        cols += [li, lj, lj, li, lo_own]
        vals += [np.full(len(li), h2), np.full(len(li), h2), np.full(len(li), -h2), np.full(len(li), -h2), diag]
        l2g.append(dofs)
        offset += len(dofs)
    r, c_, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    key, inv = np.unique(r * offset + c_, return_inverse=True)
    v = np.bincount(inv, weights=v)
    r, c_ = key // offset, key % offset
    indptr = np.concatenate([[0], np.cumsum(np.bincount(r, minlength=offset))]).astype(PETSc.IntType)
    local = PETSc.Mat().createAIJ(size=(offset, offset), csr=(indptr, c_.astype(PETSc.IntType), v), comm=PETSc.COMM_SELF)
    local.assemble()
    lgmap = PETSc.LGMap().create(np.concatenate(l2g).astype(PETSc.IntType), comm=comm)
    m = PETSc.Mat().createIS(size=((hi - lo, N), (hi - lo, N)), lgmapr=lgmap, lgmapc=lgmap, comm=comm)
    m.setISLocalMat(local)
    m.assemble()
    return m, parts


operator, subassembly, box_parts = A, 0.0, None
if pc_name.startswith("bddc"):
    comm.barrier()
    t_sub = time.perf_counter()
    operator, box_parts = matis(blocks)
    comm.barrier()
    subassembly = time.perf_counter() - t_sub
    # The subassembled matrix must be the FD matrix itself.
    check = operator.convert("aij", PETSc.Mat())
    check.axpy(-1.0, A)
    if check.norm(PETSc.NormType.FROBENIUS) > 1e-12 * A.norm(PETSc.NormType.FROBENIUS):
        sys.exit("bddc: the MATIS does not assemble to the FD matrix")
    operator.setOption(PETSc.Mat.Option.SPD, True)
b = A.createVecLeft()
b.set(1.0)
x = A.createVecRight()
x.set(0.0)
ksp = PETSc.KSP().create(comm)
ksp.setOperators(operator)
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
elif pc_name.startswith("bddc"):
    pc.setType("bddc")
    # PCBDDC splits each glob into the connected components of the local matrix's graph by
    # default; in a box's Neumann matrix the other boxes' cells it holds are linked only to its
    # own cells, never to each other, so every interface cell would become a primal vertex
    # (coarse = interface, one iteration). Without the local graph a glob stays whole: vertices
    # and one edge (face) average per glob, as ddkit's FETI-DP / BDDC.
    opts["pc_bddc_use_local_mat_graph"] = False
    if pc_name == "bddc-deluxe":
        opts["pc_bddc_use_deluxe_scaling"] = True
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
r = {"pc": pc_name, "dim": dim, "n": n, "ranks": size, "blocks": blocks, "boxes": box_parts,
     "ksp_type": ksp.getType(), "pc_type": pc.getType(),
     "norm_type": {v: k for k, v in vars(PETSc.KSP.NormType).items() if k.isupper()}.get(ksp.getNormType()),
     "rtol": ksp.getTolerances()[0],
     "petsc_options": os.environ.get("PETSC_OPTIONS", ""), "options": opts.getAll(),
     "iterations": ksp.getIterationNumber(), "reason": int(ksp.getConvergedReason()),
     "true_relative_residual": true_rel,
     "assembly": t1 - t0 - subassembly, "setup": t2 - t1 + subassembly, "solve": t3 - t2,
     "total": t3 - t1 + subassembly, "peak_mib": peak}
if rank == 0:
    r["pc_view"] = open(view_path).read().splitlines()
    os.remove(view_path)
    json.dump(r, open(out, "w"), indent=1)
    print(f"petsc {dim} {n} {pc_name}" + (f" blocks {blocks}" if blocks else "") + ": "
          + str({k: r[k] for k in ("iterations", "reason", "true_relative_residual", "setup", "solve", "total", "peak_mib")}))
