#include "kiln/data/duckdb.h"

#include <utility>
#include <vector>

namespace kiln::data {
namespace {

[[noreturn]] void ThrowFromResult(duckdb_result& result) {
  const char* message = duckdb_result_error(&result);
  std::string text = message ? message : "unknown DuckDB error";
  duckdb_error_type type = duckdb_result_error_type(&result);
  duckdb_destroy_result(&result);
  if (type == DUCKDB_ERROR_INTERRUPT) throw InterruptedError("interrupted: " + text);
  throw DataError(text);
}

}  // namespace

Database::Database(const std::string& path, const std::map<std::string, std::string>& options) {
  duckdb_config config = nullptr;
  if (duckdb_create_config(&config) == DuckDBError) throw DataError("cannot create DuckDB config");
  for (const auto& [name, value] : options) {
    if (duckdb_set_config(config, name.c_str(), value.c_str()) == DuckDBError) {
      duckdb_destroy_config(&config);
      throw DataError("invalid DuckDB option " + name + "=" + value);
    }
  }
  char* error = nullptr;
  duckdb_state state = duckdb_open_ext(path.c_str(), &db_, config, &error);
  duckdb_destroy_config(&config);
  if (state == DuckDBError) {
    std::string text = error ? error : "unknown error";
    if (error) duckdb_free(error);
    throw DataError("cannot open DuckDB database " + path + ": " + text);
  }
}

Database::~Database() {
  if (db_) duckdb_close(&db_);
}

Result::~Result() {
  if (valid_) duckdb_destroy_result(&result_);
}
Result::Result(Result&& other) noexcept : result_(other.result_), valid_(other.valid_) {
  other.valid_ = false;
}
Result& Result::operator=(Result&& other) noexcept {
  if (this != &other) {
    if (valid_) duckdb_destroy_result(&result_);
    result_ = other.result_;
    valid_ = std::exchange(other.valid_, false);
  }
  return *this;
}
uint64_t Result::row_count() {
  return valid_ ? duckdb_row_count(&result_) : 0;
}
uint64_t Result::column_count() {
  return valid_ ? duckdb_column_count(&result_) : 0;
}
std::string Result::column_name(uint64_t column) {
  const char* n = duckdb_column_name(&result_, column);
  return n ? n : "";
}
duckdb_type Result::column_type(uint64_t column) {
  return duckdb_column_type(&result_, column);
}
uint64_t Result::rows_changed() {
  return valid_ ? duckdb_rows_changed(&result_) : 0;
}
bool Result::IsNull(uint64_t column, uint64_t row) {
  return duckdb_value_is_null(&result_, column, row);
}
std::optional<std::string> Result::GetString(uint64_t column, uint64_t row) {
  if (IsNull(column, row)) return std::nullopt;
  char* v = duckdb_value_varchar(&result_, column, row);
  if (v == nullptr) return std::nullopt;
  std::string out(v);
  duckdb_free(v);
  return out;
}
int64_t Result::GetInt64(uint64_t column, uint64_t row) {
  return duckdb_value_int64(&result_, column, row);
}
double Result::GetDouble(uint64_t column, uint64_t row) {
  return duckdb_value_double(&result_, column, row);
}

Connection::Connection(const Database& database) {
  if (duckdb_connect(database.handle(), &conn_) == DuckDBError)
    throw DataError("cannot connect to DuckDB");
}
Connection::~Connection() {
  if (conn_) duckdb_disconnect(&conn_);
}

Result Connection::Query(std::string_view sql) {
  duckdb_result result;
  std::string text(sql);
  if (duckdb_query(conn_, text.c_str(), &result) == DuckDBError) ThrowFromResult(result);
  return Result(result);
}

Result Connection::QueryWithParams(std::string_view sql, const std::vector<std::string>& params) {
  duckdb_prepared_statement stmt = nullptr;
  std::string text(sql);
  if (duckdb_prepare(conn_, text.c_str(), &stmt) == DuckDBError) {
    std::string error = duckdb_prepare_error(stmt) ? duckdb_prepare_error(stmt) : "prepare failed";
    duckdb_destroy_prepare(&stmt);
    throw DataError(error);
  }
  for (size_t i = 0; i < params.size(); ++i) {
    duckdb_bind_varchar_length(stmt, i + 1, params[i].data(), params[i].size());
  }
  duckdb_result result;
  duckdb_state state = duckdb_execute_prepared(stmt, &result);
  duckdb_destroy_prepare(&stmt);
  if (state == DuckDBError) ThrowFromResult(result);
  return Result(result);
}

void Connection::Interrupt() {
  duckdb_interrupt(conn_);
}

double Connection::Progress() {
  return duckdb_query_progress(conn_).percentage;
}

}  // namespace kiln::data
