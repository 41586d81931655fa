// data/duckdb.h: RAII wrappers over DuckDB's stable C API (duckdb.h, DuckDB 1.4.4).
// A Database owns one DuckDB instance; each thread works through its own Connection. Results
// are small value readers for control queries; bulk data stays inside DuckDB (tables, COPY).
#pragma once

#include <duckdb.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/data/error.h"

namespace kiln::data {

//! One DuckDB instance. Thread-safe to share; not copyable.
class Database {
 public:
  //! Opens `path` (":memory:" for an in-memory instance) with DuckDB `options` such as
  //! {"threads", "2"}, {"memory_limit", "4GB"}, {"temp_directory", "/tmp/x"}.
  //! Throws DataError with DuckDB's reason (e.g. the file is locked by another process).
  explicit Database(const std::string& path = ":memory:",
                    const std::map<std::string, std::string>& options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  duckdb_database handle() const { return db_; }

 private:
  duckdb_database db_ = nullptr;
};

//! The materialised result of one statement. Movable, not copyable.
class Result {
 public:
  Result() = default;
  explicit Result(duckdb_result result) : result_(result), valid_(true) {}
  ~Result();
  Result(Result&& other) noexcept;
  Result& operator=(Result&& other) noexcept;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;

  uint64_t row_count();
  uint64_t column_count();
  std::string column_name(uint64_t column);
  //! DuckDB's type id of `column` (DUCKDB_TYPE_BIGINT, ...).
  duckdb_type column_type(uint64_t column);
  //! Rows inserted/updated/deleted by the statement (0 for queries).
  uint64_t rows_changed();
  bool IsNull(uint64_t column, uint64_t row);
  //! The value as DuckDB casts it to VARCHAR; nullopt for NULL.
  std::optional<std::string> GetString(uint64_t column, uint64_t row);
  //! The value cast to BIGINT (0 for NULL or a failed cast).
  int64_t GetInt64(uint64_t column, uint64_t row);
  double GetDouble(uint64_t column, uint64_t row);

  duckdb_result* raw() { return &result_; }

 private:
  duckdb_result result_{};
  bool valid_ = false;
};

//! A connection to a Database, used by one thread at a time. Interrupt() may be called from any
//! thread to stop the statement running on it.
class Connection {
 public:
  //! Connects to `database`, which must outlive the connection. Throws DataError.
  explicit Connection(const Database& database);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  //! Runs `sql` (one or more statements) and returns the last statement's result.
  //! Throws InterruptedError after Interrupt(), DataError with DuckDB's message otherwise.
  Result Query(std::string_view sql);
  //! Runs `sql`, discarding results.
  void Execute(std::string_view sql) { Query(sql); }
  //! Runs `sql` with `params` bound to $1.. (as VARCHAR values; DuckDB casts them).
  Result QueryWithParams(std::string_view sql, const std::vector<std::string>& params);
  //! Asks DuckDB to stop the statement running on this connection (thread-safe).
  void Interrupt();
  //! Progress of the running statement in [0, 100], or -1 when unknown.
  double Progress();

  duckdb_connection handle() const { return conn_; }

 private:
  duckdb_connection conn_ = nullptr;
};

//! Drops `table` (a qualified, quoted name; DROP TABLE IF EXISTS) on `conn` when it goes out of
//! scope: scratch tables never outlive the code that made them. Errors while dropping are
//! ignored (the connection may be interrupted). Both references must outlive the guard.
class DropTableOnExit {
 public:
  DropTableOnExit(Connection& conn, const std::string& table) : conn_(conn), table_(table) {}
  ~DropTableOnExit() {
    try {
      conn_.Execute("DROP TABLE IF EXISTS " + table_);
    } catch (...) {
    }
  }
  DropTableOnExit(const DropTableOnExit&) = delete;
  DropTableOnExit& operator=(const DropTableOnExit&) = delete;

 private:
  Connection& conn_;
  const std::string& table_;
};

//! Runs `sql` inside BEGIN ... COMMIT on `conn`; rolls back and rethrows on any exception.
template <typename Fn>
void InTransaction(Connection& conn, Fn&& body) {
  conn.Execute("BEGIN TRANSACTION");
  try {
    body();
    conn.Execute("COMMIT");
  } catch (...) {
    try {
      conn.Execute("ROLLBACK");
    } catch (...) {
    }
    throw;
  }
}

}  // namespace kiln::data
