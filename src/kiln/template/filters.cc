// Jinja's built-in filters (`value|name(args)`), with Jinja 3.1's behaviour unless noted.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "kiln/template/builtins.h"
#include "kiln/template/error.h"
#include "kiln/template/format.h"
#include "kiln/template/operators.h"
#include "kiln/template/text.h"

namespace kiln::templating::internal {
namespace {

using FilterFn = Value (*)(const Value& input, const CallArgs& args);
struct FilterEntry {
  std::string_view name;
  FilterFn apply;
};

// The integer value of an int or bool.
int64_t IntValue(const Value& value) {
  return value.IsBool() ? value.AsBool() : value.AsInt();
}

int64_t FloorDivideBy(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Jinja's attribute lookup for `attribute=` arguments: "a.b" or "items.0".
Value AttributePath(const Value& item, std::string_view path) {
  Value value = item;
  while (true) {
    size_t dot = std::min(path.find('.'), path.size());
    std::string_view part = path.substr(0, dot);
    int64_t index = 0;
    auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), index);
    bool numeric = error == std::errc() && end == part.data() + part.size() && !part.empty();
    value = numeric ? GetItem(value, Value(index)) : GetAttribute(value, part);
    if (dot == path.size()) return value;
    path.remove_prefix(dot + 1);
  }
}

// The sort key of `item` for sort/unique/min/max: its attribute, lower-cased unless case matters.
Value SortKey(const Value& item, const Value& attribute, bool case_sensitive) {
  Value key = attribute.IsNone() ? item : AttributePath(item, ExpectString(attribute, "attribute"));
  if (!case_sensitive && key.IsString()) return Value(AsciiLower(key.AsString()));
  return key;
}

// Python int(text, base) for the `int` filter; nullopt when `text` is not an integer.
std::optional<int64_t> ParseInt(std::string_view text, int base) {
  std::string digits = Strip(text, true, true);
  bool negative = !digits.empty() && digits[0] == '-';
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.erase(0, 1);
  if (digits.size() > 2 && digits[0] == '0') {
    char p = static_cast<char>(std::tolower(digits[1]));
    if ((p == 'x' && base == 16) || (p == 'o' && base == 8) || (p == 'b' && base == 2)) {
      digits.erase(0, 2);
    }
  }
  std::string clean;
  for (size_t i = 0; i < digits.size(); ++i) {
    bool between = i > 0 && i + 1 < digits.size() && digits[i - 1] != '_';
    if (digits[i] == '_' && between) continue;
    clean += digits[i];
  }
  uint64_t magnitude = 0;
  auto [end, error] = std::from_chars(clean.data(), clean.data() + clean.size(), magnitude, base);
  if (clean.empty() || error != std::errc() || end != clean.data() + clean.size()) {
    return std::nullopt;
  }
  if (magnitude > static_cast<uint64_t>(INT64_MAX) + (negative ? 1 : 0)) return std::nullopt;
  return negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
}

// Python float(text); nullopt when `text` is not a number.
std::optional<double> ParseFloat(std::string_view text) {
  std::string clean = Strip(text, true, true);
  if (clean.empty() || clean.find_first_of("xX_") != std::string::npos) return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(clean.c_str(), &end);
  if (end != clean.c_str() + clean.size()) return std::nullopt;
  return value;
}

// Python round(value, digits) on a float: correctly rounded, ties to even.
double RoundHalfEven(double value, int64_t digits) {
  if (!std::isfinite(value) || digits > 300) return value;
  if (digits >= 0) {
    char buf[512];
    std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(std::min<int64_t>(digits, 340)), value);
    return std::strtod(buf, nullptr);
  }
  double scale = std::pow(10.0, static_cast<double>(-digits));
  return std::nearbyint(value / scale) * scale;
}

