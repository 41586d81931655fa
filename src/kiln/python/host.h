// python/host.h: the warm Python host, runner side.
// `kiln-python` (src/kiln/python/embedded/) embeds Debian's CPython 3.11, imports pandas, numpy
// and mage_ai once, then forks one child per block run (a fork of a pandas-warm process costs a
// few ms; importing pandas costs ~430 ms). Python never runs in the kiln process: a segfault,
// sys.exit(), an endless loop or an out-of-memory kill ends one child, and the runner reports it
// as that block's failure.
//
// Protocol (Channel messages) between the runner and the host:
//   runner -> host  {"op": "hello", "sys_path": [...], "venv": "..."|null, "preload": [...],
//                    "fallback_path": [...], "env": {...}}
//   host -> runner  {"op": "ready", "python": "3.11.2", "pid": 123} or {"op": "error", ...}
//   runner -> host  {"op": "spawn", "id": 7, "entry": "kiln_runtime:main", "request": {...}}
//                   with fds [child channel socket, output (stdout+stderr) pipe write end]
//   host -> runner  {"op": "spawned", "id": 7, "pid": 456} (or {"op": "error", "id": 7,
//                   "message": ...} when the fork failed), later
//                   {"op": "exited", "id": 7, "pid": 456, "code": 0, "signal": 0}
//   runner -> host  {"op": "kill", "id": 7}: SIGKILL to the child's process group, unless the
//                   host already reaped it (so a reused pid is never hit)
// The child calls entry(request: dict, channel_fd: int), then exits with 0 (or 1 after printing
// an uncaught exception's traceback); its fd 1 and 2 are the output pipe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kiln/common/error.h"
#include "kiln/python/channel.h"

namespace kiln::python {

//! The host could not start or died, or a spawn failed. what() says why (with the host's stderr
//! when it exited, e.g. a virtualenv of another Python version).
class HostError : public Error {
 public:
  using Error::Error;
};

struct HostOptions {
  std::filesystem::path executable;             //!< the kiln-python binary
  std::vector<std::filesystem::path> sys_path;  //!< prepended to sys.path, in order
  std::optional<std::filesystem::path> venv;    //!< a virtualenv of the same Python version
  std::vector<std::string> preload = {"numpy", "pandas"};  //!< modules imported once
  //! Appended to sys.path after the preloads (stand-ins such as Kiln's pyarrow: anything
  //! earlier on sys.path, a venv's real package included, wins; the preloads never see them).
  std::vector<std::filesystem::path> fallback_path;
  std::map<std::string, std::string> env;  //!< the host's (and children's) environment
};

//! How a child ended.
struct ExitStatus {
  int code = 0;    //!< exit code when it exited
  int signal = 0;  //!< the signal that killed it, else 0
  bool ok() const { return code == 0 && signal == 0; }
  //! "exited with status 3", "killed by signal 11 (Segmentation fault)", "killed by SIGKILL
  //! (out of memory, or stopped by Kiln)".
  std::string Describe() const;
};

class ChildProcess;

//! One warm host process. Thread-safe: several block runs may spawn children at once.
class Host {
 public:
  //! Starts kiln-python, sends the hello and waits for ready (imports done). Throws HostError
  //! with the host's stderr when it fails (e.g. pandas missing, a venv of another Python).
  explicit Host(HostOptions options);
  //! Stops the host; children still running are killed.
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  //! Forks a child that runs `entry` ("module:function") with `request`; the child's stdout and
  //! stderr go to `output_fd` (the runner keeps the read end). Returns the child, whose
  //! channel() is the runner's end. Throws HostError when the host is gone.
  std::unique_ptr<ChildProcess> Spawn(const std::string& entry, const nlohmann::json& request,
                                      int output_fd);
  //! The host's pid (for tests).
  pid_t pid() const;
  //! False once the host process is gone (it died, or was stopped): Spawn would throw.
  bool alive() const;

 private:
  friend class ChildProcess;
  struct State;
  std::shared_ptr<State> state_;
};

//! A forked child running one block. Destroying it kills the child if it still runs.
class ChildProcess {
 public:
  ~ChildProcess();
  Channel& channel();
  pid_t pid() const;
  //! Waits until the host reports the child's exit. Throws HostError if the host died.
  ExitStatus Wait();
  //! As Wait, at most `timeout`; nullopt when it still runs.
  std::optional<ExitStatus> WaitFor(std::chrono::milliseconds timeout);
  //! Sends SIGKILL (e.g. timeout, cancelled run). Idempotent.
  void Kill();

 private:
  friend class Host;
  struct State;
  std::shared_ptr<State> state_;
  explicit ChildProcess(std::shared_ptr<State> state) : state_(std::move(state)) {}
};

}  // namespace kiln::python
