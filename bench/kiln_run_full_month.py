#!/usr/bin/env python3
"""Benchmark: `kiln run` of the example's api_to_warehouse on the full-size month.

The job: read the 1,369,765-row csv.gz, drop passenger_count = 0, write the rest to the DuckDB
warehouse (replace), storing every block output as Parquet. Anchors, measured in the same run on
the same file: DuckDB's own read_csv + filter + count (the floor for reading), and the whole job
as one DuckDB statement into a warehouse file (DuckDB doing it alone, no block outputs).

usage: bench/kiln_run_full_month.py BUILD_DIR [--file F] [--repeat N]
Prints one JSON line.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure import best_of  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def full_size_file(path):
    if path and os.path.exists(path):
        return path
    cache = os.path.join(os.environ.get("KILN_CACHE_DIR", os.path.expanduser("~/.cache/kiln")), "bench")
    os.makedirs(cache, exist_ok=True)
    target = path or os.path.join(cache, "yellow_tripdata_2021-01.csv.gz")
    if not os.path.exists(target):
        gen = os.environ.get("KILN_GEN_TAXI", os.path.join(REPO, "..", "shared", "tools", "gen_taxi.py"))
        print(f"generating {target} with {gen} (about a minute)...", file=sys.stderr)
        subprocess.run([sys.executable, gen, target + ".tmp.gz"], check=True)
        os.rename(target + ".tmp.gz", target)
    return target


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--file", default=os.environ.get("KILN_BENCH_FILE"))
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    data = full_size_file(a.file)
    kiln = os.path.join(a.build_dir, "kiln")
    anchor = os.path.join(a.build_dir, "bench", "duckdb_anchor")

    work = tempfile.mkdtemp(prefix="kiln-bench-")
    try:
        project = os.path.join(work, "nyc_taxi")
        shutil.copytree(os.path.join(REPO, "examples", "nyc_taxi"), project,
                        ignore=shutil.ignore_patterns(".kiln", "warehouse.duckdb*", "output"))
        os.makedirs(os.path.join(project, "output"), exist_ok=True)
        run = [kiln, "run", project, "api_to_warehouse", "--data-dir", os.path.join(work, "data"),
               "--execution-date", "2021-01-01", "--runtime-vars", json.dumps({"source_url": data})]
        read_s, read_rss, rows = best_of(a.repeat, [anchor, "read_csv", data])
        pipe_s, pipe_rss, _ = best_of(a.repeat, [anchor, "pipeline", data, os.path.join(work, "anchor.duckdb")])
        kiln_s, kiln_rss, out = best_of(a.repeat, run)
        if "completed" not in out:
            raise RuntimeError("kiln run did not complete:\n" + out)
        print(json.dumps({
            "bench": "kiln_run_full_month",
            "file": os.path.basename(data),
            "rows_out": int(rows),
            "kiln_s": round(kiln_s, 3),
            "kiln_peak_rss_mib": round(kiln_rss, 1),
            "anchor": "duckdb read_csv + filter + count",
            "anchor_s": round(read_s, 3),
            "anchor_peak_rss_mib": round(read_rss, 1),
            "ratio_s": round(kiln_s / read_s, 2),
            "ratio_rss": round(kiln_rss / read_rss, 2),
            "duckdb_whole_job_s": round(pipe_s, 3),
            "duckdb_whole_job_peak_rss_mib": round(pipe_rss, 1),
            "ratio_s_vs_whole_job": round(kiln_s / pipe_s, 2),
            "repeat": a.repeat,
        }))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
