// orchestration/stored_run.h: executing a pipeline run that lives in the metadata store, so
// that it survives the process: every block run transition is committed to the store before
// the executor goes on, the run's heartbeat is refreshed while it runs, and a run left behind
// by a dead process is resumed where it stopped (completed blocks are not run again; blocks
// that were running are run again: at-least-once, as Airflow and Temporal promise).
//
//   store::PipelineRun run = store.CreatePipelineRun(...);   // status initial
//   run::PipelineRunRecord record = ExecuteStoredRun(store, run.id, context, options);
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "kiln/run/pipeline_run.h"
#include "kiln/store/metadata_store.h"

namespace kiln::orchestration {

//! What a stored run needs besides the store: the same references a run::PipelineRun takes.
struct RunContext {
  const project::Project& project;
  const project::Pipeline& pipeline;
  const config::IoConfig& io_config;
  const Environment& env;
  blocks::BlockServices services;
};

//! How often a running run's heartbeat is written; a run whose heartbeat is older than
//! kStaleAfter belongs to a process that died.
inline constexpr std::chrono::seconds kHeartbeatEvery{5};
inline constexpr std::chrono::seconds kStaleAfter{30};

//! Called with the run::PipelineRun once it exists (e.g. to wire Ctrl-C to Cancel), and with
//! nullptr when it is gone.
using RunHandle = std::function<void(run::PipelineRun*)>;

//! Runs pipeline run `run_id` of `store` to the end. The run must be "initial" (a new run) or
//! "running" (resumed after its process died, or retried: the caller moves a failed or cancelled
//! run to "running" first, so a run cancelled meanwhile is never started). Its completed block
//! runs whose outputs are all still stored are kept; the others are reset to "initial" and run.
//! `options.variables` must hold the run's variables and execution_date (see RunVariablesOf);
//! options.observer, when set, still sees every event. Sets the run "running" first and
//! completed / failed / cancelled at the end, each committed. Throws store::StoreError
//! (nothing run) when the run does not exist or is already completed, and run::RunError when
//! the pipeline cannot run (the run is then marked failed with that message).
run::PipelineRunRecord ExecuteStoredRun(store::MetadataStore& store, int64_t run_id,
                                        const RunContext& context, run::RunOptions options,
                                        const RunHandle& handle = nullptr);

//! The block runs of `run_id` that a resumed run need not run again: completed, with as many
//! outputs stored as they recorded (metrics "outputs"; a Python block's outputs are written in
//! the background and may be missing after a crash).
std::vector<std::string> ReusableBlocks(store::MetadataStore& store, int64_t run_id,
                                        const data::OutputStore& outputs);

}  // namespace kiln::orchestration
