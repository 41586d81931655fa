#include "kiln/template/format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "kiln/template/error.h"
#include "kiln/template/operators.h"
#include "kiln/template/text.h"

namespace kiln::templating::internal {
namespace {

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

int64_t ExpectIntLike(const Value& value) {
  if (value.IsBool()) return value.AsBool();
  if (value.IsInt()) return value.AsInt();
  throw TemplateError("an integer is required, not " + value.TypeName());
}

// The parts of a conversion or format spec that shape the output.
struct Spec {
  char fill = ' ';
  char align = '\0';  // < > ^ =, or '\0' for the type's default
  char sign = '-';    // + - or space
  bool alternate = false;
  size_t width = 0;
  char grouping = '\0';
  int precision = -1;
  char type = '\0';
};

std::string Pad(const std::string& text, size_t width, char fill, char align) {
  size_t length = CodePointCount(text);
  if (length >= width) return text;
  size_t gap = width - length;
  if (align == '<') return text + std::string(gap, fill);
  if (align == '^') return std::string(gap / 2, fill) + text + std::string(gap - gap / 2, fill);
  return std::string(gap, fill) + text;
}

// Lays out a number whose sign, prefix (0x) and digits are known, honouring fill and alignment.
std::string LayOutNumber(bool negative, const std::string& prefix, std::string digits,
                         const Spec& spec) {
  if (spec.grouping != '\0') {
    size_t end = std::min(digits.find_first_not_of("0123456789"), digits.size());
    for (size_t i = end; i > 3; i -= 3) digits.insert(i - 3, 1, spec.grouping);
  }
  std::string sign = negative ? "-" : spec.sign == '+' ? "+" : spec.sign == ' ' ? " " : "";
  if (spec.align == '=') {
    size_t used = sign.size() + prefix.size() + digits.size();
    if (used < spec.width) digits.insert(0, spec.width - used, spec.fill);
    return sign + prefix + digits;
  }
  return Pad(sign + prefix + digits, spec.width, spec.fill, spec.align ? spec.align : '>');
}

std::string IntDigits(uint64_t magnitude, char type) {
  if (type == 'x' || type == 'X' || type == 'o' || type == 'b') {
    int base = type == 'o' ? 8 : type == 'b' ? 2 : 16;
    const char* alphabet = type == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    std::string digits;
    do {
      digits.insert(digits.begin(), alphabet[magnitude % base]);
      magnitude /= base;
    } while (magnitude > 0);
    return digits;
  }
  return std::to_string(magnitude);
}

std::string FormatInt(int64_t value, const Spec& spec) {
  uint64_t magnitude = value < 0 ? 0 - static_cast<uint64_t>(value) : value;
  std::string digits = IntDigits(magnitude, spec.type);
  if (spec.precision > static_cast<int>(digits.size())) {
    digits.insert(0, spec.precision - digits.size(), '0');
  }
  std::string prefix;
  if (spec.alternate && (spec.type == 'x' || spec.type == 'X' || spec.type == 'o')) {
    prefix = std::string("0") + (spec.type == 'o' ? 'o' : spec.type);
  }
  return LayOutNumber(value < 0, prefix, digits, spec);
}

// `type` is one of f F e E g G %, or '\0' for Python's format(x, '') / str(x).
std::string FormatFloat(double value, const Spec& spec) {
  bool negative = std::signbit(value) && !std::isnan(value);
  double magnitude = std::fabs(value);
  bool upper = spec.type == 'F' || spec.type == 'E' || spec.type == 'G';
  std::string digits;
  if (std::isinf(magnitude) || std::isnan(magnitude)) {
    digits = std::isnan(magnitude) ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf");
  } else if (spec.type == '\0' && spec.precision < 0) {
    digits = FloatRepr(magnitude);
  } else {
    char type = spec.type == '\0' ? 'g' : spec.type == '%' ? 'f' : spec.type;
    if (spec.type == '%') magnitude *= 100;
    int precision = spec.precision >= 0 ? spec.precision : 6;
    char format[8];
    std::snprintf(format, sizeof format, "%%%s.*%c", spec.alternate ? "#" : "", type);
    char buf[512];
    std::snprintf(buf, sizeof buf, format, precision, magnitude);
    digits = buf;
    if (spec.type == '\0' && digits.find_first_of(".e") == std::string::npos) digits += ".0";
    if (spec.type == '%') digits += '%';
  }
  return LayOutNumber(negative, "", digits, spec);
}

// `[[fill]align][sign][#][0][width][,|_][.precision][type]`
Spec ParseSpec(std::string_view text) {
  Spec spec;
  size_t i = 0;
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (text.size() >= 2 && is_align(text[1])) {
    spec.fill = text[0];
    spec.align = text[1];
    i = 2;
  } else if (!text.empty() && is_align(text[0])) {
    spec.align = text[0];
    i = 1;
  }
  if (i < text.size() && (text[i] == '+' || text[i] == '-' || text[i] == ' '))
    spec.sign = text[i++];
  if (i < text.size() && text[i] == '#') {
    spec.alternate = true;
    ++i;
  }
  if (i < text.size() && text[i] == '0') {
    if (spec.align == '\0') {
      spec.fill = '0';
      spec.align = '=';
    }
    ++i;
  }
  while (i < text.size() && IsDigit(text[i])) spec.width = spec.width * 10 + (text[i++] - '0');
  if (i < text.size() && (text[i] == ',' || text[i] == '_')) spec.grouping = text[i++];
  if (i < text.size() && text[i] == '.') {
    spec.precision = 0;
    while (++i < text.size() && IsDigit(text[i]))
      spec.precision = spec.precision * 10 + (text[i] - '0');
  }
  if (i < text.size()) spec.type = text[i++];
  if (i != text.size()) throw TemplateError("invalid format specifier '" + std::string(text) + "'");
  return spec;
}

[[noreturn]] void UnknownCode(char type, const Value& value) {
  throw TemplateError(std::string("Unknown format code '") + type + "' for object of type '" +
                      value.TypeName() + "'");
}

// One `%` conversion of PercentFormat().
std::string PercentConvert(char conversion, Spec spec, const Value& value) {
  spec.type = conversion;
  if (conversion == 's' || conversion == 'r' || conversion == 'a') {
    std::string text = conversion == 's' ? value.Str() : value.Repr();
    if (spec.precision >= 0) text = EncodeUtf8(DecodeUtf8(text).substr(0, spec.precision));
    return Pad(text, spec.width, ' ', spec.align == '<' ? '<' : '>');
  }
  if (conversion == 'c') {
    if (value.IsString() && CodePointCount(value.AsString()) == 1) return value.AsString();
    if (!value.IsInt() && !value.IsBool()) throw TemplateError("%c requires int or char");
    int64_t code = ExpectIntLike(value);
    return EncodeUtf8(std::u32string(1, static_cast<char32_t>(code)));
  }
  bool numeric = value.IsBool() || value.IsInt() || value.IsFloat();
  if (!numeric) {
    throw TemplateError(std::string("%") + conversion + " format: a real number is required, not " +
                        value.TypeName());
  }
  if (std::string_view("diu").find(conversion) != std::string_view::npos) {
    spec.type = 'd';
    return FormatInt(
        value.IsFloat() ? static_cast<int64_t>(value.AsDouble()) : ExpectIntLike(value), spec);
  }
  if (std::string_view("xXo").find(conversion) != std::string_view::npos) {
    if (value.IsFloat()) {
      throw TemplateError(std::string("%") + conversion +
                          " format: an integer is required, not float");
    }
    return FormatInt(ExpectIntLike(value), spec);
  }
  if (std::string_view("fFeEgG").find(conversion) != std::string_view::npos) {
    return FormatFloat(value.AsDouble(), spec);
  }
  throw TemplateError(std::string("unsupported format character '") + conversion + "'");
}

void WriteJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (char32_t c : DecodeUtf8(text)) {
    char buf[16];
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20 || c > 0x7E || c == '<' || c == '>' || c == '&' || c == '\'') {
          if (c > 0xFFFF) {
            char32_t v = c - 0x10000;
            std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xD800 + (unsigned)(v >> 10),
                          0xDC00 + (unsigned)(v & 0x3FF));
          } else {
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          }
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void WriteJson(std::string& out, const Value& value, int indent, int level) {
  std::string newline = indent >= 0 ? "\n" + std::string((level + 1) * indent, ' ') : "";
  std::string closing = indent >= 0 ? "\n" + std::string(level * indent, ' ') : "";
  std::string separator = indent >= 0 ? "," + newline : ", ";
  switch (value.kind()) {
    case Value::Kind::kUndefined:
      RequireDefined(value);
      return;
    case Value::Kind::kNone:
      out += "null";
      return;
    case Value::Kind::kBool:
      out += value.AsBool() ? "true" : "false";
      return;
    case Value::Kind::kInt:
      out += std::to_string(value.AsInt());
      return;
    case Value::Kind::kFloat: {
      double d = value.AsDouble();
      out += std::isnan(d)   ? "NaN"
             : std::isinf(d) ? (d < 0 ? "-Infinity" : "Infinity")
                             : FloatRepr(d);
      return;
    }
    case Value::Kind::kString:
      WriteJsonString(out, value.AsString());
      return;
    case Value::Kind::kList: {
      if (value.AsList().empty()) {
        out += "[]";
        return;
      }
      out += "[" + newline;
      for (size_t i = 0; i < value.AsList().size(); ++i) {
        if (i > 0) out += separator;
        WriteJson(out, value.AsList()[i], indent, level + 1);
      }
      out += closing + "]";
      return;
    }
    case Value::Kind::kDict: {
      if (value.AsDict().empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<std::string, Value>*> entries;
      for (const auto& entry : value.AsDict()) entries.push_back(&entry);
      std::sort(entries.begin(), entries.end(),
                [](auto* a, auto* b) { return a->first < b->first; });
      out += "{" + newline;
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i > 0) out += separator;
        WriteJsonString(out, entries[i]->first);
        out += ": ";
        WriteJson(out, entries[i]->second, indent, level + 1);
      }
      out += closing + "}";
      return;
    }
    default:
      std::string type = value.IsFunction() ? "function" : value.IsDate() ? "date" : "datetime";
      throw TemplateError("Object of type " + type + " is not JSON serializable");
  }
}

// A `{...}` field of StrFormat(): resolves `name`, `0`, `` (automatic), then `.attr` / `[key]`.
class FieldResolver {
 public:
  explicit FieldResolver(const CallArgs& args) : args_(args) {}

