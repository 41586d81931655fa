// run/status.h: Mage's block run and pipeline run statuses (§11.1), and what a run records.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/common/datetime.h"

namespace kiln::run {

enum class BlockRunStatus {
  kInitial,
  kQueued,
  kRunning,
  kCompleted,
  kFailed,
  kCancelled,
  kUpstreamFailed,
  kConditionFailed,
};
enum class PipelineRunStatus { kInitial, kRunning, kCompleted, kFailed, kCancelled };

//! Mage's spelling: "initial", "queued", "running", "completed", "failed", "cancelled",
//! "upstream_failed", "condition_failed".
std::string_view BlockRunStatusName(BlockRunStatus status);
std::string_view PipelineRunStatusName(PipelineRunStatus status);
//! True for statuses a block run never leaves.
bool IsFinished(BlockRunStatus status);

//! One block run, as the run knows it.
struct BlockRunRecord {
  std::string block_uuid;
  BlockRunStatus status = BlockRunStatus::kInitial;
  int attempts = 0;
  std::optional<uint64_t> rows;                      //!< rows of output_0 (or written by the block)
  std::chrono::milliseconds duration{0};             //!< from start to outputs stored
  std::string error;                                 //!< why it failed / was cancelled
  std::vector<std::string> destinations;             //!< where the block exported data
  std::vector<std::filesystem::path> outputs;        //!< stored output folders (output_N)
  std::optional<DateTime> started_at, completed_at;  //!< UTC
};

struct PipelineRunRecord {
  std::string pipeline_uuid;
  PipelineRunStatus status = PipelineRunStatus::kInitial;
  std::vector<BlockRunRecord> blocks;  //!< in dependency order
  std::filesystem::path variables_dir;
  std::filesystem::path outputs_dir;  //!< .variables[/<partition>] of the pipeline
  std::filesystem::path logs_dir;
  std::optional<DateTime> execution_date;
  std::chrono::milliseconds duration{0};
};

}  // namespace kiln::run
