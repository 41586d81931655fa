// blocks/sql/postgres_block.cc: SQL blocks on PostgreSQL (data_provider: postgres, §8.1), see
// sql_block.h.
#include <atomic>
#include <filesystem>
#include <thread>

#include "kiln/blocks/sql/block_sql.h"
#include "kiln/blocks/sql/template_context.h"
#include "kiln/common/names.h"
#include "kiln/common/text.h"
#include "kiln/config/io_config.h"
#include "kiln/connectors/postgres/postgres.h"
#include "kiln/connectors/postgres/profile.h"
#include "kiln/data/engine.h"

namespace kiln::blocks::sql {
namespace {

namespace pg = connectors::postgres;
using connectors::ExportWritePolicy;

std::string Qualified(const std::string& schema, const std::string& table) {
  return QuoteIdentifier(schema) + "." + QuoteIdentifier(table);
}

// How Mage names the table an upstream output is uploaded to (§8.1 step 3):
// <pipeline>_<clean(block)>_v1, with "dev_" / "test_" in front when env is dev / test.
std::string UpstreamTableName(const BlockInvocation& inv, const std::string& upstream_uuid) {
  std::string name = CleanName(inv.pipeline.uuid()) + "_" + CleanName(upstream_uuid) + "_v1";
  if (inv.vars.env == "dev" || inv.vars.env == "test") name = inv.vars.env + "_" + name;
  return name;
}

// Whether `up` is a PostgreSQL block on the same profile whose result is already a table there
// (Mage then reads that table instead of uploading the output again, §8.1 step 5).
std::optional<std::pair<std::string, std::string>> UpstreamTableInPostgres(
    const BlockInvocation& inv, const project::BlockSpec& up, const std::string& default_schema) {
  if (up.language != project::BlockLanguage::kSql ||
      up.ConfigString("data_provider").value_or("") != "postgres" ||
      ConfigBool(up, "use_raw_sql") ||
      up.ConfigString("data_provider_profile").value_or("default") !=
          inv.block.ConfigString("data_provider_profile").value_or("default")) {
    return std::nullopt;
  }
  auto table = up.ConfigString("data_provider_table");
  if (!table) return std::nullopt;
  std::string schema = up.ConfigString("data_provider_schema").value_or(default_schema);
  if (size_t dot = table->find('.'); dot != std::string::npos) {
    return std::make_pair(table->substr(0, dot), table->substr(dot + 1));
  }
  return std::make_pair(schema, *table);
}

// Runs `query` on PostgreSQL and stores its rows as the block's output_0.
data::StoredOutput StoreQueryResult(BlockInvocation& inv, pg::Connection& pgc,
                                    data::Connection& duck, const std::string& query) {
  static std::atomic<unsigned> counter{0};  // unique scratch names only
  const std::string scratch = std::string(data::Engine::kOutputCatalog) + ".main." +
                              QuoteIdentifier("kiln_pg_" + CleanName(inv.block.uuid) + "_" +
                                              std::to_string(counter.fetch_add(1)));
  try {
    pg::LoadQuery(pgc, query, duck, scratch);
    // Rows from PostgreSQL hold no HUGEINT (numeric maps to DECIMAL or DOUBLE).
    data::StoredOutput stored =
        inv.outputs.WriteTable(duck, inv.block.uuid, 0, scratch, /*check_types=*/false);
    duck.Execute("DROP TABLE IF EXISTS " + scratch);
    return stored;
  } catch (...) {
    try {
      duck.Execute("DROP TABLE IF EXISTS " + scratch);
    } catch (...) {
    }
    throw;
  }
}

// Writes the result of `query` to the target table inside PostgreSQL, in one transaction, under
// the write policy (§8.1 step 8; replace swaps a staging table in, so readers never see the
// table missing, and a failure leaves the old table as it was).
void ExportInPostgres(pg::Connection& pgc, const ExportTarget& target, const std::string& query,
                      const std::string& block_uuid) {
  const std::string table = Qualified(target.schema, target.table);
  pgc.Execute("BEGIN");
  try {
    pgc.Execute("CREATE SCHEMA IF NOT EXISTS " + QuoteIdentifier(target.schema));
    auto exists = pgc.QueryText("SELECT to_regclass($1) IS NOT NULL", {table});
    bool present = !exists.empty() && exists[0][0] == "t";
    if (present && target.policy == ExportWritePolicy::kFail) {
      throw BlockError("block '" + block_uuid + "': table " + target.schema + "." + target.table +
                       " already exists and export_write_policy is 'fail'");
    }
    if (present && target.policy == ExportWritePolicy::kAppend) {
      pgc.Execute("INSERT INTO " + table + "\n" + query + "\n");
    } else if (present) {  // replace
      const std::string staging = target.table + "__kiln_staging";
      pgc.Execute("DROP TABLE IF EXISTS " + Qualified(target.schema, staging));
      pgc.Execute("CREATE TABLE " + Qualified(target.schema, staging) + " AS\n" + query + "\n");
      pgc.Execute("DROP TABLE " + table);
      pgc.Execute("ALTER TABLE " + Qualified(target.schema, staging) + " RENAME TO " +
                  QuoteIdentifier(target.table));
    } else {
      pgc.Execute("CREATE TABLE " + table + " AS\n" + query + "\n");
    }
    pgc.Execute("COMMIT");
  } catch (...) {
    try {
      pgc.Execute("ROLLBACK");
    } catch (...) {
    }
    throw;
  }
}

// The pass-through block `SELECT * FROM {{ df_N }}` with data_provider_table: the upstream
// output goes straight into the target table by binary COPY (what Mage does in two steps, an
// upload then CREATE TABLE AS), and the block's output is that data with the names PostgreSQL
// got. Returns nullopt when the block is not a pass-through.
std::optional<BlockResult> TryPassThrough(BlockInvocation& inv, const std::string& code,
                                          const ExportTarget& target, pg::Connection& pgc,
                                          data::Connection& duck) {
  std::vector<data::SqlStatement> statements =
      data::SplitSqlScript(RenderBlockSql(inv, code, UpstreamParquetRelations(inv)));
  if (statements.size() != 1) return std::nullopt;
  StatementInfo info = InspectStatement(duck, statements[0].text);
  if (!info.passthrough_parquet) return std::nullopt;
  const data::StoredOutput* source = nullptr;
  for (const auto& up : inv.upstream) {
    if (!up.outputs.empty() &&
        (up.outputs[0].dir / "data.parquet").string() == *info.passthrough_parquet)
      source = &up.outputs[0];
  }
  if (source == nullptr) return std::nullopt;

  pg::ExportOptions options;
  options.schema = target.schema;
  options.table = target.table;
  options.policy = target.policy;
  auto clean = inv.block.configuration.find("auto_clean_name");
  options.clean_column_names =
      clean == inv.block.configuration.end() || !clean->is_boolean() || clean->get<bool>();
  options.cancelled = [&] { return inv.cancel.cancelled(); };
  auto last_report = std::chrono::steady_clock::now();
  options.progress = [&](uint64_t rows) {
    auto now = std::chrono::steady_clock::now();
    if (now - last_report < std::chrono::seconds(2)) return;
    last_report = now;
    inv.log.Info("exporting to " + target.schema + "." + target.table + ": " +
                 CountOf(rows, "row"));
  };

  // The output carries the column names the table gets, as Mage's read-back would. It is
  // written on a second connection while PostgreSQL ingests the COPY (the server is the
  // bottleneck there; this side has a core to spare).
  data::Result schema = duck.Query("DESCRIBE SELECT * FROM " + source->RelationSql());
  std::string list;
  for (uint64_t r = 0; r < schema.row_count(); ++r) {
    std::string name = schema.GetString(0, r).value_or("");
    list += (list.empty() ? "" : ", ") + QuoteIdentifier(name) + " AS " +
            QuoteIdentifier(options.clean_column_names ? pg::CleanColumnName(name) : name);
  }
  std::unique_ptr<data::Connection> writer_conn = inv.services.engine.Connect();
  CancelToken::Registration stop_writer(inv.cancel, [c = writer_conn.get()] { c->Interrupt(); });
  std::optional<data::StoredOutput> stored;
  std::exception_ptr writer_error;
  std::thread writer([&] {
    try {
      stored = inv.outputs.WriteTable(*writer_conn, inv.block.uuid, 0,
                                      "(SELECT " + list + " FROM " + source->RelationSql() + ")",
                                      /*check_types=*/false);
    } catch (...) {
      writer_error = std::current_exception();
    }
  });
  pg::ExportResult exported;
  try {
    exported = pg::ExportRelation(duck, source->RelationSql(), pgc, options);
  } catch (...) {
    writer_conn->Interrupt();
    writer.join();
    throw;
  }
  writer.join();
  if (writer_error) std::rethrow_exception(writer_error);

  BlockResult result;
  result.outputs.push_back(std::move(*stored));
  result.rows = exported.rows;
  result.destinations.push_back("PostgreSQL " + pgc.settings().Describe() + " table " +
                                target.schema + "." + target.table + " (" +
                                std::string(connectors::ExportWritePolicyName(target.policy)) +
                                ", " + CountOf(exported.rows, "row") + ", binary COPY)");
  return result;
}

}  // namespace

BlockResult RunOnPostgres(BlockInvocation& inv) {
  const project::BlockSpec& block = inv.block;
  pg::ConnectionSettings settings;
  try {
    settings = pg::SettingsFromProfile(ProviderProfile(inv, /*default_may_be_missing=*/false));
  } catch (const config::ConfigError& e) {
    throw BlockError("block '" + block.uuid + "': " + e.what());
  }
  const std::string default_schema = settings.schema.empty() ? "public" : settings.schema;
  const std::optional<ExportTarget> target = ResolveExport(inv, default_schema);
  const bool raw = ConfigBool(block, "use_raw_sql");
  const bool as_is = ConfigBool(block, "disable_query_preprocessing");
  const std::string code = ReadBlockCode(block);

  std::unique_ptr<data::Connection> duck = inv.services.engine.Connect();
  std::unique_ptr<pg::Connection> pgc;
  try {
    pgc = pg::Connection::Open(settings);
  } catch (const connectors::ConnectorError& e) {
    throw BlockError("block '" + block.uuid + "': " + e.what());
  }
  CancelToken::Registration interrupt(inv.cancel, [&] {
    pgc->Cancel();
    duck->Interrupt();
  });

  try {
    if (target && !raw && !as_is) {
      if (auto done = TryPassThrough(inv, code, *target, *pgc, *duck)) {
        inv.outputs.RemoveOutputsFrom(block.uuid, 1);
        return std::move(*done);
      }
    }

    // Mage's way: upload the upstream outputs the SQL names, then run it in PostgreSQL.
    std::vector<std::string> relations(inv.upstream.size());
    for (size_t k : ReferencedUpstreams(code, inv.upstream.size())) {
      const UpstreamData& up = inv.upstream[k];
      const project::BlockSpec* spec = inv.pipeline.FindBlock(up.block_uuid);
      if (spec != nullptr) {
        if (auto in_pg = UpstreamTableInPostgres(inv, *spec, default_schema)) {
          relations[k] =
              QuoteIdentifier(settings.dbname) + "." + Qualified(in_pg->first, in_pg->second);
          continue;
        }
      }
      if (up.outputs.empty()) continue;  // df_N stays undefined, with its reason
      pg::ExportOptions upload;
      upload.schema = target ? target->schema
                             : block.ConfigString("data_provider_schema").value_or(default_schema);
      upload.table = UpstreamTableName(inv, up.block_uuid);
      upload.policy = ExportWritePolicy::kReplace;
      upload.cancelled = [&] { return inv.cancel.cancelled(); };
      pg::ExportResult uploaded =
          pg::ExportRelation(*duck, up.outputs[0].RelationSql(), *pgc, upload);
      inv.log.Info("uploaded the output of '" + up.block_uuid + "' to " + upload.schema + "." +
                   upload.table + " (" + CountOf(uploaded.rows, "row") + ")");
      relations[k] =
          QuoteIdentifier(settings.dbname) + "." + Qualified(upload.schema, upload.table);
    }
    const std::string rendered = RenderBlockSql(inv, code, relations);
    inv.log.Debug("rendered SQL:\n" + rendered);
    BlockResult result;
    if (as_is) {  // disable_query_preprocessing: sent as one text, no output (Mage)
      pgc->Execute(rendered);
      inv.outputs.RemoveOutputsFrom(block.uuid, 0);
      return result;
    }

    std::vector<data::SqlStatement> statements = data::SplitSqlScript(rendered);
    if (statements.empty()) throw BlockError("block '" + block.uuid + "' has no SQL statements");
    int output_index = -1;
    for (size_t i = 0; i < statements.size(); ++i) {
      if (ProducesTable(InspectStatement(*duck, statements[i].text), statements[i].text))
        output_index = static_cast<int>(i);
    }
    if (target && output_index < 0) {
      throw BlockError("block '" + block.uuid + "' sets data_provider_table '" + target->table +
                       "' but its SQL has no SELECT to write there");
    }
    for (size_t i = 0; i < statements.size(); ++i) {
      if (inv.cancel.cancelled()) ThrowStopped(inv);
      const std::string& text = statements[i].text;
      try {
        if (static_cast<int>(i) != output_index) {
          pgc->Execute(text);
        } else if (!target) {
          result.outputs.push_back(StoreQueryResult(inv, *pgc, *duck, text));
          result.rows = result.outputs.back().rows;
        } else {
          ExportInPostgres(*pgc, *target, text, block.uuid);
          // The output is this run's result: the table itself unless rows were appended.
          std::string read_back = target->policy == ExportWritePolicy::kAppend
                                      ? text
                                      : "SELECT * FROM " + Qualified(target->schema, target->table);
          result.outputs.push_back(StoreQueryResult(inv, *pgc, *duck, read_back));
          result.rows = result.outputs.back().rows;
          result.destinations.push_back(
              "PostgreSQL " + settings.Describe() + " table " + target->schema + "." +
              target->table + " (" +
              std::string(connectors::ExportWritePolicyName(target->policy)) + ", " +
              CountOf(*result.rows, "row") + ")");
        }
      } catch (const pg::PostgresError& e) {
        if (inv.cancel.cancelled()) ThrowStopped(inv);
        throw BlockError(DescribeStatementError(inv, statements[i], 0, e.what()));
      }
    }
    inv.outputs.RemoveOutputsFrom(block.uuid, static_cast<int>(result.outputs.size()));
    return result;
  } catch (const connectors::ConnectorError& e) {
    if (inv.cancel.cancelled()) ThrowStopped(inv);
    throw BlockError("block '" + block.uuid + "': " + e.what());
  } catch (const data::InterruptedError&) {
    ThrowStopped(inv);
  }
}

}  // namespace kiln::blocks::sql