  Value Resolve(std::string_view field) {
    size_t end = std::min(field.find_first_of(".["), field.size());
    std::string_view head = field.substr(0, end);
    Value value = Base(head);
    while (end < field.size()) {
      if (field[end] == '.') {
        size_t next = std::min(field.find_first_of(".[", end + 1), field.size());
        value = GetAttribute(value, field.substr(end + 1, next - end - 1));
        end = next;
      } else {
        size_t close = field.find(']', end);
        if (close == std::string_view::npos) throw TemplateError("missing ']' in format string");
        std::string_view key = field.substr(end + 1, close - end - 1);
        bool numeric = !key.empty() && std::all_of(key.begin(), key.end(), IsDigit);
        value = GetItem(value, numeric ? Value(static_cast<int64_t>(std::stoll(std::string(key))))
                                       : Value(std::string(key)));
        end = close + 1;
      }
      RequireDefined(value);
    }
    return value;
  }

 private:
  Value Base(std::string_view head) {
    bool numeric = !head.empty() && std::all_of(head.begin(), head.end(), IsDigit);
    if (!head.empty() && !numeric) {
      for (const auto& [name, value] : args_.keyword) {
        if (name == head) return value;
      }
      throw TemplateError("format() has no argument named '" + std::string(head) + "'");
    }
    if (head.empty() ? manual_ : automatic_) {
      throw TemplateError(
          head.empty()
              ? "cannot switch from manual field specification to automatic field numbering"
              : "cannot switch from automatic field numbering to manual field specification");
    }
    (head.empty() ? automatic_ : manual_) = true;
    size_t index = head.empty() ? next_++ : std::stoull(std::string(head));
    if (index >= args_.positional.size()) {
      throw TemplateError("Replacement index " + std::to_string(index) +
                          " out of range for positional args tuple");
    }
    return args_.positional[index];
  }

