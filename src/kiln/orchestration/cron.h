// orchestration/cron.h: five-field cron expressions, evaluated as Mage evaluates them (croniter),
// in UTC with minute precision (spec 1.3).
//
// Mage accepts any schedule_interval that croniter accepts and asks croniter for the previous and
// next fire times (spec 2.3). Kiln parses the same syntax the same way, so every expression means
// the same set of minutes:
//   minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 0-7 or SUN-SAT
//   (0 and 7 are Sunday); names in any case; `*`, `n`, `a-b`, `a-b/n`, `*/n`, `a/n` (= a-max/n)
//   and comma lists of these; the aliases @midnight, @hourly, @daily, @weekly (Sunday),
//   @monthly, @yearly, @annually (croniter's, case-insensitive).
// croniter's own readings, reproduced:
//   - `a-a` (both bounds equal, e.g. `5-5`, `MON-MON`) is the whole field, stepped by n;
//   - a range running backwards (`22-2`, `FRI-MON`) wraps past the field's end; with a step,
//     croniter restarts at min + step - (max - last value), e.g. minute `50-10/3` is
//     50,53,56,59,3,6,9;
//   - a `*` item in a list makes the field unrestricted (`*,5` is `*`);
//   - a range bound is checked only against the field's maximum, the values it yields one by
//     one: `9-0` in the month field is September to December, `0-5` in day-of-month is refused;
//   - day-of-month and day-of-week: when both are restricted a day matches if EITHER matches
//     (Vixie's rule); a field listing all its values counts as unrestricted only when the other
//     day field contains a `*` (`0 0 1-31 * 1` fires every day, `0 0 1-31 * *` too).
// Refused with CronError: L, W, #, ?, H and R, the 6-field (seconds) and 7-field (year) forms,
// step 0, values out of range, and expressions whose day-of-month never occurs in their months
// (`0 0 31 2 *` never fires; croniter raises on such expressions when asked for a date).
// Not reproduced: two croniter search bugs, where Kiln returns the fire time the expression
// describes: croniter's next can skip the first days of a month when the day-of-month list holds
// days beyond the current month's length (`0 0 1,31 * *` after Feb 15 gives Mar 31, not Mar 1),
// and its previous misses Feb 29 from March of a leap year (`0 0 29 * *` before 2024-03-05 gives
// Jan 29, not Feb 29).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "kiln/common/datetime.h"

namespace kiln::orchestration {

//! A parsed cron expression: the set of UTC minutes it fires at.
class CronSchedule {
 public:
  //! Parses `text` (croniter's syntax, see above). Throws CronError naming the field and the bad
  //! token, e.g. "cron '*/0 * * * *': minute field: step 0 is not allowed", or saying that the
  //! expression never fires.
  static CronSchedule Parse(std::string_view text);

  //! The first fire time strictly after `after` (an instant; naive values are taken as UTC).
  //! Returns an aware UTC value on a whole minute. croniter's get_next.
  DateTime Next(const DateTime& after) const;
  //! The last fire time at or before `at_or_before` (an instant; naive is UTC). Returns an aware
  //! UTC value on a whole minute. croniter's get_prev(now) is Previous(now - 1 microsecond): it
  //! never returns `now` itself (spec 2.3).
  DateTime Previous(const DateTime& at_or_before) const;
  //! True when the minute holding `t` (an instant; naive is UTC) is a fire time.
  bool Matches(const DateTime& t) const;

  //! The expression as given.
  const std::string& text() const { return text_; }

 private:
  CronSchedule() = default;
  bool MonthMatches(unsigned month) const { return (months_ >> month) & 1U; }
  bool DayMatches(unsigned day_of_month, unsigned weekday) const;
  //! First minute of the day at or after `minute_of_day` that fires, or -1.
  int FirstTimeFrom(int minute_of_day) const;
  //! Last minute of the day at or before `minute_of_day` that fires, or -1.
  int LastTimeUpTo(int minute_of_day) const;

  std::string text_;
  uint64_t minutes_ = 0;   //!< bit m: minute m (0-59)
  uint32_t hours_ = 0;     //!< bit h: hour h (0-23)
  uint32_t days_ = 0;      //!< bit d: day of month d (1-31)
  uint32_t months_ = 0;    //!< bit m: month m (1-12)
  uint32_t weekdays_ = 0;  //!< bit w: weekday w (0 = Sunday .. 6)
  bool dom_restricted_ = false;
  bool dow_restricted_ = false;
};

}  // namespace kiln::orchestration
