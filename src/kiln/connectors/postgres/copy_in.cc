// LoadQuery: COPY (query) TO STDOUT (FORMAT binary) -> DuckDB data chunks -> the appender.
#include <libpq-fe.h>

#include <bit>
#include <cctype>
#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "kiln/common/names.h"
#include "kiln/connectors/postgres/binary.h"
#include "kiln/connectors/postgres/numeric.h"
#include "kiln/connectors/postgres/postgres.h"
#include "kiln/connectors/postgres/server_error.h"
#include "kiln/connectors/postgres/types.h"

namespace kiln::connectors::postgres {
namespace {

using D = FieldDecoding;

struct LoadColumn {
  std::string name;  // in DuckDB (PostgreSQL's, made unique)
  LoadColumnPlan plan;
};

std::string FirstLine(const std::string& query) {
  size_t start = query.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) return "";
  size_t end = query.find_first_of("\r\n", start);
  std::string line = query.substr(start, end == std::string::npos ? end : end - start);
  return line.size() > 80 ? line.substr(0, 77) + "..." : line;
}

// COPY (...) takes one statement without its terminating semicolon.
std::string WithoutTrailingSemicolons(const std::string& query) {
  size_t end = query.size();
  while (end > 0 &&
         (query[end - 1] == ';' || std::isspace(static_cast<unsigned char>(query[end - 1])))) {
    --end;
  }
  return query.substr(0, end);
}

std::vector<LoadColumn> DescribeQuery(Connection& pg, const std::string& query) {
  ResultPtr prepared(PQprepare(pg.raw(), "", query.c_str(), 0, nullptr));
  if (!prepared || PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
    throw PostgresError(ServerMessage(prepared.get(), pg.raw()));
  }
  ResultPtr described(PQdescribePrepared(pg.raw(), ""));
  if (!described || PQresultStatus(described.get()) != PGRES_COMMAND_OK) {
    throw PostgresError(ServerMessage(described.get(), pg.raw()));
  }
  std::vector<LoadColumn> columns;
  std::set<std::string> taken;  // lower-cased: DuckDB's column names are case-insensitive
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (int i = 0; i < PQnfields(described.get()); ++i) {
    const std::string base = PQfname(described.get(), i);
    std::string name = base;
    for (int n = 1; taken.count(lower(name)) > 0; ++n) name = base + "_" + std::to_string(n);
    taken.insert(lower(name));
    columns.push_back(
        {name, PlanLoadColumn(PQftype(described.get(), i), PQfmod(described.get(), i))});
  }
  return columns;
}

// The COPY statement, casting to text the columns without a binary decoder.
std::string CopySql(const std::string& query, const std::vector<LoadColumn>& columns) {
  bool any_text = false;
  for (const LoadColumn& c : columns) any_text = any_text || c.plan.copy_as_text;
  if (!any_text) return "COPY (" + query + ") TO STDOUT (FORMAT binary)";
  std::string select, aliases;
  for (size_t i = 0; i < columns.size(); ++i) {
    const std::string alias = "c" + std::to_string(i + 1);
    select += (i ? ", q." : "q.") + alias + (columns[i].plan.copy_as_text ? "::text" : "");
    aliases += (i ? ", " : "") + alias;
  }
  // A top-level CTE rather than a subquery, so that `query` may also be a data-modifying
  // statement (INSERT ... RETURNING), which PostgreSQL allows only at the top level.
  return "COPY (WITH q(" + aliases + ") AS (" + query + ") SELECT " + select +
         " FROM q) TO STDOUT (FORMAT binary)";
}

// "memory.main."x"" -> {"memory", "main", "x"}.
std::vector<std::string> SplitQualifiedName(std::string_view name) {
  std::vector<std::string> parts(1);
  bool quoted = false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (quoted) {
      if (c != '"') {
        parts.back() += c;
      } else if (i + 1 < name.size() && name[i + 1] == '"') {
        parts.back() += '"';
        ++i;
      } else {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '.') {
      parts.emplace_back();
    } else if (!std::isspace(static_cast<unsigned char>(c))) {
      parts.back() += c;
    }
  }
  return parts;
}

//! The DuckDB appender of one table, closed by Close() (flushing) or destroyed.
class Appender {
 public:
  Appender(data::Connection& duck, const std::string& table) {
    std::vector<std::string> parts = SplitQualifiedName(table);
    const char* catalog = parts.size() >= 3 ? parts[parts.size() - 3].c_str() : nullptr;
    const char* schema = parts.size() >= 2 ? parts[parts.size() - 2].c_str() : nullptr;
    if (duckdb_appender_create_ext(duck.handle(), catalog, schema, parts.back().c_str(),
                                   &appender_) == DuckDBError) {
      Throw("cannot append to " + table);
    }
  }
  ~Appender() { duckdb_appender_destroy(&appender_); }
  Appender(const Appender&) = delete;
  Appender& operator=(const Appender&) = delete;

