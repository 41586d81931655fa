// The scheduler end to end over a real SQLite metadata store and a real project: which runs it
// creates for which execution dates (through RunOnce with a fixed `now`), how it starts them
// under Mage's run limits, how it resumes runs a dead process left running, and, with its own
// thread, how an API run starts at once on Wake() instead of at a tick.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kiln/orchestration/api_runs.h"
#include "kiln/orchestration/scheduler.h"
#include "support/scheduler_project.h"

namespace kiln::testing {
namespace {

using orchestration::ApiRunRequest;
using orchestration::CreateApiRun;
using orchestration::Scheduler;
using orchestration::SchedulerOptions;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SchedulerTest : public ::testing::Test {
 protected:
  Scheduler MakeScheduler(const project::Project& project, orchestration::Launcher launcher) {
    SchedulerOptions options;
    options.on_message = [this](blocks::LogLevel, std::string_view message) {
      std::lock_guard lock(mu_);
      messages_.emplace_back(message);
    };
    return Scheduler(p_.store(), project, std::move(launcher), std::move(options));
  }
  std::string Messages() {
    std::lock_guard lock(mu_);
    std::string all;
    for (const auto& m : messages_) all += m + "\n";
    return all;
  }
  std::vector<int64_t> ApiRuns(const project::Project& project, int64_t schedule_id, int n) {
    std::vector<int64_t> ids;
    for (int i = 0; i < n; ++i) {
      ids.push_back(CreateApiRun(p_.store(), project, schedule_id, {}, Jan(2, 10, i)).id);
    }
    return ids;
  }

  SchedulerProject p_;
  std::mutex mu_;
  std::vector<std::string> messages_;
};

TEST_F(SchedulerTest, DailyTriggerAtTenOClockCreatesTheMidnightRunOnceNotTwice) {
  const project::Project project = p_.Open();
  RecordingLauncher launched;
  Scheduler scheduler = MakeScheduler(project, launched.launcher());
  const auto daily = p_.AddTrigger("nightly", "time", "@daily", Jan(1, 8));

  std::optional<DateTime> next = scheduler.RunOnce(Jan(2, 10));
  ASSERT_EQ(p_.RunsOf(daily.id).size(), 1u);
  const store::PipelineRun run = p_.RunsOf(daily.id)[0];
  EXPECT_EQ(run.execution_date, Jan(2));
  EXPECT_EQ(run.pipeline_uuid, "p");
  EXPECT_EQ(p_.store().ListBlockRuns(run.id).size(), 1u);
  EXPECT_THAT(launched.ids(), ElementsAre(run.id));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->utc_micros(), Jan(3).utc_micros());

  scheduler.RunOnce(Jan(2, 10, 30));
  scheduler.RunOnce(Jan(2, 23, 59));
  EXPECT_EQ(p_.RunsOf(daily.id).size(), 1u);
  EXPECT_THAT(launched.ids(), ElementsAre(run.id));  // never handed over twice

  scheduler.RunOnce(Jan(3, 0, 0, 1));
  ASSERT_EQ(p_.RunsOf(daily.id).size(), 2u);
  EXPECT_EQ(p_.RunsOf(daily.id)[1].execution_date, Jan(3));
}

TEST_F(SchedulerTest, TriggerEnabledDuringTheDayWaitsForTheNextMidnight) {
  const project::Project project = p_.Open();
  RecordingLauncher launched;
  Scheduler scheduler = MakeScheduler(project, launched.launcher());
  const auto daily = p_.AddTrigger("nightly", "time", "@daily", Jan(2, 9));  // enabled at 09:00

  std::optional<DateTime> next = scheduler.RunOnce(Jan(2, 10));
  EXPECT_TRUE(p_.RunsOf(daily.id).empty());
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->utc_micros(), Jan(3).utc_micros());
}

TEST_F(SchedulerTest, TriggerRunVariablesAreTheTriggersVariables) {
  const project::Project project = p_.Open();
  RecordingLauncher launched;
  Scheduler scheduler = MakeScheduler(project, launched.launcher());
  store::PipelineSchedule daily = p_.AddTrigger("nightly", "time", "@daily", Jan(1));
  daily.variables = {{"region", "eu"}};
  p_.store().UpdateSchedule(daily, Jan(1));

  scheduler.RunOnce(Jan(2, 10));
  ASSERT_EQ(p_.RunsOf(daily.id).size(), 1u);
  EXPECT_EQ(p_.RunsOf(daily.id)[0].variables, nlohmann::json({{"region", "eu"}}));
}

