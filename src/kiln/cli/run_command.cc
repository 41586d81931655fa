#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "kiln/blocks/python/python_services.h"
#include "kiln/cli/commands.h"
#include "kiln/cli/console.h"
#include "kiln/cli/paths.h"
#include "kiln/cli/signals.h"
#include "kiln/config/io_config.h"
#include "kiln/connectors/http/http_fetcher.h"
#include "kiln/data/engine.h"
#include "kiln/data/output_store.h"
#include "kiln/orchestration/run_variables.h"
#include "kiln/orchestration/stored_run.h"
#include "kiln/project/error.h"
#include "kiln/project/project.h"
#include "kiln/run/pipeline_run.h"
#include "kiln/store/metadata_store.h"

namespace kiln::cli {
namespace {

// `kiln run`: SIGINT/SIGTERM turn into PipelineRun::Cancel from a dedicated thread. SignalMask
// comes first in RunCommand's scope, before any thread starts, so that every thread inherits the
// mask; SignalWatcher stops its thread before the run is destroyed. A second signal exits at
// once (130).

// Hands a cancellation to the run once it exists (a signal may come before or after).
class CancelRelay {
 public:
  void Set(run::PipelineRun* run) {
    std::lock_guard lock(mu_);
    run_ = run;
    if (run_ && reason_) run_->Cancel(*reason_);
  }
  void Cancel(const std::string& reason) {
    std::lock_guard lock(mu_);
    reason_ = reason;
    if (run_) run_->Cancel(reason);
  }

