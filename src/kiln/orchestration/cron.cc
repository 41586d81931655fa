#include "kiln/orchestration/cron.h"

#include <array>
#include <bit>
#include <cctype>
#include <chrono>
#include <optional>
#include <vector>

#include "kiln/orchestration/error.h"

namespace kiln::orchestration {
namespace {

using std::chrono::sys_days;
using std::chrono::year_month_day;

constexpr int64_t kMicrosPerMinute = 60'000'000;
constexpr int kMinutesPerDay = 1440;
// Days (or month jumps) a search may visit. The longest gap between fire times of an expression
// that fires at all is Feb 29 across 2100 (8 years, a few hundred steps).
constexpr int kMaxSearchSteps = 200'000;

enum FieldIndex { kMinute, kHour, kDayOfMonth, kMonth, kDayOfWeek };

struct FieldSpec {
  const char* name;
  int min;
  int max;           // the field's range after aliases
  int max_accepted;  // day-of-week accepts 7 (Sunday)
};

constexpr std::array<FieldSpec, 5> kFields = {{
    {"minute", 0, 59, 59},
    {"hour", 0, 23, 23},
    {"day-of-month", 1, 31, 31},
    {"month", 1, 12, 12},
    {"day-of-week", 0, 6, 7},
}};

constexpr std::array<const char*, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                     "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<const char*, 7> kWeekdayNames = {"sun", "mon", "tue", "wed",
                                                      "thu", "fri", "sat"};
constexpr std::array<int, 13> kMaxDaysInMonth = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

// Python's str.split(): runs of whitespace separate, leading/trailing whitespace is dropped.
std::vector<std::string> SplitWhitespace(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

// Parses the fields of one expression, reporting errors as "cron '<text>': <field> field: ...".
class FieldParser {
 public:
  FieldParser(std::string_view text, FieldIndex field) : text_(text), field_(field) {}

  // The values `item` (one comma-separated item) selects; sets `star` for a plain `*`.
  std::vector<int> Item(std::string_view item, bool& star) const {
    if (item == "*") {
      star = true;
      return {};
    }
    if (auto hint = Unsupported(item)) Fail(*hint);
    if (item.empty()) Fail("empty list item");
    if (item[0] == '-') Fail("negative numbers are not allowed ('" + std::string(item) + "')");
    std::string_view base = item;
    int step = 1;
    bool stepped = false;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      std::string_view step_text = item.substr(slash + 1);
      base = item.substr(0, slash);
      if (!AllDigits(step_text)) Fail("step '" + std::string(step_text) + "' is not a number");
      step = step_text.size() > 6 ? 1'000'000 : std::stoi(std::string(step_text));
      if (step == 0) Fail("step 0 is not allowed");
      stepped = true;
    }
    const FieldSpec& spec = kFields[field_];
    if (base == "*") return Stepped(spec.min, spec.max, step);
    size_t dash = base.find('-');
    if (dash == std::string_view::npos) {
      // `a/n` is croniter's `a-max/n`; a lone value is itself.
      if (stepped) return Range(Value(base, true), spec.max, step);
      return {Value(base, false)};
    }
    std::string_view low = base.substr(0, dash), high = base.substr(dash + 1);
    if (low.empty() || high.empty() || high.find('-') != std::string_view::npos)
      Fail("'" + std::string(item) + "' is not a valid range");
    return Range(Value(low, true), Value(high, true), step);
  }

  [[noreturn]] void Fail(const std::string& reason) const {
    throw CronError("cron '" + std::string(text_) + "': " + kFields[field_].name +
                    " field: " + reason);
  }

 private:
  // A message for syntax croniter knows but Kiln does not evaluate.
  std::optional<std::string> Unsupported(std::string_view item) const {
    if (item.find('#') != std::string_view::npos)
      return "'#' (nth weekday of the month) is not supported";
    if (item.find('?') != std::string_view::npos) return "'?' is not supported; use '*'";
    if (IsName(item)) return std::nullopt;
    std::string_view first = item.substr(0, item.find_first_of("-/"));
    if (first == "l" || (first.size() > 1 && (first.back() == 'l' || first.front() == 'l') &&
                         AllDigits(first.substr(first.front() == 'l' ? 1 : 0, first.size() - 1))))
      return "'L' (last) is not supported";
    if (first.size() > 1 && first.back() == 'w') return "'W' (nearest weekday) is not supported";
    if (first == "h" || item.starts_with("h(") || item.starts_with("h/"))
      return "'H' (hashed values) is not supported";
    if (first == "r" || item.starts_with("r(") || item.starts_with("r/"))
      return "'R' (random values) is not supported";
    return std::nullopt;
  }

  bool IsName(std::string_view token) const { return NameValue(token).has_value(); }

  std::optional<int> NameValue(std::string_view token) const {
    if (field_ == kMonth) {
      for (size_t i = 0; i < kMonthNames.size(); ++i)
        if (token == kMonthNames[i]) return static_cast<int>(i) + 1;
    } else if (field_ == kDayOfWeek) {
      for (size_t i = 0; i < kWeekdayNames.size(); ++i)
        if (token == kWeekdayNames[i]) return static_cast<int>(i);
    }
    return std::nullopt;
  }

  // A number or a name; day-of-week 7 becomes 0 (Sunday). Like croniter, a range bound is only
  // checked against the field's maximum: the values the range yields are checked one by one.
  int Value(std::string_view token, bool range_bound) const {
    const FieldSpec& spec = kFields[field_];
    int value;
    if (AllDigits(token)) {
      value = token.size() > 6 ? 1'000'000 : std::stoi(std::string(token));
    } else if (auto named = NameValue(token)) {
      value = *named;
    } else if (field_ == kMonth || field_ == kDayOfWeek) {
      Fail("'" + std::string(token) + "' is neither a number nor a " +
           (field_ == kMonth ? "month name (jan-dec)" : "weekday name (sun-sat)"));
    } else {
      Fail("'" + std::string(token) + "' is not a number");
    }
    if (value > spec.max_accepted || (!range_bound && value < spec.min)) OutOfRange(value);
    return field_ == kDayOfWeek && value == 7 ? 0 : value;
  }

  [[noreturn]] void OutOfRange(int value) const {
    const FieldSpec& spec = kFields[field_];
    Fail(std::to_string(value) + " is out of range " + std::to_string(spec.min) + "-" +
         std::to_string(spec.max_accepted));
  }

  static std::vector<int> Stepped(int from, int to, int step) {
    std::vector<int> out;
    for (int v = from; v <= to; v += step) out.push_back(v);
    return out;
  }

  // croniter's range expansion: equal bounds mean the whole field; a backwards range wraps.
  std::vector<int> Range(int low, int high, int step) const {
    const FieldSpec& spec = kFields[field_];
    std::vector<int> out;
    if (low == high) {
      out = Stepped(spec.min, spec.max, step);
    } else if (low < high) {
      out = Stepped(low, high, step);
    } else {
      out = Stepped(low, spec.max, step);
      int last = out.back();
      // croniter skips `step - (max - last)` values at the field's start, unless the step lands
      // exactly on the start (last + step == max + 1). A bound below the start (`9-0` in the
      // month field) yields nothing there.
      int skip = last + step > spec.max + 1 ? step - (spec.max - last) : 0;
      for (int v : Stepped(spec.min + skip, high, step)) out.push_back(v);
    }
    for (int v : out)
      if (v < spec.min) OutOfRange(v);
    return out;
  }

  std::string_view text_;
  FieldIndex field_;
};

std::string Lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// croniter's aliases (checked on the lowercased text, whole string only).
std::string ExpandAlias(const std::string& lower) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kAliases = {{
      {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"},
      {"@daily", "0 0 * * *"},
      {"@weekly", "0 0 * * 0"},
      {"@monthly", "0 0 1 * *"},
      {"@yearly", "0 0 1 1 *"},
      {"@annually", "0 0 1 1 *"},
  }};
  for (const auto& [alias, expression] : kAliases)
    if (lower == alias) return std::string(expression);
  return lower;
}

DateTime MinuteToDateTime(int64_t minute) {
  return DateTime(minute * kMicrosPerMinute, 0);
}

int64_t DayNumber(const year_month_day& ymd) {
  return sys_days{ymd}.time_since_epoch().count();
}

}  // namespace

