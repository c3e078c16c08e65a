#!/usr/bin/env bash
# One command: install what is missing, build, and start the GUI on the shipped VAE and
# Fashion-MNIST. Extra arguments go to latent-explorer (e.g. --device cpu, --checkpoint FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh latent-explorer  # the GUI alone: tests, bench and the CLI build with test.sh
exec build/app/latent-explorer "$@"
