#!/usr/bin/env bash
# The whole test suite: installs missing packages, checks formatting and lints, then runs the
# unit tests and the multi-rank integration tests (mpirun -np 1..4 --oversubscribe).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# OpenMPI refuses to run as root without these; tests oversubscribe the cores on purpose.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
cargo fmt --all -- --check
cargo clippy --release --all-targets -- -D warnings
# The multi-rank tests launch the test programs (tests/programs, built as examples) under mpirun;
# `cargo test` alone builds examples as test harnesses, not as the programs, so build them first.
cargo build --release --bins --examples
cargo test --release
