// python/host.cc: starting kiln-python and talking to it (the runner's side of python/host.h).
//
// Beyond the messages in host.h, the runner sends {"op": "kill", "id": 7} (ChildProcess::Kill):
// the host owns the pid and kills the child's process group only while it has not reaped it,
// so a recycled pid is never hit. A spawn the host cannot carry out is answered with
// {"op": "error", "id": 7, "message": "..."}.
//
// One reader thread per Host receives the host's messages and the host's own stderr (kept as a
// tail for error messages) and hands "spawned"/"exited" to the ChildProcess they name. When the
// channel ends it reaps the host and fails every child still waiting.
#include "kiln/python/host.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

extern char** environ;

namespace kiln::python {
namespace {

using namespace std::chrono_literals;

constexpr auto kReadyTimeout = 120s;  // imports take ~0.5 s; far longer under sanitizers
constexpr auto kExitGrace = 5s;       // for the host to kill and reap its children and exit
constexpr size_t kStderrTailBytes = 16 * 1024;
constexpr int kHostSocketFd = 3;  // kiln-python --socket 3

ExitStatus FromWaitStatus(int status) {
  ExitStatus s;
  if (WIFSIGNALED(status)) s.signal = WTERMSIG(status);
  if (WIFEXITED(status)) s.code = WEXITSTATUS(status);
  return s;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

//! "KEY=value" strings: this process's environment with `overrides` applied.
std::vector<std::string> BuildEnvironment(const std::map<std::string, std::string>& overrides) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    const size_t eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [key, value] : overrides) env[key] = value;
  std::vector<std::string> out;
  for (const auto& [key, value] : env) out.push_back(key + "=" + value);
  return out;
}

//! In the forked child, before exec: only async-signal-safe calls.
[[noreturn]] void ExecHost(char** argv, char** envp, int socket_fd, int stderr_fd) {
  // Move both descriptors out of the way of 0..3 before placing them.
  socket_fd = ::fcntl(socket_fd, F_DUPFD, 10);
  stderr_fd = ::fcntl(stderr_fd, F_DUPFD, 10);
  int devnull = ::open("/dev/null", O_RDONLY);
  if (socket_fd < 0 || stderr_fd < 0 || devnull < 0) ::_exit(127);
  if (::dup2(devnull, 0) < 0 || ::dup2(stderr_fd, 1) < 0 || ::dup2(stderr_fd, 2) < 0 ||
      ::dup2(socket_fd, kHostSocketFd) < 0) {
    ::_exit(127);
  }
  ::close_range(kHostSocketFd + 1, ~0U, 0);
  // The runner's signal mask and dispositions are not the host's business.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  }
  ::execve(argv[0], argv, envp);
  static constexpr char kFailed[] = "kiln-python: execve failed\n";
  [[maybe_unused]] ssize_t ignored = ::write(2, kFailed, sizeof kFailed - 1);
  ::_exit(127);
}

}  // namespace

std::string ExitStatus::Describe() const {
  if (signal == SIGKILL) return "killed by SIGKILL (out of memory, or stopped by Kiln)";
  if (signal != 0) {
    const char* what = ::sigdescr_np(signal);
    return "killed by signal " + std::to_string(signal) + " (" + (what ? what : "unknown signal") +
           ")";
  }
  return "exited with status " + std::to_string(code);
}

struct ChildProcess::State {
  explicit State(UniqueFd socket) : channel(std::move(socket)) {}

  Channel channel;
  int64_t id = 0;
  std::weak_ptr<Host::State> host;
  std::mutex mutex;
  std::condition_variable changed;
  pid_t pid = 0;                     //!< set by "spawned"
  std::optional<ExitStatus> status;  //!< set by "exited"
  std::string failure;               //!< why there will be no "exited" (HostError text)
  bool kill_sent = false;
};

struct Host::State {
  HostOptions options;
  pid_t pid = 0;
  std::optional<Channel> channel;
  UniqueFd stderr_pipe;     //!< read end of the host's stdout+stderr
  std::string stderr_tail;  //!< its last kStderrTailBytes; touched by one thread at a time
  bool reaped = false;      //!< the host process was waited for (by the reader, or Stop)
  std::thread reader;

  std::mutex mutex;  //!< guards what follows
  std::map<int64_t, std::shared_ptr<ChildProcess::State>> children;
  int64_t next_id = 1;
  std::string gone;  //!< non-empty once the host is gone: why
  bool stopping = false;

  void Launch();
  void Handshake();
  //! Waits up to `timeout_ms` (-1: forever) for a message, collecting the host's stderr
  //! meanwhile. Returns the message; nullopt on timeout or when `ended` becomes true.
  std::optional<Message> Pump(int timeout_ms, bool* ended);
  void ReadLoop();
  void Dispatch(const nlohmann::json& body);
  //! Waits (bounded) for the host to exit, SIGKILLs it otherwise; describes how it ended.
  std::string Reap();
  void FailChildren(const std::string& why);
  //! Ends the host: closes the channel (the host kills its children and exits), then joins
  //! the reader (which reaps the host).
  void Stop();
  std::string StderrSuffix() const {
    std::string tail = Trim(stderr_tail);
    return tail.empty() ? "" : "\n" + tail;
  }
};

