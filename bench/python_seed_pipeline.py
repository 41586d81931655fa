#!/usr/bin/env python3
"""Benchmark: the seed's Python blocks (api_to_postgres_python) on the full-size month.

Against one throwaway PostgreSQL server (scripts/pg_sandbox.sh) in the same run:
  - pandas: ../shared/bench/pandas_baseline.py (the same pandas read_csv and filter, then
    Mage's own export: to_csv into a buffer + COPY ... FORMAT csv), the anchor;
  - kiln:   kiln run examples/nyc_taxi api_to_postgres_python: the seed's load_api_data.py
    (pandas read_csv), transform_taxi_data.py (pandas filter) and taxi_data_to_postgres.py
    (mage_ai's Postgres export, which Kiln does by binary COPY), each block in a child of the
    warm kiln-python host, every block output stored as Parquet as Mage stores it.
Targets (issue 4): kiln >= 1.8x faster than pandas end to end; its export block >= 4x faster
than pandas' export step.

usage: bench/python_seed_pipeline.py BUILD_DIR [--file F] [--repeat N]
Prints one JSON line. Peak memory of kiln is that of its whole process tree (kiln, the host,
the block children), sampled every 20 ms.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_to_postgres import psql, sandbox_env  # noqa: E402
from kiln_run_full_month import REPO, full_size_file  # noqa: E402
from measure import best_of, measure  # noqa: E402


def block_seconds(summary, block):
    """A block's TIME from `kiln run`'s summary table ("  name  completed  1,234  5.67 s")."""
    match = re.search(r"^\s+" + re.escape(block) + r"\s+completed\s+\S+\s+([0-9.]+) s$", summary,
                      re.M)
    if not match:
        raise RuntimeError(f"no time for block {block} in:\n{summary}")
    return float(match.group(1))


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

    work = tempfile.mkdtemp(prefix="kiln-bench-py-")
    sandbox = tempfile.mkdtemp(prefix="kiln-bench-py-server-")
    try:
        pg = sandbox_env(sandbox)
        dsn = (f"host={pg['POSTGRES_HOST']} port={pg['POSTGRES_PORT']} dbname=postgres "
               f"user=postgres password={pg['POSTGRES_PASSWORD']}")
        python = os.environ.get("KILN_PANDAS_PYTHON", "/usr/bin/python3")
        pandas_runs = [measure([python, baseline, data, "--dsn", dsn]) for _ in range(a.repeat)]
        pandas_s, pandas_rss, pandas_out = min(pandas_runs, key=lambda r: r[0])
        pandas = json.loads(pandas_out.strip().splitlines()[-1])

        project = os.path.join(work, "nyc_taxi")
        shutil.copytree(os.path.join(REPO, "examples", "nyc_taxi"), project,
                        ignore=shutil.ignore_patterns(".kiln", "warehouse.duckdb*", "output", ".env"))
        env = {**os.environ, **pg}
        run = [kiln, "run", project, "api_to_postgres_python", "--data-dir",
               os.path.join(work, "data"), "--execution-date", "2021-01-01",
               "--runtime-vars", json.dumps({"source_url": data})]
        kiln_s, kiln_rss, out = best_of(a.repeat, run, tree=True, env=env)
        if "completed" not in out:
            raise RuntimeError("kiln run did not complete:\n" + out)
        rows = int(psql(pg, "SELECT count(*) FROM ny_taxi.yellow_cab_data"))
        pandas_rows = int(psql(pg, "SELECT count(*) FROM ny_taxi.yellow_taxi_data_pandas"))
        if rows != pandas_rows:
            raise RuntimeError(f"kiln exported {rows} rows, pandas {pandas_rows}")
        blocks = {b: block_seconds(out, b)
                  for b in ("load_api_data", "transform_taxi_data", "taxi_data_to_postgres")}

        print(json.dumps({
            "bench": "python_seed_pipeline_full_month",
            "rows_out": rows,
            "kiln_s": round(kiln_s, 3),
            "kiln_block_s": blocks,
            "kiln_tree_peak_rss_mib": round(kiln_rss, 1),
            "pandas_s": round(pandas_s, 3),
            "pandas_stage_s": {k: pandas[k] for k in ("load_s", "transform_s", "export_s")},
            "pandas_peak_rss_mib": round(pandas_rss, 1),
            "speedup_vs_pandas": round(pandas_s / kiln_s, 2),
            "export_speedup_vs_pandas": round(pandas["export_s"] / blocks["taxi_data_to_postgres"], 2),
            "targets_met": {
                "speedup_ge_1_8": pandas_s / kiln_s >= 1.8,
                "export_speedup_ge_4": pandas["export_s"] / blocks["taxi_data_to_postgres"] >= 4,
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
