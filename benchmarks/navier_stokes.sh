#!/usr/bin/env bash
# Navier–Stokes validation and timing runs (README "Navier–Stokes"): the lid-driven cavity at
# Re = 100, 400, 1000 against Ghia et al.; DFG 2D-1 on three mesh levels; 2D-2 and 2D-3 on the
# default second-order mesh at three time steps, both also on level 3; 2D-3 on 1 and 2 ranks
# for the per-step costs; the 3D Beltrami flow on three grids; DFG 3D-1Z on three tetrahedral
# mesh levels. Results (reports, profiles,
# coefficient series) go to benchmarks/results/navier_stokes/; plots with
# `cargo run --release --example ns_plot`.
# Environment: DDKIT (binary), NP (ranks, default 2), CASES (subset: cavity dfg1 dfg2 dfg2fine
# dfg3 dfg3fine perf beltrami dfg3d).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
DDKIT=${DDKIT:-target/release/ddkit}
NP=${NP:-2}
CASES=${CASES:-cavity dfg1 dfg2 dfg2fine dfg3 dfg3fine perf beltrami dfg3d}
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
  dfg2) # Time-step study on the shipped mesh (CFL about 5, 2.4, 1.2 at the cylinder's cells).
    for dt in 0.005 0.0025 0.00125; do
      run "dfg2_dt$dt" "$NP" --case cylinder --dfg 2d-2 --dt "$dt" --t-end 15 # periodic from t ≈ 5
    done ;;
  dfg2fine) # 2D-2 on level 3 of dfg1 (hc = 0.004, h = 0.02), Δt = 0.00125: about 15 min on 2 ranks
    mkdir -p "$R/dfg2_l3"
    gmsh -2 -order 2 meshes/dfg_channel.geo -setnumber hc 0.004 -setnumber h 0.02 -format msh41 \
      -o "$R/dfg2_l3/mesh.msh" >/dev/null
    run dfg2_l3 "$NP" --case cylinder --dfg 2d-2 --mesh "$R/dfg2_l3/mesh.msh" --dt 0.00125 --t-end 8
    rm -f "$R/dfg2_l3/mesh.msh" ;;
  dfg3)
    for dt in 0.005 0.0025 0.00125; do
      run "dfg3_dt$dt" "$NP" --case cylinder --dfg 2d-3 --dt "$dt" --t-end 8
    done ;;
  dfg3fine) # 2D-3 on level 3, Δt = 0.00125: about 12 min on 2 ranks
    mkdir -p "$R/dfg3_l3"
    gmsh -2 -order 2 meshes/dfg_channel.geo -setnumber hc 0.004 -setnumber h 0.02 -format msh41 \
      -o "$R/dfg3_l3/mesh.msh" >/dev/null
    run dfg3_l3 "$NP" --case cylinder --dfg 2d-3 --mesh "$R/dfg3_l3/mesh.msh" --dt 0.00125 --t-end 8
    rm -f "$R/dfg3_l3/mesh.msh" ;;
  beltrami) # 3D verification: the exact Beltrami flow, P2/P1 tetrahedra, 4³ → 16³ cells
    for n in 4 8 16; do
      run "beltrami_$n" "$NP" --case beltrami --grid "${n}x${n}x$n" --re 10 --dt 0.01 --t-end 0.05
    done ;;
  dfg3d) # 3D-1Z (steady, Re 20) on second-order tetrahedra: hc and h divided by 1.5 per level
    for l in 1 2 3; do
      hc=$(python3 -c "print(0.045 / 1.5**($l - 1))"); h=$(python3 -c "print(0.135 / 1.5**($l - 1))")
      mkdir -p "$R/dfg3d_l$l"
      gmsh -3 -order 2 meshes/dfg_channel3d.geo -setnumber hc "$hc" -setnumber h "$h" -format msh41 \
        -o "$R/dfg3d_l$l/mesh.msh" >/dev/null
      run "dfg3d_l$l" "$NP" --case cylinder --dfg 3d-1z --mesh "$R/dfg3d_l$l/mesh.msh" --dt 0.1 --steady-tol 1e-6 --t-end 100
      rm -f "$R/dfg3d_l$l/mesh.msh"
    done ;;
  perf)
    for np in 1 2; do run "perf_np$np" "$np" --case cylinder --dfg 2d-3 --dt 0.005 --t-end 8; done ;;
  esac
done
# The series files are large and reproducible: keep reports, profiles and coefficients only.
find "$R" -name '*.h5' -delete -o -name '*.xdmf' -delete
