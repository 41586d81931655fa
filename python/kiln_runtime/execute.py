"""How Mage runs a Python block (mage-block-execution.md 3.1, 3.3, 4, 5), in the child.

The block file is exec'd in a fresh namespace holding a collector decorator under the block
type's name, `test` and `preprocesser`, and the upstream outputs under their uuids and df_N; the
first function decorated with the block type's collector runs with one positional argument per
upstream block (and the keyword arguments when it takes **kwargs); its return value is split
into outputs; then the @test functions run on them.
"""

import datetime
import inspect
import sys
import time
import traceback

import _kiln

from kiln_runtime.logger import BlockLogger
from kiln_runtime.values import to_jsonable


class BlockFailure(Exception):
    """A failure whose message is the whole story (no traceback needed)."""


class _Collector:
    """Mage's decorator collector: remembers the functions it decorates, in order."""

    def __init__(self):
        self.functions = []

    def __call__(self, function):
        self.functions.append(function)
        return function


def _load_inputs(start, session):
    began = time.perf_counter()
    fds = start.get("_fds", [])
    values = []
    for upstream in start.get("inputs", []):
        outputs = []
        for output in upstream.get("outputs", []):
            if output["kind"] == "frame":
                fd = fds[output["fd"]]
                try:
                    outputs.append(_kiln.frame_to_dataframe(fd))
                finally:
                    _kiln.close_fd(fd)
            else:
                outputs.append(output.get("value"))
        # One argument per upstream: the value itself, a list for several outputs, [] for none.
        values.append(outputs[0] if len(outputs) == 1 else outputs)
    if fds:
        session.log("DEBUG", "inputs: %d frames read in %.0f ms"
                    % (len(fds), (time.perf_counter() - began) * 1000))
    return values


def _parse_datetime(text):
    if not text:
        return None
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _keyword_arguments(start, session):
    block = start["block"]
    kwargs = dict(start.get("variables") or {})
    execution_date = _parse_datetime(start.get("execution_date"))
    if execution_date is not None:
        kwargs["execution_date"] = execution_date
        kwargs["ds"] = execution_date.strftime("%Y-%m-%d")
        kwargs["hr"] = execution_date.strftime("%H")
    kwargs["env"] = start.get("env", "dev")
    if start.get("execution_partition"):
        kwargs["execution_partition"] = start["execution_partition"]
    if start.get("pipeline_run_id") is not None:
        kwargs["pipeline_run_id"] = start["pipeline_run_id"]
    kwargs.setdefault("event", {})
    kwargs.setdefault("context", {})
    kwargs["configuration"] = block.get("configuration") or {}
    kwargs["pipeline_uuid"] = start["pipeline_uuid"]
    kwargs["block_uuid"] = block["uuid"]
    kwargs["repo_path"] = start["repo_path"]
    kwargs["logger"] = BlockLogger(session, block["uuid"])
    kwargs["retry"] = {"attempts": start.get("attempt", 1)}
    return kwargs


def _parameter_counts(function):
    """(parameters that are not *args/**kwargs, takes *args or **kwargs, takes **kwargs)."""
    params = inspect.signature(function).parameters.values()
    variadic = [p for p in params if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    named = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    takes_kwargs = any(p.kind == p.VAR_KEYWORD for p in params)
    return len(named), bool(variadic), takes_kwargs


def _validate_arity(block, function, inputs):
    """Mage's Block._validate_execution, with its wording."""
    num_args, has_var_args, _ = _parameter_counts(function)
    num_inputs = len(inputs)
    name = getattr(function, "__name__", "the function")
    if num_args > num_inputs:
        raise BlockFailure(
            "Block %s may be missing upstream dependencies: its decorated function %s expects "
            "%d positional arguments but the block has %d upstream blocks (one argument per "
            "upstream); add the missing upstream blocks or remove arguments."
            % (block["uuid"], name, num_args, num_inputs))
    if num_args < num_inputs and not has_var_args:
        raise BlockFailure(
            "Block %s has too many input arguments for its decorated function %s: it takes %d "
            "but the block has %d upstream blocks; add parameters (or *args) or remove "
            "upstream blocks." % (block["uuid"], name, num_args, num_inputs))


def _call(function, inputs, kwargs):
    _, _, takes_kwargs = _parameter_counts(function)
    if takes_kwargs and kwargs:
        return function(*inputs, **kwargs)
    return function(*inputs)


def _split_outputs(value):
    """Mage's normalisation: None -> none, tuple/list -> one output per element, else one."""
    if value is None:
        return []
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, list):
        return value
    return [value]


