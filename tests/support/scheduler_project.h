// tests/support/scheduler_project.h: a project, a metadata store and launchers for the
// scheduler's tests. The store is SQLite, or with KILN_TEST_METADATA=postgres a database of a
// real PostgreSQL server (one per test process; CTest runs these suites both ways). Launchers: a
// launcher that only records run ids (tests about decisions), and one that executes each run for
// real on its own thread with ExecuteStoredRun (SQL blocks on DuckDB run in milliseconds).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kiln/common/environment.h"
#include "kiln/config/io_config.h"
#include "kiln/connectors/http/http_fetcher.h"
#include "kiln/data/engine.h"
#include "kiln/orchestration/run_variables.h"
#include "kiln/orchestration/scheduler.h"
#include "kiln/orchestration/stored_run.h"
#include "kiln/project/project.h"
#include "kiln/store/metadata_store.h"
#include "support/postgres_server.h"
#include "support/temp_dir.h"

namespace kiln::testing {

//! A UTC instant in January 2021 (aware, as the store returns them).
inline DateTime Jan(int day, int hour = 0, int minute = 0, int second = 0) {
  return DateTime(DateTime::FromParts(2021, 1, day, hour, minute, second).wall_micros(), 0);
}

//! A project folder whose pipeline `p` has one SQL block (`SELECT 1 AS x`), and its store.
class SchedulerProject {
 public:
  SchedulerProject() {
    dir_.Write("project/metadata.yaml", "project_type: standalone\n");
    WritePipeline("p");
    store::StoreLocation location;
    const char* which = std::getenv("KILN_TEST_METADATA");
    if (which != nullptr && std::string(which) == "postgres") {
      static std::unique_ptr<PostgresServer> server;  // one server per test process
      if (!server) server = std::make_unique<PostgresServer>();
      location.postgres_url = server->ConnInfo(server->CreateDatabase("kiln_sched"));
    } else {
      location.sqlite_path = (dir_.path() / "kiln.db").string();
    }
    store_ = store::MetadataStore::Open(location);
  }

  //! Writes pipeline `uuid` with one SQL data loader; `extra` is appended to its metadata.yaml.
  void WritePipeline(const std::string& uuid, const std::string& extra = "") const {
    dir_.Write("project/pipelines/" + uuid + "/metadata.yaml",
               "blocks:\n- {uuid: one, type: data_loader, language: sql}\n" + extra);
    dir_.Write("project/data_loaders/one.sql", "SELECT 1 AS x\n");
  }
  //! Writes `<project>/relative`.
  std::filesystem::path Write(const std::string& relative, const std::string& content) const {
    return dir_.Write("project/" + relative, content);
  }

  std::filesystem::path root() const { return dir_.path() / "project"; }
  std::filesystem::path data_dir() const { return dir_.path() / "data"; }
  store::MetadataStore& store() { return *store_; }
  //! The project as it is on disk now.
  project::Project Open() const { return project::Project::Open(root(), env_); }
  const Environment& env() const { return env_; }

  //! A trigger of pipeline `pipeline`, stored as created at `created`.
  store::PipelineSchedule AddTrigger(const std::string& name, const std::string& type,
                                     const std::string& interval, const DateTime& created,
                                     nlohmann::json settings = nlohmann::json::object(),
                                     const std::string& pipeline = "p") {
    store::PipelineSchedule s;
    s.name = name;
    s.pipeline_uuid = pipeline;
    s.schedule_type = type;
    s.schedule_interval = interval;
    s.status = "active";
    s.settings = std::move(settings);
    return store_->CreateSchedule(s, created);
  }

  //! Runs of trigger `schedule_id`, oldest first.
  std::vector<store::PipelineRun> RunsOf(int64_t schedule_id) {
    store::RunFilter f;
    f.pipeline_schedule_id = schedule_id;
    f.limit = 1000;
    std::vector<store::PipelineRun> runs = store_->ListPipelineRuns(f);
    std::reverse(runs.begin(), runs.end());
    return runs;
  }
  std::string StatusOf(int64_t run_id) { return store_->GetPipelineRun(run_id)->status; }

