#!/usr/bin/env python3
"""Benchmark: orchestration latencies of issue 5, read from the metadata store's timestamps.

(1) SQL block-to-block handoff: a chain of 40 trivial SQL blocks (`SELECT * FROM {{ df_1 }}`),
    run by `kiln run`; the handoff is block_run.started_at(i) - block_run.completed_at(i-1).
    Target <= 5 ms median. Anchor: Mage's scheduler tick (10 s: a block's children are
    dispatched at the next tick, spec §2.1), quoted, not measured (Mage does not run here).
(2) API trigger to first block running: `kiln start` on a free port, an API trigger fired 20
    times one after the other with Mage's curl body; the latency is the first block run's
    started_at minus the moment the POST was sent. Target <= 50 ms median. Anchor: the same
    POST's round trip alone (what a client waits anyway), measured in the same run.

(3) A 1,000-block DAG of trivial SQL blocks in fan-out / fan-in layers (a root, 499 blocks
    below it, 499 blocks each joining two of those, a sink below all of them), run by
    `kiln run`: total wall time and the per-block overhead (wall time / blocks). Anchor: Mage
    needs at least one 10 s tick per DAG level (4 levels: >= 40 s), quoted.

usage: bench/orchestration_latency.py BUILD_DIR [--blocks N] [--triggers N]
Prints one JSON line.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request


def utc(text):
    return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def project(work, blocks):
    root = os.path.join(work, "chain")
    os.makedirs(os.path.join(root, "transformers"))
    os.makedirs(os.path.join(root, "pipelines", "chain"))
    with open(os.path.join(root, "metadata.yaml"), "w") as f:
        f.write("project_uuid: chain\n")
    lines = ["blocks:"]
    for i in range(blocks):
        name = f"step_{i:02d}"
        sql = "SELECT 1 AS x" if i == 0 else "SELECT * FROM {{ df_1 }}"
        with open(os.path.join(root, "transformers", name + ".sql"), "w") as f:
            f.write(sql + "\n")
        up = f"[step_{i - 1:02d}]" if i else "[]"
        lines.append(f"- {{uuid: {name}, type: transformer, language: sql, upstream_blocks: {up}}}")
    with open(os.path.join(root, "pipelines", "chain", "metadata.yaml"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return root


def wide_dag(work):
    """The 1,000-block fan-out / fan-in DAG; returns its project folder."""
    root = os.path.join(work, "wide")
    os.makedirs(os.path.join(root, "transformers"))
    os.makedirs(os.path.join(root, "pipelines", "wide"))
    with open(os.path.join(root, "metadata.yaml"), "w") as f:
        f.write("project_uuid: wide\n")
    with open(os.path.join(root, "transformers", "one.sql"), "w") as f:
        f.write("SELECT 1 AS x\n")
    blocks = [("root", [])]
    blocks += [(f"a{i:03d}", ["root"]) for i in range(499)]
    blocks += [(f"b{i:03d}", [f"a{i:03d}", f"a{(i + 1) % 499:03d}"]) for i in range(499)]
    blocks += [("sink", [f"b{i:03d}" for i in range(499)])]
    lines = ["blocks:"]
    for name, ups in blocks:
        lines.append(f"- {{uuid: {name}, type: transformer, language: sql, "
                     f"configuration: {{file_path: transformers/one.sql}}, "
                     f"upstream_blocks: [{', '.join(ups)}]}}")
    with open(os.path.join(root, "pipelines", "wide", "metadata.yaml"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return root, len(blocks)


def handoffs(kiln, root, data):
    subprocess.run([kiln, "run", root, "chain", "--data-dir", data], check=True,
                   capture_output=True)
    db = sqlite3.connect(os.path.join(data, "kiln.db"))
    rows = db.execute("SELECT started_at, completed_at FROM block_run WHERE pipeline_run_id = "
                      "(SELECT max(id) FROM pipeline_run) ORDER BY id").fetchall()
    return [(utc(b[0]) - utc(a[1])) * 1000 for a, b in zip(rows, rows[1:])]


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def get(url):
    with urllib.request.urlopen(url) as r:
        return json.loads(r.read())


def trigger_latencies(kiln, root, data, count):
    os.makedirs(data, exist_ok=True)
    log = open(os.path.join(data, "server.log"), "w")
    server = subprocess.Popen([kiln, "start", root, "--port", "0", "--data-dir", data],
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        port = None
        for _ in range(600):
            m = re.search(r"at http://127\.0\.0\.1:(\d+)", open(log.name).read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port}/api"
        s = post(f"{base}/pipelines/chain/pipeline_schedules",
                 {"pipeline_schedule": {"name": "bench", "schedule_type": "api",
                                        "status": "active"}})["pipeline_schedule"]
        latencies, round_trips = [], []
        for _ in range(count):
            sent = time.time()
            run = post(f"{base}/pipeline_schedules/{s['id']}/pipeline_runs/{s['token']}",
                       {"pipeline_run": {"variables": {}}})["pipeline_run"]
            round_trips.append((time.time() - sent) * 1000)
            while True:
                detail = get(f"{base}/pipeline_runs/{run['id']}")["pipeline_run"]
                if detail["status"] in ("completed", "failed", "cancelled"):
                    break
                time.sleep(0.02)
            first = detail["block_runs"][0]["started_at"]
            latencies.append((datetime.datetime.fromisoformat(first).timestamp() - sent) * 1000)
        return latencies, round_trips
    finally:
        server.terminate()
        server.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--blocks", type=int, default=40)
    ap.add_argument("--triggers", type=int, default=20)
    a = ap.parse_args()
    kiln = os.path.join(os.path.abspath(a.build_dir), "kiln")
    work = tempfile.mkdtemp(prefix="kiln-bench-orch-")
    try:
        root = project(work, a.blocks)
        gaps = handoffs(kiln, root, os.path.join(work, "run-data"))
        lat, rtt = trigger_latencies(kiln, root, os.path.join(work, "start-data"), a.triggers)
        wide, wide_blocks = wide_dag(work)
        began = time.perf_counter()
        subprocess.run([kiln, "run", wide, "wide", "--data-dir", os.path.join(work, "wide-data")],
                       check=True, capture_output=True)
        wide_s = time.perf_counter() - began
        handoff = statistics.median(gaps)
        trigger = statistics.median(lat)
        print(json.dumps({
            "bench": "orchestration_latency",
            "sql_handoff_ms": {"median": round(handoff, 2), "max": round(max(gaps), 2),
                               "blocks": a.blocks},
            "api_trigger_to_first_block_ms": {"median": round(trigger, 2),
                                              "max": round(max(lat), 2),
                                              "triggers": a.triggers},
            "anchor_post_round_trip_ms": round(statistics.median(rtt), 2),
            "dag_1000": {"blocks": wide_blocks, "total_s": round(wide_s, 3),
                         "per_block_ms": round(wide_s * 1000 / wide_blocks, 2),
                         "mage_at_least_s": 40},
            "mage_scheduler_tick_ms": 10000,
            "targets_met": {"sql_handoff_le_5_ms": handoff <= 5,
                            "api_trigger_le_50_ms": trigger <= 50},
        }))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
