// blocks/sql/duckdb_block.cc: SQL blocks on DuckDB (data_provider absent or duckdb); see
// sql_block.h.
#include <filesystem>

#include "kiln/blocks/sql/block_sql.h"
#include "kiln/blocks/sql/remote_targets.h"
#include "kiln/blocks/sql/template_context.h"
#include "kiln/common/names.h"
#include "kiln/common/text.h"
#include "kiln/connectors/duckdb/table_export.h"
#include "kiln/connectors/error.h"
#include "kiln/data/engine.h"

namespace kiln::blocks::sql {
namespace fs = std::filesystem;
namespace {

// The profile's DuckDB settings: DUCKDB_DATABASE relative to the project (default
// <project>/warehouse.duckdb) and the schema statements run in.
struct Warehouse {
  fs::path file;
  std::string schema;
};

Warehouse ResolveWarehouse(const BlockInvocation& inv) {
  // The default profile may be absent (every DuckDB setting has a default); a named one may not.
  config::IoProfile settings = ProviderProfile(inv, /*default_may_be_missing=*/true);
  Warehouse w;
  std::string database = settings.Get("DUCKDB_DATABASE").value_or("");
  if (database.starts_with("md:")) {
    throw BlockError("block '" + inv.block.uuid + "': MotherDuck databases (" + database +
                     ") are not supported");
  }
  w.file = database.empty() ? inv.project.root() / "warehouse.duckdb" : fs::path(database);
  if (w.file.is_relative()) w.file = inv.project.root() / w.file;
  w.schema = inv.block.ConfigString("data_provider_schema")
                 .value_or(settings.Get("DUCKDB_SCHEMA").value_or("main"));
  return w;
}

}  // namespace

BlockResult RunOnDuckDb(BlockInvocation& inv) {
  const project::BlockSpec& block = inv.block;
  const std::string code = ReadBlockCode(block);
  const std::string rendered = RenderBlockSql(inv, code, UpstreamParquetRelations(inv));
  inv.log.Debug("rendered SQL:\n" + rendered);

  const Warehouse warehouse = ResolveWarehouse(inv);
  const std::optional<ExportTarget> target = ResolveExport(inv, warehouse.schema);
  std::vector<data::SqlStatement> statements = data::SplitSqlScript(rendered);
  if (statements.empty()) throw BlockError("block '" + block.uuid + "' has no SQL statements");

  data::Engine& engine = inv.services.engine;
  // The lease outlives the connection (declared first): the warehouse is detached after the
  // connection that uses it is gone.
  std::unique_ptr<data::WarehouseLease> lease = engine.LeaseWarehouse(
      warehouse.file, data::LockWait{.on_wait = [&](const std::string& m) { inv.log.Warning(m); },
                                     .cancelled = [&] { return inv.cancel.cancelled(); }});
  std::unique_ptr<data::Connection> conn = engine.Connect();
  CancelToken::Registration interrupt(inv.cancel, [c = conn.get()] { c->Interrupt(); });

  // Unqualified names mean the warehouse (as in Mage); relative file paths in DuckDB readers
  // are looked up in the working directory, then in the project folder.
  std::error_code ec;
  const std::string catalog = QuoteIdentifier(lease->alias());
  conn->Execute("SET file_search_path = " +
                QuoteLiteral(fs::current_path(ec).string() + "," + inv.project.root().string()));
  if (warehouse.schema != "main") {
    conn->Execute("CREATE SCHEMA IF NOT EXISTS " + catalog + "." +
                  QuoteIdentifier(warehouse.schema));
  }
  conn->Execute("USE " + catalog + "." + QuoteIdentifier(warehouse.schema));

  // Parse every statement first (nothing runs): which one is the output, which files to fetch.
  std::vector<StatementInfo> infos;
  int output_index = -1;
  for (size_t i = 0; i < statements.size(); ++i) {
    infos.push_back(InspectStatement(*conn, statements[i].text));
    if (ProducesTable(infos.back(), statements[i].text)) output_index = static_cast<int>(i);
  }
  if (target && output_index < 0) {
    throw BlockError("block '" + block.uuid + "' sets data_provider_table '" + target->table +
                     "' but its SQL has no SELECT to write there");
  }

  connectors::FetchOptions fetch = inv.services.fetch;
  fetch.log = [&](const std::string& line) { inv.log.Info(line); };
  fetch.cancelled = [&] { return inv.cancel.cancelled(); };
  connectors::HttpFetcher fetcher(fetch);

  BlockResult result;
  for (size_t i = 0; i < statements.size(); ++i) {
    if (inv.cancel.cancelled()) ThrowStopped(inv);
    std::string text = statements[i].text;
    if (!infos[i].remote.empty()) {
      text = LocalizeRemoteFiles(text, infos[i], fetcher, inv.log);
      if (inv.cancel.cancelled()) ThrowStopped(inv);
    }
    const bool is_output = static_cast<int>(i) == output_index;
    try {
      if (is_output) {
        // Computed once, straight into the block's output_0 (Parquet).
        data::StoredOutput stored =
            inv.outputs.WriteTable(*conn, block.uuid, 0, "(\n" + text + "\n)",
                                   /*check_types=*/infos[i].may_return_hugeint);
        result.rows = stored.rows;
        result.outputs.push_back(std::move(stored));
      } else if (std::optional<RemoteCopyTarget> remote = FindRemoteCopyTarget(text)) {
        const uint64_t rows = RunRemoteCopy(inv, *conn, text, *remote, result.destinations);
        if (output_index < 0) result.rows = rows;
      } else {
        data::Result r = conn->Query(text);
        if (output_index < 0 && r.column_count() == 1 && r.column_name(0) == "Count" &&
            r.row_count() == 1) {
          result.rows = static_cast<uint64_t>(r.GetInt64(0, 0));  // COPY / INSERT counts
        }
      }
    } catch (const data::InterruptedError&) {
      ThrowStopped(inv);
    } catch (const data::DataError& e) {
      if (inv.cancel.cancelled()) ThrowStopped(inv);
      throw BlockError(DescribeStatementError(inv, statements[i], is_output ? 1 : 0, e.what()));
    }
  }
  inv.outputs.RemoveOutputsFrom(block.uuid, static_cast<int>(result.outputs.size()));

  if (target) {
    connectors::DuckDbTableRef ref{lease->alias(), target->schema, target->table};
    try {
      uint64_t rows = connectors::ExportToDuckDbTable(*conn, ref, result.outputs[0].RelationSql(),
                                                      target->policy);
      result.destinations.push_back("warehouse " + warehouse.file.string() + " table " +
                                    ref.DisplayName() + " (" +
                                    std::string(connectors::ExportWritePolicyName(target->policy)) +
                                    ", " + CountOf(rows, "row") + ")");
    } catch (const data::InterruptedError&) {
      ThrowStopped(inv);
    } catch (const connectors::ConnectorError& e) {
      if (inv.cancel.cancelled()) ThrowStopped(inv);
      throw BlockError("block '" + block.uuid + "': " + e.what());
    }
  }
  return result;
}

}  // namespace kiln::blocks::sql
