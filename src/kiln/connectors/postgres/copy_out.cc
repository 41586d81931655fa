// The binary COPY encoder: DuckDB vectors -> PostgreSQL fields, column by column.
#include "kiln/connectors/postgres/copy_out.h"

#include <bit>
#include <cstring>
#include <limits>
#include <utility>

#include "kiln/connectors/postgres/binary.h"
#include "kiln/connectors/postgres/numeric.h"
#include "kiln/connectors/postgres/postgres.h"

namespace kiln::connectors::postgres {
namespace {

using E = FieldEncoding;
using numeric::Int128;
using numeric::UInt128;

constexpr uint32_t kNull = 0xFFFFFFFFu;  // the field length -1

bool Valid(const uint64_t* validity, idx_t row) {
  return validity == nullptr || ((validity[row >> 6] >> (row & 63)) & 1) != 0;
}

// The payload bytes of a non-NULL field of a fixed-width encoding; 0 for variable widths.
uint32_t FixedWidth(FieldEncoding encoding) {
  switch (encoding) {
    case E::kBool:
      return 1;
    case E::kInt2:
      return 2;
    case E::kInt4:
    case E::kFloat4:
    case E::kDate:
      return 4;
    case E::kInt8:
    case E::kFloat8:
    case E::kTime:
    case E::kTimestamp:
    case E::kTimestamptz:
      return 8;
    case E::kTimetz:
      return 12;
    case E::kInterval:
    case E::kUuid:
      return 16;
    default:
      return 0;
  }
}

std::string Int128Text(UInt128 magnitude, bool negative) {
  char digits[48];
  char* p = digits + sizeof(digits);
  do {
    *--p = static_cast<char>('0' + static_cast<int>(magnitude % 10));
    magnitude /= 10;
  } while (magnitude != 0);
  if (negative) *--p = '-';
  return std::string(p, digits + sizeof(digits) - p);
}

// A DuckDB integer of any width, widened. UHUGEINT values above Int128's range saturate.
struct Wide {
  Int128 value;
  std::string Text() const {
    return Int128Text(value < 0 ? -static_cast<UInt128>(value) : static_cast<UInt128>(value),
                      value < 0);
  }
};
template <typename S>
Wide Widen(const S& v) {
  return {static_cast<Int128>(v)};
}
template <>
Wide Widen(const duckdb_hugeint& v) {
  return {static_cast<Int128>(v.upper) * (static_cast<Int128>(1) << 64) + v.lower};
}
template <>
Wide Widen(const duckdb_uhugeint& v) {
  if (v.upper >> 63) return {std::numeric_limits<Int128>::max()};
  return {static_cast<Int128>(v.upper) * (static_cast<Int128>(1) << 64) + v.lower};
}

bool IsIntegerType(duckdb_type t) {
  switch (t) {
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
      return true;
    default:
      return false;
  }
}

bool IsTimestampType(duckdb_type t) {
  return t == DUCKDB_TYPE_TIMESTAMP || t == DUCKDB_TYPE_TIMESTAMP_S ||
         t == DUCKDB_TYPE_TIMESTAMP_MS || t == DUCKDB_TYPE_TIMESTAMP_NS;
}

// Whether a vector of type `t` can be written as `encoding` (PlanExportColumn casts the rest).
bool Encodable(duckdb_type t, FieldEncoding encoding) {
  switch (encoding) {
    case E::kBool:
      return t == DUCKDB_TYPE_BOOLEAN;
    case E::kInt2:
    case E::kInt4:
    case E::kInt8:
      return IsIntegerType(t);
    case E::kFloat4:
      return t == DUCKDB_TYPE_FLOAT;
    case E::kFloat8:
      return t == DUCKDB_TYPE_DOUBLE;
    case E::kNumeric:
      return IsIntegerType(t) || t == DUCKDB_TYPE_DECIMAL || t == DUCKDB_TYPE_FLOAT ||
             t == DUCKDB_TYPE_DOUBLE;
    case E::kText:
    case E::kJson:
    case E::kJsonb:
      return t == DUCKDB_TYPE_VARCHAR;
    case E::kBytea:
      return t == DUCKDB_TYPE_BLOB;
    case E::kDate:
      return t == DUCKDB_TYPE_DATE;
    case E::kTime:
      return t == DUCKDB_TYPE_TIME;
    case E::kTimetz:
      return t == DUCKDB_TYPE_TIME_TZ;
    case E::kTimestamp:
      return IsTimestampType(t);
    case E::kTimestamptz:
      return t == DUCKDB_TYPE_TIMESTAMP_TZ;
    case E::kInterval:
      return t == DUCKDB_TYPE_INTERVAL;
    case E::kUuid:
      return t == DUCKDB_TYPE_UUID;
  }
  return false;
}

std::string_view StringOf(const duckdb_string_t& s) {
  const uint32_t length = s.value.inlined.length;
  return {length <= 12 ? s.value.inlined.inlined : s.value.pointer.ptr, length};
}

}  // namespace

char* SendBuffer::Grow(size_t n) {
  if (size_ + n > capacity_) {
    size_t capacity = std::max<size_t>(capacity_ * 2, size_ + n);
    std::unique_ptr<char[]> bigger(new char[capacity]);
    if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = capacity;
  }
  char* at = data_.get() + size_;
  size_ += n;
  return at;
}

struct CopyEncoder::Column {
  std::string name;
  FieldEncoding encoding = FieldEncoding::kText;
  duckdb_type type = DUCKDB_TYPE_INVALID;             // of the vectors
  duckdb_type decimal_storage = DUCKDB_TYPE_INVALID;  // DECIMAL's physical integer type
  int decimal_scale = 0;
  std::vector<char> numerics;  // kNumeric: this chunk's encoded fields, kMaxEncodedSize apart
  std::vector<uint8_t> numeric_sizes;

