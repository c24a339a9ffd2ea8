#!/usr/bin/env bash
# Coarse-space study (README "Benchmark: two-level Schwarz"): P1 Poisson, f ≡ 1, zero initial
# guess, CG to a relative residual of 1e-8, overlap 1, METIS split, 2 ranks, fixed subdomain size
# (16 × 16 cells in 2D, 8 × 8 × 8 in 3D), for one-level ASM and the Nicolaides, GenEO and GDSW
# coarse spaces (balanced): 2D homogeneous and high-contrast (`--contrast 1e6`) with N = 4, 16, 64,
# 256 subdomains, and a 3D homogeneous row with N = 8, 64. One JSON report per run goes to
# benchmarks/results/coarse/; then target/release/examples/coarse_plot writes study.csv and
# coarse_study.png there.
# As root: export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bins --examples
out=benchmarks/results/coarse
mkdir -p "$out"
run() { # problem N grid per-rank extra...
  local problem=$1 n=$2 grid=$3 spr=$4; shift 4
  for solver in cg-asm cg-nicolaides cg-geneo cg-gdsw; do
    echo "== $problem N=$n $solver"
    mpirun -np 2 --bind-to core target/release/ddkit poisson --grid "$grid" --discretization p1 --exact none \
      --solver "$solver" --subdomains-per-rank "$spr" --report "$out/${problem}_${solver}_N${n}.json" "$@" 2>&1 | grep -v INFO
  done
}
for n in 4 16 64 256; do
  side=$((16 * $(python3 -c "print(int($n ** 0.5))")))
  run 2d-homogeneous "$n" "${side}x${side}" $((n / 2)) --contrast 1
  run 2d-contrast-1e6 "$n" "${side}x${side}" $((n / 2)) --contrast 1e6
done
run 3d-homogeneous 8 16x16x16 4
run 3d-homogeneous 64 32x32x32 32
target/release/examples/coarse_plot "$out"