void Host::State::Launch() {
  auto [runner_end, host_end] = SocketPair();
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    throw HostError("cannot start kiln-python: pipe2 failed: " + std::string(strerror(errno)));
  }
  UniqueFd stderr_read(pipe_fds[0]), stderr_write(pipe_fds[1]);

  std::vector<std::string> args = {options.executable.string(), "--socket",
                                   std::to_string(kHostSocketFd)};
  std::vector<std::string> env = BuildEnvironment(options.env);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  if (::access(argv[0], X_OK) != 0) {
    throw HostError("cannot start kiln-python: " + options.executable.string() + ": " +
                    strerror(errno));
  }
  pid = ::fork();
  if (pid < 0)
    throw HostError("cannot start kiln-python: fork failed: " + std::string(strerror(errno)));
  if (pid == 0) ExecHost(argv.data(), envp.data(), host_end.get(), stderr_write.get());
  channel.emplace(std::move(runner_end));
  stderr_pipe = std::move(stderr_read);
}

std::optional<Message> Host::State::Pump(int timeout_ms, bool* ended) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int wait_ms = -1;
    if (timeout_ms >= 0) {
      auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      wait_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    // A closed channel or stderr is not watched (it would always be readable).
    pollfd fds[2] = {{channel->closed() ? -1 : channel->fd(), POLLIN, 0},
                     {stderr_pipe ? stderr_pipe.get() : -1, POLLIN, 0}};
    const int ready = ::poll(fds, 2, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw HostError("kiln-python: poll failed: " + std::string(strerror(errno)));
    if (ready == 0) return std::nullopt;
    if (fds[1].revents) {
      char buf[4096];
      ssize_t n = ::read(stderr_pipe.get(), buf, sizeof buf);
      if (n > 0) {
        stderr_tail.append(buf, static_cast<size_t>(n));
        if (stderr_tail.size() > kStderrTailBytes) {
          stderr_tail.erase(0, stderr_tail.size() - kStderrTailBytes);
        }
      } else if (n == 0 || errno != EINTR) {
        stderr_pipe.Reset();
      }
    }
    if (fds[0].revents) {
      std::optional<Message> message = channel->Receive();
      if (!message) *ended = true;
      return message;
    }
  }
}

std::string Host::State::Reap() {
  if (reaped) return "kiln-python (pid " + std::to_string(pid) + ") ended";
  const auto deadline = std::chrono::steady_clock::now() + kExitGrace;
  int status = 0;
  pid_t done = 0;
  while ((done = ::waitpid(pid, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    bool ended = false;
    Pump(10, &ended);  // collects the last of its stderr meanwhile
  }
  if (done == 0) {
    ::kill(pid, SIGKILL);
    done = ::waitpid(pid, &status, 0);
  }
  while (stderr_pipe) {  // whatever is left, without blocking on a grandchild holding it
    pollfd p{stderr_pipe.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) break;
    bool ended = false;
    Pump(0, &ended);
  }
  reaped = true;
  if (done != pid) return "kiln-python (pid " + std::to_string(pid) + ") could not be reaped";
  return "kiln-python (pid " + std::to_string(pid) + ") " + FromWaitStatus(status).Describe() +
         StderrSuffix();
}

void Host::State::Handshake() {
  nlohmann::json sys_path = nlohmann::json::array();
  for (const auto& p : options.sys_path) sys_path.push_back(p.string());
  nlohmann::json fallback_path = nlohmann::json::array();
  for (const auto& p : options.fallback_path) fallback_path.push_back(p.string());
  nlohmann::json hello = {
      {"op", "hello"},
      {"sys_path", sys_path},
      {"venv", options.venv ? nlohmann::json(options.venv->string()) : nlohmann::json(nullptr)},
      {"preload", options.preload},
      {"fallback_path", fallback_path},
      {"env", options.env}};
  try {
    channel->Send(hello);
  } catch (const ChannelError&) {
    // It died before reading: Reap below says why.
  }
  const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  for (;;) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      throw HostError("kiln-python did not get ready within " +
                      std::to_string(kReadyTimeout.count()) + " s" + StderrSuffix());
    }
    bool ended = false;
    std::optional<Message> message = Pump(static_cast<int>(left.count()), &ended);
    if (ended) throw HostError(Reap() + " before it was ready");
    if (!message) continue;
    const std::string op = message->body.value("op", "");
    if (op == "ready") return;
    if (op == "error") {
      throw HostError("kiln-python: " + message->body.value("message", "failed to start"));
    }
    throw HostError("kiln-python: unexpected message before ready: " + message->body.dump());
  }
}

void Host::State::ReadLoop() {
  std::string why;
  try {
    for (;;) {
      bool ended = false;
      std::optional<Message> message = Pump(-1, &ended);
      if (ended) break;
      if (message) Dispatch(message->body);
    }
  } catch (const std::exception& e) {  // a failed poll, or a malformed message
    why = "the kiln-python host failed: " + std::string(e.what());
  }
  std::string how = Reap();
  {
    std::lock_guard lock(mutex);
    if (stopping) {
      why = "the kiln-python host was stopped";
    } else if (why.empty()) {
      why = "the kiln-python host died: " + how;
    }
  }
  FailChildren(why);
}

void Host::State::Dispatch(const nlohmann::json& body) {
  const std::string op = body.value("op", "");
  const int64_t id = body.value("id", int64_t{-1});
  std::shared_ptr<ChildProcess::State> child;
  {
    std::lock_guard lock(mutex);
    auto it = children.find(id);
    if (it == children.end()) return;
    child = it->second;
    if (op == "exited" || op == "error") children.erase(it);
  }
  std::lock_guard lock(child->mutex);
  if (op == "spawned") {
    child->pid = body.value("pid", pid_t{0});
  } else if (op == "exited") {
    child->status = ExitStatus{body.value("code", 0), body.value("signal", 0)};
  } else if (op == "error") {
    child->failure = "kiln-python could not start the child: " + body.value("message", "");
  }
  child->changed.notify_all();
}

void Host::State::FailChildren(const std::string& why) {
  std::map<int64_t, std::shared_ptr<ChildProcess::State>> doomed;
  {
    std::lock_guard lock(mutex);
    if (gone.empty()) gone = why;
    doomed.swap(children);
  }
  for (auto& [id, child] : doomed) {
    std::lock_guard lock(child->mutex);
    child->failure =
        child->pid ? gone + " while the child (pid " + std::to_string(child->pid) + ") ran" : gone;
    child->changed.notify_all();
  }
}

void Host::State::Stop() {
  {
    std::lock_guard lock(mutex);
    stopping = true;
  }
  if (channel) ::shutdown(channel->fd(), SHUT_RDWR);
  if (reader.joinable()) {
    reader.join();
  } else if (pid > 0) {
    Reap();
  }
  FailChildren("the kiln-python host was stopped");
}

Host::Host(HostOptions options) : state_(std::make_shared<State>()) {
  state_->options = std::move(options);
  state_->Launch();
  try {
    state_->Handshake();
  } catch (...) {
    state_->Stop();
    throw;
  }
  state_->reader = std::thread([state = state_.get()] { state->ReadLoop(); });
}

Host::~Host() {
  state_->Stop();
}

pid_t Host::pid() const {
  return state_->pid;
}

bool Host::alive() const {
  std::lock_guard lock(state_->mutex);
  return state_->gone.empty();
}

std::unique_ptr<ChildProcess> Host::Spawn(const std::string& entry, const nlohmann::json& request,
                                          int output_fd) {
  if (::fcntl(output_fd, F_GETFD) < 0) {
    throw HostError("cannot spawn " + entry + ": output_fd " + std::to_string(output_fd) +
                    " is not an open descriptor");
  }
  auto [runner_end, child_end] = SocketPair();
  auto child = std::make_shared<ChildProcess::State>(std::move(runner_end));
  child->host = state_;
  {
    std::lock_guard lock(state_->mutex);
    if (!state_->gone.empty()) throw HostError(state_->gone);
    child->id = state_->next_id++;
    state_->children[child->id] = child;
  }
  try {
    state_->channel->Send(
        {{"op", "spawn"}, {"id", child->id}, {"entry", entry}, {"request", request}},
        {child_end.get(), output_fd});
  } catch (const ChannelError& e) {
    std::lock_guard lock(state_->mutex);
    state_->children.erase(child->id);
    throw HostError(state_->gone.empty() ? "the kiln-python host is gone: " + std::string(e.what())
                                         : state_->gone);
  }
  child_end.Reset();  // the host holds its copy now
  std::unique_lock lock(child->mutex);
  child->changed.wait(lock, [&] { return child->pid || child->status || !child->failure.empty(); });
  if (!child->pid) throw HostError(child->failure);
  lock.unlock();
  return std::unique_ptr<ChildProcess>(new ChildProcess(child));
}

ChildProcess::~ChildProcess() {
  Kill();
}

Channel& ChildProcess::channel() {
  return state_->channel;
}

pid_t ChildProcess::pid() const {
  return state_->pid;
}

ExitStatus ChildProcess::Wait() {
  std::unique_lock lock(state_->mutex);
  state_->changed.wait(lock, [&] { return state_->status || !state_->failure.empty(); });
  if (state_->status) return *state_->status;
  throw HostError(state_->failure);
}

std::optional<ExitStatus> ChildProcess::WaitFor(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  if (!state_->changed.wait_for(lock, timeout,
                                [&] { return state_->status || !state_->failure.empty(); })) {
    return std::nullopt;
  }
  if (state_->status) return *state_->status;
  throw HostError(state_->failure);
}

void ChildProcess::Kill() {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->status || !state_->failure.empty() || state_->kill_sent) return;
    state_->kill_sent = true;
  }
  std::shared_ptr<Host::State> host = state_->host.lock();
  if (!host) return;  // the host is gone, and its children with it
  try {
    host->channel->Send({{"op", "kill"}, {"id", state_->id}});
  } catch (const ChannelError&) {
    // The host died: it took the child with it (PR_SET_PDEATHSIG).
  }
}

}  // namespace kiln::python
