// connectors/postgres/postgres.h: PostgreSQL through libpq, with binary COPY both ways.
// Used by SQL blocks with `data_provider: postgres` (mage-block-execution.md §8) and, later, by
// `mage_ai.io.postgres.Postgres` in Python blocks (§9.2). This header is the module's contract;
// the implementation is split over connection.cc, copy_out.cc, copy_in.cc, types.cc,
// column_names.cc and export.cc in this folder.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/connectors/error.h"
#include "kiln/connectors/write_policy.h"
#include "kiln/data/duckdb.h"

typedef struct pg_conn PGconn;

namespace kiln::connectors::postgres {

//! A PostgreSQL connection or statement failed. what() is one line naming the server
//! ("user@host:port/db") or the table, row and column concerned, and the server's message.
class PostgresError : public ConnectorError {
 public:
  using ConnectorError::ConnectorError;
};

//! Where and how to connect: io_config.yaml's POSTGRES_* keys (§9.1).
struct ConnectionSettings {
  std::string host = "localhost";    //!< POSTGRES_HOST
  int port = 5432;                   //!< POSTGRES_PORT
  std::string dbname = "postgres";   //!< POSTGRES_DBNAME
  std::string user;                  //!< POSTGRES_USER
  std::string password;              //!< POSTGRES_PASSWORD
  std::string schema;                //!< POSTGRES_SCHEMA: default schema of exports ("" = public)
  int connect_timeout_seconds = 10;  //!< POSTGRES_CONNECT_TIMEOUT
  //! "user@host:port/dbname", for messages (never the password).
  std::string Describe() const;
};

//! A small result as text: column names and rows (NULL as nullopt).
struct TextTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
};

//! One libpq connection. Not thread-safe, except Cancel().
class Connection {
 public:
  //! Connects. Throws PostgresError, e.g. "cannot connect to PostgreSQL at 127.0.0.1:5433:
  //! connection refused", "... timed out after 10 s", "authentication failed for user 'u'
  //! (PostgreSQL at host:port/db)".
  static std::unique_ptr<Connection> Open(const ConnectionSettings& settings);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  //! Runs `sql` (one or more statements, no results kept). Throws PostgresError with the
  //! server's message (and its detail/hint lines folded into the one line).
  void Execute(const std::string& sql);
  //! Runs one query with `params` bound as text ($1, $2, ...) and returns its rows as text
  //! (NULL as nullopt). For small results (catalog lookups, tests).
  std::vector<std::vector<std::optional<std::string>>> QueryText(
      const std::string& sql, const std::vector<std::string>& params = {});
  //! As QueryText, with the result's column names (for statements such as SHOW).
  TextTable QueryTable(const std::string& sql, const std::vector<std::string>& params = {});
  //! The names of the columns `query` would return, without running it (PQprepare +
  //! PQdescribePrepared; empty for a statement that returns no rows). Throws PostgresError.
  std::vector<std::string> DescribeColumns(const std::string& query);
  //! The server process of this connection (PQbackendPID).
  int BackendPid();
  //! Asks the server to stop the statement running on this connection. Thread-safe.
  void Cancel();

  const ConnectionSettings& settings() const;
  PGconn* raw();

