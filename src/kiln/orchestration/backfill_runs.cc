#include "kiln/orchestration/backfill_runs.h"

#include <limits>
#include <map>

#include "kiln/orchestration/backfill_dates.h"
#include "kiln/orchestration/error.h"
#include "kiln/orchestration/run_cancel.h"

namespace kiln::orchestration {
namespace {

using nlohmann::json;

constexpr int64_t kMicrosPerSecond = 1'000'000;

// ISO text of the naive UTC value, as Mage's isoformat() of a SQLite datetime.
std::string Iso(const DateTime& t) {
  return DateTime(t.utc_micros()).IsoFormat();
}

std::string Named(const store::Backfill& b) {
  return "backfill " + std::to_string(b.id) + " ('" + b.name + "')";
}

store::Backfill Existing(store::MetadataStore& store, int64_t backfill_id) {
  std::optional<store::Backfill> b = store.GetBackfill(backfill_id);
  if (!b) throw BackfillError("no backfill " + std::to_string(backfill_id));
  return *b;
}

// Every run of the backfill, newest first.
std::vector<store::PipelineRun> RunsOf(store::MetadataStore& store, int64_t backfill_id) {
  store::RunFilter filter;
  filter.backfill_id = backfill_id;
  filter.limit = std::numeric_limits<int64_t>::max();
  return store.ListPipelineRuns(filter);
}

// The newest run of each execution date (spec 4.4: older runs of a restarted backfill stay).
std::vector<store::PipelineRun> NewestPerDate(const std::vector<store::PipelineRun>& runs) {
  std::map<int64_t, store::PipelineRun> newest;
  for (const store::PipelineRun& r : runs) {
    auto [it, inserted] = newest.emplace(r.execution_date.utc_micros(), r);
    if (!inserted && r.id > it->second.id) it->second = r;
  }
  std::vector<store::PipelineRun> out;
  for (auto& [date, run] : newest) out.push_back(std::move(run));
  return out;
}

void SetScheduleStatus(store::MetadataStore& store, std::optional<int64_t> schedule_id,
                       const std::string& status, const DateTime& now) {
  if (!schedule_id) return;
  std::optional<store::PipelineSchedule> s = store.GetSchedule(*schedule_id);
  if (!s || s->status == status) return;
  s->status = status;
  if (status == "active") s->last_enabled_at = now;
  store.UpdateSchedule(*s, now);
}

void CheckStartable(const store::Backfill& b) {
  if (b.status == "initial" || b.status == "running") {
    throw BackfillError(Named(b) + " is already " + b.status +
                        "; cancel it before starting it "
                        "again");
  }
  if (!b.block_uuid.empty()) {
    throw BackfillError(Named(b) + " is a custom-code backfill (block_uuid '" + b.block_uuid +
                        "'): not supported, Mage creates no runs for it either; give it "
                        "start_datetime, end_datetime and interval_type instead");
  }
  if (!b.start_datetime || !b.end_datetime || b.interval_type.empty()) {
    throw BackfillError(Named(b) +
                        " needs start_datetime, end_datetime and interval_type before it starts");
  }
}

// The hidden trigger of the backfill (spec 4.4 step 3), created inactive or refreshed; the
// caller activates it once the runs exist.
store::PipelineSchedule BackfillSchedule(store::MetadataStore& store, const store::Backfill& b,
                                         const project::Project& project, const DateTime& now) {
  std::optional<store::PipelineSchedule> s;
  if (b.pipeline_schedule_id) s = store.GetSchedule(*b.pipeline_schedule_id);
  if (!s) {
    store::PipelineSchedule fresh;
    fresh.name = "Backfill " + b.name;
    fresh.pipeline_uuid = b.pipeline_uuid;
    fresh.schedule_type = "";  // Mage gives the backfill's trigger no schedule_type
    fresh.schedule_interval = "@once";
    fresh.start_time = now;
    fresh.status = "inactive";
    fresh.variables = b.variables.is_object() ? b.variables : json::object();
    fresh.settings = b.settings.is_object() ? b.settings : json::object();
    fresh.repo_path = project.root().string();
    return store.CreateSchedule(fresh, now);
  }
  // Kiln refreshes the variables and settings (the run limit) edited since the last start.
  s->variables = b.variables.is_object() ? b.variables : json::object();
  s->settings = b.settings.is_object() ? b.settings : json::object();
  store.UpdateSchedule(*s, now);
  return *s;
}

}  // namespace

std::vector<json> BackfillRunVariables(const std::vector<DateTime>& dates,
                                       const json& backfill_variables) {
  std::vector<json> out;
  const size_t n = dates.size();
  for (size_t i = 0; i < n; ++i) {
    json v = backfill_variables.is_object() ? backfill_variables : json::object();
    const DateTime& date = dates[i];
    v["ds"] = date.Strftime("%Y-%m-%d");
    v["hr"] = date.Strftime("%H");
    v["execution_date"] = Iso(date);
    if (n == 1) {
      for (const char* key : {"interval_start_datetime", "interval_end_datetime",
                              "interval_seconds", "interval_start_datetime_previous"}) {
        v[key] = nullptr;
      }
    } else {
      const bool last = i + 1 == n;
      const int64_t start = date.utc_micros();
      const int64_t end =
          last ? start + (start - dates[i - 1].utc_micros()) : dates[i + 1].utc_micros();
      const double seconds = static_cast<double>(end - start) / kMicrosPerSecond;
      v["interval_start_datetime"] = Iso(date);
      v["interval_end_datetime"] = Iso(DateTime(end));
      v["interval_seconds"] = seconds;
      v["interval_start_datetime_previous"] =
          last ? Iso(dates[i - 1]) : Iso(DateTime(start - (end - start)));
    }
    out.push_back(std::move(v));
  }
  return out;
}

StartedBackfill StartBackfill(store::MetadataStore& store, int64_t backfill_id,
                              const project::Project& project, const DateTime& now) {
  store::Backfill b = Existing(store, backfill_id);
  CheckStartable(b);
  const std::vector<DateTime> dates =
      BackfillDates(*b.start_datetime, *b.end_datetime, ParseBackfillIntervalType(b.interval_type),
                    b.interval_units);
  const project::Pipeline pipeline = project.LoadPipeline(b.pipeline_uuid);
  std::vector<std::string> blocks;
  for (const project::BlockSpec* block : pipeline.ExecutableBlocks()) blocks.push_back(block->uuid);

  for (const store::PipelineRun& r : RunsOf(store, b.id)) {
    if (r.status == "initial") CancelStoredRun(store, r.id, {"initial"}, now);
  }
  StartedBackfill started;
  started.schedule = BackfillSchedule(store, b, project, now);
  const std::vector<json> variables = BackfillRunVariables(dates, b.variables);
  for (size_t i = 0; i < dates.size(); ++i) {
    store::PipelineRun run;
    run.pipeline_schedule_id = started.schedule.id;
    run.pipeline_uuid = b.pipeline_uuid;
    run.execution_date = DateTime(dates[i].utc_micros(), 0);
    run.variables = variables[i];
    run.backfill_id = b.id;
    started.run_ids.push_back(store.CreatePipelineRun(run, blocks, now).id);
  }
  b.pipeline_schedule_id = started.schedule.id;
  b.status = "initial";
  b.started_at = now;
  b.completed_at.reset();
  b.failed_at.reset();
  store.UpdateBackfill(b, now);
  SetScheduleStatus(store, started.schedule.id, "active", now);
  started.schedule = *store.GetSchedule(started.schedule.id);
  started.backfill = Existing(store, b.id);
  return started;
}

CancelledBackfill CancelBackfill(store::MetadataStore& store, int64_t backfill_id,
                                 const DateTime& now) {
  CancelledBackfill out;
  store::Backfill b = Existing(store, backfill_id);
  if (b.status == "cancelled") {
    out.backfill = b;
    return out;
  }
  if (b.status != "initial" && b.status != "running") {
    throw BackfillError(Named(b) + " is not running (status " +
                        (b.status.empty() ? std::string("not started") : b.status) +
                        "): nothing to cancel");
  }
  SetScheduleStatus(store, b.pipeline_schedule_id, "inactive", now);  // no new starts first
  for (const store::PipelineRun& r : RunsOf(store, b.id)) {
    if (r.status == "initial" && CancelStoredRun(store, r.id, {"initial"}, now)) {
      out.cancelled_run_ids.push_back(r.id);
    } else if (r.status == "running" && CancelStoredRun(store, r.id, {"running"}, now)) {
      out.running_run_ids.push_back(r.id);
    }
  }
  b.status = "cancelled";
  store.UpdateBackfill(b, now);
  out.backfill = Existing(store, b.id);
  return out;
}

std::optional<std::string> UpdateBackfillStatus(store::MetadataStore& store,
                                                const store::Backfill& backfill,
                                                const std::set<int64_t>& launched_run_ids,
                                                const DateTime& now) {
  if (backfill.status != "initial" && backfill.status != "running") return std::nullopt;
  const std::vector<store::PipelineRun> newest = NewestPerDate(RunsOf(store, backfill.id));
  if (newest.empty()) return std::nullopt;
  bool in_progress = false, started = false, all_completed = true;
  for (const store::PipelineRun& r : newest) {
    const bool launched = launched_run_ids.count(r.id) > 0;
    in_progress |= r.status == "initial" || r.status == "running";
    started |= launched || (r.status != "initial" && r.status != "cancelled");
    all_completed &= r.status == "completed";
  }
  store::Backfill b = backfill;
  if (in_progress) {
    if (b.status != "initial" || !started) return std::nullopt;
    b.status = "running";
  } else {
    b.status = all_completed ? "completed" : "failed";
    (all_completed ? b.completed_at : b.failed_at) = now;
  }
  store.UpdateBackfill(b, now);
  if (!in_progress) SetScheduleStatus(store, b.pipeline_schedule_id, "inactive", now);
  return b.status;
}

}  // namespace kiln::orchestration
