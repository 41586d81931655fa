#include "kiln/orchestration/scheduler.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "kiln/orchestration/backfill_runs.h"
#include "kiln/orchestration/error.h"
#include "kiln/orchestration/run_cancel.h"
#include "kiln/orchestration/run_limits.h"
#include "kiln/orchestration/run_owner.h"
#include "kiln/orchestration/schedule_interval.h"
#include "kiln/orchestration/stored_run.h"
#include "kiln/project/error.h"

namespace kiln::orchestration {
namespace {

using blocks::LogLevel;
using nlohmann::json;

constexpr int64_t kAllRuns = std::numeric_limits<int64_t>::max();
constexpr int64_t kMicrosPerSecond = 1'000'000;

bool Flag(const json& settings, const char* key) {
  if (!settings.is_object()) return false;
  auto it = settings.find(key);
  return it != settings.end() && it->is_boolean() && it->get<bool>();
}

bool Ended(const std::string& status) {
  return status == "completed" || status == "failed" || status == "cancelled";
}

std::optional<DateTime> Earliest(std::optional<DateTime> a, std::optional<DateTime> b) {
  if (!a) return b;
  if (!b) return a;
  return a->utc_micros() <= b->utc_micros() ? a : b;
}

store::RunFilter OfSchedule(int64_t schedule_id, std::vector<std::string> statuses = {},
                            int64_t limit = kAllRuns) {
  store::RunFilter filter;
  filter.pipeline_schedule_id = schedule_id;
  filter.statuses = std::move(statuses);
  filter.limit = limit;
  return filter;
}

std::string Describe(const store::PipelineSchedule& s) {
  return "trigger '" + s.name + "' (id " + std::to_string(s.id) + ") of pipeline '" +
         s.pipeline_uuid + "'";
}

std::string RunName(int64_t id) {
  return "pipeline run " + std::to_string(id);
}

// A stored trigger's timing (spec 1.5, 2.2). Throws CronError for an invalid interval.
TriggerTiming TimingOfSchedule(const store::PipelineSchedule& s) {
  TriggerTiming timing;
  timing.interval = ScheduleInterval::Parse(s.schedule_interval);
  timing.start_time = s.start_time;
  timing.last_enabled_at = s.last_enabled_at;
  timing.create_initial_pipeline_run = Flag(s.settings, "create_initial_pipeline_run");
  timing.landing_time = Flag(s.settings, "landing_time_enabled") && s.schedule_type == "time";
  return timing;
}

// Streaming pipelines may run @once triggers up to executor_count times (spec 2.2 item 4).
int64_t ExecutorCount(const project::Pipeline& pipeline) {
  if (pipeline.type() != "streaming") return 1;
  auto it = pipeline.raw().find("executor_count");
  if (it == pipeline.raw().end() || !it->is_number_integer()) return 1;
  return std::max<int64_t>(1, it->get<int64_t>());
}

std::vector<std::string> BlockUuids(const project::Pipeline& pipeline) {
  std::vector<std::string> uuids;
  for (const project::BlockSpec* b : pipeline.ExecutableBlocks()) uuids.push_back(b->uuid);
  return uuids;
}

}  // namespace

// One pass over the store and the project (the steps of the header comment).
class Scheduler::Pass {
 public:
  Pass(Scheduler& scheduler, const DateTime& now)
      : s_(scheduler), store_(scheduler.store_), now_(DateTime(now.utc_micros(), 0)) {
    for (const std::string& uuid : s_.project_.PipelineUuids()) pipelines_.insert(uuid);
  }