  duckdb_appender get() { return appender_; }
  void Append(duckdb_data_chunk chunk) {
    if (duckdb_append_data_chunk(appender_, chunk) == DuckDBError) Throw("appending rows failed");
  }
  void Close() {
    if (duckdb_appender_close(appender_) == DuckDBError) Throw("appending rows failed");
  }

 private:
  [[noreturn]] void Throw(const std::string& what) {
    const char* error = appender_ ? duckdb_appender_error(appender_) : nullptr;
    throw data::DataError(what + (error ? std::string(": ") + error : ""));
  }
  duckdb_appender appender_ = nullptr;
};

//! Decodes binary COPY tuples into DuckDB data chunks and appends each full chunk.
class ChunkBuilder {
 public:
  ChunkBuilder(const std::vector<LoadColumn>& columns, Appender& appender)
      : columns_(columns), appender_(appender), capacity_(duckdb_vector_size()) {
    std::vector<duckdb_logical_type> types;
    for (size_t i = 0; i < columns.size(); ++i) {
      types.push_back(duckdb_appender_column_type(appender.get(), i));
      Target t;
      if (columns[i].plan.decoding == D::kNumericDecimal) {
        t.decimal_storage = duckdb_decimal_internal_type(types.back());
      }
      targets_.push_back(t);
    }
    chunk_ = duckdb_create_data_chunk(types.data(), types.size());
    for (duckdb_logical_type& t : types) duckdb_destroy_logical_type(&t);
    Reset();
  }
  ~ChunkBuilder() { duckdb_destroy_data_chunk(&chunk_); }
  ChunkBuilder(const ChunkBuilder&) = delete;
  ChunkBuilder& operator=(const ChunkBuilder&) = delete;

  //! Adds the complete tuple at `p` (`size` bytes), row `row` (1-based) of the result.
  void Add(const char* p, size_t size, uint64_t row);
  //! Appends the rows not yet appended.
  void Flush() {
    if (size_ == 0) return;
    duckdb_data_chunk_set_size(chunk_, size_);
    appender_.Append(chunk_);
    Reset();
  }

 private:
  struct Target {
    duckdb_vector vector = nullptr;
    void* data = nullptr;
    uint64_t* validity = nullptr;
    duckdb_type decimal_storage = DUCKDB_TYPE_INVALID;
  };
  void Reset() {
    duckdb_data_chunk_reset(chunk_);
    size_ = 0;
    for (size_t i = 0; i < targets_.size(); ++i) {
      Target& t = targets_[i];
      t.vector = duckdb_data_chunk_get_vector(chunk_, i);
      duckdb_vector_ensure_validity_writable(t.vector);
      t.validity = duckdb_vector_get_validity(t.vector);
      std::fill(t.validity, t.validity + (capacity_ + 63) / 64, ~uint64_t{0});
      t.data = duckdb_vector_get_data(t.vector);
    }
  }
  void Decode(size_t column, const char* p, int32_t size, uint64_t row);
  [[noreturn]] void Fail(size_t column, uint64_t row, const std::string& message) const {
    throw PostgresError("row " + std::to_string(row) + ", column " + columns_[column].name + ": " +
                        message);
  }

