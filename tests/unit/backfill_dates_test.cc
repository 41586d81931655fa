// The execution dates of a date-range backfill (spec 4.2): inclusive of both ends, calendar
// months and years as dateutil's relativedelta adds them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kiln/orchestration/backfill_dates.h"
#include "kiln/orchestration/error.h"

namespace kiln::orchestration {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

DateTime At(const std::string& text) {
  return DateTime::Parse(text).value();
}

std::vector<std::string> Dates(const std::string& start, const std::string& end,
                               const std::string& type, int64_t units) {
  std::vector<std::string> out;
  for (const DateTime& d :
       BackfillDates(At(start), At(end), ParseBackfillIntervalType(type), units))
    out.push_back(d.ToString());
  return out;
}

std::string Error(const std::string& start, const std::string& end, const std::string& type,
                  int64_t units, size_t max_runs = kMaxBackfillRuns) {
  try {
    BackfillDates(At(start), At(end), ParseBackfillIntervalType(type), units, max_runs);
  } catch (const BackfillError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(BackfillDatesTest, JanuaryFirstToFifthDailyGivesFiveDates) {
  EXPECT_THAT(Dates("2024-01-01", "2024-01-05", "day", 1),
              ElementsAre("2024-01-01 00:00:00", "2024-01-02 00:00:00", "2024-01-03 00:00:00",
                          "2024-01-04 00:00:00", "2024-01-05 00:00:00"));
}

TEST(BackfillDatesTest, TheEndDateIsIncludedWhenAStepLandsOnIt) {
  // Mage's docs table (Jan 1 03:00 to Jan 5 03:00, every 2 days) omits Jan 5; the code has it.
  EXPECT_THAT(Dates("2024-01-01 03:00", "2024-01-05 03:00", "day", 2),
              ElementsAre("2024-01-01 03:00:00", "2024-01-03 03:00:00", "2024-01-05 03:00:00"));
  EXPECT_THAT(Dates("2024-01-01 03:00", "2024-01-05 02:59:59", "day", 2),
              ElementsAre("2024-01-01 03:00:00", "2024-01-03 03:00:00"));
}

TEST(BackfillDatesTest, HourlyStepsKeepTheStartMinute) {
  EXPECT_THAT(Dates("2024-01-01 22:30", "2024-01-02 02:00", "hour", 1),
              ElementsAre("2024-01-01 22:30:00", "2024-01-01 23:30:00", "2024-01-02 00:30:00",
                          "2024-01-02 01:30:00"));
  EXPECT_THAT(Dates("2024-01-01 00:00", "2024-01-01 05:00", "hour", 2),
              ElementsAre("2024-01-01 00:00:00", "2024-01-01 02:00:00", "2024-01-01 04:00:00"));
}

TEST(BackfillDatesTest, WeeklyStepsAreSevenDays) {
  EXPECT_THAT(Dates("2024-01-01", "2024-01-29", "week", 1),
              ElementsAre("2024-01-01 00:00:00", "2024-01-08 00:00:00", "2024-01-15 00:00:00",
                          "2024-01-22 00:00:00", "2024-01-29 00:00:00"));
}

TEST(BackfillDatesTest, SecondMinuteAndCustomSteps) {
  EXPECT_THAT(Dates("2024-01-01 00:00:00", "2024-01-01 00:00:25", "second", 10),
              ElementsAre("2024-01-01 00:00:00", "2024-01-01 00:00:10", "2024-01-01 00:00:20"));
  EXPECT_EQ(Dates("2024-01-01 00:00:00", "2024-01-01 00:00:25", "custom", 10),
            Dates("2024-01-01 00:00:00", "2024-01-01 00:00:25", "second", 10));
  EXPECT_THAT(Dates("2024-01-01 00:00", "2024-01-01 00:45", "minute", 15),
              ElementsAre("2024-01-01 00:00:00", "2024-01-01 00:15:00", "2024-01-01 00:30:00",
                          "2024-01-01 00:45:00"));
}

TEST(BackfillDatesTest, MonthlyFromJanuary31stClampsAndTheClampedDayStays) {
  // relativedelta adds to the previous date: Feb 29, then Mar 29 (not Mar 31).
  EXPECT_THAT(Dates("2024-01-31 06:00", "2024-05-31 06:00", "month", 1),
              ElementsAre("2024-01-31 06:00:00", "2024-02-29 06:00:00", "2024-03-29 06:00:00",
                          "2024-04-29 06:00:00", "2024-05-29 06:00:00"));
  EXPECT_THAT(Dates("2023-01-31", "2023-03-31", "month", 1),
              ElementsAre("2023-01-31 00:00:00", "2023-02-28 00:00:00", "2023-03-28 00:00:00"));
}

TEST(BackfillDatesTest, MonthStepsOfSeveralUnitsCrossYears) {
  EXPECT_THAT(Dates("2023-11-15", "2024-06-01", "month", 3),
              ElementsAre("2023-11-15 00:00:00", "2024-02-15 00:00:00", "2024-05-15 00:00:00"));
}

TEST(BackfillDatesTest, YearlyFromFebruary29thFallsBackTo28th) {
  EXPECT_THAT(Dates("2024-02-29", "2028-03-01", "year", 1),
              ElementsAre("2024-02-29 00:00:00", "2025-02-28 00:00:00", "2026-02-28 00:00:00",
                          "2027-02-28 00:00:00", "2028-02-28 00:00:00"));
}

TEST(BackfillDatesTest, StartEqualToEndGivesOneDate) {
  EXPECT_THAT(Dates("2024-01-01", "2024-01-01", "day", 1), ElementsAre("2024-01-01 00:00:00"));
  EXPECT_THAT(Dates("2024-01-01", "2024-01-01", "month", 1), ElementsAre("2024-01-01 00:00:00"));
}

TEST(BackfillDatesTest, AStepLongerThanTheRangeGivesTheStartOnly) {
  EXPECT_THAT(Dates("2024-01-01", "2024-01-05", "week", 1), ElementsAre("2024-01-01 00:00:00"));
  EXPECT_THAT(Dates("2024-01-01", "2024-12-31", "year", 1'000'000),
              ElementsAre("2024-01-01 00:00:00"));
  EXPECT_THAT(Dates("2024-01-01", "2024-12-31", "day", int64_t{1} << 62),
              ElementsAre("2024-01-01 00:00:00"));
}

TEST(BackfillDatesTest, DatesKeepTheStartsUtcOffset) {
  EXPECT_THAT(Dates("2024-01-01 00:00+02:00", "2024-01-01 00:00:00Z", "hour", 1),
              ElementsAre("2024-01-01 00:00:00+02:00", "2024-01-01 01:00:00+02:00",
                          "2024-01-01 02:00:00+02:00"));
}

TEST(BackfillDatesTest, EndBeforeStartIsRefused) {
  EXPECT_EQ(Error("2024-01-05", "2024-01-01", "day", 1),
            "backfill end_datetime 2024-01-01 00:00:00 is before start_datetime 2024-01-05 "
            "00:00:00");
}

TEST(BackfillDatesTest, UnitsBelowOneAreRefused) {
  EXPECT_EQ(Error("2024-01-01", "2024-01-05", "day", 0),
            "backfill interval_units must be a whole number of at least 1, not 0");
  EXPECT_THAT(Error("2024-01-01", "2024-01-05", "month", -1), HasSubstr("not -1"));
}

TEST(BackfillDatesTest, UnknownIntervalTypesAreRefused) {
  try {
    ParseBackfillIntervalType("fortnight");
    FAIL() << "expected BackfillError";
  } catch (const BackfillError& e) {
    EXPECT_STREQ(e.what(),
                 "unknown backfill interval_type 'fortnight' (expected second, minute, hour, "
                 "day, week, month, year or custom)");
  }
  EXPECT_THROW(ParseBackfillIntervalType("Day"), BackfillError);
}

TEST(BackfillDatesTest, MoreThanOneHundredThousandRunsAreRefused) {
  EXPECT_EQ(Error("2024-01-01", "2024-01-03", "second", 1),
            "backfill from 2024-01-01 00:00:00 to 2024-01-03 00:00:00 every 1 second(s) would "
            "create more than 100,000 runs; narrow the dates or widen the interval");
  EXPECT_THAT(Error("0001-01-01", "9999-12-31", "month", 1), HasSubstr("more than 100,000 runs"));
  // 100,000 exactly is allowed: one every minute for 99,999 minutes after the start.
  EXPECT_EQ(BackfillDates(At("2024-01-01"), At("2024-01-01").AddMicros(99'999LL * 60'000'000),
                          BackfillIntervalType::kMinute, 1)
                .size(),
            100'000u);
}

TEST(BackfillDatesTest, TheCapCountsCalendarStepsExactly) {
  // Four monthly dates: a cap of four allows them, three refuses.
  EXPECT_EQ(
      BackfillDates(At("2024-01-31"), At("2024-04-30"), BackfillIntervalType::kMonth, 1, 4).size(),
      4u);
  EXPECT_THAT(Error("2024-01-31", "2024-04-30", "month", 1, 3), HasSubstr("more than 3 runs"));
}

TEST(BackfillDatesTest, IntervalTypeNamesRoundTrip) {
  for (const char* name : {"second", "minute", "hour", "day", "week", "month", "year", "custom"})
    EXPECT_EQ(BackfillIntervalTypeName(ParseBackfillIntervalType(name)), name);
}

}  // namespace
}  // namespace kiln::orchestration
