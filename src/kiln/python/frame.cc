// Frames on the runner side, writing: a DuckDB relation into a frame, streamed chunk by chunk
// (frame_table.cc reads frames into tables).
#include "kiln/python/frame.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <set>

#include "kiln/data/output_store.h"
#include "kiln/python/frame_layout.h"

namespace kiln::python {
namespace {

using layout::Kind;

[[noreturn]] void FailColumn(const std::string& column, const std::string& message) {
  throw FrameError("frame: column \"" + column + "\": " + message);
}

// ---- DuckDB types -> frame kinds -------------------------------------------------------------

//! How one column of the relation becomes a frame column.
struct SourceColumn {
  FrameColumnInfo info;
  Kind kind = Kind::kInt64;
  //! SQL turning the column into VARCHAR ("{}" stands for the column), or "" to read it as is.
  std::string cast;
  std::string duckdb_name;                 //!< the type name PandasDtypeFor knows, "" for others
  duckdb_type type = DUCKDB_TYPE_INVALID;  //!< of the vectors read (after `cast`)
  duckdb_type decimal_storage = DUCKDB_TYPE_INVALID;
  uint8_t decimal_scale = 0;
};

//! The pandas dtype named `dtype` if the Python side can build it, else "object" (Mage records
//! the Python type of an object column's values: "str", "dict", "date", "int", ...).
std::string NormalizeDtype(const std::string& dtype) {
  static constexpr std::string_view kBuildable[] = {
      "Int8",    "Int16",  "Int32",   "Int64",    "UInt8",          "UInt16",         "UInt32",
      "UInt64",  "int8",   "int16",   "int32",    "int64",          "uint8",          "uint16",
      "uint32",  "uint64", "float32", "float64",  "Float32",        "Float64",        "bool",
      "boolean", "object", "string",  "category", "datetime64[ns]", "timedelta64[ns]"};
  if (std::find(std::begin(kBuildable), std::end(kBuildable), dtype) != std::end(kBuildable) ||
      dtype.starts_with("datetime64[ns, ")) {
    return dtype;
  }
  return "object";
}

//! How values of one DuckDB type become a frame column.
struct TypeRule {
  duckdb_type type;
  Kind kind;
  const char* duckdb_name;  //!< for PandasDtypeFor, "" for types it does not name
  const char* cast;         //!< SQL making the column VARCHAR ("{}": the column), "" for none
};

constexpr const char* kText = "CAST({} AS VARCHAR)";
constexpr const char* kJsonText = "CAST(to_json({}) AS VARCHAR)";
constexpr TypeRule kTypeRules[] = {
    {DUCKDB_TYPE_BOOLEAN, Kind::kBool, "BOOLEAN", ""},
    {DUCKDB_TYPE_TINYINT, Kind::kInt64, "TINYINT", ""},
    {DUCKDB_TYPE_SMALLINT, Kind::kInt64, "SMALLINT", ""},
    {DUCKDB_TYPE_INTEGER, Kind::kInt64, "INTEGER", ""},
    {DUCKDB_TYPE_BIGINT, Kind::kInt64, "BIGINT", ""},
    {DUCKDB_TYPE_UTINYINT, Kind::kInt64, "UTINYINT", ""},
    {DUCKDB_TYPE_USMALLINT, Kind::kInt64, "USMALLINT", ""},
    {DUCKDB_TYPE_UINTEGER, Kind::kInt64, "UINTEGER", ""},
    {DUCKDB_TYPE_UBIGINT, Kind::kFloat64, "UBIGINT", ""},
    {DUCKDB_TYPE_HUGEINT, Kind::kFloat64, "DOUBLE", ""},
    {DUCKDB_TYPE_UHUGEINT, Kind::kFloat64, "DOUBLE", ""},
    {DUCKDB_TYPE_DECIMAL, Kind::kFloat64, "DECIMAL", ""},
    {DUCKDB_TYPE_FLOAT, Kind::kFloat64, "FLOAT", ""},
    {DUCKDB_TYPE_DOUBLE, Kind::kFloat64, "DOUBLE", ""},
    {DUCKDB_TYPE_VARCHAR, Kind::kString, "VARCHAR", ""},
    {DUCKDB_TYPE_ENUM, Kind::kString, "", kText},
    {DUCKDB_TYPE_UUID, Kind::kString, "", kText},
    {DUCKDB_TYPE_TIME, Kind::kString, "", kText},
    {DUCKDB_TYPE_TIME_TZ, Kind::kString, "", kText},
    {DUCKDB_TYPE_TIME_NS, Kind::kString, "", kText},
    {DUCKDB_TYPE_INTERVAL, Kind::kString, "", kText},
    {DUCKDB_TYPE_BLOB, Kind::kString, "", kText},
    {DUCKDB_TYPE_BIT, Kind::kString, "", kText},
    {DUCKDB_TYPE_BIGNUM, Kind::kString, "", kText},
    {DUCKDB_TYPE_SQLNULL, Kind::kString, "", kText},
    {DUCKDB_TYPE_LIST, Kind::kJson, "", kJsonText},
    {DUCKDB_TYPE_STRUCT, Kind::kJson, "", kJsonText},
    {DUCKDB_TYPE_MAP, Kind::kJson, "", kJsonText},
    {DUCKDB_TYPE_ARRAY, Kind::kJson, "", kJsonText},
    {DUCKDB_TYPE_UNION, Kind::kJson, "", kJsonText},
    {DUCKDB_TYPE_TIMESTAMP, Kind::kTimestamp, "TIMESTAMP", ""},
    {DUCKDB_TYPE_TIMESTAMP_S, Kind::kTimestamp, "TIMESTAMP", ""},
    {DUCKDB_TYPE_TIMESTAMP_MS, Kind::kTimestamp, "TIMESTAMP", ""},
    {DUCKDB_TYPE_TIMESTAMP_NS, Kind::kTimestamp, "TIMESTAMP", ""},
    {DUCKDB_TYPE_TIMESTAMP_TZ, Kind::kTimestamp, "TIMESTAMP WITH TIME ZONE", ""},
    {DUCKDB_TYPE_DATE, Kind::kDate, "DATE", ""},
};

SourceColumn Resolve(std::string name, duckdb_logical_type type) {
  SourceColumn s;
  s.info.name = std::move(name);
  s.type = duckdb_get_type_id(type);
  const TypeRule* rule = std::find_if(std::begin(kTypeRules), std::end(kTypeRules),
                                      [&](const TypeRule& r) { return r.type == s.type; });
  if (rule == std::end(kTypeRules)) {
    FailColumn(s.info.name, "DuckDB type id " + std::to_string(s.type) + " has no frame kind");
  }
  s.kind = rule->kind;
  s.duckdb_name = rule->duckdb_name;
  s.cast = rule->cast;
  char* alias = duckdb_logical_type_get_alias(type);
  if (alias != nullptr && s.type == DUCKDB_TYPE_VARCHAR && std::string_view(alias) == "JSON") {
    s.kind = Kind::kJson;
    s.duckdb_name.clear();
  }
  if (alias != nullptr) duckdb_free(alias);
  if (s.type == DUCKDB_TYPE_TIMESTAMP_TZ) s.info.tz = "UTC";
  if (s.type == DUCKDB_TYPE_DECIMAL) {
    s.decimal_storage = duckdb_decimal_internal_type(type);
    s.decimal_scale = duckdb_decimal_scale(type);
  }
  if (!s.cast.empty()) s.type = DUCKDB_TYPE_VARCHAR;
  return s;
}

//! The dtype the Python side builds for `s`: the one `pandas_dtypes` names, else Kiln's default
//! for its DuckDB type (PandasDtypeFor), "category" for ENUM.
std::string ChooseDtype(const SourceColumn& s, duckdb_type original, const nlohmann::json& dtypes) {
  if (dtypes.is_object()) {
    auto it = dtypes.find(s.info.name);
    if (it != dtypes.end() && it->is_string()) return NormalizeDtype(it->get<std::string>());
  }
  if (original == DUCKDB_TYPE_ENUM) return "category";
  if (s.duckdb_name.empty()) return "object";
  return NormalizeDtype(data::PandasDtypeFor(s.duckdb_name));
}

//! Owns a duckdb_logical_type.
class LogicalType {
 public:
  explicit LogicalType(duckdb_logical_type type) : type_(type) {}
  ~LogicalType() { duckdb_destroy_logical_type(&type_); }
  LogicalType(const LogicalType&) = delete;
  LogicalType& operator=(const LogicalType&) = delete;
  duckdb_logical_type get() const { return type_; }