  const std::vector<LoadColumn>& columns_;
  Appender& appender_;
  const idx_t capacity_;
  duckdb_data_chunk chunk_ = nullptr;
  std::vector<Target> targets_;
  idx_t size_ = 0;
  std::string scratch_, error_;
};

void ChunkBuilder::Add(const char* p, size_t size, uint64_t row) {
  const size_t count = binary::Get16(p);
  if (count != columns_.size()) {
    throw PostgresError("row " + std::to_string(row) + " has " + std::to_string(count) +
                        " fields, expected " + std::to_string(columns_.size()));
  }
  size_t at = 2;
  for (size_t c = 0; c < count; ++c) {
    const auto length = static_cast<int32_t>(binary::Get32(p + at));
    at += 4;
    if (length < 0) {
      duckdb_validity_set_row_invalid(targets_[c].validity, size_);
    } else {
      Decode(c, p + at, length, row);
      at += static_cast<size_t>(length);
    }
  }
  if (++size_ == capacity_) Flush();
}

void ChunkBuilder::Decode(size_t column, const char* p, int32_t size, uint64_t row) {
  Target& t = targets_[column];
  const LoadColumnPlan& plan = columns_[column].plan;
  const idx_t r = size_;
  auto expect = [&](int32_t bytes) {
    if (size != bytes) Fail(column, row, "malformed binary value");
  };
  constexpr int64_t kMax64 = std::numeric_limits<int64_t>::max();
  constexpr int32_t kMax32 = std::numeric_limits<int32_t>::max();
  switch (plan.decoding) {
    case D::kBool:
      expect(1);
      static_cast<bool*>(t.data)[r] = *p != 0;
      return;
    case D::kInt2:
      expect(2);
      static_cast<int16_t*>(t.data)[r] = static_cast<int16_t>(binary::Get16(p));
      return;
    case D::kInt4:
      expect(4);
      static_cast<int32_t*>(t.data)[r] = static_cast<int32_t>(binary::Get32(p));
      return;
    case D::kInt8:
      expect(8);
      static_cast<int64_t*>(t.data)[r] = static_cast<int64_t>(binary::Get64(p));
      return;
    case D::kFloat4:
      expect(4);
      static_cast<float*>(t.data)[r] = std::bit_cast<float>(binary::Get32(p));
      return;
    case D::kFloat8:
      expect(8);
      static_cast<double*>(t.data)[r] = std::bit_cast<double>(binary::Get64(p));
      return;
    case D::kNumericDouble:
      if (!numeric::DecodeDouble(p, size, &static_cast<double*>(t.data)[r], &scratch_, &error_)) {
        Fail(column, row, error_);
      }
      return;
    case D::kNumericDecimal: {
      numeric::Int128 v = 0;
      if (!numeric::DecodeScaled(p, size, plan.decimal_width, plan.decimal_scale, &v, &error_)) {
        Fail(column, row, error_);
      }
      switch (t.decimal_storage) {
        case DUCKDB_TYPE_SMALLINT:
          static_cast<int16_t*>(t.data)[r] = static_cast<int16_t>(v);
          return;
        case DUCKDB_TYPE_INTEGER:
          static_cast<int32_t*>(t.data)[r] = static_cast<int32_t>(v);
          return;
        case DUCKDB_TYPE_BIGINT:
          static_cast<int64_t*>(t.data)[r] = static_cast<int64_t>(v);
          return;
        default: {
          const auto bits = static_cast<numeric::UInt128>(v);
          static_cast<duckdb_hugeint*>(t.data)[r] = {static_cast<uint64_t>(bits),
                                                     static_cast<int64_t>(bits >> 64)};
          return;
        }
      }
    }
    case D::kJsonb:
      if (size < 1 || *p != 1) Fail(column, row, "unsupported jsonb format version");
      duckdb_vector_assign_string_element_len(t.vector, r, p + 1, size - 1);
      return;
    case D::kText:
    case D::kBytea:
      duckdb_vector_assign_string_element_len(t.vector, r, p, size);
      return;
    case D::kDate: {
      expect(4);
      const auto days = static_cast<int32_t>(binary::Get32(p));
      // PostgreSQL's +-infinity are INT32_MAX and INT32_MIN; DuckDB's are +-INT32_MAX.
      static_cast<duckdb_date*>(t.data)[r].days =
          days == kMax32        ? kMax32
          : days == -kMax32 - 1 ? -kMax32
                                : days + static_cast<int32_t>(binary::kEpochDays);
      return;
    }
    case D::kTime:
      expect(8);
      static_cast<duckdb_time*>(t.data)[r].micros = static_cast<int64_t>(binary::Get64(p));
      return;
    case D::kTimetz: {
      expect(12);
      const auto zone_west = static_cast<int32_t>(binary::Get32(p + 8));
      static_cast<duckdb_time_tz*>(t.data)[r] =
          duckdb_create_time_tz(static_cast<int64_t>(binary::Get64(p)), -zone_west);
      return;
    }
    case D::kTimestamp:
    case D::kTimestamptz: {
      expect(8);
      const auto micros = static_cast<int64_t>(binary::Get64(p));
      int64_t value = 0;
      if (micros == kMax64 || micros == std::numeric_limits<int64_t>::min()) {
        value = micros == kMax64 ? kMax64 : -kMax64;
      } else if (__builtin_add_overflow(micros, binary::kEpochMicros, &value) || value == kMax64) {
        Fail(column, row, "timestamp out of DuckDB's range");
      }
      static_cast<int64_t*>(t.data)[r] = value;
      return;
    }
    case D::kInterval: {
      expect(16);
      duckdb_interval& v = static_cast<duckdb_interval*>(t.data)[r];
      v.micros = static_cast<int64_t>(binary::Get64(p));
      v.days = static_cast<int32_t>(binary::Get32(p + 8));
      v.months = static_cast<int32_t>(binary::Get32(p + 12));
      return;
    }
    case D::kUuid: {
      expect(16);
      static_cast<duckdb_hugeint*>(t.data)[r] = {
          binary::Get64(p + 8), static_cast<int64_t>(binary::Get64(p) ^ (uint64_t{1} << 63))};
      return;
    }
  }
}

//! Splits the bytes of a binary COPY TO stream into tuples, wherever messages break them.
class TupleReader {
 public:
  //! Calls `tuple(p, size)` for each complete tuple in `data`, keeping a broken-off rest.
  template <typename OnTuple>
  void Feed(const char* data, size_t size, OnTuple&& tuple) {
    const char* p = data;
    size_t n = size;
    if (!pending_.empty()) {
      pending_.append(data, size);
      p = pending_.data();
      n = pending_.size();
    }
    size_t used = 0;
    if (!header_read_) {
      if (n < binary::kCopyHeaderSize) return Keep(p, n, 0);
      if (std::memcmp(p, binary::kCopySignature, sizeof(binary::kCopySignature)) != 0) {
        throw PostgresError("the server sent no binary COPY header");
      }
      used = binary::kCopyHeaderSize + binary::Get32(p + 15);  // skips a header extension
      if (n < used) return Keep(p, n, 0);
      header_read_ = true;
    }
    while (!done_ && used < n) {
      const int64_t length = TupleLength(p + used, n - used);
      if (length == 0) break;
      if (length < 0) {
        done_ = true;
        used += 2;
        break;
      }
      tuple(p + used, static_cast<size_t>(length));
      used += static_cast<size_t>(length);
    }
    Keep(p, n, used);
  }

