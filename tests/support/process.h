// tests/support/process.h: running the real `kiln` binary from integration tests.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace kiln::testing {

struct ProcessResult {
  int exit_code = -1;    //!< the exit status, or 128 + signal
  std::string out, err;  //!< everything written to stdout / stderr
};

//! Signals to send to the process while it runs: (delay after start, signal number).
using SignalPlan = std::vector<std::pair<std::chrono::milliseconds, int>>;

//! Runs `argv` (argv[0] is a path), with `env_overrides` added to this process's environment
//! and `cwd` as working directory (empty: inherit). Sends the `signals` at their times. Waits for
//! it to end; `elapsed` receives the wall time when given.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env_overrides = {},
                         const std::filesystem::path& cwd = {}, const SignalPlan& signals = {},
                         std::chrono::milliseconds* elapsed = nullptr);

//! The kiln binary under test ($KILN_BIN, set by CTest).
std::filesystem::path KilnBinary();
//! The repository root ($KILN_SOURCE_DIR, set by CTest).
std::filesystem::path SourceDir();
//! tests/data ($KILN_TEST_DATA, set by CTest).
std::filesystem::path TestDataDir();

}  // namespace kiln::testing
