// python/embedded/host_main.cc: kiln-python, the warm Python host (protocol in python/host.h).
//
// Usage: kiln-python --socket FD   (FD: the connected Unix socket to the runner)
//        kiln-python --version
// It reads the runner's hello before starting Python (so the hello's environment is in place
// for the interpreter and the preloaded modules), imports the preload modules once, answers
// ready, then serves spawn and kill requests until the socket closes. Each child is forked
// (PyOS_BeforeFork/AfterFork), becomes its own process group, dies with the host
// (PR_SET_PDEATHSIG), gets the output pipe as fd 1 and 2, and runs entry(request, channel_fd)
// under the bootstrap below. SIGCHLD is blocked and read through a signalfd; every wake-up reaps
// with waitpid(WNOHANG) and reports "exited" for the children it spawned (the host is a child
// subreaper, so it also reaps the orphaned subprocesses of killed children). When the runner's
// socket closes, the host kills every child's process group, reaps them and exits.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pybind11/embed.h>
#include <pybind11/stl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>

#include "kiln/python/channel.h"

namespace kiln::python {
int KilnModuleAnchor();  // kiln_module.cc: keeps the _kiln module in the link
}  // namespace kiln::python

namespace {

namespace py = pybind11;
using kiln::python::Channel;
using kiln::python::ChannelError;
using kiln::python::Message;
using kiln::python::UniqueFd;

// Python side of the host, run once into the module __kiln_host__.
constexpr const char* kBootstrap = R"PY(
import gc, importlib, io, json, os, platform, signal, site, sys, traceback


class SetupError(Exception):
    """A hello the host cannot honour; str() is the whole message."""


def _venv_version(venv):
    cfg = os.path.join(venv, "pyvenv.cfg")
    try:
        with open(cfg, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise SetupError(f"{venv} is not a virtualenv: cannot read {cfg} ({e.strerror})")
    values = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip().lower()] = value.strip()
    version = values.get("version_info") or values.get("version")
    if not version:
        raise SetupError(f"{cfg} names no Python version (no 'version =' line)")
    return version


def _add_venv(venv):
    version = _venv_version(venv)
    ours = "%d.%d" % sys.version_info[:2]
    if version.split(".")[:2] != ours.split("."):
        raise SetupError(
            f"virtualenv {venv} is for Python {version}, but Kiln runs Python "
            f"{platform.python_version()}: recreate it with /usr/bin/python{ours} -m venv")
    packages = os.path.join(venv, "lib", f"python{ours}", "site-packages")
    if not os.path.isdir(packages):
        raise SetupError(f"virtualenv {venv} has no {packages}")
    site.addsitedir(packages)
    python = os.path.join(venv, "bin", "python")
    if os.path.exists(python):
        sys.executable = python


def prepare(sys_path, venv, preload, fallback_path=()):
    sys.path[0:0] = sys_path
    if venv:
        _add_venv(venv)
    for name in preload:
        try:
            importlib.import_module(name)
        except BaseException as e:
            detail = "".join(traceback.format_exception_only(type(e), e)).strip()
            raise SetupError(f"cannot import {name}: {detail}")
    # After the preloads: pandas decided at import that there is no usable pyarrow, and
    # anything earlier on sys.path (a venv's real pyarrow) wins over these stand-ins.
    sys.path.extend(p for p in fallback_path if p not in sys.path)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    gc.collect()
    gc.freeze()  # children never scan (and so never copy) the host's objects


def _stdio(fd):
    return io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), encoding="utf-8",
                            errors="backslashreplace", line_buffering=True)


def run_child(entry, request_json, channel_fd):
    sys.stdout = sys.__stdout__ = _stdio(1)
    sys.stderr = sys.__stderr__ = _stdio(2)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    code = 0
    try:
        module, _, function = entry.partition(":")
        target = getattr(importlib.import_module(module), function or "main")
        target(json.loads(request_json), channel_fd)
    except SystemExit as e:
        if e.code is None:
            code = 0
        elif isinstance(e.code, int):
            code = e.code & 0xFF
        else:
            print(e.code, file=sys.stderr)
            code = 1
    except BaseException as e:
        traceback.print_exception(type(e), e, e.__traceback__.tb_next)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    return code
)PY";

