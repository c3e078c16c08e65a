#!/usr/bin/env bash
# Configures and builds Latent Explorer (Release, Ninja, ccache when present): every target, or
# only those named (scripts/build.sh latent-explorer).
#
#   scripts/build.sh [--torch PREFIX] [--no-gui] [--build-dir DIR] [TARGET...]
#
#   --torch PREFIX  build against another LibTorch than Debian's: a LibTorch folder (an unpacked
#                   CPU or CUDA LibTorch zip), the cmake prefix of a pip torch
#                   (python3 -c 'import torch; print(torch.utils.cmake_prefix_path)'), or
#                   "python" for that pip torch (asking $PYTHON, default python3). A CUDA LibTorch
#                   on a machine without nvcc is imported directly (cmake/ImportTorch.cmake): its
#                   TorchConfig.cmake would stop for want of a CUDA toolkit the build does not need.
#   --no-gui        models/ and the device check only (no Qt, no OpenCV): what a GPU machine
#                   without Qt can build; then `build/bench/device/latent-explorer-device-check`.
#   --build-dir DIR default: build
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=Release)
targets=()

have_cuda_toolkit() {
  command -v nvcc >/dev/null || [[ -x "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc" ]]
}

# The LibTorch folder (include/, lib/, share/cmake/Torch) behind whatever --torch was given.
torch_root() {
  local prefix=$1
  [[ $prefix == python ]] &&
    prefix=$("${PYTHON:-python3}" -c 'import torch; print(torch.utils.cmake_prefix_path)')
  if [[ ! -d $prefix ]]; then
    echo "scripts/build.sh: --torch $1: $prefix is not a folder" >&2
    exit 2
  fi
  prefix=$(cd "$prefix" && pwd)
  if [[ -f $prefix/share/cmake/Torch/TorchConfig.cmake ]]; then echo "$prefix"
  elif [[ -f $prefix/Torch/TorchConfig.cmake ]]; then (cd "$prefix/../.." && pwd)
  else
    echo "scripts/build.sh: $1 is not a LibTorch folder (no share/cmake/Torch/TorchConfig.cmake)" >&2
    exit 2
  fi
}

use_torch() {
  local root
  root=$(torch_root "$1")
  if compgen -G "$root/lib/libtorch_cuda.*" >/dev/null && ! have_cuda_toolkit; then
    echo "scripts/build.sh: CUDA LibTorch without a CUDA toolkit: importing $root directly" >&2
    cmake_args+=(-DLE_TORCH_IMPORT=ON "-DLE_TORCH_ROOT=$root")
  else
    cmake_args+=(-DLE_TORCH_IMPORT=OFF "-DCMAKE_PREFIX_PATH=$root/share/cmake")
  fi
}

while (($#)); do
  case $1 in
    --torch) use_torch "$2"; shift 2 ;;
    --no-gui) cmake_args+=(-DLE_BUILD_GUI=OFF); shift ;;
    --build-dir) build_dir=$2; shift 2 ;;
    *) targets+=(--target "$1"); shift ;;
  esac
done

cmake -S . -B "$build_dir" "${cmake_args[@]}" >/dev/null
cmake --build "$build_dir" -j"$(nproc)" "${targets[@]}"
