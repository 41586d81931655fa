#include "kiln/orchestration/backfill_dates.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "kiln/common/text.h"
#include "kiln/orchestration/error.h"

namespace kiln::orchestration {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;

constexpr std::array<std::pair<std::string_view, BackfillIntervalType>, 8> kTypes = {{
    {"second", BackfillIntervalType::kSecond},
    {"minute", BackfillIntervalType::kMinute},
    {"hour", BackfillIntervalType::kHour},
    {"day", BackfillIntervalType::kDay},
    {"week", BackfillIntervalType::kWeek},
    {"month", BackfillIntervalType::kMonth},
    {"year", BackfillIntervalType::kYear},
    {"custom", BackfillIntervalType::kCustom},
}};

// The length of one unit of a fixed-length interval type, in microseconds.
int64_t UnitMicros(BackfillIntervalType type) {
  switch (type) {
    case BackfillIntervalType::kMinute:
      return 60 * kMicrosPerSecond;
    case BackfillIntervalType::kHour:
      return 3600 * kMicrosPerSecond;
    case BackfillIntervalType::kDay:
      return 86'400 * kMicrosPerSecond;
    case BackfillIntervalType::kWeek:
      return 7 * 86'400 * kMicrosPerSecond;
    default:  // second, custom
      return kMicrosPerSecond;
  }
}

int DaysInMonth(int64_t year, int month) {
  std::chrono::year_month_day_last last{std::chrono::year{static_cast<int>(year)} /
                                        std::chrono::month{static_cast<unsigned>(month)} /
                                        std::chrono::last};
  return static_cast<int>(static_cast<unsigned>(last.day()));
}

// `d` plus `months` calendar months, the day clamped to the month's length
// (relativedelta). nullopt past year 9999, Python's last year (so beyond any end date).
std::optional<DateTime> AddMonths(const DateTime& d, int64_t months) {
  int64_t total = int64_t{d.year()} * 12 + (d.month() - 1) + months;
  int64_t year = total / 12;
  int month = static_cast<int>(total % 12) + 1;
  if (year > 9999) return std::nullopt;
  int day = std::min(d.day(), DaysInMonth(year, month));
  DateTime wall = DateTime::FromParts(static_cast<int>(year), month, day, d.hour(), d.minute(),
                                      d.second(), d.microsecond());
  return DateTime(wall.wall_micros(), d.utc_offset_minutes());
}

[[noreturn]] void TooMany(const DateTime& start, const DateTime& end, BackfillIntervalType type,
                          int64_t units, size_t max_runs) {
  throw BackfillError("backfill from " + start.ToString() + " to " + end.ToString() + " every " +
                      std::to_string(units) + " " + std::string(BackfillIntervalTypeName(type)) +
                      "(s) would create more than " + GroupThousands(max_runs) +
                      " runs; narrow the dates or widen the interval");
}

}  // namespace

BackfillIntervalType ParseBackfillIntervalType(std::string_view name) {
  for (const auto& [spelling, type] : kTypes)
    if (name == spelling) return type;
  throw BackfillError("unknown backfill interval_type '" + std::string(name) +
                      "' (expected second, minute, hour, day, week, month, year or custom)");
}

std::string_view BackfillIntervalTypeName(BackfillIntervalType type) {
  for (const auto& [spelling, t] : kTypes)
    if (t == type) return spelling;
  return "day";
}

std::vector<DateTime> BackfillDates(const DateTime& start, const DateTime& end,
                                    BackfillIntervalType type, int64_t units, size_t max_runs) {
  if (units < 1) {
    throw BackfillError("backfill interval_units must be a whole number of at least 1, not " +
                        std::to_string(units));
  }
  if (end.utc_micros() < start.utc_micros()) {
    throw BackfillError("backfill end_datetime " + end.ToString() + " is before start_datetime " +
                        start.ToString());
  }
  const int64_t span = end.utc_micros() - start.utc_micros();
  std::vector<DateTime> dates;
  if (type == BackfillIntervalType::kMonth || type == BackfillIntervalType::kYear) {
    int64_t step_months = type == BackfillIntervalType::kYear ? 12 : 1;
    if (units > 12 * 10'000 / step_months) return {start};  // the first step leaves year 9999
    step_months *= units;
    // A lower bound on the count (dates before end's month are all in range, give or take a
    // month of UTC offset), to refuse huge ranges without stepping through them.
    int64_t months_between =
        (int64_t{end.year()} - start.year()) * 12 + end.month() - start.month();
    if (months_between > 0 && static_cast<uint64_t>((months_between - 1) / step_months) > max_runs)
      TooMany(start, end, type, units, max_runs);
    for (std::optional<DateTime> d = start; d && d->utc_micros() <= end.utc_micros();
         d = AddMonths(*d, step_months)) {
      if (dates.size() == max_runs) TooMany(start, end, type, units, max_runs);
      dates.push_back(*d);
    }
    return dates;
  }
  const int64_t unit = UnitMicros(type);
  if (units > span / unit) return {start};  // one step goes past the end
  const int64_t step = units * unit;
  const uint64_t count = static_cast<uint64_t>(span / step) + 1;
  if (count > max_runs) TooMany(start, end, type, units, max_runs);
  dates.reserve(count);
  for (uint64_t i = 0; i < count; ++i)
    dates.push_back(start.AddMicros(static_cast<int64_t>(i) * step));
  return dates;
}

}  // namespace kiln::orchestration
