// Mage's retry arithmetic (mage_ai/shared/retry.py), spec §11.4.
#include <gtest/gtest.h>

#include "kiln/run/retry.h"

namespace kiln::run {
namespace {

std::vector<double> Sleeps(project::RetryConfig config) {
  RetrySchedule schedule(config);
  std::vector<double> out;
  for (int attempt = 1; attempt < 100; ++attempt) {
    auto delay = schedule.AfterFailure(attempt);
    if (!delay) break;
    out.push_back(*delay);
  }
  return out;
}

TEST(RetryTest, NoRetriesByDefault) {
  EXPECT_TRUE(Sleeps({}).empty());
}

TEST(RetryTest, MaxDelayCapsTheCumulativeSleepNotEachDelay) {
  // retries 5 with the defaults: 5, 10, 20, then 35 + 40 >= 60 ends it: 4 attempts in all.
  EXPECT_EQ(Sleeps({.retries = 5}), (std::vector<double>{5, 10, 20}));
}

TEST(RetryTest, RetriesBoundTheAttempts) {
  EXPECT_EQ(Sleeps({.retries = 2, .delay_seconds = 1}), (std::vector<double>{1, 2}));
}

TEST(RetryTest, ConstantDelayWithoutExponentialBackoff) {
  EXPECT_EQ(Sleeps({.retries = 3, .delay_seconds = 2, .exponential_backoff = false}),
            (std::vector<double>{2, 2, 2}));
}

TEST(RetryTest, ZeroDelayRetriesImmediately) {
  EXPECT_EQ(Sleeps({.retries = 2, .delay_seconds = 0}), (std::vector<double>{0, 0}));
}

TEST(RetryTest, BlockKeysOverrideProjectKeys) {
  project::RetryConfig merged =
      RetrySchedule::Merge({{"retries", 3}, {"delay", 10}}, {{"delay", 1}});
  EXPECT_EQ(merged.retries, 3);
  EXPECT_EQ(merged.delay_seconds, 1);
  EXPECT_EQ(merged.max_delay_seconds, 60);
  EXPECT_TRUE(merged.exponential_backoff);
}

}  // namespace
}  // namespace kiln::run
