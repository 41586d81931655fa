// orchestration/run_limits.h: which `initial` pipeline runs may start now, under Mage's
// concurrency limits (spec 2.1 steps 5.2, 5.5, 6 and 8; 2.6). Pure: the scheduler counts the runs
// in the store and acts on the plan.
//
// Limits, as Mage applies them:
//   - per trigger: settings.pipeline_run_limit, else the pipeline's
//     concurrency_config.pipeline_run_limit, else CONCURRENCY_CONFIG_PIPELINE_RUN_LIMIT, else
//     none. Quota = limit - the trigger's running runs; its initial runs, oldest execution_date
//     first, take the quota; the rest are excluded (a quota of 0 or less starts none).
//   - per pipeline: concurrency_config.pipeline_run_limit_all_triggers - the pipeline's running
//     runs (all triggers), floored at 0, cuts the runs chosen above (oldest execution_date first).
//   - concurrency_config.on_pipeline_run_limit_reached: `wait` (default) leaves excluded runs
//     initial for a later pass; `skip` cancels them.
// Only `running` runs count against a limit (runs handed to a launcher that have not started yet
// count as running: the caller adds them).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "kiln/common/datetime.h"
#include "kiln/project/pipeline.h"

namespace kiln::orchestration {

//! What happens to runs over a limit (concurrency_config.on_pipeline_run_limit_reached).
enum class OnRunLimitReached { kWait, kSkip };

//! A pipeline's `concurrency_config` (spec 2.6), the run limits only.
struct ConcurrencyConfig {
  std::optional<int64_t> pipeline_run_limit;               //!< running runs per trigger
  std::optional<int64_t> pipeline_run_limit_all_triggers;  //!< running runs of the pipeline
  OnRunLimitReached on_limit_reached = OnRunLimitReached::kWait;
};

//! Reads `concurrency_config` from the pipeline's metadata.yaml (its raw keys); absent keys and
//! null values are no limit. Throws OrchestrationError "<metadata.yaml>: concurrency_config.<key>:
//! ..." for a limit that is not a whole number >= 0 or a policy other than wait / skip.
ConcurrencyConfig ConcurrencyConfigOf(const project::Pipeline& pipeline);

//! The limit of running runs for one trigger (spec 2.1 step 5.2): its `settings` (a JSON object)
//! pipeline_run_limit when it is a whole number, else the pipeline's, else `default_limit` (the
//! CONCURRENCY_CONFIG_PIPELINE_RUN_LIMIT environment variable); nullopt: unlimited.
std::optional<int64_t> TriggerRunLimit(const nlohmann::json& trigger_settings,
                                       const ConcurrencyConfig& config,
                                       std::optional<int64_t> default_limit);

//! One `initial` run waiting to start.
struct WaitingRun {
  int64_t id = 0;
  DateTime execution_date;
};

//! One trigger's runs, as counted by the caller.
struct TriggerRuns {
  std::optional<int64_t> run_limit;  //!< TriggerRunLimit(); nullopt: unlimited
  int64_t running = 0;               //!< its runs that are running (or being launched)
  std::vector<WaitingRun> initial;   //!< its initial runs, any order
};

//! The decision for one pipeline: which runs start now, which are over a limit.
struct RunStartPlan {
  std::vector<int64_t> start;     //!< oldest execution_date first
  std::vector<int64_t> excluded;  //!< cancelled under kSkip, left waiting under kWait
};

//! Plans the starts of one pipeline (spec 2.1 steps 5.5 and 6): `triggers` are all its active
//! triggers, `pipeline_running` its running runs across every trigger. Ties in execution_date
//! keep run id order.
RunStartPlan PlanRunStarts(const std::vector<TriggerRuns>& triggers,
                           const ConcurrencyConfig& config, int64_t pipeline_running);

}  // namespace kiln::orchestration
