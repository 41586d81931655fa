// ExportRelation: a DuckDB relation -> a PostgreSQL table by binary COPY, in one transaction.
#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "kiln/common/names.h"
#include "kiln/connectors/postgres/copy_out.h"
#include "kiln/connectors/postgres/postgres.h"
#include "kiln/connectors/postgres/server_error.h"
#include "kiln/connectors/postgres/types.h"

namespace kiln::connectors::postgres {
namespace {

constexpr size_t kSendBytes = 1 << 20;  // one PQputCopyData per MiB of encoded rows
constexpr auto kProgressInterval = std::chrono::milliseconds(250);

struct RelationColumn {
  std::string source;  // the name in DuckDB
  std::string type;    // as DESCRIBE spells it
  std::string name;    // the name in PostgreSQL
};

std::vector<RelationColumn> DescribeRelation(data::Connection& duck, const std::string& relation,
                                             bool clean_names) {
  data::Result r = duck.Query("DESCRIBE SELECT * FROM " + relation);
  std::vector<RelationColumn> columns;
  for (uint64_t i = 0; i < r.row_count(); ++i) {
    RelationColumn c;
    c.source = r.GetString(0, i).value_or("");
    c.type = r.GetString(1, i).value_or("");
    c.name = clean_names ? CleanColumnName(c.source) : c.source;
    columns.push_back(std::move(c));
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (columns[i].name == columns[j].name) {
        throw PostgresError("columns " + columns[j].source + " and " + columns[i].source +
                            " would both be named " + columns[i].name + " in PostgreSQL");
      }
    }
  }
  return columns;
}

//! BEGIN ... COMMIT, or a savepoint when the caller already opened a transaction. Rolls back
//! unless committed.
class Transaction {
 public:
  explicit Transaction(Connection& pg)
      : pg_(pg), nested_(PQtransactionStatus(pg.raw()) == PQTRANS_INTRANS) {
    pg_.Execute(nested_ ? "SAVEPOINT kiln_export" : "BEGIN");
  }
  ~Transaction() {
    if (committed_ || PQstatus(pg_.raw()) != CONNECTION_OK) return;
    try {
      pg_.Execute(nested_ ? "ROLLBACK TO SAVEPOINT kiln_export; RELEASE SAVEPOINT kiln_export"
                          : "ROLLBACK");
    } catch (const PostgresError&) {
    }
  }
  void Commit() {
    pg_.Execute(nested_ ? "RELEASE SAVEPOINT kiln_export" : "COMMIT");
    committed_ = true;
  }

 private:
  Connection& pg_;
  bool nested_;
  bool committed_ = false;
};

//! A streaming DuckDB query read chunk by chunk.
class DuckStream {
 public:
  DuckStream(data::Connection& duck, const std::string& sql) {
    if (duckdb_prepare(duck.handle(), sql.c_str(), &statement_) == DuckDBError) {
      const char* error = duckdb_prepare_error(statement_);
      std::string message = error ? error : "cannot prepare the query";
      duckdb_destroy_prepare(&statement_);
      throw data::DataError(message);
    }
    if (duckdb_execute_prepared_streaming(statement_, &result_) == DuckDBError) {
      std::string message = duckdb_result_error(&result_);
      duckdb_destroy_result(&result_);
      duckdb_destroy_prepare(&statement_);
      throw data::DataError(message);
    }
    for (idx_t i = 0; i < duckdb_column_count(&result_); ++i) {
      types_.push_back(duckdb_column_logical_type(&result_, i));
    }
  }
  ~DuckStream() {
    for (duckdb_logical_type& t : types_) duckdb_destroy_logical_type(&t);
    duckdb_destroy_result(&result_);
    duckdb_destroy_prepare(&statement_);
  }
  DuckStream(const DuckStream&) = delete;
  DuckStream& operator=(const DuckStream&) = delete;

  const std::vector<duckdb_logical_type>& types() const { return types_; }

