#include "kiln/orchestration/schedule_interval.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "kiln/orchestration/error.h"
#include "kiln/project/trigger.h"

namespace kiln::orchestration {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerHour = 3600 * kMicrosPerSecond;
constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;
// Windows DecideSchedule looks through for the next due one (after jumping to start_time).
constexpr int kMaxWindows = 2000;

constexpr std::array<std::pair<std::string_view, IntervalKind>, 6> kMageIntervals = {{
    {"@once", IntervalKind::kOnce},
    {"@hourly", IntervalKind::kHourly},
    {"@daily", IntervalKind::kDaily},
    {"@weekly", IntervalKind::kWeekly},
    {"@monthly", IntervalKind::kMonthly},
    {"@always_on", IntervalKind::kAlwaysOn},
}};

DateTime Utc(int64_t micros) {
  return DateTime(micros, 0);
}

int64_t FloorTo(int64_t micros, int64_t unit) {
  int64_t q = micros / unit - ((micros % unit != 0) && (micros < 0));
  return q * unit;
}

// The interval during which `execution_date` is the current execution date: [begins, ends).
struct Window {
  int64_t begins = 0;
  int64_t ends = 0;
  int64_t execution_date = 0;
};

class Intervals {
 public:
  explicit Intervals(const TriggerTiming& timing) : timing_(timing) {
    IntervalKind k = timing.interval.kind();
    landing_ = timing.landing_time && timing.start_time &&
               (k == IntervalKind::kHourly || k == IntervalKind::kDaily ||
                k == IntervalKind::kWeekly || k == IntervalKind::kMonthly);
  }

  bool landing() const { return landing_; }

  // The window holding instant `t` (spec 2.3; landing time 2.5).
  Window At(int64_t t) const {
    if (timing_.interval.kind() == IntervalKind::kCron) {
      // croniter's get_prev never returns `now` itself: the execution date is the last fire time
      // strictly before t, so the window of fire time F is (F, next F].
      const CronSchedule& cron = timing_.interval.cron();
      int64_t fire = cron.Previous(Utc(t - 1)).utc_micros();
      int64_t next = cron.Next(Utc(fire)).utc_micros();
      return {fire + 1, next + 1, fire};
    }
    int64_t start = GridStart(t);
    return {start, GridNext(start), landing_ ? Landing(start) : start};
  }

  Window After(const Window& w) const { return At(w.ends); }

 private:
  int64_t GridStart(int64_t t) const {
    switch (timing_.interval.kind()) {
      case IntervalKind::kHourly:
        return FloorTo(t, kMicrosPerHour);
      case IntervalKind::kDaily:
        return FloorTo(t, kMicrosPerDay);
      case IntervalKind::kWeekly: {
        int64_t day = FloorTo(t, kMicrosPerDay);
        return day - Utc(day).weekday() * kMicrosPerDay;  // back to Monday
      }
      default: {
        DateTime d = Utc(t);
        return DateTime::FromParts(d.year(), d.month(), 1).wall_micros();
      }
    }
  }

  int64_t GridNext(int64_t start) const {
    switch (timing_.interval.kind()) {
      case IntervalKind::kHourly:
        return start + kMicrosPerHour;
      case IntervalKind::kDaily:
        return start + kMicrosPerDay;
      case IntervalKind::kWeekly:
        return start + 7 * kMicrosPerDay;
      default: {
        DateTime d = Utc(start);
        int month = d.month() % 12 + 1;
        return DateTime::FromParts(d.year() + (month == 1 ? 1 : 0), month, 1).wall_micros();
      }
    }
  }

  // Mage's landing time: the grid start with fields taken from start_time (spec 2.5).
  int64_t Landing(int64_t grid_start) const {
    DateTime anchor = Utc(timing_.start_time->utc_micros());
    int64_t minute_second = (anchor.minute() * 60 + anchor.second()) * kMicrosPerSecond;
    int64_t time_of_day = anchor.hour() * kMicrosPerHour + minute_second;
    switch (timing_.interval.kind()) {
      case IntervalKind::kHourly:
        return grid_start + minute_second;
      case IntervalKind::kDaily:
        return grid_start + time_of_day;
      case IntervalKind::kWeekly:
        return grid_start + anchor.weekday() * kMicrosPerDay + time_of_day;
      default:
        return grid_start + (anchor.day() - 1) * kMicrosPerDay + time_of_day;
    }
  }

  const TriggerTiming& timing_;
  bool landing_ = false;
};

// Landing time: how long before the execution date the run is created, from the runtimes of
// recent runs: ceil(mean) + ceil(sample stdev / 2) seconds (spec 2.5).
int64_t LeadMicros(const std::vector<double>& runtimes) {
  double n = static_cast<double>(runtimes.size());
  double mean = std::accumulate(runtimes.begin(), runtimes.end(), 0.0) / n;
  double sd = 0;
  if (runtimes.size() >= 2) {
    double squares = 0;
    for (double r : runtimes) squares += (r - mean) * (r - mean);
    sd = std::ceil(std::sqrt(squares / (n - 1)) / 2);
  }
  return static_cast<int64_t>(std::ceil(mean) + sd) * kMicrosPerSecond;
}

std::optional<int64_t> UtcMicros(const std::optional<DateTime>& t) {
  if (!t) return std::nullopt;
  return t->utc_micros();
}

// The earliest instant of `w` at which its execution date is due, ignoring existing runs;
// nullopt when it is never due (spec 2.2 item 6, 2.5).
std::optional<int64_t> DueFrom(const TriggerTiming& timing, const RunHistory& history, bool landing,
                               const Window& w) {
  std::optional<int64_t> start = UtcMicros(timing.start_time);
  std::optional<int64_t> enabled = UtcMicros(timing.last_enabled_at);
  if (start && w.execution_date < *start) return std::nullopt;
  if (enabled && !timing.create_initial_pipeline_run && w.execution_date < *enabled)
    return std::nullopt;
  int64_t from = w.begins;
  if (!landing && start) from = std::max(from, *start);
  if (landing && !history.previous_runtimes.empty())
    from = std::max(from, w.execution_date - LeadMicros(history.previous_runtimes));
  if (from >= w.ends) return std::nullopt;
  return from;
}

}  // namespace

