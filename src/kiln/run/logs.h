// run/logs.h: the log files of a pipeline run, in Mage's layout (§3.1, §7.2):
//   <variables_dir>/pipelines/<pipeline>/.logs/[<partition>/]<block_uuid>.log and pipeline.log
// Each line is Mage's DictLogger format: "<YYYY-MM-DDTHH:MM:SS> <JSON record>". Lines also go to
// the run's observer (the console).
#pragma once

#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "kiln/blocks/block_runner.h"
#include "kiln/run/observer.h"

namespace kiln::run {

//! One log file plus the observer; thread-safe.
class LogFile : public blocks::BlockLog {
 public:
  //! Opens `path` for appending (folders created). `tags` go into every record (pipeline_uuid,
  //! block_uuid, block_type, ...); `block_uuid` is "" for pipeline.log and names the block to
  //! the observer. A file that cannot be opened is reported once on the observer; logging then
  //! goes on to the observer only.
  LogFile(std::filesystem::path path, nlohmann::ordered_json tags, std::string block_uuid,
          RunObserver* observer, std::mutex& observer_mu);
  void Write(blocks::LogLevel level, std::string_view message) override;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  nlohmann::ordered_json tags_;
  std::string block_uuid_;
  RunObserver* observer_;
  std::mutex& observer_mu_;
  std::mutex mu_;
  std::ofstream out_;
};

std::string_view LogLevelName(blocks::LogLevel level);

}  // namespace kiln::run
