#include "kiln/server/api_server.h"

#include <httplib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "kiln/common/names.h"
#include "kiln/data/output_store.h"
#include "kiln/orchestration/api_runs.h"
#include "kiln/orchestration/backfill_runs.h"
#include "kiln/orchestration/error.h"
#include "kiln/orchestration/run_cancel.h"
#include "kiln/orchestration/run_variables.h"
#include "kiln/orchestration/schedule_interval.h"
#include "kiln/project/error.h"
#include "kiln/server/api_json.h"

namespace kiln::server {
namespace {

using nlohmann::json;

//! A request the API answers with an error: HTTP status, Mage's error type, the message.
struct ApiError : Error {
  ApiError(int status, std::string type, const std::string& message)
      : Error(message), status(status), type(std::move(type)) {}
  int status;
  std::string type;
};

ApiError NotFound(const std::string& what) {
  return {404, "record_not_found", what};
}
ApiError Invalid(const std::string& what) {
  return {400, "record_invalid", what};
}

json Body(const httplib::Request& req) {
  if (req.body.empty()) return json::object();
  json body;
  try {
    body = json::parse(req.body);
  } catch (const json::parse_error& e) {  // its text says where (byte position) and why
    throw ApiError(400, "bad_request", std::string("malformed JSON body: ") + e.what());
  }
  if (!body.is_object()) throw ApiError(400, "bad_request", "the JSON body must be an object");
  return body;
}

int64_t Id(const std::string& text) {
  try {
    return std::stoll(text);
  } catch (const std::exception&) {
    throw Invalid("'" + text + "' is not an id");
  }
}

std::optional<DateTime> ParseTime(const json& value, const std::string& key) {
  if (value.is_null()) return std::nullopt;
  if (!value.is_string()) throw Invalid(key + " must be a string datetime");
  std::optional<DateTime> t = DateTime::Parse(value.get<std::string>());
  if (!t) throw Invalid(key + " '" + value.get<std::string>() + "' is not an ISO 8601 datetime");
  return DateTime(t->utc_micros(), 0);
}

json ObjectAt(const json& body, const std::string& key) {
  if (!body.contains(key) || body[key].is_null()) return json::object();
  if (!body[key].is_object()) throw Invalid(key + " must be an object");
  return body[key];
}

DateTime Now() {
  return DateTime::NowUtcPrecise();
}

}  // namespace

struct ApiServer::Impl {
  explicit Impl(ApiContext c) : ctx(std::move(c)) {}

  ApiContext ctx;
  httplib::Server http;

  // ---- helpers ----------------------------------------------------------------------------
  store::PipelineSchedule Schedule(int64_t id) {
    std::optional<store::PipelineSchedule> s = ctx.store.GetSchedule(id);
    if (!s) throw NotFound("PipelineSchedule " + std::to_string(id) + " not found");
    return *s;
  }
  store::PipelineRun Run(int64_t id) {
    std::optional<store::PipelineRun> r = ctx.store.GetPipelineRun(id);
    if (!r) throw NotFound("PipelineRun " + std::to_string(id) + " not found");
    return *r;
  }
  project::Pipeline Pipeline(const std::string& uuid) {
    try {
      return ctx.project.LoadPipeline(uuid);
    } catch (const project::ProjectError& e) {
      throw NotFound(e.what());
    }
  }

  json ScheduleWithCounts(const store::PipelineSchedule& s) {
    store::RunFilter f;
    f.pipeline_schedule_id = s.id;
    f.limit = 1;
    std::vector<store::PipelineRun> last = ctx.store.ListPipelineRuns(f);
    json extra = {{"pipeline_runs_count", ctx.store.CountPipelineRuns(f)},
                  {"last_pipeline_run_status", last.empty() ? json(nullptr) : json(last[0].status)},
                  {"next_pipeline_run_date", nullptr}};
    if (s.status == "active" && !s.schedule_interval.empty()) {
      try {
        orchestration::TriggerTiming timing{
            .interval = orchestration::ScheduleInterval::Parse(s.schedule_interval),
            .start_time = s.start_time,
            .last_enabled_at = s.last_enabled_at};
        extra["next_pipeline_run_date"] = TimeJson(orchestration::NextExecutionDate(timing, Now()));
      } catch (const orchestration::OrchestrationError&) {
      }
    }
    return ScheduleJson(s, extra);
  }

