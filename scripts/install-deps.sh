#!/usr/bin/env bash
# Installs every Debian 12 package Latent Explorer needs to build, run and test. Idempotent:
# packages already present are skipped, so a second run costs only the dpkg query.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  qt6-base-dev qt6-base-dev-tools libqt6opengl6-dev libgl-dev
  libqcustomplot-dev libqcustomplot2.1-qt6
  libtorch-dev python3-torch
  libopenblas0-pthread
  libopencv-dev opencv-data
  dataset-fashion-mnist
  xvfb xauth
  libbenchmark-dev ccache
  libgloo-dev
  qt6-image-formats-plugins fonts-dejavu-core
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
