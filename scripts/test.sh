#!/usr/bin/env bash
# One command: install what is missing, build, and run every test (offscreen, no display needed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
export QT_QPA_PLATFORM=offscreen
# Full re-evaluations of the shipped models (CTest label "full") only when asked for.
skip_full=(-LE full)
[[ "${LE_FULL_TESTS:-0}" == 1 ]] && skip_full=()
ctest --test-dir build --output-on-failure -j1 "${skip_full[@]}" "$@"
