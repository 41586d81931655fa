#include "kiln/orchestration/run_variables.h"

namespace kiln::orchestration {

std::string DefaultExecutionPartition(int64_t schedule_id, const DateTime& execution_date) {
  return std::to_string(schedule_id) + "/" +
         DateTime(execution_date.utc_micros()).Strftime("%Y%m%dT%H%M%S");
}

std::string ExecutionPartitionOf(const store::PipelineRun& run) {
  if (const auto it = run.variables.find("execution_partition");
      it != run.variables.end() && it->is_string()) {
    return it->get<std::string>();
  }
  if (!run.pipeline_schedule_id) return "";
  return DefaultExecutionPartition(*run.pipeline_schedule_id, run.execution_date);
}

blocks::RunVariables RunVariablesOf(const store::PipelineRun& run,
                                    const project::Pipeline& pipeline,
                                    const std::optional<store::PipelineSchedule>& schedule) {
  blocks::RunVariables vars;
  if (pipeline.variables().is_object()) vars.values = pipeline.variables();
  if (schedule && schedule->variables.is_object()) vars.values.update(schedule->variables);
  if (run.variables.is_object()) vars.values.update(run.variables);
  if (run.event_variables.is_object()) {
    for (const auto& [key, value] : run.event_variables.items()) {
      if (!vars.values.contains(key)) vars.values[key] = value;
    }
  }
  if (const auto it = vars.values.find("execution_partition");
      it != vars.values.end() && it->is_string()) {
    vars.execution_partition = it->get<std::string>();
  } else {
    vars.execution_partition = ExecutionPartitionOf(run);
  }
  for (const char* derived : {"ds", "hr", "execution_date", "execution_partition"}) {
    vars.values.erase(derived);
  }
  vars.execution_date = DateTime(run.execution_date.utc_micros());
  vars.env = "prod";
  vars.pipeline_run_id = run.id;
  return vars;
}

}  // namespace kiln::orchestration
