#!/usr/bin/env bash
# Runs every benchmark; each prints one JSON line (see bench/README.md).
# usage: bench/run_all.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
[[ -x "$BUILD/kiln" ]] || BUILD=$(dirname "$BUILD")
python3 bench/kiln_run_full_month.py "$BUILD"
python3 bench/api_to_postgres.py "$BUILD"
/usr/bin/python3 bench/python_seed_pipeline.py "$BUILD"
/usr/bin/python3 bench/python_block_overhead.py "$BUILD"
/usr/bin/python3 bench/orchestration_latency.py "$BUILD"
/usr/bin/python3 bench/cron_lateness.py "$BUILD"
python3 bench/partitioned_export.py "$BUILD"
