#include "kiln/run/pipeline_run.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "kiln/common/names.h"
#include "kiln/data/engine.h"
#include "kiln/data/output_store.h"
#include "kiln/run/logs.h"
#include "kiln/run/retry.h"

namespace kiln::run {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using blocks::LogLevel;

namespace {

std::string FormatSeconds(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, seconds == static_cast<int64_t>(seconds) ? "%.0f s" : "%.1f s",
                seconds);
  return buf;
}

}  // namespace

struct PipelineRun::State {
  // One executable block of the run.
  struct Node {
    const project::BlockSpec* spec = nullptr;
    std::vector<size_t> upstream;  // in upstream_blocks order
    std::vector<size_t> downstream;
    BlockRunRecord record;
    size_t waiting_on = 0;      // upstreams that have not produced yet
    size_t open_consumers = 0;  // downstream blocks whose run has not ended
    bool produced = false, persisted = false, dropped = false, run_ended = false;
    std::vector<std::string> memory_tables;
    std::vector<data::StoredOutput> stored;
    std::unique_ptr<blocks::CancelToken> cancel = std::make_unique<blocks::CancelToken>();
    std::optional<Clock::time_point> deadline;
    bool timed_out = false;
    Clock::time_point start;
    std::unique_ptr<LogFile> log;
  };
  enum class TaskKind { kRun, kPersist };
  struct Task {
    TaskKind kind;
    size_t node;
  };

  const project::Project& project;
  const project::Pipeline& pipeline;
  const config::IoConfig& io_config;
  const Environment& env;
  blocks::BlockServices services;
  RunOptions options;
  data::OutputStore store;

  std::mutex mu;
  std::condition_variable work_cv;     // tasks, or everything finished
  std::condition_variable monitor_cv;  // deadlines changed, or stop
  std::mutex observer_mu;
  std::deque<Task> tasks;
  std::vector<Node> nodes;
  std::map<std::string, size_t, std::less<>> index;
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
        services(s),
        options(std::move(o)),
        store(options.variables_dir, pl.uuid(), options.variables.execution_partition) {}

  // ---- planning -------------------------------------------------------------------------
  void Plan() {
    std::vector<std::string> problems;
    for (const auto& d : pipeline.Validate()) {
      if (d.severity == project::Diagnostic::Severity::kError) problems.push_back(d.message);
    }
    for (const project::BlockSpec* b : pipeline.ExecutableBlocks()) {
      if (auto why = blocks::UnsupportedReason(*b)) {
        problems.push_back(pipeline.metadata_path().string() + ":" + std::to_string(b->line) +
                           ": block '" + b->uuid + "' (" +
                           std::string(project::BlockLanguageName(b->language)) + " " +
                           std::string(project::BlockTypeName(b->type)) + "): " + *why);
      }
    }
    if (!problems.empty()) {
      std::string text = "pipeline '" + pipeline.uuid() + "' cannot run:";
      for (const auto& p : problems) text += "\n  " + p;
      throw RunError(text);
    }
    for (const project::BlockSpec* b : pipeline.TopologicalOrder()) {
      index[b->uuid] = nodes.size();
      Node n;
      n.spec = b;
      n.record.block_uuid = b->uuid;
      nodes.push_back(std::move(n));
    }
    for (size_t i = 0; i < nodes.size(); ++i) {
      for (const auto& up : nodes[i].spec->upstream_blocks) {
        auto it = index.find(up);
        if (it == index.end()) continue;  // a non-executable upstream (chart, markdown)
        nodes[i].upstream.push_back(it->second);
        nodes[it->second].downstream.push_back(i);
      }
      nodes[i].waiting_on = nodes[i].upstream.size();
    }
    for (auto& n : nodes) n.open_consumers = n.downstream.size();
  }

  // ---- observer and logs ----------------------------------------------------------------
  void Notify(const Node& n) {
    if (options.observer == nullptr) return;
    std::lock_guard lock(observer_mu);
    options.observer->OnBlockStatus(n.record);
  }

  // ---- state transitions (REQUIRE: mu held) ---------------------------------------------
  void Queue(size_t i) {
    nodes[i].record.status = BlockRunStatus::kQueued;
    tasks.push_back({TaskKind::kRun, i});
    work_cv.notify_one();
  }

