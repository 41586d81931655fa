// Backfills over a real SQLite store and real runs (spec 4.4): starting one creates a run per
// date with Mage's variables, the scheduler starts them oldest first under the backfill's run
// limit, the backfill completes when its runs have, and cancelling it cancels what has not run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kiln/orchestration/backfill_runs.h"
#include "kiln/orchestration/error.h"
#include "kiln/orchestration/scheduler.h"
#include "support/scheduler_project.h"

namespace kiln::testing {
namespace {

using orchestration::BackfillError;
using orchestration::CancelBackfill;
using orchestration::Scheduler;
using orchestration::StartBackfill;
using orchestration::StartedBackfill;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

class BackfillRunsTest : public ::testing::Test {
 protected:
  //! Jan 1 .. Jan 5 2021, daily, with `settings` (e.g. a run limit).
  store::Backfill NewBackfill(nlohmann::json settings = nlohmann::json::object()) {
    store::Backfill b;
    b.name = "january";
    b.pipeline_uuid = "p";
    b.start_datetime = Jan(1);
    b.end_datetime = Jan(5);
    b.interval_type = "day";
    b.interval_units = 1;
    b.variables = {{"region", "eu"}, {"ds", "overridden"}};
    b.settings = std::move(settings);
    return p_.store().CreateBackfill(b, Jan(10));
  }
  std::vector<store::PipelineRun> Runs(int64_t backfill_id) {
    store::RunFilter f;
    f.backfill_id = backfill_id;
    f.limit = 100;
    auto runs = p_.store().ListPipelineRuns(f);
    std::reverse(runs.begin(), runs.end());
    return runs;
  }

  SchedulerProject p_;
};

TEST_F(BackfillRunsTest, JanuaryFirstToFifthDailyCreatesFiveRunsWithThoseExecutionDates) {
  const store::Backfill b = NewBackfill();
  const StartedBackfill started = StartBackfill(p_.store(), b.id, p_.Open(), Jan(10, 12));

  const auto runs = Runs(b.id);
  ASSERT_THAT(runs, SizeIs(5));
  EXPECT_THAT(started.run_ids,
              ElementsAre(runs[0].id, runs[1].id, runs[2].id, runs[3].id, runs[4].id));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(runs[i].execution_date, Jan(i + 1)) << i;
    EXPECT_EQ(runs[i].status, "initial");
    EXPECT_EQ(runs[i].pipeline_schedule_id, started.schedule.id);
    EXPECT_THAT(p_.store().ListBlockRuns(runs[i].id), SizeIs(1));  // created at once
  }
  const nlohmann::json& v = runs[2].variables;  // Jan 3
  EXPECT_EQ(v["region"], "eu");
  EXPECT_EQ(v["ds"], "2021-01-03");  // the per-date keys win over the backfill's
  EXPECT_EQ(v["hr"], "00");
  EXPECT_EQ(v["execution_date"], "2021-01-03T00:00:00");
  EXPECT_EQ(v["interval_start_datetime"], "2021-01-03T00:00:00");
  EXPECT_EQ(v["interval_end_datetime"], "2021-01-04T00:00:00");
  EXPECT_EQ(v["interval_seconds"], 86400.0);
  EXPECT_EQ(runs[4].variables["interval_end_datetime"], "2021-01-06T00:00:00");