struct Options {
  int socket_fd = -1;
};

int Usage(const char* problem) {
  std::fprintf(stderr, "kiln-python: %s\nusage: kiln-python --socket FD | --version\n", problem);
  return 2;
}

//! Applies the hello's environment and the thread-pool defaults, before Python starts.
void PrepareEnvironment(const nlohmann::json& env) {
  if (env.is_object()) {
    for (const auto& [key, value] : env.items()) {
      if (value.is_string()) ::setenv(key.c_str(), value.get<std::string>().c_str(), 1);
    }
  }
  // Thread pools and fork() do not mix: a child would inherit locks held by pool threads.
  for (const char* var : {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"}) {
    ::setenv(var, "1", 0);
  }
  // Another interpreter's home (pyenv, a venv's activate) would point us at the wrong stdlib.
  ::unsetenv("PYTHONHOME");
}

void StartPython(const char* argv0) {
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.parse_argv = 0;
  config.install_signal_handlers = 1;  // as python3: SIGPIPE ignored; SIGINT stays ignored
  const char* argv[] = {argv0};
  py::initialize_interpreter(&config, 1, argv, false);
  // The embedding binary is not a Python interpreter: name the real one (subprocess, pip).
  py::exec(R"PY(
import os, sys
_python = os.path.join(sys.base_prefix, "bin", "python%d.%d" % sys.version_info[:2])
if os.path.exists(_python):
    sys.executable = sys._base_executable = _python
del _python
)PY");
}

class Host {
 public:
  Host(Channel& channel, py::module_ bootstrap, int signal_fd)
      : channel_(channel), bootstrap_(std::move(bootstrap)), signal_fd_(signal_fd) {}

  //! Serves until the runner closes the socket; then kills and reaps every child.
  void Serve();

 private:
  void Handle(Message& message);
  void Spawn(const nlohmann::json& body, std::vector<UniqueFd>& fds);
  [[noreturn]] void RunChild(const std::string& entry, const std::string& request_json,
                             int channel_fd, int output_fd, pid_t host_pid);
  void Reap();
  void KillAll();

  Channel& channel_;
  py::module_ bootstrap_;
  int signal_fd_;
  std::map<pid_t, int64_t> children_;  //!< running (not yet reaped) children: pid -> spawn id
};

void Host::Serve() {
  for (;;) {
    pollfd fds[2] = {{channel_.fd(), POLLIN, 0}, {signal_fd_, POLLIN, 0}};
    int ready;
    {
      py::gil_scoped_release release;
      ready = ::poll(fds, 2, 1000);  // the timeout is a safety net for a lost SIGCHLD
    }
    if (ready < 0 && errno != EINTR) break;
    if (ready > 0 && fds[1].revents) {
      signalfd_siginfo info;
      while (::read(signal_fd_, &info, sizeof info) == sizeof info) {
      }
    }
    std::optional<Message> message;
    try {
      Reap();
      if (ready <= 0 || !fds[0].revents) continue;
      message = channel_.Receive();
    } catch (const ChannelError& e) {
      std::fprintf(stderr, "kiln-python: %s\n", e.what());
    }
    if (!message) break;  // the runner is gone
    Handle(*message);
  }
  KillAll();
}

void Host::Handle(Message& message) {
  const std::string op = message.body.value("op", "");
  try {
    if (op == "spawn") {
      Spawn(message.body, message.fds);
    } else if (op == "kill") {
      const int64_t id = message.body.value("id", int64_t{-1});
      for (const auto& [pid, child_id] : children_) {
        if (child_id != id) continue;
        ::kill(-pid, SIGKILL);  // the child's process group: what it started dies with it
        ::kill(pid, SIGKILL);
      }
    } else {
      std::fprintf(stderr, "kiln-python: unknown message op \"%s\"\n", op.c_str());
    }
  } catch (const ChannelError& e) {
    std::fprintf(stderr, "kiln-python: %s\n", e.what());
  }
}

void Host::Spawn(const nlohmann::json& body, std::vector<UniqueFd>& fds) {
  const int64_t id = body.value("id", int64_t{-1});
  if (fds.size() != 2) {
    channel_.Send({{"op", "error"},
                   {"id", id},
                   {"message", "spawn needs 2 descriptors (channel, output), got " +
                                   std::to_string(fds.size())}});
    return;
  }
  const std::string entry = body.value("entry", "");
  const std::string request_json = body.contains("request") ? body["request"].dump() : "{}";
  const pid_t host_pid = ::getpid();
  PyOS_BeforeFork();
  const pid_t pid = ::fork();
  if (pid == 0) {
    PyOS_AfterFork_Child();
    RunChild(entry, request_json, fds[0].get(), fds[1].get(), host_pid);
  }
  const int fork_errno = errno;
  PyOS_AfterFork_Parent();
  if (pid < 0) {
    channel_.Send({{"op", "error"},
                   {"id", id},
                   {"message", std::string("fork failed: ") + std::strerror(fork_errno)}});
    return;
  }
  ::setpgid(pid, pid);  // also done by the child; whichever runs first wins the race
  children_[pid] = id;
  channel_.Send({{"op", "spawned"}, {"id", id}, {"pid", pid}});
}

void Host::RunChild(const std::string& entry, const std::string& request_json, int channel_fd,
                    int output_fd, pid_t host_pid) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != host_pid) ::_exit(1);  // the host died before the line above
  ::close(channel_.fd());
  ::close(signal_fd_);
  ::dup2(output_fd, 1);
  ::dup2(output_fd, 2);
  if (output_fd > 2) ::close(output_fd);
  // Signals as in a fresh python3: default everywhere, SIGPIPE and SIGXFSZ ignored, nothing
  // blocked (run_child restores SIGINT -> KeyboardInterrupt).
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &action, nullptr);
  }
  action.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &action, nullptr);
  ::sigaction(SIGXFSZ, &action, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // C-level prints from extensions, in order

  int code = 1;
  try {
    code = bootstrap_.attr("run_child")(entry, request_json, channel_fd).cast<int>();
  } catch (py::error_already_set& e) {
    e.restore();
    PyErr_Print();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln-python: %s\n", e.what());
  }
  std::fflush(stdout);
  std::fflush(stderr);
  ::_exit(code);
}

