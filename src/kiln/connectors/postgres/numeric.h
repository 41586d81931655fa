// connectors/postgres/numeric.h: PostgreSQL's binary `numeric` both ways, internal to this folder.
// On the wire a numeric is ndigits, weight, sign and dscale (int16 each), then ndigits base-10000
// digits, most significant first; the value is sum(digit[i] * 10000^(weight - i)).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln::connectors::postgres::numeric {

using Int128 = __int128;
using UInt128 = unsigned __int128;

//! The most bytes EncodeScaled and EncodeDouble write.
inline constexpr size_t kMaxEncodedSize = 40;

//! Writes (negative ? -1 : 1) * magnitude * 10^-scale to `out` with display scale `dscale`
//! (digits after the decimal point, e.g. a DECIMAL's scale). `scale` may be negative (1e20 is
//! magnitude 1, scale -20). Returns the bytes written, at most kMaxEncodedSize.
size_t EncodeScaled(bool negative, UInt128 magnitude, int scale, int dscale, char* out);

//! Writes `value` as its shortest round-trip decimal (0.1 -> 0.1), NaN and +-Infinity as
//! numeric's special values. Returns the bytes written, at most kMaxEncodedSize.
size_t EncodeDouble(double value, char* out);
//! EncodeDouble for a FLOAT, with the float's own shortest decimal (0.1f -> 0.1).
size_t EncodeFloat(float value, char* out);

//! Reads the binary numeric `data` (`size` bytes) as value * 10^scale, the stored integer of a
//! DuckDB DECIMAL(width, scale); digits beyond `scale` are truncated. Returns false with `error`
//! set ("NaN does not fit DECIMAL(10,2)", "value does not fit DECIMAL(10,2)", "malformed
//! numeric") when it cannot.
bool DecodeScaled(const char* data, size_t size, int width, int scale, Int128* out,
                  std::string* error);

//! Reads the binary numeric `data` as the nearest double (NaN and infinities included).
//! `scratch` is reused text space. Returns false with `error` set when malformed.
bool DecodeDouble(const char* data, size_t size, double* out, std::string* scratch,
                  std::string* error);

}  // namespace kiln::connectors::postgres::numeric