  //! The next chunk (destroy it), or null at the end. Throws data::DataError when the query
  //! fails midway (InterruptedError after data::Connection::Interrupt()).
  duckdb_data_chunk Next() {
    duckdb_data_chunk chunk = duckdb_fetch_chunk(result_);
    if (chunk == nullptr) {
      const char* error = duckdb_result_error(&result_);
      if (error != nullptr && *error != '\0') {
        if (duckdb_result_error_type(&result_) == DUCKDB_ERROR_INTERRUPT) {
          throw data::InterruptedError(std::string("interrupted: ") + error);
        }
        throw data::DataError(error);
      }
    }
    return chunk;
  }

 private:
  duckdb_prepared_statement statement_ = nullptr;
  duckdb_result result_{};
  std::vector<duckdb_logical_type> types_;
};

struct ChunkDeleter {
  void operator()(duckdb_data_chunk chunk) const { duckdb_destroy_data_chunk(&chunk); }
};
using ChunkPtr = std::unique_ptr<std::remove_pointer_t<duckdb_data_chunk>, ChunkDeleter>;

//! One COPY ... FROM STDIN on `conn`. Ended with Finish(); otherwise aborted on destruction,
//! which leaves the connection ready for the ROLLBACK.
class CopyIn {
 public:
  CopyIn(Connection& pg, const std::string& sql) : pg_(pg) {
    ResultPtr result(PQexec(pg.raw(), sql.c_str()));
    if (!result || PQresultStatus(result.get()) != PGRES_COPY_IN) {
      throw PostgresError(ServerMessage(result.get(), pg.raw()));
    }
    active_ = true;
  }
  ~CopyIn() {
    if (!active_) return;
    if (PQputCopyEnd(pg_.raw(), "export aborted by Kiln") == 1) DrainResults(pg_.raw());
  }
  CopyIn(const CopyIn&) = delete;
  CopyIn& operator=(const CopyIn&) = delete;

  void Send(const SendBuffer& buffer) {
    if (buffer.size() == 0) return;
    if (PQputCopyData(pg_.raw(), buffer.data(), static_cast<int>(buffer.size())) != 1) {
      throw PostgresError("sending rows failed: " + OneLine(PQerrorMessage(pg_.raw())));
    }
  }

  //! Ends the COPY; the server's verdict, with a failed row's place as "row N, column c: ...".
  void Finish() {
    active_ = false;
    if (PQputCopyEnd(pg_.raw(), nullptr) != 1) {
      throw PostgresError("ending COPY failed: " + OneLine(PQerrorMessage(pg_.raw())));
    }
    ResultPtr result(PQgetResult(pg_.raw()));
    DrainResults(pg_.raw());
    if (result && PQresultStatus(result.get()) == PGRES_COMMAND_OK) return;
    CopyErrorPlace place = ParseCopyContext(result.get());
    std::string where;
    if (place.line > 0) {
      where = "row " + std::to_string(place.line) +
              (place.column.empty() ? "" : ", column " + place.column) + ": ";
    }
    throw PostgresError(where + ServerMessage(result.get(), pg_.raw()));
  }