  const CallArgs& args_;
  size_t next_ = 0;
  bool automatic_ = false;
  bool manual_ = false;
};

}  // namespace

std::string FormatWithSpec(const Value& value, std::string_view spec_text) {
  RequireDefined(value);
  if (value.IsDateTime() || value.IsDate()) {
    return spec_text.empty() ? value.Str() : value.AsDateTime().Strftime(spec_text);
  }
  if (spec_text.empty()) return value.Str();
  Spec spec = ParseSpec(spec_text);
  if (value.IsString()) {
    if (spec.type != '\0' && spec.type != 's') UnknownCode(spec.type, value);
    std::string text = value.AsString();
    if (spec.precision >= 0) text = EncodeUtf8(DecodeUtf8(text).substr(0, spec.precision));
    return Pad(text, spec.width, spec.fill, spec.align ? spec.align : '<');
  }
  if (value.IsInt() || value.IsBool()) {
    if (spec.type == '\0' || spec.type == 'd' || spec.type == 'n') {
      spec.type = 'd';
      return FormatInt(ExpectIntLike(value), spec);
    }
    if (std::string_view("xXob").find(spec.type) != std::string_view::npos) {
      return FormatInt(ExpectIntLike(value), spec);
    }
    if (spec.type == 'c') return EncodeUtf8(std::u32string(1, char32_t(ExpectIntLike(value))));
  }
  if (value.IsNumber() || value.IsBool()) {
    if (std::string_view("fFeEgG%").find(spec.type) == std::string_view::npos &&
        !(spec.type == '\0' && value.IsFloat())) {
      UnknownCode(spec.type, value);
    }
    return FormatFloat(value.AsDouble(), spec);
  }
  throw TemplateError("unsupported format string passed to " + value.TypeName() + ".__format__");
}

