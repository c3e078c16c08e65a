#!/usr/bin/env bash
# Configures and builds Latent Explorer into ./build (Release, Ninja, ccache when present):
# every target, or only those named (scripts/build.sh latent-explorer).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
targets=()
for target in "$@"; do targets+=(--target "$target"); done
cmake --build build -j"$(nproc)" "${targets[@]}"