 private:
  Connection& pg_;
  bool active_ = false;
};

std::string ColumnList(const std::vector<RelationColumn>& columns) {
  std::string list;
  for (const RelationColumn& c : columns) {
    list += (list.empty() ? "" : ", ") + QuoteIdentifier(c.name);
  }
  return list;
}

//! Streams the rows of `select_sql` into `copy_table`; returns how many were sent.
uint64_t CopyRows(data::Connection& duck, const std::string& select_sql,
                  const std::vector<RelationColumn>& columns,
                  const std::vector<ExportColumnPlan>& plans, Connection& pg,
                  const std::string& copy_table, bool created_here, const ExportOptions& options) {
  DuckStream stream(duck, select_sql);
  std::vector<EncodedColumn> encoded;
  for (size_t i = 0; i < columns.size(); ++i) {
    encoded.push_back({columns[i].name, plans[i].encoding});
  }
  CopyEncoder encoder(std::move(encoded), stream.types());

  // FREEZE (allowed into a table this transaction created) writes the rows already frozen and
  // all-visible: no hint-bit writes by the first readers, and visible to snapshots taken before
  // the commit, as the old table's rows were.
  CopyIn copy(pg, "COPY " + copy_table + " (" + ColumnList(columns) +
                      ") FROM STDIN (FORMAT binary" + (created_here ? ", FREEZE)" : ")"));
  SendBuffer buffer;
  CopyEncoder::WriteHeader(buffer);
  uint64_t rows = 0;
  auto last_progress = std::chrono::steady_clock::now();
  while (ChunkPtr chunk{stream.Next()}) {
    if (options.cancelled && options.cancelled()) throw PostgresError("cancelled");
    encoder.WriteChunk(chunk.get(), rows + 1, buffer);
    rows += duckdb_data_chunk_get_size(chunk.get());
    if (buffer.size() >= kSendBytes) {
      copy.Send(buffer);
      buffer.clear();
    }
    if (options.progress && std::chrono::steady_clock::now() - last_progress >= kProgressInterval) {
      options.progress(rows);
      last_progress = std::chrono::steady_clock::now();
    }
  }
  if (options.cancelled && options.cancelled()) throw PostgresError("cancelled");
  CopyEncoder::WriteTrailer(buffer);
  copy.Send(buffer);
  copy.Finish();
  return rows;
}

//! The kind of the relation schema.name (pg_class.relkind), or 0 when there is none.
char RelationKind(Connection& pg, const std::string& schema, const std::string& name) {
  auto rows = pg.QueryText(
      "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = $1 AND c.relname = $2",
      {schema, name});
  return rows.empty() || !rows[0][0] || rows[0][0]->empty() ? 0 : (*rows[0][0])[0];
}

std::vector<PostgresColumn> ExistingColumns(Connection& pg, const std::string& schema,
                                            const std::string& table) {
  auto rows = pg.QueryText(
      "SELECT a.attname, CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END, "
      "CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END, "
      "format_type(a.atttypid, a.atttypmod), t.typtype = 'e' "
      "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
      "WHERE a.attrelid = (SELECT c.oid FROM pg_class c JOIN pg_namespace n "
      "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2) "
      "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
      {schema, table});
  std::vector<PostgresColumn> columns;
  for (const auto& row : rows) {
    columns.push_back({row[0].value_or(""), static_cast<uint32_t>(std::stoul(row[1].value_or("0"))),
                       static_cast<int32_t>(std::stol(row[2].value_or("-1"))), row[3].value_or(""),
                       row[4].value_or("f") == "t"});
  }
  return columns;
}

//! Plans an append into the existing `table`; throws naming missing and incompatible columns.
std::vector<ExportColumnPlan> PlanAppend(const std::vector<RelationColumn>& columns,
                                         const std::vector<PostgresColumn>& existing) {
  std::vector<ExportColumnPlan> plans;
  std::string missing, incompatible, have;
  for (const PostgresColumn& e : existing) have += (have.empty() ? "" : ", ") + e.name;
  for (const RelationColumn& c : columns) {
    const PostgresColumn* target = nullptr;
    for (const PostgresColumn& e : existing) {
      if (e.name == c.name) target = &e;
    }
    if (target == nullptr) {
      missing += (missing.empty() ? "" : ", ") + c.name;
      continue;
    }
    std::optional<ExportColumnPlan> plan =
        PlanExportColumn(c.type, QuoteIdentifier(c.source), target);
    if (!plan) {
      incompatible += (incompatible.empty() ? "" : ", ") + c.name + " (DuckDB " + c.type +
                      " into " + target->type_name + ")";
      continue;
    }
    plans.push_back(std::move(*plan));
  }
  if (!missing.empty()) {
    throw PostgresError("the table has no column named " + missing + " (its columns: " + have +
                        ")");
  }
  if (!incompatible.empty()) throw PostgresError("incompatible column types: " + incompatible);
  return plans;
}

std::string CreateTableSql(const std::string& qualified, const std::vector<RelationColumn>& columns,
                           const std::vector<ExportColumnPlan>& plans, bool if_not_exists) {
  std::string sql =
      std::string("CREATE TABLE ") + (if_not_exists ? "IF NOT EXISTS " : "") + qualified + " (";
  for (size_t i = 0; i < columns.size(); ++i) {
    sql += (i ? ", " : "") + QuoteIdentifier(columns[i].name) + " " + plans[i].create_type;
  }
  return sql + ")";
}

//! Where an export's rows go and how each column is written.
struct Target {
  std::vector<ExportColumnPlan> plans;
  std::string copy_table;     // the table COPY fills, qualified and quoted
  std::string staging;        // replace: the table swapped in at the end ("" for none)
  bool created_here = false;  // surely by this transaction (not CREATE TABLE IF NOT EXISTS)
};

//! Checks the existing table against the policy and creates the table COPY fills. Runs inside
//! the export's transaction.
Target PrepareTarget(Connection& pg, const std::string& schema, const std::string& qualified,
                     const std::vector<RelationColumn>& columns, const ExportOptions& options) {
  if (pg.QueryText("SELECT 1 FROM pg_namespace WHERE nspname = $1", {schema}).empty()) {
    pg.Execute("CREATE SCHEMA IF NOT EXISTS " + QuoteIdentifier(schema));
  }
  const bool exists = RelationKind(pg, schema, options.table) != 0;
  const bool append = options.policy == ExportWritePolicy::kAppend;
  if (exists && options.policy == ExportWritePolicy::kFail) {
    throw PostgresError("the table already exists and export_write_policy is 'fail'");
  }
  Target target;
  target.copy_table = qualified;
  if (exists && append) {
    target.plans = PlanAppend(columns, ExistingColumns(pg, schema, options.table));
    return target;
  }
  for (const RelationColumn& c : columns) {
    target.plans.push_back(*PlanExportColumn(c.type, QuoteIdentifier(c.source), nullptr));
  }
  if (exists) {  // replace: fill a new table, swap it in at the end
    target.staging = StagingName(options.table, PQbackendPID(pg.raw()));
    target.copy_table = QuoteIdentifier(schema) + "." + QuoteIdentifier(target.staging);
  }
  pg.Execute(CreateTableSql(target.copy_table, columns, target.plans, /*if_not_exists=*/append));
  target.created_here = !append;
  return target;
}

}  // namespace