  // The block's own run is over (success or not): it no longer reads its upstreams.
  void EndRun(size_t i, std::vector<std::string>& to_drop) {
    Node& n = nodes[i];
    if (n.run_ended) return;
    n.run_ended = true;
    for (size_t u : n.upstream) {
      --nodes[u].open_consumers;
      CollectDroppable(u, to_drop);
    }
  }

  void CollectDroppable(size_t i, std::vector<std::string>& to_drop) {
    Node& n = nodes[i];
    if (n.dropped || !n.persisted || n.open_consumers > 0) return;
    n.dropped = true;
    to_drop.insert(to_drop.end(), n.memory_tables.begin(), n.memory_tables.end());
  }

  void Finish(size_t i, BlockRunStatus status, std::string error,
              std::vector<std::string>& to_drop) {
    Node& n = nodes[i];
    n.record.status = status;
    n.record.error = std::move(error);
    n.record.completed_at = DateTime::NowUtc();
    if (n.record.started_at) {
      n.record.duration =
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - n.start);
    }
    n.deadline.reset();
    EndRun(i, to_drop);
    Notify(n);
    work_cv.notify_all();
  }

  void MarkDownstreamUpstreamFailed(size_t i, std::vector<std::string>& to_drop) {
    for (size_t d : nodes[i].downstream) {
      Node& n = nodes[d];
      if (n.record.status != BlockRunStatus::kInitial && n.record.status != BlockRunStatus::kQueued)
        continue;
      Finish(d, BlockRunStatus::kUpstreamFailed,
             "upstream block '" + nodes[i].spec->uuid + "' failed", to_drop);
      MarkDownstreamUpstreamFailed(d, to_drop);
    }
  }

  void CancelAll(const std::string& reason, std::vector<std::string>& to_drop) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      Node& n = nodes[i];
      if (n.record.status == BlockRunStatus::kInitial ||
          n.record.status == BlockRunStatus::kQueued) {
        Finish(i, BlockRunStatus::kCancelled, reason, to_drop);
      } else if (n.record.status == BlockRunStatus::kRunning && !n.produced) {
        n.cancel->Cancel(reason);
      }
    }
  }

  bool AllFinished() const {
    return std::all_of(nodes.begin(), nodes.end(),
                       [](const Node& n) { return IsFinished(n.record.status); });
  }

  void DropTables(const std::vector<std::string>& tables) {
    if (tables.empty()) return;
    try {
      auto conn = services.engine.Connect();
      for (const auto& t : tables) conn->Execute("DROP TABLE IF EXISTS " + t);
    } catch (const Error& e) {
      pipeline_log->Warning(std::string("could not free an in-memory output: ") + e.what());
    }
  }

  // ---- running one block ----------------------------------------------------------------
  blocks::BlockInvocation MakeInvocation(size_t i, int attempt) {
    Node& n = nodes[i];
    std::vector<blocks::UpstreamData> upstream;
    {
      std::lock_guard lock(mu);
      for (const auto& up_uuid : n.spec->upstream_blocks) {
        blocks::UpstreamData data;
        data.block_uuid = up_uuid;
        auto it = index.find(up_uuid);
        if (it != index.end()) data.relations = RelationsOf(nodes[it->second]);
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
        .block_output = [this](std::string_view uuid) -> std::optional<std::string> {
          std::lock_guard lock(mu);
          auto it = index.find(uuid);
          if (it == index.end() || !nodes[it->second].produced) return std::nullopt;
          auto rel = RelationsOf(nodes[it->second]);
          if (rel.empty()) return std::nullopt;
          return rel[0];
        },
        .output_table_prefix = options.run_key + "__" + CleanName(n.spec->uuid),
        .attempt = attempt,
        .services = services,
        .log = *n.log,
        .cancel = *n.cancel,
    };
  }

  // REQUIRES: mu held.
  std::vector<std::string> RelationsOf(const Node& n) const {
    std::vector<std::string> out;
    if (!n.dropped) return n.memory_tables;
    for (const auto& s : n.stored) out.push_back(s.RelationSql());
    return out;
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
        monitor_cv.notify_all();
      }
      Notify(n);
    }
    std::unique_ptr<blocks::BlockRunner> runner = blocks::MakeBlockRunner(*n.spec);
    RetrySchedule schedule(RetrySchedule::Merge(project.retry_config(), n.spec->retry_config));
    std::optional<blocks::BlockResult> result;
    std::string error;
    for (int attempt = 1;; ++attempt) {
      {
        std::lock_guard lock(mu);
        n.record.attempts = attempt;
      }
      try {
        blocks::BlockInvocation invocation = MakeInvocation(i, attempt);
        result = runner->Run(invocation);
        break;
      } catch (const blocks::BlockError& e) {
        error = e.what();
      } catch (const Error& e) {
        error = "block '" + n.spec->uuid + "': " + e.what();
      } catch (const std::exception& e) {
        error = "block '" + n.spec->uuid + "': internal error: " + e.what();
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

    std::vector<std::string> to_drop;
    {
      std::lock_guard lock(mu);
      n.deadline.reset();
      if (result && !n.cancel->cancelled()) {
        n.produced = true;
        n.memory_tables = result->output_tables;
        n.record.rows = result->rows;
        n.record.destinations = result->destinations;
        EndRun(i, to_drop);
        for (size_t d : n.downstream) {
          if (--nodes[d].waiting_on == 0 && nodes[d].record.status == BlockRunStatus::kInitial)
            Queue(d);
        }
        tasks.push_front({TaskKind::kPersist, i});  // persist first: it frees memory sooner
        work_cv.notify_one();
      } else if (n.cancel->cancelled() && !n.timed_out) {
        Finish(i, BlockRunStatus::kCancelled, n.cancel->reason(), to_drop);
        MarkDownstreamUpstreamFailed(i, to_drop);
      } else {
        if (n.timed_out) {
          error = "block '" + n.spec->uuid + "' " + n.cancel->reason();
          n.log->Error(error);
        }
        Finish(i, BlockRunStatus::kFailed, error, to_drop);
        MarkDownstreamUpstreamFailed(i, to_drop);
        if (options.fail_fast && !cancelled) {
          CancelAll("cancelled because block '" + n.spec->uuid + "' failed (--fail-fast)", to_drop);
        }
      }
    }
    for (const auto& d : n.record.destinations) n.log->Info("exported to " + d);
    DropTables(to_drop);
  }

  void PersistBlock(size_t i) {
    Node& n = nodes[i];
    std::vector<data::StoredOutput> stored;
    std::string error;
    try {
      auto conn = services.engine.Connect();
      store.ClearOutputs(n.spec->uuid);
      for (size_t k = 0; k < n.memory_tables.size(); ++k) {
        stored.push_back(
            store.WriteTable(*conn, n.spec->uuid, static_cast<int>(k), n.memory_tables[k]));
      }
    } catch (const Error& e) {
      error = "block '" + n.spec->uuid + "': could not store its output: " + e.what();
      n.log->Error(error);
    }
    std::vector<std::string> to_drop;
    {
      std::lock_guard lock(mu);
      n.stored = stored;
      n.persisted = error.empty();
      for (const auto& s : stored) n.record.outputs.push_back(s.dir);
      Finish(i, error.empty() ? BlockRunStatus::kCompleted : BlockRunStatus::kFailed, error,
             to_drop);
      CollectDroppable(i, to_drop);
    }
    DropTables(to_drop);
  }

  // ---- threads --------------------------------------------------------------------------
  void Worker() {
    for (;;) {
      Task task;
      {
        std::unique_lock lock(mu);
        work_cv.wait(lock, [&] { return !tasks.empty() || stopping; });
        if (tasks.empty()) return;
        task = tasks.front();
        tasks.pop_front();
      }
      if (task.kind == TaskKind::kRun) {
        RunBlock(task.node);
      } else {
        PersistBlock(task.node);
      }
    }
  }

  void Monitor() {
    std::unique_lock lock(mu);
    while (!stopping) {
      std::optional<Clock::time_point> next;
      for (auto& n : nodes) {
        if (!n.deadline) continue;
        if (*n.deadline <= Clock::now()) {
          n.timed_out = true;
          n.deadline.reset();
          n.cancel->Cancel("timed out after " + FormatSeconds(*n.spec->timeout_seconds));
        } else if (!next || *n.deadline < *next) {
          next = n.deadline;
        }
      }
      if (next) {
        monitor_cv.wait_until(lock, *next);
      } else {
        monitor_cv.wait(lock);
      }
    }
  }
};

