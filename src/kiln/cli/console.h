// cli/console.h: what `kiln run` prints: live block status lines, block log lines, and the
// summary table at the end (status, rows, duration per block; where outputs went).
#pragma once

#include <cstdio>
#include <string>

#include "kiln/run/observer.h"
#include "kiln/run/status.h"

namespace kiln::cli {

//! Prints a run's progress to stderr. Colours only when stderr is a terminal.
class ConsoleObserver : public run::RunObserver {
 public:
  //! `name_width`: the longest block uuid of the pipeline, to align the status column.
  ConsoleObserver(bool verbose, size_t name_width);
  void OnBlockStatus(const run::BlockRunRecord& record) override;
  void OnLog(std::string_view block_uuid, blocks::LogLevel level,
             std::string_view message) override;

 private:
  bool verbose_;
  bool color_;
  size_t name_width_;
};

//! Prints the end-of-run summary to stdout.
void PrintRunSummary(const run::PipelineRunRecord& record, std::FILE* out);

//! "0.41 s", "1 min 02 s".
std::string FormatDuration(std::chrono::milliseconds ms);

}  // namespace kiln::cli