CronSchedule CronSchedule::Parse(std::string_view text) {
  CronSchedule cron;
  cron.text_ = std::string(text);
  const std::vector<std::string> fields = SplitWhitespace(ExpandAlias(Lowercase(text)));
  if (fields.size() == 6 || fields.size() == 7) {
    throw CronError("cron '" + cron.text_ + "': " + std::to_string(fields.size()) +
                    "-field expressions (with seconds" + (fields.size() == 7 ? " and year" : "") +
                    ") are not supported; use 5 fields: minute hour day-of-month month "
                    "day-of-week");
  }
  if (fields.size() != 5) {
    throw CronError("cron '" + cron.text_ + "': expected 5 fields (minute hour day-of-month " +
                    "month day-of-week), got " + std::to_string(fields.size()));
  }
  std::array<uint64_t, 5> bits{};
  std::array<bool, 5> star{};
  for (int f = kMinute; f <= kDayOfWeek; ++f) {
    FieldParser parser(cron.text_, static_cast<FieldIndex>(f));
    for (std::string_view item : Split(fields[f], ',')) {
      for (int v : parser.Item(item, star[f])) bits[f] |= uint64_t{1} << v;
    }
    const FieldSpec& spec = kFields[f];
    int size = spec.max - spec.min + 1;
    // croniter treats a field that lists every value as `*`, except that a day field stays
    // restricted when the other day field has no `*` in it.
    bool full = std::popcount(bits[f]) == size;
    if (full && f == kDayOfMonth) full = fields[kDayOfWeek].find('*') != std::string::npos;
    if (full && f == kDayOfWeek) full = fields[kDayOfMonth].find('*') != std::string::npos;
    if (star[f] || full) {
      star[f] = true;
      bits[f] = ((uint64_t{1} << size) - 1) << spec.min;
    }
  }
  cron.minutes_ = bits[kMinute];
  cron.hours_ = static_cast<uint32_t>(bits[kHour]);
  cron.days_ = static_cast<uint32_t>(bits[kDayOfMonth]);
  cron.months_ = static_cast<uint32_t>(bits[kMonth]);
  cron.weekdays_ = static_cast<uint32_t>(bits[kDayOfWeek]);
  cron.dom_restricted_ = !star[kDayOfMonth];
  cron.dow_restricted_ = !star[kDayOfWeek];

  if (cron.dom_restricted_) {
    bool possible = false;
    for (unsigned m = 1; m <= 12 && !possible; ++m) {
      if (!cron.MonthMatches(m)) continue;
      for (int d = 1; d <= kMaxDaysInMonth[m] && !possible; ++d) possible = (cron.days_ >> d) & 1U;
    }
    if (!possible) {
      throw CronError("cron '" + cron.text_ + "': never fires: no day in day-of-month '" +
                      fields[kDayOfMonth] + "' exists in month '" + fields[kMonth] + "'" +
                      (cron.dow_restricted_ ? " (croniter, which Mage uses, fails on this "
                                              "expression even though day-of-week matches)"
                                            : ""));
    }
  }
  return cron;
}

