#include "kiln/template/operators.h"

#include <cmath>
#include <compare>

#include "kiln/template/error.h"
#include "kiln/template/format.h"
#include "kiln/template/text.h"

namespace kiln::templating::internal {
namespace {

using Kind = Value::Kind;

// Repetition results larger than this are refused rather than exhausting memory.
constexpr size_t kMaxRepeatedSize = size_t{1} << 28;

bool IsIntLike(const Value& v) {
  return v.IsBool() || v.IsInt();
}
bool IsNumeric(const Value& v) {
  return IsIntLike(v) || v.IsFloat();
}
int64_t IntOf(const Value& v) {
  return v.IsBool() ? int64_t{v.AsBool()} : v.AsInt();
}

// Jinja's name for a value's type in "has no attribute" messages.
std::string ObjectTypeRepr(const Value& v) {
  return v.IsNone() ? "None" : v.TypeName() + " object";
}

[[noreturn]] void Unsupported(std::string_view op, const Value& left, const Value& right) {
  throw TemplateError("unsupported operand type(s) for " + std::string(op) + ": '" +
                      left.TypeName() + "' and '" + right.TypeName() + "'");
}

[[noreturn]] void Overflow(std::string_view op) {
  throw TemplateError("integer result of '" + std::string(op) + "' does not fit in 64 bits");
}

int64_t FloorDivide(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

Value IntArithmetic(std::string_view op, int64_t a, int64_t b) {
  int64_t r = 0;
  if (op == "+") {
    if (__builtin_add_overflow(a, b, &r)) Overflow(op);
  } else if (op == "-") {
    if (__builtin_sub_overflow(a, b, &r)) Overflow(op);
  } else if (op == "*") {
    if (__builtin_mul_overflow(a, b, &r)) Overflow(op);
  } else if (op == "/") {
    if (b == 0) throw TemplateError("division by zero");
    return Value(static_cast<double>(a) / static_cast<double>(b));
  } else if (op == "//" || op == "%") {
    if (b == 0) throw TemplateError("integer division or modulo by zero");
    if (a == INT64_MIN && b == -1) {
      if (op == "%") return Value(0);
      Overflow(op);
    }
    r = op == "//" ? FloorDivide(a, b) : a - FloorDivide(a, b) * b;
  } else {  // **
    if (b < 0) {
      if (a == 0) throw TemplateError("0.0 cannot be raised to a negative power");
      return Value(std::pow(static_cast<double>(a), static_cast<double>(b)));
    }
    r = 1;
    for (int64_t base = a; b > 0; b >>= 1) {
      if ((b & 1) && __builtin_mul_overflow(r, base, &r)) Overflow(op);
      if (b > 1 && __builtin_mul_overflow(base, base, &base)) Overflow(op);
    }
  }
  return Value(r);
}

Value FloatArithmetic(std::string_view op, double a, double b) {
  if (op == "+") return Value(a + b);
  if (op == "-") return Value(a - b);
  if (op == "*") return Value(a * b);
  if (op == "/") {
    if (b == 0) throw TemplateError("float division by zero");
    return Value(a / b);
  }
  if (op == "//" || op == "%") {
    if (b == 0) throw TemplateError(op == "//" ? "float floor division by zero" : "float modulo");
    double mod = std::fmod(a, b);
    if (mod != 0 && ((mod < 0) != (b < 0))) mod += b;
    return op == "%" ? Value(mod) : Value(std::floor((a - mod) / b + 0.5));
  }
  if (a == 0 && b < 0) throw TemplateError("0.0 cannot be raised to a negative power");
  if (a < 0 && b != std::floor(b)) throw TemplateError("complex results are not supported");
  return Value(std::pow(a, b));
}

Value Repeat(const Value& sequence, int64_t times) {
  size_t count = times > 0 ? static_cast<size_t>(times) : 0;
  size_t unit = sequence.IsString() ? sequence.AsString().size() : sequence.AsList().size();
  if (unit != 0 && count > kMaxRepeatedSize / unit) throw TemplateError("repetition is too large");
  if (sequence.IsString()) {
    std::string out;
    for (size_t i = 0; i < count; ++i) out += sequence.AsString();
    return Value(std::move(out));
  }
  List out;
  for (size_t i = 0; i < count; ++i) {
    out.insert(out.end(), sequence.AsList().begin(), sequence.AsList().end());
  }
  return Value(std::move(out));
}

std::partial_ordering Order(const Value& a, const Value& b, std::string_view op) {
  if (IsNumeric(a) && IsNumeric(b)) {
    if (a.IsFloat() || b.IsFloat()) return a.AsDouble() <=> b.AsDouble();
    return IntOf(a) <=> IntOf(b);
  }
  if (a.IsString() && b.IsString()) return a.AsString().compare(b.AsString()) <=> 0;
  if (a.IsList() && b.IsList()) {
    const List& x = a.AsList();
    const List& y = b.AsList();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!x[i].Equals(y[i])) return Order(x[i], y[i], op);
    }
    return x.size() <=> y.size();
  }
  if (a.kind() == b.kind() && (a.IsDateTime() || a.IsDate())) {
    const DateTime& x = a.AsDateTime();
    const DateTime& y = b.AsDateTime();
    if (x.aware() != y.aware()) {
      throw TemplateError("can't compare offset-naive and offset-aware datetimes");
    }
    return x.utc_micros() <=> y.utc_micros();
  }
  throw TemplateError("'" + std::string(op) + "' not supported between instances of '" +
                      a.TypeName() + "' and '" + b.TypeName() + "'");
}

// Python's slice bound adjustment for a sequence of `length` items.
int64_t SliceBound(const Value& bound, int64_t length, int64_t step, bool is_start) {
  if (bound.IsNone()) {
    if (step > 0) return is_start ? 0 : length;
    return is_start ? length - 1 : -1;
  }
  if (!IsIntLike(bound)) throw TemplateError("slice indices must be integers or None");
  int64_t i = IntOf(bound);
  if (i < 0) {
    i += length;
    if (i < 0) i = step < 0 ? -1 : 0;
  } else if (i >= length) {
    i = step < 0 ? length - 1 : length;
  }
  return i;
}

}  // namespace

