// blocks/block_runner.h: what running one block means, independent of its language.
// The run layer (run/) builds a BlockInvocation for each attempt of a block run, calls the
// runner chosen for the block, and persists the outputs the runner leaves in the engine's
// in-memory catalog. A runner never touches the metadata store or other blocks' state.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/blocks/cancel.h"
#include "kiln/common/datetime.h"
#include "kiln/common/environment.h"
#include "kiln/common/error.h"
#include "kiln/config/io_config.h"
#include "kiln/connectors/cloud/cloud_services.h"
#include "kiln/connectors/http/http_fetcher.h"
#include "kiln/data/output_store.h"
#include "kiln/project/project.h"

namespace kiln::data {
class Engine;
}

namespace kiln::blocks {

struct PythonServices;

//! A block failed. what() is the message users see in the run summary (it names the block).
class BlockError : public Error {
 public:
  using Error::Error;
};

enum class LogLevel { kDebug, kInfo, kWarning, kError };

//! Where a block run's messages go (its log file and the console, decided by the run layer).
class BlockLog {
 public:
  virtual ~BlockLog() = default;
  virtual void Write(LogLevel level, std::string_view message) = 0;
  void Debug(std::string_view m) { Write(LogLevel::kDebug, m); }
  void Info(std::string_view m) { Write(LogLevel::kInfo, m); }
  void Warning(std::string_view m) { Write(LogLevel::kWarning, m); }
  void Error(std::string_view m) { Write(LogLevel::kError, m); }
};

//! The runtime variables of a pipeline run (§5, §6): global, trigger and run variables merged
//! by precedence, plus the reserved keys the run layer computes.
struct RunVariables {
  nlohmann::json values = nlohmann::json::object();  //!< user variables, merged
  std::optional<DateTime> execution_date;            //!< the run's execution_date
  std::string env = "dev";                           //!< "prod" in triggered runs
  std::string execution_partition;                   //!< "" for ad-hoc CLI runs
  std::optional<int64_t> pipeline_run_id;
};

//! The stored outputs of one upstream block, in order (empty when it stored none).
struct UpstreamData {
  std::string block_uuid;
  std::vector<data::StoredOutput> outputs;
};

//! Process-wide services a runner may use; owned by the caller.
struct BlockServices {
  data::Engine& engine;
  //! How downloads are made (cache folder, retries); the runner adds its log and cancellation.
  connectors::FetchOptions fetch;
  //! Hosts, frames and the background output writer for Python blocks
  //! (blocks/python/python_services.h); null when this process runs no Python.
  PythonServices* python = nullptr;
  //! The local-cloud switch and what cloud connectors share (connectors/cloud/open.h); null in
  //! a process that runs no cloud block (a block needing it then fails saying so).
  connectors::CloudServices* cloud = nullptr;
};

//! Everything one attempt of a block run needs.
struct BlockInvocation {
  const project::Project& project;
  const project::Pipeline& pipeline;
  const project::BlockSpec& block;
  const Environment& env;
  const config::IoConfig& io_config;
  const RunVariables& vars;
  std::vector<UpstreamData> upstream;  //!< in the order of block.upstream_blocks
  //! The stored output_0 of an ancestor of this block (block_output()), or nullopt with the
  //! reason it is not available.
  std::function<std::optional<data::StoredOutput>(std::string_view uuid, std::string& why)>
      block_output;
  //! Where this pipeline's block outputs are stored.
  const data::OutputStore& outputs;
  int attempt = 1;  //!< 1-based
  BlockServices services;
  BlockLog& log;
  CancelToken& cancel;
};

//! What a successful attempt leaves behind.
struct BlockResult {
  //! The outputs stored (output_0, output_1, ...), complete on disk.
  std::vector<data::StoredOutput> outputs;
  std::optional<uint64_t> rows;  //!< rows of output_0, or rows written by the last statement
  //! Human-readable places data went, e.g. "warehouse table ny_taxi.yellow_taxi_data (replace)".
  std::vector<std::string> destinations;
};

//! Runs blocks of one kind (language / provider).
class BlockRunner {
 public:
  virtual ~BlockRunner() = default;
  //! Runs one attempt. Throws BlockError (or any kiln::Error) on failure; after
  //! invocation.cancel fires it should stop promptly and throw.
  virtual BlockResult Run(BlockInvocation& invocation) = 0;
};

//! Why this build of Kiln cannot run `block` (e.g. Python blocks before that issue lands), or
//! nullopt when it can. Checked for every block before a run starts, add-on blocks
//! (conditionals, callbacks, extensions) included: skipping one would change what runs.
std::optional<std::string> UnsupportedReason(const project::BlockSpec& block);

//! The runner for `block`. REQUIRES: UnsupportedReason(block) is nullopt.
std::unique_ptr<BlockRunner> MakeBlockRunner(const project::BlockSpec& block);

//! The block's code: its inline `content` or its file. Throws BlockError naming the file.
std::string ReadBlockCode(const project::BlockSpec& block);

}  // namespace kiln::blocks
