"""Entry points for tests/integration/python_host_test.cc, one per behaviour under test.

Each is called in a child forked from kiln-python as entry(request, channel_fd).
"""

import atexit
import ctypes
import datetime
import importlib
import os
import resource
import signal
import subprocess
import sys
import time

import _kiln

# Imported once in the host (a preload module). Neither may ever reach a child's output: the
# host's atexit handlers do not run in children, and the host's buffered text is not flushed
# a second time by each child.
atexit.register(print, "the host's atexit handler ran")
sys.stdout.write("buffered in the host, never flushed by a child ")


def hello(request, channel_fd):
    """Sends one message at once: the spawn-to-first-message latency."""
    channel = _kiln.Channel(channel_fd)
    channel.send({"op": "hello", "n": request.get("n")})
    channel.close()


def echo(request, channel_fd):
    """Waits for one message from the runner and sends it back with the request."""
    channel = _kiln.Channel(channel_fd)
    received = channel.receive(10000)
    body, fds = received if received else (None, [])
    for fd in fds:
        os.write(fd, b"written by the child\n")
    time.sleep(request.get("sleep_s", 0))
    channel.send({"op": "echo", "request": request, "received": body, "pid": os.getpid()}, fds)
    for fd in fds:
        _kiln.close_fd(fd)
    channel.close()


def channel_semantics(request, channel_fd):
    """Timeouts, value conversion and end of stream as _kiln.Channel sees them."""
    import numpy

    channel = _kiln.Channel(channel_fd)
    timed_out = channel.receive(timeout_ms=50) is None
    channel.send({
        "timed_out": timed_out,
        "tuple": (1, "two", None, True, 2.5),
        "numpy_int": numpy.int64(7),
        "numpy_array": numpy.arange(3),
        "int_keys": {1: "one"},
        "huge": 2**70,
        "other": datetime.date(2021, 1, 5),
    })
    body, fds = channel.receive()
    channel.send({"got": body, "fds": len(fds)})
    ended = channel.receive() is None  # the runner closes its end
    channel.close()
    try:
        channel.send({})
    except ValueError as e:
        print(e)
    sys.exit(7 if ended else 8)


def print_lines(request, channel_fd):
    print("out 1")
    print("err 2", file=sys.stderr)
    print("out 3")
    ctypes.CDLL(None).printf(b"c-level 4\n")
    print("err 5", file=sys.stderr)


def segfault(request, channel_fd):
    ctypes.string_at(0)


def exit_3(request, channel_fd):
    print("leaving with 3")
    sys.exit(3)


def raise_error(request, channel_fd):
    def parse(value):
        raise ValueError("bad input %d" % value)

    parse(42)


def loop_forever(request, channel_fd):
    """Starts a grandchild, reports it, and never returns."""
    sleeper = subprocess.Popen(["/bin/sleep", "1000"])
    _kiln.Channel(channel_fd).send({"op": "looping", "grandchild": sleeper.pid})
    while True:
        pass


def exhaust_memory(request, channel_fd):
    """Allocates past an address-space limit of 128 MB over what the child maps now."""
    with open("/proc/self/status") as status:
        vm_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    limit = (vm_kb + 128 * 1024) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    hog = bytearray(1024 * 1024 * 1024)
    print(len(hog))


def oom_killed(request, channel_fd):
    """What the kernel's OOM killer does to a child."""
    os.kill(os.getpid(), signal.SIGKILL)


def import_module(request, channel_fd):
    module = importlib.import_module(request["module"])
    _kiln.Channel(channel_fd).send({"value": module.VALUE, "file": module.__file__})


def report_environment(request, channel_fd):
    _kiln.Channel(channel_fd).send({
        "env": {k: os.environ.get(k) for k in request["names"]},
        "executable": sys.executable,
        "sigint": str(signal.getsignal(signal.SIGINT)),
        "blocked": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
        "pgid_is_pid": os.getpgid(0) == os.getpid(),
    })