  [[noreturn]] void Fail(uint64_t row, const std::string& message) const {
    throw PostgresError("row " + std::to_string(row) + ", column " + name + ": " + message);
  }
};

CopyEncoder::CopyEncoder(std::vector<EncodedColumn> columns,
                         const std::vector<duckdb_logical_type>& types) {
  columns_.reserve(columns.size());
  for (size_t i = 0; i < columns.size(); ++i) {
    Column c;
    c.name = std::move(columns[i].name);
    c.encoding = columns[i].encoding;
    c.type = duckdb_get_type_id(types[i]);
    if (c.type == DUCKDB_TYPE_DECIMAL) {
      c.decimal_storage = duckdb_decimal_internal_type(types[i]);
      c.decimal_scale = duckdb_decimal_scale(types[i]);
    }
    if (!Encodable(c.type, c.encoding)) {
      throw PostgresError("column " + c.name + ": cannot encode DuckDB type id " +
                          std::to_string(c.type) + " as " +
                          std::string(EncodingTypeName(c.encoding)));
    }
    columns_.push_back(std::move(c));
  }
}

CopyEncoder::~CopyEncoder() = default;

void CopyEncoder::WriteHeader(SendBuffer& out) {
  char* p = out.Grow(binary::kCopyHeaderSize);
  std::memcpy(p, binary::kCopySignature, sizeof(binary::kCopySignature));
  binary::Put32(p + 11, 0);  // flags: no OIDs
  binary::Put32(p + 15, 0);  // no header extension
}

void CopyEncoder::WriteTrailer(SendBuffer& out) {
  binary::Put16(out.Grow(2), 0xFFFF);
}

void CopyEncoder::WriteChunk(duckdb_data_chunk chunk, uint64_t first_row, SendBuffer& out) {
  rows_ = duckdb_data_chunk_get_size(chunk);
  if (rows_ == 0) return;
  // Pass 1: every row's size (the int16 field count, then each field).
  cursor_.assign(rows_, 2);
  for (size_t c = 0; c < columns_.size(); ++c) {
    SizeColumn(columns_[c], duckdb_data_chunk_get_vector(chunk, c), first_row);
  }
  uint64_t total = 0;
  for (idx_t r = 0; r < rows_; ++r) total += std::exchange(cursor_[r], total);
  base_ = out.Grow(total);
  for (idx_t r = 0; r < rows_; ++r) {
    binary::Put16(base_ + cursor_[r], static_cast<uint16_t>(columns_.size()));
    cursor_[r] += 2;
  }
  // Pass 2: each column's fields at each row's cursor.
  for (size_t c = 0; c < columns_.size(); ++c) {
    WriteColumn(columns_[c], duckdb_data_chunk_get_vector(chunk, c), first_row);
  }
}

namespace {

// The numeric field of row `r` of a numeric-encodable vector, written to `out`.
size_t EncodeNumericField(duckdb_type type, duckdb_type storage, int scale, const void* data,
                          idx_t r, char* out) {
  auto scaled = [&](Int128 v, int s) {
    const UInt128 magnitude = v < 0 ? -static_cast<UInt128>(v) : static_cast<UInt128>(v);
    return numeric::EncodeScaled(v < 0, magnitude, s, s, out);
  };
  switch (type) {
    case DUCKDB_TYPE_FLOAT:
      return numeric::EncodeFloat(static_cast<const float*>(data)[r], out);
    case DUCKDB_TYPE_DOUBLE:
      return numeric::EncodeDouble(static_cast<const double*>(data)[r], out);
    case DUCKDB_TYPE_UHUGEINT: {
      const duckdb_uhugeint v = static_cast<const duckdb_uhugeint*>(data)[r];
      return numeric::EncodeScaled(false, (static_cast<UInt128>(v.upper) << 64) | v.lower, 0, 0,
                                   out);
    }
    case DUCKDB_TYPE_DECIMAL:
      type = storage;
      break;
    default:
      scale = 0;
      break;
  }
  switch (type) {
    case DUCKDB_TYPE_TINYINT:
      return scaled(static_cast<const int8_t*>(data)[r], scale);
    case DUCKDB_TYPE_SMALLINT:
      return scaled(static_cast<const int16_t*>(data)[r], scale);
    case DUCKDB_TYPE_INTEGER:
      return scaled(static_cast<const int32_t*>(data)[r], scale);
    case DUCKDB_TYPE_BIGINT:
      return scaled(static_cast<const int64_t*>(data)[r], scale);
    case DUCKDB_TYPE_UTINYINT:
      return scaled(static_cast<const uint8_t*>(data)[r], 0);
    case DUCKDB_TYPE_USMALLINT:
      return scaled(static_cast<const uint16_t*>(data)[r], 0);
    case DUCKDB_TYPE_UINTEGER:
      return scaled(static_cast<const uint32_t*>(data)[r], 0);
    case DUCKDB_TYPE_UBIGINT:
      return scaled(static_cast<const uint64_t*>(data)[r], 0);
    case DUCKDB_TYPE_HUGEINT:
      return scaled(Widen(static_cast<const duckdb_hugeint*>(data)[r]).value, scale);
    default:
      return 0;
  }
}

}  // namespace

void CopyEncoder::SizeColumn(Column& c, duckdb_vector vector, uint64_t first_row) {
  const uint64_t* validity = duckdb_vector_get_validity(vector);
  const void* data = duckdb_vector_get_data(vector);
  if (const uint32_t width = FixedWidth(c.encoding); width > 0) {
    for (idx_t r = 0; r < rows_; ++r) cursor_[r] += Valid(validity, r) ? 4 + width : 4;
    return;
  }
  if (c.encoding == E::kNumeric) {
    c.numerics.resize(rows_ * numeric::kMaxEncodedSize);
    c.numeric_sizes.resize(rows_);
    for (idx_t r = 0; r < rows_; ++r) {
      if (!Valid(validity, r)) {
        cursor_[r] += 4;
        continue;
      }
      const size_t size = EncodeNumericField(c.type, c.decimal_storage, c.decimal_scale, data, r,
                                             c.numerics.data() + r * numeric::kMaxEncodedSize);
      c.numeric_sizes[r] = static_cast<uint8_t>(size);
      cursor_[r] += 4 + size;
    }
    return;
  }
  // text, json, jsonb (one version byte more) and bytea: the string's bytes.
  const auto* strings = static_cast<const duckdb_string_t*>(data);
  const uint64_t extra = c.encoding == E::kJsonb ? 5 : 4;
  for (idx_t r = 0; r < rows_; ++r) {
    if (!Valid(validity, r)) {
      cursor_[r] += 4;
      continue;
    }
    const uint32_t length = strings[r].value.inlined.length;
    if (length > 0x3FFFFFFFu) c.Fail(first_row + r, "value is larger than PostgreSQL's 1 GB limit");
    cursor_[r] += extra + length;
  }
}

namespace {

// Writes a fixed-width column: `payload(r, dst)` fills the `width` bytes of row r's field.
template <typename Payload>
void WriteFixed(char* base, uint64_t* cursor, idx_t rows, const uint64_t* validity, uint32_t width,
                Payload&& payload) {
  for (idx_t r = 0; r < rows; ++r) {
    char* p = base + cursor[r];
    if (!Valid(validity, r)) {
      binary::Put32(p, kNull);
      cursor[r] += 4;
      continue;
    }
    binary::Put32(p, width);
    payload(r, p + 4);
    cursor[r] += 4 + width;
  }
}

template <typename Target, typename Source, typename Fail>
void WriteIntegers(char* base, uint64_t* cursor, idx_t rows, const uint64_t* validity,
                   const Source* values, Fail&& fail) {
  WriteFixed(base, cursor, rows, validity, sizeof(Target), [&](idx_t r, char* p) {
    const Wide v = Widen(values[r]);
    if (v.value < std::numeric_limits<Target>::min() ||
        v.value > std::numeric_limits<Target>::max()) {
      fail(r, "value " + v.Text() + " does not fit ");
    }
    const auto bits = static_cast<std::make_unsigned_t<Target>>(static_cast<Target>(v.value));
    if constexpr (sizeof(Target) == 2) binary::Put16(p, bits);
    if constexpr (sizeof(Target) == 4) binary::Put32(p, bits);
    if constexpr (sizeof(Target) == 8) binary::Put64(p, bits);
  });
}

template <typename Target, typename Fail>
void WriteIntegerColumn(duckdb_type type, char* base, uint64_t* cursor, idx_t rows,
                        const uint64_t* validity, const void* data, Fail&& fail) {
  switch (type) {
    case DUCKDB_TYPE_TINYINT:
      return WriteIntegers<Target>(base, cursor, rows, validity, static_cast<const int8_t*>(data),
                                   fail);
    case DUCKDB_TYPE_SMALLINT:
      return WriteIntegers<Target>(base, cursor, rows, validity, static_cast<const int16_t*>(data),
                                   fail);
    case DUCKDB_TYPE_INTEGER:
      return WriteIntegers<Target>(base, cursor, rows, validity, static_cast<const int32_t*>(data),
                                   fail);
    case DUCKDB_TYPE_BIGINT:
      return WriteIntegers<Target>(base, cursor, rows, validity, static_cast<const int64_t*>(data),
                                   fail);
    case DUCKDB_TYPE_UTINYINT:
      return WriteIntegers<Target>(base, cursor, rows, validity, static_cast<const uint8_t*>(data),
                                   fail);
    case DUCKDB_TYPE_USMALLINT:
      return WriteIntegers<Target>(base, cursor, rows, validity, static_cast<const uint16_t*>(data),
                                   fail);
    case DUCKDB_TYPE_UINTEGER:
      return WriteIntegers<Target>(base, cursor, rows, validity, static_cast<const uint32_t*>(data),
                                   fail);
    case DUCKDB_TYPE_UBIGINT:
      return WriteIntegers<Target>(base, cursor, rows, validity, static_cast<const uint64_t*>(data),
                                   fail);
    case DUCKDB_TYPE_HUGEINT:
      return WriteIntegers<Target>(base, cursor, rows, validity,
                                   static_cast<const duckdb_hugeint*>(data), fail);
    case DUCKDB_TYPE_UHUGEINT:
      return WriteIntegers<Target>(base, cursor, rows, validity,
                                   static_cast<const duckdb_uhugeint*>(data), fail);
    default:
      return;
  }
}

// Microseconds since 1970 of a DuckDB timestamp of type `t`; false when it overflows.
bool TimestampMicros(duckdb_type t, int64_t value, int64_t* micros) {
  switch (t) {
    case DUCKDB_TYPE_TIMESTAMP_S:
      return !__builtin_mul_overflow(value, 1000000, micros);
    case DUCKDB_TYPE_TIMESTAMP_MS:
      return !__builtin_mul_overflow(value, 1000, micros);
    case DUCKDB_TYPE_TIMESTAMP_NS:
      *micros = value / 1000 - (value % 1000 < 0 ? 1 : 0);  // floor: PostgreSQL keeps microseconds
      return true;
    default:
      *micros = value;
      return true;
  }
}

}  // namespace

void CopyEncoder::WriteColumn(Column& c, duckdb_vector vector, uint64_t first_row) {
  const uint64_t* validity = duckdb_vector_get_validity(vector);
  const void* data = duckdb_vector_get_data(vector);
  uint64_t* cursor = cursor_.data();
  auto fail = [&](idx_t r, const std::string& message) {
    c.Fail(first_row + r, message + std::string(EncodingTypeName(c.encoding)));
  };
  switch (c.encoding) {
    case E::kBool:
      return WriteFixed(base_, cursor, rows_, validity, 1,
                        [&](idx_t r, char* p) { *p = static_cast<const bool*>(data)[r] ? 1 : 0; });
    case E::kInt2:
      return WriteIntegerColumn<int16_t>(c.type, base_, cursor, rows_, validity, data, fail);
    case E::kInt4:
      return WriteIntegerColumn<int32_t>(c.type, base_, cursor, rows_, validity, data, fail);
    case E::kInt8:
      return WriteIntegerColumn<int64_t>(c.type, base_, cursor, rows_, validity, data, fail);
    case E::kFloat4:
      return WriteFixed(base_, cursor, rows_, validity, 4, [&](idx_t r, char* p) {
        binary::Put32(p, std::bit_cast<uint32_t>(static_cast<const float*>(data)[r]));
      });
    case E::kFloat8:
      return WriteFixed(base_, cursor, rows_, validity, 8, [&](idx_t r, char* p) {
        binary::Put64(p, std::bit_cast<uint64_t>(static_cast<const double*>(data)[r]));
      });
    case E::kDate:
      return WriteFixed(base_, cursor, rows_, validity, 4, [&](idx_t r, char* p) {
        const int32_t days = static_cast<const duckdb_date*>(data)[r].days;
        const int64_t max = std::numeric_limits<int32_t>::max();
        int64_t pg = days == max ? max : days == -max ? -max - 1 : days - binary::kEpochDays;
        if (pg < -max - 1) fail(r, "value out of range for ");
        binary::Put32(p, static_cast<uint32_t>(static_cast<int32_t>(pg)));
      });
    case E::kTime:
      return WriteFixed(base_, cursor, rows_, validity, 8, [&](idx_t r, char* p) {
        binary::Put64(p, static_cast<uint64_t>(static_cast<const duckdb_time*>(data)[r].micros));
      });
    case E::kTimetz:
      return WriteFixed(base_, cursor, rows_, validity, 12, [&](idx_t r, char* p) {
        const duckdb_time_tz_struct t =
            duckdb_from_time_tz(static_cast<const duckdb_time_tz*>(data)[r]);
        const int64_t micros =
            ((t.time.hour * 60LL + t.time.min) * 60 + t.time.sec) * 1000000LL + t.time.micros;
        binary::Put64(p, static_cast<uint64_t>(micros));
        binary::Put32(p + 8, static_cast<uint32_t>(-t.offset));  // PostgreSQL: seconds west
      });
    case E::kTimestamp:
    case E::kTimestamptz:
      return WriteFixed(base_, cursor, rows_, validity, 8, [&](idx_t r, char* p) {
        const int64_t value = static_cast<const int64_t*>(data)[r];
        constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
        int64_t micros = 0;
        if (value == kMax || value == -kMax) {  // DuckDB's infinities -> PostgreSQL's
          micros = value == kMax ? kMax : std::numeric_limits<int64_t>::min();
        } else if (!TimestampMicros(c.type, value, &micros) ||
                   __builtin_sub_overflow(micros, binary::kEpochMicros, &micros)) {
          fail(r, "value out of range for ");
        }
        binary::Put64(p, static_cast<uint64_t>(micros));
      });
    case E::kInterval:
      return WriteFixed(base_, cursor, rows_, validity, 16, [&](idx_t r, char* p) {
        const duckdb_interval v = static_cast<const duckdb_interval*>(data)[r];
        binary::Put64(p, static_cast<uint64_t>(v.micros));
        binary::Put32(p + 8, static_cast<uint32_t>(v.days));
        binary::Put32(p + 12, static_cast<uint32_t>(v.months));
      });
    case E::kUuid:
      return WriteFixed(base_, cursor, rows_, validity, 16, [&](idx_t r, char* p) {
        // DuckDB stores a UUID as a HUGEINT with the top bit flipped (so that it sorts).
        const duckdb_hugeint v = static_cast<const duckdb_hugeint*>(data)[r];
        binary::Put64(p, static_cast<uint64_t>(v.upper) ^ (uint64_t{1} << 63));
        binary::Put64(p + 8, v.lower);
      });
    case E::kNumeric:
      for (idx_t r = 0; r < rows_; ++r) {
        char* p = base_ + cursor[r];
        if (!Valid(validity, r)) {
          binary::Put32(p, kNull);
          cursor[r] += 4;
          continue;
        }
        const uint32_t size = c.numeric_sizes[r];
        binary::Put32(p, size);
        std::memcpy(p + 4, c.numerics.data() + r * numeric::kMaxEncodedSize, size);
        cursor[r] += 4 + size;
      }
      return;
    case E::kText:
    case E::kJson:
    case E::kJsonb:
    case E::kBytea: {
      const auto* strings = static_cast<const duckdb_string_t*>(data);
      const bool jsonb = c.encoding == E::kJsonb;
      for (idx_t r = 0; r < rows_; ++r) {
        char* p = base_ + cursor[r];
        if (!Valid(validity, r)) {
          binary::Put32(p, kNull);
          cursor[r] += 4;
          continue;
        }
        const std::string_view s = StringOf(strings[r]);
        binary::Put32(p, static_cast<uint32_t>(s.size() + (jsonb ? 1 : 0)));
        p += 4;
        if (jsonb) *p++ = 1;  // jsonb's binary format version
        std::memcpy(p, s.data(), s.size());
        cursor[r] += 4 + (jsonb ? 1 : 0) + s.size();
      }
      return;
    }
  }
}

}  // namespace kiln::connectors::postgres