def _send_outputs(session, outputs):
    import pandas as pd

    for index, value in enumerate(outputs):
        if isinstance(value, pd.Series):
            value = value.to_frame()
        if isinstance(value, pd.DataFrame):
            if len(value.columns) == 0 and isinstance(value.index, pd.RangeIndex):
                # A table needs a column: the rows survive as an explicit index.
                value = value.set_axis(pd.Index(list(value.index), dtype="int64"), axis=0)
            began = time.perf_counter()
            fd = _kiln.dataframe_to_frame(value)
            session.log("DEBUG", "output_%d: frame of %d rows written in %.0f ms"
                        % (index, len(value), (time.perf_counter() - began) * 1000))
            try:
                session.send({"op": "output", "index": index, "kind": "frame"}, [fd])
            finally:
                _kiln.close_fd(fd)
        else:
            variable_type = "iterable" if isinstance(value, (list, tuple, set)) else None
            session.send({"op": "output", "index": index, "kind": "json",
                          "value": to_jsonable(value), "variable_type": variable_type})


def _run_tests(block, tests, outputs, kwargs):
    """Mage's Block.run_tests: only AssertionError counts as a failed test."""
    if not tests:
        return
    failures = 0
    for test in tests:
        try:
            _, _, takes_kwargs = _parameter_counts(test)
            if takes_kwargs:
                test(*outputs, **kwargs)
            else:
                test(*outputs)
        except AssertionError:
            failures += 1
            print("FAIL: %s (block: %s)" % (test.__name__, block["uuid"]))
            print(_user_traceback(sys.exc_info()[1]), end="")
    print("%d/%d tests passed." % (len(tests) - failures, len(tests)))
    if failures:
        raise BlockFailure("Failed to pass tests for block %s" % block["uuid"])


def _source(block, repo_path):
    if block.get("content") is not None:
        return block["content"], "<content of block %s>" % block["uuid"]
    path = block["file_path"]
    with open(path, encoding="utf-8") as f:
        return f.read(), path


_RUNTIME_DIR = __file__.rsplit("/", 1)[0] + "/"


def _user_traceback(error):
    """The traceback without kiln_runtime's own frames: the block's code is what users debug."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_RUNTIME_DIR):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb))


def _one_line(error):
    if isinstance(error, BlockFailure):
        return str(error)
    if isinstance(error, SyntaxError):
        where = "%s, line %s" % (error.filename, error.lineno)
        return "SyntaxError: %s (%s)" % (error.msg, where)
    text = str(error).strip().splitlines()
    return "%s: %s" % (type(error).__name__, text[0] if text else "")


def _check_pyarrow(session):
    """A real pyarrow (a venv's) bypasses Kiln's stores: the runner warns under --local-cloud."""
    pa = sys.modules.get("pyarrow")
    if pa is not None and getattr(pa, "__version__", None) != "0.0.0+kiln":
        session.call("objects.real_pyarrow", {"version": str(getattr(pa, "__version__", "?")),
                                              "file": str(getattr(pa, "__file__", ""))})


def run_block(session, start):
    block = start["block"]
    try:
        inputs = _load_inputs(start, session)
        kwargs = _keyword_arguments(start, session)
        source, filename = _source(block, start["repo_path"])

        collector, tests, preprocessers = _Collector(), _Collector(), _Collector()
        namespace = {block["type"]: collector, "test": tests, "preprocesser": preprocessers}
        for position, (uuid, value) in enumerate(zip(block.get("upstream_blocks", []), inputs)):
            namespace[uuid] = value
            namespace["df_%d" % (position + 1)] = value
        exec(compile(source, filename, "exec"), namespace)
        _check_pyarrow(session)

        if not collector.functions:
            raise BlockFailure(
                "Block %s does not have any decorated functions. Make sure that a function in "
                "the block is decorated with @%s." % (block["uuid"], block["type"]))
        function = collector.functions[0]
        for preprocesser in preprocessers.functions:
            _call(preprocesser, inputs, kwargs)
        _validate_arity(block, function, inputs)
        outputs = _split_outputs(_call(function, inputs, kwargs))
        _send_outputs(session, outputs)
        if start.get("run_tests", True):
            _run_tests(block, tests.functions, outputs, kwargs)
        session.send({"op": "result", "status": "completed"})
    except BaseException as error:  # noqa: B902 - SystemExit leaves through the host
        if isinstance(error, (SystemExit, KeyboardInterrupt)):
            raise
        trace = "" if isinstance(error, BlockFailure) else _user_traceback(error)
        if trace:
            session.log("ERROR", trace.rstrip("\n"))
        session.send({"op": "result", "status": "failed", "error": _one_line(error),
                      "traceback": trace})