TEST_F(SchedulerTest, OnceTriggerRunsExactlyOnceThenBecomesInactive) {
  const project::Project project = p_.Open();
  ThreadLauncher runner(p_.store(), project, p_.data_dir());
  Scheduler scheduler = MakeScheduler(project, runner.launcher());
  const auto once = p_.AddTrigger("once", "time", "@once", Jan(1));

  EXPECT_FALSE(scheduler.RunOnce(Jan(2, 10)).has_value());
  runner.WaitAll();
  ASSERT_EQ(p_.RunsOf(once.id).size(), 1u);
  EXPECT_EQ(p_.RunsOf(once.id)[0].status, "completed");
  EXPECT_EQ(p_.RunsOf(once.id)[0].execution_date, Jan(2, 10));

  scheduler.RunOnce(Jan(2, 11));
  EXPECT_EQ(p_.RunsOf(once.id).size(), 1u);
  EXPECT_EQ(p_.store().GetSchedule(once.id)->status, "inactive");
}

TEST_F(SchedulerTest, SkipIfPreviousRunningCreatesTheNextRunCancelled) {
  const project::Project project = p_.Open();
  RecordingLauncher launched;  // the 10:00 run never finishes
  Scheduler scheduler = MakeScheduler(project, launched.launcher());
  const auto hourly =
      p_.AddTrigger("hourly", "time", "@hourly", Jan(1), {{"skip_if_previous_running", true}});

  scheduler.RunOnce(Jan(2, 10, 5));
  scheduler.RunOnce(Jan(2, 11, 5));
  const auto runs = p_.RunsOf(hourly.id);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].execution_date, Jan(2, 10));
  EXPECT_EQ(runs[0].status, "initial");  // launched, not taken yet by the launcher
  EXPECT_EQ(runs[1].execution_date, Jan(2, 11));
  EXPECT_EQ(runs[1].status, "cancelled");
  EXPECT_TRUE(runs[1].completed_at.has_value());
  EXPECT_THAT(launched.ids(), ElementsAre(runs[0].id));
  EXPECT_THAT(Messages(), HasSubstr("Previous pipeline run is still running... skipping"));
}

TEST_F(SchedulerTest, RunLimitWaitLeavesTheNewerRunsInitialUntilASlotFrees) {
  const project::Project project = p_.Open();
  RecordingLauncher launched;
  Scheduler scheduler = MakeScheduler(project, launched.launcher());
  const auto api = p_.AddTrigger("hook", "api", "", Jan(1), {{"pipeline_run_limit", 1}});
  const std::vector<int64_t> runs = ApiRuns(project, api.id, 3);

  scheduler.RunOnce(Jan(2, 11));
  scheduler.RunOnce(Jan(2, 11, 0, 1));  // the first has not started yet: still counts as running
  EXPECT_THAT(launched.ids(), ElementsAre(runs[0]));
  EXPECT_EQ(p_.StatusOf(runs[1]), "initial");
  EXPECT_EQ(p_.StatusOf(runs[2]), "initial");

  // The launcher runs it and it ends: the next oldest starts.
  ASSERT_TRUE(p_.store().TransitionPipelineRun(runs[0], {"initial"}, "running", Jan(2, 11, 0, 2)));
  scheduler.RunOnce(Jan(2, 11, 0, 3));
  EXPECT_THAT(launched.ids(), ElementsAre(runs[0]));
  ASSERT_TRUE(
      p_.store().TransitionPipelineRun(runs[0], {"running"}, "completed", Jan(2, 11, 0, 4)));
  scheduler.RunOnce(Jan(2, 11, 0, 5));
  EXPECT_THAT(launched.ids(), ElementsAre(runs[0], runs[1]));
}

TEST_F(SchedulerTest, RunLimitSkipCancelsTheRunsOverTheLimit) {
  p_.WritePipeline("p",
                   "concurrency_config:\n  pipeline_run_limit: 1\n"
                   "  on_pipeline_run_limit_reached: skip\n");
  const project::Project project = p_.Open();
  RecordingLauncher launched;
  Scheduler scheduler = MakeScheduler(project, launched.launcher());
  const auto api = p_.AddTrigger("hook", "api", "", Jan(1));
  const std::vector<int64_t> runs = ApiRuns(project, api.id, 3);

  scheduler.RunOnce(Jan(2, 11));
  EXPECT_THAT(launched.ids(), ElementsAre(runs[0]));
  EXPECT_EQ(p_.StatusOf(runs[1]), "cancelled");
  EXPECT_EQ(p_.StatusOf(runs[2]), "cancelled");
  EXPECT_EQ(p_.store().ListBlockRuns(runs[1])[0].status, "cancelled");
  EXPECT_THAT(Messages(), HasSubstr("Pipeline run limit reached... skipping this run"));
}

TEST_F(SchedulerTest, PipelineLimitAcrossTriggersStartsTheOldestRunOfAnyTrigger) {
  p_.WritePipeline("p", "concurrency_config:\n  pipeline_run_limit_all_triggers: 1\n");
  const project::Project project = p_.Open();
  RecordingLauncher launched;
  Scheduler scheduler = MakeScheduler(project, launched.launcher());
  const auto a = p_.AddTrigger("a", "api", "", Jan(1));
  const auto b = p_.AddTrigger("b", "api", "", Jan(1));
  const int64_t later = CreateApiRun(p_.store(), project, a.id, {}, Jan(2, 10, 30)).id;
  const int64_t older = CreateApiRun(p_.store(), project, b.id, {}, Jan(2, 10, 0)).id;

  scheduler.RunOnce(Jan(2, 11));
  EXPECT_THAT(launched.ids(), ElementsAre(older));
  EXPECT_EQ(p_.StatusOf(later), "initial");  // wait is the default
}

TEST_F(SchedulerTest, StaleRunningRunIsResumedToTheEndOnce) {
  const project::Project project = p_.Open();
  ThreadLauncher runner(p_.store(), project, p_.data_dir());
  Scheduler scheduler = MakeScheduler(project, runner.launcher());
  const auto api = p_.AddTrigger("hook", "api", "", Jan(1));
  const int64_t id = CreateApiRun(p_.store(), project, api.id, {}, Jan(1, 10)).id;
  // A process took it on Jan 1 at 10:00 and died: its heartbeat stopped then.
  ASSERT_TRUE(p_.store().TransitionPipelineRun(id, {"initial"}, "running", Jan(1, 10)));

  scheduler.RunOnce(Jan(1, 10, 0, 20));  // 20 s: not stale yet
  EXPECT_TRUE(runner.ids().empty());
  scheduler.RunOnce(Jan(2));
  scheduler.RunOnce(Jan(2));
  runner.WaitAll();
  EXPECT_THAT(runner.ids(), ElementsAre(id));
  EXPECT_EQ(p_.StatusOf(id), "completed");
  EXPECT_THAT(Messages(), HasSubstr("left running by a process that stopped"));
}

TEST_F(SchedulerTest, ALauncherThatThrowsFailsTheRun) {
  const project::Project project = p_.Open();
  Scheduler scheduler =
      MakeScheduler(project, [](int64_t) { throw Error("no worker can take it"); });
  const auto api = p_.AddTrigger("hook", "api", "", Jan(1));
  const int64_t id = CreateApiRun(p_.store(), project, api.id, {}, Jan(2, 10)).id;

  scheduler.RunOnce(Jan(2, 11));
  EXPECT_EQ(p_.StatusOf(id), "failed");
  EXPECT_THAT(p_.store().GetPipelineRun(id)->metrics.dump(), HasSubstr("no worker can take it"));
}

TEST_F(SchedulerTest, TriggersOfAMissingPipelineAreIgnored) {
  const project::Project project = p_.Open();
  RecordingLauncher launched;
  Scheduler scheduler = MakeScheduler(project, launched.launcher());
  const auto gone = p_.AddTrigger("nightly", "time", "@daily", Jan(1), {}, "deleted_pipeline");

  scheduler.RunOnce(Jan(2, 10));
  EXPECT_TRUE(p_.RunsOf(gone.id).empty());
}