void RequireDefined(const Value& value) {
  if (value.IsUndefined()) throw TemplateError(value.UndefinedMessage());
}

Value Arithmetic(std::string_view op, const Value& left, const Value& right) {
  RequireDefined(left);
  RequireDefined(right);
  if (op == "~") return Value(left.Str() + right.Str());
  if (IsNumeric(left) && IsNumeric(right)) {
    if (left.IsFloat() || right.IsFloat()) {
      return FloatArithmetic(op, left.AsDouble(), right.AsDouble());
    }
    return IntArithmetic(op, IntOf(left), IntOf(right));
  }
  if (op == "%" && left.IsString()) return Value(PercentFormat(left.AsString(), right));
  bool sequences = (left.IsString() && right.IsString()) || (left.IsList() && right.IsList());
  if (op == "+" && sequences) {
    if (left.IsString()) return Value(left.AsString() + right.AsString());
    List joined = left.AsList();
    joined.insert(joined.end(), right.AsList().begin(), right.AsList().end());
    return Value(std::move(joined));
  }
  if (op == "*" && (left.IsString() || left.IsList()) && IsIntLike(right)) {
    return Repeat(left, IntOf(right));
  }
  if (op == "*" && (right.IsString() || right.IsList()) && IsIntLike(left)) {
    return Repeat(right, IntOf(left));
  }
  Unsupported(op, left, right);
}

Value UnaryArithmetic(std::string_view op, const Value& operand) {
  RequireDefined(operand);
  if (operand.IsFloat()) return Value(op == "-" ? -operand.AsDouble() : operand.AsDouble());
  if (!IsIntLike(operand)) {
    throw TemplateError("bad operand type for unary " + std::string(op) + ": '" +
                        operand.TypeName() + "'");
  }
  int64_t value = IntOf(operand);
  if (op == "+") return Value(value);
  if (value == INT64_MIN) Overflow(op);
  return Value(-value);
}

bool Compare(std::string_view op, const Value& left, const Value& right) {
  RequireDefined(left);
  RequireDefined(right);
  if (op == "==") return left.Equals(right);
  if (op == "!=") return !left.Equals(right);
  if (op == "in") return Contains(right, left);
  if (op == "not in") return !Contains(right, left);
  std::partial_ordering order = Order(left, right, op);
  if (op == "<") return order < 0;
  if (op == "<=") return order <= 0;
  if (op == ">") return order > 0;
  return order >= 0;
}

bool Less(const Value& left, const Value& right) {
  RequireDefined(left);
  RequireDefined(right);
  return Order(left, right, "<") < 0;
}

