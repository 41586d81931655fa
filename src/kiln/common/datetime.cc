#include "kiln/common/datetime.h"

#include <array>
#include <cctype>
#include <cstdio>
#include <stdexcept>

namespace kiln {
namespace {

using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::year_month_day;

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

constexpr std::array<const char*, 7> kWeekdayNames = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                      "Friday", "Saturday", "Sunday"};
constexpr std::array<const char*, 12> kMonthNames = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};

int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

year_month_day DateOf(int64_t wall_micros) {
  return year_month_day{sys_days{days{FloorDiv(wall_micros, kMicrosPerDay)}}};
}
int64_t MicrosOfDay(int64_t wall_micros) {
  return wall_micros - FloorDiv(wall_micros, kMicrosPerDay) * kMicrosPerDay;
}

std::string Pad(int value, int width) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%0*d", width, value);
  return buf;
}

// Parses exactly `n` digits at text[pos..]; advances pos. -1 when not digits.
int Digits(std::string_view text, size_t& pos, size_t n) {
  if (pos + n > text.size()) return -1;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = text[pos + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
    v = v * 10 + (c - '0');
  }
  pos += n;
  return v;
}

std::string OffsetString(int minutes, bool colon) {
  char sign = minutes < 0 ? '-' : '+';
  int m = minutes < 0 ? -minutes : minutes;
  return std::string(1, sign) + Pad(m / 60, 2) + (colon ? ":" : "") + Pad(m % 60, 2);
}

}  // namespace

DateTime DateTime::FromParts(int year, int month, int day, int hour, int minute, int second,
                             int microsecond) {
  year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                     std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok() || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 ||
      second > 59 || microsecond < 0 || microsecond > 999'999) {
    throw std::invalid_argument("invalid date or time");
  }
  int64_t d = sys_days{ymd}.time_since_epoch().count();
  return DateTime(d * kMicrosPerDay + ((hour * 60LL + minute) * 60 + second) * kMicrosPerSecond +
                  microsecond);
}

DateTime DateTime::NowUtc() {
  auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  return DateTime(now.time_since_epoch().count() * kMicrosPerSecond, 0);
}

DateTime DateTime::NowUtcPrecise() {
  auto now =
      std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  return DateTime(now.time_since_epoch().count(), 0);
}

