// What goes into the runs the orchestrator creates: a backfill's per-date variables (spec 4.2),
// an API trigger call's body and checks (spec 5.4), and the variables a stored run executes with
// (spec 1.6, 3.5).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kiln/orchestration/api_runs.h"
#include "kiln/orchestration/backfill_runs.h"
#include "kiln/orchestration/run_variables.h"
#include "support/temp_dir.h"

namespace kiln::orchestration {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

DateTime Day(int day, int hour = 0) {
  return DateTime(DateTime::FromParts(2024, 1, day, hour).wall_micros(), 0);
}

TEST(BackfillRunVariablesTest, EachDateGetsItsIntervalAndTheLastIntervalRepeatsTheStep) {
  auto v = BackfillRunVariables({Day(1, 3), Day(3, 3), Day(5, 3)}, json::object());
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0], json({{"ds", "2024-01-01"},
                        {"hr", "03"},
                        {"execution_date", "2024-01-01T03:00:00"},
                        {"interval_start_datetime", "2024-01-01T03:00:00"},
                        {"interval_end_datetime", "2024-01-03T03:00:00"},
                        {"interval_seconds", 172800.0},
                        {"interval_start_datetime_previous", "2023-12-30T03:00:00"}}));
  EXPECT_EQ(v[2]["interval_end_datetime"], "2024-01-07T03:00:00");
  EXPECT_EQ(v[2]["interval_start_datetime_previous"], "2024-01-03T03:00:00");  // the date before
}

TEST(BackfillRunVariablesTest, BackfillVariablesAreTheBaseAndPerDateKeysWin) {
  auto v = BackfillRunVariables({Day(1), Day(2)}, {{"region", "eu"}, {"ds", "mine"}});
  EXPECT_EQ(v[1]["region"], "eu");
  EXPECT_EQ(v[1]["ds"], "2024-01-02");
}

TEST(BackfillRunVariablesTest, ASingleDateHasNullIntervalKeys) {
  auto v = BackfillRunVariables({Day(1)}, json::object());
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(v[0]["interval_start_datetime"].is_null());
  EXPECT_TRUE(v[0]["interval_seconds"].is_null());
  EXPECT_EQ(v[0]["execution_date"], "2024-01-01T00:00:00");
}

TEST(ApiTriggerBodyTest, NoBodyIsAnEmptyPayload) {
  ApiRunRequest r = ParseApiTriggerBody("  \n");
  EXPECT_EQ(r.variables, json::object());
  EXPECT_EQ(r.event_variables, json::object());
  EXPECT_FALSE(r.execution_date.has_value());
}

TEST(ApiTriggerBodyTest, PipelineRunVariablesAreRunVariablesAndOtherKeysEventVariables) {
  ApiRunRequest r = ParseApiTriggerBody(
      R"({"pipeline_run": {"variables": {"env": "staging"},
          "execution_date": "2024-01-05T06:30:00+02:00"}, "source": "ci"})");
  EXPECT_EQ(r.variables, json({{"env", "staging"}}));
  EXPECT_EQ(r.event_variables, json({{"source", "ci"}}));
  ASSERT_TRUE(r.execution_date.has_value());
  EXPECT_EQ(r.execution_date->utc_micros(), Day(5, 4).AddMicros(30LL * 60'000'000).utc_micros());
  EXPECT_EQ(ParseApiTriggerBody(R"({"env": "staging"})").event_variables,
            json({{"env", "staging"}}));
}

TEST(ApiTriggerBodyTest, MalformedBodiesAreRefusedWithTheReason) {
  try {
    ParseApiTriggerBody("{not json");
    FAIL() << "a malformed body was accepted";
  } catch (const ApiTriggerError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("malformed JSON body"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("line 1, column 3"));  // where it broke
  }
  EXPECT_THROW(ParseApiTriggerBody("[1, 2]"), ApiTriggerError);
  EXPECT_THROW(ParseApiTriggerBody(R"({"pipeline_run": {"variables": [1]}})"), ApiTriggerError);
  try {
    ParseApiTriggerBody(R"({"pipeline_run": {"execution_date": "yesterday"}})");
    FAIL() << "accepted";
  } catch (const ApiTriggerError& e) {
    EXPECT_THAT(e.what(), HasSubstr("pipeline_run.execution_date \"yesterday\" is not"));
  }
}

TEST(ApiTriggerCheckTest, OnlyAnApiTriggerWithThisTokenIsAccepted) {
  store::PipelineSchedule s;
  s.id = 3;
  s.schedule_type = "api";
  s.token = "0123456789abcdef0123456789abcdef";
  EXPECT_NO_THROW(CheckApiTrigger(s, "0123456789abcdef0123456789abcdef"));
  try {
    CheckApiTrigger(s, "0123456789abcdef0123456789abcdee");
    FAIL() << "accepted a wrong token";
  } catch (const ApiTriggerError& e) {
    EXPECT_STREQ(e.what(), "Invalid token for pipeline schedule ID 3.");
  }
  EXPECT_THROW(CheckApiTrigger(s, "0123"), ApiTriggerError);
  s.schedule_type = "time";
  try {
    CheckApiTrigger(s, s.token);
    FAIL() << "accepted a time trigger";
  } catch (const ApiTriggerError& e) {
    EXPECT_STREQ(e.what(), "This endpoint is only supported for API trigger.");
  }
}

class RunVariablesTest : public ::testing::Test {
 protected:
  RunVariablesTest() {
    dir_.Write("pipelines/p/metadata.yaml",
               "variables: {region: global, size: 1}\nblocks:\n"
               "- {uuid: one, type: data_loader, language: sql}\n");
    pipeline_ = project::Pipeline::Load(dir_.path(), "p");
  }
  kiln::testing::TempDir dir_;
  std::optional<project::Pipeline> pipeline_;
};

TEST_F(RunVariablesTest, GlobalsThenTriggerThenRunThenEventVariablesForMissingKeys) {
  store::PipelineSchedule trigger;
  trigger.id = 4;
  trigger.variables = {{"region", "trigger"}, {"owner", "trigger"}};
  store::PipelineRun run;
  run.id = 12;
  run.pipeline_schedule_id = 4;
  run.execution_date = Day(5);
  run.variables = {{"owner", "run"}, {"ds", "2024-01-05"}};
  run.event_variables = {{"owner", "event"}, {"source", "event"}};

  blocks::RunVariables v = RunVariablesOf(run, *pipeline_, trigger);
  EXPECT_EQ(v.values,
            json({{"region", "trigger"}, {"size", 1}, {"owner", "run"}, {"source", "event"}}));
  EXPECT_EQ(v.execution_partition, "4/20240105T000000");
  EXPECT_EQ(v.execution_date->ToString(), "2024-01-05 00:00:00");
  EXPECT_EQ(v.pipeline_run_id, 12);
  EXPECT_EQ(v.env, "prod");
}

TEST_F(RunVariablesTest, AnApiRunKeepsItsOwnExecutionPartition) {
  store::PipelineRun run;
  run.pipeline_schedule_id = 4;
  run.execution_date = Day(5);
  run.variables = {{"execution_partition", "4/20240105T000000_123456"}};
  blocks::RunVariables v = RunVariablesOf(run, *pipeline_, std::nullopt);
  EXPECT_EQ(v.execution_partition, "4/20240105T000000_123456");
  EXPECT_FALSE(v.values.contains("execution_partition"));
  run.pipeline_schedule_id.reset();
  run.variables = json::object();
  EXPECT_EQ(RunVariablesOf(run, *pipeline_, std::nullopt).execution_partition, "");
}

}  // namespace
}  // namespace kiln::orchestration
