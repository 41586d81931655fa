#include "kiln/run/pipeline_run.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "kiln/common/names.h"
#include "kiln/data/error.h"
#include "kiln/data/output_store.h"
#include "kiln/run/logs.h"
#include "kiln/run/retry.h"

namespace kiln::run {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// How often a cancelled block's interrupt is repeated until the block ends: DuckDB drops an
// interrupt that arrives between two statements.
constexpr auto kReinterruptEvery = std::chrono::milliseconds(200);

// Variables Kiln sets for every run; a user variable of the same name is overridden (§6.1).
constexpr const char* kReservedVariables[] = {
    "ds",          "hr", "env", "event", "execution_date", "execution_partition", "pipeline_run_id",
    "trigger_name"};

std::string FormatSeconds(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, seconds == static_cast<int64_t>(seconds) ? "%.0f s" : "%.1f s",
                seconds);
  return buf;
}

std::string Where(const project::Pipeline& pipeline, const project::BlockSpec& b) {
  return pipeline.metadata_path().string() + ":" + std::to_string(b.line) + ": block '" + b.uuid +
         "' (" + std::string(project::BlockLanguageName(b.language)) + " " +
         std::string(project::BlockTypeName(b.type)) + ")";
}

}  // namespace

struct PipelineRun::State {
  // One executable block of the run.
  struct Node {
    const project::BlockSpec* spec = nullptr;
    std::vector<size_t> upstream;  // in upstream_blocks order
    std::vector<size_t> downstream;
    BlockRunRecord record;
    size_t waiting_on = 0;  // upstreams not completed yet
    std::vector<data::StoredOutput> outputs;
    std::unique_ptr<blocks::CancelToken> cancel = std::make_unique<blocks::CancelToken>();
    std::optional<Clock::time_point> deadline;
    bool timed_out = false;
    Clock::time_point start;
    std::unique_ptr<LogFile> log;
  };

  const project::Project& project;
  const project::Pipeline& pipeline;
  const config::IoConfig& io_config;
  const Environment& env;
  blocks::BlockServices services;
  RunOptions options;
  data::OutputStore store;

  std::mutex mu;                       // guards everything below
  std::condition_variable work_cv;     // a task was queued, or stopping
  std::condition_variable done_cv;     // a block finished
  std::condition_variable monitor_cv;  // deadlines or cancellations changed, or stopping
  std::mutex observer_mu;              // one observer call at a time (taken after mu)
  std::deque<size_t> ready;            // blocks to run
  std::vector<Node> nodes;
  std::map<std::string, size_t, std::less<>> index;
  bool planned = false;
  bool cancelled = false;
  bool stopping = false;
  std::string cancel_reason;
  std::unique_ptr<LogFile> pipeline_log;

  State(const project::Project& p, const project::Pipeline& pl, const config::IoConfig& io,
        const Environment& e, blocks::BlockServices s, RunOptions o)
      : project(p),
        pipeline(pl),
        io_config(io),
        env(e),
        services(std::move(s)),
        options(std::move(o)),
        store(options.variables_dir, pl.uuid(), options.variables.execution_partition) {}

