"""kiln_runtime: runs one Mage Python block inside a child of the kiln-python host.

The runner (src/kiln/blocks/python/) spawns a child through the host with entry
``kiln_runtime:main``; the child receives a "start" message on its channel holding the block,
its inputs (frames as file descriptors, or JSON values) and its keyword arguments, runs the
block the way Mage does (mage-block-execution.md sections 3 to 5), sends each output back and
ends with a "result" message. print() goes to the runner through stdout (fd 1).

Messages, child -> runner:
  {"op": "log", "level": "INFO", "message": "..."}
  {"op": "output", "index": i, "kind": "frame"} + fd      a pandas DataFrame
  {"op": "output", "index": i, "kind": "json", "value": ..., "variable_type": null|"iterable"}
  {"op": "call", "id": n, "method": "...", "args": {...}} (+ fds)   see kiln_runtime.rpc
  {"op": "result", "status": "completed"|"failed", "error": "...", "traceback": "..."}
runner -> child:
  {"op": "start", ...} (+ fds), {"op": "reply", "id": n, "result": ..., "error": ...} (+ fds)
"""

from kiln_runtime.channel import Session
from kiln_runtime.execute import run_block


def main(request, channel_fd):
    """The child's entry point: runs the block described by the runner's start message."""
    session = Session.open(channel_fd)
    try:
        start = session.receive_start()
        run_block(session, start)
    finally:
        session.close()
