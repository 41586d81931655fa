#!/usr/bin/env bash
# The main job: runs the example pipelines of examples/nyc_taxi on the real 22,792-row sample
# with the embedded defaults (DuckDB warehouse file, local Parquet folder) and, for the
# PostgreSQL pipelines, a throwaway PostgreSQL server (scripts/pg_sandbox.sh) unless the
# environment or examples/nyc_taxi/.env names one (POSTGRES_HOST).
#   usage: scripts/run_examples.sh [path/to/kiln]
set -euo pipefail
cd "$(dirname "$0")/.."
KILN=${1:-build/kiln}
PROJECT=examples/nyc_taxi

run() {
  echo
  echo "=== kiln run $PROJECT $1"
  "$KILN" run "$PROJECT" "$1" --execution-date 2021-01-01T00:00:00 "${@:2}"
}

run api_to_warehouse
run api_to_parquet

# The course's cloud pipelines (GCS, pyarrow, BigQuery), offline: with --local-cloud, buckets are
# folders under $CLOUD and BigQuery datasets schemas of $CLOUD/bigquery.duckdb.
CLOUD="$PROJECT/output/cloud"
rm -rf "$CLOUD"
run api_to_gcs --local-cloud "$CLOUD"
run api_to_gcs_partitioned --local-cloud "$CLOUD"
run gcs_to_bigquery --local-cloud "$CLOUD"
run api_to_gcs_parameterized --local-cloud "$CLOUD"

# The dev profile's server: the environment's, or the one the project's (or its parent's) .env
# names (kiln reads those files too), else a throwaway one.
for envfile in "$PROJECT/../.env" "$PROJECT/.env"; do
  # shellcheck disable=SC1090
  [[ -f "$envfile" && -z "${POSTGRES_HOST:-}" ]] && { set -a; . "$envfile"; set +a; }
done
if [[ -z "${POSTGRES_HOST:-}" ]]; then
  sandbox=$(mktemp -d /tmp/kiln-pg-sandbox.XXXXXX)
  trap 'scripts/pg_sandbox.sh stop "$sandbox"' EXIT
  echo
  echo "=== Starting a throwaway PostgreSQL server for the dev profile (scripts/pg_sandbox.sh)"
  eval "$(scripts/pg_sandbox.sh start "$sandbox")"
  echo "PostgreSQL at $POSTGRES_HOST:$POSTGRES_PORT"
fi
run test_config
run api_to_postgres
run api_to_postgres_python

echo
echo "=== Results"
echo "DuckDB warehouse: $PROJECT/warehouse.duckdb, table ny_taxi.yellow_taxi_data"
echo "Parquet:          $PROJECT/output/nyc_taxi_data.parquet"
echo "Partitioned:      $PROJECT/output/nyc_taxi_data/"
find "$PROJECT/output/nyc_taxi_data" -name '*.parquet' | sort | sed 's/^/  /'
echo "Local cloud:      $CLOUD (gs://mage-zoomcamp-evident-display-410312/...):"
find "$CLOUD" -path "$CLOUD/.kiln-tmp" -prune -o -type f -print | sort | sed 's/^/  /'
echo "PostgreSQL:       ny_taxi.yellow_taxi_data at ${POSTGRES_HOST:-?}:${POSTGRES_PORT:-?}:" \
  "$(PGPASSWORD=${POSTGRES_PASSWORD:-} psql -h "${POSTGRES_HOST:-localhost}" -p "${POSTGRES_PORT:-5432}" \
      -U "${POSTGRES_USER:-postgres}" -d "${POSTGRES_DBNAME:-postgres}" -tAc \
      'SELECT count(*) || '"' rows, sum(total_amount) = '"' || round(sum(total_amount)::numeric, 2) FROM ny_taxi.yellow_taxi_data' 2>&1)"
echo "                  ny_taxi.yellow_cab_data (the Python blocks):" \
  "$(PGPASSWORD=${POSTGRES_PASSWORD:-} psql -h "${POSTGRES_HOST:-localhost}" -p "${POSTGRES_PORT:-5432}" \
      -U "${POSTGRES_USER:-postgres}" -d "${POSTGRES_DBNAME:-postgres}" -tAc \
      'SELECT count(*) || '"' rows, sum(total_amount) = '"' || round(sum(total_amount)::numeric, 2) FROM ny_taxi.yellow_cab_data' 2>&1)"
echo
echo "=== Pipeline runs recorded in the metadata store (kiln runs $PROJECT)"
"$KILN" runs "$PROJECT" --limit 6