  //! Applies the writable fields of a pipeline_schedule payload (§5.3) to `s`.
  void ApplySchedule(const json& p, store::PipelineSchedule& s) {
    auto text = [&](const char* key, std::string& into) {
      if (!p.contains(key)) return;
      if (p[key].is_null()) {
        into.clear();
      } else if (p[key].is_string()) {
        into = p[key];
      } else {
        throw Invalid(std::string(key) + " must be a string");
      }
    };
    text("name", s.name);
    text("description", s.description);
    text("schedule_type", s.schedule_type);
    text("schedule_interval", s.schedule_interval);
    const std::string old_status = s.status;
    text("status", s.status);
    if (p.contains("start_time")) s.start_time = ParseTime(p["start_time"], "start_time");
    if (p.contains("variables")) s.variables = ObjectAt(p, "variables");
    if (p.contains("settings")) s.settings = ObjectAt(p, "settings");
    if (p.contains("sla")) {
      if (p["sla"].is_null()) {
        s.sla_seconds.reset();
      } else if (p["sla"].is_number_integer() && p["sla"].get<int64_t>() >= 0) {
        s.sla_seconds = p["sla"].get<int64_t>();
      } else {
        throw Invalid("sla must be a number of seconds");
      }
    }
    if (s.schedule_type.empty()) s.schedule_type = "time";
    if (!s.schedule_interval.empty()) {
      try {
        orchestration::ScheduleInterval::Parse(s.schedule_interval);
      } catch (const orchestration::OrchestrationError& e) {
        throw Invalid(std::string("schedule_interval: ") + e.what());
      }
    }
    if (s.status == "active" && old_status != "active") s.last_enabled_at = Now();
  }

  //! A run of trigger `s` asked for by an API call (§5.4): created initial, then started by
  //! the scheduler under the run limits.
  json CreateRun(const store::PipelineSchedule& s, const httplib::Request& req) {
    orchestration::ApiRunRequest request;
    try {
      request = orchestration::ParseApiTriggerBody(req.body);
    } catch (const orchestration::ApiTriggerError& e) {
      throw ApiError(400, "bad_request", e.what());
    }
    store::PipelineRun run =
        orchestration::CreateApiRun(ctx.store, ctx.project, s.id, request, Now());
    if (ctx.on_runs_waiting) ctx.on_runs_waiting();
    return {{"pipeline_run", RunJson(run)}};
  }

  json RunDetail(const store::PipelineRun& run) {
    json j = RunJson(run);
    j["block_runs"] = BlockRuns(run);
    return j;
  }

  json BlockRuns(const store::PipelineRun& run) {
    std::string schedule_name;
    if (run.pipeline_schedule_id) {
      if (auto s = ctx.store.GetSchedule(*run.pipeline_schedule_id)) schedule_name = s->name;
    }
    json list = json::array();
    for (const auto& b : ctx.store.ListBlockRuns(run.id))
      list.push_back(BlockRunJson(b, run, schedule_name));
    return list;
  }

  json ListRuns(const httplib::Request& req, store::RunFilter f) {
    if (req.has_param("pipeline_uuid")) f.pipeline_uuid = req.get_param_value("pipeline_uuid");
    for (const char* key : {"status", "status[]"}) {
      if (!req.has_param(key)) continue;
      std::stringstream list(req.get_param_value(key));
      for (std::string s; std::getline(list, s, ',');) {
        if (!store::IsPipelineRunStatus(s)) throw Invalid("status '" + s + "' is not a run status");
        f.statuses.push_back(s);
      }
    }
    if (req.has_param("backfill_id")) f.backfill_id = Id(req.get_param_value("backfill_id"));
    f.limit = req.has_param("_limit") ? Id(req.get_param_value("_limit")) : 40;
    f.offset = req.has_param("_offset") ? Id(req.get_param_value("_offset")) : 0;
    json runs = json::array();
    for (const auto& r : ctx.store.ListPipelineRuns(f)) runs.push_back(RunJson(r));
    const int64_t count = ctx.store.CountPipelineRuns(f);
    return {{"pipeline_runs", runs},
            {"metadata", {{"count", count}, {"next", f.offset + f.limit < count}}}};
  }

