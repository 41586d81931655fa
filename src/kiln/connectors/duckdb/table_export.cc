#include "kiln/connectors/duckdb/table_export.h"

#include "kiln/common/names.h"
#include "kiln/connectors/error.h"

namespace kiln::connectors {

std::string DuckDbTableRef::QualifiedName() const {
  return QuoteIdentifier(catalog) + "." + QuoteIdentifier(schema) + "." + QuoteIdentifier(table);
}

std::string DuckDbTableRef::DisplayName() const {
  return schema + "." + table;
}

bool DuckDbTableExists(data::Connection& conn, const DuckDbTableRef& target) {
  data::Result r = conn.QueryWithParams(
      "SELECT count(*) FROM duckdb_tables() WHERE database_name = $1 AND schema_name = $2 AND "
      "table_name = $3",
      {target.catalog, target.schema, target.table});
  return r.GetInt64(0, 0) > 0;
}

uint64_t ExportToDuckDbTable(data::Connection& conn, const DuckDbTableRef& target,
                             const std::string& relation_sql, ExportWritePolicy policy) {
  const std::string name = target.QualifiedName();
  uint64_t rows = 0;
  try {
    data::InTransaction(conn, [&] {
      conn.Execute("CREATE SCHEMA IF NOT EXISTS " + QuoteIdentifier(target.catalog) + "." +
                   QuoteIdentifier(target.schema));
      bool exists = DuckDbTableExists(conn, target);
      if (exists && policy == ExportWritePolicy::kFail) {
        throw ConnectorError("table " + target.DisplayName() +
                             " already exists and export_write_policy is 'fail'");
      }
      data::Result r;
      if (exists && policy == ExportWritePolicy::kAppend) {
        r = conn.Query("INSERT INTO " + name + " BY NAME SELECT * FROM " + relation_sql);
      } else {
        if (exists) conn.Execute("DROP TABLE " + name);
        r = conn.Query("CREATE TABLE " + name + " AS SELECT * FROM " + relation_sql);
      }
      rows = r.row_count() > 0 ? static_cast<uint64_t>(r.GetInt64(0, 0)) : r.rows_changed();
    });
  } catch (const ConnectorError&) {
    throw;
  } catch (const data::InterruptedError&) {
    throw;
  } catch (const data::DataError& e) {
    throw ConnectorError("export to " + target.DisplayName() + " (" +
                         std::string(ExportWritePolicyName(policy)) + ") failed: " + e.what());
  }
  return rows;
}

}  // namespace kiln::connectors
