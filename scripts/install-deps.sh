#!/usr/bin/env bash
# Installs the Debian packages ddkit builds, runs and tests with, when any is missing.
# Needs root (or sudo). Idempotent: does nothing when everything is present.
set -euo pipefail
packages=(libopenmpi-dev openmpi-bin libhdf5-openmpi-dev libmetis-dev libclang-dev pkg-config
  hdf5-tools gmsh python3-h5py python3-meshio)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }
