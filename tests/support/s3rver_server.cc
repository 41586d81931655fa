#include "support/s3rver_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <regex>
#include <stdexcept>
#include <thread>

#include "support/process.h"

extern char** environ;

namespace kiln::testing {
namespace fs = std::filesystem;
namespace {

//! `name` found on PATH, or empty.
fs::path OnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    fs::path candidate = fs::path(dirs.substr(start, end - start)) / name;
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

fs::path S3rverDir() {
  if (const char* dir = std::getenv("KILN_S3RVER_DIR"); dir && *dir) return dir;
  if (const char* cache = std::getenv("KILN_CACHE_DIR"); cache && *cache)
    return fs::path(cache) / "s3rver-3.7.1";
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : "/root") / ".cache/kiln/s3rver-3.7.1";
}

std::string Tail(const std::string& text, size_t n = 2000) {
  return text.size() <= n ? text : text.substr(text.size() - n);
}

}  // namespace

std::optional<std::string> S3rverServer::Unavailable() {
  if (OnPath("node").empty()) {
    return "node is not on PATH: the S3 tests run s3rver (npm) and need Node.js "
           "(Debian: nodejs; scripts/setup.sh installs it)";
  }
  return std::nullopt;
}

S3rverServer::S3rverServer(const std::vector<std::string>& buckets)
    : data_dir_(temp_.path() / "data"), log_file_(temp_.path() / "server.log") {
  const fs::path node = OnPath("node");
  if (node.empty()) throw std::runtime_error(*Unavailable());
  const fs::path modules = S3rverDir() / "node_modules";
  if (!fs::exists(modules / "s3rver" / "package.json")) {
    throw std::runtime_error("s3rver is not installed in " + S3rverDir().string() +
                             ": run scripts/setup.sh");
  }
  const fs::path script = SourceDir() / "tests/support/s3rver/serve.js";
  const fs::path& log = log_file_;

  // s3rver's continuation tokens use DES, which OpenSSL 3 keeps in its legacy provider.
  std::vector<std::string> argv = {node.string(), "--openssl-legacy-provider", script.string(),
                                   temp_.path().string()};
  argv.insert(argv.end(), buckets.begin(), buckets.end());
  std::vector<std::string> env_strings = {"NODE_PATH=" + modules.string()};
  for (char** e = environ; *e; ++e) {
    if (std::string_view(*e).substr(0, 10) != "NODE_PATH=") env_strings.emplace_back(*e);
  }
  std::vector<char*> args, envp;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int in_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2() failed");
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot create " + log.string());
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork() failed");
  if (pid_ == 0) {  // only async-signal-safe calls until exec
    ::dup2(in_pipe[0], 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::setpgid(0, 0);  // Ctrl-C reaches the tests, which stop the server themselves
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(log_fd);
  stdin_fd_ = in_pipe[1];

  const std::regex listening("listening on 127\\.0\\.0\\.1:([0-9]+)");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    std::smatch m;
    const std::string text = Slurp(log);
    if (std::regex_search(text, m, listening)) {
      port_ = std::stoi(m[1]);
      return;
    }
    int status = 0;
    const bool exited = ::waitpid(pid_, &status, WNOHANG) == pid_;
    if (exited || std::chrono::steady_clock::now() > deadline) {
      if (exited) pid_ = 0;
      Stop();
      throw std::runtime_error(std::string("s3rver ") + (exited ? "exited" : "did not listen") +
                               " (" + script.string() + "): " + Tail(Slurp(log)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

S3rverServer::~S3rverServer() {
  Stop();
}

void S3rverServer::Stop() noexcept {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
      gone = ::waitpid(pid_, &status, WNOHANG) == pid_;
      if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!gone) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = 0;
  }
  if (stdin_fd_ >= 0) {
    ::close(stdin_fd_);
    stdin_fd_ = -1;
  }
}

}  // namespace kiln::testing
