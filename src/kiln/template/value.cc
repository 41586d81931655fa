#include "kiln/template/value.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "kiln/template/error.h"
#include "kiln/template/text.h"

namespace kiln::templating {
namespace {

// Python repr of a datetime.timezone with a fixed offset.
std::string TimezoneRepr(int offset_minutes) {
  if (offset_minutes == 0) return "datetime.timezone.utc";
  int seconds = offset_minutes * 60;
  std::string delta = seconds < 0 ? "days=-1, seconds=" + std::to_string(86400 + seconds)
                                  : "seconds=" + std::to_string(seconds);
  return "datetime.timezone(datetime.timedelta(" + delta + "))";
}

std::string DateTimeRepr(const DateTime& value, bool date_only) {
  std::string out = std::string(date_only ? "datetime.date(" : "datetime.datetime(") +
                    std::to_string(value.year()) + ", " + std::to_string(value.month()) + ", " +
                    std::to_string(value.day());
  if (date_only) return out + ")";
  out += ", " + std::to_string(value.hour()) + ", " + std::to_string(value.minute());
  if (value.second() != 0 || value.microsecond() != 0) out += ", " + std::to_string(value.second());
  if (value.microsecond() != 0) out += ", " + std::to_string(value.microsecond());
  if (value.aware()) out += ", tzinfo=" + TimezoneRepr(*value.utc_offset_minutes());
  return out + ")";
}

template <typename Json>
Value ValueFromJson(const Json& json) {
  switch (json.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      return Value::None();
    case nlohmann::json::value_t::boolean:
      return Value(json.template get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Value(json.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      auto u = json.template get<uint64_t>();
      if (u <= static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<int64_t>(u));
      return Value(static_cast<double>(u));
    }
    case nlohmann::json::value_t::number_float:
      return Value(json.template get<double>());
    case nlohmann::json::value_t::string:
      return Value(json.template get<std::string>());
    case nlohmann::json::value_t::array: {
      List list;
      for (const auto& item : json) list.push_back(ValueFromJson(item));
      return Value(std::move(list));
    }
    case nlohmann::json::value_t::object: {
      Dict dict;
      for (const auto& [key, item] : json.items()) dict.emplace_back(key, ValueFromJson(item));
      return Value(std::move(dict));
    }
    case nlohmann::json::value_t::binary:
      break;
  }
  throw TemplateError("binary JSON values are not supported");
}

}  // namespace

Value::Value() : data_(std::monostate{}) {}
Value Value::Undefined(std::string message) {
  Value v;
  v.data_ = UndefinedData{std::move(message)};
  return v;
}
Value Value::Date(kiln::DateTime date) {
  Value v;
  v.data_ = DateData{date.StartOfDay(), true};
  return v;
}
Value::Value(bool value) : data_(value) {}
Value::Value(int64_t value) : data_(value) {}
Value::Value(int value) : data_(int64_t{value}) {}
Value::Value(double value) : data_(value) {}
Value::Value(std::string value) : data_(std::move(value)) {}
Value::Value(const char* value) : data_(std::string(value)) {}
Value::Value(List value) : data_(std::make_shared<const List>(std::move(value))) {}
Value::Value(Dict value) : data_(std::make_shared<const Dict>(std::move(value))) {}
Value::Value(kiln::DateTime value) : data_(DateData{value, false}) {}
Value::Value(Function value) : data_(std::make_shared<const Function>(std::move(value))) {}

Value Value::FromJson(const nlohmann::json& json) {
  return ValueFromJson(json);
}
Value Value::FromJson(const nlohmann::ordered_json& json) {
  return ValueFromJson(json);
}

Value::Kind Value::kind() const {
  switch (data_.index()) {
    case 0:
      return Kind::kUndefined;
    case 1:
      return Kind::kNone;
    case 2:
      return Kind::kBool;
    case 3:
      return Kind::kInt;
    case 4:
      return Kind::kFloat;
    case 5:
      return Kind::kString;
    case 6:
      return Kind::kList;
    case 7:
      return Kind::kDict;
    case 8:
      return std::get<DateData>(data_).date_only ? Kind::kDate : Kind::kDateTime;
    default:
      return Kind::kFunction;
  }
}

double Value::AsDouble() const {
  if (IsBool()) return AsBool() ? 1.0 : 0.0;
  if (IsInt()) return static_cast<double>(AsInt());
  return std::get<double>(data_);
}

const Value* Value::Find(std::string_view key) const {
  if (!IsDict()) return nullptr;
  for (const auto& [k, v] : AsDict()) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string Value::Str() const {
  switch (kind()) {
    case Kind::kString:
      return AsString();
    case Kind::kDateTime:
      return AsDateTime().ToString();
    case Kind::kDate:
      return AsDateTime().DateString();
    default:
      return Repr();
  }
}

std::string Value::Repr() const {
  switch (kind()) {
    case Kind::kUndefined:
      throw TemplateError(UndefinedMessage());
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return AsBool() ? "True" : "False";
    case Kind::kInt:
      return std::to_string(AsInt());
    case Kind::kFloat:
      return internal::FloatRepr(AsDouble());
    case Kind::kString:
      return internal::StringRepr(AsString());
    case Kind::kList: {
      std::string out = "[";
      for (const Value& item : AsList()) out += (out.size() > 1 ? ", " : "") + item.Repr();
      return out + "]";
    }
    case Kind::kDict: {
      std::string out = "{";
      for (const auto& [key, item] : AsDict()) {
        out += (out.size() > 1 ? ", " : "") + internal::StringRepr(key) + ": " + item.Repr();
      }
      return out + "}";
    }
    case Kind::kDateTime:
      return DateTimeRepr(AsDateTime(), false);
    case Kind::kDate:
      return DateTimeRepr(AsDateTime(), true);
    case Kind::kFunction:
      return "<function>";
  }
  return "";
}

bool Value::Truthy() const {
  switch (kind()) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return AsBool();
    case Kind::kInt:
      return AsInt() != 0;
    case Kind::kFloat:
      return AsDouble() != 0.0;
    case Kind::kString:
      return !AsString().empty();
    case Kind::kList:
      return !AsList().empty();
    case Kind::kDict:
      return !AsDict().empty();
    default:
      return true;
  }
}

bool Value::Equals(const Value& other) const {
  Kind a = kind();
  Kind b = other.kind();
  bool a_numeric = a == Kind::kBool || a == Kind::kInt || a == Kind::kFloat;
  bool b_numeric = b == Kind::kBool || b == Kind::kInt || b == Kind::kFloat;
  if (a_numeric && b_numeric) {
    if (a == Kind::kFloat || b == Kind::kFloat) return AsDouble() == other.AsDouble();
    auto as_int = [](const Value& v) { return v.IsBool() ? int64_t{v.AsBool()} : v.AsInt(); };
    return as_int(*this) == as_int(other);
  }
  if (a != b) return false;
  switch (a) {
    case Kind::kUndefined:
      return false;
    case Kind::kNone:
      return true;
    case Kind::kString:
      return AsString() == other.AsString();
    case Kind::kList: {
      const List& x = AsList();
      const List& y = other.AsList();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!x[i].Equals(y[i])) return false;
      }
      return true;
    }
    case Kind::kDict: {
      if (AsDict().size() != other.AsDict().size()) return false;
      for (const auto& [key, item] : AsDict()) {
        const Value* match = other.Find(key);
        if (match == nullptr || !item.Equals(*match)) return false;
      }
      return true;
    }
    case Kind::kDateTime:
    case Kind::kDate: {
      const DateTime& x = AsDateTime();
      const DateTime& y = other.AsDateTime();
      if (x.aware() != y.aware()) return false;
      return x.aware() ? x.utc_micros() == y.utc_micros() : x.wall_micros() == y.wall_micros();
    }
    case Kind::kFunction:
      return SameAs(other);
    default:
      return false;
  }
}

std::string Value::TypeName() const {
  switch (kind()) {
    case Kind::kUndefined:
      return "Undefined";
    case Kind::kNone:
      return "NoneType";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kList:
      return "list";
    case Kind::kDict:
      return "dict";
    case Kind::kDateTime:
      return "datetime.datetime";
    case Kind::kDate:
      return "datetime.date";
    case Kind::kFunction:
      return "function";
  }
  return "";
}

bool Value::SameAs(const Value& other) const {
  if (kind() != other.kind()) return false;
  switch (kind()) {
    case Kind::kNone:
      return true;
    case Kind::kBool:
      return AsBool() == other.AsBool();
    case Kind::kInt:
      return AsInt() == other.AsInt();
    case Kind::kList:
      return &AsList() == &other.AsList();
    case Kind::kDict:
      return &AsDict() == &other.AsDict();
    case Kind::kFunction:
      return &AsFunction() == &other.AsFunction();
    default:
      return false;
  }
}

}  // namespace kiln::templating
