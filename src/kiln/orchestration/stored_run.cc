#include "kiln/orchestration/stored_run.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "kiln/orchestration/run_owner.h"

namespace kiln::orchestration {
namespace {

using run::BlockRunStatus;

// The statuses a block run may be in when it enters `to` (store transitions are
// compare-and-set; a block resumed as completed is already completed and stays so).
std::vector<std::string> FromFor(BlockRunStatus to) {
  switch (to) {
    case BlockRunStatus::kInitial:
      return {"initial"};
    case BlockRunStatus::kQueued:
      return {"initial"};
    case BlockRunStatus::kRunning:
      return {"initial", "queued", "running"};  // running again: a retry attempt
    default:
      return {"initial", "queued", "running"};
  }
}

nlohmann::json MetricsFor(const run::BlockRunRecord& r) {
  switch (r.status) {
    case BlockRunStatus::kCompleted: {
      nlohmann::json m = {{"outputs", r.outputs.size()}, {"attempts", r.attempts}};
      if (r.rows) m["rows"] = *r.rows;
      if (!r.destinations.empty()) m["destinations"] = r.destinations;
      return m;
    }
    case BlockRunStatus::kFailed:
    case BlockRunStatus::kCancelled:
    case BlockRunStatus::kUpstreamFailed:
      return {{"error", {{"message", r.error}}}, {"attempts", r.attempts}};
    default:
      return nullptr;
  }
}

// Commits each block run transition to the store, then passes the event on.
class StoreRecorder : public run::RunObserver {
 public:
  StoreRecorder(store::MetadataStore& store, int64_t run_id, run::RunObserver* next)
      : store_(store), next_(next) {
    for (const store::BlockRun& b : store.ListBlockRuns(run_id)) ids_[b.block_uuid] = b.id;
  }

  void OnBlockStatus(const run::BlockRunRecord& r) override {
    if (auto it = ids_.find(r.block_uuid); it != ids_.end()) {
      try {
        store_.TransitionBlockRun(it->second, FromFor(r.status),
                                  std::string(run::BlockRunStatusName(r.status)),
                                  DateTime::NowUtcPrecise(), MetricsFor(r));
      } catch (const store::StoreError& e) {
        // The block goes on; the run's log says that its record could not be kept.
        if (next_) {
          next_->OnLog("", blocks::LogLevel::kError,
                       "block '" + r.block_uuid + "': the metadata store did not record status " +
                           std::string(run::BlockRunStatusName(r.status)) + ": " + e.what());
        }
      }
    }
    if (next_) next_->OnBlockStatus(r);
  }

  void OnLog(std::string_view block_uuid, blocks::LogLevel level,
             std::string_view message) override {
    if (next_) next_->OnLog(block_uuid, level, message);
  }

 private:
  store::MetadataStore& store_;
  run::RunObserver* next_;
  std::map<std::string, int64_t, std::less<>> ids_;
};

// Refreshes the run's heartbeat every kHeartbeatEvery until destroyed.
class Heartbeat {
 public:
  Heartbeat(store::MetadataStore& store, int64_t run_id)
      : thread_([this, &store, run_id] {
          std::unique_lock lock(mu_);
          while (!cv_.wait_for(lock, kHeartbeatEvery, [this] { return stop_; })) {
            lock.unlock();
            try {
              store.Heartbeat({run_id}, DateTime::NowUtcPrecise());
            } catch (const store::StoreError&) {
              // the next beat tries again; a run whose beats all fail is resumed elsewhere
            }
            lock.lock();
          }
        }) {}
  ~Heartbeat() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

}  // namespace

std::vector<std::string> ReusableBlocks(store::MetadataStore& store, int64_t run_id,
                                        const data::OutputStore& outputs) {
  std::vector<std::string> reusable;
  for (const store::BlockRun& b : store.ListBlockRuns(run_id)) {
    if (b.status != "completed") continue;
    const size_t recorded = b.metrics.is_object() && b.metrics.contains("outputs") &&
                                    b.metrics["outputs"].is_number_unsigned()
                                ? b.metrics["outputs"].get<size_t>()
                                : 0;
    if (outputs.ListOutputs(b.block_uuid).size() >= recorded) reusable.push_back(b.block_uuid);
  }
  return reusable;
}

run::PipelineRunRecord ExecuteStoredRun(store::MetadataStore& store, int64_t run_id,
                                        const RunContext& context, run::RunOptions options,
                                        const RunHandle& handle) {
  const std::string name = "pipeline run " + std::to_string(run_id);
  std::optional<store::PipelineRun> stored = store.GetPipelineRun(run_id);
  if (!stored) throw store::StoreError("no " + name + " in " + store.Describe());
  if (stored->status == "completed") throw store::StoreError(name + " is already completed");

  data::OutputStore outputs(options.variables_dir, context.pipeline.uuid(),
                            options.variables.execution_partition);
  const std::vector<std::string> reusable = ReusableBlocks(store, run_id, outputs);
  const std::set<std::string> reuse(reusable.begin(), reusable.end());
  const DateTime now = DateTime::NowUtcPrecise();
  for (const store::BlockRun& b : store.ListBlockRuns(run_id)) {
    if (b.status != "initial" && reuse.count(b.block_uuid) == 0) {
      store.TransitionBlockRun(b.id, {b.status}, "initial", now);
    }
  }
  if (!store.TransitionPipelineRun(run_id, {"initial", "running"}, "running", now)) {
    throw store::StoreError(name + " could not be started: it is " +
                            store.GetPipelineRun(run_id)->status + " (retry it first)");
  }
  store.SetOwner(run_id, ThisProcessOwner());
  options.resume_completed = reuse;
  options.variables.pipeline_run_id = run_id;  // blocks see it as kwargs['pipeline_run_id']
  StoreRecorder recorder(store, run_id, options.observer);
  options.observer = &recorder;

  run::PipelineRunRecord record;
  {
    Heartbeat heartbeat(store, run_id);
    run::PipelineRun run(context.project, context.pipeline, context.io_config, context.env,
                         context.services, std::move(options));
    if (handle) handle(&run);
    try {
      record = run.Execute();
    } catch (const run::RunError& e) {
      if (handle) handle(nullptr);
      store.UpdatePipelineRunMetrics(run_id, {{"error", {{"message", e.what()}}}}, false,
                                     DateTime::NowUtcPrecise());
      store.TransitionPipelineRun(run_id, {"running"}, "failed", DateTime::NowUtcPrecise());
      throw;
    }
    if (handle) handle(nullptr);
  }
  store.TransitionPipelineRun(run_id, {"running"},
                              std::string(run::PipelineRunStatusName(record.status)),
                              DateTime::NowUtcPrecise());
  return record;
}

}  // namespace kiln::orchestration
