#!/usr/bin/env bash
# Builds and runs the FD heat throughput benchmark on 1 and 2 ranks (bound to cores), saving
# benchmarks/results/heat_throughput_np{1,2}.json and printing both tables.
# Extra arguments go to the benchmark, e.g. `benchmarks/run_heat_throughput.sh --grid 2048x2048`.
# Set NPS="1 2 4" to choose other rank counts, MPIRUN_FLAGS to add mpirun options
# (as root: export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --examples
mkdir -p benchmarks/results
for np in ${NPS:-1 2}; do
    echo "== mpirun -np $np --bind-to core target/release/examples/heat_throughput $*"
    # shellcheck disable=SC2086
    mpirun -np "$np" --bind-to core ${MPIRUN_FLAGS:-} target/release/examples/heat_throughput \
        --json "benchmarks/results/heat_throughput_np$np.json" "$@"
    echo
done
