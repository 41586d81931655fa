// Methods of template values (Python's str, dict, list and datetime methods) and the global
// functions range() and dict().
#include <algorithm>
#include <stdexcept>

#include "kiln/template/builtins.h"
#include "kiln/template/error.h"
#include "kiln/template/format.h"
#include "kiln/template/operators.h"
#include "kiln/template/text.h"

namespace kiln::templating::internal {
namespace {

// range() results longer than this are refused rather than exhausting memory.
constexpr int64_t kMaxRangeLength = 1'000'000;

using Method = Value (*)(const Value& self, const CallArgs& args);
struct MethodEntry {
  std::string_view name;
  Method method;
};

// Python str.split(sep, maxsplit); `sep` None splits on runs of whitespace.
Value Split(const std::string& text, const Value& sep, int64_t max_split) {
  List parts;
  if (sep.IsNone()) {
    size_t i = 0;
    while (true) {
      while (i < text.size() && IsSpace(text[i])) ++i;
      if (i >= text.size()) break;
      if (max_split >= 0 && static_cast<int64_t>(parts.size()) == max_split) {
        parts.emplace_back(text.substr(i));  // the rest, trailing whitespace included
        break;
      }
      size_t end = i;
      while (end < text.size() && !IsSpace(text[end])) ++end;
      parts.emplace_back(text.substr(i, end - i));
      i = end;
    }
    return Value(std::move(parts));
  }
  const std::string& separator = ExpectString(sep, "split() separator");
  if (separator.empty()) throw TemplateError("empty separator");
  size_t start = 0;
  for (size_t hit; (max_split < 0 || static_cast<int64_t>(parts.size()) < max_split) &&
                   (hit = text.find(separator, start)) != std::string::npos;
       start = hit + separator.size()) {
    parts.emplace_back(text.substr(start, hit - start));
  }
  parts.emplace_back(text.substr(start));
  return Value(std::move(parts));
}

// str.startswith / str.endswith: `affix` is a string or a list (tuple) of strings.
bool HasAffix(const std::string& text, const Value& affix, bool at_start) {
  List candidates = affix.IsList() ? affix.AsList() : List{affix};
  for (const Value& candidate : candidates) {
    const std::string& a =
        ExpectString(candidate, at_start ? "startswith() prefix" : "endswith() suffix");
    if (a.size() <= text.size() &&
        text.compare(at_start ? 0 : text.size() - a.size(), a.size(), a) == 0) {
      return true;
    }
  }
  return false;
}

std::string StripMethod(const Value& self, const CallArgs& args, std::string_view callee, bool left,
                        bool right) {
  BoundArgs a(callee, args, {"chars"}, 0);
  Value chars = a.Get(0, Value::None());
  if (chars.IsNone()) return Strip(self.AsString(), left, right);
  return Strip(self.AsString(), left, right, ExpectString(chars, "strip chars"));
}

constexpr MethodEntry kStringMethods[] = {
    {"upper",
     [](const Value& self, const CallArgs& args) {
       BoundArgs("str.upper()", args, {}, 0);
       return Value(AsciiUpper(self.AsString()));
     }},
    {"lower",
     [](const Value& self, const CallArgs& args) {
       BoundArgs("str.lower()", args, {}, 0);
       return Value(AsciiLower(self.AsString()));
     }},
    {"title",
     [](const Value& self, const CallArgs& args) {
       BoundArgs("str.title()", args, {}, 0);
       return Value(PythonTitle(self.AsString()));
     }},
    {"capitalize",
     [](const Value& self, const CallArgs& args) {
       BoundArgs("str.capitalize()", args, {}, 0);
       return Value(Capitalize(self.AsString()));
     }},
    {"strip",
     [](const Value& self, const CallArgs& args) {
       return Value(StripMethod(self, args, "str.strip()", true, true));
     }},
    {"lstrip",
     [](const Value& self, const CallArgs& args) {
       return Value(StripMethod(self, args, "str.lstrip()", true, false));
     }},
    {"rstrip",
     [](const Value& self, const CallArgs& args) {
       return Value(StripMethod(self, args, "str.rstrip()", false, true));
     }},
    {"replace",
     [](const Value& self, const CallArgs& args) {
       BoundArgs a("str.replace()", args, {"old", "new", "count"}, 2);
       return Value(ReplaceAll(self.AsString(), ExpectString(a[0], "replace() old"),
                               ExpectString(a[1], "replace() new"),
                               a.Has(2) ? ExpectInt(a[2], "replace() count") : -1));
     }},
    {"split",
     [](const Value& self, const CallArgs& args) {
       BoundArgs a("str.split()", args, {"sep", "maxsplit"}, 0);
       return Split(self.AsString(), a.Get(0, Value::None()),
                    a.Has(1) ? ExpectInt(a[1], "split() maxsplit") : -1);
     }},
    {"startswith",
     [](const Value& self, const CallArgs& args) {
       BoundArgs a("str.startswith()", args, {"prefix"}, 1);
       return Value(HasAffix(self.AsString(), a[0], true));
     }},
    {"endswith",
     [](const Value& self, const CallArgs& args) {
       BoundArgs a("str.endswith()", args, {"suffix"}, 1);
       return Value(HasAffix(self.AsString(), a[0], false));
     }},
    {"format", [](const Value& self,
                  const CallArgs& args) { return Value(StrFormat(self.AsString(), args)); }},
    {"join",
     [](const Value& self, const CallArgs& args) {
       BoundArgs a("str.join()", args, {"iterable"}, 1);
       std::string out;
       List items = Iterate(a[0]);
       for (size_t i = 0; i < items.size(); ++i) {
         if (i > 0) out += self.AsString();
         out += ExpectString(items[i], "join() item " + std::to_string(i));
       }
       return Value(std::move(out));
     }},
    {"zfill",
     [](const Value& self, const CallArgs& args) {
       BoundArgs a("str.zfill()", args, {"width"}, 1);
       std::string text = self.AsString();
       int64_t width = ExpectInt(a[0], "zfill() width");
       auto length = static_cast<int64_t>(CodePointCount(text));
       if (width <= length) return Value(text);
       size_t sign = !text.empty() && (text[0] == '-' || text[0] == '+') ? 1 : 0;
       text.insert(sign, static_cast<size_t>(width - length), '0');
       return Value(text);
     }},
};

constexpr MethodEntry kDictMethods[] = {
    {"get",
     [](const Value& self, const CallArgs& args) {
       BoundArgs a("dict.get()", args, {"key", "default"}, 1);
       RequireDefined(a[0]);
       const Value* found = a[0].IsString() ? self.Find(a[0].AsString()) : nullptr;
       return found ? *found : a.Get(1, Value::None());
     }},
    {"keys",
     [](const Value& self, const CallArgs& args) {
       BoundArgs("dict.keys()", args, {}, 0);
       return Value(Iterate(self));
     }},
    {"values",
     [](const Value& self, const CallArgs& args) {
       BoundArgs("dict.values()", args, {}, 0);
       List values;
       for (const auto& [key, value] : self.AsDict()) values.push_back(value);
       return Value(std::move(values));
     }},
    {"items",
     [](const Value& self, const CallArgs& args) {
       BoundArgs("dict.items()", args, {}, 0);
       List items;
       for (const auto& [key, value] : self.AsDict()) items.emplace_back(List{key, value});
       return Value(std::move(items));
     }},
};

constexpr MethodEntry kListMethods[] = {
    {"index",
     [](const Value& self, const CallArgs& args) {
       BoundArgs a("list.index()", args, {"value"}, 1);
       RequireDefined(a[0]);
       const List& list = self.AsList();
       for (size_t i = 0; i < list.size(); ++i) {
         if (list[i].Equals(a[0])) return Value(static_cast<int64_t>(i));
       }
       throw TemplateError(a[0].Repr() + " is not in list");
     }},
    {"count",
     [](const Value& self, const CallArgs& args) {
       BoundArgs a("list.count()", args, {"value"}, 1);
       RequireDefined(a[0]);
       const List& list = self.AsList();
       return Value(static_cast<int64_t>(std::count_if(
           list.begin(), list.end(), [&](const Value& v) { return v.Equals(a[0]); })));
     }},
};

// datetime.replace(year=, month=, ...) and date.replace(year=, month=, day=).
Value ReplaceParts(const Value& self, const CallArgs& args) {
  bool date = self.IsDate();
  std::vector<std::string_view> params = {"year", "month", "day"};
  if (!date) params.insert(params.end(), {"hour", "minute", "second", "microsecond"});
  BoundArgs a(date ? "date.replace()" : "datetime.replace()", args, params, 0);
  const DateTime& t = self.AsDateTime();
  int current[] = {t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second(), t.microsecond()};
  int parts[7];
  for (size_t i = 0; i < 7; ++i) {
    int64_t value = i < params.size() && a.Has(i) ? ExpectInt(a[i], params[i]) : current[i];
    if (value < INT32_MIN || value > INT32_MAX) throw TemplateError("replace(): date out of range");
    parts[i] = static_cast<int>(value);
  }
  try {
    DateTime naive =
        DateTime::FromParts(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], parts[6]);
    DateTime result(naive.wall_micros(), t.utc_offset_minutes());
    return date ? Value::Date(result) : Value(result);
  } catch (const std::invalid_argument&) {
    throw TemplateError("replace(): the result is not a valid date and time");
  }
}

// Methods shared by datetime and date values.
constexpr MethodEntry kDateTimeMethods[] = {
    {"replace", ReplaceParts},
    {"strftime",
     [](const Value& self, const CallArgs& args) {
       BoundArgs a("strftime()", args, {"format"}, 1);
       return Value(self.AsDateTime().Strftime(ExpectString(a[0], "strftime() format")));
     }},
    {"isoformat",
     [](const Value& self, const CallArgs& args) {
       if (self.IsDate()) {
         BoundArgs("date.isoformat()", args, {}, 0);
         return Value(self.AsDateTime().DateString());
       }
       BoundArgs a("datetime.isoformat()", args, {"sep"}, 0);
       std::string text = self.AsDateTime().IsoFormat();
       if (a.Has(0)) {
         const std::string& sep = ExpectString(a[0], "isoformat() sep");
         if (CodePointCount(sep) != 1) throw TemplateError("isoformat() sep must be one character");
         text.replace(10, 1, sep);
       }
       return Value(text);
     }},
    {"weekday",
     [](const Value& self, const CallArgs& args) {
       BoundArgs("weekday()", args, {}, 0);
       return Value(self.AsDateTime().weekday());
     }},
    {"isoweekday",
     [](const Value& self, const CallArgs& args) {
       BoundArgs("isoweekday()", args, {}, 0);
       return Value(self.AsDateTime().weekday() + 1);
     }},
};

// Methods only a datetime has.
constexpr MethodEntry kDateTimeOnlyMethods[] = {
    {"date",
     [](const Value& self, const CallArgs& args) {
       BoundArgs("datetime.date()", args, {}, 0);
       return Value::Date(self.AsDateTime());
     }},
};

template <size_t N>
std::optional<Value> Dispatch(const MethodEntry (&table)[N], const Value& self,
                              std::string_view name, const CallArgs& args) {
  for (const MethodEntry& entry : table) {
    if (entry.name == name) return entry.method(self, args);
  }
  return std::nullopt;
}

Value Range(const CallArgs& args) {
  if (!args.keyword.empty()) throw TemplateError("range() takes no keyword arguments");
  BoundArgs a("range()", args, {"start", "stop", "step"}, 1);
  int64_t start = a.Has(1) ? ExpectInt(a[0], "range() start") : 0;
  int64_t stop = ExpectInt(a[a.Has(1) ? 1 : 0], "range() stop");
  int64_t step = a.Has(2) ? ExpectInt(a[2], "range() step") : 1;
  if (step == 0) throw TemplateError("range() arg 3 must not be zero");
  List items;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (static_cast<int64_t>(items.size()) == kMaxRangeLength) {
      throw TemplateError("range() is too large (more than " + std::to_string(kMaxRangeLength) +
                          " items)");
    }
    items.emplace_back(i);
    if ((step > 0 && i > INT64_MAX - step) || (step < 0 && i < INT64_MIN - step)) break;
  }
  return Value(std::move(items));
}

Value MakeDict(const CallArgs& args) {
  if (!args.positional.empty()) throw TemplateError("dict() takes keyword arguments only");
  Dict dict;
  for (const auto& [key, value] : args.keyword) dict.emplace_back(key, value);
  return Value(std::move(dict));
}

}  // namespace

std::optional<Value> CallMethod(const Value& self, std::string_view name, const CallArgs& args) {
  switch (self.kind()) {
    case Value::Kind::kString:
      return Dispatch(kStringMethods, self, name, args);
    case Value::Kind::kDict:
      return Dispatch(kDictMethods, self, name, args);
    case Value::Kind::kList:
      return Dispatch(kListMethods, self, name, args);
    case Value::Kind::kDateTime:
      if (auto result = Dispatch(kDateTimeOnlyMethods, self, name, args)) return result;
      return Dispatch(kDateTimeMethods, self, name, args);
    case Value::Kind::kDate:
      return Dispatch(kDateTimeMethods, self, name, args);
    default:
      return std::nullopt;
  }
}

std::optional<Value> Global(std::string_view name) {
  if (name == "range") return Value(Function(Range));
  if (name == "dict") return Value(Function(MakeDict));
  return std::nullopt;
}

}  // namespace kiln::templating::internal
