// orchestration/api_runs.h: runs created by an API trigger call (spec 5.4), for the server's
// `POST /api/pipeline_schedules/<id>/pipeline_runs/<token>` and `.../api_trigger` handlers.
//
//   store::PipelineSchedule s = ...;                        // found by id, else record_not_found
//   CheckApiTrigger(s, token);                              // throws ApiTriggerError
//   store::PipelineRun run = CreateApiRun(store, project, s.id, ParseApiTriggerBody(body), now);
//   scheduler.Wake();                                       // starts it under the run limits
//   reply {"pipeline_run": run}                             // status "initial", as Mage answers
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "kiln/common/datetime.h"
#include "kiln/orchestration/error.h"
#include "kiln/project/project.h"
#include "kiln/store/metadata_store.h"

namespace kiln::orchestration {

//! An API trigger call is refused (spec 5.4 step 2). what() is Mage's message, e.g. "Invalid
//! token for pipeline schedule ID 3.".
class ApiTriggerError : public OrchestrationError {
 public:
  using OrchestrationError::OrchestrationError;
};

//! What an API trigger call asks for (spec 5.4 steps 3-4).
struct ApiRunRequest {
  //! `pipeline_run.variables`: the run's variables, over the trigger's. An object.
  nlohmann::json variables = nlohmann::json::object();
  //! Every top-level key of the body except `pipeline_run` (`{"env": "staging"}`). An object.
  nlohmann::json event_variables = nlohmann::json::object();
  //! `pipeline_run.execution_date`; nullopt: the time of the call.
  std::optional<DateTime> execution_date;
};

//! Reads a request body (spec 5.4 step 3): empty or whitespace is no payload; else a JSON object
//! whose `pipeline_run` (an object, optional) holds `variables` (an object) and
//! `execution_date` (ISO 8601; naive is UTC), and whose other keys are event variables. Throws
//! ApiTriggerError naming what is wrong (not JSON, not an object, a bad execution_date).
ApiRunRequest ParseApiTriggerBody(std::string_view body);

//! Mage's checks before a run is created (spec 5.4 step 2): the trigger is an `api` trigger
//! ("This endpoint is only supported for API trigger."), has a token, and `token` equals it
//! ("Invalid token for pipeline schedule ID <id>."). Throws ApiTriggerError.
void CheckApiTrigger(const store::PipelineSchedule& schedule, std::string_view token);

//! Creates the run of an API call on trigger `schedule_id` at `now` (UTC) (spec 5.4 step 5):
//! status initial, with one block run per executable block of the trigger's pipeline;
//! execution_date = request.execution_date or now; variables = the trigger's variables with the
//! request's written over them, plus execution_partition "<id>/<YYYYmmddTHHMMSS_ffffff>" of the
//! execution date; event_variables = the request's. An inactive trigger is set active
//! (last_enabled_at = now; spec 2.8). The run is left for the scheduler to start (Wake() it).
//! Throws ApiTriggerError when the trigger does not exist, project::ProjectError when its
//! pipeline cannot be loaded, store::StoreError.
store::PipelineRun CreateApiRun(store::MetadataStore& store, const project::Project& project,
                                int64_t schedule_id, const ApiRunRequest& request,
                                const DateTime& now);

}  // namespace kiln::orchestration