Value Round(const Value& input, const CallArgs& args) {
  BoundArgs a("filter 'round'", args, {"precision", "method"}, 0);
  int64_t precision = a.Has(0) ? ExpectInt(a[0], "round precision") : 0;
  std::string method = a.Has(1) ? ExpectString(a[1], "round method") : "common";
  if (method != "common" && method != "ceil" && method != "floor") {
    throw TemplateError("round method must be common, ceil or floor");
  }
  if (!input.IsNumber() && !input.IsBool()) {
    throw TemplateError("round() needs a number, not '" + input.TypeName() + "'");
  }
  if (method == "common") {
    if (input.IsFloat()) return Value(RoundHalfEven(input.AsDouble(), precision));
    int64_t value = IntValue(input);
    if (precision >= 0 || precision < -18) return Value(precision < -18 ? 0 : value);
    int64_t scale = 1;
    for (int64_t i = 0; i < -precision; ++i) scale *= 10;
    int64_t low = FloorDivideBy(value, scale) * scale;
    int64_t rest = value - low;
    bool up = rest * 2 > scale || (rest * 2 == scale && (low / scale) % 2 != 0);
    return Value(up ? low + scale : low);
  }
  double scale = std::pow(10.0, static_cast<double>(precision));
  double scaled = input.AsDouble() * scale;
  return Value((method == "ceil" ? std::ceil(scaled) : std::floor(scaled)) / scale);
}

Value Int(const Value& input, const CallArgs& args) {
  BoundArgs a("filter 'int'", args, {"default", "base"}, 0);
  Value fallback = a.Get(0, Value(0));
  int base = a.Has(1) ? static_cast<int>(ExpectInt(a[1], "int base")) : 10;
  if (input.IsInt() || input.IsBool()) return Value(IntValue(input));
  if (input.IsFloat()) {
    double d = std::trunc(input.AsDouble());
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return fallback;
    return Value(static_cast<int64_t>(d));
  }
  if (!input.IsString()) return fallback;
  if (base < 2 || base > 36) throw TemplateError("int() base must be >= 2 and <= 36");
  if (auto parsed = ParseInt(input.AsString(), base)) return Value(*parsed);
  if (base == 10) {
    if (auto parsed = ParseFloat(input.AsString()))
      return Int(Value(*parsed), CallArgs{{fallback}, {}});
  }
  return fallback;
}

Value Float(const Value& input, const CallArgs& args) {
  BoundArgs a("filter 'float'", args, {"default"}, 0);
  if (input.IsNumber() || input.IsBool()) return Value(input.AsDouble());
  if (input.IsString()) {
    if (auto parsed = ParseFloat(input.AsString())) return Value(*parsed);
  }
  return a.Get(0, Value(0.0));
}

Value Length(const Value& input, const CallArgs& args) {
  BoundArgs("filter 'length'", args, {}, 0);
  if (input.IsString()) return Value(static_cast<int64_t>(CodePointCount(input.AsString())));
  if (input.IsList()) return Value(static_cast<int64_t>(input.AsList().size()));
  if (input.IsDict()) return Value(static_cast<int64_t>(input.AsDict().size()));
  throw TemplateError("object of type '" + input.TypeName() + "' has no len()");
}

Value Join(const Value& input, const CallArgs& args) {
  BoundArgs a("filter 'join'", args, {"d", "attribute"}, 0);
  std::string separator = a.Has(0) ? a[0].Str() : "";
  Value attribute = a.Get(1, Value::None());
  std::string out;
  List items = Iterate(input);
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += SortKey(items[i], attribute, true).Str();
  }
  return Value(std::move(out));
}

Value Sort(const Value& input, const CallArgs& args) {
  BoundArgs a("filter 'sort'", args, {"reverse", "case_sensitive", "attribute"}, 0);
  bool reverse = a.Get(0, false).Truthy();
  bool case_sensitive = a.Get(1, false).Truthy();
  Value attribute = a.Get(2, Value::None());
  List items = Iterate(input);
  std::vector<std::pair<Value, Value>> keyed;  // (key, item)
  for (const Value& item : items)
    keyed.emplace_back(SortKey(item, attribute, case_sensitive), item);
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    return reverse ? Less(y.first, x.first) : Less(x.first, y.first);
  });
  List sorted;
  for (auto& [key, item] : keyed) sorted.push_back(std::move(item));
  return Value(std::move(sorted));
}

