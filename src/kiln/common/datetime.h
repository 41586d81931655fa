// common/datetime.h: a Python-style datetime value (the `execution_date` users see).
// Kiln hands execution dates to SQL templates and Python blocks, so formatting follows Python:
// str() is "2021-01-01 00:00:00" (microseconds and "+00:00" only when present/aware).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kiln {

//! A calendar date and wall-clock time with microsecond resolution, naive or with a fixed UTC
//! offset (aware). Stored as microseconds since 1970-01-01T00:00:00 of the *wall clock*.
class DateTime {
 public:
  DateTime() = default;
  //! `wall_micros`: microseconds since the epoch of the local wall time; `utc_offset_minutes`:
  //! nullopt for a naive value, else the offset of that wall time from UTC.
  explicit DateTime(int64_t wall_micros, std::optional<int> utc_offset_minutes = std::nullopt)
      : wall_micros_(wall_micros), offset_minutes_(utc_offset_minutes) {}

  //! Builds a naive value from its parts; throws std::invalid_argument on an impossible date.
  static DateTime FromParts(int year, int month, int day, int hour = 0, int minute = 0,
                            int second = 0, int microsecond = 0);
  //! The current time in UTC, aware (offset 0), truncated to whole seconds.
  static DateTime NowUtc();
  //! The current time in UTC, aware, with microseconds (for log records).
  static DateTime NowUtcPrecise();
  //! Parses ISO 8601 as Python's datetime.fromisoformat (3.11) does: "2021-01-01",
  //! "2021-01-01T06:30", "2021-01-01 06:30:00.123", "...Z", "...+02:00". nullopt when invalid.
  static std::optional<DateTime> Parse(std::string_view text);

  int year() const;
  int month() const;
  int day() const;
  int hour() const;
  int minute() const;
  int second() const;
  int microsecond() const;
  //! Monday = 0 .. Sunday = 6, as Python's weekday().
  int weekday() const;
  bool aware() const { return offset_minutes_.has_value(); }
  std::optional<int> utc_offset_minutes() const { return offset_minutes_; }
  int64_t wall_micros() const { return wall_micros_; }
  //! Microseconds since the Unix epoch in UTC (a naive value is taken as UTC).
  int64_t utc_micros() const;

  //! Python str(): "YYYY-MM-DD HH:MM:SS[.ffffff][+HH:MM]".
  std::string ToString() const;
  //! Python isoformat(): as ToString() with 'T' between date and time.
  std::string IsoFormat() const;
  //! "YYYY-MM-DD".
  std::string DateString() const;
  //! Python strftime for %Y %y %m %d %H %I %M %S %f %p %j %a %A %b %B %w %z %Z %% (C locale).
  //! Unknown directives are copied through unchanged.
  std::string Strftime(std::string_view format) const;

  //! The same instant `micros` later (negative for earlier); keeps naive/aware.
  DateTime AddMicros(int64_t micros) const {
    return DateTime(wall_micros_ + micros, offset_minutes_);
  }
  //! The date at 00:00:00, same awareness.
  DateTime StartOfDay() const;

  friend bool operator==(const DateTime&, const DateTime&) = default;

 private:
  int64_t wall_micros_ = 0;
  std::optional<int> offset_minutes_;
};

}  // namespace kiln