 private:
  duckdb_logical_type type_;
};

// ---- Streaming a query -----------------------------------------------------------------------

struct ChunkDeleter {
  void operator()(duckdb_data_chunk chunk) const { duckdb_destroy_data_chunk(&chunk); }
};
using ChunkPtr = std::unique_ptr<std::remove_pointer_t<duckdb_data_chunk>, ChunkDeleter>;

//! A prepared query: its columns, then its rows chunk by chunk.
class Query {
 public:
  Query(data::Connection& duck, const std::string& sql) {
    if (duckdb_prepare(duck.handle(), sql.c_str(), &statement_) == DuckDBError) {
      const char* error = duckdb_prepare_error(statement_);
      std::string message = error ? error : "cannot prepare " + sql;
      duckdb_destroy_prepare(&statement_);
      throw data::DataError(message);
    }
  }
  ~Query() {
    if (executed_) duckdb_destroy_result(&result_);
    duckdb_destroy_prepare(&statement_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  idx_t column_count() { return duckdb_prepared_statement_column_count(statement_); }
  std::string column_name(idx_t i) {
    const char* name = duckdb_prepared_statement_column_name(statement_, i);
    std::string text = name ? name : "";
    if (name) duckdb_free(const_cast<char*>(name));
    return text;
  }
  //! The column's type (destroy it).
  duckdb_logical_type column_type(idx_t i) {
    return duckdb_prepared_statement_column_logical_type(statement_, i);
  }

  //! The next chunk, or null at the end. Throws data::DataError when the query fails
  //! (InterruptedError after data::Connection::Interrupt()).
  ChunkPtr Next() {
    if (!executed_) {
      executed_ = true;
      if (duckdb_execute_prepared_streaming(statement_, &result_) == DuckDBError) Throw();
    }
    ChunkPtr chunk(duckdb_fetch_chunk(result_));
    if (!chunk) {
      const char* error = duckdb_result_error(&result_);
      if (error != nullptr && *error != '\0') Throw();
    }
    return chunk;
  }

 private:
  [[noreturn]] void Throw() {
    const char* error = duckdb_result_error(&result_);
    std::string message = error ? error : "the query failed";
    if (duckdb_result_error_type(&result_) == DUCKDB_ERROR_INTERRUPT) {
      throw data::InterruptedError("interrupted: " + message);
    }
    throw data::DataError(message);
  }
  duckdb_prepared_statement statement_ = nullptr;
  duckdb_result result_{};
  bool executed_ = false;
};

// ---- Column buffers --------------------------------------------------------------------------

//! A byte buffer growing without copies (anonymous memory extended with mremap).
class GrowBuffer {
 public:
  GrowBuffer() = default;
  ~GrowBuffer() { Free(); }
  GrowBuffer(GrowBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        capacity_(std::exchange(o.capacity_, 0)) {}
  GrowBuffer& operator=(GrowBuffer&&) = delete;
  GrowBuffer(const GrowBuffer&) = delete;
  GrowBuffer& operator=(const GrowBuffer&) = delete;

  //! `n` more bytes at the end (never null); valid until the next Extend.
  uint8_t* Extend(uint64_t n) {
    if (data_ == nullptr || size_ + n > capacity_) Grow(size_ + n);
    uint8_t* at = data_ + size_;
    size_ += n;
    return at;
  }
  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  void Free() {
    if (data_ != nullptr) munmap(data_, capacity_);
    data_ = nullptr;
    size_ = capacity_ = 0;
  }

 private:
  void Grow(uint64_t needed) {
    uint64_t capacity = std::max<uint64_t>({capacity_ * 2, needed, uint64_t{1} << 16});
    capacity = (capacity + 4095) / 4096 * 4096;
    void* p = data_ == nullptr ? mmap(nullptr, capacity, PROT_READ | PROT_WRITE,
                                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                               : mremap(data_, capacity_, capacity, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) {
      throw FrameError(std::string("frame: out of memory: ") + std::strerror(errno));
    }
    data_ = static_cast<uint8_t*>(p);
    capacity_ = capacity;
  }
  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  uint64_t capacity_ = 0;
};

//! 10^scale for DECIMAL scales 0..38, each literal correctly rounded (exact up to 1e22).
constexpr double kPowersOf10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,
                                  1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
                                  1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29,
                                  1e30, 1e31, 1e32, 1e33, 1e34, 1e35, 1e36, 1e37, 1e38};

//! Converts vectors of one column into its frame buffers.
class ColumnWriter {
 public:
  explicit ColumnWriter(SourceColumn source) : s_(std::move(source)) {
    if (layout::IsVariableWidth(s_.kind)) std::memset(offsets_.Extend(8), 0, 8);
    switch (s_.type) {
      case DUCKDB_TYPE_TIMESTAMP_S:
        unit_ns_ = 1'000'000'000;
        break;
      case DUCKDB_TYPE_TIMESTAMP_MS:
        unit_ns_ = 1'000'000;
        break;
      case DUCKDB_TYPE_TIMESTAMP_NS:
        unit_ns_ = 1;
        break;
      default:
        unit_ns_ = 1000;
        break;
    }
  }

  void Append(duckdb_vector vector, idx_t count) {
    const uint8_t* valid = AppendValidity(duckdb_vector_get_validity(vector), count);
    const void* in = duckdb_vector_get_data(vector);
    switch (s_.kind) {
      case Kind::kInt64:
        AppendInt64(in, count);
        break;
      case Kind::kFloat64:
        AppendFloat64(in, count);
        break;
      case Kind::kBool:
        std::memcpy(data_.Extend(count), in, count);
        break;
      case Kind::kDate:
        std::memcpy(data_.Extend(count * 4), in, count * 4);
        break;
      case Kind::kTimestamp:
        AppendTimestamps(static_cast<const int64_t*>(in), valid, count);
        break;
      case Kind::kString:
      case Kind::kJson:
        AppendStrings(static_cast<const duckdb_string_t*>(in), valid, count);
        break;
    }
    rows_ += count;
  }

  layout::ColumnPlan Plan() const {
    return {s_.info, s_.kind, nulls_ > 0, static_cast<uint64_t>(string_end_)};
  }

  //! Writes the buffers where `placed` says, then frees them.
  void WriteTo(int fd, const layout::Column& placed) {
    layout::WriteAt(fd, placed.data.offset, data_.data(), placed.data.bytes);
    if (placed.validity) layout::WriteAt(fd, placed.validity->offset, validity_.data(), rows_);
    if (placed.offsets) {
      layout::WriteAt(fd, placed.offsets->offset, offsets_.data(), placed.offsets->bytes);
    }
    data_.Free();
    validity_.Free();
    offsets_.Free();
  }

 private:
  //! The chunk's validity as one byte per row, or null when every row is valid. The column's
  //! validity buffer starts at its first NULL (the rows before it are all valid).
  const uint8_t* AppendValidity(const uint64_t* mask, idx_t count) {
    if (mask == nullptr || AllValid(mask, count)) {
      if (nulls_ > 0) std::memset(validity_.Extend(count), 1, count);
      return nullptr;
    }
    if (nulls_ == 0) std::memset(validity_.Extend(rows_), 1, rows_);
    uint8_t* out = validity_.Extend(count);
    uint64_t valid = 0;
    for (idx_t i = 0; i < count; ++i) {
      out[i] = static_cast<uint8_t>((mask[i >> 6] >> (i & 63)) & 1);
      valid += out[i];
    }
    nulls_ += count - valid;
    return out;
  }
  static bool AllValid(const uint64_t* mask, idx_t count) {
    for (idx_t word = 0; word * 64 < count; ++word) {
      const idx_t bits = std::min<idx_t>(64, count - word * 64);
      const uint64_t all = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
      if ((mask[word] & all) != all) return false;
    }
    return true;
  }

  template <typename T>
  static void Widen(const void* in, int64_t* out, idx_t count) {
    const T* v = static_cast<const T*>(in);
    for (idx_t i = 0; i < count; ++i) out[i] = static_cast<int64_t>(v[i]);
  }
  template <typename T>
  static void ToDouble(const void* in, double* out, idx_t count, double divisor = 1) {
    const T* v = static_cast<const T*>(in);
    for (idx_t i = 0; i < count; ++i) out[i] = static_cast<double>(v[i]) / divisor;
  }

  void AppendInt64(const void* in, idx_t count) {
    auto* out = reinterpret_cast<int64_t*>(data_.Extend(count * 8));
    switch (s_.type) {
      case DUCKDB_TYPE_TINYINT:
        Widen<int8_t>(in, out, count);
        break;
      case DUCKDB_TYPE_SMALLINT:
        Widen<int16_t>(in, out, count);
        break;
      case DUCKDB_TYPE_INTEGER:
        Widen<int32_t>(in, out, count);
        break;
      case DUCKDB_TYPE_UTINYINT:
        Widen<uint8_t>(in, out, count);
        break;
      case DUCKDB_TYPE_USMALLINT:
        Widen<uint16_t>(in, out, count);
        break;
      case DUCKDB_TYPE_UINTEGER:
        Widen<uint32_t>(in, out, count);
        break;
      default:
        std::memcpy(out, in, count * 8);
        break;
    }
  }

  void AppendFloat64(const void* in, idx_t count) {
    auto* out = reinterpret_cast<double*>(data_.Extend(count * 8));
    switch (s_.type) {
      case DUCKDB_TYPE_FLOAT:
        ToDouble<float>(in, out, count);
        break;
      case DUCKDB_TYPE_UBIGINT:
        ToDouble<uint64_t>(in, out, count);
        break;
      case DUCKDB_TYPE_HUGEINT:
        ToDouble<__int128>(in, out, count);
        break;
      case DUCKDB_TYPE_UHUGEINT:
        ToDouble<unsigned __int128>(in, out, count);
        break;
      case DUCKDB_TYPE_DECIMAL: {
        // An integer scaled by 10^scale: one correctly rounded division (exact operands).
        const double divisor = kPowersOf10[std::min<int>(s_.decimal_scale, 38)];
        switch (s_.decimal_storage) {
          case DUCKDB_TYPE_SMALLINT:
            ToDouble<int16_t>(in, out, count, divisor);
            break;
          case DUCKDB_TYPE_INTEGER:
            ToDouble<int32_t>(in, out, count, divisor);
            break;
          case DUCKDB_TYPE_BIGINT:
            ToDouble<int64_t>(in, out, count, divisor);
            break;
          default:
            ToDouble<__int128>(in, out, count, divisor);
            break;
        }
        break;
      }
      default:
        std::memcpy(out, in, count * 8);
        break;
    }
  }

  void AppendTimestamps(const int64_t* in, const uint8_t* valid, idx_t count) {
    auto* out = reinterpret_cast<int64_t*>(data_.Extend(count * 8));
    for (idx_t i = 0; i < count; ++i) {
      if (valid != nullptr && valid[i] == 0) {
        out[i] = 0;
      } else if (__builtin_mul_overflow(in[i], unit_ns_, &out[i])) {
        FailColumn(s_.info.name,
                   "row " + std::to_string(rows_ + i) +
                       ": the timestamp is outside pandas' datetime64[ns] range (1677-09-21 to "
                       "2262-04-11)");
      }
    }
  }

  void AppendStrings(const duckdb_string_t* in, const uint8_t* valid, idx_t count) {
    auto* offsets = reinterpret_cast<int64_t*>(offsets_.Extend(count * 8));
    uint64_t bytes = 0;
    for (idx_t i = 0; i < count; ++i) {
      if (valid == nullptr || valid[i] != 0) bytes += in[i].value.inlined.length;
    }
    uint8_t* out = data_.Extend(bytes);
    for (idx_t i = 0; i < count; ++i) {
      if (valid == nullptr || valid[i] != 0) {
        const uint32_t length = in[i].value.inlined.length;
        const char* text = length <= 12 ? in[i].value.inlined.inlined : in[i].value.pointer.ptr;
        std::memcpy(out, text, length);
        out += length;
        string_end_ += length;
      }
      offsets[i] = string_end_;
    }
  }

  SourceColumn s_;
  GrowBuffer data_, validity_, offsets_;
  uint64_t rows_ = 0;
  uint64_t nulls_ = 0;
  int64_t string_end_ = 0;
  int64_t unit_ns_ = 1000;
};

//! `SELECT` of the relation with the columns that need it cast to VARCHAR; "" when none does.
std::string CastingSelect(const std::vector<SourceColumn>& columns, const std::string& relation) {
  bool any = false;
  std::string aliases, list;
  for (size_t i = 0; i < columns.size(); ++i) {
    const std::string ref = "t.c" + std::to_string(i);
    aliases += (i ? ", c" : "c") + std::to_string(i);
    std::string expr = ref;
    if (const std::string& cast = columns[i].cast; !cast.empty()) {
      any = true;
      expr = cast.substr(0, cast.find("{}")) + ref + cast.substr(cast.find("{}") + 2);
    }
    list += (i ? ", " : "") + expr;
  }
  if (!any) return "";
  return "SELECT " + list + " FROM (SELECT * FROM " + relation + ") AS t(" + aliases + ")";
}

}  // namespace

std::pair<UniqueFd, FrameInfo> WriteFrame(data::Connection& duck, const std::string& relation_sql,
                                          const nlohmann::json& pandas_dtypes,
                                          const nlohmann::json& index) {
  if (!pandas_dtypes.is_null() && !pandas_dtypes.is_object()) {
    throw FrameError("frame: pandas_dtypes must map column names to dtypes");
  }
  auto query = std::make_unique<Query>(duck, "SELECT * FROM " + relation_sql);
  std::vector<SourceColumn> sources;
  std::set<std::string> names;
  for (idx_t i = 0; i < query->column_count(); ++i) {
    LogicalType type{query->column_type(i)};
    sources.push_back(Resolve(query->column_name(i), type.get()));
    sources.back().info.pandas_dtype =
        ChooseDtype(sources.back(), duckdb_get_type_id(type.get()), pandas_dtypes);
    names.insert(sources.back().info.name);
  }
  layout::CheckIndex(index, names);  // before the scan, not after
  if (std::string sql = CastingSelect(sources, relation_sql); !sql.empty()) {
    query = std::make_unique<Query>(duck, sql);
  }
  std::vector<ColumnWriter> writers;
  for (SourceColumn& s : sources) writers.emplace_back(std::move(s));
  uint64_t rows = 0;
  while (ChunkPtr chunk = query->Next()) {
    const idx_t count = duckdb_data_chunk_get_size(chunk.get());
    for (idx_t c = 0; c < writers.size(); ++c) {
      writers[c].Append(duckdb_data_chunk_get_vector(chunk.get(), c), count);
    }
    rows += count;
  }
  query.reset();
  std::vector<layout::ColumnPlan> plans;
  for (const ColumnWriter& w : writers) plans.push_back(w.Plan());
  layout::Plan plan = layout::PlanFrame(rows, std::move(plans), index);
  UniqueFd fd = layout::CreateFrameFile(plan.file_bytes);
  layout::WriteHeader(plan, fd.get());
  for (size_t c = 0; c < writers.size(); ++c) writers[c].WriteTo(fd.get(), plan.layout.columns[c]);
  layout::SealFrameFile(fd.get());
  return {std::move(fd), plan.layout.Info()};
}

FrameInfo ReadFrameInfo(int fd) {
  layout::Mapping map = layout::Mapping::Map(fd);
  return layout::ParseFrame(map.data(), map.size()).Info();
}

}  // namespace kiln::python