  // ---- planning -------------------------------------------------------------------------
  // Checks the pipeline and builds the nodes. Throws RunError listing every problem.
  void Plan() {
    std::vector<std::string> problems;
    for (const auto& d : pipeline.Validate()) {
      if (d.severity == project::Diagnostic::Severity::kError) problems.push_back(d.message);
    }
    for (const project::BlockSpec* b : pipeline.ExecutableBlocks()) {
      if (auto why = blocks::UnsupportedReason(*b))
        problems.push_back(Where(pipeline, *b) + ": " + *why);
    }
    for (const project::BlockSpec& b : pipeline.addon_blocks()) {
      if (auto why = blocks::UnsupportedReason(b))
        problems.push_back(Where(pipeline, b) + ": " + *why);
    }
    if (!problems.empty()) {
      std::string text = "pipeline '" + pipeline.uuid() + "' cannot run:";
      for (const auto& p : problems) text += "\n  " + p;
      throw RunError(text);
    }
    std::vector<Node> planned_nodes;
    std::map<std::string, size_t, std::less<>> planned_index;
    for (const project::BlockSpec* b : pipeline.TopologicalOrder()) {
      planned_index[b->uuid] = planned_nodes.size();
      Node n;
      n.spec = b;
      n.record.block_uuid = b->uuid;
      planned_nodes.push_back(std::move(n));
    }
    for (size_t i = 0; i < planned_nodes.size(); ++i) {
      for (const auto& up : planned_nodes[i].spec->upstream_blocks) {
        auto it = planned_index.find(up);
        if (it == planned_index.end()) continue;  // a non-executable upstream (chart, markdown)
        planned_nodes[i].upstream.push_back(it->second);
        planned_nodes[it->second].downstream.push_back(i);
      }
      planned_nodes[i].waiting_on = planned_nodes[i].upstream.size();
    }
    std::lock_guard lock(mu);
    nodes = std::move(planned_nodes);
    index = std::move(planned_index);
    planned = true;
  }

  void OpenLogs() {
    fs::path logs_dir = store.LogsDir();
    pipeline_log = std::make_unique<LogFile>(
        logs_dir / "pipeline.log", nlohmann::ordered_json{{"pipeline_uuid", pipeline.uuid()}}, "",
        options.observer, observer_mu);
    for (const auto& d : pipeline.Validate()) pipeline_log->Warning(d.message);
    if (nodes.empty()) pipeline_log->Warning("the pipeline has no blocks to run");
    for (const char* key : kReservedVariables) {
      if (options.variables.values.contains(key)) {
        pipeline_log->Warning(std::string("variable '") + key +
                              "' is reserved: blocks see the run's own value");
      }
    }
    for (auto& n : nodes) {
      nlohmann::ordered_json tags = {{"block_type", project::BlockTypeName(n.spec->type)},
                                     {"block_uuid", n.spec->uuid},
                                     {"pipeline_uuid", pipeline.uuid()}};
      // Mage names block logs by the cleaned uuid (a '/' in the uuid becomes '_').
      n.log =
          std::make_unique<LogFile>(logs_dir / (CleanName(n.spec->uuid) + ".log"), std::move(tags),
                                    n.spec->uuid, options.observer, observer_mu);
    }
  }

  // ---- state transitions (REQUIRE: mu held) ---------------------------------------------
  void Notify(const Node& n) {
    if (options.observer == nullptr) return;
    std::lock_guard lock(observer_mu);
    options.observer->OnBlockStatus(n.record);
  }

  void Queue(size_t i) {
    nodes[i].record.status = BlockRunStatus::kQueued;
    ready.push_back(i);
    work_cv.notify_one();
  }

  // Blocks completed by an earlier attempt of this run (RunOptions::resume_completed) count as
  // completed with the outputs they stored. REQUIRES: mu held, before any block is queued.
  void Resume() {
    for (size_t i = 0; i < nodes.size(); ++i) {
      Node& n = nodes[i];
      if (options.resume_completed.count(n.spec->uuid) == 0) continue;
      n.outputs = store.ListOutputs(n.spec->uuid);
      for (const auto& o : n.outputs) {
        n.record.outputs.push_back(o.dir);
        if (o.index == 0 && o.is_table()) n.record.rows = o.rows;
      }
      n.log->Info("completed in an earlier attempt of this run: not run again");
      Finish(i, BlockRunStatus::kCompleted, "");
      for (size_t d : n.downstream) --nodes[d].waiting_on;
    }
  }

