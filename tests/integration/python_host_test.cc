// The warm Python host (kiln-python): children forked per block run, their channel and output,
// every way a child can end, virtualenvs, and what happens when the runner side goes away.
// Entry points live in tests/python_fixtures/fixture_entry.py.
#include "kiln/python/host.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "support/process.h"
#include "support/temp_dir.h"

namespace kiln::python {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

fs::path HostBinary() {
  return testing::KilnBinary().parent_path() / "kiln-python";
}

HostOptions FixtureOptions() {
  HostOptions options;
  options.executable = HostBinary();
  options.sys_path = {testing::SourceDir() / "tests" / "python_fixtures"};
  options.preload = {"numpy", "pandas", "fixture_entry"};
  options.env["KILN_TEST_MARKER"] = "from HostOptions.env";
  // Buffered host streams, as by default (a test runner may export PYTHONUNBUFFERED=1).
  options.env["PYTHONUNBUFFERED"] = "";
  return options;
}

//! Alive and not a zombie.
bool IsAlive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) return false;
  return line[paren + 2] != 'Z' && line[paren + 2] != 'X';
}

bool GoneWithin(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (IsAlive(pid)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

//! A child's output pipe: the write end goes to Spawn, a thread collects the read end.
class OutputPipe {
 public:
  OutputPipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    read_.Reset(fds[0]);
    write_.Reset(fds[1]);
    reader_ = std::thread([this] {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(read_.get(), buf, sizeof buf)) > 0) text_.append(buf, size_t(n));
    });
  }
  ~OutputPipe() { Collect(); }
  int write_fd() const { return write_.get(); }
  //! Everything written once every writer is gone (call after the child ended).
  std::string Collect() {
    write_.Reset();
    if (reader_.joinable()) reader_.join();
    return text_;
  }

 private:
  UniqueFd read_, write_;
  std::thread reader_;
  std::string text_;
};

struct Finished {
  ExitStatus status;
  std::string output;
};

class PythonHostTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { host_ = new Host(FixtureOptions()); }
  static void TearDownTestSuite() {
    delete host_;
    host_ = nullptr;
  }

  //! Runs fixture_entry:`function` to its end.
  static Finished Run(const std::string& function, const nlohmann::json& request = {}) {
    OutputPipe output;
    std::unique_ptr<ChildProcess> child =
        host_->Spawn("fixture_entry:" + function, request, output.write_fd());
    std::optional<ExitStatus> status = child->WaitFor(30s);
    if (!status) {
      child->Kill();
      status = child->Wait();
      ADD_FAILURE() << function << " still ran after 30 s";
    }
    return {*status, output.Collect()};
  }

  static Host* host_;
};

Host* PythonHostTest::host_ = nullptr;

TEST(ExitStatusTest, DescribesEachEnding) {
  EXPECT_EQ((ExitStatus{0, 0}).Describe(), "exited with status 0");
  EXPECT_EQ((ExitStatus{3, 0}).Describe(), "exited with status 3");
  EXPECT_EQ((ExitStatus{0, SIGSEGV}).Describe(), "killed by signal 11 (Segmentation fault)");
  EXPECT_EQ((ExitStatus{0, SIGKILL}).Describe(),
            "killed by SIGKILL (out of memory, or stopped by Kiln)");
  EXPECT_TRUE((ExitStatus{0, 0}).ok());
  EXPECT_FALSE((ExitStatus{1, 0}).ok());
}

TEST_F(PythonHostTest, ChildAnswersOverItsChannel) {
  OutputPipe output;
  std::unique_ptr<ChildProcess> child =
      host_->Spawn("fixture_entry:echo", {{"block", "load_api_data"}}, output.write_fd());
  EXPECT_GT(child->pid(), 0);
  OutputPipe side;  // a descriptor travelling runner -> child
  child->channel().Send({{"op", "start"}, {"rows", 22303}}, {side.write_fd()});
  std::optional<Message> reply = child->channel().ReceiveFor(30s);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body["op"], "echo");
  EXPECT_EQ(reply->body["request"]["block"], "load_api_data");
  EXPECT_EQ(reply->body["received"]["rows"], 22303);
  EXPECT_EQ(reply->body["pid"], child->pid());
  ASSERT_EQ(reply->fds.size(), 1u) << "and back child -> runner";
  ASSERT_EQ(::write(reply->fds[0].get(), "written by the runner\n", 22), 22);
  reply->fds.clear();
  EXPECT_TRUE(child->Wait().ok());
  EXPECT_EQ(side.Collect(), "written by the child\nwritten by the runner\n");
  EXPECT_FALSE(child->channel().Receive()) << "the child's end closed when it exited";
}

