#!/usr/bin/env bash
# Poisson benchmark of the solver core (README "Benchmark: Poisson with one-level Schwarz"):
# 2D 1024² and 3D 100³ cell-centred FD (1M unknowns), homogeneous Dirichlet, f ≡ 1, zero initial
# guess, CG to a relative residual of 1e-8, one JSON report per run in benchmarks/results/poisson/,
# then the table (poisson_table.py). Three groups of rows:
#  - one level: CG + additive Schwarz (overlap 1, exact sparse Cholesky per subdomain), 16 and 64
#    subdomains in total on 1 and 2 ranks (reports DIM_npNP_nN.json);
#  - two levels, 2 ranks: cg-gdsw, cg-nicolaides and cg-geneo (balanced), and the substructuring
#    presets feti1, feti-dp and bddc (on the algebraic splitting of the FD matrix), with 64 and 256
#    subdomains, METIS subdomain split (reports SOLVER_DIM_np2_nN_SPLIT.json); GenEO with
#    GENEO_ARGS (default --geneo-threshold 0.1: the preset's τ = 0.5 keeps 21–59 vectors per
#    subdomain of 64² cells, 11048 in all, and its eigensolves take a minute); a configuration
#    that ddkit refuses (e.g. a coarse dimension above the redundant coarse solve's limit) prints
#    a note and the script goes on;
#  - PETSc 3.18 on 2 ranks, when Debian's python3-petsc4py is installed (benchmarks/petsc_poisson.py
#    on the same matrix): CG + PCASM with 16 and 64 blocks (petsc-asm_DIM_np2_nN.json), CG + hypre
#    BoomerAMG (petsc-hypre_DIM_np2.json) and CG + GAMG (petsc-gamg_DIM_np2.json), PETSc defaults.
# Environment (all optional):
#   CASES="2d 3d"   problems to run;  N2D=1024, N3D=100: cells per side (small for a quick check)
#   OUT=benchmarks/results/poisson   report directory (e.g. OUT=/tmp/poisson for a quick check)
#   NPS="1 2"       ranks of the one-level rows;  ONE_LEVEL_N="16 64": their subdomain counts
#   TWO_LEVEL="cg-gdsw cg-nicolaides cg-geneo feti1 feti-dp bddc"   two-level presets
#   TWO_LEVEL_N2D="64 256", TWO_LEVEL_N3D="64 256": their subdomain counts (total, on 2 ranks)
#   SPLITS="metis"  their --subdomain-split values (contiguous: strips / slabs, more iterations)
#   GENEO_ARGS="--geneo-threshold 0.1"   extra flags of the cg-geneo runs
#   FETI_ARGS="--rtol 1e-11"   extra flags of the feti1 / feti-dp runs (their CG stops on the dual
#   residual: 1e-11 brings the true residual of the recovered solution below 1e-8 on both problems)
#   PETSC_PCS="asm hypre gamg"  PETSc rows;  PETSC_BLOCKS="16 64": PCASM block counts
#   SKIP_ONE_LEVEL, SKIP_TWO_LEVEL, SKIP_PETSC: set (non-empty) to skip that group; e.g. only the
#   two-level and AMG rows: SKIP_ONE_LEVEL=1 PETSC_PCS="hypre gamg" benchmarks/poisson_schwarz.sh
#   SKIP_BUILD: set to skip `cargo build --release`.
# As root: export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${SKIP_BUILD:-}" ] || cargo build --release
out=${OUT:-benchmarks/results/poisson}
mkdir -p "$out"
n2d=${N2D:-1024}; n3d=${N3D:-100}
grid_of() { if [ "$1" = 2d ]; then echo "${n2d}x${n2d}"; else echo "${n3d}x${n3d}x${n3d}"; fi; }
side_of() { if [ "$1" = 2d ]; then echo "$n2d"; else echo "$n3d"; fi; }
ddkit() { # np report args...: one ddkit poisson run (fails, through pipefail, when ddkit fails)
  local np=$1 report=$2; shift 2
  mpirun -np "$np" --bind-to core target/release/ddkit poisson --exact none --report "$report" "$@" 2>&1 | grep -v INFO
}
for dim in ${CASES:-2d 3d}; do
  grid=$(grid_of "$dim")
  if [ -z "${SKIP_ONE_LEVEL:-}" ]; then
    for np in ${NPS:-1 2}; do
      for total in ${ONE_LEVEL_N:-16 64}; do
        echo "== $dim np=$np subdomains=$total cg-asm"
        ddkit "$np" "$out/${dim}_np${np}_n${total}.json" --grid "$grid" --solver cg-asm \
          --subdomains-per-rank $((total / np))
      done
    done
  fi
  if [ -z "${SKIP_TWO_LEVEL:-}" ]; then
    if [ "$dim" = 2d ]; then counts=${TWO_LEVEL_N2D:-64 256}; else counts=${TWO_LEVEL_N3D:-64 256}; fi
    for solver in ${TWO_LEVEL:-cg-gdsw cg-nicolaides cg-geneo feti1 feti-dp bddc}; do
      for total in $counts; do
        for split in ${SPLITS:-metis}; do
          echo "== $dim np=2 subdomains=$total $solver split=$split"
          report="$out/${solver}_${dim}_np2_n${total}_${split}.json"
          rm -f "$report"
          extra=()
          [ "$solver" = cg-geneo ] && read -r -a extra <<<"${GENEO_ARGS:---geneo-threshold 0.1}"
          [[ "$solver" = feti* ]] && read -r -a extra <<<"${FETI_ARGS:---rtol 1e-11}"
          if ! ddkit 2 "$report" --grid "$grid" --solver "$solver" --subdomains-per-rank $((total / 2)) \
            --subdomain-split "$split" "${extra[@]}"; then
            echo "note: $solver on $dim with $total subdomains ($split split) failed or was refused (see above); going on"
          fi
        done
      done
    done
  fi
done
# Debian's petsc4py finds PETSc through PETSC_DIR.
export PETSC_DIR=${PETSC_DIR:-/usr/lib/petscdir/petsc3.18/x86_64-linux-gnu-real}
if [ -z "${SKIP_PETSC:-}" ] && /usr/bin/python3 -c "import petsc4py" 2>/dev/null; then
  for dim in ${CASES:-2d 3d}; do
    for pc in ${PETSC_PCS:-asm hypre gamg}; do
      if [ "$pc" = asm ]; then
        for blocks in ${PETSC_BLOCKS:-16 64}; do
          echo "== PETSc $dim np=2 PCASM blocks=$blocks"
          mpirun -np 2 --bind-to core /usr/bin/python3 benchmarks/petsc_poisson.py "$dim" "$(side_of "$dim")" asm "$blocks" \
            "$out/petsc-asm_${dim}_np2_n${blocks}.json"
        done
      else
        echo "== PETSc $dim np=2 $pc"
        mpirun -np 2 --bind-to core /usr/bin/python3 benchmarks/petsc_poisson.py "$dim" "$(side_of "$dim")" "$pc" \
          "$out/petsc-${pc}_${dim}_np2.json"
      fi
    done
  done
fi
/usr/bin/python3 benchmarks/poisson_table.py "$out"
