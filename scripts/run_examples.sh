#!/usr/bin/env bash
# The main job: runs the example pipelines of examples/nyc_taxi on the real 22,792-row sample
# with the embedded defaults (DuckDB warehouse file, local Parquet folder), then shows the
# results.  usage: scripts/run_examples.sh [path/to/kiln]
set -euo pipefail
cd "$(dirname "$0")/.."
KILN=${1:-build/kiln}
PROJECT=examples/nyc_taxi

for pipeline in api_to_warehouse api_to_parquet; do
  echo
  echo "=== kiln run $PROJECT $pipeline"
  "$KILN" run "$PROJECT" "$pipeline" --execution-date 2021-01-01T00:00:00
done

echo
echo "=== Results"
echo "Warehouse: $PROJECT/warehouse.duckdb, table ny_taxi.yellow_taxi_data"
echo "Parquet:   $PROJECT/output/nyc_taxi_data.parquet"
echo "Partitioned Parquet: $PROJECT/output/nyc_taxi_data/"
find "$PROJECT/output/nyc_taxi_data" -name '*.parquet' | sort | sed 's/^/  /'
