// Jinja's built-in tests (`value is name`, `value is not name(args)`).
#include "kiln/template/builtins.h"
#include "kiln/template/error.h"
#include "kiln/template/operators.h"
#include "kiln/template/text.h"

namespace kiln::templating::internal {
namespace {

using Kind = Value::Kind;

// Tests of a value's type; they accept undefined values and take no arguments.
bool TypeTest(std::string_view name, const Value& v) {
  Kind k = v.kind();
  if (name == "defined") return k != Kind::kUndefined;
  if (name == "undefined") return k == Kind::kUndefined;
  if (name == "none") return k == Kind::kNone;
  if (name == "string") return k == Kind::kString;
  if (name == "number") return k == Kind::kInt || k == Kind::kFloat || k == Kind::kBool;
  if (name == "integer") return k == Kind::kInt;
  if (name == "float") return k == Kind::kFloat;
  if (name == "boolean") return k == Kind::kBool;
  if (name == "true") return k == Kind::kBool && v.AsBool();
  if (name == "false") return k == Kind::kBool && !v.AsBool();
  if (name == "mapping") return k == Kind::kDict;
  if (name == "callable") return k == Kind::kFunction;
  return k == Kind::kString || k == Kind::kList || k == Kind::kDict;  // iterable, sequence
}

// Whether str(v) has cased characters and all of them are lower-case (or upper-case).
bool CaseTest(const Value& v, bool lower) {
  bool cased = false;
  for (char c : v.Str()) {
    if (c >= 'a' && c <= 'z') {
      if (!lower) return false;
      cased = true;
    } else if (c >= 'A' && c <= 'Z') {
      if (lower) return false;
      cased = true;
    }
  }
  return cased;
}

constexpr std::string_view kTypeTests[] = {"defined", "undefined", "none",     "string",  "number",
                                           "integer", "float",     "boolean",  "true",    "false",
                                           "mapping", "callable",  "iterable", "sequence"};

// Tests of a value's content: name -> the comparison operator they stand for, if any.
constexpr std::pair<std::string_view, std::string_view> kComparisonTests[] = {
    {"eq", "=="}, {"equalto", "=="}, {"ne", "!="},         {"lt", "<"},  {"lessthan", "<"},
    {"le", "<="}, {"gt", ">"},       {"greaterthan", ">"}, {"ge", ">="}, {"in", "in"}};

constexpr std::string_view kValueTests[] = {"even",   "odd",   "divisibleby",
                                            "sameas", "lower", "upper"};

template <typename Range>
bool Has(const Range& names, std::string_view name) {
  for (std::string_view n : names) {
    if (n == name) return true;
  }
  return false;
}

}  // namespace

bool IsTest(std::string_view name) {
  if (Has(kTypeTests, name) || Has(kValueTests, name)) return true;
  for (const auto& [test, op] : kComparisonTests) {
    if (test == name) return true;
  }
  return false;
}

bool ApplyTest(std::string_view name, const Value& input, const CallArgs& args) {
  std::string callee = "test '" + std::string(name) + "'";
  if (Has(kTypeTests, name)) {
    BoundArgs(callee, args, {}, 0);
    return TypeTest(name, input);
  }
  if (name == "sameas") {  // identity: an undefined value is simply not the same as anything
    BoundArgs a(callee, args, {"other"}, 1);
    return input.SameAs(a[0]);
  }
  RequireDefined(input);
  for (const auto& [test, op] : kComparisonTests) {
    if (test == name) {
      BoundArgs a(callee, args, {"other"}, 1);
      return Compare(op, input, a[0]);
    }
  }
  if (name == "even" || name == "odd") {
    BoundArgs(callee, args, {}, 0);
    return Arithmetic("%", input, Value(2)).Equals(Value(name == "odd" ? 1 : 0));
  }
  if (name == "divisibleby") {
    BoundArgs a(callee, args, {"num"}, 1);
    return Arithmetic("%", input, a[0]).Equals(Value(0));
  }
  BoundArgs(callee, args, {}, 0);
  return CaseTest(input, name == "lower");
}

}  // namespace kiln::templating::internal
