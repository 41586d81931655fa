#include "kiln/blocks/sql/sql_block.h"

#include <unistd.h>
#include <filesystem>

#include "kiln/blocks/sql/remote_files.h"
#include "kiln/blocks/sql/template_context.h"
#include "kiln/common/names.h"
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

// Where the warehouse of `block` lives: DUCKDB_DATABASE of its profile, relative to the
// project, defaulting to <project>/warehouse.duckdb.
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

// The statement on one line, without leading comments, cut at 80 characters (for messages).
std::string Excerpt(const std::string& sql) {
  std::string code;
  for (size_t i = 0; i < sql.size();) {
    size_t end = sql.find('\n', i);
    std::string line = sql.substr(i, end == std::string::npos ? std::string::npos : end - i);
    size_t first = line.find_first_not_of(" \t\r");
    if (!(code.empty() && (first == std::string::npos || line.compare(first, 2, "--") == 0)))
      code += line + "\n";
    if (end == std::string::npos) break;
    i = end + 1;
  }
  std::string one_line;
  for (char c : code) one_line += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  size_t start = one_line.find_first_not_of(' ');
  one_line = start == std::string::npos ? "" : one_line.substr(start);
  return one_line.size() > 80 ? one_line.substr(0, 77) + "..." : one_line;
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

  Warehouse warehouse = ResolveWarehouse(inv, context);
  data::Engine& engine = inv.services.engine;
  std::string catalog = engine.AttachWarehouse(warehouse.file);
  std::unique_ptr<data::Connection> conn = engine.Connect();
  CancelToken::Registration interrupt(inv.cancel, [c = conn.get()] { c->Interrupt(); });

  // Unqualified names mean the warehouse (as in Mage); relative file paths in DuckDB readers
  // are looked up in the working directory, then in the project folder.
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  conn->Execute("SET file_search_path = " +
                QuoteLiteral(cwd.string() + "," + inv.project.root().string()));
  if (warehouse.schema != "main") {
    conn->Execute("CREATE SCHEMA IF NOT EXISTS " + QuoteIdentifier(catalog) + "." +
                  QuoteIdentifier(warehouse.schema));
  }
  conn->Execute("USE " + QuoteIdentifier(catalog) + "." + QuoteIdentifier(warehouse.schema));

  std::vector<data::SqlStatement> statements = data::SplitSqlScript(rendered);
  if (statements.empty()) throw BlockError("block '" + block.uuid + "' has no SQL statements");

  // Inspect every statement first (parser only): which is the last SELECT, which files to fetch.
  std::vector<StatementInfo> infos;
  int last_select = -1;
  for (size_t i = 0; i < statements.size(); ++i) {
    infos.push_back(InspectStatement(*conn, statements[i].text));
    if (infos.back().is_select) last_select = static_cast<int>(i);
  }

  const std::string output_table = std::string(data::Engine::kOutputCatalog) + ".main." +
                                   QuoteIdentifier(inv.output_table_prefix + "__output_0");
  BlockResult result;
  for (size_t i = 0; i < statements.size(); ++i) {
    std::string text = statements[i].text;
    if (!infos[i].remote.empty())
      text = LocalizeRemoteFiles(text, infos[i], inv.services.fetcher, inv.log);
    try {
      if (static_cast<int>(i) == last_select) {
        conn->Execute("DROP TABLE IF EXISTS " + output_table);
        data::Result r = conn->Query("CREATE TABLE " + output_table + " AS\n" + text + "\n");
        result.rows = r.row_count() > 0 ? static_cast<uint64_t>(r.GetInt64(0, 0)) : 0;
        result.output_tables.push_back(output_table);
      } else {
        data::Result r = conn->Query(text);
        if (last_select < 0 && r.column_count() == 1 && r.column_name(0) == "Count" &&
            r.row_count() == 1) {
          result.rows = static_cast<uint64_t>(r.GetInt64(0, 0));  // COPY / INSERT counts
        }
      }
    } catch (const data::InterruptedError&) {
      throw BlockError("block '" + block.uuid + "' was stopped: " +
                       (inv.cancel.reason().empty() ? "interrupted" : inv.cancel.reason()));
    } catch (const data::DataError& e) {
      std::string hint;
      std::string what = e.what();
      if (!infos[i].is_select && (text.find("http://") != std::string::npos ||
                                  text.find("https://") != std::string::npos)) {
        hint =
            " (Kiln downloads http(s) files only in SELECT statements: read the URL in a "
            "SELECT, e.g. a data loader block, and use {{ df_1 }} downstream)";
      }
      throw BlockError("block '" + block.uuid + "', statement at line " +
                       std::to_string(statements[i].line) + " (" + Excerpt(statements[i].text) +
                       "): " + what + hint);
    }
  }

  if (auto table = block.ConfigString("data_provider_table");
      table && !ConfigBool(block, "use_raw_sql")) {
    if (result.output_tables.empty()) {
      throw BlockError("block '" + block.uuid + "' sets data_provider_table '" + *table +
                       "' but its SQL has no SELECT to write there");
    }
    std::string policy_text = block.ConfigString("export_write_policy").value_or("append");
    auto policy = connectors::ParseExportWritePolicy(policy_text);
    if (!policy) {
      throw BlockError("block '" + block.uuid + "': export_write_policy '" + policy_text +
                       "' is not one of append, replace, fail");
    }
    connectors::DuckDbTableRef target{catalog, warehouse.schema, *table};
    try {
      uint64_t rows = connectors::ExportToDuckDbTable(*conn, target, output_table, *policy);
      result.destinations.push_back("warehouse " + warehouse.file.string() + " table " +
                                    target.DisplayName() + " (" +
                                    std::string(connectors::ExportWritePolicyName(*policy)) + ", " +
                                    std::to_string(rows) + " rows)");
    } catch (const data::InterruptedError&) {
      throw BlockError("block '" + block.uuid + "' was stopped: " + inv.cancel.reason());
    } catch (const connectors::ConnectorError& e) {
      throw BlockError("block '" + block.uuid + "': " + e.what());
    }
  }
  return result;
}

}  // namespace kiln::blocks::sql