  json UpdateRun(store::PipelineRun run, const json& body) {
    json p = ObjectAt(body, "pipeline_run");
    const std::string status = p.value("status", "");
    const std::string action = p.value("pipeline_run_action", "");
    if (status == "cancelled") {
      if (!ctx.runs.Cancel(run.id, "cancelled through the API")) {  // not executing here
        orchestration::CancelStoredRun(ctx.store, run.id, {"initial", "running"}, Now());
      }
    } else if (action == "retry_blocks") {
      if (run.status == "initial" || run.status == "running") {
        throw Invalid("pipeline run " + std::to_string(run.id) + " is " + run.status +
                      ": only a finished run can be retried");
      }
      if (p.contains("from_block_uuid")) {
        if (!p["from_block_uuid"].is_string()) throw Invalid("from_block_uuid must be a string");
        ResetFrom(run, p["from_block_uuid"].get<std::string>());
      }
      // Running again at once (started_at kept, §3.6); its completed blocks with stored outputs
      // are kept (stored_run.h).
      ctx.store.TransitionPipelineRun(run.id, {"failed", "cancelled", "completed"}, "running",
                                      Now());
      ctx.runs.Launch(run.id);
    } else {
      throw Invalid(
          "PUT pipeline_run takes {\"status\": \"cancelled\"} or "
          "{\"pipeline_run_action\": \"retry_blocks\"}");
    }
    return {{"pipeline_run", RunJson(Run(run.id))}};
  }

  //! Retry from a block: it and all its descendants run again (§3.6).
  void ResetFrom(const store::PipelineRun& run, const std::string& block_uuid) {
    project::Pipeline pipeline = Pipeline(run.pipeline_uuid);
    std::set<std::string> reset = {block_uuid};
    for (bool grew = true; grew;) {
      grew = false;
      for (const auto* b : pipeline.ExecutableBlocks()) {
        if (reset.count(b->uuid)) continue;
        for (const auto& up : b->upstream_blocks) {
          if (reset.count(up)) {
            reset.insert(b->uuid);
            grew = true;
            break;
          }
        }
      }
    }
    for (const auto& b : ctx.store.ListBlockRuns(run.id)) {
      if (reset.count(b.block_uuid) && b.status != "initial")
        ctx.store.TransitionBlockRun(b.id, {b.status}, "initial", Now());
    }
  }

  // ---- backfills (§4) ------------------------------------------------------------------------
  store::Backfill Backfill(int64_t id) {
    std::optional<store::Backfill> b = ctx.store.GetBackfill(id);
    if (!b) throw NotFound("Backfill " + std::to_string(id) + " not found");
    return *b;
  }

  json BackfillWithCounts(const store::Backfill& b) {
    store::RunFilter f;
    f.backfill_id = b.id;
    return BackfillJson(b, {{"total_run_count", ctx.store.CountPipelineRuns(f)}});
  }

  //! Applies the writable fields of a backfill payload (§4.1) to `b`.
  void ApplyBackfill(const json& p, store::Backfill& b) {
    if (p.contains("name")) {
      if (!p["name"].is_string()) throw Invalid("name must be a string");
      b.name = p["name"];
    }
    if (p.contains("start_datetime"))
      b.start_datetime = ParseTime(p["start_datetime"], "start_datetime");
    if (p.contains("end_datetime")) b.end_datetime = ParseTime(p["end_datetime"], "end_datetime");
    if (p.contains("interval_type")) {
      if (!p["interval_type"].is_string()) throw Invalid("interval_type must be a string");
      b.interval_type = p["interval_type"];
    }
    if (p.contains("interval_units")) {
      if (!p["interval_units"].is_number_integer())
        throw Invalid("interval_units must be an integer");
      b.interval_units = p["interval_units"];
    }
    if (p.contains("variables")) b.variables = ObjectAt(p, "variables");
    if (p.contains("settings")) b.settings = ObjectAt(p, "settings");
  }

  //! Another started backfill of the same pipeline whose window meets `b`'s would run the same
  //! execution dates twice: refused.
  void RefuseOverlap(const store::Backfill& b) {
    if (!b.start_datetime || !b.end_datetime) return;
    for (const store::Backfill& other : ctx.store.ListBackfills(b.pipeline_uuid)) {
      if (other.id == b.id || (other.status != "initial" && other.status != "running")) continue;
      if (!other.start_datetime || !other.end_datetime) continue;
      if (other.start_datetime->utc_micros() <= b.end_datetime->utc_micros() &&
          b.start_datetime->utc_micros() <= other.end_datetime->utc_micros()) {
        throw ApiError(409, "record_invalid",
                       "backfill '" + b.name + "' overlaps backfill '" + other.name + "' (id " +
                           std::to_string(other.id) + ", " + other.start_datetime->ToString() +
                           " to " + other.end_datetime->ToString() + "), which is still " +
                           other.status + "; cancel it first");
      }
    }
  }

