// orchestration/run_service.h: the long-lived side of `kiln start`: it owns what runs need
// (the DuckDB engine, the Python hosts, the download cache) and executes stored pipeline runs on
// their own threads, each with ExecuteStoredRun (committed transitions, heartbeats, resume).
//
//   RunService runs(project, env, variables_dir, store, python_setup, cache_dir);
//   runs.Launch(run_id);          // returns at once; the run goes on in the background
//   runs.Cancel(run_id, "why");   // from the API
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "kiln/blocks/python/python_services.h"
#include "kiln/connectors/http/http_fetcher.h"
#include "kiln/data/engine.h"
#include "kiln/orchestration/stored_run.h"

namespace kiln::orchestration {

class RunService {
 public:
  //! Called (on the run's thread, under the service's lock: it must not call back into the
  //! service; Scheduler::Wake is fine) when a launched run has ended, with its id.
  using OnRunEnded = std::function<void(int64_t run_id)>;

  //! All references must outlive the service. `variables_dir` holds outputs and logs.
  RunService(const project::Project& project, const Environment& env,
             std::filesystem::path variables_dir, store::MetadataStore& store,
             const data::Engine::Options& engine, blocks::PythonSetup python,
             connectors::FetchOptions fetch, connectors::CloudServices cloud);
  //! Cancels the runs still going and waits for their threads.
  ~RunService();
  RunService(const RunService&) = delete;
  RunService& operator=(const RunService&) = delete;

  //! Starts stored run `run_id` on a new thread, unless it is already running here; returns
  //! false in that case. The run's variables and execution_date are the stored ones. Errors
  //! (the pipeline no longer loads, the store refuses) mark the run failed in the store and are
  //! written to stderr; they never escape.
  bool Launch(int64_t run_id);
  //! Asks run `run_id` to stop, if it runs here; returns whether it did. Pending blocks become
  //! cancelled, running ones are interrupted (the run ends cancelled).
  bool Cancel(int64_t run_id, const std::string& reason);
  //! The ids of the runs executing in this process.
  std::set<int64_t> Active();
  void SetOnRunEnded(OnRunEnded callback);

 private:
  void Execute(int64_t run_id);

  const project::Project& project_;
  const Environment& env_;
  std::filesystem::path variables_dir_;
  store::MetadataStore& store_;
  data::Engine engine_;
  connectors::FetchOptions fetch_;
  connectors::CloudServices cloud_;
  blocks::PythonServices python_;

  std::mutex mu_;
  std::map<int64_t, run::PipelineRun*> running_;  // null until the run object exists
  std::map<int64_t, std::string> cancel_requests_;
  std::map<int64_t, std::thread> threads_;
  std::vector<std::thread> finished_;  // joined by the next Launch or the destructor
  OnRunEnded on_ended_;
  bool stopping_ = false;
};

}  // namespace kiln::orchestration
