// `kiln trigger` and `kiln backfill`: ask a running `kiln start` (through its REST API, as any
// script would) to run a pipeline or a backfill, so that its scheduler's run limits hold.
#include <fmt/format.h>
#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "kiln/cli/commands.h"
#include "kiln/common/error.h"

namespace kiln::cli {
namespace {

using nlohmann::json;

//! The server of `url` ("http://127.0.0.1:6789").
class Api {
 public:
  explicit Api(const std::string& url) : url_(url), client_(url) {
    client_.set_connection_timeout(5);
    client_.set_read_timeout(60);
  }

  json Call(const std::string& method, const std::string& path, const json& body = nullptr) {
    httplib::Result r = method == "GET" ? client_.Get(path.c_str())
                        : method == "POST"
                            ? client_.Post(path.c_str(), body.dump(), "application/json")
                            : client_.Put(path.c_str(), body.dump(), "application/json");
    if (!r) {
      throw kiln::Error("no kiln server answers at " + url_ + " (" + httplib::to_string(r.error()) +
                        "): start one with `kiln start <project>`, or use `kiln run` to run now");
    }
    json reply = json::parse(r->body, nullptr, false);
    if (reply.is_discarded())
      throw kiln::Error(url_ + path + " answered HTTP " + std::to_string(r->status));
    if (reply.contains("error")) {
      throw kiln::Error(url_ + path + ": " +
                        reply["error"].value("message", "error " + std::to_string(r->status)));
    }
    return reply;
  }

 private:
  std::string url_;
  httplib::Client client_;
};

json ObjectArg(const std::string& text, const char* option) {
  if (text.empty()) return json::object();
  json value = json::parse(text, nullptr, false);
  if (value.is_discarded() || !value.is_object()) {
    throw kiln::Error(std::string(option) +
                      " must be a JSON object, e.g. '{\"key\": \"value\"}'; got: " + text);
  }
  return value;
}

//! The API trigger `kiln trigger` uses for `pipeline`, created the first time.
json TriggerOf(Api& api, const std::string& pipeline) {
  constexpr const char* kName = "kiln trigger";
  json list = api.Call("GET", "/api/pipelines/" + pipeline + "/pipeline_schedules");
  for (const auto& s : list["pipeline_schedules"])
    if (s.value("name", "") == kName && s.value("schedule_type", "") == "api") return s;
  return api.Call(
      "POST", "/api/pipelines/" + pipeline + "/pipeline_schedules",
      {{"pipeline_schedule",
        {{"name", kName}, {"schedule_type", "api"}, {"status", "active"}}}})["pipeline_schedule"];
}

}  // namespace

int TriggerCommand(const TriggerArgs& args) {
  try {
    Api api(args.url);
    json trigger = TriggerOf(api, args.pipeline);
    json payload = {{"variables", ObjectArg(args.runtime_vars_json, "--runtime-vars")}};
    if (!args.execution_date.empty()) payload["execution_date"] = args.execution_date;
    json run = api.Call("POST",
                        "/api/pipeline_schedules/" + std::to_string(trigger["id"].get<int64_t>()) +
                            "/pipeline_runs/" + trigger["token"].get<std::string>(),
                        {{"pipeline_run", payload}})["pipeline_run"];
    const int64_t id = run["id"];
    fmt::print("pipeline run {} of {} created (execution_date {})\n", id, args.pipeline,
               run["execution_date"].get<std::string>());
    if (!args.wait) return 0;
    for (;;) {
      run = api.Call("GET", "/api/pipeline_runs/" + std::to_string(id))["pipeline_run"];
      const std::string status = run["status"];
      if (status == "completed" || status == "failed" || status == "cancelled") {
        fmt::print("pipeline run {}: {}\n", id, status);
        return status == "completed" ? 0 : 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "kiln: error: {}\n", e.what());
    return 2;
  }
}

int BackfillCommand(const BackfillArgs& args) {
  try {
    Api api(args.url);
    if (args.cancel) {
      json b = api.Call("PUT", "/api/backfills/" + std::to_string(*args.cancel),
                        {{"backfill", {{"status", "cancelled"}}}})["backfill"];
      fmt::print("backfill {} ({}) cancelled\n", *args.cancel, b.value("name", ""));
      return 0;
    }
    if (args.pipeline.empty() || args.start.empty() || args.end.empty()) {
      throw kiln::Error("kiln backfill needs a pipeline, --start and --end (or --cancel ID)");
    }
    json settings = json::object();
    if (args.run_limit > 0) settings["pipeline_run_limit"] = args.run_limit;
    json created = api.Call(
        "POST", "/api/pipelines/" + args.pipeline + "/backfills",
        {{"backfill",
          {{"name",
            args.name.empty() ? args.pipeline + " " + args.start + " to " + args.end : args.name},
           {"start_datetime", args.start},
           {"end_datetime", args.end},
           {"interval_type", args.interval_type},
           {"interval_units", args.interval_units},
           {"variables", ObjectArg(args.runtime_vars_json, "--runtime-vars")},
           {"settings", settings}}}})["backfill"];
    const int64_t id = created["id"];
    json started = api.Call("PUT", "/api/backfills/" + std::to_string(id),
                            {{"backfill", {{"status", "initial"}}}})["backfill"];
    fmt::print("backfill {} of {} started: {} runs, {} to {} every {} {}\n", id, args.pipeline,
               started.value("total_run_count", 0), args.start, args.end, args.interval_units,
               args.interval_type);
    fmt::print("follow it with: kiln runs <project> --pipeline {}\n", args.pipeline);
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "kiln: error: {}\n", e.what());
    return 2;
  }
}

}  // namespace kiln::cli