  json UpdateBackfill(store::Backfill b, const json& body) {
    json p = ObjectAt(body, "backfill");
    const std::string status = p.value("status", "");
    ApplyBackfill(p, b);
    try {
      if (status == "initial" || status == "running") {  // start (again: "Retry backfill")
        RefuseOverlap(b);                                // before anything of the call is saved
        ctx.store.UpdateBackfill(b, Now());
        orchestration::StartBackfill(ctx.store, b.id, ctx.project, Now());
        if (ctx.on_runs_waiting) ctx.on_runs_waiting();
      } else if (status == "cancelled") {
        orchestration::CancelledBackfill cancelled =
            orchestration::CancelBackfill(ctx.store, b.id, Now());
        for (int64_t id : cancelled.running_run_ids) ctx.runs.Cancel(id, "backfill cancelled");
      } else if (!status.empty()) {
        throw Invalid("backfill status '" + status + "': use initial (start) or cancelled");
      } else {
        ctx.store.UpdateBackfill(b, Now());
      }
    } catch (const orchestration::OrchestrationError& e) {
      throw Invalid(e.what());
    }
    return {{"backfill", BackfillWithCounts(Backfill(b.id))}, {"metadata", nullptr}};
  }

  json BlockRunLogs(int64_t id) {
    std::optional<store::BlockRun> b = ctx.store.GetBlockRun(id);
    if (!b) throw NotFound("BlockRun " + std::to_string(id) + " not found");
    store::PipelineRun run = Run(b->pipeline_run_id);
    data::OutputStore outputs(ctx.variables_dir, run.pipeline_uuid,
                              orchestration::ExecutionPartitionOf(run));
    std::filesystem::path path = outputs.LogsDir() / (CleanName(b->block_uuid) + ".log");
    std::ifstream in(path);
    std::stringstream content;
    content << in.rdbuf();
    return {{"logs",
             {{{"name", path.filename().string()},
               {"path", path.string()},
               {"content", content.str()}}}}};
  }

  // ---- routes -----------------------------------------------------------------------------
  using Handler = std::function<json(const httplib::Request&)>;

  void Route(const char* method, const std::string& pattern, Handler handler) {
    auto wrapped = [handler](const httplib::Request& req, httplib::Response& res) {
      json reply;
      int status = 200;
      try {
        reply = handler(req);
      } catch (const ApiError& e) {
        status = e.status;
        reply = ErrorJson(e.status, e.type, e.what());
      } catch (const store::StoreError& e) {
        status = 400;
        reply = ErrorJson(400, "record_invalid", e.what());
      } catch (const std::exception& e) {
        status = 500;
        reply = ErrorJson(500, "internal_error", e.what());
      }
      res.status = status;
      res.set_content(reply.dump(), "application/json");
    };
    const std::string m = method;
    if (m == "GET") http.Get(pattern, wrapped);
    if (m == "POST") http.Post(pattern, wrapped);
    if (m == "PUT") http.Put(pattern, wrapped);
    if (m == "DELETE") http.Delete(pattern, wrapped);
  }