Value Unique(const Value& input, const CallArgs& args) {
  BoundArgs a("filter 'unique'", args, {"case_sensitive", "attribute"}, 0);
  bool case_sensitive = a.Get(0, false).Truthy();
  Value attribute = a.Get(1, Value::None());
  List seen;
  List unique;
  for (const Value& item : Iterate(input)) {
    Value key = SortKey(item, attribute, case_sensitive);
    RequireDefined(key);
    bool found =
        std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return s.Equals(key); });
    if (found) continue;
    seen.push_back(key);
    unique.push_back(item);
  }
  return Value(std::move(unique));
}

// min and max: the item whose key is smallest (largest when `largest`).
Value Extreme(const Value& input, const CallArgs& args, bool largest) {
  BoundArgs a(largest ? "filter 'max'" : "filter 'min'", args, {"case_sensitive", "attribute"}, 0);
  bool case_sensitive = a.Get(0, false).Truthy();
  Value attribute = a.Get(1, Value::None());
  List items = Iterate(input);
  if (items.empty()) return Value::Undefined("No aggregated item, sequence was empty.");
  size_t best = 0;
  Value best_key = SortKey(items[0], attribute, case_sensitive);
  for (size_t i = 1; i < items.size(); ++i) {
    Value key = SortKey(items[i], attribute, case_sensitive);
    if (largest ? Less(best_key, key) : Less(key, best_key)) {
      best = i;
      best_key = key;
    }
  }
  return items[best];
}

Value Sum(const Value& input, const CallArgs& args) {
  BoundArgs a("filter 'sum'", args, {"attribute", "start"}, 0);
  Value attribute = a.Get(0, Value::None());
  Value total = a.Get(1, Value(0));
  for (const Value& item : Iterate(input)) {
    total = Arithmetic("+", total, SortKey(item, attribute, true));
  }
  return total;
}

Value Reverse(const Value& input, const CallArgs& args) {
  BoundArgs("filter 'reverse'", args, {}, 0);
  if (input.IsString()) {
    std::u32string points = DecodeUtf8(input.AsString());
    std::reverse(points.begin(), points.end());
    return Value(EncodeUtf8(points));
  }
  List items = Iterate(input);
  std::reverse(items.begin(), items.end());
  return Value(std::move(items));
}

// Jinja's title filter: upper-cases the first letter after whitespace, -, (, {, [ or <.
Value Title(const Value& input, const CallArgs& args) {
  BoundArgs("filter 'title'", args, {}, 0);
  std::string text = input.Str();
  bool word_start = true;
  for (char& c : text) {
    bool boundary = IsSpace(c) || std::string_view("-({[<").find(c) != std::string_view::npos;
    if (!boundary) {
      std::string one =
          word_start ? AsciiUpper(std::string_view(&c, 1)) : AsciiLower(std::string_view(&c, 1));
      c = one[0];
    }
    word_start = boundary;
  }
  return Value(std::move(text));
}

// Jinja's escape: HTML-escapes & < > " ' (it is not SQL quoting).
Value Escape(const Value& input, const CallArgs& args) {
  BoundArgs("filter 'escape'", args, {}, 0);
  std::string out;
  for (char c : input.Str()) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return Value(std::move(out));
}

Value FormatFilter(const Value& input, const CallArgs& args) {
  if (!args.positional.empty() && !args.keyword.empty()) {
    throw TemplateError(
        "filter 'format' can't handle positional and keyword arguments at the same time");
  }
  if (!args.keyword.empty()) {
    Dict names(args.keyword.begin(), args.keyword.end());
    return Value(PercentFormat(input.Str(), Value(std::move(names))));
  }
  return Value(PercentFormat(input.Str(), Value(args.positional)));
}

