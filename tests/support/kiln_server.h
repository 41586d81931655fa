// tests/support/kiln_server.h: a real `kiln start` for a test project, on a free loopback port,
// stopped (SIGTERM, then SIGKILL) when the object goes away, and a small JSON client for it.
//
//   KilnServer server(project);
//   auto [status, body] = server.Post("/api/pipelines/p/pipeline_schedules", {...});
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "support/kiln_project.h"
#include "support/temp_dir.h"

namespace kiln::testing {

class KilnServer {
 public:
  //! Starts `kiln start <project> --port 0 --data-dir <project data dir> <more...>` with
  //! `extra_env` and waits (up to 60 s) until it says where it listens. Throws
  //! std::runtime_error with its output when it exits or does not answer.
  explicit KilnServer(const KilnProject& project, std::vector<std::string> more = {},
                      const std::map<std::string, std::string>& extra_env = {});
  //! SIGTERM, then SIGKILL after 20 s; never throws.
  ~KilnServer();
  KilnServer(const KilnServer&) = delete;
  KilnServer& operator=(const KilnServer&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  //! Everything the server wrote to stdout and stderr so far.
  std::string Output() const;

  //! An HTTP exchange with the server: (HTTP status, JSON body; null when not JSON).
  using Reply = std::pair<int, nlohmann::json>;
  Reply Get(const std::string& path) const;
  Reply Post(const std::string& path, const std::string& body,
             const std::map<std::string, std::string>& headers = {}) const;
  Reply Put(const std::string& path, const nlohmann::json& body) const;

  //! Polls GET /api/pipeline_runs/<id> until its status is completed, failed or cancelled
  //! (or `timeout`); returns the last pipeline_run seen.
  nlohmann::json WaitForRun(int64_t run_id,
                            std::chrono::seconds timeout = std::chrono::seconds(60)) const;

  //! Sends `signal` and waits for the process to end; returns its exit status (128 + signal
  //! when killed by it).
  int Stop(int signal);

 private:
  TempDir temp_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace kiln::testing
