// orchestration/schedule_interval.h: when a time trigger is due, and with which execution_date.
//
// The pure rules of Mage's scheduler (spec 2.2-2.5), with no store, clock or threads: the caller
// passes the current time and what the store knows about the trigger's runs, and gets back whether
// a run is due now, its execution_date, and when to look again (so an event-driven scheduler can
// sleep until then instead of polling every 10 s as Mage does). Everything is in UTC: inputs are
// taken as instants (naive values as UTC) and every returned DateTime is aware UTC.
//
// Rules reproduced, by spec section:
//   1.3  schedule_interval: @once @hourly @daily @weekly @monthly @always_on (exact spelling),
//        anything else is cron (croniter aliases such as @yearly and @midnight, and other
//        spellings such as @DAILY, are cron expressions).
//   2.2  should_schedule: start_time (no run while now < start_time, no interval whose
//        execution date is before start_time); @once runs once; @always_on runs whenever the
//        latest run is not initial/running; last_enabled_at skips the interval in progress when
//        the trigger was enabled unless create_initial_pipeline_run; one run per execution date.
//   2.3  execution_date = the start of the interval holding now: @hourly truncates to the hour,
//        @daily to 00:00, @weekly to Monday 00:00 (ISO week), @monthly to day 1 00:00, cron to
//        croniter's previous fire time (strictly before now); @once/@always_on: now.
//   2.4  no catch-up: only the current interval is ever considered.
//   2.5  landing time (time triggers, hourly/daily/weekly/monthly, settings.landing_time_enabled):
//        the execution date is the interval start with start_time's minute/second (hourly),
//        time of day (daily), weekday + time (weekly) or day of month + time (monthly, counted as
//        days from day 1, so day 31 in February spills into March as in Mage); the run is due
//        once now >= execution_date - (ceil(mean) + ceil(stdev / 2)) of the previous runtimes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/common/datetime.h"
#include "kiln/orchestration/cron.h"

namespace kiln::project {
struct Trigger;
}

namespace kiln::orchestration {

//! The kinds of schedule_interval (spec 1.3).
enum class IntervalKind { kOnce, kHourly, kDaily, kWeekly, kMonthly, kAlwaysOn, kCron };

//! A validated schedule_interval.
class ScheduleInterval {
 public:
  //! Parses Mage's keywords (exact, case-sensitive, as Mage compares them) or a cron expression
  //! (CronSchedule::Parse). Throws CronError; for an unknown '@' word the message lists Mage's
  //! intervals and croniter's aliases.
  static ScheduleInterval Parse(std::string_view text);

  IntervalKind kind() const { return kind_; }
  //! The interval as written ("@daily", "*/5 * * * *").
  const std::string& text() const { return text_; }
  //! The cron schedule. REQUIRES: kind() == IntervalKind::kCron.
  const CronSchedule& cron() const { return *cron_; }
  //! True for @hourly/@daily/@weekly/@monthly/cron: runs belong to intervals (spec 2.2 item 6).
  bool periodic() const { return kind_ != IntervalKind::kOnce && kind_ != IntervalKind::kAlwaysOn; }

 private:
  IntervalKind kind_ = IntervalKind::kOnce;  // a default-constructed interval is @once
  std::string text_ = "@once";
  std::optional<CronSchedule> cron_;
};

//! What the scheduling rules read from a trigger (spec 1.1, 1.4, 1.5).
struct TriggerTiming {
  ScheduleInterval interval;
  //! spec 1.4: no run before it, no interval starting before it; the landing-time anchor.
  std::optional<DateTime> start_time;
  //! spec 2.2: when the trigger was last enabled; nullopt (a legacy trigger) never skips.
  std::optional<DateTime> last_enabled_at;
  //! settings.create_initial_pipeline_run (spec 1.5): run the interval in progress at enabling.
  bool create_initial_pipeline_run = false;
  //! spec 2.5: settings.landing_time_enabled on a `time` trigger. Ignored (as in Mage) unless the
  //! interval is @hourly, @daily, @weekly or @monthly and start_time is set.
  bool landing_time = false;
};

//! What the store knows about the trigger's runs (spec 2.2, 2.5).
struct RunHistory {
  //! Runs the trigger ever had (@once runs while this is 0).
  int64_t run_count = 0;
  //! Streaming pipelines: @once may get up to this many runs (the pipeline's executor_count).
  int64_t executor_count = 1;
  //! The most recently created run is initial or running (@always_on waits for it).
  bool latest_run_in_progress = false;
  //! Whether a run of this trigger with exactly this execution_date exists (any status). Empty:
  //! none exists.
  std::function<bool(const DateTime& execution_date)> has_run_at;
  //! Landing time: runtimes in seconds (completed_at - created_at) of up to 7 recent runs.
  std::vector<double> previous_runtimes;
};

//! The answer of DecideSchedule.
struct ScheduleDecision {
  //! A run should be created now (spec 2.2).
  bool due = false;
  //! The run's execution_date when due (spec 2.3, 2.5).
  std::optional<DateTime> execution_date;
  //! The earliest later instant at which a run can become due by the passing of time alone,
  //! assuming the due run (if any) is created now; nullopt when only a change of the trigger or
  //! its runs can make one due (@once after its run, @always_on while its run goes on). For cron
  //! it is one microsecond after the fire time: croniter's previous (2.3) reaches a fire time
  //! only once it has passed.
  std::optional<DateTime> next_check;
};

//! Mage's should_schedule + current_execution_date for an active trigger at `now` (spec 2.2-2.5).
//! REQUIRES: the trigger is active and its pipeline exists (spec 2.2 steps 1 and 3 are the
//! caller's).
ScheduleDecision DecideSchedule(const TriggerTiming& timing, const RunHistory& history,
                                const DateTime& now);

//! spec 2.3 current_execution_date(): the execution date of the interval holding `now` (now
//! itself for @once and @always_on), landing time applied (2.5).
DateTime CurrentExecutionDate(const TriggerTiming& timing, const DateTime& now);

//! spec 2.3 next_execution_date(), the API's next_pipeline_run_date: the current execution date
//! plus one hour/day/week, the first day of the next month at the same time of day (Mage does
//! this for landing-time monthly triggers too), or the cron fire time after it; nullopt for
//! @once and @always_on. Ignores start_time, status and runs, as Mage does.
std::optional<DateTime> NextExecutionDate(const TriggerTiming& timing, const DateTime& now);

//! The timing of a trigger from triggers.yaml (the hook that validates schedule_interval, which
//! the project layer keeps as raw text): nullopt when the trigger has no schedule_interval (no
//! time-based runs). Throws OrchestrationError "<file>:<line>: trigger '<name>':
//! schedule_interval: ..." when the interval is not valid. last_enabled_at is the file's value;
//! the caller overrides it with the store's.
std::optional<TriggerTiming> TimingOf(const project::Trigger& trigger);

}  // namespace kiln::orchestration
