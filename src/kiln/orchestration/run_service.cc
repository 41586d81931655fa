#include "kiln/orchestration/run_service.h"

#include <fmt/format.h>

#include <chrono>
#include <condition_variable>

#include "kiln/config/io_config.h"
#include "kiln/orchestration/run_variables.h"

namespace kiln::orchestration {

namespace {

// A triggered run's clock (§2.7): past settings.timeout (seconds since it started) it is
// cancelled and later given settings.timeout_status; past its execution_date + the trigger's
// sla it is marked passed_sla (and goes on).
class RunWatch {
 public:
  RunWatch(store::MetadataStore& store, const store::PipelineRun& run,
           const std::optional<store::PipelineSchedule>& schedule,
           std::function<void(const std::string&)> cancel)
      : store_(store), run_id_(run.id), cancel_(std::move(cancel)) {
    using Clock = std::chrono::system_clock;
    if (!schedule) return;
    const nlohmann::json timeout = schedule->settings.value("timeout", nlohmann::json());
    if (timeout.is_number() && timeout.get<double>() > 0) {
      timeout_seconds_ = timeout.get<double>();
      timeout_at_ = Clock::now() +
                    std::chrono::milliseconds(static_cast<int64_t>(timeout.get<double>() * 1000));
    }
    if (schedule->sla_seconds && *schedule->sla_seconds > 0 && !run.passed_sla) {
      sla_at_ = Clock::time_point(std::chrono::microseconds(run.execution_date.utc_micros())) +
                std::chrono::seconds(*schedule->sla_seconds);
    }
    if (timeout_at_ || sla_at_) thread_ = std::thread([this] { Loop(); });
  }
  ~RunWatch() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  RunWatch(const RunWatch&) = delete;
  RunWatch& operator=(const RunWatch&) = delete;

  bool timed_out() const {
    std::lock_guard lock(mu_);
    return timed_out_;
  }
  double timeout_seconds() const { return timeout_seconds_; }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (!stop_ && (timeout_at_ || sla_at_)) {
      auto next = timeout_at_ ? *timeout_at_ : *sla_at_;
      if (sla_at_ && *sla_at_ < next) next = *sla_at_;
      if (cv_.wait_until(lock, next, [this] { return stop_; })) return;
      const auto now = std::chrono::system_clock::now();
      if (sla_at_ && *sla_at_ <= now) {
        sla_at_.reset();
        try {
          store_.MarkPassedSla(run_id_, DateTime::NowUtcPrecise());
        } catch (const store::StoreError&) {
        }
      }
      if (timeout_at_ && *timeout_at_ <= now) {
        timeout_at_.reset();
        timed_out_ = true;
        cancel_("timed out after " + std::to_string(static_cast<int64_t>(timeout_seconds_)) +
                " s (the trigger's settings.timeout)");
      }
    }
  }

  store::MetadataStore& store_;
  int64_t run_id_;
  std::function<void(const std::string&)> cancel_;
  double timeout_seconds_ = 0;
  std::optional<std::chrono::system_clock::time_point> timeout_at_, sla_at_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool timed_out_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

}  // namespace

RunService::RunService(const project::Project& project, const Environment& env,
                       std::filesystem::path variables_dir, store::MetadataStore& store,
                       const data::Engine::Options& engine, blocks::PythonSetup python,
                       connectors::FetchOptions fetch, connectors::CloudServices cloud)
    : project_(project),
      env_(env),
      variables_dir_(std::move(variables_dir)),
      store_(store),
      engine_(engine),
      fetch_(std::move(fetch)),
      cloud_(std::move(cloud)),
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
    std::optional<store::PipelineSchedule> schedule;
    if (stored->pipeline_schedule_id) schedule = store_.GetSchedule(*stored->pipeline_schedule_id);
    run::RunOptions options;
    options.variables = RunVariablesOf(*stored, pipeline, schedule);
    options.variables.env = env_.Get("ENV").value_or("prod");  // triggered runs: Mage's "prod"
    options.variables_dir = variables_dir_;
    options.max_parallel_blocks = pipeline.BlockRunLimit().value_or(0);
    // settings.allow_blocks_to_fail false (Mage's default for triggered runs, §1.5): the first
    // failed block fails the run and stops the others.
    options.fail_fast = schedule && !schedule->settings.value("allow_blocks_to_fail", false);
    RunWatch watch(store_, *stored, schedule,
                   [this, run_id](const std::string& why) { Cancel(run_id, why); });
    options.run_key = "run" + std::to_string(run_id);
    RunContext context{
        .project = project_,
        .pipeline = pipeline,
        .io_config = io_config,
        .env = env_,
        .services = blocks::BlockServices{
            .engine = engine_, .fetch = fetch_, .python = &python_, .cloud = &cloud_}};
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
    if (watch.timed_out()) {  // ended cancelled: it takes settings.timeout_status (§2.7)
      const std::string status = schedule->settings.value("timeout_status", "failed");
      store_.UpdatePipelineRunMetrics(
          run_id,
          {{"error",
            {{"message", "timed out after " +
                             std::to_string(static_cast<int64_t>(watch.timeout_seconds())) +
                             " s (settings.timeout)"}}}},
          store_.GetPipelineRun(run_id)->passed_sla, DateTime::NowUtcPrecise());
      if (status != "cancelled")
        store_.TransitionPipelineRun(run_id, {"cancelled"}, status, DateTime::NowUtcPrecise());
    }
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
