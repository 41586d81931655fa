// run/retry.h: Mage's retry arithmetic for block runs (§11.4, mage_ai/shared/retry.py).
// max_delay caps the *cumulative* sleep, not each delay: with the defaults (delay 5 s,
// max_delay 60 s, exponential) and retries 5, the sleeps are 5, 10, 20 s and the fourth failure
// is final (35 + 40 >= 60).
#pragma once

#include <optional>

#include "kiln/project/block.h"

namespace kiln::run {

class RetrySchedule {
 public:
  explicit RetrySchedule(const project::RetryConfig& config) : config_(config) {
    current_delay_ = config.delay_seconds;
  }

  //! Called after attempt number `attempt` (1-based) failed. Returns the seconds to sleep before
  //! the next attempt, or nullopt when the failure is final.
  std::optional<double> AfterFailure(int attempt);

  //! Merges the project's retry_config with the block's (the block's keys win), as Mage does.
  static project::RetryConfig Merge(const nlohmann::json& project_config,
                                    const nlohmann::json& block_config);

 private:
  project::RetryConfig config_;
  double total_delay_ = 0;
  double current_delay_ = 0;
};

}  // namespace kiln::run
