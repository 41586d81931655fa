// template/value.h: the values a Kiln template computes with.
// A Value is what a context variable, a literal or an expression yields while a SQL or YAML text
// is rendered: Python's None, bool, int, float, str, list, dict, datetime/date and callables, plus
// Jinja's "undefined" (a name or key that does not exist), which carries the message to report
// when the template uses it. Values are immutable; copies share lists, dicts and functions.
//
//   Context context;
//   context.Set("execution_date", Value(DateTime::FromParts(2024, 1, 31)));
//   context.Set("tables", Value(List{"orders", "users"}));
//   context.Set("env_var", Value(Function([](const CallArgs& args) { ... })));
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "kiln/common/datetime.h"

namespace kiln::templating {

class Value;
struct CallArgs;

//! A Python list. Tuples written in a template, such as `('a', 'b')`, are lists too.
using List = std::vector<Value>;
//! A Python dict with string keys, in insertion order; each key appears at most once.
using Dict = std::vector<std::pair<std::string, Value>>;
//! A callable the template can invoke, such as `env_var('X')` or `variables('name')`.
//! It may throw TemplateError or kiln::Error (reported at the line of the call), and may return
//! Value::Undefined(...) for a soft miss that the template can test with `is defined`/`default`.
using Function = std::function<Value(const CallArgs&)>;

//! A value: undefined, none, bool, int (int64), float (double), string (UTF-8), list, dict,
//! datetime, date or function.
class Value {
 public:
  //! What a Value holds.
  enum class Kind {
    kUndefined,
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kList,
    kDict,
    kDateTime,
    kDate,
    kFunction
  };

  //! None.
  Value();
  static Value None() { return Value(); }
  //! A missing value. `message` is what using it reports, e.g. "'foo' is undefined" or
  //! "environment variable 'X' is not set".
  static Value Undefined(std::string message);
  //! A Python date (datetime.date): `date`'s time of day is dropped; Str() is "YYYY-MM-DD".
  static Value Date(kiln::DateTime date);

  Value(bool value);
  Value(int64_t value);
  Value(int value);
  Value(double value);
  Value(std::string value);
  Value(const char* value);
  Value(List value);
  Value(Dict value);
  //! A Python datetime.datetime, naive or aware.
  Value(kiln::DateTime value);
  Value(Function value);
  //! Any other callable taking `const CallArgs&`, e.g. a lambda, held as a Function.
  template <typename Callable>
  requires std::is_invocable_r_v<Value, Callable&, const CallArgs&> Value(Callable callable)
      : Value(Function(std::move(callable))) {}

  //! Objects become Dicts (in the json's iteration order), arrays Lists, integers that fit int64
  //! ints, other numbers floats.
  static Value FromJson(const nlohmann::json& json);
  //! As above, keeping the objects' insertion order.
  static Value FromJson(const nlohmann::ordered_json& json);

  Kind kind() const;
  bool IsUndefined() const { return kind() == Kind::kUndefined; }
  bool IsNone() const { return kind() == Kind::kNone; }
  bool IsBool() const { return kind() == Kind::kBool; }
  bool IsInt() const { return kind() == Kind::kInt; }
  bool IsFloat() const { return kind() == Kind::kFloat; }
  //! An int or a float (a bool is not, although Python arithmetic accepts it).
  bool IsNumber() const { return IsInt() || IsFloat(); }
  bool IsString() const { return kind() == Kind::kString; }
  bool IsList() const { return kind() == Kind::kList; }
  bool IsDict() const { return kind() == Kind::kDict; }
  bool IsDateTime() const { return kind() == Kind::kDateTime; }
  bool IsDate() const { return kind() == Kind::kDate; }
  bool IsFunction() const { return kind() == Kind::kFunction; }

  // Accessors. REQUIRES: the matching Is...() is true (AsDouble: a bool, int or float;
  // AsDateTime: a datetime or a date, the latter at 00:00:00).
  bool AsBool() const { return std::get<bool>(data_); }
  int64_t AsInt() const { return std::get<int64_t>(data_); }
  double AsDouble() const;
  const std::string& AsString() const { return std::get<std::string>(data_); }
  const List& AsList() const { return *std::get<std::shared_ptr<const List>>(data_); }
  const Dict& AsDict() const { return *std::get<std::shared_ptr<const Dict>>(data_); }
  const kiln::DateTime& AsDateTime() const { return std::get<DateData>(data_).value; }
  const Function& AsFunction() const { return *std::get<std::shared_ptr<const Function>>(data_); }
  //! REQUIRES: IsUndefined(). The message to report when the value is used.
  const std::string& UndefinedMessage() const { return std::get<UndefinedData>(data_).message; }

  //! The value stored under `key` when this is a dict that has it, else nullptr.
  const Value* Find(std::string_view key) const;

  //! Python str(): None -> "None", True -> "True", 1.0 -> "1.0", 1e20 -> "1e+20",
  //! ['a', 1] -> "['a', 1]", {'a': 1} -> "{'a': 1}", a datetime -> DateTime::ToString().
  //! Throws TemplateError(UndefinedMessage()) for an undefined value.
  std::string Str() const;
  //! Python repr(): strings quoted, datetimes as "datetime.datetime(2024, 1, 31, 0, 0)".
  //! Throws as Str() for an undefined value.
  std::string Repr() const;
  //! Python truthiness: None, False, 0, 0.0, '', [] and {} are false; undefined is false too.
  bool Truthy() const;
  //! Python ==: 1 == 1.0 == True; lists and dicts compare element-wise; datetimes by instant.
  //! An undefined value equals nothing (callers report it before comparing).
  bool Equals(const Value& other) const;
  //! The Python type name used in messages: "NoneType", "int", "str", "datetime.datetime", ...
  std::string TypeName() const;
  //! Python `is`, approximated: the same shared list, dict or function, or the same None, bool
  //! or int value.
  bool SameAs(const Value& other) const;

 private:
  struct UndefinedData {
    std::string message;
  };
  struct DateData {
    kiln::DateTime value;
    bool date_only;
  };
  std::variant<UndefinedData, std::monostate, bool, int64_t, double, std::string,
               std::shared_ptr<const List>, std::shared_ptr<const Dict>, DateData,
               std::shared_ptr<const Function>>
      data_;
};

//! The arguments of a call: `f(1, x, key='v')` has positional [1, x] and keyword [("key", 'v')].
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

}  // namespace kiln::templating