// The arguments after the first positional one (a filter or test name).
CallArgs Rest(const CallArgs& args, size_t skip) {
  CallArgs rest{{}, args.keyword};
  if (args.positional.size() > skip) {
    rest.positional.assign(args.positional.begin() + static_cast<ptrdiff_t>(skip),
                           args.positional.end());
  }
  return rest;
}

Value Map(const Value& input, const CallArgs& args) {
  List out;
  if (!args.positional.empty()) {
    const std::string& name = ExpectString(args.positional[0], "map() filter name");
    if (!IsFilter(name)) throw TemplateError("unknown filter '" + name + "'");
    CallArgs rest = Rest(args, 1);
    for (const Value& item : Iterate(input)) out.push_back(ApplyFilter(name, item, rest));
    return Value(std::move(out));
  }
  BoundArgs a("filter 'map'", args, {"attribute", "default"}, 1);
  for (const Value& item : Iterate(input)) {
    Value value = AttributePath(item, ExpectString(a[0], "map() attribute"));
    out.push_back(value.IsUndefined() && a.Has(1) ? a[1] : value);
  }
  return Value(std::move(out));
}

// select, reject, selectattr and rejectattr: keeps the items whose value (or attribute) passes
// the named test, or is truthy when no test is named; `keep` false inverts the choice.
Value SelectItems(const Value& input, const CallArgs& args, bool by_attribute, bool keep) {
  std::string attribute;
  if (by_attribute) {
    if (args.positional.empty()) throw TemplateError("missing attribute name");
    attribute = ExpectString(args.positional[0], "attribute");
  }
  size_t test_at = by_attribute ? 1 : 0;
  std::string test;
  if (args.positional.size() > test_at) {
    test = ExpectString(args.positional[test_at], "test name");
    if (!IsTest(test)) throw TemplateError("unknown test '" + test + "'");
  }
  CallArgs rest = Rest(args, test_at + 1);
  List out;
  for (const Value& item : Iterate(input)) {
    Value value = by_attribute ? AttributePath(item, attribute) : item;
    bool passes = test.empty() ? value.Truthy() : ApplyTest(test, value, rest);
    if (passes == keep) out.push_back(item);
  }
  return Value(std::move(out));
}

Value Items(const Value& input, const CallArgs& args) {
  BoundArgs("filter 'items'", args, {}, 0);
  if (!input.IsDict())
    throw TemplateError("filter 'items' needs a dict, not '" + input.TypeName() + "'");
  List items;
  for (const auto& [key, value] : input.AsDict()) items.emplace_back(List{key, value});
  return Value(std::move(items));
}

// `default(value='', boolean=false)`: replaces an undefined input (or, with boolean, a falsy one).
Value Default(const Value& input, const CallArgs& args) {
  BoundArgs a("filter 'default'", args, {"default_value", "boolean"}, 0);
  bool replace = input.IsUndefined() || (a.Get(1, false).Truthy() && !input.Truthy());
  return replace ? a.Get(0, Value("")) : input;
}

// Filters that take the input's str() and no or simple arguments.
Value StringFilter(const Value& input, const CallArgs& args, std::string_view name) {
  if (name == "trim") {
    BoundArgs a("filter 'trim'", args, {"chars"}, 0);
    if (!a.Has(0) || a[0].IsNone()) return Value(Strip(input.Str(), true, true));
    return Value(Strip(input.Str(), true, true, ExpectString(a[0], "trim chars")));
  }
  if (name == "replace") {
    BoundArgs a("filter 'replace'", args, {"old", "new", "count"}, 2);
    int64_t count = a.Has(2) && !a[2].IsNone() ? ExpectInt(a[2], "replace count") : -1;
    return Value(ReplaceAll(input.Str(), a[0].Str(), a[1].Str(), count));
  }
  BoundArgs("filter '" + std::string(name) + "'", args, {}, 0);
  if (name == "upper") return Value(AsciiUpper(input.Str()));
  if (name == "lower") return Value(AsciiLower(input.Str()));
  if (name == "capitalize") return Value(Capitalize(input.Str()));
  return Value(input.Str());  // string
}

