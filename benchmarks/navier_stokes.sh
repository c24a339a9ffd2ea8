#!/usr/bin/env bash
# Navier–Stokes validation and timing runs (README "Navier–Stokes"): the lid-driven cavity at
# Re = 100, 400, 1000 against Ghia et al.; DFG 2D-1 on three mesh levels; 2D-2 and 2D-3 on the
# default second-order mesh; 2D-3 on 1 and 2 ranks for the per-step costs. Results (reports,
# profiles, coefficient series) go to benchmarks/results/navier_stokes/; plots with
# `cargo run --release --example ns_plot`.
# Environment: DDKIT (binary), NP (ranks, default 2), CASES (subset: cavity dfg1 dfg2 dfg2fine dfg3 perf).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
DDKIT=${DDKIT:-target/release/ddkit}
NP=${NP:-2}
CASES=${CASES:-cavity dfg1 dfg2 dfg2fine dfg3 perf}
R=benchmarks/results/navier_stokes
mkdir -p "$R"
run() { # name np args...
  local name=$1 np=$2; shift 2
  mkdir -p "$R/$name"
  echo "== $name: mpirun -np $np ddkit navier-stokes $*"
  mpirun -np "$np" "$DDKIT" navier-stokes "$@" --out "$R/$name" --report "$R/$name/report.json" 2>&1 |
    grep -v '^ INFO step' | tail -12
}
for c in $CASES; do
  case $c in
  cavity)
    for re in 100 400 1000; do
      run "cavity_re$re" "$NP" --grid 64x64 --re "$re" --cfl 2 --steady-tol 1e-5 --t-end 200
    done ;;
  dfg1)
    # Levels: cylinder size hc and far field h halved together.
    for l in 1 2 3; do
      hc=$(python3 -c "print(0.016 / 2**($l - 1))"); h=$(python3 -c "print(0.08 / 2**($l - 1))")
      mkdir -p "$R/dfg1_l$l"
      gmsh -2 -order 2 meshes/dfg_channel.geo -setnumber hc "$hc" -setnumber h "$h" -format msh41 \
        -o "$R/dfg1_l$l/mesh.msh" >/dev/null
      run "dfg1_l$l" "$NP" --case cylinder --dfg 2d-1 --mesh "$R/dfg1_l$l/mesh.msh" --dt 0.05 --steady-tol 1e-8 --t-end 100
      rm -f "$R/dfg1_l$l/mesh.msh" "$R/dfg1_l$l"/*.h5
    done ;;
  dfg2) run dfg2 "$NP" --case cylinder --dfg 2d-2 --dt 0.005 --t-end 15 ;; # periodic from t ≈ 10
  dfg2fine) # 2D-2 on level 3 of dfg1 (hc = 0.004, h = 0.02): about 9 min on 2 ranks
    mkdir -p "$R/dfg2_l3"
    gmsh -2 -order 2 meshes/dfg_channel.geo -setnumber hc 0.004 -setnumber h 0.02 -format msh41 \
      -o "$R/dfg2_l3/mesh.msh" >/dev/null
    run dfg2_l3 "$NP" --case cylinder --dfg 2d-2 --mesh "$R/dfg2_l3/mesh.msh" --dt 0.005 --t-end 15
    rm -f "$R/dfg2_l3/mesh.msh" ;;
  dfg3) run dfg3 "$NP" --case cylinder --dfg 2d-3 --dt 0.005 --t-end 8 ;;
  perf)
    for np in 1 2; do run "perf_np$np" "$np" --case cylinder --dfg 2d-3 --dt 0.005 --t-end 8; done ;;
  esac
done
# The series files are large and reproducible: keep reports, profiles and coefficients only.
find "$R" -name '*.h5' -delete -o -name '*.xdmf' -delete
