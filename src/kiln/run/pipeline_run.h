// run/pipeline_run.h: executing one pipeline run (§11): blocks in dependency order, independent
// branches in parallel on a pool of worker threads, retries and timeouts per block, outputs
// stored in Mage's variables layout, statuses as Mage names them.
//
// Handoff: a block's query is computed once, straight into its Parquet output
// (data/output_store.h); the block is `completed` when that output is complete on disk, and its
// downstream blocks start at once, reading the Parquet files. Memory stays bounded by what one
// query needs, whatever the size of the data, and every completed block's output survives a crash.
#pragma once

#include <memory>
#include <set>
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
  //! Resuming a run: these blocks completed in an earlier attempt and are not run again; their
  //! stored outputs (OutputStore::ListOutputs) feed their downstream blocks.
  std::set<std::string> resume_completed;
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
  //! the pipeline has errors (cycles, unknown upstreams, missing files, unsupported blocks,
  //! add-on blocks included) or its outputs and logs folders cannot be written.
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