std::optional<DateTime> DateTime::Parse(std::string_view text) {
  size_t pos = 0;
  int y = Digits(text, pos, 4);
  if (y < 0 || pos >= text.size() || text[pos++] != '-') return std::nullopt;
  int mo = Digits(text, pos, 2);
  if (mo < 0 || pos >= text.size() || text[pos++] != '-') return std::nullopt;
  int d = Digits(text, pos, 2);
  if (d < 0) return std::nullopt;
  int h = 0, mi = 0, s = 0, us = 0;
  std::optional<int> offset;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != ' ') return std::nullopt;
    ++pos;
    h = Digits(text, pos, 2);
    if (h < 0) return std::nullopt;
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      mi = Digits(text, pos, 2);
      if (mi < 0) return std::nullopt;
      if (pos < text.size() && text[pos] == ':') {
        ++pos;
        s = Digits(text, pos, 2);
        if (s < 0) return std::nullopt;
        if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
          ++pos;
          size_t start = pos;
          int64_t frac = 0;
          while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
            if (pos - start < 6) frac = frac * 10 + (text[pos] - '0');
            ++pos;
          }
          if (pos == start) return std::nullopt;
          for (size_t n = pos - start; n < 6; ++n) frac *= 10;
          us = static_cast<int>(frac);
        }
      }
    }
    if (pos < text.size()) {
      char c = text[pos];
      if (c == 'Z' && pos + 1 == text.size()) {
        offset = 0;
        ++pos;
      } else if (c == '+' || c == '-') {
        ++pos;
        int oh = Digits(text, pos, 2);
        if (oh < 0) return std::nullopt;
        if (pos < text.size() && text[pos] == ':') ++pos;
        int om = Digits(text, pos, 2);
        if (om < 0) return std::nullopt;
        offset = (c == '-' ? -1 : 1) * (oh * 60 + om);
      }
    }
    if (pos != text.size()) return std::nullopt;
  }
  try {
    DateTime v = FromParts(y, mo, d, h, mi, s, us);
    return DateTime(v.wall_micros_, offset);
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

int DateTime::year() const {
  return static_cast<int>(DateOf(wall_micros_).year());
}
int DateTime::month() const {
  return static_cast<int>(static_cast<unsigned>(DateOf(wall_micros_).month()));
}
int DateTime::day() const {
  return static_cast<int>(static_cast<unsigned>(DateOf(wall_micros_).day()));
}
int DateTime::hour() const {
  return static_cast<int>(MicrosOfDay(wall_micros_) / (3600 * kMicrosPerSecond));
}
int DateTime::minute() const {
  return static_cast<int>(MicrosOfDay(wall_micros_) / (60 * kMicrosPerSecond) % 60);
}
int DateTime::second() const {
  return static_cast<int>(MicrosOfDay(wall_micros_) / kMicrosPerSecond % 60);
}
int DateTime::microsecond() const {
  return static_cast<int>(MicrosOfDay(wall_micros_) % kMicrosPerSecond);
}
int DateTime::weekday() const {
  // 1970-01-01 was a Thursday (Python weekday 3).
  int64_t d = FloorDiv(wall_micros_, kMicrosPerDay);
  return static_cast<int>(((d + 3) % 7 + 7) % 7);
}
int64_t DateTime::utc_micros() const {
  return wall_micros_ - int64_t{offset_minutes_.value_or(0)} * 60 * kMicrosPerSecond;
}

std::string DateTime::DateString() const {
  return Pad(year(), 4) + "-" + Pad(month(), 2) + "-" + Pad(day(), 2);
}

std::string DateTime::ToString() const {
  std::string s =
      DateString() + " " + Pad(hour(), 2) + ":" + Pad(minute(), 2) + ":" + Pad(second(), 2);
  if (microsecond() != 0) s += "." + Pad(microsecond(), 6);
  if (offset_minutes_) s += OffsetString(*offset_minutes_, true);
  return s;
}

std::string DateTime::IsoFormat() const {
  std::string s = ToString();
  s[10] = 'T';
  return s;
}

DateTime DateTime::StartOfDay() const {
  return DateTime(FloorDiv(wall_micros_, kMicrosPerDay) * kMicrosPerDay, offset_minutes_);
}

std::string DateTime::Strftime(std::string_view format) const {
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%' || i + 1 == format.size()) {
      out += format[i];
      continue;
    }
    char c = format[++i];
    switch (c) {
      case 'Y':
        out += Pad(year(), 4);
        break;
      case 'y':
        out += Pad(year() % 100, 2);
        break;
      case 'm':
        out += Pad(month(), 2);
        break;
      case 'd':
        out += Pad(day(), 2);
        break;
      case 'H':
        out += Pad(hour(), 2);
        break;
      case 'I':
        out += Pad(hour() % 12 == 0 ? 12 : hour() % 12, 2);
        break;
      case 'M':
        out += Pad(minute(), 2);
        break;
      case 'S':
        out += Pad(second(), 2);
        break;
      case 'f':
        out += Pad(microsecond(), 6);
        break;
      case 'p':
        out += hour() < 12 ? "AM" : "PM";
        break;
      case 'j': {
        year_month_day ymd = DateOf(wall_micros_);
        auto jan1 = sys_days{ymd.year() / std::chrono::January / 1};
        out += Pad(static_cast<int>((sys_days{ymd} - jan1).count()) + 1, 3);
        break;
      }
      case 'a':
        out += std::string(kWeekdayNames[weekday()]).substr(0, 3);
        break;
      case 'A':
        out += kWeekdayNames[weekday()];
        break;
      case 'b':
        out += std::string(kMonthNames[month() - 1]).substr(0, 3);
        break;
      case 'B':
        out += kMonthNames[month() - 1];
        break;
      case 'w':
        out += std::to_string((weekday() + 1) % 7);
        break;
      case 'z':
        if (offset_minutes_) out += OffsetString(*offset_minutes_, false);
        break;
      case 'Z':
        if (offset_minutes_)
          out += *offset_minutes_ == 0 ? "UTC" : OffsetString(*offset_minutes_, true);
        break;
      case '%':
        out += '%';
        break;
      default:
        out += '%';
        out += c;
        break;
    }
  }
  return out;
}

}  // namespace kiln