 private:
  TempDir dir_;
  Environment env_ = Environment::FromMap({});
  std::unique_ptr<store::MetadataStore> store_;
};

//! Records the ids it is asked to launch; runs nothing.
class RecordingLauncher {
 public:
  orchestration::Launcher launcher() {
    return [this](int64_t id) {
      std::lock_guard lock(mu_);
      ids_.push_back(id);
    };
  }
  std::vector<int64_t> ids() {
    std::lock_guard lock(mu_);
    return ids_;
  }

 private:
  std::mutex mu_;
  std::vector<int64_t> ids_;
};

//! Executes each launched run on its own thread with ExecuteStoredRun, as the server will; calls
//! `on_end` (e.g. Scheduler::Wake) after each run.
class ThreadLauncher {
 public:
  ThreadLauncher(store::MetadataStore& store, const project::Project& project,
                 std::filesystem::path variables_dir)
      : store_(store),
        project_(project),
        variables_dir_(std::move(variables_dir)),
        io_config_(config::IoConfig::Load(project.root(), env_)) {
    fetch_.cache_dir = variables_dir_ / "http-cache";
  }
  ~ThreadLauncher() { WaitAll(); }
  ThreadLauncher(const ThreadLauncher&) = delete;
  ThreadLauncher& operator=(const ThreadLauncher&) = delete;

  orchestration::Launcher launcher() {
    return [this](int64_t id) {
      std::lock_guard lock(mu_);
      ids_.push_back(id);
      threads_.emplace_back([this, id] { Execute(id); });
    };
  }
  void set_on_end(std::function<void()> on_end) { on_end_ = std::move(on_end); }
  std::vector<int64_t> ids() {
    std::lock_guard lock(mu_);
    return ids_;
  }
  //! Waits for every run launched so far (and those they lead to launch).
  void WaitAll() {
    for (;;) {
      std::vector<std::thread> threads;
      {
        std::lock_guard lock(mu_);
        threads.swap(threads_);
      }
      if (threads.empty()) return;
      for (std::thread& t : threads) t.join();
    }
  }

 private:
  void Execute(int64_t id) {
    try {
      store::PipelineRun run = *store_.GetPipelineRun(id);
      project::Pipeline pipeline = project_.LoadPipeline(run.pipeline_uuid);
      std::optional<store::PipelineSchedule> schedule;
      if (run.pipeline_schedule_id) schedule = store_.GetSchedule(*run.pipeline_schedule_id);
      run::RunOptions options;
      options.variables = orchestration::RunVariablesOf(run, pipeline, schedule);
      options.variables_dir = variables_dir_;
      options.max_parallel_blocks = 1;
      options.run_key = "run" + std::to_string(id);
      orchestration::RunContext context{
          .project = project_,
          .pipeline = pipeline,
          .io_config = io_config_,
          .env = env_,
          .services = blocks::BlockServices{.engine = engine_, .fetch = fetch_, .python = nullptr}};
      orchestration::ExecuteStoredRun(store_, id, context, std::move(options));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "pipeline run " << id << ": " << e.what();
    }
    if (on_end_) on_end_();
  }

  store::MetadataStore& store_;
  const project::Project& project_;
  std::filesystem::path variables_dir_;
  Environment env_ = Environment::FromMap({});
  config::IoConfig io_config_;
  data::Engine engine_{data::Engine::Options{}};
  connectors::FetchOptions fetch_;
  std::function<void()> on_end_;
  std::mutex mu_;
  std::vector<int64_t> ids_;
  std::vector<std::thread> threads_;
};

//! Polls `done` every 5 ms until it holds or `timeout` passes; returns its last value.
inline bool Eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace kiln::testing
