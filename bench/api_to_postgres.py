#!/usr/bin/env python3
"""Benchmark: the seed's api_to_postgres job on the full-size month, three ways, one server.

Against one throwaway PostgreSQL server (scripts/pg_sandbox.sh) in the same run:
  - pandas: ../shared/bench/pandas_baseline.py (the seed's pandas pipeline and Mage's
    to_csv + COPY export), the anchor;
  - limit:  zcat FILE | psql -c "COPY t FROM STDIN (FORMAT csv, HEADER)" (all rows, no filter:
    what PostgreSQL's own loader needs just to ingest the file);
  - kiln:   kiln run examples/nyc_taxi api_to_postgres (SQL blocks: read_csv, filter
    passenger_count > 0, binary COPY into ny_taxi.yellow_taxi_data, every block output stored
    as Parquet).
Targets (issue 3): kiln >= 5x faster than pandas, <= 1/3 of its peak RSS, <= 1.25x the limit.

usage: bench/api_to_postgres.py BUILD_DIR [--file F] [--repeat N]
Prints one JSON line.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kiln_run_full_month import REPO, full_size_file  # noqa: E402
from measure import best_of  # noqa: E402

COLUMNS = """VendorID BIGINT, tpep_pickup_datetime TIMESTAMP, tpep_dropoff_datetime TIMESTAMP,
passenger_count BIGINT, trip_distance DOUBLE PRECISION, RatecodeID BIGINT, store_and_fwd_flag TEXT,
PULocationID BIGINT, DOLocationID BIGINT, payment_type BIGINT, fare_amount DOUBLE PRECISION,
extra DOUBLE PRECISION, mta_tax DOUBLE PRECISION, tip_amount DOUBLE PRECISION,
tolls_amount DOUBLE PRECISION, improvement_surcharge DOUBLE PRECISION,
total_amount DOUBLE PRECISION, congestion_surcharge DOUBLE PRECISION"""


def sandbox_env(sandbox):
    out = subprocess.run([os.path.join(REPO, "scripts", "pg_sandbox.sh"), "start", sandbox],
                         check=True, capture_output=True, text=True).stdout
    env = {}
    for line in out.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value
    return env


def psql(env, sql):
    return subprocess.run(
        ["psql", "-X", "-tA", "-v", "ON_ERROR_STOP=1", "-h", env["POSTGRES_HOST"], "-p",
         env["POSTGRES_PORT"], "-U", env["POSTGRES_USER"], "-d", env["POSTGRES_DBNAME"], "-c", sql],
        check=True, capture_output=True, text=True,
        env={**os.environ, "PGPASSWORD": env["POSTGRES_PASSWORD"]}).stdout.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--file", default=os.environ.get("KILN_BENCH_FILE"))
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    data = full_size_file(a.file)
    kiln = os.path.join(os.path.abspath(a.build_dir), "kiln")
    baseline = os.environ.get("KILN_PANDAS_BASELINE",
                              os.path.join(REPO, "..", "shared", "bench", "pandas_baseline.py"))

    work = tempfile.mkdtemp(prefix="kiln-bench-pg-")
    # A folder of its own: the server runs as the postgres user, who cannot enter `work`.
    sandbox = tempfile.mkdtemp(prefix="kiln-bench-pg-server-")
    try:
        pg = sandbox_env(sandbox)
        dsn = (f"host={pg['POSTGRES_HOST']} port={pg['POSTGRES_PORT']} dbname=postgres "
               f"user=postgres password={pg['POSTGRES_PASSWORD']}")

        # Debian's interpreter, which has python3-pandas and python3-psycopg2 (another python3
        # may come first on PATH).
        python = os.environ.get("KILN_PANDAS_PYTHON", "/usr/bin/python3")
        pandas_s, pandas_rss, _ = best_of(a.repeat, [python, baseline, data, "--dsn", dsn])

        psql(pg, f"CREATE SCHEMA IF NOT EXISTS limit_test; DROP TABLE IF EXISTS limit_test.t; "
                 f"CREATE TABLE limit_test.t ({COLUMNS})")
        limit_runs = []
        for _ in range(a.repeat):
            psql(pg, "TRUNCATE limit_test.t")
            start = time.perf_counter()
            subprocess.run(
                f"zcat '{data}' | psql -X -q -h {pg['POSTGRES_HOST']} -p {pg['POSTGRES_PORT']} "
                f"-U postgres -d postgres -c \"COPY limit_test.t FROM STDIN (FORMAT csv, HEADER)\"",
                shell=True, check=True, env={**os.environ, "PGPASSWORD": pg["POSTGRES_PASSWORD"]})
            limit_runs.append(time.perf_counter() - start)
        limit_s = min(limit_runs)

        project = os.path.join(work, "nyc_taxi")
        shutil.copytree(os.path.join(REPO, "examples", "nyc_taxi"), project,
                        ignore=shutil.ignore_patterns(".kiln", "warehouse.duckdb*", "output", ".env"))
        env = {**os.environ, **pg}
        run = [kiln, "run", project, "api_to_postgres", "--data-dir", os.path.join(work, "data"),
               "--execution-date", "2021-01-01", "--runtime-vars", json.dumps({"source_url": data})]
        kiln_s, kiln_rss, out = best_of(a.repeat, run, env=env)
        if "completed" not in out:
            raise RuntimeError("kiln run did not complete:\n" + out)
        rows = int(psql(pg, "SELECT count(*) FROM ny_taxi.yellow_taxi_data"))

        print(json.dumps({
            "bench": "api_to_postgres_full_month",
            "rows_out": rows,
            "kiln_s": round(kiln_s, 3),
            "kiln_peak_rss_mib": round(kiln_rss, 1),
            "pandas_s": round(pandas_s, 3),
            "pandas_peak_rss_mib": round(pandas_rss, 1),
            "limit_zcat_psql_csv_s": round(limit_s, 3),
            "limit_rows": 1369765,  # the limit ingests every row; kiln and pandas the filtered ones
            "speedup_vs_pandas": round(pandas_s / kiln_s, 2),
            "rss_ratio_vs_pandas": round(kiln_rss / pandas_rss, 3),
            "ratio_vs_limit": round(kiln_s / limit_s, 3),
            "targets_met": {
                "speedup_ge_5": pandas_s / kiln_s >= 5,
                "rss_le_one_third": kiln_rss <= pandas_rss / 3,
                "within_1_25x_of_limit": kiln_s <= 1.25 * limit_s,
            },
            "repeat": a.repeat,
        }))
    finally:
        subprocess.run([os.path.join(REPO, "scripts", "pg_sandbox.sh"), "stop", sandbox],
                       capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(sandbox, ignore_errors=True)


if __name__ == "__main__":
    main()
