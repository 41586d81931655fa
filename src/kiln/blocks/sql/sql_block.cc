#include "kiln/blocks/sql/sql_block.h"

#include "kiln/blocks/sql/block_sql.h"

namespace kiln::blocks::sql {
namespace {

std::string Provider(const project::BlockSpec& block) {
  return block.ConfigString("data_provider").value_or("duckdb");
}

}  // namespace

std::optional<std::string> UnsupportedSqlReason(const project::BlockSpec& block) {
  std::string provider = Provider(block);
  if (provider == "duckdb" || provider == "postgres" || provider == "bigquery") return std::nullopt;
  static const char* kLater[] = {"mysql", "redshift", "snowflake", "clickhouse",
                                 "trino", "druid",    "sqlserver"};
  for (const char* p : kLater) {
    if (provider == p)
      return "SQL blocks with data_provider '" + provider + "' are not supported yet";
  }
  return "unknown data_provider '" + provider +
         "' (Mage's are duckdb, postgres, bigquery, mysql, redshift, snowflake, clickhouse, trino, "
         "druid, sqlserver)";
}

BlockResult SqlBlockRunner::Run(BlockInvocation& invocation) {
  std::string provider = Provider(invocation.block);
  if (provider == "postgres") return RunOnPostgres(invocation);
  if (provider == "duckdb") return RunOnDuckDb(invocation);
  if (provider == "bigquery") return RunOnBigQuery(invocation);
  throw BlockError("block '" + invocation.block.uuid +
                   "': " + *UnsupportedSqlReason(invocation.block));
}

}  // namespace kiln::blocks::sql
