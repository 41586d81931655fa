#include "kiln/run/logs.h"

#include <nlohmann/json.hpp>
#include <random>

#include "kiln/common/datetime.h"

namespace kiln::run {

std::string_view LogLevelName(blocks::LogLevel level) {
  switch (level) {
    case blocks::LogLevel::kDebug:
      return "DEBUG";
    case blocks::LogLevel::kInfo:
      return "INFO";
    case blocks::LogLevel::kWarning:
      return "WARNING";
    case blocks::LogLevel::kError:
      return "ERROR";
  }
  return "INFO";
}

namespace {

// A random 32-hex-digit id per record, as Mage's uuid4().hex.
std::string RecordId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

LogFile::LogFile(std::filesystem::path path, nlohmann::ordered_json tags, std::string block_uuid,
                 RunObserver* observer, std::mutex& observer_mu)
    : path_(std::move(path)),
      tags_(std::move(tags)),
      block_uuid_(std::move(block_uuid)),
      observer_(observer),
      observer_mu_(observer_mu) {
  std::error_code ec;
  std::filesystem::create_directories(path_.parent_path(), ec);
  out_.open(path_, std::ios::app);
  if (!out_ && observer_) {
    std::lock_guard lock(observer_mu_);
    observer_->OnLog(block_uuid_, blocks::LogLevel::kWarning,
                     "cannot write log file " + path_.string());
  }
}

void LogFile::Write(blocks::LogLevel level, std::string_view message) {
  DateTime now = DateTime::NowUtcPrecise();
  {
    std::lock_guard lock(mu_);
    if (out_) {
      // Mage's DictLogger line: "<time> <JSON>", the JSON holding the run's tags plus level,
      // message, timestamp (seconds since the epoch) and a random record uuid.
      nlohmann::ordered_json record = tags_;
      record["level"] = LogLevelName(level);
      record["message"] = std::string(message);
      record["timestamp"] = static_cast<double>(now.utc_micros()) / 1e6;
      record["uuid"] = RecordId();
      out_ << now.Strftime("%Y-%m-%dT%H:%M:%S") << ' '
           << record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
      out_.flush();
    }
  }
  if (observer_) {
    std::lock_guard lock(observer_mu_);
    observer_->OnLog(block_uuid_, level, message);
  }
}

}  // namespace kiln::run
