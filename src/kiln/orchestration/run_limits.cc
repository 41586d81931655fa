#include "kiln/orchestration/run_limits.h"

#include <algorithm>

#include "kiln/orchestration/error.h"

namespace kiln::orchestration {
namespace {

std::optional<int64_t> LimitOf(const nlohmann::json& config, const char* key,
                               const project::Pipeline& pipeline) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer() || it->get<int64_t>() < 0) {
    throw OrchestrationError(pipeline.metadata_path().string() + ": concurrency_config." + key +
                             " must be a whole number of runs (0 or more), not " + it->dump());
  }
  return it->get<int64_t>();
}

// Oldest execution_date first; equal dates in id order.
void SortOldestFirst(std::vector<WaitingRun>& runs) {
  std::sort(runs.begin(), runs.end(), [](const WaitingRun& a, const WaitingRun& b) {
    const int64_t ta = a.execution_date.utc_micros(), tb = b.execution_date.utc_micros();
    return ta != tb ? ta < tb : a.id < b.id;
  });
}

}  // namespace

ConcurrencyConfig ConcurrencyConfigOf(const project::Pipeline& pipeline) {
  ConcurrencyConfig config;
  auto it = pipeline.raw().find("concurrency_config");
  if (it == pipeline.raw().end() || it->is_null()) return config;
  if (!it->is_object()) {
    throw OrchestrationError(pipeline.metadata_path().string() +
                             ": concurrency_config must be a mapping");
  }
  config.pipeline_run_limit = LimitOf(*it, "pipeline_run_limit", pipeline);
  config.pipeline_run_limit_all_triggers =
      LimitOf(*it, "pipeline_run_limit_all_triggers", pipeline);
  auto policy = it->find("on_pipeline_run_limit_reached");
  if (policy != it->end() && !policy->is_null()) {
    if (*policy == "skip") {
      config.on_limit_reached = OnRunLimitReached::kSkip;
    } else if (*policy != "wait") {
      throw OrchestrationError(pipeline.metadata_path().string() +
                               ": concurrency_config.on_pipeline_run_limit_reached must be wait "
                               "or skip, not " +
                               policy->dump());
    }
  }
  return config;
}

std::optional<int64_t> TriggerRunLimit(const nlohmann::json& trigger_settings,
                                       const ConcurrencyConfig& config,
                                       std::optional<int64_t> default_limit) {
  if (trigger_settings.is_object()) {
    auto it = trigger_settings.find("pipeline_run_limit");
    if (it != trigger_settings.end() && it->is_number_integer()) return it->get<int64_t>();
  }
  if (config.pipeline_run_limit) return config.pipeline_run_limit;
  return default_limit;
}

RunStartPlan PlanRunStarts(const std::vector<TriggerRuns>& triggers,
                           const ConcurrencyConfig& config, int64_t pipeline_running) {
  RunStartPlan plan;
  std::vector<WaitingRun> chosen;
  for (const TriggerRuns& trigger : triggers) {
    std::vector<WaitingRun> initial = trigger.initial;
    SortOldestFirst(initial);
    size_t quota = initial.size();
    if (trigger.run_limit) {
      quota = static_cast<size_t>(std::clamp<int64_t>(*trigger.run_limit - trigger.running, 0,
                                                      static_cast<int64_t>(initial.size())));
    }
    chosen.insert(chosen.end(), initial.begin(), initial.begin() + quota);
    for (size_t i = quota; i < initial.size(); ++i) plan.excluded.push_back(initial[i].id);
  }
  SortOldestFirst(chosen);
  size_t quota = chosen.size();
  if (config.pipeline_run_limit_all_triggers) {
    quota = static_cast<size_t>(
        std::clamp<int64_t>(*config.pipeline_run_limit_all_triggers - pipeline_running, 0,
                            static_cast<int64_t>(chosen.size())));
  }
  for (size_t i = 0; i < chosen.size(); ++i) {
    (i < quota ? plan.start : plan.excluded).push_back(chosen[i].id);
  }
  return plan;
}

}  // namespace kiln::orchestration
