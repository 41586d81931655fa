"""bench/measure.py: run a command and report its wall time (s) and peak RSS (MiB).

Peak RSS is the child's ru_maxrss from wait4(), i.e. the largest resident set of that process
(its children are not included). measure_tree() also samples the whole process tree (a kiln run
with Python blocks is kiln, its kiln-python host and the host's block children) every 20 ms and
reports the largest sum of their resident sets.
"""
import os
import subprocess
import threading
import time


def _tree_rss_kib(root):
    """Sum of VmRSS (KiB) of `root` and all its descendants, from /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                parents.setdefault(int(fields[1]), []).append(int(entry))
            except OSError:
                continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(parents.get(pid, []))
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


def measure_tree(argv, env=None, cwd=None):
    """As measure(), but the peak is that of the process tree: (s, tree_peak_mib, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss_kib(proc.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {proc.returncode}: {err.decode()[-2000:]}")
    return seconds, peak[0] / 1024.0, out.decode()


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


def best_of(n, argv, tree=False, **kw):
    """The fastest of n runs (and that run's RSS), to damp noise on a 2-core machine."""
    runs = [(measure_tree if tree else measure)(argv, **kw) for _ in range(n)]
    return min(runs, key=lambda r: r[0])
