#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <thread>

#include "kiln/cli/commands.h"
#include "kiln/cli/console.h"
#include "kiln/cli/paths.h"
#include "kiln/config/io_config.h"
#include "kiln/connectors/http/http_fetcher.h"
#include "kiln/data/engine.h"
#include "kiln/project/error.h"
#include "kiln/project/project.h"
#include "kiln/run/pipeline_run.h"

namespace kiln::cli {
namespace {

// Turns SIGINT/SIGTERM into PipelineRun::Cancel from a dedicated thread (sigwait), so no signal
// handler touches program state. Constructed before any other thread so they inherit the mask.
class SignalCanceller {
 public:
  SignalCanceller() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGUSR2);  // internal: stop waiting
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~SignalCanceller() {
    if (thread_.joinable()) {
      pthread_kill(thread_.native_handle(), SIGUSR2);
      thread_.join();
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  void Watch(run::PipelineRun& run) {
    thread_ = std::thread([this, &run] {
      for (;;) {
        int sig = 0;
        if (sigwait(&set_, &sig) != 0 || sig == SIGUSR2) return;
        fmt::print(stderr, "\nkiln: {} received, cancelling the run...\n",
                   sig == SIGINT ? "interrupt" : "termination request");
        run.Cancel(sig == SIGINT ? "cancelled by the user (Ctrl-C)" : "cancelled (SIGTERM)");
      }
    });
  }

 private:
  sigset_t set_{}, old_{};
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

}  // namespace

int RunCommand(const RunArgs& args) {
  SignalCanceller signals;
  try {
    Environment env = Environment::FromProcess();
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
    config::IoConfig io_config = config::IoConfig::Load(project.root(), env);

    data::Engine::Options engine_options;
    engine_options.temp_directory = DuckDbTempDir(env);
    data::Engine engine(engine_options);
    connectors::HttpFetcher fetcher(connectors::FetchOptions{
        .cache_dir = CacheDir(env) / "http",
        .log = [](const std::string& line) { fmt::print(stderr, "  [http] {}\n", line); },
    });
    ConsoleObserver console(args.verbose);
    run::PipelineRun run(project, pipeline, io_config, env,
                         blocks::BlockServices{.engine = engine, .fetcher = fetcher},
                         run::RunOptions{.variables = vars,
                                         .variables_dir = variables_dir.path,
                                         .max_parallel_blocks = args.parallel,
                                         .fail_fast = args.fail_fast,
                                         .observer = &console});
    signals.Watch(run);
    fmt::print(stderr, "Running pipeline {} of project {} ({} blocks)\n", pipeline.uuid(),
               project.root().string(), pipeline.ExecutableBlocks().size());
    run::PipelineRunRecord record = run.Execute();
    PrintRunSummary(record, stdout);
    return record.status == run::PipelineRunStatus::kCompleted ? 0 : 1;
  } catch (const Error& e) {
    fmt::print(stderr, "kiln: error: {}\n", e.what());
    return 2;
  }
}

}  // namespace kiln::cli