TEST_F(SchedulerTest, AnInvalidStoredIntervalIsReportedOnceAndOtherTriggersGoOn) {
  const project::Project project = p_.Open();
  RecordingLauncher launched;
  Scheduler scheduler = MakeScheduler(project, launched.launcher());
  const auto bad = p_.AddTrigger("bad", "time", "*/0 * * * *", Jan(1));
  const auto good = p_.AddTrigger("good", "time", "@hourly", Jan(1));

  scheduler.RunOnce(Jan(2, 10, 5));
  scheduler.RunOnce(Jan(2, 10, 6));
  EXPECT_TRUE(p_.RunsOf(bad.id).empty());
  EXPECT_EQ(p_.RunsOf(good.id).size(), 1u);
  const std::string messages = Messages();
  EXPECT_THAT(messages, HasSubstr("trigger 'bad' (id 1) of pipeline 'p': cron '*/0 * * * *'"));
  EXPECT_EQ(messages.find("trigger 'bad'"), messages.rfind("trigger 'bad'"));  // once
}

TEST_F(SchedulerTest, ApiRunTakesTheRequestVariablesOverTheTriggersAndActivatesTheTrigger) {
  const project::Project project = p_.Open();
  store::PipelineSchedule api = p_.AddTrigger("hook", "api", "", Jan(1));
  api.status = "inactive";
  api.variables = {{"region", "eu"}, {"size", 1}};
  p_.store().UpdateSchedule(api, Jan(1));
  ApiRunRequest request = orchestration::ParseApiTriggerBody(
      R"({"pipeline_run": {"variables": {"size": 2}}, "source": "ci"})");

  const store::PipelineRun run = CreateApiRun(p_.store(), project, api.id, request,
                                              DateTime(Jan(2, 10).utc_micros() + 123456, 0));
  EXPECT_EQ(run.status, "initial");
  EXPECT_EQ(run.execution_date.utc_micros(), Jan(2, 10).utc_micros() + 123456);
  EXPECT_EQ(run.variables, nlohmann::json({{"region", "eu"},
                                           {"size", 2},
                                           {"execution_partition", "1/20210102T100000_123456"}}));
  EXPECT_EQ(run.event_variables, nlohmann::json({{"source", "ci"}}));
  EXPECT_EQ(p_.store().ListBlockRuns(run.id).size(), 1u);
  EXPECT_EQ(p_.store().GetSchedule(api.id)->status, "active");
  EXPECT_THROW(CreateApiRun(p_.store(), project, 99, {}, Jan(2)), orchestration::ApiTriggerError);
}

TEST_F(SchedulerTest, WakeStartsAnApiRunAtOnceWithoutATick) {
  const project::Project project = p_.Open();
  ThreadLauncher runner(p_.store(), project, p_.data_dir());
  SchedulerOptions options;
  options.housekeeping_every = std::chrono::minutes(10);  // no pass but the start-up one
  Scheduler scheduler(p_.store(), project, runner.launcher(), options);
  runner.set_on_end([&scheduler] { scheduler.Wake(); });
  const auto api = p_.AddTrigger("hook", "api", "", Jan(1), {{"pipeline_run_limit", 1}});
  scheduler.Start();

  const DateTime now = DateTime::NowUtcPrecise();
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(CreateApiRun(p_.store(), project, api.id, {}, now).id);
  scheduler.Wake();
  EXPECT_TRUE(Eventually([&] {
    return p_.StatusOf(ids[0]) == "completed" && p_.StatusOf(ids[1]) == "completed" &&
           p_.StatusOf(ids[2]) == "completed";
  })) << p_.StatusOf(ids[0])
      << p_.StatusOf(ids[1]) << p_.StatusOf(ids[2]);
  scheduler.Stop();
  runner.WaitAll();

  // One at a time: each started after the previous one completed.
  for (int i = 1; i < 3; ++i) {
    const auto before = p_.store().GetPipelineRun(ids[i - 1]);
    const auto after = p_.store().GetPipelineRun(ids[i]);
    EXPECT_GE(after->started_at->utc_micros(), before->completed_at->utc_micros()) << i;
  }
}

}  // namespace
}  // namespace kiln::testing
