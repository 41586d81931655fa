#include "support/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace kiln::testing {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Settings appended to postgresql.conf. Speed over durability against power loss: fsync and
// full-page writes off. synchronous_commit stays on: with fsync off it costs one write() per
// commit, and turning it off loses the last ~600 ms of commits when Kill() hits the server.
constexpr const char* kServerSettings = R"(
# kiln::testing::PostgresServer: a throwaway test server.
listen_addresses = '127.0.0.1'
fsync = off
full_page_writes = off
shared_buffers = 16MB
timezone = 'UTC'
)";

// Run by /bin/sh as `sh -c SCRIPT watchdog DATA_DIR TEMP_DIR` with stdin the socket this process
// holds the other end of. It detaches (so a test runner killing our process tree misses it) and
// waits: "done" means the object cleaned up itself; EOF means this process died, so it shuts the
// server down (SIGQUIT: immediate shutdown of every server process, SIGKILL after 10 s) and
// removes the folder.
constexpr const char* kWatchdogScript = R"(trap '' HUP INT TERM QUIT PIPE
data=$1 dir=$2
exec 3<&0
(
  read -r word <&3
  [ "$word" = done ] && exit 0
  alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*[ZX]' "/proc/$1/status"; }
  pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null)
  if [ -n "$pid" ] && alive "$pid"; then
    kill -QUIT "$pid"
    i=0
    while alive "$pid" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$pid" 2>/dev/null
  fi
  rm -rf "$dir"
) &
)";

constexpr int kStartAttempts = 5;  // fresh ports tried when another process takes ours

fs::path FindBinDir() {
  if (const char* env = std::getenv("KILN_PG_BINDIR"); env && *env) return env;
  fs::path best;
  int best_version = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    if (!fs::exists(entry.path() / "bin" / "postgres")) continue;
    if (int version = std::stoi(name); version > best_version) {
      best_version = version;
      best = entry.path() / "bin";
    }
  }
  if (best.empty()) {
    throw std::runtime_error(
        "PostgreSQL server binaries not found in /usr/lib/postgresql/<version>/bin: run "
        "scripts/setup.sh (Debian package postgresql) or set KILN_PG_BINDIR");
  }
  return best;
}

//! The `postgres` OS user when we are root (initdb and postgres refuse to run as root).
std::optional<std::pair<uid_t, gid_t>> ServerUser() {
  if (::geteuid() != 0) return std::nullopt;
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwnam_r("postgres", &pw, buf.data(), buf.size(), &found) != 0 || !found) {
    throw std::runtime_error(
        "running as root needs the `postgres` OS user to own the test server (the Debian package "
        "postgresql creates it), or run the tests as a non-root user");
  }
  return std::make_pair(found->pw_uid, found->pw_gid);
}

fs::path RunuserPath() {
  for (const char* p : {"/usr/sbin/runuser", "/sbin/runuser"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  throw std::runtime_error("runuser not found (util-linux): needed to run PostgreSQL as root");
}

std::string RandomPassword() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::uniform_int_distribution<size_t> pick(0, sizeof kAlphabet - 2);
  std::string password;
  for (int i = 0; i < 24; ++i) password += kAlphabet[pick(rd)];
  return password;
}

//! Binds 127.0.0.1:`port` (0: any) with SO_REUSEADDR, as PostgreSQL does; returns the bound port
//! or 0 when the port is taken.
int BindLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t len = sizeof addr;
  int bound = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    bound = ntohs(addr.sin_port);
  }
  ::close(fd);
  return bound;
}

//! The "S" field of /proc/<pid>/stat and the parent pid; state 0 when the process is gone.
std::pair<char, pid_t> ProcStat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return {0, 0};
  size_t paren = line.rfind(')');  // the command name may hold spaces and parentheses
  if (paren == std::string::npos || paren + 4 > line.size()) return {0, 0};
  char state = line[paren + 2];
  pid_t ppid = static_cast<pid_t>(std::atol(line.c_str() + paren + 4));
  return {state, ppid};
}

//! Alive and not a zombie (a killed server's processes stay zombies when init does not reap).
bool IsAlive(pid_t pid) {
  char state = ProcStat(pid).first;
  return state != 0 && state != 'Z' && state != 'X';
}

std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> children;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    pid_t pid = static_cast<pid_t>(std::stol(name));
    if (ProcStat(pid).second == parent) children.push_back(pid);
  }
  return children;
}

//! Polls `done` every 10 ms until it holds (true) or `timeout` passes (false).
bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::string Trim(const std::string& s) {
  const char* ws = " \t\r\n";
  size_t begin = s.find_first_not_of(ws);
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(ws) - begin + 1);
}

//! The last `lines` lines of `text`.
std::string Tail(const std::string& text, int lines) {
  size_t pos = text.size();
  while (lines-- > 0 && pos > 0) {
    size_t nl = text.rfind('\n', pos - 1);
    pos = nl == std::string::npos ? 0 : nl;
  }
  return Trim(text.substr(pos));
}

