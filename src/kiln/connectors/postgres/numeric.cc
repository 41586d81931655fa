#include "kiln/connectors/postgres/numeric.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "kiln/connectors/postgres/binary.h"

namespace kiln::connectors::postgres::numeric {
namespace {

// numeric's sign word (PostgreSQL's src/backend/utils/adt/numeric.c).
constexpr uint16_t kPositive = 0x0000;
constexpr uint16_t kNegative = 0x4000;
constexpr uint16_t kNaN = 0xC000;
constexpr uint16_t kPlusInfinity = 0xD000;
constexpr uint16_t kMinusInfinity = 0xF000;

constexpr uint32_t kPow10[5] = {1, 10, 100, 1000, 10000};

int FloorDiv4(int x) {
  return x >= 0 ? x / 4 : -((-x + 3) / 4);
}

size_t WriteHeader(char* out, int ndigits, int weight, uint16_t sign, int dscale) {
  binary::Put16(out, static_cast<uint16_t>(ndigits));
  binary::Put16(out + 2, static_cast<uint16_t>(static_cast<int16_t>(weight)));
  binary::Put16(out + 4, sign);
  binary::Put16(out + 6, static_cast<uint16_t>(dscale));
  return 8;
}

UInt128 Pow10(int exponent) {
  UInt128 p = 1;
  for (int i = 0; i < exponent; ++i) p *= 10;
  return p;
}

std::string DecimalName(int width, int scale) {
  return "DECIMAL(" + std::to_string(width) + "," + std::to_string(scale) + ")";
}

}  // namespace

size_t EncodeScaled(bool negative, UInt128 magnitude, int scale, int dscale, char* out) {
  if (dscale < 0) dscale = 0;
  if (magnitude == 0) return WriteHeader(out, 0, 0, kPositive, dscale);
  // Base-10000 groups, least significant first. Group g holds the decimal exponents 4g..4g+3; the
  // lowest decimal digit has exponent -scale and sits `offset` places into its group.
  uint16_t groups[16];
  int count = 0;
  const int low_group = FloorDiv4(-scale);
  const int offset = -scale - 4 * low_group;
  const uint32_t first_divisor = kPow10[4 - offset];
  groups[count++] =
      static_cast<uint16_t>(static_cast<uint32_t>(magnitude % first_divisor) * kPow10[offset]);
  magnitude /= first_divisor;
  while (magnitude != 0) {
    groups[count++] = static_cast<uint16_t>(static_cast<uint32_t>(magnitude % 10000));
    magnitude /= 10000;
  }
  const int weight = low_group + count - 1;  // the top group is never 0
  int low = 0;
  while (groups[low] == 0) ++low;  // trailing zero groups are implied by dscale
  size_t size = WriteHeader(out, count - low, weight, negative ? kNegative : kPositive, dscale);
  for (int g = count - 1; g >= low; --g, size += 2) binary::Put16(out + size, groups[g]);
  return size;
}

namespace {

template <typename Float>
size_t EncodeShortest(Float value, char* out) {
  if (std::isnan(value)) return WriteHeader(out, 0, 0, kNaN, 0);
  if (std::isinf(value))
    return WriteHeader(out, 0, 0, value > 0 ? kPlusInfinity : kMinusInfinity, 0);
  // Shortest round-trip form, e.g. "-1.2345e-05": at most 17 significant digits.
  char text[40];
  auto [end, ec] = std::to_chars(text, text + sizeof(text), value, std::chars_format::scientific);
  const char* p = text;
  bool negative = false;
  if (*p == '-') {
    negative = true;
    ++p;
  }
  uint64_t mantissa = 0;
  int fraction_digits = 0;
  bool after_point = false;
  for (; p < end && *p != 'e'; ++p) {
    if (*p == '.') {
      after_point = true;
      continue;
    }
    mantissa = mantissa * 10 + static_cast<uint64_t>(*p - '0');
    if (after_point) ++fraction_digits;
  }
  int exponent = 0;
  if (p < end && *p == 'e') {
    ++p;
    if (*p == '+') ++p;
    std::from_chars(p, end, exponent);
  }
  int scale = fraction_digits - exponent;
  while (mantissa != 0 && mantissa % 10 == 0) {
    mantissa /= 10;
    --scale;
  }
  return EncodeScaled(negative && mantissa != 0, mantissa, scale, scale, out);
}

}  // namespace

size_t EncodeDouble(double value, char* out) {
  return EncodeShortest(value, out);
}

size_t EncodeFloat(float value, char* out) {
  return EncodeShortest(value, out);
}

bool DecodeScaled(const char* data, size_t size, int width, int scale, Int128* out,
                  std::string* error) {
  if (size < 8) {
    *error = "malformed numeric";
    return false;
  }
  const int ndigits = binary::Get16(data);
  const int weight = static_cast<int16_t>(binary::Get16(data + 2));
  const uint16_t sign = binary::Get16(data + 4);
  if (size != 8 + 2 * static_cast<size_t>(ndigits)) {
    *error = "malformed numeric";
    return false;
  }
  if (sign != kPositive && sign != kNegative) {
    *error = std::string(sign == kNaN ? "NaN" : "Infinity") + " does not fit " +
             DecimalName(width, scale);
    return false;
  }
  const UInt128 limit = Pow10(width);
  UInt128 value = 0;
  for (int i = 0; i < ndigits; ++i) {
    const uint32_t digit = binary::Get16(data + 8 + 2 * i);
    const int exponent = 4 * (weight - i) + scale;  // of this group's last decimal digit
    UInt128 term;
    if (exponent >= 0) {
      if (digit == 0) continue;
      if (exponent > 38 ||
          __builtin_mul_overflow(static_cast<UInt128>(digit), Pow10(exponent), &term)) {
        *error = "value does not fit " + DecimalName(width, scale);
        return false;
      }
    } else if (exponent > -4) {
      term = digit / kPow10[-exponent];
    } else {
      break;  // this group and all later ones lie beyond `scale`
    }
    if (__builtin_add_overflow(value, term, &value) || value >= limit) {
      *error = "value does not fit " + DecimalName(width, scale);
      return false;
    }
  }
  *out = sign == kNegative ? -static_cast<Int128>(value) : static_cast<Int128>(value);
  return true;
}

bool DecodeDouble(const char* data, size_t size, double* out, std::string* scratch,
                  std::string* error) {
  if (size < 8) {
    *error = "malformed numeric";
    return false;
  }
  const int ndigits = binary::Get16(data);
  const int weight = static_cast<int16_t>(binary::Get16(data + 2));
  const uint16_t sign = binary::Get16(data + 4);
  if (size != 8 + 2 * static_cast<size_t>(ndigits)) {
    *error = "malformed numeric";
    return false;
  }
  if (sign == kNaN) {
    *out = std::nan("");
    return true;
  }
  if (sign == kPlusInfinity || sign == kMinusInfinity) {
    *out = sign == kPlusInfinity ? HUGE_VAL : -HUGE_VAL;
    return true;
  }
  if (ndigits == 0) {
    *out = 0.0;
    return true;
  }
  // "-" digits "e" exponent, every group as four decimal digits; from_chars rounds correctly.
  scratch->resize(static_cast<size_t>(ndigits) * 4 + 16);
  char* p = scratch->data();
  if (sign == kNegative) *p++ = '-';
  for (int i = 0; i < ndigits; ++i) {
    uint32_t digit = binary::Get16(data + 8 + 2 * i);
    for (int k = 3; k >= 0; --k) {
      p[k] = static_cast<char>('0' + digit % 10);
      digit /= 10;
    }
    p += 4;
  }
  *p++ = 'e';
  p = std::to_chars(p, scratch->data() + scratch->size(), 4 * (weight - ndigits + 1)).ptr;
  auto [end, ec] = std::from_chars(scratch->data(), p, *out);
  if (ec == std::errc::result_out_of_range) {
    *out = sign == kNegative ? -HUGE_VAL : HUGE_VAL;  // beyond double's range (or below it)
    if (4 * (weight + 1) < 0) *out = sign == kNegative ? -0.0 : 0.0;
    return true;
  }
  if (ec != std::errc()) {
    *error = "malformed numeric";
    return false;
  }
  return true;
}

}  // namespace kiln::connectors::postgres::numeric
