#include "kiln/blocks/sql/sql_block.h"

#include <filesystem>
#include <regex>

#include "kiln/blocks/sql/remote_files.h"
#include "kiln/blocks/sql/template_context.h"
#include "kiln/common/names.h"
#include "kiln/common/text.h"
#include "kiln/connectors/duckdb/table_export.h"
#include "kiln/connectors/error.h"
#include "kiln/data/engine.h"
#include "kiln/data/sql_script.h"

namespace kiln::blocks::sql {
namespace fs = std::filesystem;
namespace {

bool UsesDuckDb(const project::BlockSpec& block) {
  auto provider = block.ConfigString("data_provider");
  return !provider || *provider == "duckdb";
}

bool ConfigBool(const project::BlockSpec& block, const char* key) {
  auto it = block.configuration.find(key);
  return it != block.configuration.end() && it->is_boolean() && it->get<bool>();
}

// The profile's DuckDB settings: DUCKDB_DATABASE relative to the project (default
// <project>/warehouse.duckdb) and the schema statements run in.
struct Warehouse {
  fs::path file;
  std::string schema;
};

Warehouse ResolveWarehouse(const BlockInvocation& inv, const templating::Context& context) {
  std::string profile = "default";
  if (auto p = inv.block.ConfigString("data_provider_profile")) {
    try {
      profile = templating::Render(*p, context,
                                   "data_provider_profile of block '" + inv.block.uuid + "'");
    } catch (const templating::TemplateError& e) {
      throw BlockError(e.what());
    }
  }
  // The default profile may be absent (every DuckDB setting has a default); a named one may not.
  config::IoProfile settings =
      profile == "default" ? inv.io_config.ProfileOrEmpty(profile) : inv.io_config.Profile(profile);
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

// The warehouse table the output is exported to (data_provider_table), checked before any
// statement runs so that a misconfigured block has no side effects.
struct ExportTarget {
  std::string schema, table;
  connectors::ExportWritePolicy policy = connectors::ExportWritePolicy::kAppend;
};

std::optional<ExportTarget> ResolveExport(const BlockInvocation& inv, const std::string& schema) {
  const project::BlockSpec& block = inv.block;
  auto table = block.ConfigString("data_provider_table");
  if (!table) return std::nullopt;
  if (ConfigBool(block, "use_raw_sql")) {
    inv.log.Warning("data_provider_table '" + *table +
                    "' is ignored because use_raw_sql is true (the SQL runs as written)");
    return std::nullopt;
  }
  ExportTarget target{schema, *table};
  if (size_t dot = table->find('.'); dot != std::string::npos) {  // "schema.table"
    target.schema = table->substr(0, dot);
    target.table = table->substr(dot + 1);
    if (target.schema.empty() || target.table.empty() ||
        target.table.find('.') != std::string::npos) {
      throw BlockError("block '" + block.uuid + "': data_provider_table '" + *table +
                       "' must be 'table' or 'schema.table'");
    }
  }
  std::string policy = block.ConfigString("export_write_policy").value_or("append");
  auto parsed = connectors::ParseExportWritePolicy(policy);
  if (!parsed) {
    throw BlockError("block '" + block.uuid + "': export_write_policy '" + policy +
                     "' is not one of append, replace, fail");
  }
  target.policy = *parsed;
  return target;
}

// A statement whose result is the block's output: any query DuckDB's parser shows as a SELECT,
// and the DuckDB statements that return a table without being one.
bool ProducesTable(const StatementInfo& info, const std::string& statement) {
  if (info.is_select) return true;
  std::string first = data::FirstKeyword(statement);
  return first == "PIVOT" || first == "UNPIVOT" || first == "SUMMARIZE" || first == "DESCRIBE" ||
         first == "SHOW";
}

// One line for a DuckDB error in `statement`: "<source>:<line>: <DuckDB's first paragraph>".
// DuckDB's "LINE n" counts from the text it ran, which had `wrapper_lines` lines before the
// statement.
std::string DescribeStatementError(const BlockInvocation& inv, const data::SqlStatement& statement,
                                   int wrapper_lines, const std::string& duckdb_message) {
  int line = statement.line;
  static const std::regex kLine(R"(LINE (\d+):)");
  std::smatch m;
  if (std::regex_search(duckdb_message, m, kLine)) {
    line = statement.line + std::max(0, std::stoi(m[1]) - 1 - wrapper_lines);
  }
  std::string first;  // the message up to the blank line before DuckDB's "LINE n:" excerpt
  for (size_t i = 0; i < duckdb_message.size(); ++i) {
    if (duckdb_message.compare(i, 2, "\n\n") == 0) break;
    first += duckdb_message[i] == '\n' ? ' ' : duckdb_message[i];
  }
  if (first.find("httpfs") != std::string::npos) {
    first =
        "this statement reads an http(s) URL, which needs DuckDB's httpfs extension: Kiln "
        "downloads URLs itself only in SELECT statements, so read the URL in a SELECT (e.g. a "
        "data loader) and use {{ df_1 }} downstream";
  }
  return "block '" + inv.block.uuid + "': " + BlockSourceName(inv) + ":" + std::to_string(line) +
         ": " + first;
}

[[noreturn]] void ThrowStopped(const BlockInvocation& inv) {
  throw BlockError("block '" + inv.block.uuid + "' was stopped: " +
                   (inv.cancel.reason().empty() ? "interrupted" : inv.cancel.reason()));
}

}  // namespace

std::optional<std::string> UnsupportedSqlReason(const project::BlockSpec& block) {
  auto provider = block.ConfigString("data_provider");
  if (!provider || *provider == "duckdb") return std::nullopt;
  static const char* kLater[] = {"postgres",   "bigquery", "mysql", "redshift", "snowflake",
                                 "clickhouse", "trino",    "druid", "sqlserver"};
  for (const char* p : kLater) {
    if (*provider == p)
      return "SQL blocks with data_provider '" + *provider + "' are not supported yet";
  }
  return "unknown data_provider '" + *provider +
         "' (Mage's are duckdb, postgres, bigquery, "
         "mysql, redshift, snowflake, clickhouse, trino, druid, sqlserver)";
}

BlockResult SqlBlockRunner::Run(BlockInvocation& inv) {
  const project::BlockSpec& block = inv.block;
  if (!UsesDuckDb(block))
    throw BlockError("block '" + block.uuid + "': " + *UnsupportedSqlReason(block));
  const std::string code = ReadBlockCode(block);
  const templating::Context context = BuildSqlContext(inv);
  const std::string rendered = RenderBlockSql(inv, code);
  inv.log.Debug("rendered SQL:\n" + rendered);

  const Warehouse warehouse = ResolveWarehouse(inv, context);
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
            inv.outputs.WriteTable(*conn, block.uuid, 0, "(\n" + text + "\n)");
        result.rows = stored.rows;
        result.outputs.push_back(std::move(stored));
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