uintmax_t FileSize(const fs::path& p) {
  std::error_code ec;
  uintmax_t size = fs::file_size(p, ec);
  return ec ? 0 : size;
}

//! A conninfo value, quoted when it holds spaces, quotes or backslashes.
std::string ConnValue(const std::string& v) {
  if (!v.empty() && v.find_first_of(" '\\") == std::string::npos) return v;
  std::string quoted = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

void Chown(const fs::path& p, const std::pair<uid_t, gid_t>& owner) {
  if (::chown(p.c_str(), owner.first, owner.second) != 0) {
    throw std::runtime_error("cannot chown " + p.string() + " to the postgres user");
  }
}

}  // namespace

PostgresServer::PostgresServer()
    : data_dir_(temp_.path() / "data"),
      socket_dir_(temp_.path() / "socket"),
      log_file_(temp_.path() / "server.log"),
      password_(RandomPassword()) {
  try {
    StartWatchdog();
    bin_dir_ = FindBinDir();
    server_user_ = ServerUser();
    fs::create_directory(socket_dir_);
    fs::permissions(socket_dir_, fs::perms::owner_all);
    if (server_user_) {
      Chown(temp_.path(), *server_user_);
      Chown(socket_dir_, *server_user_);
    }
    InitCluster();
    std::string error;
    bool port_in_use = false;
    for (int attempt = 1;; ++attempt) {
      port_ = BindLoopback(0);
      if (TryStart(&error, &port_in_use)) break;
      if (!port_in_use || attempt == kStartAttempts) throw std::runtime_error(error);
    }
  } catch (...) {
    ShutDownQuietly();
    throw;
  }
}

PostgresServer::~PostgresServer() {
  ShutDownQuietly();
}

void PostgresServer::ShutDownQuietly() noexcept {
  try {
    Stop();
  } catch (...) {
  }
  try {
    KillServerProcesses();  // no-op unless Stop() failed
  } catch (...) {
  }
  std::error_code ec;
  fs::remove_all(temp_.path(), ec);
  DismissWatchdog();
}

ProcessResult PostgresServer::RunAsServerUser(std::vector<std::string> argv) const {
  if (server_user_) argv.insert(argv.begin(), {RunuserPath().string(), "-u", "postgres", "--"});
  // LC_ALL=C: the messages TryStart() looks for are in English.
  return RunProcess(argv, {{"LC_ALL", "C"}}, temp_.path());
}

void PostgresServer::InitCluster() {
  const fs::path pwfile = temp_.path() / "pwfile";
  std::ofstream(pwfile) << password_ << "\n";
  fs::permissions(pwfile, fs::perms::owner_read | fs::perms::owner_write);
  if (server_user_) Chown(pwfile, *server_user_);
  ProcessResult r = RunAsServerUser({(bin_dir_ / "initdb").string(), "-D", data_dir_.string(), "-U",
                                     user(), "--pwfile=" + pwfile.string(),
                                     "--auth-host=scram-sha-256", "--auth-local=trust", "-E",
                                     "UTF8", "--locale=C", "--no-sync", "--no-instructions"});
  fs::remove(pwfile);
  if (r.exit_code != 0) {
    throw std::runtime_error("initdb failed (exit " + std::to_string(r.exit_code) +
                             "): " + Trim(r.err + "\n" + r.out));
  }
  std::ofstream conf(data_dir_ / "postgresql.conf", std::ios::app);
  conf << kServerSettings << "unix_socket_directories = '" << socket_dir_.string() << "'\n";
  if (!conf)
    throw std::runtime_error("cannot append to " + (data_dir_ / "postgresql.conf").string());
}

bool PostgresServer::TryStart(std::string* error, bool* port_in_use) {
  const uintmax_t log_offset = FileSize(log_file_);
  ProcessResult r = RunAsServerUser({(bin_dir_ / "pg_ctl").string(), "start", "-w", "-t", "30",
                                     "-D", data_dir_.string(), "-l", log_file_.string(), "-o",
                                     "-p " + std::to_string(port_)});
  if (r.exit_code == 0 && (postmaster_pid_ = PostmasterPidFromFile()) > 0) return true;
  std::string log = Slurp(log_file_);
  log = log.substr(std::min<size_t>(log_offset, log.size()));
  *port_in_use = log.find("Address already in use") != std::string::npos;
  *error = "PostgreSQL did not start on 127.0.0.1:" + std::to_string(port_) + " (pg_ctl exit " +
           std::to_string(r.exit_code) + "): " + Trim(r.err) + "\n--- tail of " +
           log_file_.string() + " ---\n" + Tail(log, 30);
  KillServerProcesses();  // pg_ctl gives up after 30 s but leaves a slow postmaster running
  return false;
}

pid_t PostgresServer::PostmasterPidFromFile() const {
  std::ifstream in(data_dir_ / "postmaster.pid");
  long pid = 0;
  return in >> pid ? static_cast<pid_t>(pid) : 0;
}

void PostgresServer::Start() {
  if (running()) return;
  std::string error;
  bool port_in_use = false;
  if (!TryStart(&error, &port_in_use)) throw std::runtime_error(error);
}

