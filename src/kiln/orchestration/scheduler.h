// orchestration/scheduler.h: the scheduler of `kiln start`: creates the runs of active triggers
// when they are due, and starts waiting runs (scheduled, API, backfill) under Mage's concurrency
// limits, by handing them to a launcher (spec 2.1).
//
//   Scheduler scheduler(store, project, [&](int64_t run_id) { pool.Submit(run_id); });
//   scheduler.Start();            // a thread: one pass now, then one per event or due time
//   ... api: CreateApiRun(...); scheduler.Wake();
//   ... a worker, when a run ends: scheduler.Wake();
//   scheduler.Stop();
//
// Event-driven, not a 10 s tick as Mage's: after a pass the thread sleeps until the earliest time
// a trigger becomes due (DecideSchedule's next_check: a daily trigger sleeps until midnight) or
// until Wake(); so a due run is created at its due time and an API run starts at once.
// Housekeeping bounds the sleep (SchedulerOptions::housekeeping_every, 10 s): triggers.yaml edits
// (files are only re-read when their modification time changed) and runs whose process died
// (heartbeat older than kStaleAfter) are noticed within that time.
//
// One pass (RunOnce), following Mage's schedule_all (spec 2.1):
//   1. triggers.yaml of every pipeline into the store (SyncTriggers; errors reported, not fatal);
//   2. `running` runs whose heartbeat is older than kStaleAfter are launched again (resumed:
//      their completed blocks are kept) -- at start-up this finishes the runs a crash of this
//      process left behind, later those of any dead process;
//   3. for each pipeline of the project with active triggers (repo_path this project or none):
//      a. each active trigger with a schedule_interval that is not a backfill's asks
//         DecideSchedule (its run count, latest run, runs at the execution date, runtimes);
//         a due run is created with Mage's payload (execution_date, the trigger's variables) as
//         `initial` with its block runs, or as `cancelled` when settings.skip_if_previous_running
//         and the trigger has an initial or running run (spec 2.1 step 5.4); a run with the same
//         (trigger, execution_date) is never created twice;
//      b. an active @once trigger (not a backfill's) whose latest run completed (or failed with
//         settings.allow_blocks_to_fail) becomes inactive (spec 2.8);
//      c. the `initial` runs of its active triggers start under the limits (run_limits.h):
//         oldest execution_date first, `skip` cancels the excess, `wait` leaves it;
//   4. started backfills advance their status (UpdateBackfillStatus).
// A run is handed to the launcher once: the scheduler keeps the ids it launched until the store
// shows the launcher took them (status no longer initial and a heartbeat after the launch, or
// ended); until then they count as running for the limits.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "kiln/blocks/block_runner.h"
#include "kiln/common/datetime.h"
#include "kiln/orchestration/trigger_sync.h"
#include "kiln/project/project.h"
#include "kiln/store/metadata_store.h"

namespace kiln::orchestration {

//! Starts stored run `run_id` asynchronously and returns at once (e.g. ExecuteStoredRun with
//! RunVariablesOf on a worker thread). The launcher owns the run from then on: it must leave it
//! ended (ExecuteStoredRun does, even when the pipeline cannot run) and should call
//! Scheduler::Wake() when it ends, so waiting runs start and @always_on triggers fire. It may be
//! called for an `initial` run or for a stale `running` one (resume). It must not call RunOnce.
//! A throw means the run could not be started: an initial run is then marked failed.
using Launcher = std::function<void(int64_t run_id)>;

//! How a Scheduler runs.
struct SchedulerOptions {
  //! The environment triggers.yaml `envs` are matched against: project::MageEnvName(ENV).
  std::string mage_env = "dev";
  //! CONCURRENCY_CONFIG_PIPELINE_RUN_LIMIT: running runs per trigger when neither the trigger
  //! nor the pipeline sets a limit; nullopt: unlimited.
  std::optional<int64_t> default_pipeline_run_limit;
  //! The longest sleep between passes: triggers.yaml edits and dead processes' runs are noticed
  //! within it.
  std::chrono::milliseconds housekeeping_every{std::chrono::seconds(10)};
  //! Receives what the scheduler did and what went wrong, each message complete ("<file>:<line>:
  //! ..." for trigger files). May be called from the scheduler thread. May be empty.
  std::function<void(blocks::LogLevel level, std::string_view message)> on_message;
};

class Scheduler {
 public:
  //! `store` and `project` must outlive the scheduler. Nothing happens before Start() or
  //! RunOnce().
  Scheduler(store::MetadataStore& store, const project::Project& project, Launcher launcher,
            SchedulerOptions options = {});
  //! Stops the thread (Stop()).
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  //! Starts the scheduler thread: a pass at once (start-up: stale runs resumed), then a pass at
  //! each due time, each Wake() and at least every housekeeping_every. A pass that throws (the
  //! store is unreachable) is reported and tried again after housekeeping_every. Call Start and
  //! Stop from one thread.
  void Start();
  //! Stops the thread after its current pass; returns once it has ended. Runs already launched
  //! are the launcher's. Idempotent.
  void Stop();
  //! Asks for a pass now: a run ended, a trigger was changed, a run or backfill was created by
  //! the API. Thread-safe, cheap, never blocks on a pass.
  void Wake();

  //! One pass as of `now` (UTC; see the header comment). Returns the earliest later time at
  //! which a trigger becomes due by time alone, nullopt when none will. Thread-safe (passes are
  //! serialised). Throws store::StoreError when the store cannot be used.
  std::optional<DateTime> RunOnce(const DateTime& now);

 private:
  class Pass;
  void Loop();
  void Report(blocks::LogLevel level, const std::string& message);
  //! Reports `message` the first time only (errors that every pass would meet again).
  void ReportOnce(blocks::LogLevel level, const std::string& message);

  store::MetadataStore& store_;
  const project::Project& project_;
  Launcher launcher_;
  SchedulerOptions options_;

  std::mutex pass_mu_;  // one pass at a time; guards the members below it
  TriggerFileCache trigger_files_;
  std::map<int64_t, DateTime> launched_;  // run id -> the pass time it was handed over
  std::set<std::string> reported_;

  std::mutex mu_;  // guards stop_ and woken_
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace kiln::orchestration