  // Outputs a runner stores in the background (a Python block's DataFrames) are complete before
  // the run ends; one that could not be written fails its block after all.
  void AwaitOutputs() {
    for (size_t i = 0; i < nodes.size(); ++i) {
      for (const auto& output : nodes[i].outputs) {
        try {
          output.AwaitWritten();
        } catch (const std::exception& e) {
          std::string error = "block '" + nodes[i].spec->uuid + "': output_" +
                              std::to_string(output.index) + " could not be stored: " + e.what();
          nodes[i].log->Error(error);
          std::lock_guard lock(mu);
          Finish(i, BlockRunStatus::kFailed, error);
        }
      }
    }
  }

  void Finish(size_t i, BlockRunStatus status, std::string error) {
    Node& n = nodes[i];
    n.record.status = status;
    n.record.error = std::move(error);
    n.record.completed_at = DateTime::NowUtc();
    if (n.record.started_at) {
      n.record.duration =
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - n.start);
    }
    n.deadline.reset();
    Notify(n);
    done_cv.notify_all();
  }

  // Blocks below `i` that have not started can no longer run.
  void FinishDownstream(size_t i, BlockRunStatus status, const std::string& why) {
    for (size_t d : nodes[i].downstream) {
      BlockRunStatus s = nodes[d].record.status;
      if (s != BlockRunStatus::kInitial && s != BlockRunStatus::kQueued) continue;
      Finish(d, status, why);
      FinishDownstream(d, status, why);
    }
  }

  void CancelAll(const std::string& reason) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      Node& n = nodes[i];
      if (n.record.status == BlockRunStatus::kInitial ||
          n.record.status == BlockRunStatus::kQueued) {
        Finish(i, BlockRunStatus::kCancelled, reason);
      } else if (n.record.status == BlockRunStatus::kRunning) {
        n.cancel->Cancel(reason);
      }
    }
    monitor_cv.notify_all();
  }

  bool AllFinished() const {
    return std::all_of(nodes.begin(), nodes.end(),
                       [](const Node& n) { return IsFinished(n.record.status); });
  }

  bool IsAncestor(size_t ancestor, size_t of) const {
    std::vector<size_t> stack(nodes[of].upstream);
    std::set<size_t> seen;
    while (!stack.empty()) {
      size_t u = stack.back();
      stack.pop_back();
      if (u == ancestor) return true;
      if (seen.insert(u).second)
        stack.insert(stack.end(), nodes[u].upstream.begin(), nodes[u].upstream.end());
    }
    return false;
  }

  // ---- running one block ----------------------------------------------------------------
  blocks::BlockInvocation MakeInvocation(size_t i, int attempt) {
    Node& n = nodes[i];
    std::vector<blocks::UpstreamData> upstream;
    {
      std::lock_guard lock(mu);
      for (const auto& up_uuid : n.spec->upstream_blocks) {
        blocks::UpstreamData data{up_uuid, {}};
        if (auto it = index.find(up_uuid); it != index.end())
          data.outputs = nodes[it->second].outputs;
        upstream.push_back(std::move(data));
      }
    }
    return blocks::BlockInvocation{
        .project = project,
        .pipeline = pipeline,
        .block = *n.spec,
        .env = env,
        .io_config = io_config,
        .vars = options.variables,
        .upstream = std::move(upstream),
        .block_output = [this, i](std::string_view uuid,
                                  std::string& why) -> std::optional<data::StoredOutput> {
          std::lock_guard lock(mu);
          auto it = index.find(uuid);
          if (it == index.end()) {
            why = "no block of that uuid runs in this pipeline";
          } else if (!IsAncestor(it->second, i)) {
            why = "that block is not upstream of this one, so its output may not exist yet";
          } else if (nodes[it->second].outputs.empty()) {
            why = "that block stored no output";
          } else {
            return nodes[it->second].outputs.front();
          }
          return std::nullopt;
        },
        .outputs = store,
        .attempt = attempt,
        .services = services,
        .log = *n.log,
        .cancel = *n.cancel,
    };
  }

  void RunBlock(size_t i) {
    Node& n = nodes[i];
    {
      std::lock_guard lock(mu);
      if (n.record.status != BlockRunStatus::kQueued) return;  // cancelled meanwhile
      n.record.status = BlockRunStatus::kRunning;
      n.record.started_at = DateTime::NowUtc();
      n.start = Clock::now();
      if (n.spec->timeout_seconds && *n.spec->timeout_seconds > 0) {
        n.deadline = n.start + std::chrono::milliseconds(
                                   static_cast<int64_t>(*n.spec->timeout_seconds * 1000));
      }
      monitor_cv.notify_all();
      Notify(n);
    }
    std::optional<blocks::BlockResult> result;
    std::string error;
    try {
      std::unique_ptr<blocks::BlockRunner> runner = blocks::MakeBlockRunner(*n.spec);
      RetrySchedule schedule(RetrySchedule::Merge(project.retry_config(), n.spec->retry_config));
      for (int attempt = 1;; ++attempt) {
        {
          std::lock_guard lock(mu);
          n.record.attempts = attempt;
          if (attempt > 1) Notify(n);
        }
        try {
          blocks::BlockInvocation invocation = MakeInvocation(i, attempt);
          result = runner->Run(invocation);
          break;
        } catch (const blocks::BlockError& e) {
          error = e.what();
        } catch (const Error& e) {
          error = "block '" + n.spec->uuid + "': " + e.what();
        }
        if (n.cancel->cancelled()) break;
        n.log->Error(error);
        std::optional<double> delay = schedule.AfterFailure(attempt);
        if (!delay) break;
        n.log->Warning("retrying in " + FormatSeconds(*delay) + " (attempt " +
                       std::to_string(attempt + 1) + ")");
        if (!n.cancel->SleepFor(std::chrono::milliseconds(static_cast<int64_t>(*delay * 1000))))
          break;
      }
    } catch (const std::exception& e) {  // a bug, not a block failure: report it, keep going
      error = "block '" + n.spec->uuid + "': internal error: " + e.what();
      n.log->Error(error);
    }
    if (result) {
      for (const auto& d : result->destinations) n.log->Info("exported to " + d);
    } else if (n.timed_out) {
      error = "block '" + n.spec->uuid + "' " + n.cancel->reason();
      n.log->Error(error);
    }

    std::lock_guard lock(mu);
    if (result) {  // complete on disk, even if a cancellation arrived meanwhile
      n.outputs = result->outputs;
      n.record.rows = result->rows;
      n.record.destinations = result->destinations;
      for (const auto& o : result->outputs) n.record.outputs.push_back(o.dir);
      Finish(i, BlockRunStatus::kCompleted, "");
      for (size_t d : n.downstream) {
        if (--nodes[d].waiting_on == 0 && nodes[d].record.status == BlockRunStatus::kInitial)
          Queue(d);
      }
    } else if (n.cancel->cancelled() && !n.timed_out) {
      Finish(i, BlockRunStatus::kCancelled, n.cancel->reason());
      FinishDownstream(i, BlockRunStatus::kCancelled, n.cancel->reason());
    } else {
      Finish(i, BlockRunStatus::kFailed, error);
      FinishDownstream(i, BlockRunStatus::kUpstreamFailed,
                       "upstream block '" + n.spec->uuid + "' failed");
      if (options.fail_fast && !cancelled) {
        CancelAll("cancelled because block '" + n.spec->uuid + "' failed (--fail-fast)");
      }
    }
  }

  // ---- threads --------------------------------------------------------------------------
  void Worker() {
    for (;;) {
      size_t next;
      {
        std::unique_lock lock(mu);
        work_cv.wait(lock, [&] { return !ready.empty() || stopping; });
        if (ready.empty()) return;
        next = ready.front();
        ready.pop_front();
      }
      RunBlock(next);
    }
  }

  // Fires block timeouts and repeats the interrupts of cancelled blocks until they end.
  void Monitor() {
    std::unique_lock lock(mu);
    while (!stopping) {
      const auto now = Clock::now();
      std::optional<Clock::time_point> wake;
      auto wake_at = [&](Clock::time_point t) { wake = wake ? std::min(*wake, t) : t; };
      for (auto& n : nodes) {
        if (n.record.status != BlockRunStatus::kRunning) continue;
        if (n.deadline && *n.deadline <= now) {
          n.timed_out = true;
          n.deadline.reset();
          n.cancel->Cancel("timed out after " + FormatSeconds(*n.spec->timeout_seconds));
        }
        if (n.cancel->cancelled()) {
          n.cancel->Reinterrupt();
          wake_at(now + kReinterruptEvery);
        } else if (n.deadline) {
          wake_at(*n.deadline);
        }
      }
      if (wake) {
        monitor_cv.wait_until(lock, *wake);
      } else {
        monitor_cv.wait(lock);
      }
    }
  }
};