bool CronSchedule::DayMatches(unsigned day_of_month, unsigned weekday) const {
  bool dom = (days_ >> day_of_month) & 1U;
  bool dow = (weekdays_ >> weekday) & 1U;
  // Both restricted: either matches (Vixie/croniter). Otherwise the unrestricted one is all ones.
  return dom_restricted_ && dow_restricted_ ? (dom || dow) : (dom && dow);
}

int CronSchedule::FirstTimeFrom(int minute_of_day) const {
  int minute = minute_of_day % 60;
  for (int hour = minute_of_day / 60; hour < 24; ++hour, minute = 0) {
    if (!((hours_ >> hour) & 1U)) continue;
    uint64_t candidates = minutes_ & (~uint64_t{0} << minute);
    if (candidates != 0) return hour * 60 + std::countr_zero(candidates);
  }
  return -1;
}

int CronSchedule::LastTimeUpTo(int minute_of_day) const {
  int minute = minute_of_day % 60;
  for (int hour = minute_of_day / 60; hour >= 0; --hour, minute = 59) {
    if (!((hours_ >> hour) & 1U)) continue;
    uint64_t candidates = minutes_ & ((uint64_t{2} << minute) - 1);
    if (candidates != 0) return hour * 60 + 63 - std::countl_zero(candidates);
  }
  return -1;
}