  std::optional<DateTime> Run() {
    SyncTriggerFiles();
    ForgetTakenRuns();
    ResumeStaleRuns();
    for (const store::Backfill& b : store_.ListBackfills()) {
      if (b.pipeline_schedule_id) backfill_schedules_.insert(*b.pipeline_schedule_id);
    }
    std::map<std::string, std::vector<store::PipelineSchedule>> active;
    const std::string repo = s_.project_.root().string();
    for (store::PipelineSchedule& t : store_.ListSchedules()) {
      if (t.status == "active" && pipelines_.count(t.pipeline_uuid) > 0 &&
          (t.repo_path.empty() || t.repo_path == repo)) {
        active[t.pipeline_uuid].push_back(std::move(t));
      }
    }
    std::optional<DateTime> next;
    for (auto& [uuid, triggers] : active) {
      try {
        next = Earliest(next, SchedulePipeline(uuid, triggers));
      } catch (const project::ProjectError& e) {
        s_.ReportOnce(LogLevel::kError, "pipeline '" + uuid + "' cannot be scheduled: " + e.what());
      }
    }
    UpdateBackfills();
    return next;
  }

 private:
  void SyncTriggerFiles() {
    TriggerSyncReport r = SyncTriggers(
        store_, s_.project_, now_, {.mage_env = s_.options_.mage_env, .cache = &s_.trigger_files_});
    for (const std::string& w : r.warnings) s_.Report(LogLevel::kWarning, w);
    for (const std::string& e : r.errors) s_.Report(LogLevel::kError, e);
  }

  // Runs the launcher has taken (or that ended) need no guard against a second launch.
  void ForgetTakenRuns() {
    for (auto it = s_.launched_.begin(); it != s_.launched_.end();) {
      std::optional<store::PipelineRun> run = store_.GetPipelineRun(it->first);
      const bool taken = !run || Ended(run->status) ||
                         (run->status == "running" && run->heartbeat_at &&
                          run->heartbeat_at->utc_micros() >= it->second.utc_micros());
      it = taken ? s_.launched_.erase(it) : std::next(it);
    }
  }

  void ResumeStaleRuns() {
    // A dead process of this host is known at once; another host's only by its heartbeat.
    for (const store::PipelineRun& run : OrphanedRuns(store_, now_)) {
      if (s_.launched_.count(run.id) > 0 || pipelines_.count(run.pipeline_uuid) == 0) continue;
      s_.Report(LogLevel::kWarning,
                "resuming " + RunName(run.id) + " of pipeline '" + run.pipeline_uuid +
                    "', left running by a process that stopped (last heartbeat " +
                    (run.heartbeat_at ? run.heartbeat_at->ToString() : std::string("never")) + ")");
      Launch(run.id, /*initial=*/false);
    }
  }

  std::optional<DateTime> SchedulePipeline(const std::string& uuid,
                                           std::vector<store::PipelineSchedule>& triggers) {
    const project::Pipeline pipeline = s_.project_.LoadPipeline(uuid);
    std::optional<ConcurrencyConfig> config;
    try {
      config = ConcurrencyConfigOf(pipeline);
    } catch (const OrchestrationError& e) {
      s_.ReportOnce(LogLevel::kError, std::string(e.what()) + " (no run of pipeline '" + uuid +
                                          "' starts until it is fixed)");
    }
    std::optional<DateTime> next;
    std::vector<TriggerRuns> runs;
    int64_t launched_initial = 0;
    for (store::PipelineSchedule& t : triggers) {
      const bool backfill = backfill_schedules_.count(t.id) > 0;
      if (!backfill && DeactivateFinishedOnce(t)) continue;
      if (!backfill) next = Earliest(next, CreateDueRun(t, pipeline));
      if (config) runs.push_back(WaitingRuns(t, *config, launched_initial));
    }
    if (!config) return next;
    store::RunFilter running;
    running.pipeline_uuid = uuid;
    running.statuses = {"running"};
    const RunStartPlan plan =
        PlanRunStarts(runs, *config, store_.CountPipelineRuns(running) + launched_initial);
    for (int64_t id : plan.start) Launch(id, /*initial=*/true);
    if (config->on_limit_reached == OnRunLimitReached::kSkip) {
      for (int64_t id : plan.excluded) {
        if (CancelStoredRun(store_, id, {"initial"}, now_)) {
          s_.Report(LogLevel::kWarning, RunName(id) + " of pipeline '" + uuid +
                                            "': Pipeline run limit reached... skipping this run");
        }
      }
    }
    return next;
  }

