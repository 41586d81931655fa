#!/usr/bin/env python3
"""Benchmark: a partitioned Parquet export (31 day partitions) to the local cloud stand-in.

Kiln's ExportDataset (DuckDB COPY to a staging folder, then one all-or-nothing publish per file
into <dir>/<bucket>/<key>, as `--local-cloud` runs a GCS export) against DuckDB's own
COPY ... (FORMAT parquet, PARTITION_BY (tpep_pickup_date)) of the same query on the full-size
month, in the same process and DuckDB instance, alternating (bench/partitioned_export.cc).

usage: bench/partitioned_export.py BUILD_DIR [--file F] [--repeat N]
Prints one JSON line; target ratio <= 1.2.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kiln_run_full_month import full_size_file  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--file", default=os.environ.get("KILN_BENCH_FILE"))
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    data = full_size_file(a.file)
    helper = os.path.join(a.build_dir, "bench", "partitioned_export")
    work = tempfile.mkdtemp(prefix="kiln-bench-")
    try:
        out = subprocess.run([helper, data, work, str(a.repeat)], check=True,
                             stdout=subprocess.PIPE, text=True).stdout
        print(out.strip())
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