bool Contains(const Value& container, const Value& item) {
  RequireDefined(container);
  RequireDefined(item);
  switch (container.kind()) {
    case Kind::kString:
      if (!item.IsString()) {
        throw TemplateError("'in <string>' requires string as left operand, not " +
                            item.TypeName());
      }
      return container.AsString().find(item.AsString()) != std::string::npos;
    case Kind::kList:
      for (const Value& element : container.AsList()) {
        if (element.Equals(item)) return true;
      }
      return false;
    case Kind::kDict:
      return item.IsString() && container.Find(item.AsString()) != nullptr;
    default:
      throw TemplateError("argument of type '" + container.TypeName() + "' is not iterable");
  }
}

Value GetAttribute(const Value& object, std::string_view name) {
  RequireDefined(object);
  if (const Value* found = object.Find(name)) return *found;
  if (object.IsDateTime() || object.IsDate()) {
    const DateTime& t = object.AsDateTime();
    if (name == "year") return Value(t.year());
    if (name == "month") return Value(t.month());
    if (name == "day") return Value(t.day());
    if (object.IsDateTime()) {
      if (name == "hour") return Value(t.hour());
      if (name == "minute") return Value(t.minute());
      if (name == "second") return Value(t.second());
      if (name == "microsecond") return Value(t.microsecond());
    }
  }
  return Value::Undefined("'" + ObjectTypeRepr(object) + "' has no attribute '" +
                          std::string(name) + "'");
}

Value GetItem(const Value& object, const Value& key) {
  RequireDefined(object);
  RequireDefined(key);
  if ((object.IsList() || object.IsString()) && IsIntLike(key)) {
    std::u32string points;
    if (object.IsString()) points = DecodeUtf8(object.AsString());
    auto length = static_cast<int64_t>(object.IsList() ? object.AsList().size() : points.size());
    int64_t i = IntOf(key);
    if (i < 0) i += length;
    if (i >= 0 && i < length) {
      if (object.IsList()) return object.AsList()[static_cast<size_t>(i)];
      return Value(EncodeUtf8(std::u32string_view(points).substr(static_cast<size_t>(i), 1)));
    }
  }
  if (key.IsString()) return GetAttribute(object, key.AsString());
  return Value::Undefined(ObjectTypeRepr(object) + " has no element " + key.Repr());
}

Value GetSlice(const Value& object, const Value& start, const Value& stop, const Value& step) {
  RequireDefined(object);
  for (const Value* part : {&start, &stop, &step}) RequireDefined(*part);
  if (!object.IsList() && !object.IsString()) {
    throw TemplateError("'" + object.TypeName() + "' object is not subscriptable");
  }
  if (!step.IsNone() && !IsIntLike(step)) {
    throw TemplateError("slice indices must be integers or None");
  }
  int64_t stride = step.IsNone() ? 1 : IntOf(step);
  if (stride == 0) throw TemplateError("slice step cannot be zero");
  std::u32string points;
  if (object.IsString()) points = DecodeUtf8(object.AsString());
  auto length = static_cast<int64_t>(object.IsList() ? object.AsList().size() : points.size());
  int64_t begin = SliceBound(start, length, stride, true);
  int64_t end = SliceBound(stop, length, stride, false);
  List items;
  std::u32string chars;
  for (int64_t i = begin; stride > 0 ? i < end : i > end; i += stride) {
    if (object.IsList()) {
      items.push_back(object.AsList()[static_cast<size_t>(i)]);
    } else {
      chars += points[static_cast<size_t>(i)];
    }
  }
  return object.IsList() ? Value(std::move(items)) : Value(EncodeUtf8(chars));
}

List Iterate(const Value& value) {
  RequireDefined(value);
  switch (value.kind()) {
    case Kind::kList:
      return value.AsList();
    case Kind::kDict: {
      List keys;
      for (const auto& [key, item] : value.AsDict()) keys.emplace_back(key);
      return keys;
    }
    case Kind::kString: {
      List chars;
      for (char32_t c : DecodeUtf8(value.AsString())) {
        chars.emplace_back(EncodeUtf8(std::u32string_view(&c, 1)));
      }
      return chars;
    }
    default:
      throw TemplateError("'" + value.TypeName() + "' object is not iterable");
  }
}

}  // namespace kiln::templating::internal