  // spec 2.8: an @once trigger whose run went through becomes inactive.
  bool DeactivateFinishedOnce(store::PipelineSchedule& t) {
    if (t.schedule_interval != "@once") return false;
    std::vector<store::PipelineRun> latest = store_.ListPipelineRuns(OfSchedule(t.id, {}, 1));
    if (latest.empty()) return false;
    const std::string& status = latest[0].status;
    if (status != "completed" && !(status == "failed" && Flag(t.settings, "allow_blocks_to_fail")))
      return false;
    t.status = "inactive";
    store_.UpdateSchedule(t, now_);
    s_.Report(LogLevel::kInfo, Describe(t) + " ran once: it is now inactive");
    return true;
  }

  // spec 2.1 step 5.3-5.4. Returns when the trigger is next due.
  std::optional<DateTime> CreateDueRun(const store::PipelineSchedule& t,
                                       const project::Pipeline& pipeline) {
    if (t.schedule_interval.empty()) return std::nullopt;
    TriggerTiming timing;
    try {
      timing = TimingOfSchedule(t);
    } catch (const CronError& e) {
      s_.ReportOnce(LogLevel::kError, Describe(t) + ": " + e.what());
      return std::nullopt;
    }
    const ScheduleDecision decision = DecideSchedule(timing, History(t, pipeline, timing), now_);
    if (!decision.due) return decision.next_check;

    store::PipelineRun run;
    run.pipeline_schedule_id = t.id;
    run.pipeline_uuid = t.pipeline_uuid;
    run.execution_date = DateTime(decision.execution_date->utc_micros(), 0);
    run.variables = t.variables.is_object() ? t.variables : json::object();
    const std::string when = " (execution_date " + run.execution_date.ToString() + ")";
    if (Flag(t.settings, "skip_if_previous_running") &&
        store_.CountPipelineRuns(OfSchedule(t.id, {"initial", "running"})) > 0) {
      run.status = "cancelled";
      run.completed_at = now_;
      const int64_t id = store_.CreatePipelineRun(run, {}, now_).id;
      s_.Report(LogLevel::kWarning, RunName(id) + " of " + Describe(t) + when +
                                        ": Previous pipeline run is still running... skipping "
                                        "this run");
      return decision.next_check;
    }
    store::RunFilter same = OfSchedule(t.id);
    same.execution_date = run.execution_date;
    if (store_.CountPipelineRuns(same) > 0) return decision.next_check;  // never twice
    const int64_t id = store_.CreatePipelineRun(run, BlockUuids(pipeline), now_).id;
    s_.Report(LogLevel::kInfo, "created " + RunName(id) + " of " + Describe(t) + when);
    return decision.next_check;
  }

  RunHistory History(const store::PipelineSchedule& t, const project::Pipeline& pipeline,
                     const TriggerTiming& timing) {
    RunHistory history;
    history.run_count = store_.CountPipelineRuns(OfSchedule(t.id));
    history.executor_count = ExecutorCount(pipeline);
    std::vector<store::PipelineRun> latest = store_.ListPipelineRuns(OfSchedule(t.id, {}, 1));
    history.latest_run_in_progress =
        !latest.empty() && (latest[0].status == "initial" || latest[0].status == "running");
    const int64_t id = t.id;
    store::MetadataStore& store = store_;
    history.has_run_at = [&store, id](const DateTime& execution_date) {
      store::RunFilter filter = OfSchedule(id);
      filter.execution_date = execution_date;
      return store.CountPipelineRuns(filter) > 0;
    };
    if (timing.landing_time) {
      for (const store::PipelineRun& r :
           store_.ListPipelineRuns(OfSchedule(t.id, {"completed"}, 7))) {
        if (!r.completed_at) continue;
        history.previous_runtimes.push_back(
            static_cast<double>(r.completed_at->utc_micros() - r.created_at.utc_micros()) /
            kMicrosPerSecond);
      }
    }
    return history;
  }

