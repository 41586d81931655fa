// orchestration/backfill_dates.h: the execution dates of a date-range backfill (spec 4.2).
//
// Mage steps from start_datetime by interval_units x interval_type while the date is at or before
// end_datetime (both ends inclusive): 2024-01-01 to 2024-01-05, day, 1 unit gives Jan 1, 2, 3, 4
// and 5. Calendar steps (month, year) add to the previous date as dateutil's relativedelta does,
// clamping the day to the month's length, so a clamped day stays clamped: Jan 31 + 1 month is
// Feb 29 (2024), then Mar 29, Apr 29. Each date becomes one pipeline run (spec 4.4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "kiln/common/datetime.h"

namespace kiln::orchestration {

//! Mage's Backfill.IntervalType (spec 4.1); kCustom steps by seconds.
enum class BackfillIntervalType { kSecond, kMinute, kHour, kDay, kWeek, kMonth, kYear, kCustom };

//! The most runs one backfill may create.
inline constexpr size_t kMaxBackfillRuns = 100'000;

//! Parses Mage's spelling ("second", ..., "year", "custom"); throws BackfillError naming the
//! accepted values otherwise.
BackfillIntervalType ParseBackfillIntervalType(std::string_view name);
//! "second", ..., "custom".
std::string_view BackfillIntervalTypeName(BackfillIntervalType type);

//! The execution dates from `start` to `end` inclusive, every `units` x `type` (spec 4.2). Dates
//! keep `start`'s awareness and UTC offset; `end` is compared as an instant (naive = UTC).
//! Throws BackfillError when end is before start, units < 1, or there would be more than
//! `max_runs` dates.
std::vector<DateTime> BackfillDates(const DateTime& start, const DateTime& end,
                                    BackfillIntervalType type, int64_t units,
                                    size_t max_runs = kMaxBackfillRuns);

}  // namespace kiln::orchestration