 private:
  Connection() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

//! The PostgreSQL type Kiln creates for a DuckDB column type (as DESCRIBE spells it):
//! TINYINT/SMALLINT -> SMALLINT, INTEGER -> INTEGER, BIGINT, UTINYINT, USMALLINT, UINTEGER
//! -> BIGINT, UBIGINT -> NUMERIC(39,0) (beyond bigint),
//! FLOAT -> REAL, DOUBLE -> DOUBLE PRECISION, DECIMAL(p,s) -> NUMERIC(p,s), VARCHAR -> TEXT,
//! BOOLEAN, DATE, TIME, TIMESTAMP (all precisions) -> TIMESTAMP, TIMESTAMP WITH TIME ZONE ->
//! TIMESTAMPTZ, INTERVAL, UUID, BLOB -> BYTEA, JSON -> JSONB, STRUCT/MAP/LIST/ARRAY -> JSONB.
//! Also: HUGEINT/UHUGEINT -> NUMERIC(39,0), TIME_NS -> TIME, TIME WITH TIME ZONE -> TIMETZ,
//! UNION -> JSONB, and any other type (ENUM, BIT, BIGNUM, ...) -> TEXT holding its text.
std::string PostgresTypeFor(std::string_view duckdb_type);

//! Mage's default column-name cleaning for exports of data frames (mage_ai/io/base.py
//! _clean_column_name with auto_clean_name=True): clean_name (lower-case, every non-word
//! character to '_', "letter_" before a leading digit), then a '_' prefix when the result,
//! upper-cased, is in Mage's SQL_RESERVED_WORDS. "VendorID" -> "vendorid", "2fast" ->
//! "letter_2fast", "select" -> "_select".
std::string CleanColumnName(std::string_view name);

//! The name of a table that replaces `table` at commit (`replace`): "<table>_kiln_<pid>", the
//! table's name cut to 40 bytes (whole UTF-8 characters) so that the result stays within
//! PostgreSQL's 63-byte identifiers, and unique per server connection.
std::string StagingName(const std::string& table, int backend_pid);

struct ExportOptions {
  std::string schema;  //!< "" = ConnectionSettings::schema, else "public"
  std::string table;   //!< REQUIRES: not empty
  ExportWritePolicy policy = ExportWritePolicy::kReplace;
  bool clean_column_names = true;  //!< Mage's auto_clean_name; false keeps names as they are
  //! Called with the rows sent so far, at most a few times a second. May be empty.
  std::function<void(uint64_t rows)> progress;
  //! Polled between batches; true stops the export (nothing is committed). May be empty.
  std::function<bool()> cancelled;
};

struct ExportResult {
  uint64_t rows = 0;
  std::string qualified_table;       //!< "schema"."table" as written
  std::vector<std::string> columns;  //!< the column names in PostgreSQL
};

//! Streams every row of the DuckDB relation `relation_sql` (a table, a table function such as
//! read_parquet('...'), or a parenthesised query, readable on `duck`) into schema.table with
//! COPY ... FROM STDIN (FORMAT binary), in one transaction, memory bounded by one DuckDB chunk
//! plus one send buffer. The schema is created when missing.
//!  - replace: rows go to a staging table created with the mapped types; the old table is
//!    dropped and the staging table renamed inside the same transaction, so readers see the old
//!    rows or the new ones, never none, and a failure leaves the old table untouched.
//!  - append: the table is created when missing; an existing table must have a column of the
//!    same name for every exported column, and values are encoded for the existing column's type
//!    (a BIGINT into an INTEGER column is range-checked), else PostgresError naming the columns.
//!  - fail: PostgresError when the table exists.
//! Throws PostgresError: a value that does not fit ("row 1234, column passenger_count: ..."),
//! the server going away mid-COPY (nothing is visible), cancellation.
//! When `pg` is already inside a transaction, the export runs in a savepoint of it and becomes
//! visible when the caller commits. After a failure `pg` is usable again (unless the server
//! went away); DuckDB-side failures come as PostgresError too, except data::InterruptedError.
ExportResult ExportRelation(data::Connection& duck, const std::string& relation_sql, Connection& pg,
                            const ExportOptions& options);

//! Runs `query` on PostgreSQL with COPY (query) TO STDOUT (FORMAT binary) and creates the DuckDB
//! table `duck_table` (a qualified, quoted name, e.g. memory.main."x") holding its rows, with
//! DuckDB types mapped from the result's PostgreSQL types (int2/4/8, float4/8, numeric ->
//! DECIMAL or DOUBLE when unconstrained, text/varchar/char/name -> VARCHAR, bool, date, time,
//! timestamp, timestamptz, interval, uuid, bytea -> BLOB, json/jsonb -> JSON; other types as
//! their text). Returns the number of rows. Throws PostgresError (query errors name the query's
//! first line), data::DataError (DuckDB side).
uint64_t LoadQuery(Connection& pg, const std::string& query, data::Connection& duck,
                   const std::string& duck_table);

}  // namespace kiln::connectors::postgres