  void Routes() {
    const std::string id = R"((\d+))";
    auto status = [this](const httplib::Request&) -> json {
      return {{"statuses",
               {{{"repo_path", ctx.project.root().string()},
                 {"scheduler_status", "running"},
                 {"server_process_id", static_cast<int64_t>(::getpid())},
                 {"scheduler_process_id", static_cast<int64_t>(::getpid())},
                 {"require_user_authentication", false},
                 {"instance_type", "kiln"},
                 {"metadata_store", ctx.store.Describe()},
                 {"active_pipeline_runs", ctx.runs.Active().size()}}}},
              {"metadata", {{"count", 1}, {"next", false}}}};
    };
    Route("GET", "/api/status", status);
    Route("GET", "/api/statuses", status);

    Route("GET", "/api/pipelines", [this](const httplib::Request&) -> json {
      json list = json::array();
      for (const auto& uuid : ctx.project.PipelineUuids())
        list.push_back(PipelineJson(Pipeline(uuid)));
      return {{"pipelines", list}, {"metadata", {{"count", list.size()}, {"next", false}}}};
    });
    Route("GET", R"(/api/pipelines/([^/]+))", [this](const httplib::Request& req) -> json {
      return {{"pipeline", PipelineJson(Pipeline(req.matches[1]))}, {"metadata", nullptr}};
    });
    Route("GET", R"(/api/pipelines/([^/]+)/pipeline_schedules)",
          [this](const httplib::Request& req) -> json {
            json list = json::array();
            for (const auto& s : ctx.store.ListSchedules(Pipeline(req.matches[1]).uuid()))
              list.push_back(ScheduleWithCounts(s));
            return {{"pipeline_schedules", list},
                    {"metadata", {{"count", list.size()}, {"next", false}}}};
          });
    Route("POST", R"(/api/pipelines/([^/]+)/pipeline_schedules)",
          [this](const httplib::Request& req) -> json {
            store::PipelineSchedule s;
            s.pipeline_uuid = Pipeline(req.matches[1]).uuid();
            s.repo_path = ctx.project.root().string();
            ApplySchedule(ObjectAt(Body(req), "pipeline_schedule"), s);
            if (s.name.empty()) throw Invalid("pipeline_schedule.name is required");
            store::PipelineSchedule stored = ctx.store.CreateSchedule(s, Now());
            if (ctx.on_trigger_changed) ctx.on_trigger_changed();
            return {{"pipeline_schedule", ScheduleWithCounts(stored)}, {"metadata", nullptr}};
          });
    Route("GET", "/api/pipeline_schedules", [this](const httplib::Request& req) -> json {
      json list = json::array();
      std::string pipeline =
          req.has_param("pipeline_uuid") ? req.get_param_value("pipeline_uuid") : "";
      for (const auto& s : ctx.store.ListSchedules(pipeline)) list.push_back(ScheduleWithCounts(s));
      return {{"pipeline_schedules", list},
              {"metadata", {{"count", list.size()}, {"next", false}}}};
    });
    Route("GET", "/api/pipeline_schedules/" + id, [this](const httplib::Request& req) -> json {
      return {{"pipeline_schedule", ScheduleWithCounts(Schedule(Id(req.matches[1])))},
              {"metadata", nullptr}};
    });
    Route("PUT", "/api/pipeline_schedules/" + id, [this](const httplib::Request& req) -> json {
      store::PipelineSchedule s = Schedule(Id(req.matches[1]));
      ApplySchedule(ObjectAt(Body(req), "pipeline_schedule"), s);
      ctx.store.UpdateSchedule(s, Now());
      if (ctx.on_trigger_changed) ctx.on_trigger_changed();
      return {{"pipeline_schedule", ScheduleWithCounts(Schedule(s.id))}, {"metadata", nullptr}};
    });
    Route("DELETE", "/api/pipeline_schedules/" + id, [this](const httplib::Request& req) -> json {
      store::PipelineSchedule s = Schedule(Id(req.matches[1]));
      ctx.store.DeleteSchedule(s.id);
      if (ctx.on_trigger_changed) ctx.on_trigger_changed();
      return {{"pipeline_schedule", ScheduleJson(s)}, {"metadata", nullptr}};
    });

    // The API trigger (§5.4): the trigger's token is the only credential.
    auto api_trigger = [this](int64_t schedule_id, const std::string& token,
                              const httplib::Request& req) -> json {
      store::PipelineSchedule s = Schedule(schedule_id);
      try {
        orchestration::CheckApiTrigger(s, token);  // constant-time token comparison
      } catch (const orchestration::ApiTriggerError& e) {
        const bool api = s.schedule_type == "api";
        throw ApiError(api ? 401 : 400, api ? "unauthorized_access" : "record_invalid", e.what());
      }
      return CreateRun(s, req);
    };
    Route("POST", R"(/api/pipeline_schedules/(\d+)/pipeline_runs/(\w+))",
          [api_trigger](const httplib::Request& req) -> json {
            return api_trigger(Id(req.matches[1]), req.matches[2], req);
          });
    Route("POST", R"(/api/pipeline_schedules/(\d+)/api_trigger)",
          [api_trigger](const httplib::Request& req) -> json {
            std::string token;
            std::stringstream items(req.get_header_value("Authorization"));
            for (std::string item; std::getline(items, item, ',');) {
              const size_t at = item.find("earer ");
              if (at != std::string::npos) token = item.substr(at + 6);
            }
            return api_trigger(Id(req.matches[1]), token, req);
          });
    Route("POST", "/api/pipeline_schedules/" + id + "/pipeline_runs",
          [this](const httplib::Request& req) -> json {
            return CreateRun(Schedule(Id(req.matches[1])), req);
          });
    Route("GET", "/api/pipeline_schedules/" + id + "/pipeline_runs",
          [this](const httplib::Request& req) -> json {
            store::RunFilter f;
            f.pipeline_schedule_id = Schedule(Id(req.matches[1])).id;
            return ListRuns(req, f);
          });

    Route("GET", "/api/pipeline_runs",
          [this](const httplib::Request& req) -> json { return ListRuns(req, {}); });
    Route("GET", "/api/pipeline_runs/" + id, [this](const httplib::Request& req) -> json {
      return {{"pipeline_run", RunDetail(Run(Id(req.matches[1])))}, {"metadata", nullptr}};
    });
    Route("PUT", "/api/pipeline_runs/" + id, [this](const httplib::Request& req) -> json {
      return UpdateRun(Run(Id(req.matches[1])), Body(req));
    });
    Route("GET", "/api/pipeline_runs/" + id + "/block_runs",
          [this](const httplib::Request& req) -> json {
            json list = BlockRuns(Run(Id(req.matches[1])));
            return {{"block_runs", list}, {"metadata", {{"count", list.size()}, {"next", false}}}};
          });
    Route("GET", "/api/block_runs", [this](const httplib::Request& req) -> json {
      if (!req.has_param("pipeline_run_id")) throw Invalid("block_runs needs ?pipeline_run_id=N");
      json list = BlockRuns(Run(Id(req.get_param_value("pipeline_run_id"))));
      return {{"block_runs", list}, {"metadata", {{"count", list.size()}, {"next", false}}}};
    });
    Route("GET", "/api/block_runs/" + id + "/logs",
          [this](const httplib::Request& req) -> json { return BlockRunLogs(Id(req.matches[1])); });

    Route("GET", "/api/backfills", [this](const httplib::Request& req) -> json {
      std::string pipeline =
          req.has_param("pipeline_uuid") ? req.get_param_value("pipeline_uuid") : "";
      json list = json::array();
      for (const auto& b : ctx.store.ListBackfills(pipeline)) list.push_back(BackfillWithCounts(b));
      return {{"backfills", list}, {"metadata", {{"count", list.size()}, {"next", false}}}};
    });
    Route("POST", R"(/api/pipelines/([^/]+)/backfills)",
          [this](const httplib::Request& req) -> json {
            store::Backfill b;
            b.pipeline_uuid = Pipeline(req.matches[1]).uuid();
            ApplyBackfill(ObjectAt(Body(req), "backfill"), b);
            if (b.name.empty()) throw Invalid("backfill.name is required");
            return {{"backfill", BackfillWithCounts(ctx.store.CreateBackfill(b, Now()))},
                    {"metadata", nullptr}};
          });
    Route("GET", "/api/backfills/" + id, [this](const httplib::Request& req) -> json {
      return {{"backfill", BackfillWithCounts(Backfill(Id(req.matches[1])))},
              {"metadata", nullptr}};
    });
    Route("PUT", "/api/backfills/" + id, [this](const httplib::Request& req) -> json {
      return UpdateBackfill(Backfill(Id(req.matches[1])), Body(req));
    });
    Route("DELETE", "/api/backfills/" + id, [this](const httplib::Request& req) -> json {
      store::Backfill b = Backfill(Id(req.matches[1]));
      if (b.status == "initial" || b.status == "running") {
        throw Invalid("backfill " + std::to_string(b.id) + " is " + b.status + ": cancel it first");
      }
      ctx.store.DeleteBackfill(b.id);
      return {{"backfill", BackfillJson(b)}, {"metadata", nullptr}};
    });

    http.set_default_headers({{"Access-Control-Allow-Origin", "*"},
                              {"Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS"},
                              {"Access-Control-Allow-Headers", "*"}});
    http.Options(R"(.*)",
                 [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
    http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      res.set_content(ErrorJson(res.status, res.status == 404 ? "route_not_found" : "error",
                                res.status == 404 ? "no route " + req.method + " " + req.path
                                                  : "request failed")
                          .dump(),
                      "application/json");
    });
  }
};

ApiServer::ApiServer(ApiContext context) : impl_(std::make_unique<Impl>(std::move(context))) {
  impl_->Routes();
}

ApiServer::~ApiServer() = default;

int ApiServer::Bind(const std::string& host, int port) {
  const int bound = port == 0 ? impl_->http.bind_to_any_port(host.c_str())
                              : (impl_->http.bind_to_port(host.c_str(), port) ? port : -1);
  if (bound < 0) {
    throw ServerError("cannot listen on " + host + ":" + std::to_string(port) +
                      " (in use by another process, or not an address of this machine)");
  }
  return bound;
}

void ApiServer::Serve() {
  impl_->http.listen_after_bind();
}

void ApiServer::Stop() {
  impl_->http.stop();
}

}  // namespace kiln::server