PipelineRun::PipelineRun(const project::Project& project, const project::Pipeline& pipeline,
                         const config::IoConfig& io_config, const Environment& env,
                         blocks::BlockServices services, RunOptions options)
    : state_(std::make_unique<State>(project, pipeline, io_config, env, services,
                                     std::move(options))) {}

PipelineRun::~PipelineRun() = default;

PipelineRunRecord PipelineRun::Execute() {
  State& s = *state_;
  s.Plan();
  const auto started = Clock::now();
  fs::path logs_dir = s.store.LogsDir();
  s.pipeline_log = std::make_unique<LogFile>(
      logs_dir / "pipeline.log", nlohmann::ordered_json{{"pipeline_uuid", s.pipeline.uuid()}}, "",
      s.options.observer, s.observer_mu);
  for (const auto& d : s.pipeline.Validate()) s.pipeline_log->Warning(d.message);
  for (auto& n : s.nodes) {
    nlohmann::ordered_json tags = {{"block_type", project::BlockTypeName(n.spec->type)},
                                   {"block_uuid", n.spec->uuid},
                                   {"pipeline_uuid", s.pipeline.uuid()}};
    // Mage names block logs by the cleaned uuid (a '/' in the uuid becomes '_').
    n.log =
        std::make_unique<LogFile>(logs_dir / (CleanName(n.spec->uuid) + ".log"), std::move(tags),
                                  n.spec->uuid, s.options.observer, s.observer_mu);
  }

  int workers = s.options.max_parallel_blocks > 0
                    ? s.options.max_parallel_blocks
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  {
    std::lock_guard lock(s.mu);
    for (size_t i = 0; i < s.nodes.size(); ++i)
      if (s.nodes[i].waiting_on == 0 && !s.cancelled) s.Queue(i);
  }
  std::vector<std::thread> threads;
  for (int k = 0; k < workers; ++k) threads.emplace_back([&s] { s.Worker(); });
  std::thread monitor([&s] { s.Monitor(); });
  {
    std::unique_lock lock(s.mu);
    s.work_cv.wait(lock, [&] { return s.AllFinished(); });
    s.stopping = true;
  }
  s.work_cv.notify_all();
  s.monitor_cv.notify_all();
  for (auto& t : threads) t.join();
  monitor.join();

  // Outputs still held in memory (e.g. after a failure downstream) are freed now.
  std::vector<std::string> leftovers;
  for (auto& n : s.nodes) {
    if (!n.dropped)
      leftovers.insert(leftovers.end(), n.memory_tables.begin(), n.memory_tables.end());
  }
  s.DropTables(leftovers);

  PipelineRunRecord record;
  record.pipeline_uuid = s.pipeline.uuid();
  record.variables_dir = s.options.variables_dir;
  record.logs_dir = logs_dir;
  record.execution_date = s.options.variables.execution_date;
  record.status = PipelineRunStatus::kCompleted;
  for (auto& n : s.nodes) {
    record.blocks.push_back(n.record);
    if (n.record.status != BlockRunStatus::kCompleted &&
        n.record.status != BlockRunStatus::kConditionFailed) {
      record.status = PipelineRunStatus::kFailed;
    }
  }
  if (s.cancelled) record.status = PipelineRunStatus::kCancelled;
  record.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  s.pipeline_log->Info("pipeline run " + std::string(PipelineRunStatusName(record.status)) +
                       " in " + std::to_string(record.duration.count()) + " ms");
  return record;
}

void PipelineRun::Cancel(const std::string& reason) {
  State& s = *state_;
  std::vector<std::string> to_drop;
  {
    std::lock_guard lock(s.mu);
    if (s.cancelled) return;
    s.cancelled = true;
    s.cancel_reason = reason;
    s.CancelAll(reason, to_drop);
  }
  s.DropTables(to_drop);
}

}  // namespace kiln::run
