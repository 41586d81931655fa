// server/api_server.h: the REST API `kiln start` serves on port 6789, in Mage's routes and JSON
// shapes (mage-orchestration.md §5): status, pipelines, triggers (pipeline_schedules) with the
// API trigger `POST /api/pipeline_schedules/<id>/pipeline_runs/<token>`, pipeline runs (list,
// detail, cancel, retry), block runs and their logs. Errors keep Mage's body
// ({"error": {"code", "type", "message"}}) with the matching HTTP status (Mage answers 200).
//
//   ApiServer api(context);
//   int port = api.Bind("127.0.0.1", 6789);
//   api.Serve();   // until Stop() from another thread
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "kiln/common/environment.h"
#include "kiln/common/error.h"
#include "kiln/orchestration/run_service.h"
#include "kiln/project/project.h"
#include "kiln/store/metadata_store.h"

namespace kiln::server {

//! The server could not bind or serve. what() names the address.
class ServerError : public Error {
 public:
  using Error::Error;
};

//! What the API reads and acts on. All references must outlive the server.
struct ApiContext {
  const project::Project& project;
  const Environment& env;
  std::filesystem::path variables_dir;
  store::MetadataStore& store;
  orchestration::RunService& runs;
  //! Runs were created (API trigger, manual run, backfill start) and wait to be started under
  //! the run limits (the scheduler's Wake).
  std::function<void()> on_runs_waiting;
  //! A trigger was created, changed or deleted (the scheduler recomputes its next wake-up).
  std::function<void()> on_trigger_changed;
};

class ApiServer {
 public:
  explicit ApiServer(ApiContext context);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  //! Binds `host`:`port` (port 0: a free port) and returns the port. Throws ServerError.
  int Bind(const std::string& host, int port);
  //! Answers requests until Stop(). REQUIRES: Bind() succeeded.
  void Serve();
  //! Makes Serve() return (thread-safe).
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::server
