#include "kiln/run/status.h"

namespace kiln::run {

std::string_view BlockRunStatusName(BlockRunStatus status) {
  switch (status) {
    case BlockRunStatus::kInitial:
      return "initial";
    case BlockRunStatus::kQueued:
      return "queued";
    case BlockRunStatus::kRunning:
      return "running";
    case BlockRunStatus::kCompleted:
      return "completed";
    case BlockRunStatus::kFailed:
      return "failed";
    case BlockRunStatus::kCancelled:
      return "cancelled";
    case BlockRunStatus::kUpstreamFailed:
      return "upstream_failed";
    case BlockRunStatus::kConditionFailed:
      return "condition_failed";
  }
  return "unknown";
}

std::string_view PipelineRunStatusName(PipelineRunStatus status) {
  switch (status) {
    case PipelineRunStatus::kInitial:
      return "initial";
    case PipelineRunStatus::kRunning:
      return "running";
    case PipelineRunStatus::kCompleted:
      return "completed";
    case PipelineRunStatus::kFailed:
      return "failed";
    case PipelineRunStatus::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

bool IsFinished(BlockRunStatus status) {
  switch (status) {
    case BlockRunStatus::kCompleted:
    case BlockRunStatus::kFailed:
    case BlockRunStatus::kCancelled:
    case BlockRunStatus::kUpstreamFailed:
    case BlockRunStatus::kConditionFailed:
      return true;
    default:
      return false;
  }
}

}  // namespace kiln::run