PipelineRun::PipelineRun(const project::Project& project, const project::Pipeline& pipeline,
                         const config::IoConfig& io_config, const Environment& env,
                         blocks::BlockServices services, RunOptions options)
    : state_(std::make_unique<State>(project, pipeline, io_config, env, std::move(services),
                                     std::move(options))) {}

PipelineRun::~PipelineRun() = default;

PipelineRunRecord PipelineRun::Execute() {
  State& s = *state_;
  s.Plan();
  try {
    s.store.EnsureWritable();
  } catch (const data::DataError& e) {
    throw RunError("pipeline '" + s.pipeline.uuid() + "' cannot run: " + e.what());
  }
  const auto started = Clock::now();
  s.OpenLogs();

  int workers = s.options.max_parallel_blocks > 0
                    ? s.options.max_parallel_blocks
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  {
    std::lock_guard lock(s.mu);
    s.Resume();
    if (s.cancelled) {
      s.CancelAll(s.cancel_reason);  // Cancel() came before the blocks existed
    } else {
      for (size_t i = 0; i < s.nodes.size(); ++i)
        if (s.nodes[i].waiting_on == 0 && s.nodes[i].record.status == BlockRunStatus::kInitial)
          s.Queue(i);
    }
  }
  std::vector<std::thread> threads;
  for (int k = 0; k < workers; ++k) threads.emplace_back([&s] { s.Worker(); });
  std::thread monitor([&s] { s.Monitor(); });
  PipelineRunRecord record;
  {
    std::unique_lock lock(s.mu);
    s.done_cv.wait(lock, [&] { return s.AllFinished(); });
    s.stopping = true;
    lock.unlock();
    s.AwaitOutputs();
    lock.lock();
    record.status = PipelineRunStatus::kCompleted;
    for (auto& n : s.nodes) {
      record.blocks.push_back(n.record);
      if (n.record.status != BlockRunStatus::kCompleted &&
          n.record.status != BlockRunStatus::kConditionFailed) {
        record.status = PipelineRunStatus::kFailed;
      }
    }
    if (s.cancelled) record.status = PipelineRunStatus::kCancelled;
  }
  s.work_cv.notify_all();
  s.monitor_cv.notify_all();
  for (auto& t : threads) t.join();
  monitor.join();

  record.pipeline_uuid = s.pipeline.uuid();
  record.variables_dir = s.options.variables_dir;
  record.outputs_dir = s.store.VariablesRoot();
  record.logs_dir = s.store.LogsDir();
  record.execution_date = s.options.variables.execution_date;
  record.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  s.pipeline_log->Info("pipeline run " + std::string(PipelineRunStatusName(record.status)) +
                       " in " + std::to_string(record.duration.count()) + " ms");
  return record;
}

void PipelineRun::Cancel(const std::string& reason) {
  State& s = *state_;
  std::lock_guard lock(s.mu);
  if (s.cancelled) {
    // Asked again: repeat the interrupts (the monitor also repeats them).
    for (auto& n : s.nodes)
      if (n.record.status == BlockRunStatus::kRunning) n.cancel->Reinterrupt();
    return;
  }
  s.cancelled = true;
  s.cancel_reason = reason;
  if (s.planned) s.CancelAll(reason);
}

}  // namespace kiln::run
