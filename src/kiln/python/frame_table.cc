// Frames on the runner side, reading: the table function kiln_frame(fd), which scans a frame's
// buffers straight into DuckDB vectors, and a frame into a new DuckDB table through it.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#include <memory>

#include "kiln/python/frame.h"
#include "kiln/python/frame_layout.h"

namespace kiln::python {
namespace {

using layout::Kind;

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

duckdb_logical_type LogicalTypeFor(const layout::Column& c) {
  switch (c.kind) {
    case Kind::kInt64:
      return duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
    case Kind::kFloat64:
      return duckdb_create_logical_type(DUCKDB_TYPE_DOUBLE);
    case Kind::kBool:
      return duckdb_create_logical_type(DUCKDB_TYPE_BOOLEAN);
    case Kind::kString:
      return duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
    case Kind::kJson: {
      duckdb_logical_type type = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
      duckdb_logical_type_set_alias(type, "JSON");
      return type;
    }
    case Kind::kTimestamp:
      return duckdb_create_logical_type(c.info.tz.empty() ? DUCKDB_TYPE_TIMESTAMP
                                                          : DUCKDB_TYPE_TIMESTAMP_TZ);
    case Kind::kDate:
      return duckdb_create_logical_type(DUCKDB_TYPE_DATE);
  }
  return duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
}

// ---- the kiln_frame(fd) table function ----------------------------------------------------
// Bind maps and checks the frame; one scan state hands out duckdb_vector_size() rows per call,
// single-threaded so that rows keep the frame's order.

struct ScanBind {
  layout::Mapping map;
  layout::Layout frame;
};

struct ScanState {
  uint64_t next_row = 0;
};

template <typename T>
void Delete(void* p) {
  delete static_cast<T*>(p);  // NOLINT: DuckDB owns the pointer between bind/init and here
}

void ScanBindFunction(duckdb_bind_info info) {
  try {
    duckdb_value parameter = duckdb_bind_get_parameter(info, 0);
    const int64_t fd = duckdb_get_int64(parameter);
    duckdb_destroy_value(&parameter);
    if (fd < 0 || fd > std::numeric_limits<int>::max()) throw FrameError("frame: bad descriptor");
    auto bind = std::make_unique<ScanBind>();
    layout::RequireSealed(static_cast<int>(fd));
    bind->map = layout::Mapping::Map(static_cast<int>(fd));
    bind->frame = layout::ParseFrame(bind->map.data(), bind->map.size());
    if (bind->frame.columns.empty()) {
      throw FrameError("frame: a frame without columns cannot be read as a table");
    }
    for (const layout::Column& c : bind->frame.columns) {
      layout::CheckColumn(c, bind->frame.rows, bind->map.data());
      duckdb_logical_type type = LogicalTypeFor(c);
      duckdb_bind_add_result_column(info, c.info.name.c_str(), type);
      duckdb_destroy_logical_type(&type);
    }
    duckdb_bind_set_cardinality(info, bind->frame.rows, true);
    duckdb_bind_set_bind_data(info, bind.release(), Delete<ScanBind>);
  } catch (const std::exception& e) {
    duckdb_bind_set_error(info, e.what());
  }
}

void ScanInitFunction(duckdb_init_info info) {
  duckdb_init_set_max_threads(info, 1);
  duckdb_init_set_init_data(info, std::make_unique<ScanState>().release(), Delete<ScanState>);
}

void ScanFunction(duckdb_function_info info, duckdb_data_chunk output) {
  const auto* bind = static_cast<const ScanBind*>(duckdb_function_get_bind_data(info));
  auto* state = static_cast<ScanState*>(duckdb_function_get_init_data(info));
  const uint64_t first = state->next_row;
  const idx_t count = std::min<uint64_t>(duckdb_vector_size(), bind->frame.rows - first);
  for (idx_t c = 0; c < bind->frame.columns.size(); ++c) {
    FillVector(bind->frame.columns[c], bind->map.data(), first, count,
               duckdb_data_chunk_get_vector(output, c));
  }
  duckdb_data_chunk_set_size(output, count);
  state->next_row = first + count;
}

}  // namespace

void RegisterFrameScan(data::Connection& duck) {
  auto registered = [&] {
    return duck.Query("SELECT count(*) FROM duckdb_functions() WHERE function_name = 'kiln_frame'")
               .GetInt64(0, 0) > 0;
  };
  if (registered()) return;
  duckdb_table_function function = duckdb_create_table_function();
  duckdb_table_function_set_name(function, "kiln_frame");
  duckdb_logical_type bigint = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
  duckdb_table_function_add_parameter(function, bigint);
  duckdb_destroy_logical_type(&bigint);
  duckdb_table_function_set_bind(function, ScanBindFunction);
  duckdb_table_function_set_init(function, ScanInitFunction);
  duckdb_table_function_set_function(function, ScanFunction);
  const duckdb_state state = duckdb_register_table_function(duck.handle(), function);
  duckdb_destroy_table_function(&function);
  // Two connections may race to register it: losing that race is fine.
  if (state == DuckDBError && !registered()) {
    throw data::DataError("cannot register the kiln_frame table function");
  }
}

std::string FrameRelationSql(int fd) {
  return "kiln_frame(" + std::to_string(fd) + ")";
}

FrameInfo ReadFrameIntoTable(int fd, data::Connection& duck, const std::string& duck_table) {
  FrameInfo info = ReadFrameInfo(fd);
  if (info.columns.empty()) {
    throw FrameError("frame: a frame without columns cannot become a DuckDB table (" + duck_table +
                     ")");
  }
  RegisterFrameScan(duck);
  try {
    duck.Execute("CREATE TABLE " + duck_table + " AS SELECT * FROM " + FrameRelationSql(fd));
  } catch (const data::DataError& e) {
    // The scan's own complaint comes back as "Binder Error: frame: ...\n\nLINE 1: ...".
    const std::string text = e.what();
    const size_t at = text.find("frame: ");
    if (at == std::string::npos) throw;
    throw FrameError(text.substr(at, text.find('\n', at) - at));
  }
  return info;
}

}  // namespace kiln::python
