// connectors/bigquery/result_rows.h: the rows of BigQuery query results (jobs.getQueryResults
// pages: schema.fields and rows[{f:[{v}]}], every value a JSON string or null) appended into a
// DuckDB table with the types of docs/design/cloud.md §5: INTEGER BIGINT, FLOAT DOUBLE, NUMERIC
// DECIMAL(38,9), BIGNUMERIC VARCHAR, BOOLEAN, STRING VARCHAR, BYTES BLOB (base64), DATE, TIME,
// DATETIME TIMESTAMP, TIMESTAMP TIMESTAMPTZ (int64 microseconds, formatOptions.
// useInt64Timestamp), JSON / GEOGRAPHY / INTERVAL VARCHAR, RECORD or REPEATED as JSON text.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "kiln/data/duckdb.h"

namespace kiln::connectors::bigquery {

//! Collects pages of one result, then creates the typed table. Pages are appended as text into
//! a scratch table of the engine's memory catalog (DuckDB's appender), converted once at Finish.
class ResultRows {
 public:
  //! `schema` is the response's "schema" object ({"fields": [...]}); `target` the qualified,
  //! quoted name of the table Finish() creates (it must not exist). Throws WarehouseError for a
  //! schema without fields.
  ResultRows(data::Connection& duck, const nlohmann::json& schema, std::string target);
  //! Drops the scratch table.
  ~ResultRows();
  ResultRows(const ResultRows&) = delete;
  ResultRows& operator=(const ResultRows&) = delete;

  //! Appends a page's "rows" (absent or null: none). Throws WarehouseError naming the row and
  //! column when a row does not match the schema.
  void Append(const nlohmann::json& rows);
  //! Creates `target` from what was appended, each column converted to its type. Returns the
  //! rows. Throws WarehouseError naming the column when a value does not convert.
  uint64_t Finish();
  uint64_t rows() const { return rows_; }

 private:
  data::Connection& duck_;
  nlohmann::json fields_;
  std::string target_, scratch_;
  uint64_t rows_ = 0;
  void* appender_ = nullptr;  // duckdb_appender
};

}  // namespace kiln::connectors::bigquery
