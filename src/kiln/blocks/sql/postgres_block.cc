// blocks/sql/postgres_block.cc: SQL blocks on PostgreSQL (data_provider: postgres, §8.1), see
// sql_block.h. A block runs in one PostgreSQL transaction, as Mage commits once at the end: a
// failure leaves nothing of it behind (uploads, statements, export), and its outputs become
// visible only after the commit.
#include <atomic>
#include <filesystem>
#include <set>
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

// Mage writes configured schema and table names into SQL unquoted, so PostgreSQL folds them to
// lower case; a name written in double quotes keeps its case.
std::string FoldIdentifier(const std::string& name) {
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
    return name.substr(1, name.size() - 2);
  std::string out = name;
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
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
    return std::make_pair(FoldIdentifier(table->substr(0, dot)),
                          FoldIdentifier(table->substr(dot + 1)));
  }
  return std::make_pair(FoldIdentifier(schema), FoldIdentifier(*table));
}

// Runs `query` (a SELECT, or INSERT ... RETURNING) on PostgreSQL and stages its rows as the
// block's output_0, published by the caller after the block's transaction commits.
data::PendingOutput StageQueryResult(BlockInvocation& inv, pg::Connection& pgc,
                                     data::Connection& duck, const std::string& query,
                                     bool as_text) {
  static std::atomic<unsigned> counter{0};  // unique scratch names only
  const std::string scratch = std::string(data::Engine::kOutputCatalog) + ".main." +
                              QuoteIdentifier("kiln_pg_" + CleanName(inv.block.uuid) + "_" +
                                              std::to_string(counter.fetch_add(1)));
  data::DropTableOnExit drop(duck, scratch);
  if (as_text) {  // a statement COPY cannot wrap (SHOW ...): its rows as text
    pg::TextTable table = pgc.QueryTable(query);
    std::string columns;
    for (const auto& c : table.columns)
      columns += (columns.empty() ? "" : ", ") + QuoteIdentifier(c) + " VARCHAR";
    duck.Execute("CREATE TABLE " + scratch + " (" + columns + ")");
    for (const auto& row : table.rows) {
      std::string values;
      for (const auto& v : row)
        values += (values.empty() ? "" : ", ") + (v ? QuoteLiteral(*v) : "NULL");
      duck.Execute("INSERT INTO " + scratch + " VALUES (" + values + ")");
    }
  } else {
    pg::LoadQuery(pgc, query, duck, scratch);
  }
  // Rows from PostgreSQL hold no HUGEINT (numeric maps to DECIMAL or DOUBLE).
  return inv.outputs.StageTable(duck, inv.block.uuid, 0, scratch, /*check_types=*/false);
}

void CreateSchemaIfMissing(pg::Connection& pgc, const std::string& schema) {
  // Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the database even
  // when the schema exists.
  if (pgc.QueryText("SELECT 1 FROM pg_namespace WHERE nspname = $1", {schema}).empty())
    pgc.Execute("CREATE SCHEMA IF NOT EXISTS " + QuoteIdentifier(schema));
}

bool TableExists(pg::Connection& pgc, const ExportTarget& target) {
  auto r =
      pgc.QueryText("SELECT to_regclass($1) IS NOT NULL", {Qualified(target.schema, target.table)});
  return !r.empty() && r[0][0] == "t";
}

// replace / fail / a new table: CREATE TABLE AS inside PostgreSQL (in the block's transaction;
// replace builds a staging table and swaps it in, so readers never see the table missing).
void CreateTableAs(pg::Connection& pgc, const ExportTarget& target, bool exists,
                   const std::string& query) {
  const std::string table = Qualified(target.schema, target.table);
  if (!exists) {
    pgc.Execute("CREATE TABLE " + table + " AS\n" + query + "\n");
    return;
  }
  const std::string staging = pg::StagingName(target.table, pgc.BackendPid());
  pgc.Execute("DROP TABLE IF EXISTS " + Qualified(target.schema, staging));
  pgc.Execute("CREATE TABLE " + Qualified(target.schema, staging) + " AS\n" + query + "\n");
  pgc.Execute("DROP TABLE " + table);
  pgc.Execute("ALTER TABLE " + Qualified(target.schema, staging) + " RENAME TO " +
              QuoteIdentifier(target.table));
}

// append into an existing table: by column name (a column order change must not shuffle data),
// in one pass that also returns the inserted rows for the block's output.
std::string AppendStatement(pg::Connection& pgc, const ExportTarget& target,
                            const std::string& query, const std::string& block_uuid) {
  std::vector<std::string> names = pgc.DescribeColumns(query);
  std::set<std::string> existing;
  for (const auto& row : pgc.QueryText(
           "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 "
           "AND NOT attisdropped",
           {Qualified(target.schema, target.table)})) {
    if (row[0]) existing.insert(*row[0]);
  }
  std::string missing, list;
  for (const auto& n : names) {
    if (existing.count(n) == 0) missing += (missing.empty() ? "" : ", ") + n;
    list += (list.empty() ? "" : ", ") + QuoteIdentifier(n);
  }
  if (!missing.empty()) {
    throw BlockError("block '" + block_uuid + "': table " + target.schema + "." + target.table +
                     " has no column " + missing + " (append writes the result's columns by name)");
  }
  return "INSERT INTO " + Qualified(target.schema, target.table) + " (" + list + ")\n" + query +
         "\nRETURNING " + list;
}

