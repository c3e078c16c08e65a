#!/usr/bin/env bash
# The headless device check on a machine with any LibTorch and no Qt (a GPU machine): builds
# models/ and latent-explorer-device-check alone against that LibTorch (default: the pip torch's,
# "python") into build-device/, then runs it on the device and writes device_check.json.
#
#   scripts/device-check.sh [--torch PREFIX] [--device cuda|cpu|auto] [--out DIR] [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."

torch=python
device=auto
out=build-device
extra=()
while (($#)); do
  case $1 in
    --torch) torch=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --quick) extra+=(--quick); shift ;;
    *) echo "scripts/device-check.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

scripts/build.sh --torch "$torch" --no-gui --build-dir build-device latent-explorer-device-check
mkdir -p "$out"
build-device/bench/device/latent-explorer-device-check --device "$device" "${extra[@]}" \
  --json "$out/device_check.json"