TEST_F(PythonHostTest, ChildChannelConvertsValuesTimesOutAndSeesTheEnd) {
  OutputPipe output;
  std::unique_ptr<ChildProcess> child =
      host_->Spawn("fixture_entry:channel_semantics", {}, output.write_fd());
  std::optional<Message> first = child->channel().ReceiveFor(30s);
  ASSERT_TRUE(first) << child->Wait().Describe() << "\n" << output.Collect();
  EXPECT_EQ(first->body["timed_out"], true);
  EXPECT_EQ(first->body["tuple"], nlohmann::json::parse(R"([1, "two", null, true, 2.5])"));
  EXPECT_EQ(first->body["numpy_int"], 7);
  EXPECT_EQ(first->body["numpy_array"], nlohmann::json::parse("[0, 1, 2]"));
  EXPECT_EQ(first->body["int_keys"]["1"], "one");
  EXPECT_EQ(first->body["huge"], "1180591620717411303424");
  EXPECT_EQ(first->body["other"], "2021-01-05") << "others as str(), like json.dumps(default=str)";
  OutputPipe side;
  child->channel().Send({{"op", "start"}, {"nested", {{"a", {1, 2}}}}}, {side.write_fd()});
  std::optional<Message> second = child->channel().ReceiveFor(30s);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body["got"]["nested"]["a"], nlohmann::json::parse("[1, 2]"));
  EXPECT_EQ(second->body["fds"], 1);
  ::shutdown(child->channel().fd(), SHUT_WR);  // the child's receive() sees the end
  EXPECT_EQ(child->Wait().Describe(), "exited with status 7");
  EXPECT_THAT(output.Collect(), HasSubstr("the channel is closed"));
}

TEST_F(PythonHostTest, StdoutAndStderrLinesArriveInOrder) {
  Finished f = Run("print_lines");
  EXPECT_TRUE(f.status.ok()) << f.status.Describe() << f.output;
  EXPECT_EQ(f.output, "out 1\nerr 2\nout 3\nc-level 4\nerr 5\n");
}

TEST_F(PythonHostTest, SegfaultIsKilledBySignal11) {
  Finished f = Run("segfault");
  EXPECT_EQ(f.status.Describe(), "killed by signal 11 (Segmentation fault)") << f.output;
}

TEST_F(PythonHostTest, SysExitThreeExitsWithStatusThree) {
  Finished f = Run("exit_3");
  EXPECT_EQ(f.status.Describe(), "exited with status 3");
  EXPECT_EQ(f.output, "leaving with 3\n");
}

TEST_F(PythonHostTest, UncaughtExceptionExitsOneWithItsTraceback) {
  Finished f = Run("raise_error");
  EXPECT_EQ(f.status.Describe(), "exited with status 1");
  EXPECT_THAT(f.output, HasSubstr("Traceback (most recent call last):"));
  EXPECT_THAT(f.output, HasSubstr("fixture_entry.py\", line"));
  EXPECT_THAT(f.output, HasSubstr("in parse"));
  EXPECT_THAT(f.output, HasSubstr("ValueError: bad input 42\n"));
  EXPECT_THAT(f.output, Not(HasSubstr("run_child"))) << "the host's own frame is left out";
}

TEST_F(PythonHostTest, EndlessLoopIsStoppedByKillWithWhatItStarted) {
  OutputPipe output;
  std::unique_ptr<ChildProcess> child =
      host_->Spawn("fixture_entry:loop_forever", {}, output.write_fd());
  std::optional<Message> looping = child->channel().ReceiveFor(30s);
  ASSERT_TRUE(looping);
  const pid_t grandchild = looping->body["grandchild"];
  EXPECT_FALSE(child->WaitFor(200ms));
  child->Kill();
  child->Kill();  // idempotent
  ExitStatus status = child->Wait();
  EXPECT_EQ(status.Describe(), "killed by SIGKILL (out of memory, or stopped by Kiln)");
  EXPECT_TRUE(GoneWithin(grandchild, 5s)) << "the child's process group is killed";
  output.Collect();  // EOF only once the grandchild's copy of the pipe is closed too
}

TEST_F(PythonHostTest, OutOfMemoryKillIsDescribed) {
  Finished f = Run("oom_killed");
  EXPECT_EQ(f.status.Describe(), "killed by SIGKILL (out of memory, or stopped by Kiln)");
}