  // The trigger's initial runs not launched yet, and its running ones (launched ones included).
  TriggerRuns WaitingRuns(const store::PipelineSchedule& t, const ConcurrencyConfig& config,
                          int64_t& launched_initial) {
    TriggerRuns runs;
    runs.run_limit = TriggerRunLimit(t.settings, config, s_.options_.default_pipeline_run_limit);
    int64_t launched = 0;
    for (const store::PipelineRun& r : store_.ListPipelineRuns(OfSchedule(t.id, {"initial"}))) {
      if (s_.launched_.count(r.id) > 0) {
        ++launched;
      } else {
        runs.initial.push_back({r.id, r.execution_date});
      }
    }
    runs.running = store_.CountPipelineRuns(OfSchedule(t.id, {"running"})) + launched;
    launched_initial += launched;
    return runs;
  }

  void Launch(int64_t run_id, bool initial) {
    s_.launched_[run_id] = now_;
    try {
      s_.launcher_(run_id);
      return;
    } catch (const std::exception& e) {
      s_.launched_.erase(run_id);
      s_.Report(LogLevel::kError, RunName(run_id) + " could not be started: " + e.what());
      if (initial) {
        store_.UpdatePipelineRunMetrics(run_id, {{"error", {{"message", e.what()}}}}, false, now_);
        store_.TransitionPipelineRun(run_id, {"initial"}, "failed", now_);
      }
    }
  }

  void UpdateBackfills() {
    std::set<int64_t> launched;
    for (const auto& [id, at] : s_.launched_) launched.insert(id);
    for (const store::Backfill& b : store_.ListBackfills()) {
      if (pipelines_.count(b.pipeline_uuid) == 0) continue;
      if (std::optional<std::string> status = UpdateBackfillStatus(store_, b, launched, now_)) {
        s_.Report(LogLevel::kInfo,
                  "backfill " + std::to_string(b.id) + " ('" + b.name + "') is now " + *status);
      }
    }
  }

  Scheduler& s_;
  store::MetadataStore& store_;
  const DateTime now_;
  std::set<std::string> pipelines_;       // the project's pipeline uuids
  std::set<int64_t> backfill_schedules_;  // triggers made by backfills: no time-based runs
};

Scheduler::Scheduler(store::MetadataStore& store, const project::Project& project,
                     Launcher launcher, SchedulerOptions options)
    : store_(store),
      project_(project),
      launcher_(std::move(launcher)),
      options_(std::move(options)) {}

Scheduler::~Scheduler() {
  Stop();
}

void Scheduler::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
}

void Scheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

std::optional<DateTime> Scheduler::RunOnce(const DateTime& now) {
  std::lock_guard pass(pass_mu_);
  return Pass(*this, now).Run();
}

void Scheduler::Loop() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      woken_ = false;  // a Wake() from here on asks for another pass
    }
    std::optional<DateTime> next;
    try {
      next = RunOnce(DateTime::NowUtcPrecise());
    } catch (const std::exception& e) {
      Report(LogLevel::kError,
             std::string("scheduler pass failed (retried in a moment): ") + e.what());
    }
    auto sleep = std::chrono::duration_cast<std::chrono::microseconds>(options_.housekeeping_every);
    if (next) {
      // +1 ms: waking a hair before the due time would find nothing due and pass again.
      const auto until_due = std::chrono::microseconds(
          next->utc_micros() - DateTime::NowUtcPrecise().utc_micros() + 1000);
      sleep = std::clamp(until_due, std::chrono::microseconds(0), sleep);
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, sleep, [this] { return stop_ || woken_; });
  }
}

void Scheduler::Report(blocks::LogLevel level, const std::string& message) {
  if (options_.on_message) options_.on_message(level, message);
}

void Scheduler::ReportOnce(blocks::LogLevel level, const std::string& message) {
  if (reported_.insert(message).second) Report(level, message);
}

}  // namespace kiln::orchestration
