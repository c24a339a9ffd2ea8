#!/usr/bin/env bash
# Quick start: installs what is missing, builds in release mode and runs the flagship example,
# explicit heat on 2 MPI ranks writing out/heat/heat.h5 + heat.xdmf (open the .xdmf in ParaView).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun --oversubscribe -np 2 target/release/ddkit heat --config examples/heat.toml
