#!/usr/bin/env bash
# PETSc's PCBDDC as an anchor for ddkit's FETI-DP and BDDC (README "FETI rows"): the 1M-unknown
# FD Poisson problems of poisson_schwarz.sh (2D 1024², 3D 100³, f ≡ 1, CG to 1e-8) with 64
# subdomains. PETSc 3.18's MATIS holds one subdomain per process, so both codes run 64 MPI
# processes, one subdomain each (oversubscribed: on a 2-core machine each process gets 1/32 of a
# core, the same for both). Rows, REPS times each, interleaved:
#  - ddkit bddc and feti-dp (FETI's dual rtol 1e-11, as in poisson_schwarz.sh), stiffness
#    scaling, METIS split of the cells, the FD matrix split algebraically; ddkit bddc with
#    --feti-scaling deluxe, exact and economic (--feti-deluxe-layers 4);
#  - PETSc PCBDDC (benchmarks/petsc_poisson.py bddc: boxes of cells, PETSc's defaults, vertices
#    and edges primal, PETSc's own sparse LU for the local solves; MUMPS instead was 29× slower
#    in 2D here, 64 oversubscribed processes) and, once, with -pc_bddc_use_deluxe_scaling.
# Reports go to benchmarks/results/bddc_anchor/ (NAME_DIM_rREP.json); the table (medians) is
# printed by benchmarks/bddc_anchor_table.py.
# Environment: CASES="2d 3d", REPS=3, N2D=1024, N3D=100, OUT=benchmarks/results/bddc_anchor,
# DDKIT_RUNS="bddc feti-dp bddc-deluxe bddc-edeluxe" (a subset reruns those only), SKIP_PETSC=1
# (ddkit's rows only).
# As root: export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${SKIP_BUILD:-}" ] || cargo build --release
out=${OUT:-benchmarks/results/bddc_anchor}
mkdir -p "$out"
export PETSC_DIR=${PETSC_DIR:-/usr/lib/petscdir/petsc3.18/x86_64-linux-gnu-real}
/usr/bin/python3 -c "import petsc4py" || { echo "bddc_anchor.sh: needs Debian's python3-petsc4py" >&2; exit 1; }
np=64
for dim in ${CASES:-2d 3d}; do
  if [ "$dim" = 2d ]; then side=${N2D:-1024}; grid=${side}x${side}; else side=${N3D:-100}; grid=${side}x${side}x${side}; fi
  for rep in $(seq 1 "${REPS:-3}"); do
    for run in ${DDKIT_RUNS:-bddc feti-dp bddc-deluxe bddc-edeluxe}; do
      echo "== $dim rep $rep ddkit $run"
      case $run in
        bddc) args=(--solver bddc) ;;
        feti-dp) args=(--solver feti-dp --rtol 1e-11) ;;
        bddc-deluxe) args=(--solver bddc --feti-scaling deluxe) ;;
        bddc-edeluxe) args=(--solver bddc --feti-scaling deluxe --feti-deluxe-layers 4) ;;
      esac
      mpirun -np $np --oversubscribe target/release/ddkit poisson --exact none --grid "$grid" \
        --subdomains-per-rank 1 --report "$out/ddkit-${run}_${dim}_r${rep}.json" "${args[@]}" 2>&1 | grep -v INFO
    done
    [ -n "${SKIP_PETSC:-}" ] && continue
    echo "== $dim rep $rep PETSc bddc"
    mpirun -np $np --oversubscribe /usr/bin/python3 benchmarks/petsc_poisson.py "$dim" "$side" bddc $np \
      "$out/petsc-bddc_${dim}_r${rep}.json"
  done
  [ -n "${SKIP_PETSC:-}" ] && continue
  echo "== $dim PETSc bddc-deluxe"
  mpirun -np $np --oversubscribe /usr/bin/python3 benchmarks/petsc_poisson.py "$dim" "$side" bddc-deluxe $np \
    "$out/petsc-bddc-deluxe_${dim}_r1.json"
done
/usr/bin/python3 benchmarks/bddc_anchor_table.py "$out"
