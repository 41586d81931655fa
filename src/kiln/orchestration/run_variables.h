// orchestration/run_variables.h: the variables a stored pipeline run executes with (spec 1.6,
// 3.5), for whoever launches it (the server's worker threads, `kiln run --resume`, tests).
//
//   store::PipelineRun run = *store.GetPipelineRun(id);
//   options.variables = RunVariablesOf(run, pipeline,
//   store.GetSchedule(*run.pipeline_schedule_id)); ExecuteStoredRun(store, id, context, options);
#pragma once

#include <optional>
#include <string>

#include "kiln/blocks/block_runner.h"
#include "kiln/project/pipeline.h"
#include "kiln/store/records.h"

namespace kiln::orchestration {

//! The variables blocks of `run` see (spec 3.5 PipelineRun.get_variables):
//!   values = pipeline globals < trigger `variables` < run `variables`, then each run
//!   `event_variables` key that is still absent (spec 1.6); the keys the executor derives itself
//!   (ds, hr, execution_date, execution_partition) are taken out of `values`;
//!   execution_date = the run's, as a naive UTC value (as Mage's SQLite rows and `kiln run`);
//!   env = "prod" (Mage sets it for every triggered run);
//!   execution_partition = run variables' `execution_partition` when it is text (API runs carry
//!   "<schedule id>/<YYYYmmddTHHMMSS_ffffff>"), else "<schedule id>/<YYYYmmddTHHMMSS>" of the
//!   execution date, or "" for a run without trigger (an ad-hoc `kiln run`);
//!   pipeline_run_id = run.id.
//! `schedule` is the run's trigger when it still exists.
blocks::RunVariables RunVariablesOf(const store::PipelineRun& run,
                                    const project::Pipeline& pipeline,
                                    const std::optional<store::PipelineSchedule>& schedule);

//! The run's execution partition (§3.5), the folder its outputs and logs go under: the run
//! variables' `execution_partition` when it is text, else DefaultExecutionPartition for a
//! triggered run, else "" (an ad-hoc run).
std::string ExecutionPartitionOf(const store::PipelineRun& run);

//! Mage's default execution_partition of a triggered run (spec 3.5): "<schedule id>/" followed by
//! the execution date as %Y%m%dT%H%M%S in UTC.
std::string DefaultExecutionPartition(int64_t schedule_id, const DateTime& execution_date);

}  // namespace kiln::orchestration