std::string StagingName(const std::string& table, int backend_pid) {
  std::string base = table.substr(0, 40);
  while (!base.empty() && (static_cast<unsigned char>(base.back()) & 0xC0) == 0x80) base.pop_back();
  if (!base.empty() && (static_cast<unsigned char>(base.back()) & 0x80)) base.pop_back();
  return base + "_kiln_" + std::to_string(backend_pid);
}

ExportResult ExportRelation(data::Connection& duck, const std::string& relation_sql, Connection& pg,
                            const ExportOptions& options) {
  const std::string schema = !options.schema.empty()         ? options.schema
                             : !pg.settings().schema.empty() ? pg.settings().schema
                                                             : "public";
  ExportResult result;
  result.qualified_table = QuoteIdentifier(schema) + "." + QuoteIdentifier(options.table);
  const std::string what = "export to " + result.qualified_table + " (" +
                           std::string(ExportWritePolicyName(options.policy)) + ")";
  if (options.table.empty()) throw PostgresError(what + ": no table name given");
  try {
    std::vector<RelationColumn> columns =
        DescribeRelation(duck, relation_sql, options.clean_column_names);
    Transaction transaction(pg);
    const Target target = PrepareTarget(pg, schema, result.qualified_table, columns, options);
    std::string select = "SELECT ";
    for (size_t i = 0; i < target.plans.size(); ++i) {
      select += (i ? ", " : "") + target.plans[i].select_expression;
    }
    result.rows = CopyRows(duck, select + " FROM " + relation_sql, columns, target.plans, pg,
                           target.copy_table, target.created_here, options);
    if (!target.staging.empty()) {
      pg.Execute("DROP TABLE " + result.qualified_table + "; ALTER TABLE " + target.copy_table +
                 " RENAME TO " + QuoteIdentifier(options.table));
    }
    transaction.Commit();
    for (const RelationColumn& c : columns) result.columns.push_back(c.name);
  } catch (const data::InterruptedError&) {
    throw;
  } catch (const data::DataError& e) {
    throw PostgresError(what + ": reading the DuckDB relation failed: " + e.what());
  } catch (const PostgresError& e) {
    throw PostgresError(what + ": " + e.what());
  }
  if (options.progress) options.progress(result.rows);
  return result;
}

}  // namespace kiln::connectors::postgres