ScheduleInterval ScheduleInterval::Parse(std::string_view text) {
  ScheduleInterval interval;
  interval.text_ = std::string(text);
  for (const auto& [word, kind] : kMageIntervals) {
    if (text == word) {
      interval.kind_ = kind;
      return interval;
    }
  }
  if (text.empty()) throw CronError("schedule_interval is empty");
  try {
    interval.cron_ = CronSchedule::Parse(text);
  } catch (const CronError&) {
    if (!text.starts_with("@")) throw;
    throw CronError("schedule_interval '" + interval.text_ +
                    "' is not one of Mage's intervals (@once, @hourly, @daily, @weekly, "
                    "@monthly, @always_on) or croniter's aliases (@midnight, @yearly, "
                    "@annually)");
  }
  interval.kind_ = IntervalKind::kCron;
  return interval;
}

DateTime CurrentExecutionDate(const TriggerTiming& timing, const DateTime& now) {
  if (!timing.interval.periodic()) return Utc(now.utc_micros());
  return Utc(Intervals(timing).At(now.utc_micros()).execution_date);
}

std::optional<DateTime> NextExecutionDate(const TriggerTiming& timing, const DateTime& now) {
  if (!timing.interval.periodic()) return std::nullopt;
  DateTime current = CurrentExecutionDate(timing, now);
  switch (timing.interval.kind()) {
    case IntervalKind::kHourly:
      return current.AddMicros(kMicrosPerHour);
    case IntervalKind::kDaily:
      return current.AddMicros(kMicrosPerDay);
    case IntervalKind::kWeekly:
      return current.AddMicros(7 * kMicrosPerDay);
    case IntervalKind::kMonthly: {
      // (current + 32 days).replace(day=1), keeping the time of day.
      DateTime later = current.AddMicros(32 * kMicrosPerDay);
      return later.AddMicros(-(later.day() - 1) * kMicrosPerDay);
    }
    default:
      return timing.interval.cron().Next(current);
  }
}

ScheduleDecision DecideSchedule(const TriggerTiming& timing, const RunHistory& history,
                                const DateTime& now) {
  ScheduleDecision decision;
  const int64_t t = now.utc_micros();
  const std::optional<int64_t> start = UtcMicros(timing.start_time);
  const IntervalKind kind = timing.interval.kind();
  if (!timing.interval.periodic()) {
    if (start && t < *start) {
      decision.next_check = Utc(*start);
      return decision;
    }
    if (kind == IntervalKind::kOnce) {
      decision.due = history.run_count == 0 ||
                     (history.executor_count > 1 && history.run_count < history.executor_count);
    } else {
      decision.due = history.run_count == 0 || !history.latest_run_in_progress;
    }
    if (decision.due) decision.execution_date = Utc(t);
    return decision;
  }

  const Intervals intervals(timing);
  Window w = intervals.At(t);
  std::optional<int64_t> from = DueFrom(timing, history, intervals.landing(), w);
  bool exists = history.has_run_at && history.has_run_at(Utc(w.execution_date));
  if (from && !exists) {
    if (*from <= t) {
      decision.due = true;
      decision.execution_date = Utc(w.execution_date);
    } else {
      decision.next_check = Utc(*from);
      return decision;
    }
  }

  // Later windows: skip those that end before start_time / last_enabled_at could allow them (a
  // landing-time execution date may lie up to 31 days after its window's start).
  w = intervals.After(w);
  std::optional<int64_t> bound = start;
  if (timing.last_enabled_at && !timing.create_initial_pipeline_run) {
    int64_t enabled = timing.last_enabled_at->utc_micros();
    bound = bound ? std::max(*bound, enabled) : enabled;
  }
  if (bound) {
    int64_t target = *bound - (intervals.landing() ? 31 * kMicrosPerDay : 0);
    if (target >= w.ends) w = intervals.At(target);
  }
  for (int i = 0; i < kMaxWindows; ++i, w = intervals.After(w)) {
    if (auto due_from = DueFrom(timing, history, intervals.landing(), w)) {
      decision.next_check = Utc(*due_from);
      break;
    }
  }
  return decision;
}

std::optional<TriggerTiming> TimingOf(const project::Trigger& trigger) {
  if (!trigger.schedule_interval) return std::nullopt;
  TriggerTiming timing;
  try {
    timing.interval = ScheduleInterval::Parse(*trigger.schedule_interval);
  } catch (const CronError& e) {
    throw CronError(trigger.Where(trigger.schedule_interval_line) + ": trigger '" + trigger.name +
                    "': schedule_interval: " + e.what());
  }
  timing.start_time = trigger.start_time;
  timing.last_enabled_at = trigger.last_enabled_at;
  timing.create_initial_pipeline_run = trigger.settings.create_initial_pipeline_run;
  timing.landing_time = trigger.settings.landing_time_enabled &&
                        trigger.schedule_type == project::ScheduleType::kTime;
  return timing;
}

}  // namespace kiln::orchestration
