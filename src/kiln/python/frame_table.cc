// Frames on the runner side, reading: a frame into a new DuckDB table, data chunk by data chunk
// through the appender, each vector written directly from the frame's buffers.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>

#include "kiln/python/frame.h"
#include "kiln/python/frame_layout.h"

namespace kiln::python {
namespace {

using layout::Kind;

struct ChunkDeleter {
  void operator()(duckdb_data_chunk chunk) const { duckdb_destroy_data_chunk(&chunk); }
};
using ChunkPtr = std::unique_ptr<std::remove_pointer_t<duckdb_data_chunk>, ChunkDeleter>;

std::string QuoteIdentifier(const std::string& name) {
  std::string quoted = "\"";
  for (char c : name) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::vector<std::string> SplitQualifiedName(const std::string& name) {
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

const char* DuckdbTypeFor(const layout::Column& c) {
  switch (c.kind) {
    case Kind::kInt64:
      return "BIGINT";
    case Kind::kFloat64:
      return "DOUBLE";
    case Kind::kBool:
      return "BOOLEAN";
    case Kind::kString:
      return "VARCHAR";
    case Kind::kJson:
      return "JSON";
    case Kind::kTimestamp:
      return c.info.tz.empty() ? "TIMESTAMP" : "TIMESTAMPTZ";
    case Kind::kDate:
      return "DATE";
  }
  return "VARCHAR";
}

//! The appender of one table, closed by Close() (flushing) or destroyed.
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

//! Fills `vector` with rows [first, first + count) of frame column `c`.
void FillVector(const layout::Column& c, const uint8_t* file, uint64_t first, idx_t count,
                duckdb_vector vector) {
  void* out = duckdb_vector_get_data(vector);
  const uint8_t* data = file + c.data.offset;
  const uint8_t* valid = c.validity ? file + c.validity->offset + first : nullptr;
  switch (c.kind) {
    case Kind::kInt64:
    case Kind::kFloat64:
      std::memcpy(out, data + first * 8, count * 8);
      break;
    case Kind::kDate:
      std::memcpy(out, data + first * 4, count * 4);
      break;
    case Kind::kBool:
      for (idx_t i = 0; i < count; ++i) static_cast<bool*>(out)[i] = data[first + i] != 0;
      break;
    case Kind::kTimestamp: {
      const auto* ns = reinterpret_cast<const int64_t*>(data) + first;
      auto* us = static_cast<int64_t*>(out);
      for (idx_t i = 0; i < count; ++i) {
        us[i] = ns[i] / 1000 - (ns[i] % 1000 < 0 ? 1 : 0);  // floor: 1969 stays in 1969
      }
      break;
    }
    case Kind::kString:
    case Kind::kJson: {
      const auto* offsets = reinterpret_cast<const int64_t*>(file + c.offsets->offset) + first;
      const char* text = reinterpret_cast<const char*>(data);
      for (idx_t i = 0; i < count; ++i) {
        if (valid != nullptr && valid[i] == 0) continue;
        duckdb_vector_assign_string_element_len(vector, i, text + offsets[i],
                                                offsets[i + 1] - offsets[i]);
      }
      break;
    }
  }
  if (valid == nullptr) return;
  duckdb_vector_ensure_validity_writable(vector);
  uint64_t* mask = duckdb_vector_get_validity(vector);
  for (idx_t word = 0; word * 64 < count; ++word) {
    uint64_t bits = 0;
    const idx_t end = std::min<idx_t>(64, count - word * 64);
    for (idx_t j = 0; j < end; ++j) bits |= uint64_t{valid[word * 64 + j] != 0} << j;
    mask[word] = bits | (end < 64 ? ~uint64_t{0} << end : 0);
  }
}

void AppendFrame(const layout::Layout& frame, const uint8_t* file, data::Connection& duck,
                 const std::string& table) {
  Appender appender(duck, table);
  std::vector<duckdb_logical_type> types;
  for (idx_t i = 0; i < frame.columns.size(); ++i) {
    types.push_back(duckdb_appender_column_type(appender.get(), i));
  }
  duckdb_data_chunk raw = duckdb_create_data_chunk(types.data(), types.size());
  for (duckdb_logical_type& t : types) duckdb_destroy_logical_type(&t);
  ChunkPtr chunk(raw);
  const uint64_t step = duckdb_vector_size();
  for (uint64_t first = 0; first < frame.rows; first += step) {
    const idx_t count = std::min(step, frame.rows - first);
    duckdb_data_chunk_reset(chunk.get());
    for (idx_t c = 0; c < frame.columns.size(); ++c) {
      FillVector(frame.columns[c], file, first, count,
                 duckdb_data_chunk_get_vector(chunk.get(), c));
    }
    duckdb_data_chunk_set_size(chunk.get(), count);
    appender.Append(chunk.get());
  }
  appender.Close();
}

}  // namespace

FrameInfo ReadFrameIntoTable(int fd, data::Connection& duck, const std::string& duck_table) {
  layout::RequireSealed(fd);
  layout::Mapping map = layout::Mapping::Map(fd);
  layout::Layout frame = layout::ParseFrame(map.data(), map.size());
  if (frame.columns.empty()) {
    throw FrameError("frame: a frame without columns cannot become a DuckDB table (" + duck_table +
                     ")");
  }
  for (const layout::Column& c : frame.columns) layout::CheckColumn(c, frame.rows, map.data());
  std::string columns;
  for (const layout::Column& c : frame.columns) {
    columns +=
        (columns.empty() ? "" : ", ") + QuoteIdentifier(c.info.name) + " " + DuckdbTypeFor(c);
  }
  duck.Execute("CREATE TABLE " + duck_table + " (" + columns + ")");
  try {
    AppendFrame(frame, map.data(), duck, duck_table);
  } catch (...) {
    try {
      duck.Execute("DROP TABLE IF EXISTS " + duck_table);
    } catch (const data::DataError&) {
    }
    throw;
  }
  return frame.Info();
}

}  // namespace kiln::python