Value FirstOrLast(const Value& input, const CallArgs& args, bool first) {
  BoundArgs(first ? "filter 'first'" : "filter 'last'", args, {}, 0);
  List items = Iterate(input);
  if (items.empty()) {
    return Value::Undefined(first ? "No first item, sequence was empty."
                                  : "No last item, sequence was empty.");
  }
  return first ? items.front() : items.back();
}

constexpr FilterEntry kFilters[] = {
    {"abs",
     [](const Value& input, const CallArgs& args) {
       BoundArgs("filter 'abs'", args, {}, 0);
       if (input.IsFloat()) return Value(std::fabs(input.AsDouble()));
       if (!input.IsInt() && !input.IsBool()) {
         throw TemplateError("bad operand type for abs(): '" + input.TypeName() + "'");
       }
       Value value(IntValue(input));
       return value.AsInt() < 0 ? UnaryArithmetic("-", value) : value;
     }},
    {"capitalize",
     [](const Value& i, const CallArgs& a) { return StringFilter(i, a, "capitalize"); }},
    {"count", Length},
    {"d", Default},
    {"default", Default},
    {"e", Escape},
    {"escape", Escape},
    {"first", [](const Value& i, const CallArgs& a) { return FirstOrLast(i, a, true); }},
    {"float", Float},
    {"format", FormatFilter},
    {"int", Int},
    {"items", Items},
    {"join", Join},
    {"last", [](const Value& i, const CallArgs& a) { return FirstOrLast(i, a, false); }},
    {"length", Length},
    {"list",
     [](const Value& input, const CallArgs& args) {
       BoundArgs("filter 'list'", args, {}, 0);
       return Value(Iterate(input));
     }},
    {"lower", [](const Value& i, const CallArgs& a) { return StringFilter(i, a, "lower"); }},
    {"map", Map},
    {"max", [](const Value& i, const CallArgs& a) { return Extreme(i, a, true); }},
    {"min", [](const Value& i, const CallArgs& a) { return Extreme(i, a, false); }},
    {"reject", [](const Value& i, const CallArgs& a) { return SelectItems(i, a, false, false); }},
    {"rejectattr",
     [](const Value& i, const CallArgs& a) { return SelectItems(i, a, true, false); }},
    {"replace", [](const Value& i, const CallArgs& a) { return StringFilter(i, a, "replace"); }},
    {"reverse", Reverse},
    {"round", Round},
    {"safe",
     [](const Value& input, const CallArgs& args) {
       BoundArgs("filter 'safe'", args, {}, 0);
       return input;
     }},
    {"select", [](const Value& i, const CallArgs& a) { return SelectItems(i, a, false, true); }},
    {"selectattr", [](const Value& i, const CallArgs& a) { return SelectItems(i, a, true, true); }},
    {"sort", Sort},
    {"string", [](const Value& i, const CallArgs& a) { return StringFilter(i, a, "string"); }},
    {"sum", Sum},
    {"title", Title},
    {"tojson",
     [](const Value& input, const CallArgs& args) {
       BoundArgs a("filter 'tojson'", args, {"indent"}, 0);
       int indent = a.Has(0) && !a[0].IsNone() ? static_cast<int>(ExpectInt(a[0], "indent")) : -1;
       return Value(ToJson(input, indent));
     }},
    {"trim", [](const Value& i, const CallArgs& a) { return StringFilter(i, a, "trim"); }},
    {"unique", Unique},
    {"upper", [](const Value& i, const CallArgs& a) { return StringFilter(i, a, "upper"); }},
};

const FilterEntry* FindFilter(std::string_view name) {
  for (const FilterEntry& entry : kFilters) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

}  // namespace

bool IsFilter(std::string_view name) {
  return FindFilter(name) != nullptr;
}

Value ApplyFilter(std::string_view name, const Value& input, const CallArgs& args) {
  if (name != "default" && name != "d") RequireDefined(input);
  return FindFilter(name)->apply(input, args);
}

}  // namespace kiln::templating::internal
