"""bench/measure.py: run a command and report its wall time (s) and peak RSS (MiB).

Peak RSS is the child's ru_maxrss from wait4(), i.e. the largest resident set of that process
(children of the command are not included; every measured command here is a single process).
"""
import os
import subprocess
import time


def measure(argv, env=None, cwd=None):
    """Runs argv; returns (seconds, peak_rss_mib, stdout). Raises on a non-zero exit."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    out = proc.stdout.read().decode()
    err = proc.stderr.read().decode()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {proc.returncode}: {err[-2000:]}")
    return seconds, usage.ru_maxrss / 1024.0, out


def best_of(n, argv, **kw):
    """The fastest of n runs (and that run's RSS), to damp noise on a 2-core machine."""
    runs = [measure(argv, **kw) for _ in range(n)]
    return min(runs, key=lambda r: r[0])
