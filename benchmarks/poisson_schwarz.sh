#!/usr/bin/env bash
# Poisson benchmark of the solver core (README "Benchmark: Poisson with one-level Schwarz"):
# 2D 1024² and 3D 100³ cell-centred FD (1M unknowns), homogeneous Dirichlet, f ≡ 1, zero initial
# guess, CG + additive Schwarz (overlap 1, exact sparse Cholesky per subdomain) to a relative
# residual of 1e-8, with 16 and 64 subdomains in total on 1 and 2 ranks. Writes one JSON report
# per run to benchmarks/results/poisson/ and prints the table. When Debian's python3-petsc4py is
# installed (and SKIP_PETSC is unset), the same problems are also run with PETSc
# (benchmarks/petsc_poisson.py, 2 ranks).
# As root: export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release
out=benchmarks/results/poisson
mkdir -p "$out"
for case in "2d:1024x1024" "3d:100x100x100"; do
  name=${case%%:*}; grid=${case#*:}
  for np in ${NPS:-1 2}; do
    for total in 16 64; do
      spr=$((total / np))
      echo "== $name np=$np subdomains=$total"
      mpirun -np "$np" --bind-to core target/release/ddkit poisson --grid "$grid" --exact none \
        --solver cg-asm --subdomains-per-rank "$spr" --report "$out/${name}_np${np}_n${total}.json" 2>&1 | grep -v INFO
    done
  done
done
# Debian's petsc4py finds PETSc through PETSC_DIR.
export PETSC_DIR=${PETSC_DIR:-/usr/lib/petscdir/petsc3.18/x86_64-linux-gnu-real}
if [ -z "${SKIP_PETSC:-}" ] && /usr/bin/python3 -c "import petsc4py" 2>/dev/null; then
  for case in "2d:1024" "3d:100"; do
    for blocks in 16 64; do
      echo "== PETSc ${case%%:*} blocks=$blocks"
      mpirun -np 2 --bind-to core /usr/bin/python3 benchmarks/petsc_poisson.py "${case%%:*}" "${case#*:}" "$blocks" \
        "$out/petsc_${case%%:*}_np2_n${blocks}.json"
    done
  done
fi
/usr/bin/python3 benchmarks/poisson_table.py "$out"