void PostgresServer::Stop() {
  if (!running()) return;
  const pid_t pm = postmaster_pid_;
  const std::string pg_ctl = (bin_dir_ / "pg_ctl").string();
  for (const char* mode : {"fast", "immediate"}) {
    RunAsServerUser({pg_ctl, "stop", "-D", data_dir_.string(), "-m", mode, "-w", "-t", "20"});
    // pg_ctl returns once postmaster.pid is gone, a moment before the process itself.
    if (WaitUntil([pm] { return !IsAlive(pm); }, 5s)) {
      postmaster_pid_ = 0;
      return;
    }
  }
  Kill();
}

void PostgresServer::Kill() {
  KillServerProcesses();
  if (!WaitUntil([this] { return BindLoopback(port_) != 0; }, 10s)) {
    throw std::runtime_error("port " + std::to_string(port_) + " still taken after Kill()");
  }
}

void PostgresServer::KillServerProcesses() {
  pid_t pm = PostmasterPidFromFile();
  if (pm <= 0) pm = postmaster_pid_;
  if (pm > 0 && IsAlive(pm)) {
    ::kill(pm, SIGSTOP);  // no new backends while we collect them
    std::vector<pid_t> doomed = ChildrenOf(pm);
    doomed.push_back(pm);
    for (pid_t pid : doomed) ::kill(pid, SIGKILL);
    bool gone =
        WaitUntil([&doomed] { return std::none_of(doomed.begin(), doomed.end(), IsAlive); }, 10s);
    if (!gone) throw std::runtime_error("PostgreSQL processes survived SIGKILL for 10 s");
  }
  postmaster_pid_ = 0;
  // Stale lock files name a dead pid, which may be a zombie nobody reaps: the next postmaster
  // would take it for a live server and refuse to start.
  const std::string socket = ".s.PGSQL." + std::to_string(port_);
  std::error_code ec;
  fs::remove(data_dir_ / "postmaster.pid", ec);
  fs::remove(socket_dir_ / (socket + ".lock"), ec);
  fs::remove(socket_dir_ / socket, ec);
}

bool PostgresServer::running() const {
  return postmaster_pid_ > 0 && IsAlive(postmaster_pid_);
}

std::string PostgresServer::ConnInfo(const std::string& dbname) const {
  return "host=" + host() + " port=" + std::to_string(port_) + " user=" + user() +
         " password=" + ConnValue(password_) + " dbname=" + ConnValue(dbname);
}

std::string PostgresServer::CreateDatabase(const std::string& prefix) {
  const bool valid = !prefix.empty() && prefix.size() <= 48 &&
                     !std::isdigit(static_cast<unsigned char>(prefix[0])) &&
                     std::all_of(prefix.begin(), prefix.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                     });
  if (!valid)
    throw std::invalid_argument("database prefix must match [a-z_][a-z0-9_]{0,47}: " + prefix);
  std::string name = prefix + "_" + std::to_string(++databases_created_);
  Psql("postgres", "CREATE DATABASE " + name);
  return name;
}

std::string PostgresServer::Psql(const std::string& dbname, const std::string& sql) const {
  ProcessResult r = RunProcess(
      {(bin_dir_ / "psql").string(), "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", host(),
       "-p", std::to_string(port_), "-U", user(), "-d", dbname, "-c", sql},
      {{"PGPASSWORD", password_}, {"PGCONNECT_TIMEOUT", "10"}, {"PGSSLMODE", "disable"}});
  if (r.exit_code != 0) {
    throw std::runtime_error("psql on database " + dbname + " failed (exit " +
                             std::to_string(r.exit_code) + "): " + Trim(r.err) + "\nSQL: " + sql);
  }
  return Trim(r.out);
}

void PostgresServer::StartWatchdog() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    throw std::runtime_error("socketpair() failed");
  }
  std::string script = kWatchdogScript, arg0 = "kiln-pg-watchdog";
  std::string data = data_dir_.string(), dir = temp_.path().string();
  std::string sh = "/bin/sh", dash_c = "-c";
  char* argv[] = {sh.data(),   dash_c.data(), script.data(), arg0.data(),
                  data.data(), dir.data(),    nullptr};
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error("fork() failed");
  }
  if (pid == 0) {  // only async-signal-safe calls until exec
    if (fds[0] == 0) {
      ::fcntl(0, F_SETFD, 0);
    } else {
      ::dup2(fds[0], 0);
    }
    int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) {
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
    }
    ::setsid();  // out of the terminal's process group: Ctrl-C reaches the tests, not it
    ::execve(argv[0], argv, environ);
    ::_exit(127);
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);  // the shell exits as soon as the watchdog runs in the background
  watchdog_fd_ = fds[1];
}

void PostgresServer::DismissWatchdog() {
  if (watchdog_fd_ < 0) return;
  ::send(watchdog_fd_, "done\n", 5, MSG_NOSIGNAL);
  ::close(watchdog_fd_);
  watchdog_fd_ = -1;
}

}  // namespace kiln::testing
