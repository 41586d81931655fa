// `kiln start`: the REST API on 127.0.0.1:6789 and the runs it starts, until SIGINT/SIGTERM.
#include <arpa/inet.h>
#include <fmt/format.h>

#include <filesystem>
#include <thread>

#include "kiln/cli/commands.h"
#include "kiln/cli/paths.h"
#include "kiln/cli/signals.h"
#include "kiln/data/output_store.h"
#include "kiln/orchestration/run_service.h"
#include "kiln/orchestration/scheduler.h"
#include "kiln/project/project.h"
#include "kiln/project/trigger.h"
#include "kiln/server/api_server.h"
#include "kiln/store/metadata_store.h"

namespace kiln::cli {
namespace {

bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

}  // namespace

int StartCommand(const StartArgs& args) {
  SignalMask signals;
  try {
    if (!IsLoopback(args.host) && !args.insecure_no_auth) {
      throw Error("--host " + args.host +
                  " would let anyone who reaches this machine run pipelines: Kiln has no user "
                  "authentication yet. Pass --insecure-no-auth to serve it anyway, or keep the "
                  "default 127.0.0.1");
    }
    Environment env = ProjectEnvironment(args.project);
    project::Project project = project::Project::Open(args.project, env);
    project::VariablesDir dir = project::ResolveVariablesDir(project, env, args.data_dir);
    if (dir.warning) fmt::print(stderr, "kiln: warning: {}\n", *dir.warning);
    std::filesystem::create_directories(dir.path);
    std::unique_ptr<store::MetadataStore> metadata =
        store::MetadataStore::Open(store::StoreLocationFrom(env.vars(), dir.path.string()));

    data::Engine::Options engine;
    engine.temp_directory = DuckDbTempDir(env);
    connectors::FetchOptions fetch;
    fetch.cache_dir = CacheDir(env) / "http";
    orchestration::RunService runs(
        project, env, dir.path, *metadata, engine,
        blocks::LocatePython(std::filesystem::read_symlink("/proc/self/exe"), env), fetch,
        ProcessCloudServices(args.local_cloud, env));

    // The scheduler creates the runs of due triggers and starts waiting runs under the limits;
    // a run that ends wakes it (the next waiting run starts at once, no tick).
    orchestration::SchedulerOptions scheduling;
    scheduling.mage_env = project::MageEnvName(env.Get("ENV"));
    if (auto limit = env.Get("CONCURRENCY_CONFIG_PIPELINE_RUN_LIMIT"); limit && !limit->empty())
      scheduling.default_pipeline_run_limit = std::stoll(*limit);
    scheduling.on_message = [](blocks::LogLevel level, std::string_view message) {
      fmt::print(stderr, "kiln: scheduler: {}{}\n",
                 level == blocks::LogLevel::kError     ? "error: "
                 : level == blocks::LogLevel::kWarning ? "warning: "
                                                       : "",
                 message);
    };
    orchestration::Scheduler scheduler(
        *metadata, project, [&runs](int64_t run_id) { runs.Launch(run_id); }, scheduling);
    runs.SetOnRunEnded([&scheduler](int64_t) { scheduler.Wake(); });

    server::ApiServer api(
        server::ApiContext{.project = project,
                           .env = env,
                           .variables_dir = dir.path,
                           .store = *metadata,
                           .runs = runs,
                           .on_runs_waiting = [&scheduler] { scheduler.Wake(); },
                           .on_trigger_changed = [&scheduler] { scheduler.Wake(); }});
    const int port = api.Bind(args.host, args.port);
    fmt::print(stderr, "Kiln serving project {} at http://{}:{}\n  metadata store: {}\n",
               project.root().string(), args.host, port, metadata->Describe());
    fmt::print(stderr,
               "  outputs and logs: {}\n(Ctrl-C stops; running pipeline runs are cancelled)\n",
               dir.path.string());
    scheduler.Start();
    std::thread serving([&api] { api.Serve(); });
    int sig = 0;
    while (sigwait(&signals.set(), &sig) == 0 && sig == SIGUSR2) {
    }
    fmt::print(stderr, "\nkiln: {}, stopping\n",
               sig == SIGINT ? "interrupt" : "termination request");
    api.Stop();
    serving.join();
    scheduler.Stop();
    runs.SetOnRunEnded(nullptr);  // the scheduler goes first; runs still ending must not wake it
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "kiln: error: {}\n", e.what());
    return 2;
  }
}

}  // namespace kiln::cli