// The pass-through block `SELECT * FROM {{ df_N }}` with data_provider_table: the upstream
// output goes straight into the target table by binary COPY (what Mage does in two steps, an
// upload then CREATE TABLE AS), and the block's output is that data with the names the table
// got, written meanwhile on a second connection and published after the commit. nullopt when the
// block is not a pass-through.
struct PassThrough {
  BlockResult result;
  data::PendingOutput output;
};

std::optional<PassThrough> TryPassThrough(BlockInvocation& inv, const std::string& code,
                                          const ExportTarget& target, pg::Connection& pgc,
                                          data::Connection& duck,
                                          const std::string& default_schema) {
  std::vector<data::SqlStatement> statements =
      data::SplitSqlScript(RenderBlockSql(inv, code, UpstreamParquetRelations(inv)));
  if (statements.size() != 1) return std::nullopt;
  StatementInfo info = InspectStatement(duck, statements[0].text);
  if (!info.passthrough_parquet) return std::nullopt;
  const data::StoredOutput* source = nullptr;
  for (const auto& up : inv.upstream) {
    if (up.outputs.empty() ||
        (up.outputs[0].dir / "data.parquet").string() != *info.passthrough_parquet) {
      continue;
    }
    // An upstream whose result is a PostgreSQL table is read there (all its rows), as in Mage.
    const project::BlockSpec* spec = inv.pipeline.FindBlock(up.block_uuid);
    if (spec != nullptr && UpstreamTableInPostgres(inv, *spec, default_schema)) return std::nullopt;
    source = &up.outputs[0];
  }
  if (source == nullptr) return std::nullopt;

  pg::ExportOptions options;
  options.schema = target.schema;
  options.table = target.table;
  options.policy = target.policy;
  options.clean_column_names = AutoCleanNames(inv.block);
  options.cancelled = [&] { return inv.cancel.cancelled(); };
  auto last_report = std::chrono::steady_clock::now();
  options.progress = [&](uint64_t rows) {
    auto now = std::chrono::steady_clock::now();
    if (now - last_report < std::chrono::seconds(2)) return;
    last_report = now;
    inv.log.Info("exporting to " + target.schema + "." + target.table + ": " +
                 CountOf(rows, "row"));
  };

  data::Result schema = duck.Query("DESCRIBE SELECT * FROM " + source->RelationSql());
  std::string list;
  for (uint64_t r = 0; r < schema.row_count(); ++r) {
    std::string name = schema.GetString(0, r).value_or("");
    list += (list.empty() ? "" : ", ") + QuoteIdentifier(name) + " AS " +
            QuoteIdentifier(options.clean_column_names ? pg::CleanColumnName(name) : name);
  }
  // PostgreSQL is the bottleneck of the COPY; this side has a core to spare for the output.
  std::unique_ptr<data::Connection> writer_conn = inv.services.engine.Connect();
  CancelToken::Registration stop_writer(inv.cancel, [c = writer_conn.get()] { c->Interrupt(); });
  std::optional<data::PendingOutput> staged;
  std::exception_ptr writer_error;
  std::thread writer([&] {
    try {
      staged.emplace(
          inv.outputs.StageTable(*writer_conn, inv.block.uuid, 0,
                                 "(SELECT " + list + " FROM " + source->RelationSql() + ")",
                                 /*check_types=*/false));
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
    throw;  // the staged output, if any, is discarded with `staged`
  }
  writer.join();
  if (writer_error) std::rethrow_exception(writer_error);

  PassThrough done{BlockResult{}, std::move(*staged)};
  done.result.rows = exported.rows;
  done.result.destinations.push_back("PostgreSQL " + pgc.settings().Describe() + " table " +
                                     target.schema + "." + target.table + " (" +
                                     std::string(connectors::ExportWritePolicyName(target.policy)) +
                                     ", " + CountOf(exported.rows, "row") + ", binary COPY)");
  return done;
}

std::string Destination(const pg::ConnectionSettings& settings, const ExportTarget& target,
                        uint64_t rows) {
  return "PostgreSQL " + settings.Describe() + " table " + target.schema + "." + target.table +
         " (" + std::string(connectors::ExportWritePolicyName(target.policy)) + ", " +
         CountOf(rows, "row") + ")";
}

pg::ConnectionSettings Settings(BlockInvocation& inv) {
  try {
    return pg::SettingsFromProfile(ProviderProfile(inv, /*default_may_be_missing=*/false),
                                   [&](const std::string& m) { inv.log.Warning(m); });
  } catch (const config::ConfigError& e) {
    throw BlockError("block '" + inv.block.uuid + "': " + e.what());
  }
}

std::unique_ptr<pg::Connection> Connect(const BlockInvocation& inv,
                                        const pg::ConnectionSettings& settings) {
  try {
    return pg::Connection::Open(settings);
  } catch (const connectors::ConnectorError& e) {
    std::string hint;
    if (settings.host == "postgres") {
      hint =
          " (POSTGRES_HOST 'postgres' is the database's service name in the course's "
          "docker-compose set-up; outside docker compose use localhost or the server's address)";
    }
    throw BlockError("block '" + inv.block.uuid + "': " + e.what() + hint);
  }
}

}  // namespace

BlockResult RunOnPostgres(BlockInvocation& inv) {
  const project::BlockSpec& block = inv.block;
  const pg::ConnectionSettings settings = Settings(inv);
  const std::string default_schema =
      FoldIdentifier(settings.schema.empty() ? "public" : settings.schema);
  std::optional<ExportTarget> target = ResolveExport(inv, default_schema);
  if (target) {
    target->schema = FoldIdentifier(target->schema);
    target->table = FoldIdentifier(target->table);
  }
  const bool raw = ConfigBool(block, "use_raw_sql");
  const bool as_is = ConfigBool(block, "disable_query_preprocessing");
  const std::string code = ReadBlockCode(block);

  std::unique_ptr<data::Connection> duck = inv.services.engine.Connect();
  std::unique_ptr<pg::Connection> pgc = Connect(inv, settings);
  CancelToken::Registration interrupt(inv.cancel, [&] {
    pgc->Cancel();
    duck->Interrupt();
  });

  BlockResult result;
  std::vector<data::PendingOutput> outputs;  // published after COMMIT
  try {
    pgc->Execute("BEGIN");
    std::optional<PassThrough> fast =
        target && !raw && !as_is ? TryPassThrough(inv, code, *target, *pgc, *duck, default_schema)
                                 : std::nullopt;
    if (fast) {
      result = std::move(fast->result);
      outputs.push_back(std::move(fast->output));
    } else {
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
        upload.schema =
            target ? target->schema
                   : FoldIdentifier(
                         block.ConfigString("data_provider_schema").value_or(default_schema));
        upload.table = UpstreamTableName(inv, up.block_uuid);
        upload.policy = ExportWritePolicy::kReplace;
        upload.clean_column_names = AutoCleanNames(block);
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
      if (as_is) {  // disable_query_preprocessing: sent as one text, no output (Mage)
        pgc->Execute(rendered);
      } else {
        std::vector<data::SqlStatement> statements = data::SplitSqlScript(rendered);
        if (statements.empty())
          throw BlockError("block '" + block.uuid + "' has no SQL statements");
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
          const bool as_text = data::FirstKeyword(text) == "SHOW";  // COPY cannot wrap it
          try {
            if (static_cast<int>(i) != output_index) {
              pgc->Execute(text);
            } else if (!target) {
              outputs.push_back(StageQueryResult(inv, *pgc, *duck, text, as_text));
            } else {
              CreateSchemaIfMissing(*pgc, target->schema);
              const bool exists = TableExists(*pgc, *target);
              if (exists && target->policy == ExportWritePolicy::kFail) {
                throw BlockError("block '" + block.uuid + "': table " + target->schema + "." +
                                 target->table +
                                 " already exists and export_write_policy is 'fail'");
              }
              if (exists && target->policy == ExportWritePolicy::kAppend) {
                outputs.push_back(StageQueryResult(
                    inv, *pgc, *duck, AppendStatement(*pgc, *target, text, block.uuid), false));
              } else {
                CreateTableAs(*pgc, *target, exists, text);
                outputs.push_back(StageQueryResult(
                    inv, *pgc, *duck, "SELECT * FROM " + Qualified(target->schema, target->table),
                    false));
              }
            }
          } catch (const pg::PostgresError& e) {
            if (inv.cancel.cancelled()) ThrowStopped(inv);
            throw BlockError(DescribeStatementError(inv, statements[i], 0, e.what()));
          }
        }
      }
    }
    pgc->Execute("COMMIT");
  } catch (...) {
    try {
      pgc->Execute("ROLLBACK");
    } catch (...) {
    }
    if (inv.cancel.cancelled()) ThrowStopped(inv);
    try {
      throw;
    } catch (const connectors::ConnectorError& e) {
      throw BlockError("block '" + block.uuid + "': " + e.what());
    } catch (const data::InterruptedError&) {
      ThrowStopped(inv);
    }
  }

  for (auto& pending : outputs) result.outputs.push_back(pending.Publish());
  if (!result.outputs.empty() && !result.rows) result.rows = result.outputs.front().rows;
  if (target && result.destinations.empty() && !result.outputs.empty()) {
    result.destinations.push_back(Destination(settings, *target, result.outputs.front().rows));
  }
  inv.outputs.RemoveOutputsFrom(block.uuid, static_cast<int>(result.outputs.size()));
  return result;
}

}  // namespace kiln::blocks::sql
