// connectors/duckdb/table_export.h: writing a relation into a table of a DuckDB warehouse
// file, under Mage's export write policies (§8.1 step 8, §8.3).
#pragma once

#include <cstdint>
#include <string>

#include "kiln/connectors/write_policy.h"
#include "kiln/data/duckdb.h"

namespace kiln::connectors {

//! Where a table goes: `catalog` is the attached warehouse's alias.
struct DuckDbTableRef {
  std::string catalog;
  std::string schema = "main";
  std::string table;
  //! catalog.schema.table, each part quoted.
  std::string QualifiedName() const;
  //! schema.table as users write it (for messages).
  std::string DisplayName() const;
};

//! Writes every row of `relation_sql` (a relation readable on `conn`) into `target`, creating
//! the schema and table when missing, in one transaction:
//!  - replace: the table is dropped and re-created from the relation; readers see the old rows
//!    or the new ones, and after a failure the old table is untouched;
//!  - append: rows are inserted by column name (created when missing);
//!  - fail: throws ConnectorError when the table exists.
//! Returns the number of rows written. Throws ConnectorError naming the table.
uint64_t ExportToDuckDbTable(data::Connection& conn, const DuckDbTableRef& target,
                             const std::string& relation_sql, ExportWritePolicy policy);

//! True when `target` exists (as a table or view).
bool DuckDbTableExists(data::Connection& conn, const DuckDbTableRef& target);

}  // namespace kiln::connectors
