// Triggers as code: pipelines/<uuid>/triggers.yaml as Mage writes and reads it (spec 1.9).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "kiln/project/error.h"
#include "kiln/project/trigger.h"
#include "support/temp_dir.h"

namespace kiln::project {
namespace {

using kiln::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kFile = "pipelines/etl/triggers.yaml";

TriggersFile Parse(const std::string& yaml) {
  return ParseTriggers(yaml, kFile, "etl");
}

std::string ParseError(const std::string& yaml) {
  try {
    Parse(yaml);
  } catch (const ProjectError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string Str(const std::optional<DateTime>& t) {
  return t ? t->ToString() : "none";
}

// The spec's own example (spec 1.9).
constexpr const char* kSpecExample = R"(triggers:
- name: nightly
  schedule_type: time
  schedule_interval: '@daily'
  start_time: 2024-01-01 00:00:00
  status: active
  variables:
    region: eu
  settings:
    skip_if_previous_running: true
  envs: [prod]
- name: ci_hook
  schedule_type: api
  status: active
  token: 0123456789abcdef0123456789abcdef
)";

TEST(TriggerTest, ReadsTheSpecExample) {
  TriggersFile file = Parse(kSpecExample);
  EXPECT_TRUE(file.warnings.empty());
  ASSERT_EQ(file.triggers.size(), 2u);
  const Trigger& nightly = file.triggers[0];
  EXPECT_EQ(nightly.name, "nightly");
  EXPECT_EQ(nightly.pipeline_uuid, "etl");
  EXPECT_EQ(nightly.schedule_type, ScheduleType::kTime);
  EXPECT_EQ(nightly.schedule_interval, "@daily");
  EXPECT_EQ(Str(nightly.start_time), "2024-01-01 00:00:00+00:00");
  EXPECT_EQ(nightly.status, ScheduleStatus::kActive);
  EXPECT_EQ(nightly.variables, nlohmann::json({{"region", "eu"}}));
  EXPECT_TRUE(nightly.settings.skip_if_previous_running);
  EXPECT_FALSE(nightly.settings.allow_blocks_to_fail);
  EXPECT_THAT(nightly.envs, ElementsAre("prod"));
  EXPECT_EQ(nightly.line, 2);
  EXPECT_EQ(nightly.schedule_interval_line, 4);

  const Trigger& hook = file.triggers[1];
  EXPECT_EQ(hook.schedule_type, ScheduleType::kApi);
  EXPECT_FALSE(hook.schedule_interval);
  EXPECT_FALSE(hook.start_time);
  EXPECT_EQ(hook.token, "0123456789abcdef0123456789abcdef");
  EXPECT_TRUE(hook.variables.is_object() && hook.variables.empty());
}

TEST(TriggerTest, DefaultsAreMages) {
  Trigger t = Parse("triggers:\n- name: t\n").triggers.at(0);
  EXPECT_EQ(t.status, ScheduleStatus::kInactive);
  EXPECT_FALSE(t.schedule_type);
  EXPECT_FALSE(t.sla_seconds);
  EXPECT_TRUE(t.envs.empty());
  EXPECT_FALSE(t.settings.pipeline_run_limit);
  EXPECT_FALSE(t.settings.timeout_seconds);
  EXPECT_TRUE(t.settings.raw.is_object() && t.settings.raw.empty());
}

TEST(TriggerTest, AMissingFileOrAnEmptyListHasNoTriggers) {
  TempDir dir;
  EXPECT_TRUE(LoadTriggers(dir.path(), "etl").triggers.empty());
  EXPECT_TRUE(Parse("").triggers.empty());
  EXPECT_TRUE(Parse("triggers:\n").triggers.empty());
  EXPECT_TRUE(Parse("triggers: []\n").triggers.empty());
}

TEST(TriggerTest, LoadsTheFileOfThePipelineFolder) {
  TempDir dir;
  dir.Write("pipelines/etl/triggers.yaml", kSpecExample);
  TriggersFile file = LoadTriggers(dir.path(), "etl");
  ASSERT_EQ(file.triggers.size(), 2u);
  EXPECT_EQ(file.triggers[0].file, dir.path() / "pipelines/etl/triggers.yaml");
  EXPECT_EQ(file.triggers[0].Where(), (dir.path() / "pipelines/etl/triggers.yaml").string() + ":2");
}

TEST(TriggerTest, StartTimeAcceptsTheFormsMageReadsAsUtc) {
  auto start = [](const std::string& value) {
    return Str(Parse("triggers:\n- name: t\n  start_time: " + value + "\n").triggers[0].start_time);
  };
  EXPECT_EQ(start("2024-01-01"), "2024-01-01 00:00:00+00:00");  // a date is midnight UTC
  EXPECT_EQ(start("2024-01-01 06:30:00"), "2024-01-01 06:30:00+00:00");
  EXPECT_EQ(start("'2024-01-01 06:30:00'"), "2024-01-01 06:30:00+00:00");
  EXPECT_EQ(start("2024-01-01T06:30:00Z"), "2024-01-01 06:30:00+00:00");
  EXPECT_EQ(start("2024-1-5 6:30:00"), "2024-01-05 06:30:00+00:00");
  EXPECT_EQ(start("2024-01-01 06:30:00.25"), "2024-01-01 06:30:00.250000+00:00");
  EXPECT_EQ(start("2024-01-01 06:30:00+02:00"), "2024-01-01 04:30:00+00:00");
  EXPECT_EQ(start("2024-01-01 06:30:00 -5"), "2024-01-01 11:30:00+00:00");
  EXPECT_EQ(start("2024-01-01T06:30"), "2024-01-01 06:30:00+00:00");
  EXPECT_EQ(start("~"), "none");
}

TEST(TriggerTest, LastEnabledAtAsMageWritesItBack) {
  Trigger t = Parse("triggers:\n- name: t\n  last_enabled_at: 2024-03-01 10:11:12.123456+00:00\n")
                  .triggers[0];
  EXPECT_EQ(Str(t.last_enabled_at), "2024-03-01 10:11:12.123456+00:00");
}

TEST(TriggerTest, SettingsAreTypedAndKeptWhole) {
  Trigger t = Parse(R"(triggers:
- name: t
  settings:
    allow_blocks_to_fail: yes
    create_initial_pipeline_run: true
    landing_time_enabled: false
    pipeline_run_limit: 2
    timeout: 3600
    timeout_status: cancelled
    something_new: 7
)")
                  .triggers[0];
  EXPECT_TRUE(t.settings.allow_blocks_to_fail);  // YAML 1.1: yes is true
  EXPECT_TRUE(t.settings.create_initial_pipeline_run);
  EXPECT_FALSE(t.settings.landing_time_enabled);
  EXPECT_EQ(t.settings.pipeline_run_limit, 2);
  EXPECT_EQ(t.settings.timeout_seconds, 3600.0);
  EXPECT_EQ(t.settings.timeout_status, "cancelled");
  EXPECT_EQ(t.settings.raw["something_new"], 7);  // unknown settings are preserved
  EXPECT_EQ(t.settings.raw["timeout"], 3600);
}

TEST(TriggerTest, UnknownKeysAreKeptAndWarnedAbout) {
  TriggersFile file = Parse(R"(triggers:
- name: t
  schedule_type: time
  colour: blue
version: 2
)");
  EXPECT_EQ(file.triggers[0].unknown_keys, nlohmann::json({{"colour", "blue"}}));
  EXPECT_THAT(file.warnings,
              ElementsAre(std::string(kFile) + ":5: unknown top-level key 'version' (ignored; "
                                               "triggers go under 'triggers:')",
                          std::string(kFile) + ":4: trigger 't': unknown key 'colour' (kept, "
                                               "not used)"));
}

TEST(TriggerTest, PipelineUuidComesFromTheFolder) {
  TriggersFile file = Parse("triggers:\n- name: t\n  pipeline_uuid: other\n");
  EXPECT_EQ(file.triggers[0].pipeline_uuid, "etl");
  EXPECT_THAT(file.warnings, ElementsAre(HasSubstr(":3: trigger 't': pipeline_uuid 'other' is "
                                                   "ignored: the trigger belongs to pipeline "
                                                   "'etl'")));
  EXPECT_TRUE(Parse("triggers:\n- name: t\n  pipeline_uuid: etl\n").warnings.empty());
}

TEST(TriggerTest, AnInvalidCronIsKeptAsTextForOrchestrationToJudge) {
  Trigger t = Parse("triggers:\n- name: t\n  schedule_interval: 'every day'\n").triggers[0];
  EXPECT_EQ(t.schedule_interval, "every day");
}

TEST(TriggerTest, NamesAreRequiredAndUnique) {
  EXPECT_EQ(ParseError("triggers:\n- schedule_type: time\n"),
            std::string(kFile) + ":2: a trigger has no name (each needs 'name:')");
  EXPECT_EQ(ParseError("triggers:\n- name: ''\n"), std::string(kFile) +
                                                       ":2: a trigger has an "
                                                       "empty name");
  EXPECT_EQ(ParseError("triggers:\n- name: a\n- name: b\n- name: a\n"),
            std::string(kFile) +
                ":4: trigger 'a' is declared twice (first on line 2); names "
                "are unique within a pipeline");
}

TEST(TriggerTest, BadValuesNameTheFileLineAndTrigger) {
  EXPECT_EQ(ParseError("triggers:\n- name: t\n  schedule_type: cron\n"),
            std::string(kFile) +
                ":3: trigger 't': schedule_type must be time, api or event, not "
                "'cron'");
  EXPECT_EQ(ParseError("triggers:\n- name: t\n  status: enabled\n"),
            std::string(kFile) +
                ":3: trigger 't': status must be active or inactive, not "
                "'enabled'");
  EXPECT_EQ(ParseError("triggers:\n- name: t\n  start_time: next tuesday\n"),
            std::string(kFile) +
                ":3: trigger 't': start_time 'next tuesday' is not a date or "
                "datetime (e.g. 2024-01-01 or 2024-01-01 00:00:00)");
  EXPECT_EQ(ParseError("triggers:\n- name: t\n  start_time: 2024-02-30\n"),
            std::string(kFile) +
                ":3: trigger 't': start_time '2024-02-30' is not a date or "
                "datetime (e.g. 2024-01-01 or 2024-01-01 00:00:00)");
  EXPECT_EQ(ParseError("triggers:\n- name: t\n  envs: [prod, qa]\n"),
            std::string(kFile) +
                ":3: trigger 't': envs: 'qa' is not one of dev, staging, prod, "
                "test, test_mage");
  EXPECT_EQ(ParseError("triggers:\n- name: t\n  sla: 1.5\n"),
            std::string(kFile) +
                ":3: trigger 't': sla must be a whole number of seconds, not "
                "'1.5'");
  EXPECT_EQ(ParseError("triggers:\n- name: t\n  variables: [a, b]\n"),
            std::string(kFile) +
                ":3: trigger 't': variables must be a mapping of names to "
                "values");
  EXPECT_EQ(ParseError("triggers:\n- name: t\n  schedule_interval: 5\n"),
            std::string(kFile) +
                ":3: trigger 't': schedule_interval must be text such as "
                "'@daily' or '0 * * * *', not '5'");
}

TEST(TriggerTest, BadSettingsNameTheSetting) {
  EXPECT_EQ(ParseError("triggers:\n- name: t\n  settings:\n    timeout: soon\n"),
            std::string(kFile) + ":4: trigger 't': settings.timeout must be a number of seconds");
  EXPECT_EQ(ParseError("triggers:\n- name: t\n  settings:\n    skip_if_previous_running: 1\n"),
            std::string(kFile) +
                ":4: trigger 't': settings.skip_if_previous_running must be "
                "true or false");
  EXPECT_THAT(ParseError("triggers:\n- name: t\n  settings:\n    timeout_status: running\n"),
              HasSubstr(":4: trigger 't': settings.timeout_status must be failed or cancelled"));
  EXPECT_THAT(ParseError("triggers:\n- name: t\n  settings:\n    pipeline_run_limit: -1\n"),
              HasSubstr(":4: trigger 't': settings.pipeline_run_limit must be a whole number"));
  EXPECT_THAT(ParseError("triggers:\n- name: t\n  settings: [a]\n"),
              HasSubstr(":3: trigger 't': settings must be a mapping"));
}

TEST(TriggerTest, TheFileMustHoldAListOfMappings) {
  EXPECT_EQ(ParseError("- name: t\n"),
            std::string(kFile) + ":1: expected a mapping with a 'triggers:' list");
  EXPECT_EQ(ParseError("triggers:\n  name: t\n"),
            std::string(kFile) + ":2: 'triggers' must be a list of triggers");
  EXPECT_EQ(ParseError("triggers:\n- just a string\n"),
            std::string(kFile) +
                ":2: each entry of 'triggers' must be a mapping with at least "
                "'name'");
  EXPECT_THAT(ParseError("triggers:\n- name: [unclosed\n"),
              HasSubstr(std::string(kFile) + ":"));  // yaml-cpp names the line
  EXPECT_THAT(ParseError("triggers:\n- name: [unclosed\n"), HasSubstr("invalid YAML"));
}

TEST(TriggerTest, EnvsSelectTheEnvironmentsATriggerAppliesTo) {
  TriggersFile file = Parse("triggers:\n- name: everywhere\n- name: prod_only\n  envs: [prod]\n");
  EXPECT_TRUE(file.triggers[0].AppliesToEnv("dev"));
  EXPECT_TRUE(file.triggers[1].AppliesToEnv("prod"));
  EXPECT_FALSE(file.triggers[1].AppliesToEnv("dev"));
}

TEST(TriggerTest, MageEnvNameFollowsTheEnvVariable) {
  EXPECT_EQ(MageEnvName(std::nullopt), "dev");
  EXPECT_EQ(MageEnvName("production"), "prod");
  EXPECT_EQ(MageEnvName("prod"), "prod");
  EXPECT_EQ(MageEnvName("staging"), "staging");
  EXPECT_EQ(MageEnvName("test"), "test");
  EXPECT_EQ(MageEnvName("qa"), "dev");
}

}  // namespace
}  // namespace kiln::project
