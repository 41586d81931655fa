// connectors/postgres/types.h: where DuckDB and PostgreSQL types meet, internal to this folder.
// Export plans say how a DuckDB column becomes a binary COPY field (the expression the streaming
// query selects and the encoding copy_out.cc writes); load plans say how a PostgreSQL result
// column becomes a DuckDB column (copy_in.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kiln::connectors::postgres {

//! The binary field formats Kiln writes into COPY ... FROM STDIN, one per PostgreSQL type.
enum class FieldEncoding {
  kBool,
  kInt2,
  kInt4,
  kInt8,
  kFloat4,
  kFloat8,
  kNumeric,
  kText,  //!< text, varchar, char(n), name and enum columns
  kJson,
  kJsonb,
  kBytea,
  kDate,
  kTime,
  kTimetz,
  kTimestamp,
  kTimestamptz,
  kInterval,
  kUuid,
};

//! A column of an existing PostgreSQL table (pg_attribute; a domain as its base type).
struct PostgresColumn {
  std::string name;
  uint32_t type_oid = 0;
  int32_t typmod = -1;
  std::string type_name;  //!< format_type(), e.g. "integer", "character varying(20)"
  bool is_enum = false;
};

//! How one DuckDB column is written: the streaming query selects `select_expression` (the
//! column, or a DuckDB cast of it) and copy_out.cc encodes the result as `encoding`.
struct ExportColumnPlan {
  std::string select_expression;
  FieldEncoding encoding = FieldEncoding::kText;
  std::string create_type;  //!< the PostgreSQL type of a created column, e.g. "NUMERIC(18,3)"
};

//! Plans the export of the DuckDB column `quoted_column` of type `duckdb_type` (as DESCRIBE
//! spells it). With `target` null the column is created with PostgresTypeFor's type; otherwise
//! values are converted for the existing column. nullopt when the types cannot meet (a DATE into
//! an integer column) or `target`'s type has no binary encoder here (e.g. inet, arrays).
std::optional<ExportColumnPlan> PlanExportColumn(std::string_view duckdb_type,
                                                 const std::string& quoted_column,
                                                 const PostgresColumn* target);

//! The PostgreSQL spelling of an encoding's type for messages: "integer", "timestamp", ...
std::string_view EncodingTypeName(FieldEncoding encoding);

//! The binary field formats Kiln reads from COPY (query) TO STDOUT.
enum class FieldDecoding {
  kBool,
  kInt2,
  kInt4,
  kInt8,
  kFloat4,
  kFloat8,
  kNumericDecimal,  //!< numeric(p,s) with p <= 38 -> DECIMAL(p,s)
  kNumericDouble,   //!< unconstrained (or wider) numeric -> DOUBLE
  kText,            //!< text, varchar, char(n), name, json, and every type copied as ::text
  kJsonb,
  kBytea,
  kDate,
  kTime,
  kTimetz,
  kTimestamp,
  kTimestamptz,
  kInterval,
  kUuid,
};

//! How one column of a PostgreSQL result is loaded into DuckDB.
struct LoadColumnPlan {
  FieldDecoding decoding = FieldDecoding::kText;
  std::string duckdb_type;    //!< e.g. "DECIMAL(10,2)", "TIMESTAMP WITH TIME ZONE"
  bool copy_as_text = false;  //!< no binary decoder: the COPY query casts the column to text
  int decimal_width = 0;
  int decimal_scale = 0;
};

//! Plans the load of a result column of type `type_oid` with modifier `typmod` (-1 for none).
LoadColumnPlan PlanLoadColumn(uint32_t type_oid, int32_t typmod);

}  // namespace kiln::connectors::postgres
