#include "kiln/orchestration/api_runs.h"

#include <cctype>

namespace kiln::orchestration {

using nlohmann::json;

namespace {

// Compares a secret in time that does not depend on where the texts differ.
bool SameSecret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

}  // namespace

ApiRunRequest ParseApiTriggerBody(std::string_view body) {
  ApiRunRequest request;
  size_t first = 0;
  while (first < body.size() && std::isspace(static_cast<unsigned char>(body[first]))) ++first;
  if (first == body.size()) return request;
  json doc;
  try {
    doc = json::parse(body);
  } catch (const json::parse_error& e) {  // its text says where (byte position) and why
    throw ApiTriggerError(std::string("malformed JSON body: ") + e.what());
  }
  if (!doc.is_object()) {
    throw ApiTriggerError(
        "the request body must be a JSON object such as "
        "{\"pipeline_run\": {\"variables\": {...}}}");
  }
  for (const auto& [key, value] : doc.items()) {
    if (key != "pipeline_run") request.event_variables[key] = value;
  }
  const auto run = doc.find("pipeline_run");
  if (run == doc.end() || run->is_null()) return request;
  if (!run->is_object()) throw ApiTriggerError("pipeline_run must be a JSON object");
  if (const auto vars = run->find("variables"); vars != run->end() && !vars->is_null()) {
    if (!vars->is_object()) throw ApiTriggerError("pipeline_run.variables must be a JSON object");
    request.variables = *vars;
  }
  if (const auto date = run->find("execution_date"); date != run->end() && !date->is_null()) {
    std::optional<DateTime> parsed =
        date->is_string() ? DateTime::Parse(date->get<std::string>()) : std::nullopt;
    if (!parsed) {
      throw ApiTriggerError("pipeline_run.execution_date " + date->dump() +
                            " is not an ISO 8601 datetime such as 2024-01-05T00:00:00");
    }
    request.execution_date = DateTime(parsed->utc_micros(), 0);
  }
  return request;
}

void CheckApiTrigger(const store::PipelineSchedule& schedule, std::string_view token) {
  if (schedule.schedule_type != "api") {
    throw ApiTriggerError("This endpoint is only supported for API trigger.");
  }
  if (schedule.token.empty()) {
    throw ApiTriggerError("Pipeline schedule ID " + std::to_string(schedule.id) + " has no token.");
  }
  if (!SameSecret(token, schedule.token)) {
    throw ApiTriggerError("Invalid token for pipeline schedule ID " + std::to_string(schedule.id) +
                          ".");
  }
}

store::PipelineRun CreateApiRun(store::MetadataStore& store, const project::Project& project,
                                int64_t schedule_id, const ApiRunRequest& request,
                                const DateTime& now) {
  std::optional<store::PipelineSchedule> schedule = store.GetSchedule(schedule_id);
  if (!schedule) {
    throw ApiTriggerError("Record not found: pipeline schedule ID " + std::to_string(schedule_id));
  }
  const project::Pipeline pipeline = project.LoadPipeline(schedule->pipeline_uuid);
  std::vector<std::string> blocks;
  for (const project::BlockSpec* b : pipeline.ExecutableBlocks()) blocks.push_back(b->uuid);

  store::PipelineRun run;
  run.pipeline_schedule_id = schedule->id;
  run.pipeline_uuid = schedule->pipeline_uuid;
  run.execution_date = request.execution_date.value_or(DateTime(now.utc_micros(), 0));
  run.variables = schedule->variables.is_object() ? schedule->variables : json::object();
  run.variables.update(request.variables);
  run.variables["execution_partition"] =
      std::to_string(schedule->id) + "/" +
      DateTime(run.execution_date.utc_micros()).Strftime("%Y%m%dT%H%M%S_%f");
  run.event_variables = request.event_variables;
  store::PipelineRun created = store.CreatePipelineRun(run, blocks, now);

  if (schedule->status != "active") {  // spec 2.8: a call activates an inactive trigger
    schedule->status = "active";
    schedule->last_enabled_at = now;
    store.UpdateSchedule(*schedule, now);
  }
  return created;
}

}  // namespace kiln::orchestration
