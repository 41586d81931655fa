// template/builtins.h (internal): what a template can call by name.
// Filters (`x|upper`), tests (`x is defined`), methods of values (`s.strip()`, `d.items()`,
// `execution_date.strftime('%Y')`) and global functions (`range`, `dict`). Each throws an
// unlocated TemplateError on misuse; the renderer adds the template line.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/template/value.h"

namespace kiln::templating::internal {

//! Whether a filter named `name` exists (the parser rejects unknown filters).
bool IsFilter(std::string_view name);
//! Applies filter `name` to `input`. REQUIRES: IsFilter(name). Only `default` accepts an
//! undefined input; the others report its message.
Value ApplyFilter(std::string_view name, const Value& input, const CallArgs& args);

//! Whether a test named `name` exists (the parser rejects unknown tests).
bool IsTest(std::string_view name);
//! Evaluates `input is name(args)`. REQUIRES: IsTest(name). Type tests (defined, none, string,
//! ...) accept an undefined input; value tests (even, divisibleby, ...) report its message.
bool ApplyTest(std::string_view name, const Value& input, const CallArgs& args);

//! Calls method `name` of `self`, e.g. str.upper, dict.items, datetime.strftime.
//! nullopt when values of that type have no such method.
std::optional<Value> CallMethod(const Value& self, std::string_view name, const CallArgs& args);

//! The built-in global function `name` (range, dict), or nullopt.
std::optional<Value> Global(std::string_view name);

//! A call's arguments bound to a builtin's parameters the way Python binds them:
//!   BoundArgs args("replace()", call_args, {"old", "new", "count"}, /*required=*/2);
//!   args[0]; args.Get(2, Value(-1));
//! Throws TemplateError for too many arguments, an unknown or repeated keyword, or a missing
//! required argument.
class BoundArgs {
 public:
  BoundArgs(std::string_view callee, const CallArgs& args, std::vector<std::string_view> params,
            size_t required);
  //! Whether parameter `i` was given.
  bool Has(size_t i) const { return values_[i] != nullptr; }
  //! REQUIRES: Has(i).
  const Value& operator[](size_t i) const { return *values_[i]; }
  //! Parameter `i`, or `fallback` when it was not given.
  Value Get(size_t i, Value fallback) const { return Has(i) ? *values_[i] : fallback; }

 private:
  std::vector<const Value*> values_;
};

//! `value` as a string; throws TemplateError naming `what` when it is not one.
const std::string& ExpectString(const Value& value, std::string_view what);
//! `value` as an int (a bool counts); throws TemplateError naming `what` when it is not one.
int64_t ExpectInt(const Value& value, std::string_view what);

}  // namespace kiln::templating::internal
