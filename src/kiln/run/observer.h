// run/observer.h: how callers (the CLI's console, later the server) follow a pipeline run.
#pragma once

#include <string_view>

#include "kiln/blocks/block_runner.h"
#include "kiln/run/status.h"

namespace kiln::run {

//! Receives a run's events. Called from worker threads, one call at a time per run.
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  //! A block run changed status (or its record changed, e.g. a retry).
  virtual void OnBlockStatus(const BlockRunRecord& record) {}
  //! A line of a block's log (`block_uuid` empty for the pipeline's own log).
  virtual void OnLog(std::string_view block_uuid, blocks::LogLevel level,
                     std::string_view message) {}
};

}  // namespace kiln::run