DateTime CronSchedule::Next(const DateTime& after) const {
  int64_t minute = FloorDiv(after.utc_micros(), kMicrosPerMinute) + 1;
  int64_t day = FloorDiv(minute, kMinutesPerDay);
  int from = static_cast<int>(minute - day * kMinutesPerDay);
  for (int step = 0; step < kMaxSearchSteps; ++step) {
    year_month_day ymd{sys_days{std::chrono::days{day}}};
    if (!MonthMatches(static_cast<unsigned>(ymd.month()))) {
      year_month_day first = ymd.year() / ymd.month() / 1;
      day = DayNumber(first + std::chrono::months{1});
      from = 0;
      continue;
    }
    unsigned weekday = std::chrono::weekday{sys_days{ymd}}.c_encoding();
    if (DayMatches(static_cast<unsigned>(ymd.day()), weekday)) {
      if (int t = FirstTimeFrom(from); t >= 0) return MinuteToDateTime(day * kMinutesPerDay + t);
    }
    ++day;
    from = 0;
  }
  throw CronError("cron '" + text_ + "': no fire time found after " + after.ToString());
}

DateTime CronSchedule::Previous(const DateTime& at_or_before) const {
  int64_t minute = FloorDiv(at_or_before.utc_micros(), kMicrosPerMinute);
  int64_t day = FloorDiv(minute, kMinutesPerDay);
  int upto = static_cast<int>(minute - day * kMinutesPerDay);
  for (int step = 0; step < kMaxSearchSteps; ++step) {
    year_month_day ymd{sys_days{std::chrono::days{day}}};
    if (!MonthMatches(static_cast<unsigned>(ymd.month()))) {
      year_month_day first = ymd.year() / ymd.month() / 1;
      day = DayNumber(first) - 1;
      upto = kMinutesPerDay - 1;
      continue;
    }
    unsigned weekday = std::chrono::weekday{sys_days{ymd}}.c_encoding();
    if (DayMatches(static_cast<unsigned>(ymd.day()), weekday)) {
      if (int t = LastTimeUpTo(upto); t >= 0) return MinuteToDateTime(day * kMinutesPerDay + t);
    }
    --day;
    upto = kMinutesPerDay - 1;
  }
  throw CronError("cron '" + text_ + "': no fire time found before " + at_or_before.ToString());
}

bool CronSchedule::Matches(const DateTime& t) const {
  int64_t minute = FloorDiv(t.utc_micros(), kMicrosPerMinute);
  int64_t day = FloorDiv(minute, kMinutesPerDay);
  year_month_day ymd{sys_days{std::chrono::days{day}}};
  unsigned weekday = std::chrono::weekday{sys_days{ymd}}.c_encoding();
  int of_day = static_cast<int>(minute - day * kMinutesPerDay);
  return MonthMatches(static_cast<unsigned>(ymd.month())) &&
         DayMatches(static_cast<unsigned>(ymd.day()), weekday) &&
         ((hours_ >> (of_day / 60)) & 1U) && ((minutes_ >> (of_day % 60)) & 1U);
}

}  // namespace kiln::orchestration
