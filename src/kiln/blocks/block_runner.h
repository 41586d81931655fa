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
#include "kiln/project/project.h"

namespace kiln::data {
class Engine;
}
namespace kiln::connectors {
class HttpFetcher;
}

namespace kiln::blocks {

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

//! The outputs of one upstream block, as DuckDB relations (one per output, in order).
struct UpstreamData {
  std::string block_uuid;
  std::vector<std::string> relations;  //!< e.g. memory.main."..." or read_parquet('...')
};

//! Process-wide services a runner may use; owned by the caller.
struct BlockServices {
  data::Engine& engine;
  connectors::HttpFetcher& fetcher;
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
  //! The relation of output_0 of any block of the run that has produced one (block_output()).
  std::function<std::optional<std::string>(std::string_view block_uuid)> block_output;
  //! Unique table-name prefix for this block run's in-memory outputs.
  std::string output_table_prefix;
  int attempt = 1;  //!< 1-based
  BlockServices services;
  BlockLog& log;
  CancelToken& cancel;
};

//! What a successful attempt leaves behind.
struct BlockResult {
  //! In-memory tables (engine catalog "memory"), one per output, in output order.
  std::vector<std::string> output_tables;
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
//! nullopt when it can. Checked for every block before a run starts.
std::optional<std::string> UnsupportedReason(const project::BlockSpec& block);

//! The runner for `block`. REQUIRES: UnsupportedReason(block) is nullopt.
std::unique_ptr<BlockRunner> MakeBlockRunner(const project::BlockSpec& block);

//! The block's code: its inline `content` or its file. Throws BlockError naming the file.
std::string ReadBlockCode(const project::BlockSpec& block);

}  // namespace kiln::blocks
