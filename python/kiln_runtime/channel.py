"""The child's end of its channel to the runner, and the calls it makes there (RPC).

One Session exists per child process (a block run); mage_ai's connectors reach it through
current(), since Mage's API (Postgres.with_config(...)) has no place to pass it.
"""

import itertools

import _kiln

_current = None


class RunnerError(Exception):
    """A call to the runner failed; the message is the runner's one-line reason."""


class Session:
    def __init__(self, channel):
        self._channel = channel
        self._ids = itertools.count(1)
        self.start = None

    @classmethod
    def open(cls, fd):
        global _current
        _current = cls(_kiln.Channel(fd))
        return _current

    def close(self):
        global _current
        self._channel.close()
        if _current is self:
            _current = None

    def send(self, body, fds=()):
        self._channel.send(body, list(fds))

    def receive_start(self):
        message = self._channel.receive(None)
        if message is None:
            raise RunnerError("the runner closed the channel before starting the block")
        body, fds = message
        if body.get("op") != "start":
            raise RunnerError("expected a start message, got %r" % body.get("op"))
        fds = list(fds)
        while len(fds) < body.get("fd_count", 0):  # frames beyond 8 follow in "fds" messages
            more = self._channel.receive(None)
            if more is None or more[0].get("op") != "fds":
                raise RunnerError("the runner did not send all input frames")
            fds.extend(more[1])
        body["_fds"] = fds
        self.start = body
        return body

    def call(self, method, args=None, fds=()):
        """Asks the runner to do `method` (it holds DuckDB and the database connections).

        Returns (result, fds). Raises RunnerError with the runner's message on failure.
        """
        call_id = next(self._ids)
        self.send({"op": "call", "id": call_id, "method": method, "args": args or {}}, fds)
        while True:
            message = self._channel.receive(None)
            if message is None:
                raise RunnerError("the runner went away during %s" % method)
            body, reply_fds = message
            if body.get("op") == "reply" and body.get("id") == call_id:
                if body.get("error"):
                    for fd in reply_fds:
                        _kiln.close_fd(fd)
                    raise RunnerError(body["error"])
                return body.get("result"), reply_fds

    def log(self, level, message):
        self.send({"op": "log", "level": level, "message": str(message)})


def current():
    """The running block's session. Raises RunnerError outside a Kiln block run."""
    if _current is None:
        raise RunnerError("this needs a Kiln block run (kiln run / kiln start)")
    return _current