 private:
  // The bytes of the tuple at p if all `available` there, 0 if not, -1 for the trailer.
  static int64_t TupleLength(const char* p, size_t available) {
    if (available < 2) return 0;
    const auto count = static_cast<int16_t>(binary::Get16(p));
    if (count == -1) return -1;
    size_t at = 2;
    for (int i = 0; i < count; ++i) {
      if (available < at + 4) return 0;
      const auto length = static_cast<int32_t>(binary::Get32(p + at));
      at += 4 + (length > 0 ? static_cast<size_t>(length) : 0);
      if (available < at) return 0;
    }
    return static_cast<int64_t>(at);
  }
  void Keep(const char* p, size_t n, size_t used) {
    if (p == pending_.data()) {
      pending_.erase(0, used);
    } else {
      pending_.assign(p + used, n - used);
    }
  }

  std::string pending_;
  bool header_read_ = false;
  bool done_ = false;
};

//! Reads a COPY TO STDOUT started on `pg` to its end. Cancels and drains it when the reading
//! stops early (an exception), so that the connection stays usable.
class CopyOut {
 public:
  CopyOut(Connection& pg, const std::string& sql) : pg_(pg) {
    ResultPtr result(PQexec(pg.raw(), sql.c_str()));
    if (!result || PQresultStatus(result.get()) != PGRES_COPY_OUT) {
      throw PostgresError(ServerMessage(result.get(), pg.raw()));
    }
    active_ = true;
  }
  ~CopyOut() {
    if (!active_) return;
    pg_.Cancel();
    char* buffer = nullptr;
    while (PQgetCopyData(pg_.raw(), &buffer, 0) > 0) PQfreemem(buffer);
    DrainResults(pg_.raw());
  }

