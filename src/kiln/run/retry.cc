#include "kiln/run/retry.h"

namespace kiln::run {

std::optional<double> RetrySchedule::AfterFailure(int attempt) {
  const int max_attempts = config_.retries + 1;
  if (attempt >= max_attempts) return std::nullopt;
  if (total_delay_ + current_delay_ >= config_.max_delay_seconds) return std::nullopt;
  double sleep = current_delay_;
  total_delay_ += current_delay_;
  if (config_.exponential_backoff) current_delay_ *= 2;
  return sleep;
}

project::RetryConfig RetrySchedule::Merge(const nlohmann::json& project_config,
                                          const nlohmann::json& block_config) {
  nlohmann::json merged = project_config.is_object() ? project_config : nlohmann::json::object();
  if (block_config.is_object()) merged.update(block_config);
  return project::RetryConfig::FromJson(merged);
}

}  // namespace kiln::run
