#include "kiln/orchestration/run_service.h"

#include <fmt/format.h>

#include "kiln/config/io_config.h"

namespace kiln::orchestration {

std::string ExecutionPartition(const store::PipelineRun& run) {
  if (run.variables.contains("execution_partition") &&
      run.variables["execution_partition"].is_string()) {
    return run.variables["execution_partition"];
  }
  if (!run.pipeline_schedule_id) return "";
  return std::to_string(*run.pipeline_schedule_id) + "/" +
         run.execution_date.Strftime("%Y%m%dT%H%M%S");
}

RunService::RunService(const project::Project& project, const Environment& env,
                       std::filesystem::path variables_dir, store::MetadataStore& store,
                       const data::Engine::Options& engine, blocks::PythonSetup python,
                       connectors::FetchOptions fetch)
    : project_(project),
      env_(env),
      variables_dir_(std::move(variables_dir)),
      store_(store),
      engine_(engine),
      fetch_(std::move(fetch)),
      python_(std::move(python), blocks::DefaultFrameCacheBytes(env.Get("KILN_FRAME_CACHE_MB"))) {}

RunService::~RunService() {
  std::map<int64_t, std::thread> threads;
  std::vector<std::thread> finished;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& [id, run] : running_)
      if (run) run->Cancel("cancelled: kiln is stopping");
    threads.swap(threads_);
    finished.swap(finished_);
  }
  for (auto& [id, t] : threads) t.join();
  for (auto& t : finished) t.join();
}

bool RunService::Launch(int64_t run_id) {
  std::vector<std::thread> finished;
  {
    std::lock_guard lock(mu_);
    if (stopping_ || running_.count(run_id)) return false;
    running_[run_id] = nullptr;
    finished.swap(finished_);
    threads_[run_id] = std::thread([this, run_id] { Execute(run_id); });
  }
  for (auto& t : finished) t.join();
  return true;
}

bool RunService::Cancel(int64_t run_id, const std::string& reason) {
  std::lock_guard lock(mu_);
  auto it = running_.find(run_id);
  if (it == running_.end()) return false;
  cancel_requests_[run_id] = reason;
  if (it->second) it->second->Cancel(reason);
  return true;
}

std::set<int64_t> RunService::Active() {
  std::lock_guard lock(mu_);
  std::set<int64_t> ids;
  for (const auto& [id, run] : running_) ids.insert(id);
  return ids;
}

void RunService::SetOnRunEnded(OnRunEnded callback) {
  std::lock_guard lock(mu_);
  on_ended_ = std::move(callback);
}

void RunService::Execute(int64_t run_id) {
  try {
    std::optional<store::PipelineRun> stored = store_.GetPipelineRun(run_id);
    if (!stored) throw store::StoreError("no pipeline run " + std::to_string(run_id));
    project::Pipeline pipeline = project_.LoadPipeline(stored->pipeline_uuid);
    config::IoConfig io_config = config::IoConfig::Load(project_.root(), env_);
    run::RunOptions options;
    // Mage's order (§1.6): the pipeline's variables, then the run's (trigger + request).
    options.variables.values =
        pipeline.variables().is_object() ? pipeline.variables() : nlohmann::json::object();
    options.variables.values.update(stored->variables);
    options.variables.execution_date = stored->execution_date;
    options.variables.env = env_.Get("ENV").value_or("prod");  // triggered runs: Mage's "prod"
    options.variables.execution_partition = ExecutionPartition(*stored);
    options.variables_dir = variables_dir_;
    options.max_parallel_blocks = pipeline.BlockRunLimit().value_or(0);
    options.run_key = "run" + std::to_string(run_id);
    RunContext context{
        .project = project_,
        .pipeline = pipeline,
        .io_config = io_config,
        .env = env_,
        .services = blocks::BlockServices{.engine = engine_, .fetch = fetch_, .python = &python_}};
    ExecuteStoredRun(store_, run_id, context, std::move(options),
                     [this, run_id](run::PipelineRun* r) {
                       std::lock_guard lock(mu_);
                       running_[run_id] = r;
                       if (r) {
                         if (auto it = cancel_requests_.find(run_id); it != cancel_requests_.end())
                           r->Cancel(it->second);
                         if (stopping_) r->Cancel("cancelled: kiln is stopping");
                       }
                     });
  } catch (const std::exception& e) {
    fmt::print(stderr, "kiln: pipeline run {}: {}\n", run_id, e.what());
    try {
      store_.UpdatePipelineRunMetrics(run_id, {{"error", {{"message", e.what()}}}}, false,
                                      DateTime::NowUtcPrecise());
      store_.TransitionPipelineRun(run_id, {"initial", "running"}, "failed",
                                   DateTime::NowUtcPrecise());
    } catch (const std::exception&) {
    }
  }
  std::lock_guard lock(mu_);
  running_.erase(run_id);
  cancel_requests_.erase(run_id);
  if (auto it = threads_.find(run_id); it != threads_.end()) {
    finished_.push_back(std::move(it->second));
    threads_.erase(it);
  }
  // Under the lock, so that after SetOnRunEnded(nullptr) returns no callback is running.
  if (on_ended_) on_ended_(run_id);
}

}  // namespace kiln::orchestration
