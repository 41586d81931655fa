// When a time trigger is due and with which execution_date (spec 2.2-2.5), as pure functions of
// the trigger, its runs and the current time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "kiln/orchestration/error.h"
#include "kiln/orchestration/schedule_interval.h"
#include "kiln/project/trigger.h"

namespace kiln::orchestration {
namespace {

using ::testing::HasSubstr;

DateTime At(const std::string& text) {
  return DateTime::Parse(text).value();
}

TriggerTiming Timing(const std::string& interval) {
  TriggerTiming timing;
  timing.interval = ScheduleInterval::Parse(interval);
  return timing;
}

TriggerTiming Landing(const std::string& interval, const std::string& start_time) {
  TriggerTiming timing = Timing(interval);
  timing.start_time = At(start_time);
  timing.landing_time = true;
  return timing;
}

std::string Str(const std::optional<DateTime>& t) {
  return t ? t->ToString() : "none";
}

// Runs exist for exactly these execution dates.
RunHistory RunsAt(std::vector<std::string> dates) {
  RunHistory history;
  history.run_count = static_cast<int64_t>(dates.size());
  history.has_run_at = [dates](const DateTime& ed) {
    for (const auto& d : dates)
      if (At(d).utc_micros() == ed.utc_micros()) return true;
    return false;
  };
  return history;
}

TEST(ScheduleIntervalTest, MagesKeywordsAreExactAndEverythingElseIsCron) {
  EXPECT_EQ(ScheduleInterval::Parse("@once").kind(), IntervalKind::kOnce);
  EXPECT_EQ(ScheduleInterval::Parse("@hourly").kind(), IntervalKind::kHourly);
  EXPECT_EQ(ScheduleInterval::Parse("@daily").kind(), IntervalKind::kDaily);
  EXPECT_EQ(ScheduleInterval::Parse("@weekly").kind(), IntervalKind::kWeekly);
  EXPECT_EQ(ScheduleInterval::Parse("@monthly").kind(), IntervalKind::kMonthly);
  EXPECT_EQ(ScheduleInterval::Parse("@always_on").kind(), IntervalKind::kAlwaysOn);
  EXPECT_EQ(ScheduleInterval::Parse("@yearly").kind(), IntervalKind::kCron);
  EXPECT_EQ(ScheduleInterval::Parse("0 */2 * * *").kind(), IntervalKind::kCron);
  // Mage compares the keywords exactly: "@WEEKLY" goes to croniter, whose week starts Sunday.
  const DateTime now = At("2024-01-10 12:00");  // a Wednesday
  EXPECT_EQ(Str(CurrentExecutionDate(Timing("@weekly"), now)), "2024-01-08 00:00:00+00:00");
  EXPECT_EQ(Str(CurrentExecutionDate(Timing("@WEEKLY"), now)), "2024-01-07 00:00:00+00:00");
}

TEST(ScheduleIntervalTest, InvalidIntervalsAreRefusedWithTheReason) {
  try {
    ScheduleInterval::Parse("@fortnightly");
    FAIL() << "expected CronError";
  } catch (const CronError& e) {
    EXPECT_THAT(e.what(), HasSubstr("'@fortnightly' is not one of Mage's intervals (@once, "
                                    "@hourly, @daily, @weekly, @monthly, @always_on)"));
  }
  EXPECT_THROW(ScheduleInterval::Parse(""), CronError);
  try {
    ScheduleInterval::Parse("*/0 * * * *");
    FAIL() << "expected CronError";
  } catch (const CronError& e) {
    EXPECT_STREQ(e.what(), "cron '*/0 * * * *': minute field: step 0 is not allowed");
  }
}

TEST(ScheduleIntervalTest, ExecutionDateIsTheStartOfTheCurrentInterval) {
  // Mage's test_current_execution_date, frozen at 2023-10-11 12:13:14 UTC (a Wednesday).
  const DateTime now = At("2023-10-11 12:13:14");
  EXPECT_EQ(Str(CurrentExecutionDate(Timing("@hourly"), now)), "2023-10-11 12:00:00+00:00");
  EXPECT_EQ(Str(CurrentExecutionDate(Timing("@daily"), now)), "2023-10-11 00:00:00+00:00");
  EXPECT_EQ(Str(CurrentExecutionDate(Timing("@weekly"), now)), "2023-10-09 00:00:00+00:00");
  EXPECT_EQ(Str(CurrentExecutionDate(Timing("@monthly"), now)), "2023-10-01 00:00:00+00:00");
  EXPECT_EQ(Str(CurrentExecutionDate(Timing("30 */5 * * *"), now)), "2023-10-11 10:30:00+00:00");
}

TEST(ScheduleIntervalTest, OnceAndAlwaysOnExecuteAtNowToTheMicrosecond) {
  const DateTime now = At("2024-01-04 10:11:12.345678");
  EXPECT_EQ(Str(CurrentExecutionDate(Timing("@once"), now)), "2024-01-04 10:11:12.345678+00:00");
  EXPECT_EQ(Str(CurrentExecutionDate(Timing("@always_on"), now)),
            "2024-01-04 10:11:12.345678+00:00");
}

TEST(ScheduleIntervalTest, CronExecutionDateIsStrictlyBeforeNowAsCroniterGetPrev) {
  TriggerTiming quarter = Timing("*/15 * * * *");
  EXPECT_EQ(Str(CurrentExecutionDate(quarter, At("2024-01-01 10:15:00"))),
            "2024-01-01 10:00:00+00:00");
  EXPECT_EQ(Str(CurrentExecutionDate(quarter, At("2024-01-01 10:15:00.000001"))),
            "2024-01-01 10:15:00+00:00");
}

TEST(ScheduleIntervalTest, InputsWithOffsetsAreReadAsInstants) {
  // 01:30+02:00 is 23:30 UTC the day before.
  EXPECT_EQ(Str(CurrentExecutionDate(Timing("@daily"), At("2024-01-05 01:30:00+02:00"))),
            "2024-01-04 00:00:00+00:00");
}

TEST(ScheduleIntervalTest, LandingTimeTakesTheFieldsOfStartTime) {
  // Mage's landing-time test: start_time 2024-11-12 13:14:15 (a Tuesday).
  const DateTime now = At("2023-10-11 12:13:14");
  const std::string anchor = "2024-11-12 13:14:15";
  EXPECT_EQ(Str(CurrentExecutionDate(Landing("@hourly", anchor), now)),
            "2023-10-11 12:14:15+00:00");
  EXPECT_EQ(Str(CurrentExecutionDate(Landing("@daily", anchor), now)), "2023-10-11 13:14:15+00:00");
  EXPECT_EQ(Str(CurrentExecutionDate(Landing("@weekly", anchor), now)),
            "2023-10-10 13:14:15+00:00");
  EXPECT_EQ(Str(CurrentExecutionDate(Landing("@monthly", anchor), now)),
            "2023-10-12 13:14:15+00:00");
  // Cron triggers have no landing time.
  EXPECT_EQ(Str(CurrentExecutionDate(Landing("0 * * * *", anchor), now)),
            "2023-10-11 12:00:00+00:00");
}

TEST(ScheduleIntervalTest, NextExecutionDateFollowsTheCurrentOne) {
  const DateTime now = At("2024-01-31 12:13:14");
  EXPECT_EQ(Str(NextExecutionDate(Timing("@hourly"), now)), "2024-01-31 13:00:00+00:00");
  EXPECT_EQ(Str(NextExecutionDate(Timing("@daily"), now)), "2024-02-01 00:00:00+00:00");
  EXPECT_EQ(Str(NextExecutionDate(Timing("@weekly"), now)), "2024-02-05 00:00:00+00:00");
  EXPECT_EQ(Str(NextExecutionDate(Timing("@monthly"), now)), "2024-02-01 00:00:00+00:00");
  EXPECT_EQ(Str(NextExecutionDate(Timing("@monthly"), At("2024-12-15"))),
            "2025-01-01 00:00:00+00:00");
  EXPECT_EQ(Str(NextExecutionDate(Timing("0 9 * * mon-fri"), now)), "2024-02-01 09:00:00+00:00");
  EXPECT_EQ(Str(NextExecutionDate(Timing("@once"), now)), "none");
  EXPECT_EQ(Str(NextExecutionDate(Timing("@always_on"), now)), "none");
}

TEST(ScheduleIntervalTest, NextExecutionDateOfLandingMonthlyIsTheFirstAsInMage) {
  // Mage computes (execution date + 32 days).replace(day=1): Nov 1, not Nov 12.
  EXPECT_EQ(
      Str(NextExecutionDate(Landing("@monthly", "2024-11-12 13:14:15"), At("2023-10-11 12:13:14"))),
      "2023-11-01 13:14:15+00:00");
}

TEST(ScheduleIntervalTest, DailyTriggerIsDueForTheIntervalThatStartedAtMidnight) {
  ScheduleDecision d = DecideSchedule(Timing("@daily"), RunHistory{}, At("2024-01-04 00:00:05"));
  EXPECT_TRUE(d.due);
  EXPECT_EQ(Str(d.execution_date), "2024-01-04 00:00:00+00:00");
  EXPECT_EQ(Str(d.next_check), "2024-01-05 00:00:00+00:00");
}

TEST(ScheduleIntervalTest, OneRunPerExecutionDate) {
  ScheduleDecision d =
      DecideSchedule(Timing("@daily"), RunsAt({"2024-01-04"}), At("2024-01-04 18:00"));
  EXPECT_FALSE(d.due);
  EXPECT_EQ(Str(d.next_check), "2024-01-05 00:00:00+00:00");
}

TEST(ScheduleIntervalTest, MissedIntervalsAreNotCaughtUp) {
  // The scheduler was down from Jan 2 to Jan 4: only Jan 4's run is due.
  ScheduleDecision d =
      DecideSchedule(Timing("@daily"), RunsAt({"2024-01-01"}), At("2024-01-04 10:00"));
  EXPECT_TRUE(d.due);
  EXPECT_EQ(Str(d.execution_date), "2024-01-04 00:00:00+00:00");
}

TEST(ScheduleIntervalTest, AnIntervalStartingBeforeStartTimeIsSkipped) {
  // Mage's test_should_schedule_execution_dates: first run 2024-01-02 00:00.
  TriggerTiming timing = Timing("@daily");
  timing.start_time = At("2024-01-01 00:03:13");
  ScheduleDecision d = DecideSchedule(timing, RunHistory{}, At("2024-01-01 00:05"));
  EXPECT_FALSE(d.due);
  EXPECT_EQ(Str(d.next_check), "2024-01-02 00:00:00+00:00");
  d = DecideSchedule(timing, RunHistory{}, At("2024-01-02 00:00:00"));
  EXPECT_TRUE(d.due);
  EXPECT_EQ(Str(d.execution_date), "2024-01-02 00:00:00+00:00");
}

TEST(ScheduleIntervalTest, BeforeStartTimeTheNextCheckIsTheFirstIntervalFromIt) {
  TriggerTiming timing = Timing("@hourly");
  timing.start_time = At("2024-03-01 10:30");
  ScheduleDecision d = DecideSchedule(timing, RunHistory{}, At("2024-02-01 00:00"));
  EXPECT_FALSE(d.due);
  EXPECT_EQ(Str(d.next_check), "2024-03-01 11:00:00+00:00");
}

TEST(ScheduleIntervalTest, EnablingMidIntervalWaitsForTheNextIntervalUnlessAskedNotTo) {
  TriggerTiming timing = Timing("@daily");
  timing.last_enabled_at = At("2024-01-04 12:00");
  ScheduleDecision d = DecideSchedule(timing, RunHistory{}, At("2024-01-04 12:00:10"));
  EXPECT_FALSE(d.due);
  EXPECT_EQ(Str(d.next_check), "2024-01-05 00:00:00+00:00");

  timing.create_initial_pipeline_run = true;
  d = DecideSchedule(timing, RunHistory{}, At("2024-01-04 12:00:10"));
  EXPECT_TRUE(d.due);
  EXPECT_EQ(Str(d.execution_date), "2024-01-04 00:00:00+00:00");
}

TEST(ScheduleIntervalTest, ALegacyTriggerWithoutLastEnabledAtGetsTheCurrentInterval) {
  ScheduleDecision d = DecideSchedule(Timing("@daily"), RunHistory{}, At("2024-01-04 12:00:10"));
  EXPECT_TRUE(d.due);
  EXPECT_EQ(Str(d.execution_date), "2024-01-04 00:00:00+00:00");
}

TEST(ScheduleIntervalTest, WeeklyIntervalsStartOnMonday) {
  // 2024-01-07 is a Sunday: its week began Monday 2024-01-01.
  ScheduleDecision d =
      DecideSchedule(Timing("@weekly"), RunsAt({"2024-01-01"}), At("2024-01-07 23:00"));
  EXPECT_FALSE(d.due);
  EXPECT_EQ(Str(d.next_check), "2024-01-08 00:00:00+00:00");
}

TEST(ScheduleIntervalTest, MonthlyIntervalsStartOnTheFirst) {
  ScheduleDecision d = DecideSchedule(Timing("@monthly"), RunHistory{}, At("2024-02-29 18:00"));
  EXPECT_TRUE(d.due);
  EXPECT_EQ(Str(d.execution_date), "2024-02-01 00:00:00+00:00");
  EXPECT_EQ(Str(d.next_check), "2024-03-01 00:00:00+00:00");
}

TEST(ScheduleIntervalTest, CronTriggerIsDueJustAfterEachFireTime) {
  TriggerTiming timing = Timing("*/15 * * * *");
  ScheduleDecision d = DecideSchedule(timing, RunHistory{}, At("2024-01-01 10:07:30"));
  EXPECT_TRUE(d.due);
  EXPECT_EQ(Str(d.execution_date), "2024-01-01 10:00:00+00:00");
  // croniter still answers 10:00 at 10:15:00.000000; 10:15 is current one microsecond later.
  EXPECT_EQ(Str(d.next_check), "2024-01-01 10:15:00.000001+00:00");
  d = DecideSchedule(timing, RunsAt({"2024-01-01 10:00"}), At("2024-01-01 10:15:00"));
  EXPECT_FALSE(d.due);
  EXPECT_EQ(Str(d.next_check), "2024-01-01 10:15:00.000001+00:00");
}

TEST(ScheduleIntervalTest, OnceRunsWhileTheTriggerHasNoRuns) {
  const DateTime now = At("2024-01-04 10:11:12.345678");
  ScheduleDecision d = DecideSchedule(Timing("@once"), RunHistory{}, now);
  EXPECT_TRUE(d.due);
  EXPECT_EQ(Str(d.execution_date), "2024-01-04 10:11:12.345678+00:00");
  EXPECT_EQ(Str(d.next_check), "none");

  RunHistory one_run;
  one_run.run_count = 1;
  d = DecideSchedule(Timing("@once"), one_run, now);
  EXPECT_FALSE(d.due);
  EXPECT_EQ(Str(d.next_check), "none");

  // A streaming pipeline with three executors gets up to three runs.
  one_run.executor_count = 3;
  EXPECT_TRUE(DecideSchedule(Timing("@once"), one_run, now).due);
}

TEST(ScheduleIntervalTest, OnceWaitsForItsStartTime) {
  TriggerTiming timing = Timing("@once");
  timing.start_time = At("2024-02-01 08:00");
  ScheduleDecision d = DecideSchedule(timing, RunHistory{}, At("2024-01-04"));
  EXPECT_FALSE(d.due);
  EXPECT_EQ(Str(d.next_check), "2024-02-01 08:00:00+00:00");
  EXPECT_TRUE(DecideSchedule(timing, RunHistory{}, At("2024-02-01 08:00")).due);
}

TEST(ScheduleIntervalTest, AlwaysOnRunsWheneverTheLatestRunIsNotInProgress) {
  const DateTime now = At("2024-01-04 10:00");
  EXPECT_TRUE(DecideSchedule(Timing("@always_on"), RunHistory{}, now).due);
  RunHistory history;
  history.run_count = 4;
  history.latest_run_in_progress = true;
  EXPECT_FALSE(DecideSchedule(Timing("@always_on"), history, now).due);
  history.latest_run_in_progress = false;
  EXPECT_TRUE(DecideSchedule(Timing("@always_on"), history, now).due);
}

TEST(ScheduleIntervalTest, LandingTimeWithoutHistoryIsDueFromTheIntervalStart) {
  ScheduleDecision d = DecideSchedule(Landing("@daily", "2023-07-01 13:14:15"), RunHistory{},
                                      At("2024-01-04 00:00:30"));
  EXPECT_TRUE(d.due);
  EXPECT_EQ(Str(d.execution_date), "2024-01-04 13:14:15+00:00");
}

TEST(ScheduleIntervalTest, LandingTimeIsDueTheUsualRuntimeBeforeTheDeadline) {
  TriggerTiming timing = Landing("@daily", "2023-07-01 13:14:15");
  RunHistory history;
  history.previous_runtimes = {600, 600};  // mean 600 s, stdev 0
  ScheduleDecision d = DecideSchedule(timing, history, At("2024-01-04 12:00"));
  EXPECT_FALSE(d.due);
  EXPECT_EQ(Str(d.next_check), "2024-01-04 13:04:15+00:00");
  d = DecideSchedule(timing, history, At("2024-01-04 13:04:15"));
  EXPECT_TRUE(d.due);
  EXPECT_EQ(Str(d.execution_date), "2024-01-04 13:14:15+00:00");
}

TEST(ScheduleIntervalTest, LandingTimeLeadIsCeilMeanPlusCeilHalfStdev) {
  TriggerTiming timing = Landing("@daily", "2023-07-01 13:14:15");
  RunHistory history;
  history.previous_runtimes = {100, 200, 300};  // ceil(200) + ceil(100 / 2) = 250 s
  EXPECT_EQ(Str(DecideSchedule(timing, history, At("2024-01-04 12:00")).next_check),
            "2024-01-04 13:10:05+00:00");
  history.previous_runtimes = {100, 101};  // ceil(100.5) + ceil(0.707 / 2) = 102 s
  EXPECT_EQ(Str(DecideSchedule(timing, history, At("2024-01-04 12:00")).next_check),
            "2024-01-04 13:12:33+00:00");
  history.previous_runtimes = {90};  // one sample: no stdev term
  EXPECT_EQ(Str(DecideSchedule(timing, history, At("2024-01-04 12:00")).next_check),
            "2024-01-04 13:12:45+00:00");
}

TEST(ScheduleIntervalTest, LandingTimeRunIsCreatedOncePerDeadline) {
  TriggerTiming timing = Landing("@daily", "2023-07-01 13:14:15");
  ScheduleDecision d =
      DecideSchedule(timing, RunsAt({"2024-01-04 13:14:15"}), At("2024-01-04 15:00"));
  EXPECT_FALSE(d.due);
  EXPECT_EQ(Str(d.next_check), "2024-01-05 00:00:00+00:00");
}

project::Trigger TriggerFrom(const std::string& yaml) {
  project::TriggersFile file = project::ParseTriggers(yaml, "pipelines/p/triggers.yaml", "p");
  return file.triggers.at(0);
}

TEST(ScheduleIntervalTest, TimingOfATriggerValidatesItsInterval) {
  project::Trigger bad = TriggerFrom(
      "triggers:\n- name: every_minute\n  schedule_type: time\n"
      "  schedule_interval: '*/0 * * * *'\n");
  try {
    TimingOf(bad);
    FAIL() << "expected CronError";
  } catch (const CronError& e) {
    EXPECT_STREQ(e.what(),
                 "pipelines/p/triggers.yaml:4: trigger 'every_minute': schedule_interval: cron "
                 "'*/0 * * * *': minute field: step 0 is not allowed");
  }
}

TEST(ScheduleIntervalTest, TimingOfATriggerWithoutIntervalIsNone) {
  EXPECT_FALSE(TimingOf(TriggerFrom("triggers:\n- name: hook\n  schedule_type: api\n")));
}

TEST(ScheduleIntervalTest, TimingOfATriggerCarriesItsSchedulingFields) {
  // An api trigger with an interval is scheduled by time too (spec 2.2 note), without landing.
  std::optional<TriggerTiming> timing = TimingOf(
      TriggerFrom("triggers:\n- name: t\n  schedule_type: api\n  schedule_interval: '@daily'\n"
                  "  start_time: 2024-01-01\n  last_enabled_at: 2024-01-02 03:04:05\n"
                  "  settings: {create_initial_pipeline_run: true, landing_time_enabled: true}\n"));
  ASSERT_TRUE(timing);
  EXPECT_EQ(timing->interval.kind(), IntervalKind::kDaily);
  EXPECT_EQ(Str(timing->start_time), "2024-01-01 00:00:00+00:00");
  EXPECT_EQ(Str(timing->last_enabled_at), "2024-01-02 03:04:05+00:00");
  EXPECT_TRUE(timing->create_initial_pipeline_run);
  EXPECT_FALSE(timing->landing_time);
}

}  // namespace
}  // namespace kiln::orchestration