void Host::Reap() {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    auto it = children_.find(pid);
    if (it == children_.end()) continue;
    const int64_t id = it->second;
    children_.erase(it);
    channel_.Send({{"op", "exited"},
                   {"id", id},
                   {"pid", pid},
                   {"code", WIFEXITED(status) ? WEXITSTATUS(status) : 0},
                   {"signal", WIFSIGNALED(status) ? WTERMSIG(status) : 0}});
  }
}

void Host::KillAll() {
  for (const auto& [pid, id] : children_) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
  // Our children first (up to 5 s), then orphans of their process groups that came to us as
  // subreaper (briefly: a subprocess that left the group may never end).
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  auto orphans_deadline = Clock::time_point::max();
  for (;;) {
    const pid_t pid = ::waitpid(-1, nullptr, WNOHANG);
    if (pid > 0) {
      children_.erase(pid);
      continue;
    }
    if (pid < 0 && errno != EINTR) break;  // ECHILD: nobody left
    if (children_.empty() && orphans_deadline == Clock::time_point::max()) {
      orphans_deadline = Clock::now() + std::chrono::milliseconds(200);
    }
    if (Clock::now() > std::min(deadline, orphans_deadline)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

//! Answers the hello with an error; returns the host's exit code.
int ReplyError(Channel& channel, const std::string& message) {
  try {
    channel.Send({{"op", "error"}, {"message", message}});
  } catch (const ChannelError&) {
  }
  return 1;
}

//! The socket and signal setup, the hello, Python, then serving. Returns the exit code.
int Run(const char* argv0, int socket_fd) {
  ::fcntl(socket_fd, F_SETFD, FD_CLOEXEC);
  Channel channel{UniqueFd(socket_fd)};
  // SIGCHLD is read through a signalfd: block it before any thread exists, so all inherit it.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &chld, nullptr);
  UniqueFd signal_fd(::signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signal_fd) {
    std::fprintf(stderr, "kiln-python: signalfd failed: %s\n", std::strerror(errno));
    return 1;
  }
  // Ctrl-C in a terminal reaches the whole process group: the runner decides what stops.
  ::signal(SIGINT, SIG_IGN);
  // Orphans of a child's process tree (a killed block's subprocesses) come to us to be reaped,
  // instead of piling up as zombies where PID 1 does not reap.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);

  std::optional<Message> hello;
  try {
    hello = channel.Receive();
  } catch (const ChannelError& e) {
    std::fprintf(stderr, "kiln-python: %s\n", e.what());
  }
  if (!hello) return 1;
  if (hello->body.value("op", "") != "hello") {
    std::fprintf(stderr, "kiln-python: expected a hello, got %s\n", hello->body.dump().c_str());
    return 1;
  }
  PrepareEnvironment(hello->body.value("env", nlohmann::json::object()));
  StartPython(argv0);
  kiln::python::KilnModuleAnchor();

  py::module_ bootstrap;
  try {
    bootstrap = py::module_::import("types").attr("ModuleType")("__kiln_host__");
    py::exec(kBootstrap, bootstrap.attr("__dict__"));
    py::module_::import("sys").attr("modules")["__kiln_host__"] = bootstrap;
    py::module_::import("_kiln");
    const auto& body = hello->body;
    auto strings = [&](const char* key) {
      std::vector<std::string> out;
      if (body.contains(key) && body[key].is_array()) {
        for (const auto& v : body[key]) out.push_back(v.get<std::string>());
      }
      return out;
    };
    py::object venv = py::none();
    if (body.contains("venv") && body["venv"].is_string())
      venv = py::str(body["venv"].get<std::string>());
    bootstrap.attr("prepare")(strings("sys_path"), venv, strings("preload"),
                              strings("fallback_path"));
  } catch (py::error_already_set& e) {
    std::string message = e.matches(bootstrap.attr("SetupError"))
                              ? py::str(e.value()).cast<std::string>()
                              : std::string(e.what());
    return ReplyError(channel, message);
  } catch (const std::exception& e) {
    return ReplyError(channel, e.what());
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const std::string version =
      py::module_::import("platform").attr("python_version")().cast<std::string>();
  try {
    channel.Send({{"op", "ready"}, {"python", version}, {"pid", ::getpid()}});
  } catch (const ChannelError&) {
    return 1;
  }
  Host(channel, bootstrap, signal_fd.get()).Serve();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int socket_fd = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--version") {
      std::printf("kiln-python (Python %s)\n", PY_VERSION);
      return 0;
    }
    if (arg == "--socket" && i + 1 < argc) {
      char* end = nullptr;
      const long fd = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || fd < 0 || fd > 1 << 20)
        return Usage("--socket needs a descriptor number");
      socket_fd = static_cast<int>(fd);
    } else {
      return Usage(("unknown argument " + arg).c_str());
    }
  }
  if (socket_fd < 0) return Usage("--socket is required");
  if (::fcntl(socket_fd, F_GETFD) < 0) return Usage("--socket names a closed descriptor");
  const int code = Run(argv[0], socket_fd);
  // No interpreter finalization: children are gone, nothing is left to flush, and tearing
  // down pandas costs time. os._exit semantics, as for the children.
  std::fflush(stdout);
  std::fflush(stderr);
  ::_exit(code);
}
