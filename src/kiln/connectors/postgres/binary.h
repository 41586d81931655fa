// connectors/postgres/binary.h: PostgreSQL's binary wire format, internal to this folder.
// Type OIDs, epochs and big-endian reads and writes, shared by the COPY encoder (copy_out.cc)
// and decoder (copy_in.cc).
#pragma once

#include <cstdint>
#include <cstring>

namespace kiln::connectors::postgres::binary {

// Built-in type OIDs (PostgreSQL's src/include/catalog/pg_type.dat; stable across versions).
inline constexpr uint32_t kBoolOid = 16;
inline constexpr uint32_t kByteaOid = 17;
inline constexpr uint32_t kNameOid = 19;
inline constexpr uint32_t kInt8Oid = 20;
inline constexpr uint32_t kInt2Oid = 21;
inline constexpr uint32_t kInt4Oid = 23;
inline constexpr uint32_t kTextOid = 25;
inline constexpr uint32_t kJsonOid = 114;
inline constexpr uint32_t kFloat4Oid = 700;
inline constexpr uint32_t kFloat8Oid = 701;
inline constexpr uint32_t kBpcharOid = 1042;
inline constexpr uint32_t kVarcharOid = 1043;
inline constexpr uint32_t kDateOid = 1082;
inline constexpr uint32_t kTimeOid = 1083;
inline constexpr uint32_t kTimestampOid = 1114;
inline constexpr uint32_t kTimestamptzOid = 1184;
inline constexpr uint32_t kIntervalOid = 1186;
inline constexpr uint32_t kTimetzOid = 1266;
inline constexpr uint32_t kNumericOid = 1700;
inline constexpr uint32_t kUuidOid = 2950;
inline constexpr uint32_t kJsonbOid = 3802;

//! PostgreSQL counts dates and timestamps from 2000-01-01, DuckDB from 1970-01-01.
inline constexpr int64_t kEpochDays = 10957;
inline constexpr int64_t kEpochMicros = 946684800000000LL;

//! The 11-byte signature that opens a binary COPY stream, then flags (0) and extension length (0).
inline constexpr char kCopySignature[11] = {'P',  'G',    'C',  'O',  'P', 'Y',
                                            '\n', '\377', '\r', '\n', '\0'};
inline constexpr size_t kCopyHeaderSize = 19;

inline void Put16(char* p, uint16_t v) {
  v = __builtin_bswap16(v);
  std::memcpy(p, &v, 2);
}
inline void Put32(char* p, uint32_t v) {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}
inline void Put64(char* p, uint64_t v) {
  v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}
inline uint16_t Get16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return __builtin_bswap16(v);
}
inline uint32_t Get32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
inline uint64_t Get64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

}  // namespace kiln::connectors::postgres::binary