TEST_F(PythonHostTest, MemoryLimitFailsTheChildWithMemoryError) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's shadow memory needs an unlimited address space";
#endif
  Finished f = Run("exhaust_memory");
  EXPECT_EQ(f.status.Describe(), "exited with status 1");
  EXPECT_THAT(f.output, HasSubstr("MemoryError"));
}

TEST_F(PythonHostTest, TwentyChildrenFromFourThreadsAllReport) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  std::vector<std::string> failures(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      try {
        std::vector<std::unique_ptr<ChildProcess>> children;
        std::vector<std::unique_ptr<OutputPipe>> outputs;
        for (int i = 0; i < 5; ++i) {
          outputs.push_back(std::make_unique<OutputPipe>());
          children.push_back(host_->Spawn("fixture_entry:echo",
                                          {{"n", t * 100 + i}, {"sleep_s", 0.05}},
                                          outputs.back()->write_fd()));
        }
        for (int i = 0; i < 5; ++i) {
          children[i]->channel().Send({{"op", "go"}});
          std::optional<Message> reply = children[i]->channel().ReceiveFor(30s);
          if (!reply || reply->body["request"]["n"] != t * 100 + i) {
            failures[t] += "child " + std::to_string(t * 100 + i) + " did not answer; ";
            continue;
          }
          if (children[i]->Wait().ok()) ++ok;
        }
      } catch (const std::exception& e) {
        failures[t] += e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& f : failures) EXPECT_EQ(f, "");
  EXPECT_EQ(ok, 20);
}

TEST_F(PythonHostTest, HostSurvivesEveryChildFailureAndKeepsServing) {
  const pid_t host_pid = host_->pid();
  EXPECT_EQ(Run("segfault").status.signal, SIGSEGV);
  EXPECT_EQ(Run("exit_3").status.code, 3);
  EXPECT_EQ(Run("raise_error").status.code, 1);
  EXPECT_EQ(Run("oom_killed").status.signal, SIGKILL);
  EXPECT_TRUE(IsAlive(host_pid));
  Finished f = Run("hello", {{"n", 1}});
  EXPECT_TRUE(f.status.ok()) << f.status.Describe() << f.output;
}