 private:
  std::mutex mu_;
  run::PipelineRun* run_ = nullptr;
  std::optional<std::string> reason_;
};

class SignalWatcher {
 public:
  SignalWatcher(const SignalMask& mask, CancelRelay& run) {
    thread_ = std::thread([&mask, &run] {
      bool asked = false;
      for (;;) {
        int sig = 0;
        if (sigwait(&mask.set(), &sig) != 0 || sig == SIGUSR2) return;
        if (asked) {
          fmt::print(stderr, "\nkiln: second signal, exiting now\n");
          std::_Exit(130);
        }
        asked = true;
        fmt::print(stderr, "\nkiln: {} received, cancelling the run (again to exit at once)...\n",
                   sig == SIGINT ? "interrupt" : "termination request");
        run.Cancel(sig == SIGINT ? "cancelled by the user (Ctrl-C)" : "cancelled (SIGTERM)");
      }
    });
  }
  ~SignalWatcher() {
    pthread_kill(thread_.native_handle(), SIGUSR2);
    thread_.join();
  }
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  std::thread thread_;
};

nlohmann::json MergeVariables(const project::Pipeline& pipeline, const std::string& runtime_json) {
  nlohmann::json vars = nlohmann::json::object();
  if (pipeline.variables().is_object()) vars = pipeline.variables();
  if (runtime_json.empty()) return vars;
  nlohmann::json runtime = nlohmann::json::parse(runtime_json, nullptr, false);
  if (runtime.is_discarded() || !runtime.is_object()) {
    throw Error("--runtime-vars must be a JSON object, e.g. '{\"key\": \"value\"}'; got: " +
                runtime_json);
  }
  vars.update(runtime);
  return vars;
}

// Records a new run of `pipeline` (status initial, one block run per executable block).
int64_t NewRun(store::MetadataStore& metadata, const project::Pipeline& pipeline,
               const blocks::RunVariables& vars) {
  store::PipelineRun run;
  run.pipeline_uuid = pipeline.uuid();
  run.execution_date = DateTime(vars.execution_date->utc_micros(), 0);
  run.variables = vars.values;
  std::vector<std::string> blocks;
  for (const auto* b : pipeline.ExecutableBlocks()) blocks.push_back(b->uuid);
  return metadata.CreatePipelineRun(run, blocks, DateTime::NowUtcPrecise()).id;
}

// Checks that run `id` can be resumed by this command and takes its variables and date.
int64_t ResumedRun(store::MetadataStore& metadata, int64_t id, const project::Pipeline& pipeline,
                   const RunArgs& args, blocks::RunVariables& vars) {
  std::optional<store::PipelineRun> run = metadata.GetPipelineRun(id);
  const std::string name = "pipeline run " + std::to_string(id);
  if (!run) throw Error("--resume: no " + name + " in " + metadata.Describe() + " (see kiln runs)");
  if (run->pipeline_uuid != pipeline.uuid()) {
    throw Error("--resume: " + name + " is a run of pipeline '" + run->pipeline_uuid + "', not '" +
                pipeline.uuid() + "'");
  }
  if (run->status == "completed") throw Error("--resume: " + name + " is already completed");
  if (!args.runtime_vars_json.empty() || !args.execution_date.empty()) {
    throw Error(
        "--resume runs with the run's own variables and execution date; drop "
        "--runtime-vars and --execution-date");
  }
  if (run->status == "failed" || run->status == "cancelled") {
    metadata.TransitionPipelineRun(id, {run->status}, "running", DateTime::NowUtcPrecise());
  }
  // The run's own variables, date and output partition (a triggered run's outputs live under
  // its trigger's partition); ENV stays this command's, as for a fresh `kiln run`.
  std::optional<store::PipelineSchedule> schedule;
  if (run->pipeline_schedule_id) schedule = metadata.GetSchedule(*run->pipeline_schedule_id);
  const std::string env = vars.env;
  vars = orchestration::RunVariablesOf(*run, pipeline, schedule);
  vars.env = env;
  return id;
}

}  // namespace

int RunCommand(const RunArgs& args) {
  SignalMask signals;
  try {
    Environment env = ProjectEnvironment(args.project);
    project::Project project = project::Project::Open(args.project, env);
    project::Pipeline pipeline = project.LoadPipeline(args.pipeline);

    blocks::RunVariables vars;
    vars.values = MergeVariables(pipeline, args.runtime_vars_json);
    if (!args.execution_date.empty()) {
      auto parsed = DateTime::Parse(args.execution_date);
      if (!parsed) {
        throw Error("--execution-date '" + args.execution_date +
                    "' is not an ISO 8601 date or datetime (e.g. 2021-01-01T00:00:00)");
      }
      vars.execution_date = parsed;
    } else {
      DateTime now = DateTime::NowUtc();
      vars.execution_date = DateTime(now.wall_micros());  // naive UTC, as Python's utcnow()
    }
    vars.env = env.Get("ENV").value_or("dev");

    project::VariablesDir variables_dir = project::ResolveVariablesDir(project, env, args.data_dir);
    if (variables_dir.warning) fmt::print(stderr, "kiln: warning: {}\n", *variables_dir.warning);
    // The outputs, the logs and the metadata store all need the folder: refuse before anything.
    data::OutputStore(variables_dir.path, pipeline.uuid()).EnsureWritable();
    std::unique_ptr<store::MetadataStore> metadata = store::MetadataStore::Open(
        store::StoreLocationFrom(env.vars(), variables_dir.path.string()));
    const int64_t run_id = args.resume ? ResumedRun(*metadata, *args.resume, pipeline, args, vars)
                                       : NewRun(*metadata, pipeline, vars);
    config::IoConfig io_config = config::IoConfig::Load(project.root(), env);

    data::Engine::Options engine_options;
    engine_options.temp_directory = DuckDbTempDir(env);
    data::Engine engine(engine_options);
    connectors::FetchOptions fetch;
    fetch.cache_dir = CacheDir(env) / "http";
    connectors::CloudServices cloud = ProcessCloudServices(args.local_cloud, env);
    size_t name_width = 0;
    for (const auto* b : pipeline.ExecutableBlocks())
      name_width = std::max(name_width, b->uuid.size());
    ConsoleObserver console(args.verbose, name_width);
    // The Python host starts on the first Python block; all of it lives until the run is over.
    blocks::PythonServices python(
        blocks::LocatePython(std::filesystem::read_symlink("/proc/self/exe"), env),
        blocks::DefaultFrameCacheBytes(env.Get("KILN_FRAME_CACHE_MB")));
    orchestration::RunContext context{
        .project = project,
        .pipeline = pipeline,
        .io_config = io_config,
        .env = env,
        .services = blocks::BlockServices{
            .engine = engine, .fetch = fetch, .python = &python, .cloud = &cloud}};
    CancelRelay relay;
    SignalWatcher watcher(signals, relay);
    fmt::print(stderr, "Running pipeline {} of project {} ({} blocks), pipeline run {}{}\n",
               pipeline.uuid(), project.root().string(), pipeline.ExecutableBlocks().size(), run_id,
               args.resume ? " (resumed)" : "");
    run::RunOptions options;
    options.variables = vars;
    options.variables_dir = variables_dir.path;
    options.max_parallel_blocks =
        args.parallel > 0 ? args.parallel : pipeline.BlockRunLimit().value_or(0);
    options.fail_fast = args.fail_fast;
    options.observer = &console;
    run::PipelineRunRecord record =
        orchestration::ExecuteStoredRun(*metadata, run_id, context, std::move(options),
                                        [&relay](run::PipelineRun* run) { relay.Set(run); });
    PrintRunSummary(record, stdout);
    std::fflush(stdout);
    switch (record.status) {
      case run::PipelineRunStatus::kCompleted:
        return 0;
      case run::PipelineRunStatus::kCancelled:
        return 130;
      default:
        return 1;
    }
  } catch (const Error& e) {
    fmt::print(stderr, "kiln: error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {  // a bug or the system (e.g. a filesystem error)
    fmt::print(stderr, "kiln: error: {}\n", e.what());
    return 2;
  }
}

}  // namespace kiln::cli
