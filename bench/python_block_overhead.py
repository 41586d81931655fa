#!/usr/bin/env python3
"""Benchmark: per-block overhead of a chain of 40 Python blocks that each do ~10 ms of work.

The shape of the published orchestrator benchmark (Windmill's warm workers: 9.8 ms per block,
Hatchet: 31 ms). Block i depends on block i-1; each block records, in the dict it returns, the
wall-clock time at which its function was entered (`start`) and left (`end`), and spends
~10 ms of CPU in between. The overhead of a handoff is start_i - end_{i-1}: storing block i-1's
output, scheduling block i, forking its child from the warm host, loading its input and
executing its file. Reported: the median and 90th percentile over the 39 handoffs.

Anchor, in the same run: the naive orchestrator, a fresh /usr/bin/python3 process per block that
imports pandas (as every Mage block file does) and then does the same work; its overhead is
measured the same way. Target (issue 4): kiln's median <= 10 ms.

usage: bench/python_block_overhead.py BUILD_DIR [--blocks N] [--repeat R]
Prints one JSON line.
"""
import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

WORK = """
def work():
    import time
    start = time.time()
    deadline = time.perf_counter() + 0.010
    n = 0
    while time.perf_counter() < deadline:
        n += 1
    return {'start': start, 'end': time.time(), 'n': n}
"""

BLOCK = """if 'transformer' not in globals():
    from mage_ai.data_preparation.decorators import transformer
{work}

@transformer
def step(*upstream, **kwargs):
    return work()
"""

ANCHOR = """import pandas  # noqa: F401  (every Mage block file imports pandas)
import json, sys
{work}
print(json.dumps(work()))
"""


def handoffs(stamps):
    """start_i - end_{i-1} in ms for consecutive blocks."""
    return [(b["start"] - a["end"]) * 1000.0 for a, b in zip(stamps, stamps[1:])]


def summarise(gaps):
    gaps = sorted(gaps)
    return {"median_ms": round(statistics.median(gaps), 2),
            "p90_ms": round(gaps[int(0.9 * (len(gaps) - 1))], 2),
            "max_ms": round(gaps[-1], 2)}


def run_kiln(kiln, work, blocks):
    """Runs the chain once; returns (wall s, per-block stamps in chain order)."""
    project = os.path.join(work, "chain_project")
    shutil.rmtree(project, ignore_errors=True)
    os.makedirs(os.path.join(project, "transformers"))
    os.makedirs(os.path.join(project, "pipelines", "chain"))
    with open(os.path.join(project, "metadata.yaml"), "w") as f:
        f.write("project_uuid: chain_project\n")
    lines = ["blocks:"]
    for i in range(blocks):
        name = f"step_{i:02d}"
        with open(os.path.join(project, "transformers", name + ".py"), "w") as f:
            f.write(BLOCK.format(work=WORK))
        upstream = f"[step_{i - 1:02d}]" if i else "[]"
        lines.append(f"- {{uuid: {name}, type: transformer, language: python, "
                     f"upstream_blocks: {upstream}}}")
    with open(os.path.join(project, "pipelines", "chain", "metadata.yaml"), "w") as f:
        f.write("name: chain\nuuid: chain\ntype: python\n" + "\n".join(lines) + "\n")
    data = os.path.join(work, "data")
    shutil.rmtree(data, ignore_errors=True)
    start = time.perf_counter()
    proc = subprocess.run([kiln, "run", project, "chain", "--data-dir", data],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"kiln run failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    stamps = []
    for i in range(blocks):
        found = glob.glob(os.path.join(data, "pipelines", "chain", ".variables", "**",
                                       f"step_{i:02d}", "output_0", "data.json"), recursive=True)
        if len(found) != 1:
            raise RuntimeError(f"expected one output of step_{i:02d}, found {found}")
        with open(found[0]) as f:
            stamps.append(json.load(f))
    return wall, stamps


def run_anchor(python, work, blocks):
    """A fresh python process per block, one after the other: (wall s, stamps)."""
    script = os.path.join(work, "anchor_block.py")
    with open(script, "w") as f:
        f.write(ANCHOR.format(work=WORK))
    stamps = []
    start = time.perf_counter()
    for _ in range(blocks):
        out = subprocess.run([python, script], capture_output=True, text=True, check=True).stdout
        stamps.append(json.loads(out))
    return time.perf_counter() - start, stamps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--blocks", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    kiln = os.path.join(os.path.abspath(a.build_dir), "kiln")
    python = os.environ.get("KILN_PANDAS_PYTHON", "/usr/bin/python3")
    work = tempfile.mkdtemp(prefix="kiln-bench-chain-")
    try:
        kiln_gaps, kiln_walls, anchor_gaps, anchor_walls = [], [], [], []
        for _ in range(a.repeat):
            wall, stamps = run_kiln(kiln, work, a.blocks)
            kiln_walls.append(wall)
            kiln_gaps += handoffs(stamps)
            wall, stamps = run_anchor(python, work, a.blocks)
            anchor_walls.append(wall)
            anchor_gaps += handoffs(stamps)
        kiln_stats, anchor_stats = summarise(kiln_gaps), summarise(anchor_gaps)
        print(json.dumps({
            "bench": "python_block_overhead",
            "blocks": a.blocks,
            "work_ms_per_block": 10,
            "kiln_overhead": kiln_stats,
            "kiln_run_s": round(min(kiln_walls), 3),
            "anchor": "fresh python3 process per block importing pandas",
            "anchor_overhead": anchor_stats,
            "anchor_run_s": round(min(anchor_walls), 3),
            "ratio_median": round(kiln_stats["median_ms"] / anchor_stats["median_ms"], 3),
            "targets_met": {"median_overhead_le_10_ms": kiln_stats["median_ms"] <= 10},
            "repeat": a.repeat,
        }))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
