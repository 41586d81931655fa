// blocks/python/python_block.h: Python blocks (language: python), run as Mage runs them
// (mage-block-execution.md §3 to §5), each in a child of the project's warm kiln-python host.
//
// One run of a block: the runner writes each upstream output as a frame (python/frame.h) or a
// JSON value, spawns a child with entry kiln_runtime:main and sends it a "start" message
// (protocol: python/kiln_runtime/__init__.py), then serves the child until it reports its
// result: log lines go to the block's log, outputs are stored in the output store as they
// arrive, calls (mage_ai's PostgreSQL, io_config, variables, files) are answered by RunnerCalls.
// The child's stdout and stderr (print(), tracebacks) go to the block's log line by line.
#pragma once

#include "kiln/blocks/block_runner.h"

namespace kiln::blocks {

class PythonBlockRunner : public BlockRunner {
 public:
  //! Runs one attempt. Outputs: one per element of the decorated function's return value (a
  //! tuple or list splits, None stores none), DataFrames as Parquet, other values as data.json.
  //! Throws BlockError naming the block: the Python exception's last line (its traceback is in
  //! the log), a failed @test ("Failed to pass tests for block x"), a child that died ("killed by
  //! signal 11 (Segmentation fault)", "exited with status 3"), or the cancellation reason.
  BlockResult Run(BlockInvocation& invocation) override;
};

}  // namespace kiln::blocks