  template <typename OnData>
  void ReadAll(OnData&& on_data) {
    char* buffer = nullptr;
    int length = 0;
    while ((length = PQgetCopyData(pg_.raw(), &buffer, 0)) > 0) {
      std::unique_ptr<char, decltype(&PQfreemem)> owned(buffer, &PQfreemem);
      on_data(buffer, static_cast<size_t>(length));
    }
    active_ = false;
    if (length == -2) throw PostgresError(OneLine(PQerrorMessage(pg_.raw())));
    ResultPtr result(PQgetResult(pg_.raw()));
    DrainResults(pg_.raw());
    if (!result || PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      throw PostgresError(ServerMessage(result.get(), pg_.raw()));
    }
  }

 private:
  Connection& pg_;
  bool active_ = false;
};

}  // namespace

uint64_t LoadQuery(Connection& pg, const std::string& query, data::Connection& duck,
                   const std::string& duck_table) {
  const std::string body = WithoutTrailingSemicolons(query);
  uint64_t rows = 0;
  try {
    const std::vector<LoadColumn> columns = DescribeQuery(pg, body);
    std::string create = "CREATE TABLE " + duck_table + " (";
    for (size_t i = 0; i < columns.size(); ++i) {
      create +=
          (i ? ", " : "") + QuoteIdentifier(columns[i].name) + " " + columns[i].plan.duckdb_type;
    }
    data::InTransaction(duck, [&] {
      duck.Execute(create + ")");
      Appender appender(duck, duck_table);
      ChunkBuilder chunks(columns, appender);
      TupleReader reader;
      CopyOut copy(pg, CopySql(body, columns));
      copy.ReadAll([&](const char* data, size_t size) {
        reader.Feed(data, size,
                    [&](const char* tuple, size_t length) { chunks.Add(tuple, length, ++rows); });
      });
      chunks.Flush();
      appender.Close();
    });
  } catch (const PostgresError& e) {
    throw PostgresError("PostgreSQL " + pg.settings().Describe() + ", query \"" + FirstLine(query) +
                        "\": " + e.what());
  }
  return rows;
}

}  // namespace kiln::connectors::postgres
