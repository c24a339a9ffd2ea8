#!/usr/bin/env bash
# Coarse-space study (README "Benchmark: two-level Schwarz"): P1 Poisson, f ≡ 1, zero initial
# guess, CG to a relative residual of 1e-8, overlap 1, METIS split, 2 ranks, fixed subdomain size
# (16 × 16 cells in 2D, 8 × 8 × 8 in 3D, about 300 vertices on the Gmsh meshes), for one-level ASM
# and the Nicolaides, GenEO and GDSW coarse spaces (balanced), and the substructuring presets
# feti1 and feti-dp (their dual CG stops at a dual residual of 1e-8) and bddc on the same
# subdomains, FETI-DP and BDDC also with deluxe scaling (feti-dp-deluxe, bddc-deluxe):
# - structured: 2D homogeneous and high-contrast (`--contrast 1e6`) with N = 4, 16, 64, 256;
# - gmsh: meshes/contrast_square.geo (five channels and sixteen disk inclusions as regions)
#   meshed with h = 1/32, 1/64, 1/128, 1/256 for N = 4, 16, 64, 256, homogeneous and with
#   `--kappa-region channels=1e6 --kappa-region inclusions=1e6`; the meshes are generated into
#   target/coarse_meshes (about 10 MB, so not under results/);
# - 3d: 3D homogeneous with N = 8, 64.
# Usage: [SOLVERS="feti1 feti-dp"] coarse_study.sh [structured] [gmsh] [3d]   (no argument: all
# three; SOLVERS: the presets to run, NAME-deluxe for a FETI preset with deluxe scaling;
# default all nine). One JSON report per
# run goes to benchmarks/results/coarse/; then target/release/examples/coarse_plot writes
# study.csv and coarse_study.png there from every report in that directory, so a subset can be
# rerun without touching the others' reports.
# As root: export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.
set -euo pipefail
cd "$(dirname "$0")/.."
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(structured gmsh 3d)
for p in "${parts[@]}"; do
  case $p in structured | gmsh | 3d) ;; *)
    echo "coarse_study.sh: unknown part '$p' (structured, gmsh, 3d)" >&2
    exit 2
    ;;
  esac
done
want() { [[ " ${parts[*]} " == *" $1 "* ]]; }
cargo build --release --bins --examples
out=benchmarks/results/coarse
mkdir -p "$out"
run() { # problem N per-rank ddkit-arguments...
  local problem=$1 n=$2 spr=$3; shift 3
  for entry in ${SOLVERS:-cg-asm cg-nicolaides cg-geneo cg-gdsw feti1 feti-dp bddc feti-dp-deluxe bddc-deluxe}; do
    # NAME-deluxe: the preset NAME with deluxe scaling.
    local solver=${entry%-deluxe} scaling=()
    [ "$solver" != "$entry" ] && scaling=(--feti-scaling deluxe)
    echo "== $problem N=$n $entry"
    mpirun -np 2 --bind-to core target/release/ddkit poisson --discretization p1 --exact none \
      --solver "$solver" "${scaling[@]}" --subdomains-per-rank "$spr" \
      --report "$out/${problem}_${entry}_N${n}.json" "$@" 2>&1 | grep -v INFO
  done
}
if want structured; then
  for n in 4 16 64 256; do
    side=$((16 * $(python3 -c "print(int($n ** 0.5))")))
    run 2d-homogeneous "$n" $((n / 2)) --grid "${side}x${side}" --contrast 1
    run 2d-contrast-1e6 "$n" $((n / 2)) --grid "${side}x${side}" --contrast 1e6
  done
fi
if want gmsh; then
  meshes=target/coarse_meshes
  mkdir -p "$meshes"
  for n in 4 16 64 256; do
    # h halves as N quadruples, so the subdomains keep their size (fixed-size scaling).
    h=$(python3 -c "print(1 / (16 * int($n ** 0.5)))")
    msh="$meshes/contrast_square_h${h}.msh"
    if [ ! -s "$msh" ]; then
      # gmsh exits 0 after errors in a .geo file, so its log is checked as well.
      gmsh -2 meshes/contrast_square.geo -setnumber h "$h" -format msh41 -o "$msh" >"$msh.log" 2>&1 &&
        ! grep -q '^Error' "$msh.log" || {
        cat "$msh.log" >&2
        rm -f "$msh"
        exit 1
      }
    fi
    run 2d-gmsh-homogeneous "$n" $((n / 2)) --mesh "$msh"
    run 2d-gmsh-contrast-1e6 "$n" $((n / 2)) --mesh "$msh" --kappa-region channels=1e6 --kappa-region inclusions=1e6
  done
fi
if want 3d; then
  run 3d-homogeneous 8 4 --grid 16x16x16
  run 3d-homogeneous 64 32 --grid 32x32x32
fi
target/release/examples/coarse_plot "$out"
