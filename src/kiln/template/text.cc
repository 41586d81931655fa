#include "kiln/template/text.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace kiln::templating::internal {
namespace {

constexpr char32_t kEscapedByteBase = 0xDC00;

// Length of the UTF-8 sequence starting with `lead`, or 0 when `lead` cannot start one.
size_t SequenceLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

bool IsAsciiLetter(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
char32_t ToUpper(char32_t c) {
  return c >= 'a' && c <= 'z' ? c - 32 : c;
}
char32_t ToLower(char32_t c) {
  return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

}  // namespace

std::u32string DecodeUtf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    auto lead = static_cast<unsigned char>(text[i]);
    size_t n = SequenceLength(lead);
    char32_t c = n == 1 ? lead : n == 2 ? lead & 0x1F : n == 3 ? lead & 0x0F : lead & 0x07;
    bool valid = n > 0 && i + n <= text.size();
    for (size_t k = 1; valid && k < n; ++k) {
      auto b = static_cast<unsigned char>(text[i + k]);
      valid = (b & 0xC0) == 0x80;
      c = (c << 6) | (b & 0x3F);
    }
    // Reject overlong forms, surrogates and values past U+10FFFF.
    valid = valid && !(n == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) &&
            !(n == 4 && (c < 0x10000 || c > 0x10FFFF));
    if (valid) {
      out += c;
      i += n;
    } else {
      out += kEscapedByteBase + lead;
      ++i;
    }
  }
  return out;
}

std::string EncodeUtf8(std::u32string_view code_points) {
  std::string out;
  out.reserve(code_points.size());
  for (char32_t c : code_points) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c >= kEscapedByteBase + 0x80 && c <= kEscapedByteBase + 0xFF) {
      out += static_cast<char>(c - kEscapedByteBase);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

size_t CodePointCount(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return DecodeUtf8(text).size();
  }
  return text.size();
}

std::string AsciiUpper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(ToUpper(static_cast<unsigned char>(c)));
  return out;
}

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(ToLower(static_cast<unsigned char>(c)));
  return out;
}

std::string PythonTitle(std::string_view text) {
  std::string out(text);
  bool previous_letter = false;
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    c = static_cast<char>(previous_letter ? ToLower(u) : ToUpper(u));
    previous_letter = IsAsciiLetter(u);
  }
  return out;
}

std::string Capitalize(std::string_view text) {
  std::string out = AsciiLower(text);
  if (!out.empty()) out[0] = static_cast<char>(ToUpper(static_cast<unsigned char>(out[0])));
  return out;
}

bool IsSpace(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
}

std::string Strip(std::string_view text, bool left, bool right,
                  std::optional<std::string_view> chars) {
  std::u32string points = DecodeUtf8(text);
  std::u32string set = chars ? DecodeUtf8(*chars) : U"";
  auto strip = [&](char32_t c) {
    return chars ? set.find(c) != std::u32string::npos : c < 0x80 && IsSpace(static_cast<char>(c));
  };
  size_t begin = 0;
  size_t end = points.size();
  while (left && begin < end && strip(points[begin])) ++begin;
  while (right && end > begin && strip(points[end - 1])) --end;
  return EncodeUtf8(std::u32string_view(points).substr(begin, end - begin));
}

std::string ReplaceAll(std::string_view text, std::string_view old_text, std::string_view new_text,
                       int64_t count) {
  std::string out;
  size_t pos = 0;
  if (old_text.empty()) {
    // Python inserts `new_text` around every code point.
    std::u32string points = DecodeUtf8(text);
    for (size_t i = 0; i <= points.size(); ++i) {
      if (count < 0 || static_cast<int64_t>(i) < count) out += new_text;
      if (i < points.size()) out += EncodeUtf8(std::u32string_view(&points[i], 1));
    }
    return out;
  }
  for (int64_t done = 0; count < 0 || done < count; ++done) {
    size_t hit = text.find(old_text, pos);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(pos, hit - pos)).append(new_text);
    pos = hit + old_text.size();
  }
  out.append(text.substr(pos));
  return out;
}

std::string FloatRepr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  // Shortest round-trip digits, then laid out as Python's repr() does.
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  std::string_view sci(buf, result.ptr - buf);
  size_t e = sci.find('e');
  int exponent = std::atoi(std::string(sci.substr(e + 1)).c_str());
  std::string sign = sci[0] == '-' ? "-" : "";
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c >= '0' && c <= '9') digits += c;
  }
  if (exponent < -4 || exponent >= 16) {
    std::string mantissa = digits.substr(0, 1);
    if (digits.size() > 1) mantissa += "." + digits.substr(1);
    char exp_buf[16];
    std::snprintf(exp_buf, sizeof exp_buf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return sign + mantissa + exp_buf;
  }
  if (exponent < 0) return sign + "0." + std::string(-exponent - 1, '0') + digits;
  size_t int_digits = static_cast<size_t>(exponent) + 1;
  if (digits.size() <= int_digits) {
    return sign + digits + std::string(int_digits - digits.size(), '0') + ".0";
  }
  return sign + digits.substr(0, int_digits) + "." + digits.substr(int_digits);
}

std::string StringRepr(std::string_view text) {
  bool has_single = text.find('\'') != std::string_view::npos;
  bool has_double = text.find('"') != std::string_view::npos;
  char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t c : DecodeUtf8(text)) {
    char buf[16];
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      out += buf;
    } else if (c >= 0xD800 && c <= 0xDFFF) {
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += EncodeUtf8(std::u32string_view(&c, 1));
    }
  }
  out += quote;
  return out;
}

}  // namespace kiln::templating::internal
