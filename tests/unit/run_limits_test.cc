// Which waiting runs start under Mage's concurrency limits (spec 2.1 steps 5.2, 5.5, 6; 2.6),
// and how a pipeline's concurrency_config is read.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kiln/orchestration/error.h"
#include "kiln/orchestration/run_limits.h"
#include "support/temp_dir.h"

namespace kiln::orchestration {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

DateTime Day(int day) {
  return DateTime(DateTime::FromParts(2021, 1, day).wall_micros(), 0);
}

project::Pipeline PipelineWith(const kiln::testing::TempDir& dir, const std::string& extra) {
  dir.Write("pipelines/p/metadata.yaml",
            "blocks:\n- {uuid: one, type: data_loader, language: sql}\n" + extra);
  return project::Pipeline::Load(dir.path(), "p");
}

TEST(RunLimitsTest, WithoutLimitsEveryWaitingRunStarts) {
  TriggerRuns t{.run_limit = std::nullopt, .running = 5, .initial = {{2, Day(2)}, {1, Day(1)}}};
  RunStartPlan plan = PlanRunStarts({t}, {}, 5);
  EXPECT_THAT(plan.start, ElementsAre(1, 2));  // oldest execution_date first
  EXPECT_THAT(plan.excluded, IsEmpty());
}

TEST(RunLimitsTest, TriggerLimitStartsTheOldestExecutionDatesFirst) {
  TriggerRuns t{.run_limit = 2, .running = 0, .initial = {{7, Day(3)}, {8, Day(1)}, {9, Day(2)}}};
  RunStartPlan plan = PlanRunStarts({t}, {}, 0);
  EXPECT_THAT(plan.start, ElementsAre(8, 9));
  EXPECT_THAT(plan.excluded, ElementsAre(7));
}

TEST(RunLimitsTest, RunningRunsUseUpTheTriggerQuota) {
  TriggerRuns t{.run_limit = 2, .running = 2, .initial = {{1, Day(1)}}};
  EXPECT_THAT(PlanRunStarts({t}, {}, 2).start, IsEmpty());
  t.running = 3;  // more running than the limit (the limit was lowered): none starts
  EXPECT_THAT(PlanRunStarts({t}, {}, 3).excluded, ElementsAre(1));
}

TEST(RunLimitsTest, EqualExecutionDatesStartInRunIdOrder) {
  TriggerRuns t{.run_limit = 1, .running = 0, .initial = {{5, Day(1)}, {4, Day(1)}}};
  EXPECT_THAT(PlanRunStarts({t}, {}, 0).start, ElementsAre(4));
}

TEST(RunLimitsTest, PipelineLimitAcrossTriggersKeepsTheOldestOfAllTriggers) {
  TriggerRuns a{.run_limit = std::nullopt, .running = 0, .initial = {{1, Day(3)}, {2, Day(4)}}};
  TriggerRuns b{.run_limit = 1, .running = 0, .initial = {{3, Day(1)}, {4, Day(2)}}};
  ConcurrencyConfig config;
  config.pipeline_run_limit_all_triggers = 3;
  RunStartPlan plan = PlanRunStarts({a, b}, config, 1);  // one running: quota 2
  EXPECT_THAT(plan.start, ElementsAre(3, 1));
  EXPECT_THAT(plan.excluded, ElementsAre(4, 2));
  EXPECT_THAT(PlanRunStarts({a, b}, config, 5).start, IsEmpty());  // floored at 0
}

TEST(RunLimitsTest, TriggerSettingOverridesThePipelineLimitWhichOverridesTheDefault) {
  ConcurrencyConfig config;
  config.pipeline_run_limit = 3;
  EXPECT_EQ(TriggerRunLimit({{"pipeline_run_limit", 1}}, config, 9), 1);
  EXPECT_EQ(TriggerRunLimit({{"pipeline_run_limit", nullptr}}, config, 9), 3);
  EXPECT_EQ(TriggerRunLimit(nlohmann::json::object(), {}, 9), 9);
  EXPECT_EQ(TriggerRunLimit(nlohmann::json::object(), {}, std::nullopt), std::nullopt);
}

TEST(RunLimitsTest, ConcurrencyConfigIsReadFromThePipelineMetadata) {
  kiln::testing::TempDir dir;
  ConcurrencyConfig config = ConcurrencyConfigOf(PipelineWith(
      dir,
      "concurrency_config:\n  pipeline_run_limit: 2\n  pipeline_run_limit_all_triggers: 4\n"
      "  on_pipeline_run_limit_reached: skip\n  block_run_limit: 3\n"));
  EXPECT_EQ(config.pipeline_run_limit, 2);
  EXPECT_EQ(config.pipeline_run_limit_all_triggers, 4);
  EXPECT_EQ(config.on_limit_reached, OnRunLimitReached::kSkip);

  ConcurrencyConfig none = ConcurrencyConfigOf(PipelineWith(dir, ""));
  EXPECT_EQ(none.pipeline_run_limit, std::nullopt);
  EXPECT_EQ(none.on_limit_reached, OnRunLimitReached::kWait);
}

TEST(RunLimitsTest, ABadConcurrencyConfigNamesTheFileAndTheKey) {
  kiln::testing::TempDir dir;
  try {
    ConcurrencyConfigOf(PipelineWith(dir, "concurrency_config:\n  pipeline_run_limit: many\n"));
    FAIL() << "accepted";
  } catch (const OrchestrationError& e) {
    EXPECT_THAT(e.what(), HasSubstr("pipelines/p/metadata.yaml: concurrency_config."
                                    "pipeline_run_limit must be a whole number"));
  }
  EXPECT_THROW(ConcurrencyConfigOf(PipelineWith(
                   dir, "concurrency_config:\n  on_pipeline_run_limit_reached: queue\n")),
               OrchestrationError);
}

}  // namespace
}  // namespace kiln::orchestration
