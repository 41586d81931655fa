// run/pipeline_run.h: executing one pipeline run (§11): blocks in dependency order, independent
// branches in parallel on a pool of worker threads, retries and timeouts per block, outputs
// stored in Mage's variables layout, statuses as Mage names them.
//
// Handoff: a block starts as soon as its last upstream has *produced* its output (an in-memory
// DuckDB table); storing that output as Parquet happens in the background and the upstream
// becomes `completed` when it is stored. In-memory outputs are dropped once stored and no
// longer needed downstream; later readers use the Parquet files.
#pragma once

#include <memory>
#include <string>

#include "kiln/blocks/block_runner.h"
#include "kiln/common/error.h"
#include "kiln/run/observer.h"
#include "kiln/run/status.h"

namespace kiln::run {

//! A run could not start: the pipeline is invalid or holds blocks this build cannot run.
//! what() lists every problem, one per line, each naming the file, line and block.
class RunError : public Error {
 public:
  using Error::Error;
};

struct RunOptions {
  blocks::RunVariables variables;       //!< merged variables, execution_date, env, partition
  std::filesystem::path variables_dir;  //!< where outputs and logs go (already resolved)
  int max_parallel_blocks = 0;          //!< worker threads; 0 = the machine's cores
  bool fail_fast = false;               //!< cancel everything else when a block fails
  std::string run_key = "run";          //!< makes in-memory table names unique per run
  RunObserver* observer = nullptr;      //!< may be null
};

class PipelineRun {
 public:
  //! All references must outlive the run.
  PipelineRun(const project::Project& project, const project::Pipeline& pipeline,
              const config::IoConfig& io_config, const Environment& env,
              blocks::BlockServices services, RunOptions options);
  ~PipelineRun();
  PipelineRun(const PipelineRun&) = delete;
  PipelineRun& operator=(const PipelineRun&) = delete;

  //! Checks the pipeline, then runs it to the end. Throws RunError before running anything when
  //! the pipeline has errors (cycles, unknown upstreams, missing files, unsupported blocks).
  //! Block failures do not throw: they are in the returned record. A failed block marks its
  //! downstream `upstream_failed`; independent branches go on unless fail_fast.
  PipelineRunRecord Execute();

  //! Stops the run from any thread: pending blocks become `cancelled`, running ones are
  //! interrupted and become `cancelled`. Execute() then returns with status cancelled.
  void Cancel(const std::string& reason);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace kiln::run
