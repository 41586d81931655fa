#include "support/kiln_server.h"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/process.h"

extern char** environ;

namespace kiln::testing {
namespace {

KilnServer::Reply ToReply(const httplib::Result& result) {
  if (!result) return {0, nullptr};
  return {result->status, nlohmann::json::parse(result->body, nullptr, false)};
}

}  // namespace

KilnServer::KilnServer(const KilnProject& project, std::vector<std::string> more,
                       const std::map<std::string, std::string>& extra_env) {
  std::vector<std::string> args = {
      KilnBinary().string(),      "start", project.root().string(), "--port", "0", "--data-dir",
      project.data_dir().string()};
  args.insert(args.end(), more.begin(), more.end());
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  env["KILN_CACHE_DIR"] = project.cache_dir().string();
  for (const auto& [k, v] : extra_env) env[k] = v;
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, argv;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  const std::string log = (temp_.path() / "server.log").string();

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  const std::regex listening(R"(at http://127\.0\.0\.1:(\d+))");
  for (int i = 0; i < 600; ++i) {
    std::smatch m;
    const std::string out = Output();
    if (std::regex_search(out, m, listening)) {
      port_ = std::stoi(m[1]);
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("kiln start exited: " + out);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  Stop(SIGKILL);
  throw std::runtime_error("kiln start did not listen within 60 s: " + Output());
}

KilnServer::~KilnServer() {
  if (pid_ > 0) Stop(SIGTERM);
}

std::string KilnServer::Output() const {
  std::ifstream in(temp_.path() / "server.log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

KilnServer::Reply KilnServer::Get(const std::string& path) const {
  httplib::Client client("127.0.0.1", port_);
  return ToReply(client.Get(path.c_str()));
}

KilnServer::Reply KilnServer::Post(const std::string& path, const std::string& body,
                                   const std::map<std::string, std::string>& headers) const {
  httplib::Client client("127.0.0.1", port_);
  httplib::Headers h;
  for (const auto& [k, v] : headers) h.emplace(k, v);
  return ToReply(client.Post(path.c_str(), h, body, "application/json"));
}

KilnServer::Reply KilnServer::Put(const std::string& path, const nlohmann::json& body) const {
  httplib::Client client("127.0.0.1", port_);
  return ToReply(client.Put(path.c_str(), body.dump(), "application/json"));
}

nlohmann::json KilnServer::WaitForRun(int64_t run_id, std::chrono::seconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  nlohmann::json run;
  while (std::chrono::steady_clock::now() < deadline) {
    Reply r = Get("/api/pipeline_runs/" + std::to_string(run_id));
    if (r.first == 200) {
      run = r.second["pipeline_run"];
      const std::string status = run.value("status", "");
      if (status == "completed" || status == "failed" || status == "cancelled") return run;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return run;
}

int KilnServer::Stop(int signal) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  int status = 0;
  for (int i = 0; i < 200; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return 128 + SIGKILL;
}

}  // namespace kiln::testing