  EXPECT_EQ(started.backfill.status, "initial");
  EXPECT_EQ(started.backfill.started_at->utc_micros(), Jan(10, 12).utc_micros());
  EXPECT_EQ(started.backfill.pipeline_schedule_id, started.schedule.id);
  EXPECT_EQ(started.schedule.name, "Backfill january");
  EXPECT_EQ(started.schedule.schedule_interval, "@once");
  EXPECT_EQ(started.schedule.schedule_type, "");
  EXPECT_EQ(started.schedule.status, "active");
}

TEST_F(BackfillRunsTest, TheSchedulerStartsTheOldestDatesFirstUnderTheBackfillsRunLimit) {
  const store::Backfill b = NewBackfill({{"pipeline_run_limit", 2}});
  const project::Project project = p_.Open();
  StartBackfill(p_.store(), b.id, project, Jan(10, 12));
  RecordingLauncher launched;
  Scheduler scheduler(p_.store(), project, launched.launcher());

  scheduler.RunOnce(Jan(10, 12, 1));
  scheduler.RunOnce(Jan(10, 12, 2));
  const auto runs = Runs(b.id);
  EXPECT_THAT(launched.ids(), ElementsAre(runs[0].id, runs[1].id));  // Jan 1 and Jan 2
  EXPECT_EQ(p_.store().GetBackfill(b.id)->status, "running");
  EXPECT_THAT(p_.RunsOf(*runs[0].pipeline_schedule_id), SizeIs(5));  // no @once run added
}

TEST_F(BackfillRunsTest, ABackfillCompletesWhenAllItsRunsHaveCompleted) {
  const store::Backfill b = NewBackfill({{"pipeline_run_limit", 2}});
  const project::Project project = p_.Open();
  const StartedBackfill started = StartBackfill(p_.store(), b.id, project, Jan(10, 12));
  ThreadLauncher runner(p_.store(), project, p_.data_dir());
  Scheduler scheduler(p_.store(), project, runner.launcher());

  // Passes until nothing is left to do (the server's worker would Wake() the scheduler).
  for (int pass = 0; pass < 10 && p_.store().GetBackfill(b.id)->status != "completed"; ++pass) {
    scheduler.RunOnce(Jan(10, 13, pass));
    runner.WaitAll();
  }
  EXPECT_EQ(p_.store().GetBackfill(b.id)->status, "completed");
  EXPECT_TRUE(p_.store().GetBackfill(b.id)->completed_at.has_value());
  EXPECT_EQ(p_.store().GetSchedule(started.schedule.id)->status, "inactive");
  EXPECT_THAT(runner.ids(), SizeIs(5));
  for (const auto& r : Runs(b.id)) EXPECT_EQ(r.status, "completed") << r.execution_date.ToString();
}

TEST_F(BackfillRunsTest, CancelCancelsTheRunsThatHaveNotRun) {
  const store::Backfill b = NewBackfill({{"pipeline_run_limit", 1}});
  const project::Project project = p_.Open();
  const StartedBackfill started = StartBackfill(p_.store(), b.id, project, Jan(10, 12));
  const auto runs = Runs(b.id);
  ASSERT_TRUE(p_.store().TransitionPipelineRun(runs[0].id, {"initial"}, "running", Jan(10, 13)));
  ASSERT_TRUE(p_.store().TransitionPipelineRun(runs[0].id, {"running"}, "completed", Jan(10, 14)));
  ASSERT_TRUE(p_.store().TransitionPipelineRun(runs[1].id, {"initial"}, "running", Jan(10, 14)));

  const auto cancelled = CancelBackfill(p_.store(), b.id, Jan(10, 15));
  EXPECT_EQ(cancelled.backfill.status, "cancelled");
  EXPECT_THAT(cancelled.cancelled_run_ids, SizeIs(3));
  EXPECT_THAT(cancelled.running_run_ids, ElementsAre(runs[1].id));
  EXPECT_EQ(p_.StatusOf(runs[0].id), "completed");
  for (int i = 1; i < 5; ++i) EXPECT_EQ(p_.StatusOf(runs[i].id), "cancelled") << i;
  EXPECT_EQ(p_.store().ListBlockRuns(runs[3].id)[0].status, "cancelled");
  EXPECT_EQ(p_.store().GetSchedule(started.schedule.id)->status, "inactive");

  RecordingLauncher launched;
  Scheduler scheduler(p_.store(), project, launched.launcher());
  scheduler.RunOnce(Jan(10, 16));
  EXPECT_TRUE(launched.ids().empty());
  EXPECT_EQ(p_.store().GetBackfill(b.id)->status, "cancelled");
}

TEST_F(BackfillRunsTest, StartingAgainAfterCancelCreatesEveryDateAgain) {
  const store::Backfill b = NewBackfill();
  const project::Project project = p_.Open();
  const StartedBackfill first = StartBackfill(p_.store(), b.id, project, Jan(10, 12));
  CancelBackfill(p_.store(), b.id, Jan(10, 13));
  const StartedBackfill second = StartBackfill(p_.store(), b.id, project, Jan(10, 14));

  EXPECT_THAT(Runs(b.id), SizeIs(10));  // the old runs stay, cancelled
  EXPECT_EQ(second.schedule.id, first.schedule.id);
  EXPECT_EQ(second.schedule.status, "active");
  EXPECT_EQ(second.backfill.status, "initial");
  for (int64_t id : second.run_ids) EXPECT_EQ(p_.StatusOf(id), "initial");
}

TEST_F(BackfillRunsTest, AFailedRunFailsTheBackfillOnceEveryRunHasEnded) {
  const store::Backfill b = NewBackfill();
  const project::Project project = p_.Open();
  StartBackfill(p_.store(), b.id, project, Jan(10, 12));
  const auto runs = Runs(b.id);
  for (size_t i = 0; i < runs.size(); ++i) {
    p_.store().TransitionPipelineRun(runs[i].id, {"initial"}, "running", Jan(10, 13));
    p_.store().TransitionPipelineRun(runs[i].id, {"running"}, i == 2 ? "failed" : "completed",
                                     Jan(10, 13));
  }
  RecordingLauncher launched;
  Scheduler scheduler(p_.store(), project, launched.launcher());
  scheduler.RunOnce(Jan(10, 14));
  EXPECT_EQ(p_.store().GetBackfill(b.id)->status, "failed");
  EXPECT_TRUE(p_.store().GetBackfill(b.id)->failed_at.has_value());
}

TEST_F(BackfillRunsTest, StartRefusesWhatItCannotRun) {
  const project::Project project = p_.Open();
  store::Backfill custom = NewBackfill();
  custom.block_uuid = "dates_block";
  p_.store().UpdateBackfill(custom, Jan(10));
  EXPECT_THROW(
      {
        try {
          StartBackfill(p_.store(), custom.id, project, Jan(10, 12));
        } catch (const BackfillError& e) {
          EXPECT_THAT(e.what(), HasSubstr("custom-code backfill"));
          throw;
        }
      },
      BackfillError);

  store::Backfill no_dates = NewBackfill();
  no_dates.end_datetime.reset();
  p_.store().UpdateBackfill(no_dates, Jan(10));
  EXPECT_THROW(StartBackfill(p_.store(), no_dates.id, project, Jan(10, 12)), BackfillError);

  const store::Backfill ok = NewBackfill();
  StartBackfill(p_.store(), ok.id, project, Jan(10, 12));
  EXPECT_THROW(StartBackfill(p_.store(), ok.id, project, Jan(10, 13)), BackfillError);
  EXPECT_THROW(StartBackfill(p_.store(), 999, project, Jan(10, 13)), BackfillError);
}

}  // namespace
}  // namespace kiln::testing