TEST_F(PythonHostTest, ChildrenGetTheHostEnvironmentAndAFreshProcessState) {
  OutputPipe output;
  std::unique_ptr<ChildProcess> child = host_->Spawn(
      "fixture_entry:report_environment",
      {{"names",
        {"KILN_TEST_MARKER", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"}}},
      output.write_fd());
  std::optional<Message> m = child->channel().ReceiveFor(30s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->body["env"]["KILN_TEST_MARKER"], "from HostOptions.env");
  EXPECT_EQ(m->body["env"]["OPENBLAS_NUM_THREADS"], "1");
  EXPECT_EQ(m->body["env"]["OMP_NUM_THREADS"], "1");
  EXPECT_EQ(m->body["env"]["MKL_NUM_THREADS"], "1");
  EXPECT_EQ(m->body["executable"], "/usr/bin/python3.11");
  EXPECT_THAT(m->body["sigint"].get<std::string>(), HasSubstr("default_int_handler"));
  EXPECT_EQ(m->body["blocked"], nlohmann::json::array());
  EXPECT_EQ(m->body["pgid_is_pid"], true);
  EXPECT_TRUE(child->Wait().ok()) << output.Collect();
}

// A hundred children one after the other each answer with their own start message: nothing
// leaks from one child into the next (latency is measured by bench/python_block_overhead.py).
TEST_F(PythonHostTest, HundredChildrenInARowEachAnswerTheirOwnStart) {
  for (int i = 0; i < 100; ++i) {
    OutputPipe output;
    std::unique_ptr<ChildProcess> child =
        host_->Spawn("fixture_entry:hello", {{"n", i}}, output.write_fd());
    std::optional<Message> m = child->channel().ReceiveFor(30s);
    ASSERT_TRUE(m);
    ASSERT_EQ(m->body["n"], i);
    ASSERT_TRUE(child->Wait().ok()) << output.Collect();
  }
}

TEST(PythonHostStartTest, RefusesAVirtualenvOfAnotherPythonVersion) {
  testing::TempDir venv;
  venv.Write("pyvenv.cfg",
             "home = /opt/python3.12/bin\ninclude-system-site-packages = false\n"
             "version = 3.12.1\n");
  HostOptions options = FixtureOptions();
  options.venv = venv.path();
  try {
    Host host(options);
    FAIL() << "a 3.12 virtualenv was accepted";
  } catch (const HostError& e) {
    EXPECT_THAT(e.what(), HasSubstr("is for Python 3.12.1"));
    EXPECT_THAT(e.what(), HasSubstr("Kiln runs Python 3.11."));
    EXPECT_THAT(e.what(), HasSubstr(venv.path().string()));
  }
}

TEST(PythonHostStartTest, VirtualenvOfTheSameVersionMakesItsPackagesImportable) {
  testing::TempDir dir;
  const fs::path venv = dir.path() / "venv";
  testing::ProcessResult made =
      testing::RunProcess({"/usr/bin/python3", "-m", "venv", "--without-pip", venv.string()});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const fs::path module = venv / "lib" / "python3.11" / "site-packages" / "venv_marker.py";
  ASSERT_TRUE(fs::is_directory(module.parent_path()));
  std::ofstream(module) << "VALUE = 'from the venv'\n";
  HostOptions options = FixtureOptions();
  options.venv = venv;
  Host host(options);
  OutputPipe output;
  std::unique_ptr<ChildProcess> child =
      host.Spawn("fixture_entry:import_module", {{"module", "venv_marker"}}, output.write_fd());
  std::optional<Message> m = child->channel().ReceiveFor(30s);
  ASSERT_TRUE(m) << child->Wait().Describe() << output.Collect();
  EXPECT_EQ(m->body["value"], "from the venv");
  EXPECT_EQ(m->body["file"], module.string());
  EXPECT_TRUE(child->Wait().ok());
}

TEST(PythonHostStartTest, MissingPreloadModuleIsAClearError) {
  HostOptions options = FixtureOptions();
  options.preload = {"numpy", "no_such_module_for_kiln"};
  try {
    Host host(options);
    FAIL() << "the host started without its preload module";
  } catch (const HostError& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot import no_such_module_for_kiln"));
    EXPECT_THAT(e.what(), HasSubstr("ModuleNotFoundError"));
  }
}

TEST(PythonHostStartTest, MissingExecutableIsAClearError) {
  HostOptions options = FixtureOptions();
  options.executable = "/nonexistent/kiln-python";
  EXPECT_THROW(Host{options}, HostError);
}

TEST(PythonHostStartTest, ClosingTheHostKillsRunningChildren) {
  std::optional<Host> host(std::in_place, FixtureOptions());
  const pid_t host_pid = host->pid();
  OutputPipe output;
  std::unique_ptr<ChildProcess> child =
      host->Spawn("fixture_entry:loop_forever", {}, output.write_fd());
  std::optional<Message> looping = child->channel().ReceiveFor(30s);
  ASSERT_TRUE(looping);
  const pid_t grandchild = looping->body["grandchild"];
  const pid_t child_pid = child->pid();
  host.reset();
  EXPECT_FALSE(IsAlive(host_pid));
  EXPECT_TRUE(GoneWithin(child_pid, 5s));
  EXPECT_TRUE(GoneWithin(grandchild, 5s));
  try {
    child->Wait();
    FAIL() << "Wait() returned for a child of a stopped host";
  } catch (const HostError& e) {
    EXPECT_THAT(e.what(), HasSubstr("the kiln-python host was stopped"));
  }
  EXPECT_THROW(child->channel().Send({{"op", "anyone"}}), ChannelError);
  output.Collect();
}

TEST(PythonHostStartTest, HostKilledFromOutsideFailsWaitingChildren) {
  Host host(FixtureOptions());
  OutputPipe output;
  std::unique_ptr<ChildProcess> child =
      host.Spawn("fixture_entry:loop_forever", {}, output.write_fd());
  std::optional<Message> looping = child->channel().ReceiveFor(30s);
  ASSERT_TRUE(looping);
  const pid_t grandchild = looping->body["grandchild"];
  const pid_t child_pid = child->pid();
  ::kill(host.pid(), SIGKILL);
  try {
    child->Wait();
    FAIL() << "Wait() returned for a child of a dead host";
  } catch (const HostError& e) {
    EXPECT_THAT(e.what(), HasSubstr("the kiln-python host died"));
    EXPECT_THAT(e.what(), HasSubstr("killed by SIGKILL"));
  }
  EXPECT_TRUE(GoneWithin(child_pid, 5s)) << "children die with their host";
  ::kill(grandchild, SIGKILL);  // its grandchildren are not its business once it is dead
  EXPECT_THROW(host.Spawn("fixture_entry:hello", {}, output.write_fd()), HostError);
  output.Collect();
}

}  // namespace
}  // namespace kiln::python
