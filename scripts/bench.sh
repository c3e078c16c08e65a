#!/usr/bin/env bash
# One command: install what is missing, build, and run the speed suite. Writes build/bench.json
# and prints the results as a markdown table. Extra arguments go to latent-explorer-bench
# (--quick, --only SUITES).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/bench/latent-explorer-bench --json build/bench.json "$@"
