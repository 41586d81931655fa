// Cron expressions as Mage (croniter) reads them: fire times in UTC, croniter's quirks, errors.
// Expected fire times were computed by a brute-force scan over minutes in Python (datetime),
// with croniter's field rules; tests/data/cron_reference.tsv holds 400 more such cases.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "kiln/orchestration/cron.h"
#include "kiln/orchestration/error.h"

namespace kiln::orchestration {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// "YYYY-MM-DD HH:MM[:SS[.ffffff]][offset]" as an instant; naive text is UTC.
DateTime At(const std::string& text) {
  return DateTime::Parse(text).value();
}

std::string Minute(const DateTime& t) {
  return t.Strftime("%Y-%m-%d %H:%M");
}

// The first `n` fire times after `from`.
std::vector<std::string> Fires(const std::string& expression, const std::string& from, int n) {
  CronSchedule cron = CronSchedule::Parse(expression);
  std::vector<std::string> out;
  DateTime t = At(from);
  for (int i = 0; i < n; ++i) {
    t = cron.Next(t);
    out.push_back(Minute(t));
  }
  return out;
}

std::string ParseError(const std::string& expression) {
  try {
    CronSchedule::Parse(expression);
  } catch (const CronError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(CronTest, StepInMinuteFieldFiresEveryFifteenMinutes) {
  EXPECT_THAT(
      Fires("*/15 * * * *", "2024-01-01 10:07", 4),
      ElementsAre("2024-01-01 10:15", "2024-01-01 10:30", "2024-01-01 10:45", "2024-01-01 11:00"));
}

TEST(CronTest, NextIsStrictlyAfterTheGivenTimeAtMinutePrecision) {
  CronSchedule every_minute = CronSchedule::Parse("* * * * *");
  EXPECT_EQ(Minute(every_minute.Next(At("2024-01-01 12:00:00"))), "2024-01-01 12:01");
  EXPECT_EQ(Minute(every_minute.Next(At("2024-01-01 12:00:00.000001"))), "2024-01-01 12:01");
  EXPECT_EQ(Minute(every_minute.Next(At("2024-01-01 12:00:59"))), "2024-01-01 12:01");
}

TEST(CronTest, ResultsAreAwareUtcOnWholeMinutes) {
  DateTime next = CronSchedule::Parse("0 12 * * *").Next(At("2024-01-01 13:30:00+02:00"));
  EXPECT_EQ(next.ToString(), "2024-01-01 12:00:00+00:00");  // 13:30+02:00 is 11:30 UTC
}

TEST(CronTest, RangeWithStepAndListsSelectThoseValues) {
  EXPECT_THAT(Fires("10-30/10 9,17 * * *", "2024-01-01 09:15", 5),
              ElementsAre("2024-01-01 09:20", "2024-01-01 09:30", "2024-01-01 17:10",
                          "2024-01-01 17:20", "2024-01-01 17:30"));
}

TEST(CronTest, ValueWithStepRunsToTheEndOfTheField) {
  EXPECT_THAT(
      Fires("10/20 * * * *", "2024-01-01 00:00", 4),
      ElementsAre("2024-01-01 00:10", "2024-01-01 00:30", "2024-01-01 00:50", "2024-01-01 01:10"));
}

TEST(CronTest, MonthAndWeekdayNamesAreCaseInsensitive) {
  EXPECT_EQ(Fires("0 0 * JaN mOn", "2024-01-01", 3), Fires("0 0 * 1 1", "2024-01-01", 3));
  EXPECT_THAT(Fires("0 0 * jan MON", "2024-01-01", 3),
              ElementsAre("2024-01-08 00:00", "2024-01-15 00:00", "2024-01-22 00:00"));
}

TEST(CronTest, WeekdaySevenAndZeroAreBothSunday) {
  EXPECT_THAT(Fires("0 0 * * 7", "2024-01-01", 1), ElementsAre("2024-01-07 00:00"));
  EXPECT_EQ(Fires("0 0 * * 7", "2024-01-01", 5), Fires("0 0 * * 0", "2024-01-01", 5));
  EXPECT_EQ(Fires("0 0 * * 7", "2024-01-01", 5), Fires("0 0 * * sun", "2024-01-01", 5));
}

TEST(CronTest, DayThirtyOneSkipsMonthsWithoutIt) {
  EXPECT_THAT(Fires("0 0 31 * *", "2024-01-31", 3),
              ElementsAre("2024-03-31 00:00", "2024-05-31 00:00", "2024-07-31 00:00"));
}

TEST(CronTest, FebruaryTwentyNinthFiresOnlyInLeapYears) {
  EXPECT_THAT(Fires("0 0 29 2 *", "2023-01-01", 2),
              ElementsAre("2024-02-29 00:00", "2028-02-29 00:00"));
  // 2100 is not a leap year: eight years pass.
  EXPECT_THAT(Fires("0 0 29 2 *", "2096-02-29", 1), ElementsAre("2104-02-29 00:00"));
}

TEST(CronTest, YearRollsOver) {
  EXPECT_THAT(Fires("59 23 31 12 *", "2024-12-31 23:59", 1), ElementsAre("2025-12-31 23:59"));
  EXPECT_THAT(Fires("0 0 1 1 *", "2024-06-15", 1), ElementsAre("2025-01-01 00:00"));
}

TEST(CronTest, DayOfMonthOrDayOfWeekWhenBothAreRestricted) {
  // Fridays, and the 13th whatever its weekday (Oct 13 2024 is a Sunday).
  EXPECT_THAT(
      Fires("0 0 13 * 5", "2024-09-01", 8),
      ElementsAre("2024-09-06 00:00", "2024-09-13 00:00", "2024-09-20 00:00", "2024-09-27 00:00",
                  "2024-10-04 00:00", "2024-10-11 00:00", "2024-10-13 00:00", "2024-10-18 00:00"));
}

TEST(CronTest, AStarInOneDayFieldLeavesTheOtherAlone) {
  EXPECT_THAT(Fires("0 0 13 * *", "2024-09-01", 2),
              ElementsAre("2024-09-13 00:00", "2024-10-13 00:00"));
  EXPECT_THAT(Fires("0 0 * * 5", "2024-09-01", 2),
              ElementsAre("2024-09-06 00:00", "2024-09-13 00:00"));
  EXPECT_EQ(Fires("0 0 13 * *,1", "2024-09-01", 3), Fires("0 0 13 * *", "2024-09-01", 3));
}

TEST(CronTest, DayOfMonthListingEveryDayStillOrsWithAWeekdayAsCroniterDoes) {
  // croniter keeps 1-31 (and */1) restricted when day-of-week has no '*': every day fires.
  EXPECT_THAT(Fires("0 0 1-31 * 1", "2024-09-01", 3),
              ElementsAre("2024-09-02 00:00", "2024-09-03 00:00", "2024-09-04 00:00"));
  EXPECT_EQ(Fires("0 0 */1 * 1", "2024-09-01", 3), Fires("0 0 1-31 * 1", "2024-09-01", 3));
  // ... but 1-31 with a '*' in day-of-week is plain '*': only the weekdays of */2 fire.
  EXPECT_EQ(Fires("0 0 1-31 * */2", "2024-09-01", 4), Fires("0 0 * * 0,2,4,6", "2024-09-01", 4));
}

TEST(CronTest, RangeWithEqualBoundsIsTheWholeFieldAsInCroniter) {
  EXPECT_THAT(Fires("0 5-5 * * *", "2024-01-01 10:30", 3),
              ElementsAre("2024-01-01 11:00", "2024-01-01 12:00", "2024-01-01 13:00"));
}

TEST(CronTest, BackwardsRangesWrapAround) {
  EXPECT_THAT(Fires("0 22-2 * * *", "2024-01-01 12:00", 6),
              ElementsAre("2024-01-01 22:00", "2024-01-01 23:00", "2024-01-02 00:00",
                          "2024-01-02 01:00", "2024-01-02 02:00", "2024-01-02 22:00"));
  // 2024-09-01 is a Sunday.
  EXPECT_THAT(Fires("0 0 * * FRI-MON", "2024-09-01", 5),
              ElementsAre("2024-09-02 00:00", "2024-09-06 00:00", "2024-09-07 00:00",
                          "2024-09-08 00:00", "2024-09-09 00:00"));
}

TEST(CronTest, BackwardsRangeWithStepRestartsWhereCroniterDoes) {
  // 50,53,56,59 then croniter restarts at 3 (not 2): 3,6,9.
  EXPECT_THAT(
      Fires("50-10/3 * * * *", "2024-01-01 00:49", 8),
      ElementsAre("2024-01-01 00:50", "2024-01-01 00:53", "2024-01-01 00:56", "2024-01-01 00:59",
                  "2024-01-01 01:03", "2024-01-01 01:06", "2024-01-01 01:09", "2024-01-01 01:50"));
}

TEST(CronTest, ARangeBoundIsCheckedOnlyAgainstTheFieldMaximumAsInCroniter) {
  // croniter reads `9-0` in the month field as September to December (the wrap yields nothing),
  // but refuses a range that yields month 0 or day 0.
  EXPECT_EQ(Fires("0 0 1 9-0 *", "2024-01-01", 5), Fires("0 0 1 9-12 *", "2024-01-01", 5));
  EXPECT_EQ(ParseError("0 0 0-5 * *"),
            "cron '0 0 0-5 * *': day-of-month field: 0 is out of range 1-31");
  EXPECT_EQ(ParseError("0 0 0/5 * *"),
            "cron '0 0 0/5 * *': day-of-month field: 0 is out of range 1-31");
}

TEST(CronTest, AliasesAreCroniters) {
  EXPECT_THAT(Fires("@weekly", "2024-01-01", 2),
              ElementsAre("2024-01-07 00:00", "2024-01-14 00:00"));  // Sundays
  EXPECT_EQ(Fires("@yearly", "2024-06-01", 2), Fires("0 0 1 1 *", "2024-06-01", 2));
  EXPECT_EQ(Fires("@Annually", "2024-06-01", 2), Fires("0 0 1 1 *", "2024-06-01", 2));
  EXPECT_EQ(Fires("@midnight", "2024-06-01", 2), Fires("0 0 * * *", "2024-06-01", 2));
  EXPECT_EQ(Fires("@monthly", "2024-06-01", 2), Fires("0 0 1 * *", "2024-06-01", 2));
}

TEST(CronTest, WhitespaceBetweenFieldsIsFlexible) {
  EXPECT_EQ(Fires("  0\t12  * * *  ", "2024-01-01", 2), Fires("0 12 * * *", "2024-01-01", 2));
}

TEST(CronTest, PreviousIncludesAFireTimeEqualToItsArgument) {
  CronSchedule noon = CronSchedule::Parse("0 12 * * *");
  EXPECT_EQ(Minute(noon.Previous(At("2024-03-05 12:00:00"))), "2024-03-05 12:00");
  EXPECT_EQ(Minute(noon.Previous(At("2024-03-05 11:59:59"))), "2024-03-04 12:00");
  // croniter's get_prev(now) never returns now: Previous(now - 1 microsecond).
  EXPECT_EQ(Minute(noon.Previous(At("2024-03-05 12:00:00").AddMicros(-1))), "2024-03-04 12:00");
}

TEST(CronTest, PreviousCrossesMonthAndYearBoundaries) {
  EXPECT_EQ(Minute(CronSchedule::Parse("0 0 1 1 *").Previous(At("2024-06-01"))),
            "2024-01-01 00:00");
  EXPECT_EQ(Minute(CronSchedule::Parse("30 6 31 * *").Previous(At("2024-05-01"))),
            "2024-03-31 06:30");
  EXPECT_EQ(Minute(CronSchedule::Parse("0 0 25 12 *").Previous(At("2024-12-24 23:59"))),
            "2023-12-25 00:00");
}

TEST(CronTest, PreviousFindsFebruaryTwentyNinthFromMarchUnlikeCroniter) {
  // croniter's get_prev returns 2024-01-29 here (it takes February as 28 days long).
  EXPECT_EQ(Minute(CronSchedule::Parse("0 0 29 * *").Previous(At("2024-03-05"))),
            "2024-02-29 00:00");
}

TEST(CronTest, NextDoesNotSkipTheFirstOfAMonthUnlikeCroniter) {
  // croniter's get_next returns 2023-03-31 here (it looks for day 31 in February first).
  EXPECT_THAT(Fires("0 0 1,31 * *", "2023-02-15", 2),
              ElementsAre("2023-03-01 00:00", "2023-03-31 00:00"));
}

TEST(CronTest, MatchesAgreesWithNextOverAWeekOfMinutes) {
  for (const char* expression : {"*/7 9-17 * * mon-fri", "0 0 13 * 5", "15 22-2 * * *"}) {
    CronSchedule cron = CronSchedule::Parse(expression);
    DateTime t = At("2024-09-10 00:00");
    DateTime next = cron.Next(t);
    for (int i = 0; i < 7 * 1440; ++i) {
      t = t.AddMicros(60'000'000);
      if (cron.Matches(t)) {
        ASSERT_EQ(Minute(t), Minute(next)) << expression;
        next = cron.Next(t);
      }
      ASSERT_LT(t.utc_micros(), next.utc_micros()) << expression << " skipped " << Minute(next);
    }
  }
}

// One row of tests/data/cron_reference.tsv.
struct ReferenceCase {
  std::string expression, t, next, previous;
};

std::vector<ReferenceCase> ReadReference() {
  std::filesystem::path dir = KILN_TEST_DATA_DEFAULT;
  if (const char* env = std::getenv("KILN_TEST_DATA"); env && *env) dir = env;
  std::ifstream in(dir / "cron_reference.tsv");
  std::vector<ReferenceCase> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    ReferenceCase c;
    size_t a = line.find('\t'), b = line.find('\t', a + 1), d = line.find('\t', b + 1);
    c.expression = line.substr(0, a);
    c.t = line.substr(a + 1, b - a - 1);
    c.next = line.substr(b + 1, d - b - 1);
    c.previous = line.substr(d + 1);
    cases.push_back(c);
  }
  return cases;
}

TEST(CronTest, MatchesTheReferenceTable) {
  std::vector<ReferenceCase> cases = ReadReference();
  ASSERT_EQ(cases.size(), 400u);
  for (const ReferenceCase& c : cases) {
    SCOPED_TRACE("cron '" + c.expression + "' at " + c.t);
    CronSchedule cron = CronSchedule::Parse(c.expression);
    EXPECT_EQ(Minute(cron.Next(At(c.t))), c.next);
    EXPECT_EQ(Minute(cron.Previous(At(c.t))), c.previous);
  }
}

TEST(CronTest, StepZeroIsRefusedNamingTheField) {
  EXPECT_EQ(ParseError("*/0 * * * *"), "cron '*/0 * * * *': minute field: step 0 is not allowed");
  EXPECT_EQ(ParseError("0 1-5/0 * * *"), "cron '0 1-5/0 * * *': hour field: step 0 is not allowed");
}

TEST(CronTest, ValuesOutOfRangeAreRefused) {
  EXPECT_EQ(ParseError("0 24 * * *"), "cron '0 24 * * *': hour field: 24 is out of range 0-23");
  EXPECT_EQ(ParseError("0 0 0 * *"),
            "cron '0 0 0 * *': day-of-month field: 0 is out of range 1-31");
  EXPECT_EQ(ParseError("0 0 * 13 *"), "cron '0 0 * 13 *': month field: 13 is out of range 1-12");
  EXPECT_EQ(ParseError("0 0 * * 8"), "cron '0 0 * * 8': day-of-week field: 8 is out of range 0-7");
  EXPECT_EQ(ParseError("0 0 * * 1-8"),
            "cron '0 0 * * 1-8': day-of-week field: 8 is out of range 0-7");
  EXPECT_EQ(ParseError("60 * * * *"), "cron '60 * * * *': minute field: 60 is out of range 0-59");
}

TEST(CronTest, UnknownNamesAndWordsAreRefused) {
  EXPECT_EQ(ParseError("0 0 * foo *"),
            "cron '0 0 * foo *': month field: 'foo' is neither a number nor a month name "
            "(jan-dec)");
  EXPECT_EQ(ParseError("0 0 * * jan"),
            "cron '0 0 * * jan': day-of-week field: 'jan' is neither a number nor a weekday name "
            "(sun-sat)");
  EXPECT_EQ(ParseError("0 noon * * *"), "cron '0 noon * * *': hour field: 'noon' is not a number");
  EXPECT_EQ(ParseError("*/x * * * *"),
            "cron '*/x * * * *': minute field: step 'x' is not a number");
}

TEST(CronTest, MalformedItemsAreRefused) {
  EXPECT_THAT(ParseError("-5 * * * *"), HasSubstr("minute field: negative numbers"));
  EXPECT_THAT(ParseError("1,,2 * * * *"), HasSubstr("minute field: empty list item"));
  EXPECT_THAT(ParseError("1-2-3 * * * *"), HasSubstr("minute field: '1-2-3' is not a valid range"));
  EXPECT_THAT(ParseError("5- * * * *"), HasSubstr("minute field: '5-' is not a valid range"));
}

TEST(CronTest, WrongNumberOfFieldsIsRefused) {
  EXPECT_EQ(ParseError("0 0 * *"),
            "cron '0 0 * *': expected 5 fields (minute hour day-of-month month day-of-week), got "
            "4");
  EXPECT_THAT(ParseError(""), HasSubstr("got 0"));
  EXPECT_THAT(ParseError("@fortnightly"), HasSubstr("got 1"));
}

TEST(CronTest, SecondsAndYearFormsAreRefused) {
  EXPECT_THAT(ParseError("0 0 * * * 30"), HasSubstr("6-field expressions (with seconds) are not"));
  EXPECT_THAT(ParseError("0 0 * * * 30 2030"),
              HasSubstr("7-field expressions (with seconds and year) are not"));
}

TEST(CronTest, QuartzAndJenkinsExtensionsAreRefused) {
  EXPECT_EQ(ParseError("0 0 L * *"),
            "cron '0 0 L * *': day-of-month field: 'L' (last) is not supported");
  EXPECT_THAT(ParseError("0 0 * * 5L"), HasSubstr("day-of-week field: 'L' (last)"));
  EXPECT_THAT(ParseError("0 0 15W * *"), HasSubstr("day-of-month field: 'W' (nearest weekday)"));
  EXPECT_THAT(ParseError("0 0 * * 1#2"), HasSubstr("day-of-week field: '#' (nth weekday"));
  EXPECT_THAT(ParseError("0 0 ? * 1"), HasSubstr("day-of-month field: '?' is not supported"));
  EXPECT_THAT(ParseError("H * * * *"), HasSubstr("minute field: 'H' (hashed values)"));
  EXPECT_THAT(ParseError("H/5 * * * *"), HasSubstr("minute field: 'H' (hashed values)"));
  EXPECT_THAT(ParseError("R * * * *"), HasSubstr("minute field: 'R' (random values)"));
}

TEST(CronTest, ExpressionsThatNeverFireAreRefused) {
  EXPECT_EQ(ParseError("0 0 31 2 *"),
            "cron '0 0 31 2 *': never fires: no day in day-of-month '31' exists in month '2'");
  EXPECT_THAT(ParseError("0 0 30,31 feb *"), HasSubstr("never fires"));
  EXPECT_THAT(ParseError("0 0 31 4,6,9,11 *"), HasSubstr("never fires"));
  // croniter fails on these too, even though the weekday alone would fire.
  EXPECT_THAT(ParseError("0 0 31 2 1"), HasSubstr("croniter, which Mage uses, fails"));
  EXPECT_NO_THROW(CronSchedule::Parse("0 0 29 2 *"));
  EXPECT_NO_THROW(CronSchedule::Parse("0 0 31 1-2 *"));
}

}  // namespace
}  // namespace kiln::orchestration
