// Python-style datetimes and Mage's name cleaning.
#include <gtest/gtest.h>

#include "kiln/common/datetime.h"
#include "kiln/common/names.h"

namespace kiln {
namespace {

TEST(DateTimeTest, ParsesIsoDatesAndDatetimes) {
  EXPECT_EQ(DateTime::Parse("2021-01-01")->ToString(), "2021-01-01 00:00:00");
  EXPECT_EQ(DateTime::Parse("2021-01-01T06:30")->ToString(), "2021-01-01 06:30:00");
  EXPECT_EQ(DateTime::Parse("2021-01-01 06:30:05.25")->ToString(), "2021-01-01 06:30:05.250000");
  EXPECT_EQ(DateTime::Parse("2021-01-01T00:00:00Z")->ToString(), "2021-01-01 00:00:00+00:00");
  EXPECT_EQ(DateTime::Parse("2021-01-01T00:00:00+05:30")->utc_offset_minutes(), 330);
}

TEST(DateTimeTest, RejectsInvalidText) {
  EXPECT_FALSE(DateTime::Parse("2021-02-30"));
  EXPECT_FALSE(DateTime::Parse("yesterday"));
  EXPECT_FALSE(DateTime::Parse("2021-01-01T25:00"));
}

TEST(DateTimeTest, StrftimeFollowsPython) {
  DateTime d = *DateTime::Parse("2021-01-05T07:08:09");
  EXPECT_EQ(d.Strftime("%Y/%m/%d"), "2021/01/05");
  EXPECT_EQ(d.Strftime("%Y%m%dT%H%M%S"), "20210105T070809");
  EXPECT_EQ(d.Strftime("%a %A %b %B %j %p %I %y %%"), "Tue Tuesday Jan January 005 AM 07 21 %");
  EXPECT_EQ(d.weekday(), 1);
  EXPECT_EQ(d.IsoFormat(), "2021-01-05T07:08:09");
}

TEST(DateTimeTest, DatesBeforeTheEpochWork) {
  DateTime d = *DateTime::Parse("1969-12-31T23:59:59");
  EXPECT_EQ(d.ToString(), "1969-12-31 23:59:59");
  EXPECT_EQ(d.weekday(), 2);
}

TEST(NamesTest, CleanNameMatchesMage) {
  EXPECT_EQ(CleanName("Load API data"), "load_api_data");
  EXPECT_EQ(CleanName("2fast"), "letter_2fast");
  EXPECT_EQ(CleanName("VendorID"), "vendorid");
  EXPECT_EQ(CleanName("a\"b$c"), "abc");
  EXPECT_EQ(CleanName("api/load_stripe"), "api_load_stripe");
  EXPECT_EQ(CleanName("api/load_stripe", "/"), "api/load_stripe");
}

TEST(NamesTest, QuotingDoublesEmbeddedQuotes) {
  EXPECT_EQ(QuoteIdentifier("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");
}

}  // namespace
}  // namespace kiln