std::string PercentFormat(std::string_view format, const Value& args) {
  List positional = args.IsList() ? args.AsList() : List{args};
  size_t next = 0;
  bool used_mapping = false;
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    if (++i >= format.size()) throw TemplateError("incomplete format");
    if (format[i] == '%') {
      out += '%';
      continue;
    }
    const Value* value = nullptr;
    if (format[i] == '(') {
      size_t close = format.find(')', i);
      if (close == std::string_view::npos) throw TemplateError("incomplete format key");
      if (!args.IsDict()) throw TemplateError("format requires a mapping");
      std::string key(format.substr(i + 1, close - i - 1));
      value = args.Find(key);
      if (value == nullptr) throw TemplateError("no value for format key '" + key + "'");
      used_mapping = true;
      i = close + 1;
    }
    Spec spec;
    bool left = false;
    bool zero = false;
    for (; i < format.size() && std::string_view("-+ 0#").find(format[i]) != std::string_view::npos;
         ++i) {
      char flag = format[i];
      left = left || flag == '-';
      zero = zero || flag == '0';
      spec.alternate = spec.alternate || flag == '#';
      if (flag == '+' || (flag == ' ' && spec.sign != '+')) spec.sign = flag;
    }
    if (left) spec.align = '<';
    if (zero && !left) {
      spec.fill = '0';
      spec.align = '=';
    }
    for (; i < format.size() && IsDigit(format[i]); ++i)
      spec.width = spec.width * 10 + (format[i] - '0');
    if (i < format.size() && format[i] == '.') {
      spec.precision = 0;
      while (++i < format.size() && IsDigit(format[i]))
        spec.precision = spec.precision * 10 + (format[i] - '0');
    }
    while (i < format.size() && (format[i] == 'h' || format[i] == 'l' || format[i] == 'L')) ++i;
    if (i >= format.size()) throw TemplateError("incomplete format");
    if (value == nullptr) {
      if (next >= positional.size()) throw TemplateError("not enough arguments for format string");
      value = &positional[next++];
    }
    RequireDefined(*value);
    out += PercentConvert(format[i], spec, *value);
  }
  if (!used_mapping && !args.IsDict() && next < positional.size()) {
    throw TemplateError("not all arguments converted during string formatting");
  }
  return out;
}

std::string StrFormat(std::string_view format, const CallArgs& args) {
  FieldResolver resolver(args);
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    char c = format[i];
    if (c == '}') {
      if (i + 1 >= format.size() || format[i + 1] != '}') {
        throw TemplateError("Single '}' encountered in format string");
      }
      out += '}';
      ++i;
    } else if (c != '{') {
      out += c;
    } else if (i + 1 < format.size() && format[i + 1] == '{') {
      out += '{';
      ++i;
    } else {
      size_t close = format.find('}', i);
      if (close == std::string_view::npos) throw TemplateError("expected '}' before end of string");
      std::string_view field = format.substr(i + 1, close - i - 1);
      size_t colon = std::min(field.find(':'), field.size());
      size_t bang = std::min(field.find('!'), colon);
      Value value = resolver.Resolve(field.substr(0, bang));
      if (bang < colon) {
        std::string_view conversion = field.substr(bang + 1, colon - bang - 1);
        if (conversion != "r" && conversion != "s" && conversion != "a") {
          throw TemplateError("unknown conversion specifier " + std::string(conversion));
        }
        value = Value(conversion == "s" ? value.Str() : value.Repr());
      }
      out += FormatWithSpec(value, colon < field.size() ? field.substr(colon + 1) : "");
      i = close;
    }
  }
  return out;
}

std::string ToJson(const Value& value, int indent) {
  std::string out;
  WriteJson(out, value, indent, 0);
  return out;
}

}  // namespace kiln::templating::internal
